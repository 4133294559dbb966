"""Errors that carry their exit code, so every entry point fails with one line and the documented code."""

EXIT_OK = 0
EXIT_DIVERGENCE = 1
EXIT_USAGE = 2
EXIT_FAILURE = 3


class NbparityError(Exception):
    """An expected failure: printed as one line on stderr, never as a traceback (unless --debug)."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(NbparityError):
    """Bad arguments or bad input files (exit 2)."""

    exit_code = EXIT_USAGE


class RunnerError(NbparityError):
    """A build, a run of either side, or a simulation failed (exit 3)."""

    exit_code = EXIT_FAILURE


class PixelNotRendered(UsageError):
    """The traced pixel lies outside the detector, the ROI or the mask: there is nothing to compare."""

    def __init__(self, slow: int, fast: int, why: str = ""):
        tail = f": {why}" if why else ""
        super().__init__(f"pixel ({slow}, {fast}) is not rendered{tail}")
        self.slow, self.fast = slow, fast
