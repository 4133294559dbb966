"""The forked torch worker of `nbparity compare` (nbparity.torchworker): the CLI's two paths (worker and
in-process torch) give the same report, JSON, bundle files and exit code; errors cross the process
boundary unchanged; the child never outlives the command; the speculative re-runs are the ones the
attribution asks for."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nbparity import cases, cbuild
from nbparity.attribution import Attribution, attribute, planned_modes

import simulator.setup as simulator_setup

REPO = cbuild.repo_root()
PIXEL = ("685", "1039")
# bundle files whose whole content must agree between the two paths (metrics.json: all but volatile)
SAME_FILES = ("c_trace.log", "py_trace.log", "factors.csv", "per_phi.csv", "commands.txt", "summary.md")


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("NBPARITY_NO_FORK", "NBPARITY_TEST_PERTURB")}
    env.update({"NBPARITY_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}, **extra)
    env.pop("NBPARITY_DATA", None)
    return env


def _cli(tmp_path, name, args, **env):
    out = tmp_path / name
    p = subprocess.run([sys.executable, "-m", "nbparity", "compare", "--pixel", *PIXEL, "--out", str(out), *args],
                       capture_output=True, text=True, env=_env(tmp_path, **env), cwd=str(tmp_path), timeout=600)
    bundles = sorted(out.iterdir()) if out.is_dir() else []
    assert len(bundles) == 1, (p.returncode, p.stderr[-2000:])
    return p, bundles[0]


def _metrics(bundle: Path) -> tuple[dict, dict]:
    m = json.loads((bundle / "metrics.json").read_text())
    return m, m.pop("volatile")


@pytest.mark.parametrize("args, perturb", [
    (["--case", "supervisor-synthetic", "--quirks", "spec"], None),               # spec: attribution
    (["--case", "supervisor-synthetic", "--quirks", "c", "--json"], "fluence:1.0001"),   # a failure, JSON
])
def test_worker_and_in_process_paths_agree(tmp_path, args, perturb):
    extra = {"NBPARITY_TEST_PERTURB": perturb} if perturb else {}
    cbuild.build(cache=tmp_path / "cache")   # both runs find the binary cached (no "building C" line)
    forked, fb = _cli(tmp_path, "forked", args, **extra)
    inproc, ib = _cli(tmp_path, "inproc", args, NBPARITY_NO_FORK="1", **extra)
    assert forked.returncode == inproc.returncode
    fm, fv = _metrics(fb)
    im, iv = _metrics(ib)
    assert "torch_wait" in fv["timings_s"] and "torch_wait" not in iv["timings_s"]   # both paths ran
    assert fm == im
    assert {k: fv[k] for k in ("argv", "case_argv", "test_perturbation")} == \
           {k: iv[k] for k in ("argv", "case_argv", "test_perturbation")}
    for name in SAME_FILES:
        assert (fb / name).read_text().replace(str(fb.parent), "OUT") == \
               (ib / name).read_text().replace(str(ib.parent), "OUT"), name
    fe, ie = (json.loads((b / "env.json").read_text()) for b in (fb, ib))
    fe.pop("git"), ie.pop("git")
    assert fe == ie and fe["packages"]["torch"]
    # the report on stdout, the progress lines on stderr
    if "--json" in args:
        fd, idoc = json.loads(forked.stdout), json.loads(inproc.stdout)
        for d in (fd, idoc):
            d.pop("volatile", None), d.pop("bundle")
        assert fd == idoc
    else:
        assert forked.stdout.replace(os.path.relpath(fb, tmp_path), "B") == \
               inproc.stdout.replace(os.path.relpath(ib, tmp_path), "B")
    assert forked.stderr == inproc.stderr


def _run_script(tmp_path, body: str):
    script = textwrap.dedent(body)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                       env=_env(tmp_path), cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_worker_errors_and_lifetime(tmp_path):
    """A torch-side failure is the in-process RunnerError (message, exit code); close() reaps the child,
    even with speculative jobs still queued."""
    argv = cases.resolve_case("supervisor-synthetic").argv + ["-roi", "0", "1", "0", "0", "-trace_pixel", "0", "1"]
    doc = _run_script(tmp_path, f"""
        import json, os, sys
        from nbparity.torchworker import TorchWorker
        from nbparity.errors import RunnerError
        argv = {argv!r}
        w = TorchWorker.start()
        assert w is not None and "torch" not in sys.modules
        w.submit("bad", argv, "wd", "cpu", "float64", "spec,+NOPE", (0, 1))
        w.submit("good", argv, "wd", "cpu", "float64", "c", (0, 1))
        w.submit("spare", argv, "wd", "cpu", "float64", "spec", (0, 1))
        try:
            w.result("bad")
            err = None
        except RunnerError as exc:
            err = [type(exc).__name__, str(exc), exc.exit_code]
        good = w.result("good")
        env = w.env_info()
        pid = w.pid
        w.close()
        try:
            os.waitpid(pid, os.WNOHANG)
            reaped = False
        except ChildProcessError:
            reaped = True
        print(json.dumps({{"err": err, "trace": good.trace_text, "pixel": good.pixel_value(0, 1),
                          "argv": good.argv, "env": env, "reaped": reaped,
                          "torch_here": "torch" in sys.modules}}))
    """)
    from nbparity.errors import RunnerError
    from nbparity.runners import run_torch

    with pytest.raises(RunnerError) as exc:
        run_torch(argv, tmp_path / "wd", "cpu", "float64", "spec,+NOPE", trace_pixel=(0, 1))
    assert doc["err"] == ["RunnerError", str(exc.value), exc.value.exit_code]
    ref = run_torch(argv, tmp_path / "wd", "cpu", "float64", "c", trace_pixel=(0, 1))
    assert doc["trace"] == ref.trace_text and doc["argv"] == ref.argv
    assert doc["pixel"] == ref.pixel_value(0, 1) == float(ref.result.image[0][1])
    assert doc["reaped"] and not doc["torch_here"] and doc["env"]["version"]


def test_no_worker_where_forking_is_unsafe(tmp_path):
    doc = _run_script(tmp_path, """
        import json, threading, time
        import nbparity.torchworker as tw
        out = {}
        ev = threading.Event()
        t = threading.Thread(target=ev.wait)
        t.start()
        out["thread"] = tw.TorchWorker.start() is None       # another thread is running
        ev.set(); t.join()
        import torch
        out["torch"] = tw.TorchWorker.start() is None        # torch already imported
        print(json.dumps(out))
    """)
    assert doc == {"thread": True, "torch": True}
    doc = _run_script(tmp_path, """
        import json, os
        os.environ["NBPARITY_NO_FORK"] = "1"
        import nbparity.torchworker as tw
        print(json.dumps({"off": tw.TorchWorker.start() is None}))
    """)
    assert doc == {"off": True}


def test_planned_modes_are_the_attribution_reruns(tmp_path):
    """planned_modes() lists exactly the modes attribute() re-runs, in its order, for 1, 2 and 3
    triggered quirks."""
    from simulator.argv import parse_argv

    class FakeComparison:
        config_diffs = [{"key": "distance_m", "component": 0}]
        table = None

    def triggered_setup(extra):
        base = "-cell 30 31 32 80 85 95 -default_F 10 -detpixels 8 -nonoise -nopgm " + extra
        return simulator_setup.derive(parse_argv(base.split()), cwd=str(tmp_path), write_fdump=False)

    import nbparity.attribution as att_mod

    for extra in ("", "-phi -0.5 -osc 1 -phisteps 2", "-phi -0.5 -osc 1 -phisteps 2 -water 100"):
        setup = triggered_setup(extra)
        asked = []

        def rerun(m):
            asked.append(m)
            return FakeComparison()

        orig = att_mod.failing_ids
        att_mod.failing_ids = lambda cmp: {("config", "distance_m", 0, None, None, None)}
        try:
            a = attribute(FakeComparison(), setup, "spec", rerun)
        finally:
            att_mod.failing_ids = orig
        assert isinstance(a, Attribution)
        assert planned_modes(setup, "spec") == asked, extra


def test_a_dead_worker_is_a_runner_error(tmp_path):
    doc = _run_script(tmp_path, """
        import json, os, signal
        from nbparity.torchworker import TorchWorker
        from nbparity.errors import RunnerError
        w = TorchWorker.start()
        w.submit("job", ["-cell", "30", "30", "30", "90", "90", "90", "-default_F", "1", "-detpixels", "4"],
                 "wd", "cpu", "float64", "c", (0, 0))
        os.kill(w.pid, signal.SIGKILL)
        try:
            w.result("job")
            out = None
        except RunnerError as exc:
            out = [str(exc), exc.exit_code]
        w.close()
        w.close()   # idempotent
        print(json.dumps({"err": out, "pid": w.pid}))
    """)
    assert doc["err"] == ["torch run failed: the torch worker process ended unexpectedly (signal SIGKILL)", 3]
    assert doc["pid"] is None


def test_cli_prestarts_the_worker_only_for_compare_and_never_leaves_it(tmp_path):
    doc = _run_script(tmp_path, """
        import json, os
        import nbparity.torchworker as tw
        from nbparity import cli
        forks = []
        real = tw.TorchWorker._fork.__func__
        tw.TorchWorker._fork = classmethod(lambda cls: forks.append(1) or real(cls))
        out = {}
        out["usage"] = cli.main(["compare", "--pixel", "1"])          # click usage error: exit 2
        out["help"] = cli.main(["compare", "--help"])
        out["other"] = cli.main(["bundle", "verify", "/nonexistent"])
        out["forks"] = len(forks)
        out["left"] = tw._prestarted is None
        try:
            os.waitpid(-1, os.WNOHANG)
            out["children"] = True
        except ChildProcessError:
            out["children"] = False
        print(json.dumps(out))
    """)
    assert doc == {"usage": 2, "help": 0, "other": 2, "forks": 1, "left": True, "children": False}
