"""Item 3: no shell injection and no quoting bugs.

* Static: nothing in nbparity/ (or simulator/) runs a shell: no `shell=True`, no os.system / os.popen /
  subprocess.getoutput, and every subprocess call gets an argv list, never a command string.
* End to end: input files, the C binary and the --out directory all live under paths with spaces,
  quotes and shell metacharacters; argv values that look like shell code stay inert data; commands.txt
  quotes everything, so `bash commands.txt WORK` in a temporary copy reproduces the run's traces
  byte for byte (trace lines) and its final `nbparity diff` agrees (exit 0).
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from . import REPO, bundles_in, c_binary, cli, nbparity_env

SHELL_CALLS = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput"), ("subprocess", "getstatusoutput"),
               ("os", "execlp"), ("os", "spawnlp"), ("pty", "spawn")}
SUBPROCESS_FUNCS = {"run", "Popen", "call", "check_call", "check_output"}


def _sources():
    for pkg in ("nbparity", "simulator"):
        yield from sorted((REPO / pkg).rglob("*.py"))


def _dotted(node) -> tuple:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return tuple(reversed(parts))


def test_no_shell_anywhere_in_sources():
    problems = []
    for path in _sources():
        text = path.read_text()
        tree = ast.parse(text, filename=str(path))
        from_subprocess = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                           and n.module == "subprocess" for a in n.names}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _dotted(node.func)
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            if name[-2:] in SHELL_CALLS or name in SHELL_CALLS:
                problems.append(f"{where}: {'.'.join(name)}()")
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and not kw.value.value):
                    problems.append(f"{where}: shell={ast.unparse(kw.value)}")
            if name and ((len(name) == 1 and name[0] in from_subprocess)
                         or (len(name) > 1 and name[-1] in SUBPROCESS_FUNCS and name[-2] == "subprocess")):
                if node.args:
                    first = node.args[0]
                    if isinstance(first, (ast.JoinedStr, ast.BinOp)) or (
                            isinstance(first, ast.Constant) and isinstance(first.value, str)):
                        problems.append(f"{where}: {'.'.join(name)}() given a command string")
        for bad in ("shell=True", "os.system(", "os.popen("):
            if bad in text:
                problems.append(f"{path.relative_to(REPO)}: contains {bad!r}")
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------- end to end

NASTY = "dir with space/it's \"quoted\" $HOME `x` ;&|"


@pytest.fixture(scope="module")
def nasty_case(tmp_path_factory):
    from nbparity.synthetic import ensure_inputs

    root = tmp_path_factory.mktemp("paths")
    d = root / NASTY
    d.mkdir(parents=True)
    mat, hkl = ensure_inputs(root / "synthetic-cache")
    shutil.copy(mat, d / "A m'at.mat")
    shutil.copy(hkl, d / "F \"q\".hkl")
    binary = d / "nano Bragg's"
    shutil.copy(c_binary(), binary)
    binary.chmod(0o755)
    args = ("-mat \"A m'at.mat\" -hkl 'F \"q\".hkl' -lambda 0.9768 -N 5 -distance 100 -pixel 0.172 "
            "-detpixels 24 -oversample 1 -phisteps 2 -osc 0.2 -nonoise -nopgm -nointerpolate "
            # values that look like shell code must stay data (an unused -stolout name, output names)
            "-stolout '$(touch PWNED1)' -intfile 'a;touch PWNED2.img' -floatfile '`touch PWNED3`.bin'")
    case = d / "case's file.yaml"
    import yaml

    case.write_text(yaml.safe_dump({"name": "nasty paths", "args": args}))
    return root, d, case, binary


def _trace_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("TRACE_")]


def _assert_no_pwned(*dirs):
    for d in dirs:
        hits = [p for p in Path(d).rglob("PWNED*") if p.name.startswith("PWNED")]
        assert not hits, f"shell code in an argv value was executed: {hits}"


def test_nasty_paths_end_to_end_and_commands_txt_reproduces(nasty_case, tmp_path):
    root, d, case, binary = nasty_case
    out = d / "out dir" / "it's"
    r = cli(["compare", "--pixel", "10", "12", "--case", str(case), "--c-bin", str(binary), "--out", str(out),
             "--quirks", "c", "--no-attribution"])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (bundle,) = bundles_in(out)
    assert cli(["bundle", "verify", str(bundle)]).returncode == 0
    m = json.loads((bundle / "metrics.json").read_text())
    assert m["verdict"] == "identical"

    copy = tmp_path / "bundle copy's dir"
    shutil.copytree(bundle, copy)
    work = tmp_path / "re run $work 'dir'"
    proc = subprocess.run(["bash", "commands.txt", str(work)], cwd=copy, capture_output=True, text=True,
                          timeout=300, env=nbparity_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (rerun,) = bundles_in(work)   # commands.txt re-runs request.json into a new bundle under WORK
    assert json.loads((rerun / "metrics.json").read_text())["verdict"] == "identical"
    for name in ("c_trace.log", "py_trace.log"):
        again = _trace_lines((rerun / name).read_text())
        orig = _trace_lines((bundle / name).read_text())
        assert again, f"re-run {name} has no trace lines"
        assert again == orig, f"re-run {name} differs from the bundle's"
    _assert_no_pwned(root, tmp_path)
    assert not list(Path.cwd().glob("PWNED*"))


def test_nasty_out_dir_for_image(nasty_case, tmp_path):
    root, d, case, binary = nasty_case
    out = tmp_path / "image out" / "it's \"here\""
    r = cli(["image", "--case", str(case), "--c-bin", str(binary), "--out", str(out), "--quirks", "c",
             "--roi", "2", "9", "3", "12"])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (bundle,) = bundles_in(out)
    assert cli(["bundle", "verify", str(bundle)]).returncode == 0
    text = (bundle / "commands.txt").read_text()
    # every path in the script is quoted: bash can at least parse it without running anything
    syntax = subprocess.run(["bash", "-n", "commands.txt"], cwd=bundle, capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    assert "PWNED" not in text or "'" in text
    _assert_no_pwned(root, tmp_path)
