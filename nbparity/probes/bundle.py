"""The probe bundle: request.json, metrics.json (kind "probe"), env.json, commands.txt (the shared
writers), summary.md, the probe's tables / figure / raw outputs, report.html; named
`<stamp>_<case>_<S>-<F>_<probe>`."""

from __future__ import annotations

import socket
import time


def summary_markdown(result) -> str:
    from nbparity.write.compare_text import sides_line
    from nbparity.write.textfmt import summary_head

    m = result.to_metrics()
    req = result.request
    out = summary_head(f"probe {req.probe}", result, m, [f"pixel: slow {req.slow}, fast {req.fast}",
                                                         sides_line(m)])
    out += ["", *result.summary, ""]
    return "\n".join(out)


def write_probe_bundle(result, session):
    """Write the bundle of a probe; returns its path."""
    from nbparity.bundle import bundle_name, write_bundle
    from nbparity.write.htmlreport import add_report
    from nbparity.write.common import common_files

    req = result.request
    metrics = result.to_metrics()
    metrics["volatile"] = {"timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "host": socket.gethostname(), "workdir": str(session.work),
                           "case_argv": session.case_argv}
    files = common_files(req, metrics, result.side_commands, build=getattr(session.c_resolved, "build", None))
    files.update(result.files)
    files["summary.md"] = summary_markdown(result)
    name = f"{bundle_name(result.case.name if result.case else 'case', req.slow, req.fast)}_{req.probe}"
    return write_bundle(req.output.out, name, add_report(files))
