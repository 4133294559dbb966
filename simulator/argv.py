"""nanoBragg command-line parsing with the C rules (spec §1.1–§1.12), shared by simulator and harness.

Every token starting with '-' is compared with every option in a fixed order, mostly by substring
(`name in token`), so one token can fire several options (§1.12; the chain is argv_chain.py). Values
are read with C atof/atoi from the following tokens, which are not consumed. An option whose arguments
are missing is skipped silently. Last one wins, side effects (pivot, convention) included. Unknown
tokens are ignored. The result is an `Options` (options.py)."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from .argv_chain import Token, parse_token
from .options import NAN, OPTION_FIELDS, OUTPUT_FIELDS, PARSE_FIELDS, Options

__all__ = ["Options", "parse_argv", "configuration", "line_sensitive", "OPTION_FIELDS", "OUTPUT_FIELDS",
           "PARSE_FIELDS", "NAN"]


def parse_argv(argv: list[str], r1: bool = True) -> Options:
    """Parse a nanoBragg argument vector (without the program name) exactly as the C does.

    `r1` selects the option matching of the C line (quirk C-ARGV-001, spec §12): True = R1 (bl831,
    c_reference's default: `-misset` by substring, `-dump`); False = R2 (the instrumented golden copy:
    exact `-misset`, no `-dump`, `-dump_pixel S F` traces like `-trace_pixel`)."""
    args = ["nanoBragg"] + [str(a) for a in argv]  # C indexing: argv[0] is the program
    argc = len(args)
    v: dict[str, Any] = {}

    def put(**kw):
        v.update(kw)

    # pre-scan (§1.1.1): -img / -mask anywhere in a '-' token, last one wins
    for i in range(1, argc):
        tok = args[i]
        if tok.startswith("-") and argc > i + 1:
            if "-img" in tok:
                put(img_file=args[i + 1])
            if "-mask" in tok:
                put(mask_file=args[i + 1])

    for i in range(1, argc):
        tok = args[i]
        if tok.startswith("-"):
            parse_token(Token(tok, i, args, put), r1)

    given = frozenset(v)
    return replace(Options(), given=given, argv=tuple(args[1:]), r1_matching=bool(r1), **v)


def configuration(opts: Options, ignore=frozenset()) -> dict:
    """The configuration an Options describes: every field except the parse bookkeeping and `ignore`;
    `given` is kept for the remaining fields (a value set explicitly can matter, e.g. for headers)."""
    skip = PARSE_FIELDS | frozenset(ignore)
    out = {f.name: getattr(opts, f.name) for f in fields(Options) if f.name not in skip}
    out["given"] = frozenset(opts.given) - skip
    return out


def line_sensitive(argv: list[str]) -> bool:
    """True when R1 and R2 option matching (C-ARGV-001) parse argv to different configurations."""
    ignore = {"trace_pixel"}  # instrumentation, not configuration
    return (configuration(parse_argv(argv, r1=True), ignore)
            != configuration(parse_argv(argv, r1=False), ignore))
