"""One place that decides how wide reports are: a terminal keeps its width; logs, pipes and CI get a
width at which full-precision (%.17g) numbers never fold or get cut."""

from __future__ import annotations

LOG_WIDTH = 220


def make_console(stderr: bool = False):
    from rich.console import Console

    class QuietPipeConsole(Console):
        def on_broken_pipe(self) -> None:
            # rich exits 1 here; the CLI keeps the verdict's exit code instead (nbparity.cli)
            raise BrokenPipeError()

    console = QuietPipeConsole(stderr=stderr)
    if not console.is_terminal:
        console = QuietPipeConsole(stderr=stderr, width=LOG_WIDTH)
    return console
