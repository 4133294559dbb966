"""`run_image(request)` and `nbparity image`: the five-state verdict of two float images, with fake sides
(a C side and a port that write chosen images where -floatfile says) and, end to end, with the real C
and the in-repo simulator (bundle files, one-screen report, --json, --note, re-running commands.txt)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nbparity.bundle import verify_bundle
from nbparity.cases import float_image_name
from nbparity.errors import RunnerError
from nbparity.flows.image import run_image
from nbparity.port import PortRun, PortSpec
from nbparity.request import CaseSpec, ImageRequest, JudgeSpec, OutputSpec, TorchSpec
from nbparity.runners import CRun
from tests.robustness import bundles_in, cli

REPO = Path(__file__).resolve().parents[2]
TINY = ("-default_F 100 -cell 30 30 30 90 90 90 -detpixels 16 -N 2 -oversample 1 "
        "-nonoise -nopgm -noprogress")
SHAPE = (16, 16)
BUNDLE_FILES = {"request.json", "metrics.json", "summary.md", "commands.txt", "env.json", "c_trace.log",
                "py_trace.log", "report.html", "sha256.txt"}


def ramp():
    """A float32 frame with every pixel different and non-zero: 1, 2, … 256."""
    return (np.arange(SHAPE[0] * SHAPE[1], dtype=np.float32) + 1).reshape(SHAPE)


class FakeC:
    """A C side that writes `image` (None: no file; bytes: those bytes) where -floatfile says."""

    binary = Path("/fake/nanoBragg")
    build = None

    def __init__(self, image, fail: str | None = None):
        self.image, self.fail = image, fail

    def run(self, argv, workdir, **_):
        wd = Path(workdir)
        wd.mkdir(parents=True, exist_ok=True)
        path = wd / float_image_name(list(argv))
        _write(self.image, path)
        run = CRun([str(self.binary), *argv], wd, 0, "TRACE_C_CONFIG fake=1\nfake C done\n", "", 0.01, path)
        if self.fail:
            exc = RunnerError(self.fail)
            exc.run = run
            raise exc
        return run

    def identity(self, line=None):
        return {"binary": str(self.binary), "sha256": None, "line": line, "threads": 1}


class FakePort:
    """An external port that writes `image` where -floatfile says (the harness reads it as for a port)."""

    external = True
    device = "external"
    quirks = "spec"

    def __init__(self, image, spec):
        self.image, self.spec, self.dtype = image, spec, "float64"

    def start(self, argv, workdir, *, quirks=None, trace_pixel=None, timeout=600, shape=None):
        def wait():
            wd = Path(workdir)
            wd.mkdir(parents=True, exist_ok=True)
            path = wd / float_image_name(list(argv))
            _write(self.image, path)
            run = PortRun(list(argv), ["fakeport", *argv], wd, 0.01, 0, "fake port ran\n", image_path=path,
                          shape=shape)
            run.image = run.load_image()
            return run
        return wait

    def run(self, argv, workdir, **kw):
        return self.start(argv, workdir, **kw)()

    def identity(self, mode=None):
        return {"kind": "port", "command": "fakeport", "git_sha": None, "dirty": None, "dtype": "float64",
                "device": "external", "quirk_mode": None}


def _write(image, path: Path) -> None:
    if isinstance(image, bytes):
        path.write_bytes(image)
    elif image is not None:
        np.asarray(image, dtype="<f4").tofile(path)


def request(tmp_path, *, roi=None, bundle=True, **judge):
    port = PortSpec.parse("true {argv}")      # a real program (env.json asks it for --version)
    return ImageRequest(case=CaseSpec(args=TINY), torch=TorchSpec(port=port), judge=JudgeSpec(**judge),
                        output=OutputSpec(out=str(tmp_path / "out"), bundle=bundle, note="fake sides"),
                        roi=roi)


def run_fake(tmp_path, c_image, t_image, **kw):
    req = request(tmp_path, **kw)
    return run_image(req, sides=(FakeC(c_image), FakePort(t_image, req.torch.port)))


def bundle_metrics(result) -> dict:
    """metrics.json of the result's bundle, which `bundle verify` must accept."""
    report = verify_bundle(result.bundle)
    assert report.ok, report
    return json.loads((Path(result.bundle) / "metrics.json").read_text())


# ----------------------------------------------------------------------------- five states, fake sides


def test_identical_images_are_identical(tmp_path):
    r = run_fake(tmp_path, ramp(), ramp())
    assert (r.verdict, r.exit_code) == ("identical", 0)
    assert r.judgement.reason == "all 256 pixels bit-identical"
    m = bundle_metrics(r)
    assert m["schema"] == "nbparity.metrics/2" and m["kind"] == "image" and m["verdict"] == "identical"
    assert m["note"] == "fake sides" and m["metrics"]["sum_c"] == m["metrics"]["sum_torch"] == 32896.0
    assert m["image_sha256"]["c"] == m["image_sha256"]["torch"]
    files = {p.name for p in Path(r.bundle).iterdir()}
    assert BUNDLE_FILES | {"c_float.bin", "torch_float.bin", "comparison.png"} <= files
    assert "c_stdout.log" not in files
    assert json.loads((Path(r.bundle) / "request.json").read_text())["kind"] == "image"
    assert "note: fake sides" in (Path(r.bundle) / "summary.md").read_text()


def test_one_ulp_apart_is_within_tolerance_two_at_the_maximum_is_divergent(tmp_path):
    t = ramp()
    t[0, 1] = np.nextafter(t[0, 1], np.float32(np.inf))           # 2 → the next float32: 1 ulp
    r = run_fake(tmp_path, ramp(), t, bundle=False)
    assert (r.verdict, r.exit_code) == ("within_tolerance", 0)
    assert "255 of 256 pixels bit-identical, max 1 float32 ulps apart" in r.judgement.reason
    t[15, 15] = np.nextafter(np.nextafter(t[15, 15], np.float32(np.inf)), np.float32(np.inf))   # 256: 2 ulps
    r = run_fake(tmp_path, ramp(), t, bundle=False)
    assert (r.verdict, r.exit_code) == ("divergent", 1)
    # 2 ulps of 256 (2 * 2**-15) move the sum by 1.86e-9 of 32896: past the sum ratio gate too
    assert r.judgement.reason == ("3 of 5 gates fail (sum_ratio, max_abs_diff, outside_tolerance); "
                                  "1 of 256 pixels outside tolerance")


def test_port_writing_an_all_zero_image_is_divergent(tmp_path):
    r = run_fake(tmp_path, ramp(), np.zeros(SHAPE, np.float32))
    assert (r.verdict, r.exit_code) == ("divergent", 1)
    assert r.judgement.reason.startswith("4 of 5 gates fail (corr, sum_ratio, max_abs_diff, outside_tolerance)")
    m = bundle_metrics(r)
    assert m["verdict"] == "divergent" and m["metrics"]["sum_ratio"] == 0.0
    assert m["metrics"]["outside_tolerance"] == 256
    assert {"comparison.png", "diff_image.png"} <= {p.name for p in Path(r.bundle).iterdir()}


@pytest.mark.parametrize("image, why", [
    (None, "the port wrote no float image (floatimage.bin is missing)"),
    (b"\0" * 12, "the port's float image floatimage.bin has 12 bytes, expected 1024 for the 16x16 frame"),
])
def test_port_without_a_usable_image_is_incomplete_with_the_reason(tmp_path, image, why):
    r = run_fake(tmp_path, ramp(), image)
    assert (r.verdict, r.exit_code) == ("incomplete", 1)
    assert r.judgement.reason == why + ": nothing to compare"
    m = bundle_metrics(r)
    assert m["verdict"] == "incomplete" and m["reason"] == r.judgement.reason and "metrics" not in m
    assert m["images_in_bundle"] is False
    files = {p.name for p in Path(r.bundle).iterdir()}
    assert BUNDLE_FILES | {"c_float.bin"} <= files
    assert "torch_float.bin" not in files and "comparison.png" not in files
    assert "fake port ran" in (Path(r.bundle) / "py_trace.log").read_text()


def test_c_without_an_image_is_incomplete(tmp_path):
    r = run_fake(tmp_path, None, ramp(), bundle=False)
    assert (r.verdict, r.exit_code) == ("incomplete", 1)
    assert r.judgement.reason == "the C side wrote no float image (floatimage.bin is missing): nothing to compare"


def test_both_images_all_zero_are_incomplete_unless_allowed(tmp_path):
    zero = np.zeros(SHAPE, np.float32)
    r = run_fake(tmp_path, zero, zero)
    assert (r.verdict, r.exit_code) == ("incomplete", 1)
    assert r.judgement.reason == "both images are empty (all 256 compared pixels zero or not finite)"
    assert bundle_metrics(r)["verdict"] == "incomplete"
    r = run_fake(tmp_path, zero, zero, allow_empty=True, bundle=False)
    assert (r.verdict, r.exit_code) == ("identical", 0)


def test_pixels_not_finite_on_both_sides_are_not_compared(tmp_path):
    c, t = ramp(), ramp()
    c[2, 3] = t[2, 3] = np.nan
    r = run_fake(tmp_path, c, t, bundle=False)
    assert (r.verdict, r.exit_code) == ("incomplete", 1)
    assert r.judgement.reason == "1 pixel(s) not finite on both sides, so not compared"
    t[4, 4] = np.inf                                     # one-sided: a divergence, worse than incomplete
    r = run_fake(tmp_path, c, t, bundle=False)
    assert r.verdict == "divergent"


def test_roi_measures_the_crop_and_pixels_outside_must_agree(tmp_path):
    c, t = ramp(), ramp()
    t[10, 10] += 100.0                                    # outside the ROI below
    r = run_fake(tmp_path, c, t, roi=(0, 5, 0, 5), bundle=False)
    m = r.to_metrics()
    assert m["metrics"]["roi_measured"] == {"xmin": 0, "xmax": 5, "ymin": 0, "ymax": 5}
    assert m["metrics"]["pixels"] == 36 and m["metrics"]["outside_roi_mismatch"] == 1
    assert m["placement"]["roi"] == [0, 5, 0, 5] and "-roi" in m["argv"]
    assert (r.verdict, r.exit_code) == ("divergent", 1)
    t[10, 10] = c[10, 10]
    assert run_fake(tmp_path, c, t, roi=(0, 5, 0, 5), bundle=False).verdict == "identical"


def test_a_failed_side_is_an_error_bundle_and_exit_3(tmp_path):
    req = request(tmp_path)
    with pytest.raises(RunnerError, match="C run failed \\(signal SIGSEGV\\)") as exc:
        run_image(req, sides=(FakeC(ramp(), fail="C run failed (signal SIGSEGV)"), FakePort(ramp(), req.torch.port)))
    assert exc.value.exit_code == 3
    (b,) = bundles_in(tmp_path / "out")
    m = json.loads((b / "metrics.json").read_text())
    assert (m["verdict"], m["exit_code"], m["kind"]) == ("error", 3, "image")
    assert verify_bundle(b).ok
    assert "fake C done" in (b / "c_trace.log").read_text()


def test_strict_is_recorded_and_does_not_change_a_pass(tmp_path):
    r = run_fake(tmp_path, ramp(), ramp(), strict=True, bundle=False)
    assert (r.verdict, r.exit_code, r.judgement.strict) == ("identical", 0, True)


# ----------------------------------------------------------------------------- end to end, real sides


@pytest.fixture(scope="module")
def cbin(c_reference_binary):
    return str(c_reference_binary)


@pytest.fixture()
def _env(monkeypatch, tmp_path):
    monkeypatch.setenv("NBPARITY_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NBPARITY_TEST_PERTURB", raising=False)
    monkeypatch.delenv("NBPARITY_DATA", raising=False)


def _stable(m: dict) -> dict:
    return {k: v for k, v in m.items() if k not in ("volatile", "bundle")}


@pytest.mark.parametrize("perturb, verdict, rc", [(None, "identical", 0), ("fluence:1.5", "divergent", 1)])
def test_commands_txt_reruns_to_the_same_verdict(tmp_path, cbin, _env, monkeypatch, perturb, verdict, rc):
    if perturb:
        monkeypatch.setenv("NBPARITY_TEST_PERTURB", perturb)
    r = cli(["image", "--args", TINY, "--c-bin", cbin, "--out", str(tmp_path / "out"), "--roi", "2", "9", "3", "12",
             "--note", "rerun check"])
    assert r.returncode == rc, r.stdout[-3000:] + r.stderr[-3000:]
    (b,) = bundles_in(tmp_path / "out")
    first = json.loads((b / "metrics.json").read_text())
    assert first["verdict"] == verdict and first["note"] == "rerun check"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(["bash", str(b / "commands.txt"), str(tmp_path / "again")], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == rc, proc.stdout[-3000:] + proc.stderr[-3000:]
    (b2,) = bundles_in(tmp_path / "again")
    again = json.loads((b2 / "metrics.json").read_text())
    assert again["verdict"] == verdict
    assert _stable(again) == _stable(first)
    assert (b2 / "c_float.bin").read_bytes() == (b / "c_float.bin").read_bytes()
    assert verify_bundle(b).ok and verify_bundle(b2).ok


def test_terminal_report_is_one_screen_and_json_is_one_document(tmp_path, cbin, _env, monkeypatch):
    monkeypatch.setenv("NBPARITY_TEST_PERTURB", "fluence:1.5")
    r = cli(["image", "--args", TINY, "--c-bin", cbin, "--out", str(tmp_path / "out")])
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0].startswith("DIVERGENT — ") and lines[0].endswith("(exit 1)")
    assert len(lines) <= 40 and max(len(x) for x in lines) <= 120
    assert any(x.startswith("next: trace the worst pixel factor by factor: nbparity compare --pixel ") for x in lines)
    assert lines[-1].startswith("bundle: ") and Path(lines[-1][8:]).is_dir()
    r = cli(["image", "--args", TINY, "--c-bin", cbin, "--out", str(tmp_path / "out"), "--json"])
    m = json.loads(r.stdout)                     # exactly one document: json.loads refuses trailing text
    assert m["verdict"] == "divergent" and m["exit_code"] == r.returncode == 1
    assert m["quirk_mode"] == "c" and json.loads((Path(m["bundle"]) / "request.json").read_text())["torch"]["quirks"] == "c"


def test_bad_threshold_is_exit_2_before_running(tmp_path, _env):
    r = cli(["image", "--args", TINY, "--out", str(tmp_path / "out"), "--threshold", "corr=1"])
    assert r.returncode == 2 and "unknown name" in r.stderr
    r = cli(["image", "--args", TINY, "--out", str(tmp_path / "out"), "--threshold", "corr_min"])
    assert r.returncode == 2 and "expected NAME=VALUE" in r.stderr
    assert not bundles_in(tmp_path / "out")


def test_gates_of_request():
    from nbparity.errors import UsageError
    from nbparity.flows.image_judge import gates_of

    t, o = gates_of(ImageRequest(judge=JudgeSpec(rtol=1e-3, atol=0.5), thresholds=(("corr_min", 0.99),
                                                                                    ("rmse_max", None))))
    assert (o.pixel_rtol, o.pixel_atol, t.corr_min, t.rmse_max) == (1e-3, 0.5, 0.99, None)
    t, o = gates_of(ImageRequest(judge=JudgeSpec(rtol=1e-3), thresholds=(("pixel_rtol", 0.25), ("worst_n", 3.0))))
    assert (o.pixel_rtol, o.worst_n) == (0.25, 3) and isinstance(o.worst_n, int)
    with pytest.raises(UsageError, match="--threshold corr: unknown name"):
        gates_of(ImageRequest(thresholds=(("corr", 1.0),)))


def test_real_sides_with_zero_fluence_are_incomplete_unless_allowed(tmp_path, cbin, _env):
    """-fluence 0: both real sides render an all-zero frame, which proves nothing about the port."""
    args = ["image", "--args", f"{TINY} -fluence 0", "--c-bin", cbin, "--out", str(tmp_path / "out"), "--json"]
    r = cli(args)
    m = json.loads(r.stdout)
    assert (r.returncode, m["verdict"], m["metrics"]["sum_c"], m["metrics"]["sum_torch"]) == (1, "incomplete", 0.0, 0.0)
    assert m["reason"] == "both images are empty (all 256 compared pixels zero or not finite)"
    r = cli([*args, "--allow-empty"])
    assert (r.returncode, json.loads(r.stdout)["verdict"]) == (0, "identical")
