"""C build cache: key, reuse, atomic output, one-line compile errors (exit 3)."""

import os
import subprocess

import pytest

from nbparity import cbuild
from nbparity.cli import main
from nbparity.errors import RunnerError, UsageError

HELLO = '#include <stdio.h>\nint main(void){ printf("TRACE_C: steps %d\\n", 10); return 0; }\n'


def test_build_caches_by_content_and_flags(tmp_path):
    src = tmp_path / "hello.c"
    src.write_text(HELLO)
    first = cbuild.build(src, cache=tmp_path / "cache")
    assert not first.cached and first.binary.is_file()
    assert first.binary == tmp_path / "cache" / "cbuild" / first.key / "nanoBragg"
    out = subprocess.run([str(first.binary)], capture_output=True, text=True).stdout
    assert out == "TRACE_C: steps 10\n"
    again = cbuild.build(src, cache=tmp_path / "cache")
    assert again.cached and again.key == first.key
    flagged = cbuild.build(src, ["-DEXTRA=1"], cache=tmp_path / "cache")
    assert flagged.key != first.key and flagged.cflags[-1] == "-DEXTRA=1"
    src.write_text(HELLO.replace("10", "11"))
    assert cbuild.build(src, cache=tmp_path / "cache").key != first.key
    assert "-ffp-contract=off" in first.cflags and "-fno-fast-math" in first.cflags
    # no temporary files are left behind
    assert not [p for p in (tmp_path / "cache").rglob(".nanoBragg.tmp-*")]


def test_compile_error_is_one_line_exit_3(tmp_path):
    src = tmp_path / "bad.c"
    src.write_text("int main(void){ return undefined_thing; }\n")
    with pytest.raises(RunnerError) as exc:
        cbuild.build(src, cache=tmp_path / "cache")
    assert exc.value.exit_code == 3
    assert "undefined_thing" in str(exc.value) and "\n" not in str(exc.value)


def test_missing_source_is_usage_error(tmp_path):
    with pytest.raises(UsageError):
        cbuild.build(tmp_path / "nope.c", cache=tmp_path / "cache")


def test_build_command_prints_path(tmp_path, capsys, monkeypatch):
    src = tmp_path / "hello.c"
    src.write_text(HELLO)
    monkeypatch.setenv("NBPARITY_CACHE", str(tmp_path / "envcache"))
    assert main(["build", "--c-source", str(src)]) == 0
    path = capsys.readouterr().out.strip()
    assert path.startswith(str(tmp_path / "envcache" / "cbuild")) and os.access(path, os.X_OK)
    assert main(["build", "--c-source", str(tmp_path / "bad.c")]) == 2


def test_c_reference_builds(tmp_path):
    b = cbuild.build(cache=tmp_path / "cache")
    assert b.binary.is_file() and len(b.sources) >= 1


@pytest.mark.parametrize("argv", [
    ["compare", "--pixel", "0", "0"],
    ["image"],
    ["cases", "run", "tests/parity/matrix.yaml"],
])
def test_c_bin_and_c_source_together_are_a_usage_error(argv, tmp_path, capsys):
    """One rule in cbuild.resolve_binary, the same exit 2 and line from every command that runs C."""
    from nbparity.cli import main

    rc = main([*argv, "--c-bin", "/bin/true", "--c-source", "c_reference", "--out", str(tmp_path)])
    assert rc == 2
    assert capsys.readouterr().err.strip() == "nbparity: give either --c-bin or --c-source, not both"
