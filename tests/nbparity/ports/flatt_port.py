"""A stand-in port that implements the injection protocol (docs/injection.md, NBPARITY_INJECT) and has a
deliberate bug: the traced pixel's F_latt has the wrong sign at φ step 3 (mosaic domain 0). It is the
in-repo simulator (quirks c, float64) with its traced-pixel recorder replaced: the bug comes first, the
C's injected values (if any) after, as a port that honours the protocol would do."""

import sys

WRONG_STEP = 3


def main(argv):
    import simulator.kernel as kernel
    from simulator import inject
    from simulator.taps import InjectingTaps

    class WrongSign(InjectingTaps):
        def F_latt(self, c, F_latt):
            F_latt = F_latt.clone()
            F_latt[WRONG_STEP, 0, self.p] = -F_latt[WRONG_STEP, 0, self.p]
            return super().F_latt(c, F_latt)

    kernel.make_taps = lambda p: WrongSign(p, inject.active() or inject.Injection((-1, -1), []))
    from simulator.__main__ import main as simulator_main

    return simulator_main([*argv, "-dtype", "float64", "-quirks", "c"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
