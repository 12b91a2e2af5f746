"""benchmarks/heavy_pooled.py: several heavy draws at one split, judged together."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import kendalltau

REPO = Path(__file__).parents[1]
SCRIPT = REPO / "benchmarks" / "heavy_pooled.py"
CALIBRATION = Path("docs") / "results" / "calibration"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args, "--threads", "1"], capture_output=True, text=True, cwd=cwd)


def test_a_draw_without_both_truth_seeds_is_refused_with_one_line_and_exit_2(tmp_path):
    shutil.copytree(REPO / CALIBRATION, tmp_path / CALIBRATION)
    before = sorted(p.name for p in (tmp_path / CALIBRATION).iterdir())
    done = run(tmp_path, "--split", "13", "--heavy-seeds", "6000", "123456")
    assert done.returncode == 2
    assert "--heavy-seeds 123456 is invalid at split 13: its draw lacks export truths of seeds 0 and 1" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("heavy_pooled.py: error: --heavy-seeds 123456")
    done = run(tmp_path, "--split", "13", "--heavy-seeds", "6000", "6000")
    assert done.returncode == 2 and "give two or more different seeds" in done.stderr
    assert sorted(p.name for p in (tmp_path / CALIBRATION).iterdir()) == before


def test_a_line_fitted_on_one_draw_is_judged_on_the_other_by_the_rule_for_keeping_a_map():
    """Two made-up draws whose truth is exactly 0.5 x raw + 0.2 on both: the line fitted on either reads the other
    exactly, so it passes both ways. Shift the second draw's truth up by 10 points: each line, exact on the draw it
    was fitted on, reads the other 10 points off, so it misses both ways."""
    from heavy_pooled import cross_draw
    from reward_fidelity import bundled_tiny, heavy_designs

    trained = bundled_tiny(13)
    config, bps = trained.config, trained.bits_per_symbol
    draws = {s: sorted(set(heavy_designs(config, 6, s))) for s in (6000, 7000)}
    rng = np.random.default_rng(0)
    raw = {k: float(rng.uniform(0.1, 0.4)) for kept in draws.values() for k in kept}
    exact = {k: 0.5 * x + 0.2 for k, x in raw.items()}
    judged = cross_draw(draws, exact, raw, config, bps)
    assert [(a, b, ok) for a, b, ok, _ in judged] == [(6000, 7000, True), (7000, 6000, True)]
    assert all("accuracy error 0.0 points" in text for *_, text in judged)
    shifted = {k: v + (0.1 if k in draws[7000] else 0) for k, v in exact.items()}
    judged = cross_draw(draws, shifted, raw, config, bps)
    assert [ok for _, _, ok, _ in judged] == [False, False]
    assert all("accuracy error 10.0 points" in text for *_, text in judged)


def read(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("split, seeds", [("13", ("6000", "7000")), ("16", ("6000", "8000"))])
def test_the_pooled_report_is_rebuilt_from_the_committed_rows(tmp_path, split, seeds):
    """With nothing to compute, the report comes out as committed (but for the line naming this invocation), the CSVs
    are untouched, and its figures are scipy's on the CSVs' rows: the ceiling's accuracy tau (truth seed 1 against
    seed 0 on all 24 designs) and the bar, 0.9 x the ceiling's reward tau, computed here from reward_fidelity.reward."""
    from reward_fidelity import bundled_tiny, heavy_designs, reward

    name = f"heavy-pooled-split-{int(split):02d}.md"
    shutil.copytree(REPO / CALIBRATION, tmp_path / CALIBRATION)
    results = tmp_path / CALIBRATION
    before = [(results / rows).read_text() for rows in ("proxies.csv", "truth.csv")]
    done = run(tmp_path, "--split", split, "--heavy-seeds", *seeds)
    assert done.returncode == 0, done.stderr
    assert [(results / rows).read_text() for rows in ("proxies.csv", "truth.csv")] == before
    text = (results / name).read_text()
    timing = r"This invocation: [^;]*;"
    assert re.sub(timing, "", text) == re.sub(timing, "", (REPO / CALIBRATION / name).read_text())

    trained = bundled_tiny(int(split))
    kept = sorted({k for s in seeds for k in heavy_designs(trained.config, 12, int(s))})
    assert len(kept) == 24
    seeds = {(r["kept"], r["seed"]): float(r["test_accuracy"]) for r in read(results / "truth.csv")
             if r["split"] == split and r["epochs"] == "10" and r["kept"] in kept}
    s0, s1 = ([seeds[(k, s)] for k in kept] for s in ("0", "1"))
    cells = next(line for line in text.splitlines() if line.startswith("| truth seed 1 |")).split(" | ")
    assert cells[2] == f"{kendalltau(s1, s0).statistic:.2f}"
    rewards = [[reward(trained.config, json.loads(k), a, trained.bits_per_symbol) for k, a in zip(kept, s)]
               for s in (s0, s1)]
    ceiling = kendalltau(rewards[1], rewards[0]).statistic
    assert f"= {0.9 * ceiling:.2f} (reward tau on all 24 designs" in text
