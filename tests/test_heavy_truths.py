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


CALIBRATION = Path("docs") / "results" / "calibration"


def rebuilt(tmp_path: Path, name: str, *args: str) -> tuple[Path, str]:
    """Run the script on a copy of the committed results: nothing is measured or appended, and the report ``name``
    comes out as committed (but for the line naming this invocation). Returns the copy's folder and the report."""
    shutil.copytree(REPO / CALIBRATION, tmp_path / CALIBRATION)
    results = tmp_path / CALIBRATION
    before = [(results / rows).read_text() for rows in ("proxies.csv", "truth.csv")]
    done = subprocess.run([sys.executable, str(SCRIPT), *args, "--threads", "1"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [(results / rows).read_text() for rows in ("proxies.csv", "truth.csv")] == before
    text = (results / name).read_text()
    timing = r"This invocation: [^;]*;"  # the machine, threads and seconds of the run, not of the truths
    assert re.sub(timing, "", text) == re.sub(timing, "", (REPO / CALIBRATION / name).read_text())
    return results, text


def draw_truths(results: Path, split: int, seed: int) -> tuple[list[str], dict[str, float], dict[str, float]]:
    """The heavy draw of ``seed`` at ``split`` (sorted JSON kept vectors) and its truths of seeds 0 and 1."""
    from reward_fidelity import bundled_tiny, heavy_designs

    kept = sorted(set(heavy_designs(bundled_tiny(split).config, 12, seed)))
    s0, s1 = ({k: v for k, v in truths(results / "truth.csv", split, s).items() if k in kept} for s in (0, 1))
    assert len(s0) == len(s1) == 12
    return kept, s0, s1


def assert_seed_one_row(text: str, kept: list[str], s0: dict[str, float], s1: dict[str, float]) -> None:
    """The report's seed-1 row (against seed 0) holds scipy's accuracy tau and the mean error, from the CSVs."""
    cells = next(line for line in text.splitlines() if line.startswith("| truth seed 1 |")).split(" | ")
    assert cells[2] == f"{kendalltau([s1[k] for k in kept], [s0[k] for k in kept]).statistic:.2f}"
    assert cells[5] == f"{100 * np.mean([abs(s1[k] - s0[k]) for k in kept]):.1f}"


@pytest.mark.parametrize("split", SPLITS)
def test_the_ceiling_report_is_rebuilt_from_the_committed_truths(tmp_path, split):
    """In a copy of the results every truth of both seeds and every raw ``finetune-128`` accuracy of the draw is
    committed: nothing is measured or appended, the report comes out as committed, and its seed-1 row (against seed
    0) and ``finetune-128``'s (against the two seeds' mean) are scipy's tau and the mean error, from the CSVs."""
    name = f"heavy-ceiling-split-{split:02d}.md"
    results, text = rebuilt(tmp_path, name, "--splits", str(split), "--truth-seeds", "0", "1", "--methods",
                            "finetune-128")
    order, s0, s1 = draw_truths(results, split, 6000)
    assert_seed_one_row(text, order, s0, s1)
    kept = set(order)
    with (results / "proxies.csv").open() as f:
        raw = {r["kept"]: float(r["proxy_accuracy"]) for r in csv.DictReader(f)
               if r["split"] == str(split) and r["method"] == "finetune-128" and r["kept"] in kept}
    row = next(line for line in text.splitlines() if line.startswith("| raw finetune-128 |"))
    mean = [(s0[k] + s1[k]) / 2 for k in order]
    assert row.split(" | ")[2] == f"{kendalltau([raw[k] for k in order], mean).statistic:.2f}"

    # the within-draw bound: each design left out in turn, by numpy directly
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
    name = "heavy-ceiling-split-16-seed8000.md"
    results, text = rebuilt(tmp_path, name, "--splits", "16", "--heavy-seed", "8000", "--truth-seeds", "0", "1")
    others = {p.name: p.read_text() for p in (REPO / CALIBRATION).iterdir() if p.is_file() and p.name != name}
    assert {p.name: p.read_text() for p in results.iterdir() if p.name in others} == others
    assert "--heavy-seed 8000`" in text
    assert_seed_one_row(text, *draw_truths(results, 16, 8000))


def test_the_plane_with_the_encoders_width_is_judged_leave_one_out():
    """The plane's leave-one-out error equals the closed form for least squares, the mean of |e_i / (1 - h_ii)|
    over the full fit's residuals e and hat matrix h; an exact plane reads every left-out design exactly."""
    from heavy_truths import plane_loo_error

    rng = np.random.default_rng(0)
    x, width = rng.uniform(0.1, 0.3, 12), rng.uniform(0, 0.5, 12)
    y = 0.4 + 0.8 * x - 0.1 * width + rng.normal(0, 0.02, 12)
    design = np.c_[x, width, np.ones(12)]
    hat = design @ np.linalg.inv(design.T @ design) @ design.T
    residual = y - hat @ y
    assert plane_loo_error(list(x), list(width), list(y)) == pytest.approx(np.mean(np.abs(residual / (1 - np.diag(hat)))))
    assert plane_loo_error(list(x), list(width), list(0.4 + 0.8 * x - 0.1 * width)) == pytest.approx(0, abs=1e-12)
