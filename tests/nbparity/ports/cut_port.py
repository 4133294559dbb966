"""A stand-in for a broken port whose trace stops half way: the in-repo simulator (quirks c, float64)
renders the full image, but its stdout is cut after the first line that prints hkl_frac, as a port that
crashes or stops printing mid-pixel would leave it.

    python cut_port.py <nanoBragg args>
"""

import contextlib
import io
import sys


def main(argv):
    from simulator.__main__ import main as simulator_main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = simulator_main([*argv, "-dtype", "float64", "-quirks", "c"])
    for line in buf.getvalue().splitlines():
        print(line)
        if "hkl_frac" in line:
            break
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
