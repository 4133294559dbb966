"""Running what the bench/ scripts measure: the supervisor command (spec §11) and its inputs, locating
the C binary (and whether the torch simulator is there), and timing child processes (wall time, peak RSS,
CPU times) with the environment they run in.

Imported by the benchmark scripts as `import _runs as R`; output, statistics and the machine description
are in _common.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, log

# ---------------------------------------------------------------------------------------------------------
# the supervisor command (spec §11) and its inputs

SUPERVISOR_ARGS = (
    "-mat A.mat -floatfile img.bin -hkl scaled.hkl -nonoise -nointerpolate -oversample 1 -exposure 1 "
    "-flux 1e18 -beamsize 1.0 -spindle_axis -1 0 0 -Xbeam 217.742295 -Ybeam 213.907080 -distance 231.274660 "
    "-lambda 0.976800 -pixel 0.172 -detpixels_x 2463 -detpixels_y 2527 -odet_vector -0.000088 0.004914 "
    "-0.999988 -sdet_vector -0.005998 -0.999970 -0.004913 -fdet_vector 0.999982 -0.005998 -0.000118 "
    "-pix0_vector_mm -216.336293 215.205512 -230.200866 -beam_vector 0.00051387949 0.0 -0.99999986 "
    "-Na 36 -Nb 47 -Nc 29 -osc 0.1 -phi 0 -phisteps 10 -detector_rotx 0 -detector_roty 0 -detector_rotz 0 "
    "-twotheta 0"
).split()

SUPERVISOR_SHAPE = (2527, 2463)  # (slow, fast)


def data_dir_candidates() -> list[Path]:
    out = []
    if os.environ.get("NBPARITY_DATA"):
        out.append(Path(os.environ["NBPARITY_DATA"]).expanduser())
    out += [REPO.parent / "shared" / "data" / "supervisor", Path("/work/shared/data/supervisor")]
    return out


def find_supervisor_data() -> Path | None:
    """The directory holding the real A.mat and scaled.hkl, or None."""
    for d in data_dir_candidates():
        if (d / "A.mat").is_file() and (d / "scaled.hkl").is_file():
            return d
    return None


def _synthetic_inputs(dest: Path) -> None:
    """The harness's deterministic stand-ins (nbparity.synthetic, the `supervisor-synthetic` case)."""
    sys.path.insert(0, str(REPO))
    from nbparity.synthetic import ensure_inputs

    mat, hkl = ensure_inputs()
    for src, name in ((Path(mat), "A.mat"), (Path(hkl), "scaled.hkl")):
        dst = dest / name
        if not dst.exists():
            os.symlink(src.resolve(), dst)


def prepare_inputs(workdir: Path) -> tuple[str, Path]:
    """Put A.mat and scaled.hkl into `workdir` (symlinks to the real data when available).

    Returns (case_name, source_dir): 'supervisor' or 'supervisor-synthetic' (forced by setting
    NBPARITY_BENCH_SYNTHETIC=1)."""
    workdir.mkdir(parents=True, exist_ok=True)
    real = None if os.environ.get("NBPARITY_BENCH_SYNTHETIC") else find_supervisor_data()
    if real is not None:
        for name in ("A.mat", "scaled.hkl"):
            dst = workdir / name
            if not dst.exists():
                os.symlink(real / name, dst)
        return "supervisor", real
    if not ((workdir / "A.mat").is_file() and (workdir / "scaled.hkl").is_file()):
        _synthetic_inputs(workdir)
    return "supervisor-synthetic", workdir


def with_arg(argv: list[str], flag: str, *values) -> list[str]:
    """Replace (or append) `flag v1 [v2 ...]` in an argv, keeping the number of values."""
    argv = list(argv)
    vals = [str(v) for v in values]
    if flag in argv:
        i = argv.index(flag)
        argv[i + 1:i + 1 + len(vals)] = vals
    else:
        argv += [flag, *vals]
    return argv


def without_arg(argv: list[str], flag: str, nvalues: int) -> list[str]:
    argv = list(argv)
    while flag in argv:
        i = argv.index(flag)
        del argv[i:i + 1 + nvalues]
    return argv


def supervisor_argv(fast: int | None = None, slow: int | None = None) -> list[str]:
    """The supervisor argv; with fast/slow given, a resized detector of the same geometry (same pixel size,
    same beam offset from the middle of the detector) so the work per pixel stays comparable.

    A resized detector drops `-pix0_vector_mm`: the C ignores it (quirk C-PIX0-001) and the torch port
    honours it in spec mode, where it would pin the corner of the full-size detector."""
    argv = list(SUPERVISOR_ARGS)
    if fast is None and slow is None:
        return argv
    argv = without_arg(argv, "-pix0_vector_mm", 3)
    fast = fast or SUPERVISOR_SHAPE[1]
    slow = slow or SUPERVISOR_SHAPE[0]
    # keep the beam at the same offset from the detector centre (Xbeam/Ybeam are in mm)
    dx = (fast - SUPERVISOR_SHAPE[1]) * 0.172 / 2
    dy = (slow - SUPERVISOR_SHAPE[0]) * 0.172 / 2
    argv = with_arg(argv, "-detpixels_x", fast)
    argv = with_arg(argv, "-detpixels_y", slow)
    argv = with_arg(argv, "-Xbeam", f"{217.742295 + dx:.6f}")
    argv = with_arg(argv, "-Ybeam", f"{213.907080 + dy:.6f}")
    return argv


# ---------------------------------------------------------------------------------------------------------
# the C binary


def c_binary(explicit: str | None = None, build: bool = True) -> tuple[Path | None, str]:
    """Locate the C reference binary. Order: --c-binary, c_reference/nanoBragg (building it with
    `make -C c_reference` when missing), then the harness's cached build (nbparity.cbuild.build()).
    Returns (path or None, how it was found)."""
    if explicit:
        p = Path(explicit)
        return (p if p.is_file() else None), "--c-binary"
    local = REPO / "c_reference" / "nanoBragg"
    if not local.is_file() and build and (REPO / "c_reference" / "Makefile").is_file():
        log("building the C reference (make -C c_reference)")
        subprocess.run(["make", "-s", "-C", str(REPO / "c_reference")], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if local.is_file():
        return local, "c_reference/nanoBragg (make -C c_reference)"
    if build:
        try:
            sys.path.insert(0, str(REPO))
            from nbparity import cbuild

            res = cbuild.build()
            return Path(res.binary), "nbparity.cbuild cache (" + " ".join(res.cflags) + ")"
        except Exception as exc:
            log(f"no C binary: {type(exc).__name__}: {exc}")
    return None, "missing"


def c_makefile_flags() -> str | None:
    mk = REPO / "c_reference" / "Makefile"
    if not mk.is_file():
        return None
    flags = [ln.strip() for ln in mk.read_text().splitlines() if re.match(r"\s*CFLAGS\s*[:?+]?=", ln)]
    return "; ".join(flags) or None


def have_simulator() -> bool:
    return (REPO / "simulator" / "api.py").is_file() and (REPO / "simulator" / "__main__.py").is_file()


# ---------------------------------------------------------------------------------------------------------
# timing children


TIME_BIN = shutil.which("time", path="/usr/bin:/bin") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)


def _parse_time_v(text: str) -> dict:
    out = {}
    m = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", text)
    if m:
        out["max_rss_bytes"] = int(m.group(1)) * 1024
    m = re.search(r"User time \(seconds\):\s*([\d.]+)", text)
    if m:
        out["user_s"] = float(m.group(1))
    m = re.search(r"System time \(seconds\):\s*([\d.]+)", text)
    if m:
        out["sys_s"] = float(m.group(1))
    m = re.search(r"Percent of CPU this job got:\s*(\d+)%", text)
    if m:
        out["cpu_percent"] = int(m.group(1))
    return out


def run_timed(cmd: list[str], cwd: Path | str | None = None, env: dict | None = None,
              timeout: float | None = None, measure_rss: bool = True) -> dict:
    """Run `cmd` to completion; return wall time (perf_counter around the child, including its start-up),
    exit code, stdout/stderr, and peak RSS / CPU times of the child.

    Peak RSS comes from `/usr/bin/time -v` when installed, else from os.wait4()'s rusage of that very
    child (ru_maxrss, the figure getrusage(RUSAGE_CHILDREN) reports for a single child)."""
    if measure_rss and TIME_BIN is None:
        return _run_wait4(cmd, cwd, env, timeout)
    use_time = measure_rss
    full = [TIME_BIN, "-v", *cmd] if use_time else list(cmd)
    t0 = time.perf_counter()
    proc = subprocess.Popen(full, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        timed_out = True
    wall = time.perf_counter() - t0
    res = {"cmd": list(cmd), "wall_s": wall, "returncode": proc.returncode, "timed_out": timed_out,
           "stdout": stdout, "stderr": stderr, "rss_method": None}
    if use_time:
        res.update(_parse_time_v(stderr))
        cut = stderr.rfind("\tCommand being timed:")  # /usr/bin/time -v appends its report to stderr
        if cut >= 0:
            res["stderr"] = stderr[:cut]
        if res["stderr"].rstrip().endswith("Command exited with non-zero status %d" % proc.returncode):
            res["stderr"] = res["stderr"].rstrip().rsplit("\n", 1)[0] if "\n" in res["stderr"].rstrip() else ""
        res["rss_method"] = "/usr/bin/time -v"
    return res


def _run_wait4(cmd, cwd, env, timeout) -> dict:
    """Without /usr/bin/time: Popen + os.wait4 on that child gives its own rusage (ru_maxrss in KiB)."""
    res = {"cmd": list(cmd), "timed_out": False}
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fo, stderr=fe, text=True)
        deadline = None if timeout is None else t0 + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline and time.perf_counter() > deadline:
                proc.kill()
                pid, status, ru = os.wait4(proc.pid, 0)
                res["timed_out"] = True
                break
            time.sleep(0.002)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        res.update({"wall_s": wall, "returncode": proc.returncode, "stdout": fo.read(), "stderr": fe.read(),
                    "max_rss_bytes": ru.ru_maxrss * 1024, "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
                    "rss_method": "os.wait4 rusage (ru_maxrss)"})
    return res


def child_env(threads: int | None = None, extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
        env["MKL_NUM_THREADS"] = str(threads)
    if extra:
        env.update(extra)
    return env


def tail(text: str, n: int = 3) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:])
