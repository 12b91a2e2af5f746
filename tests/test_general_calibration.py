"""benchmarks/general_calibration.py: one calibration map for every split point, judged on committed rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coinfer_env.architecture import SplitConfig, full_kept

REPO = Path(__file__).parents[1]
SCRIPT = REPO / "benchmarks" / "general_calibration.py"


@pytest.fixture(scope="module")
def gc():
    import general_calibration
    return general_calibration


def synthetic(gc, split: int, anchor: float, h, raws: list[float]):
    """A split whose calibration networks deploy at exactly ``anchor + h(raw - anchor)``."""
    config = SplitConfig(8, split)
    kept = [json.dumps([i]) for i in range(len(raws))]
    raw = dict(zip(kept, raws)) | {json.dumps(full_kept(config)): anchor}
    truth = {k: anchor + h(r - anchor) for k, r in zip(kept, raws)}
    return gc.Split(split, config, 8, {"calibration": kept}, raw, truth, "")


def test_the_shift_candidate_transfers_a_shared_drop_to_an_unseen_split_and_pooled_does_not(gc):
    h = lambda d: 0.1 + 0.5 * d  # noqa: E731  the deployed drop, shared by every split: rising, so isotonic keeps it
    grid = list(np.linspace(0.15, 0.6, 10))
    seen = [synthetic(gc, s, a, h, grid) for s, a in ((4, 0.5), (7, 0.6))]
    unseen = synthetic(gc, 13, 0.7, h, [0.45, 0.5, 0.55])  # raw - a within the seen splits' range of raw - a
    kept = unseen.panels["calibration"]
    for name, within in (("shift", 1e-9), ("pooled", None)):
        read = gc.predict(gc.fit(seen, gc.CANDIDATES[name]), gc.CANDIDATES[name], unseen, kept)
        error = max(abs(r - unseen.truth[k]) for r, k in zip(read, kept))
        if within is not None:
            assert error < within  # linear between knots, and h is linear: exact
        else:
            assert error > 0.01  # raw alone cannot tell the splits apart


def test_the_committed_report_is_rederived_from_the_committed_rows(tmp_path):
    out = tmp_path / "general.md"
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == (REPO / "docs" / "results" / "calibration" / "general.md").read_text()


def test_rows_the_report_does_not_read_leave_it_unchanged(tmp_path):
    """fit_calibration appends rows at a split as new designs are fitted; the report counts only the rows of the
    networks it reads, so a row for any other network (here one more raw accuracy and truth at split 7) must leave
    it byte for byte as committed (an earlier version counted every row of the split, and CI caught the drift)."""
    import csv
    import shutil

    for part in ("calibration", "reward_fidelity"):
        shutil.copytree(REPO / "docs" / "results" / part, tmp_path / "docs" / "results" / part)
    kept = json.dumps([1] * 16)  # one channel a layer: in no panel
    for name, row in (("proxies.csv", {"split": 7, "method": "reconstruct-8", "kept": kept, "proxy_accuracy": 0.1,
                                       "seconds": 1}),
                      ("truth.csv", {"split": 7, "kept": kept, "epochs": 10, "seed": 0, "test_accuracy": 0.1,
                                     "seconds": 1})):
        path = tmp_path / "docs" / "results" / "calibration" / name
        with path.open() as f:
            fields = next(csv.reader(f))
        with path.open("a", newline="") as f:
            csv.DictWriter(f, fieldnames=fields).writerow(row)
    out = tmp_path / "general.md"
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == (REPO / "docs" / "results" / "calibration" / "general.md").read_text()
