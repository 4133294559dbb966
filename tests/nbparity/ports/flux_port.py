"""A stand-in port that gets the fluence wrong: it scales every -flux value by 1.5 before running the
in-repo simulator (quirks c, float64). `compare --prove` must find that giving -fluence fixes it."""

import sys

SCALE = 1.5


def main(argv):
    argv = list(argv)
    for i, tok in enumerate(argv[:-1]):
        if tok == "-flux":
            argv[i + 1] = repr(float(argv[i + 1]) * SCALE)
    from simulator.__main__ import main as simulator_main

    return simulator_main([*argv, "-dtype", "float64", "-quirks", "c"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
