"""Alignment of two parsed traces and the value rule of nbparity.compare (one row per aligned value).

    |py - c| <= atol + rtol * |c|      (C is the reference)

Non-finite values must match exactly (NaN with NaN, +inf with +inf) and even then prove nothing: such a
row gets status 'non-finite' (never 'pass'), and the judgement (nbparity.compare_judge) makes a deciding
one incomplete. Status words of the aligned table: 'pass', 'FAIL', 'one-sided', 'non-finite'.
"""

from __future__ import annotations

from nbparity.trace.tolerance import floors, printed_limit

TABLE_COLUMNS = ["section", "key", "component", "layer", "subS", "subF", "phi_tic", "repeat", "c", "py",
                 "abs", "rel", "rtol", "atol", "tol_class", "status", "side", "line_c", "line_py", "raw_c",
                 "raw_py", "printed"]
ALIGN_ON = ["section", "key", "component", "layer", "subS", "subF", "phi_tic", "repeat"]
RULE = ("|py - c| <= atol + rtol*|c| (C is the reference), or the sum of both sides' half-units of the last "
        "printed digit when larger (compared at printed precision); a key unknown to the schema has atol = rtol "
        "x its largest |C value|, and no class floor exceeds that but the lattice and miller ones; non-finite "
        "values must match exactly, and a value not finite on both sides is not compared (incomplete)")


def primary(frames, warnings: list, label: str):
    """Keep the dominant implementation prefix of a log (a C log that also echoes PY lines, …)."""
    v = frames.values
    impls = v["impl"].value_counts()
    if len(impls) > 1:
        keep = impls.index[0]
        warnings.append(f"{label}: lines of several implementations {sorted(impls.index)}; comparing {keep}")
        frames.values = v[v["impl"] == keep]
        frames.config = frames.config[frames.config["impl"] == keep]
    return frames


def harmonize(c, py, warnings: list):
    """A side without config echo numbers its blocks (0,0,k); renumber them with the other side's echo."""
    for this, other, label in ((c, py, "C"), (py, c, "torch")):
        if this.occurrence_source == "fallback" and other.config_value("oversample") is not None:
            os_ = int(other.config_value("oversample"))
            nt = int(other.config_value("detector_thicksteps") or 1)
            warnings.append(f"{label} trace has no config echo: its blocks were numbered with the other "
                            f"side's oversample={os_}, detector_thicksteps={nt}")
            remapped = this.remap_blocks(os_, nt)
            this.values, this.occurrence_source = remapped.values, remapped.occurrence_source
    return c, py


def copy_frames(frames):
    from dataclasses import replace

    return replace(frames, values=frames.values.copy(), config=frames.config.copy(),
                   warnings=list(frames.warnings))


def phi_one_occurrence(frames) -> bool:
    """True when the per-φ rows say nothing about the sub-pixel they belong to: no occurrence fields and
    no per-pixel blocks around them (per-φ JSON, a per-φ table, a per-φ-only log)."""
    v = frames.values
    phi = v[v["section"] == "phi"]
    if phi.empty or (phi["occ_from"] == "fields").any():
        return False
    return not (v["section"] == "pixel").any()


def merge(cdf, pydf, on):
    import pandas as pd

    cols = on + ["value", "raw", "line"] + [c for c in ("half_unit",) if c in cdf and c in pydf]
    merged = pd.merge(cdf[cols], pydf[cols], on=on, how="outer", suffixes=("_c", "_py"))
    # C emission order first; torch-only rows after, in torch order
    merged = merged.assign(_o1=merged["line_c"].fillna(float("inf")), _o2=merged["line_py"].fillna(float("inf")))
    return merged.sort_values(["_o1", "_o2"] + [c for c in on if c in ("component",)], kind="stable") \
        .drop(columns=["_o1", "_o2"]).reset_index(drop=True)


def finish_table(merged, config: bool = False):
    import pandas as pd

    if config:
        merged = merged.assign(section="config", layer=0, subS=0, subF=0, phi_tic=-1)
    out = merged.copy()
    for col in ("line_c", "line_py"):
        out[col] = out[col].astype("Int64")
    for col in ("component", "layer", "subS", "subF", "phi_tic", "repeat"):
        out[col] = out[col].astype("int64")
    return pd.DataFrame(out[TABLE_COLUMNS]).reset_index(drop=True)


def _tolerances(schema, keys, sections, dtype, rtol, atol):
    import numpy as np

    from nbparity.distinct import distinct_codes

    codes, first = distinct_codes(keys, sections)   # a few hundred keys over millions of rows
    k_first, s_first = list(keys.iloc[first]), list(np.asarray(sections, dtype=object)[first])
    classes = [schema.class_of(k, s) for k, s in zip(k_first, s_first)]
    exact = np.array([cl == "exact" for cl in classes], dtype=bool)
    tols = [schema.class_defaults(cl, dtype) for cl in classes]
    r = np.array([t[0] if (rtol is None or ex) else rtol for t, ex in zip(tols, exact)], dtype=float)
    a = np.array([t[1] if (atol is None or ex) else atol for t, ex in zip(tols, exact)], dtype=float)
    return np.array(classes, dtype=object)[codes], exact[codes], r[codes], a[codes]


def _structural(own_sections, merged, has_c, has_py, phi_one_occ):
    """A key both sides print must match structurally: a component, occurrence or φ step present on one
    side only (a truncated vector, a repeated block) is a divergence. Keys one build does not print at
    all (config echo, extended φ fields of other builds) stay one-sided."""
    import numpy as np

    from nbparity.distinct import distinct_codes

    key_ids, _ = distinct_codes(own_sections, merged["key"])
    n = int(key_ids.max(initial=-1)) + 1
    shared = (np.bincount(key_ids[has_c], minlength=n) > 0) & (np.bincount(key_ids[has_py], minlength=n) > 0)
    structural = shared[key_ids] & ~(has_c & has_py)
    if any(phi_one_occ):
        elsewhere = (np.asarray(own_sections == "phi", dtype=bool)
                     & ((merged["layer"] != 0) | (merged["subS"] != 0) | (merged["subF"] != 0)).to_numpy())
        unknown = (has_c & phi_one_occ[1]) | (has_py & phi_one_occ[0])
        structural &= ~(elsewhere & unknown)
    return structural


def judge_rows(merged, schema, dtype: str, rtol, atol, section_col: str | None = None,
               phi_one_occ: tuple[bool, bool] = (False, False)):
    """Add class, tolerance, abs, rel, status columns to an outer-merged frame (value_c / value_py).
    phi_one_occ (C, torch): that side's per-φ records carry no occurrence (a per-φ JSON, table or log of
    one sub-pixel); the other side's φ steps at other occurrences are then one-sided, not failures."""
    import numpy as np

    from nbparity.distinct import per_distinct

    own_sections = (merged["section"].to_numpy(dtype=object) if section_col is None
                    else np.full(len(merged), section_col, dtype=object))
    # an extra prefix's section (tap5, source2, …) holds per-pixel quantities: judge them as such
    sections = per_distinct(lambda s: s if s in ("pixel", "phi", "config") else "pixel", own_sections)
    classes, exact, r, a = _tolerances(schema, merged["key"], sections, dtype, rtol, atol)
    c = merged["value_c"].to_numpy(dtype=float)
    py = merged["value_py"].to_numpy(dtype=float)
    a = floors(merged["key"], own_sections, classes, c, r, a, atol)   # issue 22: scaled to the key's size
    has_c = merged["line_c"].notna().to_numpy()
    has_py = merged["line_py"].notna().to_numpy()
    # string-typed keys (convention, pivot, shape) and keys our schema does not know (other builds'
    # text values: detector_convention=CUSTOM) compare their words; a numeric key's unreadable token is
    # a failure, never "NaN == NaN"
    is_str = per_distinct(lambda k, s: _key_type(schema, k, s) in ("str", None), merged["key"], sections,
                          dtype=bool)
    nan_c = _unreadable(c, merged["raw_c"])
    nan_py = _unreadable(py, merged["raw_py"])
    words = is_str & (nan_c | nan_py)
    garbled = ~is_str & (nan_c | nan_py)   # a value that did not parse as a number
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        diff = np.abs(py - c)
        rel = np.where(diff == 0, 0.0, diff / np.abs(c))
        finite = np.isfinite(c) & np.isfinite(py)
        same_nonfinite = (np.isnan(c) & np.isnan(py)) | (np.isinf(c) & (c == py))
        limit, printed = printed_limit(c, _column(merged, "half_unit_c"), _column(merged, "half_unit_py"),
                                       r, a, exact)
        within = np.where(exact, py == c, diff <= limit)
    ok = np.where(finite, within, False)
    ok = np.where(words, merged["raw_c"].to_numpy() == merged["raw_py"].to_numpy(), ok) & ~garbled
    nonfinite = same_nonfinite & ~words & ~garbled
    structural = _structural(own_sections, merged, has_c, has_py, phi_one_occ)
    both = has_c & has_py
    status = np.where(both, np.where(ok, "pass", np.where(nonfinite, "non-finite", "FAIL")),
                      np.where(structural, "FAIL", "one-sided"))
    side = np.where(both, "both", np.where(has_c, "C", "PY"))
    return merged.assign(c=c, py=py, abs=np.where(both, diff, np.nan), rel=np.where(both, rel, np.nan),
                         rtol=r, atol=a, tol_class=classes, status=status, side=side, printed=printed & both)


def _column(merged, name):
    """A column of the merged frame; zeros where the readers give none (the config echo)."""
    import numpy as np

    return merged[name].to_numpy(dtype=float) if name in merged else np.zeros(len(merged))


def _unreadable(values, raw):
    """Rows whose value is NaN but whose printed token is not a NaN: only the NaN rows' tokens are read."""
    import numpy as np

    from nbparity.distinct import per_distinct

    out = np.isnan(values)
    rows = np.flatnonzero(out)
    out[rows] = ~per_distinct(_is_nan_token, raw.iloc[rows].fillna("nan"), dtype=bool)
    return out


def _key_type(schema, key: str, section: str) -> str | None:
    try:
        return schema.spec(key, section).type
    except KeyError:  # keys of other builds that our schema does not know
        return None


def _is_nan_token(raw: str) -> bool:
    return raw.strip().lower().lstrip("+-") == "nan"
