"""Hints from the numbers: an input whose torch value is exactly what float32 rounding of its printed argv
value would give ("the port appears to hold -distance in float32"), next to the unit hints."""

from __future__ import annotations

import numpy as np

from nbparity.prove.table import injection_for

_ULPS = 4   # float64 ulps of slack: the port's own double arithmetic after the float32 read


def option_values(argv, option: str, n: int) -> list[str] | None:
    """The n tokens after the last `option` in argv (nanoBragg keeps the last), None when absent."""
    argv = [str(a) for a in argv]
    hits = [i for i, a in enumerate(argv) if a == option]
    if not hits or hits[-1] + n >= len(argv):
        return None
    return argv[hits[-1] + 1:hits[-1] + 1 + n]


def _candidates(values, component: int, scale: float, c: float) -> list[float]:
    """What a port holding the argv value in float32 could print for the component."""
    f32 = np.array([float(v) for v in values], dtype=np.float32)
    out = [float(np.float32(c))]                                  # converted in double, stored in float32
    if len(f32) == 1:
        out += [float(f32[0]) / scale, float(np.float32(f32[0] / np.float32(scale)))]
    else:   # a direction: unitized in double or in float32
        as64 = f32.astype(np.float64)
        out += [float(as64[component] / np.linalg.norm(as64)),
                float((f32 / np.float32(np.sqrt(np.sum(f32 * f32))))[component])]
    return out


def _matches(py: float, c: float, candidates) -> bool:
    if py == c or not (np.isfinite(py) and np.isfinite(c)):
        return False
    return any(abs(py - x) <= _ULPS * np.spacing(abs(x)) for x in candidates)


def float32_hints(comparison, argv) -> list[dict]:
    """One hint per configuration key whose every failing component is a float32 rounding of its argv value."""
    table = comparison.config_table
    conv = table[table["key"] == "convention"]["raw_c"]
    convention = str(conv.iloc[0]) if len(conv) else None
    fails = table[table["status"] == "FAIL"]
    out = []
    for key, rows in fails.groupby("key", sort=False):
        entry = injection_for(f"config.{key}", convention)
        if entry is None:
            continue
        n = sum(f"{{{i}}}" in entry.argv for i in range(3))
        values = option_values(argv, entry.option, n)
        if values is None:
            continue
        try:
            ok = all(_matches(float(r["py"]), float(r["c"]),
                              _candidates(values, int(r["component"]), entry.scale, float(r["c"])))
                     for r in rows.to_dict("records"))
        except ValueError:   # an argv token that is not a number
            continue
        if ok:
            r = rows.iloc[0]
            out.append({"node": f"config.{key}", "key": key, "component": int(r["component"]), "layer": 0,
                        "subS": 0, "subF": 0, "phi_tic": -1, "ratio": float(r["py"]) / float(r["c"]),
                        "factor": "float32",
                        "meaning": f"the port appears to hold {entry.option} in float32 "
                                   f"(torch's {key} is float32 rounding of {' '.join(values)})"})
    return out
