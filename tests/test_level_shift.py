"""benchmarks/level_shift.py: a constant shift of the raw accuracy, screened on committed rows at split 13."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).parents[1]
CALIBRATION = Path("docs") / "results" / "calibration"


def test_the_shift_that_closes_the_gap_orders_the_rewards_exactly_and_clipping_is_counted():
    """Made-up truths exactly 30 points above the raw accuracy: read at raw + 0.3 the rewards are the deployed ones,
    so their tau is 1, where the raw level orders them worse; raw + 0.8 clips every design whose raw accuracy is at least 0.2."""
    from level_shift import clipped, shifted_tau
    from reward_fidelity import bundled_tiny, heavy_designs

    trained = bundled_tiny(13)
    kept = sorted(set(heavy_designs(trained.config, 12, 6000)))
    raw = dict(zip(kept, np.linspace(0.1, 0.4, len(kept)).tolist()))
    truth = {k: a + 0.3 for k, a in raw.items()}
    assert shifted_tau(kept, raw, truth, 0.3, trained.config, trained.bits_per_symbol) == pytest.approx(1.0)
    assert shifted_tau(kept, raw, truth, 0.0, trained.config, trained.bits_per_symbol) < 0.99  # the level reorders some
    assert clipped(kept, raw, 0.8) == f" ({sum(a >= 0.2 for a in raw.values())} at 1)"
    assert clipped(kept, raw, 0.0) == ""


def cell(path: Path, row: str) -> str:
    """The reward-tau cell (its point estimate) of the table row that starts with ``row``."""
    line = next(line for line in path.read_text().splitlines() if line.startswith(row))
    return line.split(" | ")[1].split(" ")[0]


def test_the_report_is_rebuilt_and_its_unshifted_column_is_the_other_reports_raw_figure(tmp_path):
    """Computing nothing, the report comes out as committed (but for its invocation), and its +0 column for the default
    equals what two other scripts computed for the raw default on the same designs and truths: heavy_pooled.py on the
    heavy designs and ground_truth_check.py on the broad panel."""
    shutil.copytree(REPO / "docs" / "results", tmp_path / "docs" / "results")
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "level_shift.py")], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    name = "level-shift-split-13.md"
    timing = r"This invocation: [^,]*, \d+ s,"
    text = (tmp_path / CALIBRATION / name).read_text()
    assert re.sub(timing, "", text) == re.sub(timing, "", (REPO / CALIBRATION / name).read_text())
    default = text.split("## reconstruct-8")[1].split("\n## ")[0]
    shifted = {line.split(" | ")[0]: line.split(" | ")[2] for line in default.splitlines() if line.startswith("| ")}
    assert shifted["| heavy, seeds 6000 and 7000 (24)"] == cell(REPO / CALIBRATION / "heavy-pooled-split-13.md",
                                                                "| raw reconstruct-8 |")
    broad = (REPO / "docs" / "results" / "reward_fidelity" / "ground_truth_check.md").read_text()
    broad = broad.split("## The broad panel")[1].split("\n## ")[0]
    row = next(line for line in broad.splitlines() if line.startswith("| proxy reconstruct-8 |"))
    assert shifted["| broad panel (16)"] == row.split(" | ")[1].split(" ")[0]
