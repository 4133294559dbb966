"""(d) The ASan/UBSan build runs small cases, including bad inputs, without any sanitizer report."""
import subprocess

import pytest

CASES = [
    ["-cell", 70, 80, 90, 85, 95, 100, "-N", 3, "-default_F", 5, "-detpixels", 12, "-oversample", 2,
     "-misset", "random", "-mosaic", 0.3, "-mosaic_dom", 3, "-phisteps", 3, "-osc", 0.3, "-seed", 9,
     "-trace_pixel", 5, 6],
    ["-cell", 60, "-hkl", "t.hkl", "-N", 2, "-detpixels", 10, "-oversample", 1, "-interpolate",
     "-round_xtal", "-divergence", 1, "-divsteps", 3, "-dispersion", 5, "-dispsteps", 2,
     "-curved_det", "-xds", "-water", 20, "-trace_pixel", 4, 4, "-nonoise"],
    ["-cell", 60, "-N", 2, "-default_F", 5, "-detpixels", 10, "-oversample", 2, "-gauss_xtal",
     "-detector_thick", 50, "-thicksteps", 3, "-oversample_thick", "-oversample_polar", "-oversample_omega",
     "-polar", 0.7, "-dmin", 30, "-roi", 2, 8, 1, 9, "-sourcefile", "s.txt", "-printout_pixel", 3, 3],
    ["-cell", 60, "-N", 2, "-default_F", 5, "-detpixels", 8, "-oversample", 1, "-tophat_spots",
     "-mask", "m.img", "-point_pixel", "-dials", "-noisefile", "n.img", "-fluence", 1e34, "-seed", -3],
    ["-mat", "nope.mat", "-default_F", 1, "-detpixels", 4, "-oversample", 1, "-N", 2, "-interpolate",
     "-hkl", "t.hkl"],
    ["-cell", 50, "-hkl", "nope.hkl", "-detpixels", 4],
    ["-cell", 50, "-hkl", "bad.hkl", "-detpixels", 4],
    ["-cell", 50, "-default_F", 1, "-detsize", 0],
    ["-cell", 50, "-default_F", 1, "-detpixels", 4, "-sourcefile", "nope.txt"],
    ["-cell", 50, "-default_F", 1, "-detpixels", 4, "-oversample", 1, "-detector_abs"],
]


@pytest.fixture
def workdir(tmp_path):
    rows = [f"{h} {k} {l} {abs(h) + abs(k) + abs(l) + 1}" for h in range(-3, 4) for k in range(-3, 4) for l in range(-3, 4)]
    (tmp_path / "t.hkl").write_text("\n".join(rows) + "\n")
    (tmp_path / "bad.hkl").write_text("not numbers at all\n")
    (tmp_path / "s.txt").write_text("-10 0 0 1 1e-10\n# comment\n-10 0.1 0\n")
    head = "{\nHEADER_BYTES=512;\nSIZE1=8;\nSIZE2=8;\nPIXEL_SIZE=0.1;\n}\f".encode().ljust(512, b" ")
    (tmp_path / "m.img").write_bytes(head + bytes([1, 0]) * 60 + bytes(8))
    return tmp_path


def test_asan_clean(nb_asan, workdir):
    for args in CASES:
        p = subprocess.run([str(nb_asan)] + [str(a) for a in args], cwd=workdir, capture_output=True,
                           text=True, timeout=120)
        assert "runtime error" not in p.stderr and "AddressSanitizer" not in p.stderr, (args, p.stderr[-2000:])
        assert "LeakSanitizer" not in p.stderr, (args, p.stderr[-2000:])
        assert p.returncode in (0, 9), (args, p.returncode, p.stderr[-500:])
