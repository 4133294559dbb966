"""`compare_pixel(slow, fast, **options)`: the Python entry point of a single-pixel compare for notebooks
and scripts; it builds a CompareRequest and runs nbparity.flows.compare.run_compare.

    from nbparity.pipeline import compare_pixel
    res = compare_pixel(685, 1039, quirks="c")      # res.exit_code, res.judgement, res.comparison.table
"""

from __future__ import annotations

from nbparity.request import (DEFAULT_QUIRKS, CaseSpec, CompareRequest, CSpec, JudgeSpec, OutputSpec,
                              TorchSpec)

# option name -> (request part, field name)
_OPTIONS = {
    "case": ("case", "name"), "args": ("case", "args"), "data_dir": ("case", "data_dir"),
    "c_bin": ("c", "binary"), "c_source": ("c", "source"), "cflags": ("c", "cflags"), "timeout": ("c", "timeout"),
    "device": ("torch", "device"), "dtype": ("torch", "dtype"), "quirks": ("torch", "quirks"),
    "port": ("torch", "port"), "tolerance": ("judge", "rtol"), "atol": ("judge", "atol"),
    "strict": ("judge", "strict"), "attribute": ("judge", "attribute"), "allow_empty": ("judge", "allow_empty"),
    "keys": ("judge", "keys"), "out": ("output", "out"), "write_bundle": ("output", "bundle"),
    "note": ("output", "note"),
}
_PARTS = {"case": CaseSpec, "c": CSpec, "torch": TorchSpec, "judge": JudgeSpec, "output": OutputSpec}


def compare_request(slow: int, fast: int, **options) -> CompareRequest:
    """A CompareRequest from the keyword options of compare_pixel (unknown names are a TypeError)."""
    parts: dict = {name: {} for name in _PARTS}
    full_frame = bool(options.pop("full_frame", False))
    options.setdefault("quirks", DEFAULT_QUIRKS)
    for name, value in options.items():
        if name not in _OPTIONS:
            raise TypeError(f"compare_pixel() got an unexpected option {name!r}")
        part, field = _OPTIONS[name]
        parts[part][field] = tuple(value) if field == "cflags" else value
    built = {name: cls(**parts[name]) for name, cls in _PARTS.items()}
    return CompareRequest(pixel=(int(slow), int(fast)), full_frame=full_frame, **built)


def compare_pixel(slow: int, fast: int, *, log=None, torch_worker: bool = False, **options):
    """Compare one pixel factor by factor (see compare_request for the options); returns a CompareResult.
    torch_worker=True runs the simulator in a forked process that imports torch meanwhile."""
    from nbparity.flows.compare import run_compare

    request = compare_request(slow, fast, **options)
    worker = None
    if torch_worker and request.torch.port is None:
        from nbparity.torchworker import TorchWorker

        worker = TorchWorker.start()
    try:
        return run_compare(request, log=log, worker=worker)
    finally:
        if worker is not None:
            worker.close()
