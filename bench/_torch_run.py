"""Child-process driver: time simulator.run() on a list of jobs, in one process (torch imported once).

Usage (internal, used by full_frame.py, scaling.py and gpu.py):
    python bench/_torch_run.py SPEC.json     # prints one JSON object on stdout

SPEC: {"device": "cpu", "dtype": "float64", "quirks": "c", "warmup": 0, "reps": 1, "write_outputs": false,
       "cwd": ".", "threads": null, "jobs": [{"name": "...", "argv": [...]}, ...]}
Per job: the wall time of each run() call (CUDA synchronized), plus what the RunResult offers
(image sum/max, any `timings` it records). The import time of `simulator` (and torch) is reported once.
"""

from __future__ import annotations

import json
import math
import sys
import time


def _sync(torch, device: str) -> None:
    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.synchronize()


def time_jobs(spec: dict, progress=None) -> dict:
    t0 = time.perf_counter()
    # imported like `python -m simulator` does it (simulator/process.py: frozen out of the collector's way)
    from simulator.process import import_frozen

    took = import_frozen("torch", "simulator.api")
    import simulator
    import torch

    t_torch, t_import = took["torch"], took["torch"] + took["simulator.api"]
    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    device = spec.get("device", "cpu")
    dtype = spec.get("dtype", "float64")
    out = {"import_torch_s": t_torch, "import_simulator_s": t_import, "threads": torch.get_num_threads(),
           "device": device, "dtype": dtype, "quirks": spec.get("quirks", "c"), "torch": torch.__version__, "jobs": []}
    if device.startswith("cuda") and torch.cuda.is_available():
        out["device_name"] = torch.cuda.get_device_name(0)
    for job in spec["jobs"]:
        kw = dict(device=device, dtype=dtype, write_outputs=bool(spec.get("write_outputs", False)),
                  cwd=job.get("cwd", spec.get("cwd", ".")), quirks=spec.get("quirks", "c"))
        if job.get("chunk_pixels") or spec.get("chunk_pixels"):
            kw["chunk_pixels"] = job.get("chunk_pixels") or spec.get("chunk_pixels")
        times, cpus, warm_times, res = [], [], [], None
        n_warm = int(job.get("warmup", spec.get("warmup", 0)))
        n_reps = int(job.get("reps", spec.get("reps", 1)))
        if device.startswith("cuda") and torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        for i in range(n_warm + n_reps):
            if progress:
                progress(f"{job['name']}: {'warm-up' if i < n_warm else 'run'} {i + 1}/{n_warm + n_reps}")
            res = None
            _sync(torch, device)
            t1, c1 = time.perf_counter(), time.process_time()
            res = simulator.run(list(job["argv"]), **kw)
            _sync(torch, device)
            dt, dc = time.perf_counter() - t1, time.process_time() - c1
            if i >= n_warm:
                times.append(dt)
                cpus.append(dc)
            else:
                warm_times.append(dt)
        rec = {"name": job["name"], "times_s": times, "warmup_times_s": warm_times, "median_s": sorted(times)[len(times) // 2] if times else None,
               "min_s": min(times) if times else None,
               "cpu_s": sorted(cpus)[len(cpus) // 2] if cpus else None}  # process CPU time, all threads
        img = getattr(res, "image", None)
        if img is not None:
            rec["shape"] = list(img.shape)
            rec["image_sum"] = float(img.double().sum())
            rec["image_max"] = float(img.max())
            rec["finite"] = bool(torch.isfinite(img).all())
        timings = getattr(res, "timings", None)
        if isinstance(timings, dict):
            rec["timings"] = {k: v for k, v in timings.items() if isinstance(v, (int, float))}
        if device.startswith("cuda") and torch.cuda.is_available():
            rec["cuda_peak_bytes"] = int(torch.cuda.max_memory_allocated())
        out["jobs"].append(rec)
        del res
    out["total_s"] = time.perf_counter() - t0
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    with open(argv[0]) as fh:
        spec = json.load(fh)
    result = time_jobs(spec, progress=lambda m: print(f"[torch] {m}", file=sys.stderr, flush=True))
    print(json.dumps(result, default=lambda x: None if isinstance(x, float) and not math.isfinite(x) else str(x)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
