"""JUnit XML for a matrix run: one <testcase> per run. A passing verdict (identical, within tolerance,
explained) is a pass; divergent and incomplete are <failure> (explained too under --strict) with the
reason as the message; error, a run that could not be judged, is <error>. The element text carries the
details a CI page shows."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from nbparity import tempdirs
from nbparity.verdict import Verdict


@dataclass(frozen=True)
class JunitCase:
    classname: str        # the matrix case id
    name: str             # the run name
    time_s: float
    verdict: str          # a nbparity.verdict.Verdict value
    message: str = ""     # one line (the attribute): the verdict's reason
    details: str = ""     # multi-line text (the element body)
    strict: bool = False  # explained fails too

    @property
    def element(self) -> str | None:
        """"error", "failure", or None for a pass."""
        v = Verdict(self.verdict)
        if v is Verdict.ERROR:
            return "error"
        return None if v.exit_code(self.strict) == 0 else "failure"


def interrupted_case(not_run: int) -> JunitCase:
    """The testcase an interrupted matrix ends with: an error, so a CI page never shows it green."""
    why = f"interrupted: {not_run} run(s) did not run"
    return JunitCase("nbparity", "interrupted", 0.0, Verdict.ERROR.value, why, why)


def build_xml(suite: str, cases: list[JunitCase]) -> ET.ElementTree:
    failures = sum(c.element == "failure" for c in cases)
    errors = sum(c.element == "error" for c in cases)
    total = sum(c.time_s for c in cases)
    root = ET.Element("testsuites", name=suite, tests=str(len(cases)), failures=str(failures),
                      errors=str(errors), time=f"{total:.3f}")
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)), failures=str(failures),
                       errors=str(errors), skipped="0", time=f"{total:.3f}")
    for c in cases:
        tc = ET.SubElement(ts, "testcase", classname=c.classname, name=c.name, time=f"{c.time_s:.3f}")
        if c.element is not None:
            el = ET.SubElement(tc, c.element, message=c.message, type=c.verdict)
            el.text = c.details or c.message
    ET.indent(root)
    return ET.ElementTree(root)


def junit_text(suite: str, cases: list[JunitCase]) -> bytes:
    import io

    buf = io.BytesIO()
    build_xml(suite, cases).write(buf, encoding="utf-8", xml_declaration=True)
    return buf.getvalue()


def write_junit(path, suite: str, cases: list[JunitCase]) -> Path:
    """Write atomically (temporary sibling + rename), so a CI reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempdirs.temp_file(path)
    tmp.write_bytes(junit_text(suite, cases))
    os.replace(tmp, path)
    return path
