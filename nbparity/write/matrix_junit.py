"""The matrix's JUnit XML: one testcase per run (nbparity.write.junit decides pass, failure or error from the
run's verdict)."""

from __future__ import annotations

from nbparity.write.junit import JunitCase, interrupted_case, junit_text, write_junit


def junit_cases(result) -> list[JunitCase]:
    strict = result.request.judge.strict
    cases = []
    for o in result.outcomes:
        details = [f"verdict: {o['verdict']} — {o['reason']}", f"argv: {' '.join(o['argv'])}",
                   f"quirks={o['quirks']} dtype={o['dtype']} device={o['device']}", o["details"]]
        if o["volatile"].get("bundle"):
            details.append(f"bundle: {o['volatile']['bundle']}")
        cases.append(JunitCase(o["id"], o["run"], o["volatile"].get("time_s", 0.0), o["verdict"], o["reason"],
                               "\n".join(d for d in details if d), strict))
    return cases


def suite_name(result) -> str:
    return f"nbparity matrix {result.name}"


def write_matrix_junit(result, path, interrupted: int = 0):
    """`interrupted`: how many runs did not run (Ctrl-C, SIGTERM); they end the suite as one error."""
    cases = junit_cases(result) + ([interrupted_case(interrupted)] if interrupted else [])
    return write_junit(path, suite_name(result), cases)


def matrix_junit_bytes(result) -> bytes:
    return junit_text(suite_name(result), junit_cases(result))
