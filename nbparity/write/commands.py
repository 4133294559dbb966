"""The one commands.txt generator: every bundle kind re-runs its own request.json with `nbparity rerun`,
so re-running a bundle gives the same verdict (and exit code); the commands each side ran are listed as
comments for people who want to run them by hand."""

from __future__ import annotations

import shlex
import sys


def commands_txt(kind: str, side_commands: dict) -> str:
    """`side_commands`: label -> argv list (e.g. {"C": [...], "torch": [...]}) shown as comments."""
    py = shlex.quote(sys.executable)
    lines = ["#!/usr/bin/env bash",
             f"# Re-runs this {kind} bundle's request (request.json beside this file): the same case, sides",
             "# and judging; exits with the verdict's code. Usage: bash commands.txt [OUT]",
             "# (the new bundle goes to OUT, default a new temporary folder).",
             "set -euo pipefail",
             'HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
             'OUT="${1:-$(mktemp -d)}"',
             f'{py} -m nbparity rerun "$HERE/request.json" --out "$OUT"', ""]
    if side_commands:
        lines.append("# What each side ran (in its own work folder, with the case's input files):")
        for label, argv in side_commands.items():
            if argv:
                lines.append(f"#   {label}: {shlex.join(str(a) for a in argv)}")
        lines.append("")
    return "\n".join(lines)
