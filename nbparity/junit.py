"""JUnit XML for a matrix run: one <testcase> per run; divergences are <failure>, runs that could not
produce a comparison are <error>; the element text carries the details a CI page shows."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass
class JunitCase:
    classname: str        # the matrix case id
    name: str             # the run name
    time_s: float
    status: str           # "pass" | "failure" | "error"
    message: str = ""     # one line (the attribute)
    details: str = ""     # multi-line text (the element body)


def build_xml(suite: str, cases: list[JunitCase]) -> ET.ElementTree:
    failures = sum(c.status == "failure" for c in cases)
    errors = sum(c.status == "error" for c in cases)
    total = sum(c.time_s for c in cases)
    root = ET.Element("testsuites", name=suite, tests=str(len(cases)), failures=str(failures),
                      errors=str(errors), time=f"{total:.3f}")
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)), failures=str(failures),
                       errors=str(errors), skipped="0", time=f"{total:.3f}")
    for c in cases:
        tc = ET.SubElement(ts, "testcase", classname=c.classname, name=c.name, time=f"{c.time_s:.3f}")
        if c.status in ("failure", "error"):
            el = ET.SubElement(tc, c.status, message=c.message,
                               type="divergence" if c.status == "failure" else "runner-error")
            el.text = c.details or c.message
        elif c.status != "pass":
            raise ValueError(f"unknown JUnit status {c.status!r}")
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(path, suite: str, cases: list[JunitCase]) -> Path:
    """Write atomically (temporary sibling + rename), so a CI reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    build_xml(suite, cases).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)
    return path
