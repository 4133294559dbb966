"""Stand-ins for ports that go wrong: `python bad_port.py MODE <nanoBragg args>`.

crash  prints part of a trace, then dies by SIGSEGV
hang   never finishes (sleeps; the harness's timeout must end it)
silent runs "successfully" and prints no trace
exit9  rejects its input with usage text and exit 9 (as nanoBragg does)
"""

import os
import signal
import sys
import time


def main(mode):
    print("bad_port: starting", flush=True)
    if mode == "crash":
        print("TRACE_PY: pix0_vector_meters 0.1 0.05 -0.05", flush=True)
        os.kill(os.getpid(), signal.SIGSEGV)
    elif mode == "hang":
        time.sleep(600)
    elif mode == "silent":
        print("  done.")
        return 0
    elif mode == "exit9":
        print("usage: bad_port MODE <nanoBragg args>")
        return 9
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
