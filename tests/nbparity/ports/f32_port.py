"""A stand-in port that holds -distance in float32: it rounds the value to float32 before running the
in-repo simulator (quirks c, float64). compare names it ("the port appears to hold -distance in float32")."""

import sys

import numpy as np


def main(argv):
    argv = list(argv)
    for i, tok in enumerate(argv[:-1]):
        if tok == "-distance":
            argv[i + 1] = repr(float(np.float32(float(argv[i + 1]))))
    from simulator.__main__ import main as simulator_main

    return simulator_main([*argv, "-dtype", "float64", "-quirks", "c"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
