"""benchmarks/ceiling_map.py: a FLOPs ceiling on a calibration map, judged on heavily pruned designs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).parents[1]
SCRIPT = REPO / "benchmarks" / "ceiling_map.py"


def test_the_ceiling_is_the_best_truth_of_any_network_that_costs_no_more():
    from ceiling_map import Candidate, ceiling

    rng = np.random.default_rng(0)
    f = rng.choice([0.2, 0.25, 0.3, 0.4, 0.5], 30).tolist()  # repeated fractions, as designs share costs
    truth = rng.uniform(0.3, 0.8, 30).tolist()
    xs, ys = ceiling(f, truth)
    assert xs.tolist() == sorted(set(f))
    for x, y in zip(xs, ys):  # the oracle, by brute force
        assert y == max(t for g, t in zip(f, truth) if g <= x)
    capped = Candidate.fit(truth, f, truth, capped=True)  # iso of the truth on itself: the identity on its knots
    plain = Candidate.fit(truth, f, truth, capped=False)
    for raw, frac in ((0.75, 0.2), (0.4, 0.5), (0.6, 0.35)):
        assert capped(raw, frac) == pytest.approx(min(plain(raw, frac), float(np.interp(frac, xs, ys))))


def test_the_report_reads_the_committed_rows_and_computes_nothing_new(tmp_path):
    """In a copy of the results every row is committed: nothing is appended, and the report judges the candidate and
    the (withdrawn) shipped map on the 12 heavy designs."""
    for part in ("calibration", "reward_fidelity", "deployed_best"):
        shutil.copytree(REPO / "docs" / "results" / part, tmp_path / "docs" / "results" / part)
    results = tmp_path / "docs" / "results" / "calibration"
    before = [(results / name).read_text() for name in ("proxies.csv", "truth.csv")]
    done = subprocess.run([sys.executable, str(SCRIPT), "--threads", "1"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [(results / name).read_text() for name in ("proxies.csv", "truth.csv")] == before
    text = (results / "ceiling-split-13.md").read_text()
    committed = (REPO / "docs" / "results" / "calibration" / "ceiling-split-13.md").read_text()
    assert re.sub(r"this invocation: \d+ s", "", text) == re.sub(r"this invocation: \d+ s", "", committed)
    verdicts = [line for line in text.splitlines() if line.startswith("| heavy (verdict) | 12 |")]
    assert len(verdicts) == 5 and verdicts[-1].endswith("| misses |") and "(candidate)" in verdicts[-1]
