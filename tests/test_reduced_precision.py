"""benchmarks/reduced_precision.py: the bfloat16 path really computes in bfloat16, the float32 path is the env's own
evaluation, and the committed report is what its committed rows say."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import torch
from scipy.stats import kendalltau


def test_bfloat16_runs_the_convolutions_in_bfloat16_and_float32_is_the_envs_evaluation():
    """A hook on the first convolution sees bfloat16 outputs under the bfloat16 path (in the fine-tune and in the
    accuracy) and float32 under the other, whose accuracy is exactly Evaluator.evaluate's outside any autocast."""
    from reduced_precision import read
    from reward_fidelity import bundled_tiny
    from search_proxies import designs, heavy_pooled

    from coinfer_env.data import load_subset
    from coinfer_env.evaluation import EvalSettings, Evaluator

    trained, data = bundled_tiny(16), load_subset()
    kept = json.loads(heavy_pooled(designs(trained.config, 16))[0])
    evaluator = Evaluator(trained, data.train, data.val, EvalSettings("finetune", steps=2))
    seen: list[torch.dtype] = []
    # the pruned network is built anew from the trained one, so the class's forward is wrapped to see its layers run
    original = torch.nn.Conv2d.forward

    def forward(self, x):
        out = original(self, x)
        seen.append(out.dtype)
        return out

    torch.nn.Conv2d.forward = forward
    try:
        acc32, seconds = read(evaluator, kept, "float32")
        dtypes32, seen[:] = set(seen), []
        acc16, _ = read(evaluator, kept, "bfloat16")
        dtypes16 = set(seen)
    finally:
        torch.nn.Conv2d.forward = original
    assert dtypes32 == {torch.float32} and dtypes16 == {torch.bfloat16}
    assert acc32 == evaluator.evaluate(kept)[0].accuracy and seconds > 0
    assert 0 <= acc16 <= 1


def test_the_report_only_run_rebuilds_the_committed_report_from_the_committed_rows():
    """``--report-only`` writes nothing and prints the committed report, line for line but the command line (which
    carries the measuring run's seconds); its float32 accuracy tau is scipy's on the CSV against the export truth."""
    repo = Path(__file__).parents[1]
    results = repo / "docs" / "results" / "calibration"
    before = (results / "reduced-precision.csv").read_text()
    done = subprocess.run([sys.executable, str(repo / "benchmarks" / "reduced_precision.py"), "--report-only",
                           "--threads", "1"], capture_output=True, text=True, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert (results / "reduced-precision.csv").read_text() == before
    committed = (results / "reduced-precision-split-16.md").read_text().splitlines()
    printed = done.stdout.splitlines()[: len(committed)]
    assert [line for line in printed if not line.startswith("Command:")] == [
        line for line in committed if not line.startswith("Command:")]
    with (results / "reduced-precision.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["precision"] == "float32"]
    with (results / "truth.csv").open() as f:
        truth = {r["kept"]: float(r["test_accuracy"]) for r in csv.DictReader(f)
                 if r["split"] == "16" and r["epochs"] == "10" and r["seed"] == "0"}
    rows.sort(key=lambda r: r["kept"])
    tau = kendalltau([float(r["accuracy"]) for r in rows], [truth[r["kept"]] for r in rows]).statistic
    row = next(line for line in committed if line.startswith("| finetune-48, float32 |"))
    assert row.split(" | ")[2] == f"{tau:.2f}"


def test_too_few_designs_is_refused_with_one_line_and_exit_2():
    repo = Path(__file__).parents[1]
    done = subprocess.run([sys.executable, str(repo / "benchmarks" / "reduced_precision.py"), "--designs", "2"],
                          capture_output=True, text=True, cwd=repo)
    assert done.returncode == 2 and "--designs 2 is invalid: give 3 or more" in done.stderr
