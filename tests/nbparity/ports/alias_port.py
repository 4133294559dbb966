"""A stand-in port that prints another build's key names: the in-repo simulator, with its per-φ lines
spelled as the K3e instructions spell them (`φ_tic=`, `k=`, declared in traces/aliases.toml).

    python alias_port.py <nanoBragg args>
"""

import contextlib
import io
import re
import sys

RENAMES = ((re.compile(r"\bphi_tic="), "φ_tic="), (re.compile(r"\bk_frac="), "k="))


def main(argv):
    from simulator.__main__ import main as simulator_main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = simulator_main(argv)
    for line in buf.getvalue().splitlines():
        if line.startswith("TRACE_PY_PHI"):
            for rx, new in RENAMES:
                line = rx.sub(new, line)
        print(line)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
