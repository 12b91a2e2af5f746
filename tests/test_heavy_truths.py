"""benchmarks/heavy_truths.py: export truths of the heavy draw, and the noise ceiling of two truth seeds there."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import kendalltau

REPO = Path(__file__).parents[1]
SCRIPT = REPO / "benchmarks" / "heavy_truths.py"
SPLITS = (13, 16)  # the splits whose heavy draw has truth seeds 0 and 1 (docs/environment.md)


def test_a_fine_tunes_own_noise_is_the_seeds_difference_over_root_two():
    from heavy_truths import spread_text

    first = np.array([0.50, 0.60, 0.70, 0.40])
    second = first + np.array([0.02, -0.02, 0.02, -0.02])  # the difference's sd is 0.02 exactly
    text = spread_text(first, second)
    assert f"is {100 * 0.02 / 2**0.5:.1f} points" in text  # 1.4
    assert f"seed 0 spreads {100 * np.sqrt(np.mean((first - first.mean()) ** 2)):.1f} points" in text


def truths(path: Path, split: int, seed: int) -> dict[str, float]:
    with path.open() as f:
        return {r["kept"]: float(r["test_accuracy"]) for r in csv.DictReader(f)
                if r["split"] == str(split) and r["epochs"] == "10" and r["seed"] == str(seed)}


@pytest.mark.parametrize("split", SPLITS)
def test_the_ceiling_report_is_rebuilt_from_the_committed_truths(tmp_path, split):
    """In a copy of the results every truth of both seeds and every raw ``finetune-128`` accuracy of the draw is
    committed: nothing is measured or appended, the report comes out as committed, and its seed-1 row (against seed
    0) and ``finetune-128``'s (against the two seeds' mean) are scipy's tau and the mean error, from the CSVs."""
    shutil.copytree(REPO / "docs" / "results" / "calibration", tmp_path / "docs" / "results" / "calibration")
    results = tmp_path / "docs" / "results" / "calibration"
    before = [(results / name).read_text() for name in ("proxies.csv", "truth.csv")]
    done = subprocess.run([sys.executable, str(SCRIPT), "--splits", str(split), "--truth-seeds", "0", "1", "--methods",
                           "finetune-128", "--threads", "1"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [(results / name).read_text() for name in ("proxies.csv", "truth.csv")] == before
    name = f"heavy-ceiling-split-{split:02d}.md"
    timing = r"This invocation: [^;]*;"  # the machine, threads and seconds of the run, not of the truths
    assert (re.sub(timing, "", (results / name).read_text())
            == re.sub(timing, "", (REPO / "docs" / "results" / "calibration" / name).read_text()))

    from reward_fidelity import bundled_tiny, heavy_designs

    kept = set(heavy_designs(bundled_tiny(split).config, 12, 6000))
    s0, s1 = ({k: v for k, v in truths(results / "truth.csv", split, seed).items() if k in kept} for seed in (0, 1))
    assert len(s0) == len(s1) == 12
    order = sorted(kept)
    row = next(line for line in (results / name).read_text().splitlines() if line.startswith("| truth seed 1 |"))
    cells = row.split(" | ")
    assert cells[2] == f"{kendalltau([s1[k] for k in order], [s0[k] for k in order]).statistic:.2f}"
    assert cells[5] == f"{100 * np.mean([abs(s1[k] - s0[k]) for k in order]):.1f}"
    with (results / "proxies.csv").open() as f:
        raw = {r["kept"]: float(r["proxy_accuracy"]) for r in csv.DictReader(f)
               if r["split"] == str(split) and r["method"] == "finetune-128" and r["kept"] in kept}
    row = next(line for line in (results / name).read_text().splitlines() if line.startswith("| raw finetune-128 |"))
    mean = [(s0[k] + s1[k]) / 2 for k in order]
    assert row.split(" | ")[2] == f"{kendalltau([raw[k] for k in order], mean).statistic:.2f}"

    # the within-draw bound: each design left out in turn, by numpy directly
    text = (results / name).read_text()
    others = [np.mean(np.delete(mean, i)) for i in range(len(mean))]
    assert f"| none (each design at the mean of the others) | {100 * np.mean(np.abs(np.subtract(mean, others))):.1f} |" in text
    x = np.array([raw[k] for k in order])
    line = []
    for i in range(len(x)):
        slope, intercept = np.polyfit(np.delete(x, i), np.delete(mean, i), 1)
        line.append(abs(max(slope, 1e-3) * x[i] + intercept - mean[i]))
    assert f"| raw finetune-128 | {100 * np.mean(line):.1f} |" in text


def test_a_second_draws_ceiling_report_has_its_own_name_and_is_rebuilt_from_the_committed_truths(tmp_path):
    """Split 16's heavy draw of seed 8000 has truth seeds 0 and 1 too: its report is heavy-ceiling-split-16-seed8000.md
    (seed 6000's stays as committed), it comes out as committed with nothing measured, and its seed-1 row is scipy's
    tau and the mean error of the CSVs' rows."""
    shutil.copytree(REPO / "docs" / "results" / "calibration", tmp_path / "docs" / "results" / "calibration")
    results = tmp_path / "docs" / "results" / "calibration"
    before = {p.name: p.read_text() for p in results.iterdir()
              if p.is_file() and p.name != "heavy-ceiling-split-16-seed8000.md"}
    done = subprocess.run([sys.executable, str(SCRIPT), "--splits", "16", "--heavy-seed", "8000", "--truth-seeds", "0",
                           "1", "--threads", "1"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert {p.name: p.read_text() for p in results.iterdir() if p.name in before} == before
    name = "heavy-ceiling-split-16-seed8000.md"
    timing = r"This invocation: [^;]*;"
    text = (results / name).read_text()
    assert re.sub(timing, "", text) == re.sub(timing, "", (REPO / "docs" / "results" / "calibration" / name).read_text())
    assert "--heavy-seed 8000`" in text

    from reward_fidelity import bundled_tiny, heavy_designs

    kept = sorted(set(heavy_designs(bundled_tiny(16).config, 12, 8000)))
    s0, s1 = ({k: v for k, v in truths(results / "truth.csv", 16, seed).items() if k in kept} for seed in (0, 1))
    assert len(s0) == len(s1) == 12
    cells = next(line for line in text.splitlines() if line.startswith("| truth seed 1 |")).split(" | ")
    assert cells[2] == f"{kendalltau([s1[k] for k in kept], [s0[k] for k in kept]).statistic:.2f}"
    assert cells[5] == f"{100 * np.mean([abs(s1[k] - s0[k]) for k in kept]):.1f}"
