"""`--py-cmd`: a user's own port as the torch side of compare, image and cases run (issue 14).

Stand-in ports: the in-repo simulator run as an external command (it must give exactly the in-process
verdict, values and per-φ table), a wrapper with one changed physical input (-flux 2e18: a configuration
difference with fluence as the root cause), a port with quirk switches of its own (ports/quirk_port.py)
and ports that crash, hang, print nothing or reject their input (ports/bad_port.py).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from nbparity.bundle import verify_bundle
from nbparity.errors import UsageError
from nbparity.port import PortSpec
from tests.nbparity.fakes import stand_in_port_env
from tests.robustness import assert_one_line_error, bundles_in, c_binary, cli

PY = sys.executable
PORTS = Path(__file__).resolve().parent / "ports"
REPO = Path(__file__).resolve().parents[2]
TINY = ("-default_F 100 -cell 30 30 30 90 90 90 -detpixels 16 -N 2 -oversample 1 "
        "-nonoise -nopgm -noprogress")
SIM = f"{shlex.quote(PY)} -m simulator {{argv}} -dtype float64"
QUIRK_PORT = f"{shlex.quote(PY)} {shlex.quote(str(PORTS / 'quirk_port.py'))}"
QUIRK_FLAGS = ("C-PARITY-001=--phi-carryover", "C-PIX0-001=--pix0-quirk")


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    stand_in_port_env(monkeypatch, tmp_path, "NBPARITY_DATA")


@pytest.fixture(scope="module")
def cbin():
    return str(c_binary())


def _frames_equal(a, b, cols):
    import pandas as pd

    pd.testing.assert_frame_equal(a[cols].reset_index(drop=True), b[cols].reset_index(drop=True),
                                  check_exact=True)


# ----------------------------------------------------------------------------- the request


def test_port_spec_places_argv_and_quirk_switches(tmp_path):
    spec = PortSpec.parse(f"{QUIRK_PORT} {{argv}} --extra 'a b'", QUIRK_FLAGS)
    cmd = spec.command_for(["-N", "2", "-trace_pixel", "3", "4"], ["C-PIX0-001"])
    assert cmd == [PY, str(PORTS / "quirk_port.py"), "-N", "2", "-trace_pixel", "3", "4", "--extra", "a b",
                   "--pix0-quirk"]
    appended = PortSpec.parse(f"{PY} -m simulator").command_for(["-N", "2"])
    assert appended == [PY, "-m", "simulator", "-N", "2"]
    assert spec.prefix == [PY, str(PORTS / "quirk_port.py")]


@pytest.mark.parametrize("cmd, flags, needle", [
    ("", (), "empty"), ("{argv} x", (), "must start"), ("/no/such/port {argv}", (), "not found"),
    ("no-such-port-program-xyz", (), "not found on PATH"), (f"{PY} {{argv}} {{argv}}", (), "only once"),
    (f"{PY} -m simulator", ("C-NOPE-001=--x",), "not a quirk id"), (f"{PY} -m simulator", ("C-PARITY-001",), "ID=FLAGS"),
    (f"{PY} -m simulator", ("C-PARITY-001=",), "no flags"), (f"{PY} 'unterminated", (), "quotation"),
])
def test_port_spec_bad_input(cmd, flags, needle):
    with pytest.raises(UsageError, match=needle):
        PortSpec.parse(cmd, flags)


@pytest.mark.parametrize("extra", [["--dtype", "float64"], ["--device", "cpu"], ["--quirks", "c"]])
def test_torch_options_refused_with_py_cmd(tmp_path, extra):
    r = cli(["compare", "--pixel", "3", "4", "--args", TINY, "--out", str(tmp_path / "out"),
             "--py-cmd", SIM, *extra])
    assert_one_line_error(r, 2, "put the port's own options into COMMAND")
    r = cli(["image", "--args", TINY, "--out", str(tmp_path / "out"), "--py-cmd", SIM, *extra])
    assert_one_line_error(r, 2, "cannot be combined with --py-cmd")
    assert not bundles_in(tmp_path / "out")


def test_quirk_flag_without_py_cmd_and_absolute_floatfile(tmp_path):
    r = cli(["compare", "--pixel", "3", "4", "--args", TINY, "--out", str(tmp_path / "out"),
             "--py-quirk-flag", "C-PARITY-001=--x"])
    assert_one_line_error(r, 2, "--py-quirk-flag needs --py-cmd")
    r = cli(["compare", "--pixel", "3", "4", "--args", f"{TINY} -floatfile {tmp_path / 'f.bin'}",
             "--out", str(tmp_path / "out"), "--py-cmd", SIM])
    assert_one_line_error(r, 2, "-floatfile name must be relative")


# ----------------------------------------------------------------------------- compare


def test_external_simulator_gives_the_in_process_result(tmp_path, cbin):
    """c mode, float64: the same verdict, every traced value and the per-φ table, value for value."""
    from nbparity.pipeline import compare_pixel

    kw = dict(case="supervisor-synthetic", c_bin=cbin, out=str(tmp_path / "rep"))
    inproc = compare_pixel(685, 1039, quirks="c", **kw)
    ext = compare_pixel(685, 1039, port=PortSpec.parse(f"{SIM} -quirks c"), **kw)
    assert (inproc.verdict, inproc.exit_code) == (ext.verdict, ext.exit_code) == ("identical", 0)
    cols = ["section", "key", "component", "layer", "subS", "subF", "phi_tic", "value_c", "value_py", "status"]
    cols = [c for c in cols if c in inproc.comparison.table.columns]
    assert len(inproc.comparison.table) > 50
    _frames_equal(inproc.comparison.table, ext.comparison.table, cols)
    _frames_equal(inproc.per_phi, ext.per_phi, list(inproc.per_phi.columns))
    assert len(ext.per_phi) == 10
    assert inproc.metrics["pixel_values"] == ext.metrics["pixel_values"]
    assert ext.metrics["pixel_values"]["torch_float"] > 0
    env = json.loads((ext.bundle / "env.json").read_text())
    assert env["port"]["command"] == f"{SIM} -quirks c"
    assert env["port"]["version"] is None and env["port"]["version_error"].startswith("exit 9")


def test_port_with_other_key_names_is_compared_through_the_alias_table(tmp_path, cbin):
    """A port printing the K3e names (`φ_tic=`, `k=` in its per-φ lines) reads through traces/aliases.toml:
    the same verdict and per-φ table as the in-process run, and the report lists the aliases it applied."""
    from nbparity.pipeline import compare_pixel

    kw = dict(case="supervisor-synthetic", c_bin=cbin, out=str(tmp_path / "rep"))
    inproc = compare_pixel(685, 1039, quirks="c", **kw)
    cmd = f"{shlex.quote(PY)} {shlex.quote(str(PORTS / 'alias_port.py'))} {{argv}} -dtype float64 -quirks c"
    ext = compare_pixel(685, 1039, port=PortSpec.parse(cmd), **kw)
    assert (ext.verdict, ext.exit_code) == ("identical", 0)
    _frames_equal(inproc.per_phi, ext.per_phi, list(inproc.per_phi.columns))
    assert len(ext.per_phi) == 10 and ext.per_phi["k_frac_py"].notna().all()
    used = {(a["name"], a["key"]) for a in ext.comparison.inputs["torch"]["aliases"]}
    assert used == {("φ_tic", "phi_tic"), ("k", "k_frac")}
    assert inproc.comparison.inputs["torch"]["aliases"] == []


def test_port_on_a_line_sensitive_argv_is_told_the_c_line(tmp_path, cbin):
    """`-misset random -misset_seed 11 …` parses differently under R1 and R2 (C-ARGV-001): the harness cannot
    make an external port follow the C's line, so it says which line the C side is; with the R1 emulation
    asked of the port (-quirks c) the crystals agree."""
    from nbparity.pipeline import compare_pixel

    args = TINY + " -misset random -misset_seed 11 -mosaic 0.3 -mosaic_dom 2"
    r = compare_pixel(3, 4, args=args, c_bin=cbin, out=str(tmp_path / "rep"),
                      port=PortSpec.parse(f"{SIM} -quirks c"))
    assert r.metrics["c_line"]["line"] == "R1"
    assert any("parses differently under the two C lines" in w and "C side is R1" in w for w in r.warnings)
    assert (r.verdict, r.exit_code) == ("identical", 0)
    r2 = compare_pixel(3, 4, args=args, c_bin=cbin, out=str(tmp_path / "rep"),
                       port=PortSpec.parse(f"{SIM} -quirks c-r2"))
    assert r2.verdict == "divergent"   # the R2 crystal is another crystal
    assert [c["key"] for c in r2.metrics["comparison"]["root_causes"]] == ["a0", "b0", "c0"]


def test_external_port_attribution_through_its_switches(tmp_path, cbin):
    """spec mode: the port's own switches (mapped with --py-quirk-flag) explain what the in-process
    attribution explains; without a mapping the report says attribution was not possible."""
    from nbparity.pipeline import compare_pixel

    kw = dict(case="supervisor-synthetic", c_bin=cbin, out=str(tmp_path / "rep"))
    inproc = compare_pixel(685, 1039, quirks="spec", **kw)
    ext = compare_pixel(685, 1039, port=PortSpec.parse(QUIRK_PORT, QUIRK_FLAGS), **kw)
    assert (inproc.verdict, inproc.exit_code) == (ext.verdict, ext.exit_code) == ("explained", 0)
    assert inproc.attribution.explained == ext.attribution.explained
    assert set(ext.attribution.explained) == {"C-PARITY-001", "C-PIX0-001"}
    assert inproc.attribution.messages == ext.attribution.messages
    assert ext.attribution.unexplained == 0
    script = (ext.bundle / "commands.txt").read_text()
    assert "--phi-carryover" in script and "--pix0-quirk" in script and "-m simulator" not in script
    env = json.loads((ext.bundle / "env.json").read_text())
    assert env["port"]["version"] == "quirk_port 1.0 (stand-in over simulator)"

    bare = compare_pixel(685, 1039, port=PortSpec.parse(QUIRK_PORT), **kw)
    assert (bare.verdict, bare.exit_code) == ("divergent", 1)
    assert bare.attribution.skipped.startswith("attribution not possible")
    assert any("attribution was not possible" in w and "--py-quirk-flag" in w for w in bare.warnings)
    assert "attribution was not possible" in (bare.bundle / "summary.md").read_text()

    half = compare_pixel(685, 1039, port=PortSpec.parse(QUIRK_PORT, QUIRK_FLAGS[:1]), **kw)
    assert half.verdict == "divergent" and set(half.attribution.explained) == {"C-PARITY-001"}
    assert any("no --py-quirk-flag for the triggered quirk(s) C-PIX0-001" in w for w in half.warnings)


def test_flux_wrapper_is_a_fluence_configuration_difference(tmp_path, cbin):
    out = tmp_path / "out"
    r = cli(["compare", "--pixel", "3", "4", "--args", TINY, "--c-bin", cbin, "--out", str(out), "--json",
             "--py-cmd", f"{SIM} -quirks c -flux 2e18"])
    assert r.returncode == 1, r.stderr[-2000:]
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "divergent"
    assert [d["key"] for d in doc["comparison"]["config_diffs"]] == ["fluence"]
    assert [c["key"] for c in doc["comparison"]["root_causes"]] == ["fluence"]
    b = Path(doc["bundle"])
    assert verify_bundle(b).ok
    # the bundle's script re-runs the port's command and ends with the same divergence
    script = subprocess.run(["bash", str(b / "commands.txt"), str(tmp_path / "replay")], capture_output=True,
                            text=True, timeout=300)
    assert script.returncode == 1, script.stderr[-2000:]
    assert "-flux 2e18" in (b / "commands.txt").read_text()


@pytest.mark.parametrize("mode, needle", [
    ("crash", "port run failed (signal SIGSEGV)"),
    ("exit9", "port run failed (exit 9): usage: bad_port"),
    ("silent", "pixel (3, 4) not rendered by the port"),
    ("hang", "port run timed out after 3 s"),
])
def test_failing_ports_exit_3_with_an_error_bundle(tmp_path, cbin, mode, needle):
    out = tmp_path / "out"
    r = cli(["compare", "--pixel", "3", "4", "--args", TINY, "--c-bin", cbin, "--out", str(out),
             "--timeout", "3", "--py-cmd", f"{PY} {PORTS / 'bad_port.py'} {mode} {{argv}}"])
    assert_one_line_error(r, 3, needle)
    (b,) = bundles_in(out)
    m = json.loads((b / "metrics.json").read_text())
    assert (m["verdict"], m["exit_code"]) == ("error", 3) and needle in m["error"]
    assert verify_bundle(b).ok
    assert "bad_port: starting" in (b / "py_trace.log").read_text() or mode == "hang"
    assert "TRACE_C:" in (b / "c_trace.log").read_text()   # the C side's trace is kept as evidence


# ----------------------------------------------------------------------------- image


def test_image_external_port(tmp_path, cbin):
    def image(*extra):
        r = cli(["image", "--args", TINY, "--c-bin", cbin, "--out", str(tmp_path / "out"), "--json", *extra])
        return r.returncode, (json.loads(r.stdout) if r.stdout.strip() else None), r

    rc_in, inproc, _ = image("--quirks", "c")
    rc_ext, ext, _ = image("--py-cmd", f"{SIM} -quirks c")
    assert (rc_in, rc_ext) == (0, 0) and inproc["verdict"] == ext["verdict"] == "identical"
    assert ext["image_sha256"] == inproc["image_sha256"]
    assert ext["image_sha256"]["c"] == ext["image_sha256"]["torch"]
    b = Path(ext["bundle"])
    # commands.txt re-runs request.json, which names the port; the port's own command line is listed too
    assert json.loads((b / "request.json").read_text())["torch"]["port"]["given"] == f"{SIM} -quirks c"
    assert "nbparity rerun" in (b / "commands.txt").read_text() and "-quirks c" in (b / "commands.txt").read_text()
    assert json.loads((b / "env.json").read_text())["port"]["command"] == f"{SIM} -quirks c"

    rc, flux, _ = image("--py-cmd", f"{SIM} -quirks c -flux 2e18")
    assert rc == 1 and flux["verdict"] == "divergent" and flux["metrics"]["sum_ratio"] < 0.01

    rc, _, r = image("--py-cmd", f"{PY} {PORTS / 'bad_port.py'} crash {{argv}}")
    assert_one_line_error(r, 3, "signal SIGSEGV")
    errs = [b for b in bundles_in(tmp_path / "out") if json.loads((b / "metrics.json").read_text())["verdict"] == "error"]
    assert len(errs) == 1 and "bad_port: starting" in (errs[0] / "py_trace.log").read_text()


# ----------------------------------------------------------------------------- matrix


MATRIX = f"""\
name: ports
cases:
  - id: tiny
    base_args: "{TINY}"
    py_cmd: "{SIM} -quirks c"
    trace_pixels: [[3, 4]]
    runs:
      - name: base
      - name: flux
        py_cmd: "{SIM} -quirks c -flux 2e18"
"""


def test_matrix_py_cmd_runs(tmp_path, cbin):
    f = tmp_path / "m.yaml"
    f.write_text(MATRIX)
    r = cli(["cases", "run", str(f), "--c-bin", cbin, "--out", str(tmp_path / "out"), "--json"])
    assert r.returncode == 1, r.stderr[-2000:]
    runs = {o["run"]: o for o in json.loads(r.stdout)["runs"]}
    assert runs["base"]["verdict"] == "identical" and runs["base"]["traces_verdict"] == "identical"
    assert runs["flux"]["verdict"] == "divergent" and "first divergence fluence[0]" in runs["flux"]["reason"]
    assert runs["flux"]["port"]["command"].endswith("-flux 2e18")


def test_cases_run_py_cmd_option(tmp_path, cbin):
    f = tmp_path / "m.yaml"
    f.write_text(f"cases:\n  - id: tiny\n    base_args: \"{TINY}\"\n    runs:\n      - name: base\n")
    r = cli(["cases", "run", str(f), "--c-bin", cbin, "--out", str(tmp_path / "out"), "--json",
             "--py-cmd", f"{SIM} -quirks c"])
    assert r.returncode == 0, r.stderr[-2000:]
    (o,) = json.loads(r.stdout)["runs"]
    assert o["verdict"] == "identical" and o["port"]["command"] == f"{SIM} -quirks c"
    matrix_bundle = Path(json.loads(r.stdout)["volatile"]["bundle"])
    assert f"--py-cmd {shlex.quote(SIM + ' -quirks c')}" in (matrix_bundle / "commands.txt").read_text()
    f.write_text(f"cases:\n  - id: tiny\n    base_args: \"{TINY}\"\n    quirks: c\n    runs:\n      - name: base\n")
    r = cli(["cases", "run", str(f), "--out", str(tmp_path / "out2"), "--py-cmd", SIM])
    assert_one_line_error(r, 2, "tiny/base (quirks)")


@pytest.mark.parametrize("case_extra, run_extra, needle", [
    (f"    py_cmd: \"{SIM}\"\n    quirks: c\n", "", "'quirks' cannot be combined with 'py_cmd'"),
    (f"    py_cmd: \"{SIM}\"\n", "        dtype: float32\n", "'dtype' cannot be combined with 'py_cmd'"),
    ("    py_quirk_flags: {C-PARITY-001: --x}\n", "", "'py_quirk_flags' needs 'py_cmd'"),
    (f"    py_cmd: \"{SIM}\"\n    py_quirk_flags: {{C-NOPE-001: --x}}\n", "", "not a quirk id"),
    (f"    py_cmd: \"{SIM}\"\n    py_quirk_flags: [a, b]\n", "", "must be a mapping"),
    ("    py_cmd: 7\n", "", "non-empty command string"),
    ("", "        py_cmd: \"/no/such/port {argv}\"\n", "program not found"),
])
def test_matrix_port_keys_validated(tmp_path, case_extra, run_extra, needle):
    f = tmp_path / "m.yaml"
    f.write_text(f"cases:\n  - id: a\n    base_args: \"{TINY}\"\n{case_extra}    runs:\n      - name: r\n{run_extra}")
    r = cli(["cases", "check", str(f)])
    line = assert_one_line_error(r, 2, needle)
    assert "m.yaml:" in line


def test_matrix_port_keys_parse(tmp_path):
    from nbparity.matrix import load_matrix

    f = tmp_path / "m.yaml"
    f.write_text(f"cases:\n  - id: a\n    base_args: \"{TINY}\"\n    py_cmd: \"{QUIRK_PORT} {{argv}}\"\n"
                 "    py_quirk_flags: {C-PARITY-001: --phi-carryover}\n    runs:\n      - name: r\n"
                 "      - name: s\n        py_quirk_flags: {C-PIX0-001: --pix0-quirk}\n")
    r, s = load_matrix(f).runs
    assert r.port.flags() == {"C-PARITY-001": ["--phi-carryover"]}
    assert s.port.flags() == {"C-PIX0-001": ["--pix0-quirk"]}
    assert r.argv[-2:] == ["-floatfile", "floatimage.bin"] and r.device == "external"


def test_matrix_attribution_through_port_switches(tmp_path, cbin):
    """A φ carry-over case: the port's mapped switch explains the image and trace divergences (explained,
    explained); with only an irrelevant switch mapped the run diverges and says why it was not attributed."""
    f = tmp_path / "m.yaml"
    f.write_text(f"""\
cases:
  - id: carry
    base_args: "{TINY} -phi 0 -osc 0.3 -phisteps 3 -misset 10 20 30"
    py_cmd: "{QUIRK_PORT} {{argv}}"
    py_quirk_flags: {{C-PARITY-001: --phi-carryover}}
    trace_pixels: [[3, 4]]
    runs:
      - name: mapped
      - name: unmapped
        py_quirk_flags: {{C-PIX0-001: --pix0-quirk}}
""")
    r = cli(["cases", "run", str(f), "--c-bin", cbin, "--out", str(tmp_path / "out"), "--json"])
    assert r.returncode == 1, r.stderr[-2000:]
    runs = {o["run"]: o for o in json.loads(r.stdout)["runs"]}
    mapped, unmapped = runs["mapped"], runs["unmapped"]
    assert (mapped["verdict"], mapped["traces_verdict"]) == ("explained", "explained")
    assert mapped["image"]["verdict"] == "divergent" and mapped["image"]["metrics"]["outside_tolerance"] > 0
    assert mapped["attribution"]["quirks"] == ["C-PARITY-001"] and mapped["attribution"]["image_ok"]
    assert unmapped["verdict"] == "divergent"
    assert "attribution not possible: no --py-quirk-flag is given for the triggered quirk(s) C-PARITY-001" \
        in unmapped["reason"]
