"""nbparity: parity harness between the C nanoBragg and its PyTorch port."""

__all__ = ["load_bundle"]


def load_bundle(path):
    """Return the frames and metrics of an evidence bundle (see nbparity.bundle.load_bundle)."""
    from nbparity.bundle import load_bundle as _load

    return _load(path)
