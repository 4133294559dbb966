"""One place that decides how wide reports are: a terminal keeps its width; logs, pipes and CI get a
width at which full-precision (%.17g) numbers never fold or get cut."""

from __future__ import annotations

LOG_WIDTH = 220


def make_console(stderr: bool = False):
    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=LOG_WIDTH)
    return console
