"""A stand-in for a user's own port: the in-repo simulator behind a command line of its own, with one
switch per emulated C quirk (as a real port would have), combined into the simulator's -quirks mode.

    python quirk_port.py <nanoBragg args> [--phi-carryover] [--pix0-quirk] [--version]
"""

import sys

SWITCHES = {"--phi-carryover": "C-PARITY-001", "--pix0-quirk": "C-PIX0-001"}


def main(argv):
    if argv == ["--version"]:
        print("quirk_port 1.0 (stand-in over simulator)")
        return 0
    quirks = [SWITCHES[a] for a in argv if a in SWITCHES]
    rest = [a for a in argv if a not in SWITCHES]
    from simulator.__main__ import main as simulator_main

    return simulator_main([*rest, "-dtype", "float64", "-quirks", ",".join(["spec", *(f"+{q}" for q in quirks)])])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
