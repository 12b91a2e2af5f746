"""benchmarks/readout_seeds.py: the reward's readout across eval seeds, on heavy draws judged together."""

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
SCRIPT = REPO / "benchmarks" / "readout_seeds.py"
CALIBRATION = Path("docs") / "results" / "calibration"
# the committed reports: split -> (its heavy draws, its methods); the first method is reconstruct-8 in each
REPORTS = {"13": (("6000", "7000"), ("reconstruct-8", "adaptive-bn-8")),
           "16": (("6000", "8000"), ("reconstruct-8", "finetune-48"))}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args, "--threads", "1"], capture_output=True, text=True, cwd=cwd)


def read(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_one_eval_seed_is_refused_with_one_line_and_exit_2(tmp_path):
    shutil.copytree(REPO / CALIBRATION, tmp_path / CALIBRATION)
    before = {p.name: p.read_text() for p in (tmp_path / CALIBRATION).iterdir() if p.is_file()}
    done = run(tmp_path, "--split", "13", "--heavy-seeds", "6000", "7000", "--eval-seeds", "3", "3")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "readout_seeds.py: error: --eval-seeds 3 3 is invalid: give two or more different seeds")
    assert {p.name: p.read_text() for p in (tmp_path / CALIBRATION).iterdir() if p.is_file()} == before


def test_a_seed_that_reads_every_design_alike_agrees_fully_and_the_reproduction_is_counted():
    """Made-up rows: eval seed 1 reads every design as seed 0 does, so against seed 0 its reward tau is 1, the error
    and the difference's sd 0; the mean of the two seeds reads the truth as seed 0 does; a committed copy that differs
    in one design counts as all but one equal."""
    from readout_seeds import method_section
    from reward_fidelity import bundled_tiny, heavy_designs

    trained = bundled_tiny(13)
    kept = sorted(set(heavy_designs(trained.config, 6, 6000)))
    rng = np.random.default_rng(0)
    acc = {k: float(rng.uniform(0.1, 0.3)) for k in kept}
    rows = {("m", s, k): {"proxy_accuracy": str(acc[k]), "seconds": "2"} for s in (0, 1) for k in kept}
    truth = {k: a + 0.3 for k, a in acc.items()}
    committed = {**acc, kept[0]: acc[kept[0]] + 0.01}
    text = "\n".join(method_section("m", kept, rows, [0, 1], truth, committed, trained.config, trained.bits_per_symbol))
    assert f"{len(kept) - 1} of {len(kept)} equal proxies.csv's" in text
    agreement = next(line for line in text.splitlines() if line.startswith("| eval seed 1 (sd"))
    assert "sd of the difference 0.0 points" in agreement
    assert agreement.split(" | ")[1].startswith("1.00 [") and agreement.split(" | ")[5] == "0.0"
    seed0 = next(line for line in text.splitlines() if line.startswith("| eval seed 0 |")).split(" | ")[1:]
    mean = next(line for line in text.splitlines() if line.startswith("| the mean of eval seeds 0, 1")).split(" | ")[1:]
    assert mean[1:] == seed0[1:]  # all but the bootstrap interval, which each row seeds by its name


@pytest.mark.parametrize("split", REPORTS)
def test_the_report_is_rebuilt_from_the_committed_rows(tmp_path, split):
    """Nothing to compute: the CSVs stay as committed, the report comes out as committed (but for the line naming
    this invocation), eval seed 0 reproduces proxies.csv's readings as the report says, and each eval seed's accuracy
    tau against the truth is scipy's on the CSVs' rows."""
    from reward_fidelity import bundled_tiny, heavy_designs

    shutil.copytree(REPO / CALIBRATION, tmp_path / CALIBRATION)
    results = tmp_path / CALIBRATION
    before = [(results / name).read_text() for name in ("eval-seeds.csv", "proxies.csv", "truth.csv")]
    draws, methods = REPORTS[split]
    done = run(tmp_path, "--split", split, "--heavy-seeds", *draws, "--methods", *methods, "--eval-seeds", "0", "1", "2")
    assert done.returncode == 0, done.stderr
    assert [(results / name).read_text() for name in ("eval-seeds.csv", "proxies.csv", "truth.csv")] == before
    name = f"eval-seeds-split-{int(split):02d}.md"
    timing = r"This invocation: [^;]*;"
    text = (results / name).read_text()
    assert re.sub(timing, "", text) == re.sub(timing, "", (REPO / CALIBRATION / name).read_text())

    config = bundled_tiny(int(split)).config
    kept = sorted({k for s in draws for k in heavy_designs(config, 12, int(s))})
    seeds = {(r["kept"], r["seed"]): float(r["test_accuracy"]) for r in read(results / "truth.csv")
             if r["split"] == split and r["epochs"] == "10" and r["kept"] in kept}
    truth = [(seeds[(k, "0")] + seeds[(k, "1")]) / 2 for k in kept]
    rows = read(results / "eval-seeds.csv")
    committed = {r["kept"]: r["proxy_accuracy"] for r in read(results / "proxies.csv")
                 if r["split"] == split and r["method"] == "reconstruct-8" and r["kept"] in kept}
    section = text.split("## reconstruct-8")[1].split("\n## ")[0]
    every = {}
    for seed in ("0", "1", "2"):
        acc = every[seed] = {r["kept"]: float(r["proxy_accuracy"]) for r in rows
                             if r["split"] == split and r["method"] == "reconstruct-8" and r["eval_seed"] == seed}
        line = next(line for line in section.splitlines() if line.startswith(f"| eval seed {seed} |"))
        assert line.split(" | ")[2] == f"{kendalltau([acc[k] for k in kept], truth).statistic:.2f}"
        if seed == "0":
            equal = sum(float(committed[k]) == acc[k] for k in kept)
            assert f"{equal} of 24 equal proxies.csv's" in section
    mean = [np.mean([every[s][k] for s in every]) for k in kept]
    line = next(line for line in section.splitlines() if line.startswith("| the mean of eval seeds 0, 1, 2"))
    assert line.split(" | ")[2] == f"{kendalltau(mean, truth).statistic:.2f}"
    assert all(json.loads(r["settings"])["seed"] == int(r["eval_seed"]) for r in rows)
