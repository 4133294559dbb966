"""simulator/cpu_memory.py: a render's chunks reuse freed memory instead of faulting it in again.

mallopt is process-wide, so each measurement runs in a fresh interpreter."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import resource, sys, torch
import simulator.kernel as K
from tests.simulator.kernel_fixtures import toy_setup
if sys.argv[1] == "off":
    K.reuse_freed_memory = lambda: False
s = toy_setup(n=256, pixel=1e-3, phisteps=10, phistep=1e-4, osc=1e-3)
K.render(s, dtype=torch.float32, chunk_pixels=4096)          # the first render grows the heap
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
K.render(s, dtype=torch.float32, chunk_pixels=4096)          # 16 chunks of ~10 MB of work tensors
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode):
    out = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_second_render_reuses_the_heap():
    off, on = _faults("off"), _faults("on")
    # measured: ~10 000 minor faults with glibc's defaults, ~900 with the thresholds raised
    assert off > 4000, off
    assert on < off / 4, (on, off)
