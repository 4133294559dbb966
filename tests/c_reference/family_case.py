"""The small traced case the option-family tests (test_detector_families.py,
test_crystal_and_beam_families.py) start from: a 24x24 detector whose pixel (S, F) is traced."""

S, F = 14, 12  # traced pixel: slow, fast
BASE = ["-cell", 70, 80, 90, 85, 95, 100, "-N", 5, "-detpixels", 24, "-pixel", 0.1,
        "-distance", 50, "-lambda", 1.2, "-oversample", 1, "-nonoise", "-nopgm",
        "-trace_pixel", S, F]
