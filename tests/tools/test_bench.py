"""``reactive bench``: the per-stage breakdown (``--stages``) adds up, and the command runs."""

from __future__ import annotations

import numpy as np
import pytest

from reactive.tools.bench import StageTimer
from tests.helpers import ROOT, reactive


class _Worker:
    """On a fake clock: ``outer`` takes 2 ms plus an ``inner`` call (4 ms) inside it."""

    def __init__(self):
        self.now = 0.0

    def inner(self):
        self.now += 0.004

    def outer(self):
        self.now += 0.002
        self.inner()


def test_stage_timer_counts_each_stage_its_own_time():
    worker = _Worker()
    timer = StageTimer(clock=lambda: worker.now)
    timer.wrap(worker, "outer", "outer")
    timer.wrap(worker, "inner", "inner")
    totals = []
    for _ in range(3):
        t = worker.now
        worker.outer()
        worker.inner()
        worker.now += 0.001                       # in no stage: the rest
        totals.append(worker.now - t)
        timer.frame_done()
    assert timer.stages == ["outer", "inner"]
    np.testing.assert_allclose(timer.per_frame() * 1e3, [[2.0, 8.0]] * 3, atol=1e-9)
    lines = timer.table(np.array(totals))
    assert [line.split()[0] for line in lines[1:]] == ["outer", "inner", "the", "total"]
    assert [float(v) for v in lines[-2].split()[-2:]] == [1.0, 1.0]
    assert [float(v) for v in lines[-1].split()[-2:]] == [11.0, 11.0]


@pytest.mark.slow
def test_bench_prints_the_stages_and_the_figure():
    proc = reactive("bench", "-q", "--size", "160", "--frames", "12", "--stages", cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for stage in ("details", "warp: remap", "background: cell sort",
                  "background: edge composite", "mouth interior", "eyes", "the rest", "total"):
        assert stage in out, out
    assert out.strip().splitlines()[-1].startswith("synthesis_fps=")
