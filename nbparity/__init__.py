"""nbparity: parity harness between the C nanoBragg and its PyTorch port."""

__all__ = ["load_bundle", "load_trace"]


def load_bundle(path):
    """Return the frames and metrics of an evidence bundle (see nbparity.bundle.load_bundle)."""
    from nbparity.bundle import load_bundle as _load

    return _load(path)


def load_trace(path, label: str = "trace", *, format: str | None = None):
    """Return the TraceFrames of any trace file nbparity reads (see nbparity.trace.load_trace)."""
    from nbparity.trace import load_trace as _load

    return _load(path, label, format=format)
