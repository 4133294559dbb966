"""Sub-pixel occurrences of a trace's block-indexed lines: block k -> (layer, subS, subF), from the config
echo's oversample (C loop nesting: layer outer, then subS, then subF), else from the blocks' per-φ
occurrence fields, else (0, 0, k) with a warning.

    assign_occurrences(table, config_rows, warnings) -> how ('config' | 'phi-fields' | 'fallback' | 'single')
"""

from __future__ import annotations

import numpy as np

from nbparity.trace.columns import word_code


def assign_occurrences(table: dict, config_rows: list, warnings: list[str]) -> str:
    """Set (layer, subS, subF) of the block-indexed lines of `table` in place; returns how it was done."""
    in_block = table["occ_from"] == word_code(table, "block")
    blocks, where = _distinct(table["block"][in_block])
    if not len(blocks):
        return "single"

    def echoed(key):
        vals = [r[4] for r in config_rows if r[1] == key and r[2] == 0 and r[4] == r[4]]
        return int(vals[0]) if vals else None

    os_, nt = echoed("oversample"), echoed("detector_thicksteps")
    if os_ is not None:
        nt = nt or 1
        if blocks[-1] >= os_ * os_ * nt:
            warnings.append(f"{blocks[-1] + 1} sub-pixel blocks but the config echo implies {os_ * os_ * nt}")
        side = max(int(os_), 1)   # C loop nesting: layer (outer) -> subS -> subF (inner)
        occ, source = np.stack([blocks // (side * side), (blocks // side) % side, blocks % side], 1), "config"
    else:
        occ, source = _unechoed(table, blocks, warnings)
    for c, name in enumerate(("layer", "subS", "subF")):
        table[name][in_block] = occ[where, c]
    return source


def _distinct(block: np.ndarray):
    """(the distinct block numbers, ascending; each line's index among them). A trace counts its blocks up
    line by line, so one pass finds them; any other order is sorted."""
    if len(block) and (block[1:] >= block[:-1]).all():
        new = np.empty(len(block), bool)
        new[0], new[1:] = True, block[1:] != block[:-1]
        return block[new], np.cumsum(new) - 1
    blocks = np.unique(block)
    return blocks, np.searchsorted(blocks, block)


def _unechoed(table: dict, blocks, warnings: list[str]):
    """Without a config echo: the blocks' per-φ occurrence fields, else (0, 0, k)."""
    from nbparity.trace.frames import decompose

    fields = ((table["occ_from"] == word_code(table, "fields")) & (table["section"] == word_code(table, "phi"))
              & (table["block"] >= 0))
    seen = {}
    for k, layer, sub_s, sub_f in zip(*(table[n][fields].tolist() for n in ("block", "layer", "subS", "subF"))):
        seen.setdefault(k, (layer, sub_s, sub_f))
    if seen:
        os_ = max(max(o[1], o[2]) for o in seen.values()) + 1
        if any(k not in seen for k in blocks.tolist()):
            warnings.append("some blocks have no per-φ occurrence fields; their occurrence was inferred")
        return np.array([seen.get(k, decompose(k, os_, 1)) for k in blocks.tolist()], np.int64), "phi-fields"
    if len(blocks) == 1 and blocks[0] == 0:
        return np.zeros((1, 3), np.int64), "single"
    warnings.append("no config echo and no per-φ occurrence fields: block k is reported as occurrence (0, 0, k)")
    return np.stack([np.zeros_like(blocks), np.zeros_like(blocks), blocks], 1), "fallback"
