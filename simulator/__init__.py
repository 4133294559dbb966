"""The PyTorch port of nanoBragg: `run(argv, ...) -> RunResult` (docs/contracts.md §3.2).

Importing the package is cheap: `run` and `RunResult` load the kernel (and torch) on first use."""

__all__ = ["run", "RunResult"]


def __getattr__(name):
    if name in __all__:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")
