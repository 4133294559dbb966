"""Which files a bundle of each kind must hold: the one table `bundle verify` and `history` judge by.

The kind is metrics.json's "kind". Bundles of the metrics schema "nbparity.metrics/2" name it (compare,
image, probe, matrix) and also hold request.json and report.html. Older bundles (schema
"nbparity.metrics/1", "nbparity.probe/1" or none) are judged by what their writer produced then: the
kind is taken from "kind" where they wrote one ("image", "matrix", "probe-<name>"; compare wrote none)
or inferred from the files and metrics, and request.json / report.html are not required.

A schema-2 probe may name which probe it was in metrics["probe"] ("rotation", "sincg", "single-phi");
its files are then required too. Image bundles that record "images_in_bundle": true also require the
two float images.

A requirement is a file name, a tuple of alternative names (any one present), or a glob pattern
("c_phi*.log": at least one match).
"""

from __future__ import annotations

import fnmatch

SCHEMA_V2 = "nbparity.metrics/2"
KINDS = ("compare", "image", "probe", "matrix")

_BASE = ("metrics.json", "summary.md", "env.json")
_V2_EXTRA = ("request.json", "report.html")

# kind -> required files (what the writers produce today: pipeline._write, imagecmp.write_image_bundle
# and write_error_bundle, probes.common.write_probe_bundle, matrix.write_matrix_bundle)
REQUIRED_FILES: dict[str, tuple] = {
    # compare writes every file also for a failed run (verdict "error")
    "compare": _BASE + ("commands.txt", "c_trace.log", "py_trace.log", "factors.csv", "per_phi.csv"),
    # image: the C output is c_stdout.log in bundles before schema 2, c_trace.log from schema 2 on
    "image": _BASE + ("commands.txt", ("c_trace.log", "c_stdout.log"), ("py_stdout.log", "py_trace.log"),
                      "comparison.png"),
    "image-error": _BASE,
    "probe": _BASE + ("commands.txt",),
    "probe-rotation": ("rotation.csv", "rotation_steps.csv", "c_trace.log", "py_trace.log"),
    "probe-sincg": ("sincg.csv", "sincg.md", "sincg.png"),
    "probe-single-phi": ("single_phi.csv", "c_phi*.log", "py_phi*.log"),
    "matrix": _BASE + ("commands.txt",),
}
# image bundles that say images_in_bundle: true also hold both float images
IMAGE_FLOATS = ("c_float.bin", "torch_float.bin")


def is_v2(metrics: dict) -> bool:
    return isinstance(metrics, dict) and metrics.get("schema") == SCHEMA_V2


def kind_of(metrics: dict, names) -> tuple[str | None, str]:
    """(kind, how) of a bundle from its metrics and file names: kind is compare | image | matrix |
    probe-<name> | probe (a schema-2 probe that does not say which) or None when it cannot be told."""
    names = set(names)
    kind = metrics.get("kind") if isinstance(metrics, dict) else None
    if kind is not None:
        if not isinstance(kind, str):
            return None, f"metrics.json's kind is not a string: {str(kind)[:40]!r}"
        if kind == "probe" and isinstance(metrics.get("probe"), str):
            return f"probe-{metrics['probe']}", "metrics.json kind + probe"
        if kind in KINDS or kind.startswith("probe-"):
            return kind, "metrics.json kind"
        return None, f"unknown kind {kind[:40]!r} in metrics.json"
    if is_v2(metrics):
        return None, f"metrics.json of schema {SCHEMA_V2} names no kind"
    # older bundles: compare wrote no kind
    if metrics.get("schema") == "nbparity.metrics/1" or {"factors.csv", "per_phi.csv"} & names:
        return "compare", "inferred (schema 1 / factors.csv)"
    if "runs" in metrics and "counts" in metrics:
        return "matrix", "inferred (runs + counts)"
    if "gates" in metrics or "image_sha256" in metrics or "c_stdout.log" in names:
        return "image", "inferred (image metrics)"
    return None, "metrics.json names no kind and its files match no writer"


def _rule(kind: str, metrics: dict) -> list:
    if kind == "image" and str(metrics.get("verdict", "")).lower() == "error":
        rules = list(REQUIRED_FILES["image-error"])
    elif kind.startswith("probe"):
        rules = list(REQUIRED_FILES["probe"]) + list(REQUIRED_FILES.get(kind, ()))
    else:
        rules = list(REQUIRED_FILES[kind])
    if kind == "image" and metrics.get("images_in_bundle") is True:
        rules += IMAGE_FLOATS
    if is_v2(metrics):
        rules += _V2_EXTRA
        if kind == "image":   # schema 2 names the C output c_trace.log
            rules = ["c_trace.log" if r == ("c_trace.log", "c_stdout.log") else r for r in rules]
    return rules


def _satisfied(rule, names: set) -> bool:
    if isinstance(rule, tuple):
        return any(r in names for r in rule)
    if any(ch in rule for ch in "*?["):
        return any(fnmatch.fnmatchcase(n, rule) for n in names)
    return rule in names


def _label(rule) -> str:
    return " or ".join(rule) if isinstance(rule, tuple) else rule


def missing_required(kind: str, metrics: dict, names) -> list[str]:
    """The requirements of `kind` that `names` (the files the manifest lists) do not meet."""
    names = set(names)
    return [_label(r) for r in _rule(kind, metrics) if not _satisfied(r, names)]
