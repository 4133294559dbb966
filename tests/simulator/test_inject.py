"""The injection protocol in the simulator (docs/injection.md): NBPARITY_INJECT replaces the traced pixel's
intermediates by given values and everything downstream is recomputed from them; no other pixel changes."""

import json

import pytest
import torch

import simulator

ARGV = ("-default_F 100 -cell 30 30 30 90 90 90 -detpixels 16 -N 2 -oversample 1 -nonoise -nopgm "
        "-noprogress -phisteps 3 -osc 0.3").split()
PIXEL = (3, 4)


def _run(tmp_path):
    return simulator.run(ARGV, trace_pixel=PIXEL, dtype="float64", quirks="c", cwd=str(tmp_path))


def _phi_field(res, tic, name):
    line = next(ln for ln in res.trace_lines if ln.startswith("TRACE_PY_PHI") and f" phi_tic={tic} " in f" {ln} ")
    return float(next(t for t in line.split() if t.startswith(name + "=")).split("=", 1)[1])


def _inject(monkeypatch, tmp_path, values, pixel=PIXEL):
    path = tmp_path / "inject.json"
    path.write_text(json.dumps({"schema": "nbparity.inject/1", "pixel": list(pixel), "values": values}))
    monkeypatch.setenv("NBPARITY_INJECT", str(path))


def test_injected_F_latt_changes_the_traced_pixel_only(tmp_path, monkeypatch):
    monkeypatch.delenv("NBPARITY_INJECT", raising=False)
    base = _run(tmp_path)
    _inject(monkeypatch, tmp_path, [{"key": "F_latt", "phi_tic": 1, "layer": 0, "subS": 0, "subF": 0,
                                     "value": 123.0}])
    inj = _run(tmp_path)
    assert _phi_field(inj, 1, "F_latt") == 123.0 and _phi_field(base, 1, "F_latt") != 123.0
    assert _phi_field(inj, 2, "F_latt") == _phi_field(base, 2, "F_latt")
    # I_term at step 1 is recomputed from the injected F_latt: F_cell² · 123²
    assert _phi_field(inj, 1, "I_term") == pytest.approx(100.0 ** 2 * 123.0 ** 2, rel=1e-15)
    changed = torch.nonzero(inj.image != base.image).tolist()
    assert changed == [list(PIXEL)]


def test_injected_rotated_vectors_give_h_k_l_and_show_in_the_trace(tmp_path, monkeypatch):
    monkeypatch.delenv("NBPARITY_INJECT", raising=False)
    base = _run(tmp_path)
    rot = [[30.0, 0.0, 0.0], [0.0, 30.0, 0.0], [0.0, 0.0, 15.0]]   # Å: c halved
    _inject(monkeypatch, tmp_path, [{"key": "rot", "phi_tic": 2, "layer": 0, "subS": 0, "subF": 0, "value": rot}])
    inj = _run(tmp_path)
    assert _phi_field(inj, 2, "rot_c_z") == 15.0 and _phi_field(inj, 1, "rot_c_z") == _phi_field(base, 1, "rot_c_z")
    q = [float(x) for x in next(ln for ln in base.trace_lines if "scattering_vec_A_inv" in ln).split()[2:]]
    assert _phi_field(inj, 2, "l_frac") == q[2] * 15e-10
    assert torch.nonzero(inj.image != base.image).tolist() == [list(PIXEL)]


def test_a_file_for_another_pixel_is_refused(tmp_path, monkeypatch):
    _inject(monkeypatch, tmp_path, [], pixel=(1, 1))
    with pytest.raises(ValueError, match="the file is for pixel"):
        _run(tmp_path)


def test_injected_h_k_l_decide_F_latt(tmp_path, monkeypatch):
    """Integer h k l at a step: every SQUARE sincg factor is its peak N, so F_latt = Na·Nb·Nc = 8."""
    _inject(monkeypatch, tmp_path, [{"key": "hkl_frac", "phi_tic": 1, "layer": 0, "subS": 0, "subF": 0,
                                     "value": [1.0, -2.0, 3.0]}])
    inj = _run(tmp_path)
    assert [_phi_field(inj, 1, k) for k in ("h_frac", "k_frac", "l_frac")] == [1.0, -2.0, 3.0]
    assert _phi_field(inj, 1, "F_latt") == 8.0


def test_injected_polarization_and_solid_angle_scale_the_pixel(tmp_path, monkeypatch):
    monkeypatch.delenv("NBPARITY_INJECT", raising=False)
    base = _run(tmp_path)
    _inject(monkeypatch, tmp_path, [{"key": "polar", "phi_tic": -1, "layer": 0, "subS": 0, "subF": 0, "value": 0.5},
                                    {"key": "omega", "phi_tic": -1, "layer": 0, "subS": 0, "subF": 0, "value": 1e-6}])
    inj = _run(tmp_path)

    def line(res, key):
        return float(next(ln for ln in res.trace_lines if ln.startswith(f"TRACE_PY: {key} ")).split()[2])

    assert line(inj, "polar") == 0.5 and line(inj, "omega_pixel") == 1e-6
    want = line(base, "I_pixel_final") / line(base, "polar") / line(base, "omega_pixel") * 0.5 * 1e-6
    assert line(inj, "I_pixel_final") == pytest.approx(want, rel=1e-14)
    assert torch.nonzero(inj.image != base.image).tolist() == [list(PIXEL)]
