"""nbparity: parity harness between the C nanoBragg and its PyTorch port."""

__all__ = ["load_bundle", "load_history", "load_trace"]


def load_bundle(path):
    """Return the frames and metrics of an evidence bundle (see nbparity.bundle.load_bundle)."""
    from nbparity.bundle import load_bundle as _load

    return _load(path)


def load_trace(path, label: str = "trace", *, format: str | None = None):
    """Return the TraceFrames of any trace file nbparity reads (see nbparity.trace.load_trace)."""
    from nbparity.trace import load_trace as _load

    return _load(path, label, format=format)


def load_history(directory="reports", case=None, pixel=None):
    """The attempt ledger of the bundles under `directory` as a DataFrame (see nbparity.history)."""
    from nbparity.history import load_history as _load

    return _load(directory, case, pixel)
