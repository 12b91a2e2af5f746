"""benchmarks/readout_screen.py: its readouts against independent oracles (the env's own accuracy, torch's losses)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch.nn.functional as F
from scipy.stats import kendalltau


def test_readouts_match_the_envs_accuracy_and_torchs_losses():
    """On a heavy split-13 design rebuilt with adaptive-bn-8: the accuracy is exactly what Evaluator.evaluate (the
    env's path) reads, the loss is F.cross_entropy's, the KL is F.kl_div's and positive, and the unpruned network's KL
    to itself is 0."""
    from readout_screen import heavy, logits, readouts
    from reward_fidelity import PROXIES, bundled_tiny

    from coinfer_env.data import load_subset
    from coinfer_env.evaluation import Evaluator

    trained, data = bundled_tiny(13), load_subset()
    kept = json.loads(heavy(trained.config, 13)[0])
    ev = Evaluator(trained, data.train, data.val, PROXIES["adaptive-bn-8"])
    teacher = logits(trained, ev.val, 1)
    student = logits(ev.build(kept)[0], ev.val, 1)
    out = readouts(student, teacher, ev.val.labels)
    assert out["accuracy"] == ev.evaluate(kept)[0].accuracy
    assert out["val_loss"] == pytest.approx(F.cross_entropy(student.double(), ev.val.labels).item(), rel=1e-9)
    kl = F.kl_div(F.log_softmax(student.double(), 1), F.log_softmax(teacher.double(), 1), log_target=True,
                  reduction="batchmean").item()
    assert out["teacher_kl"] == pytest.approx(kl, rel=1e-9) and kl > 0
    assert readouts(teacher, teacher, ev.val.labels)["teacher_kl"] == pytest.approx(0, abs=1e-12)


def test_the_report_reads_the_committed_rows_and_computes_nothing_new(tmp_path):
    """In a copy of the results the committed command appends nothing, and each tau in the report is scipy's on the
    CSV rows against the committed export truth (seed 0), the loss turned so that lower reads better."""
    repo = Path(__file__).parents[1]
    shutil.copytree(repo / "docs" / "results" / "calibration", tmp_path / "docs" / "results" / "calibration")
    results = tmp_path / "docs" / "results" / "calibration"
    before = (results / "readouts.csv").read_text()
    done = subprocess.run([sys.executable, str(repo / "benchmarks" / "readout_screen.py"), "--splits", "13", "16",
                           "--methods", "adaptive-bn-8", "reconstruct-8", "finetune-48", "--threads", "1"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (results / "readouts.csv").read_text() == before
    text = (results / "readouts.md").read_text()
    with (results / "readouts.csv").open() as f:
        rows = list(csv.DictReader(f))
    with (results / "truth.csv").open() as f:
        truth = {(r["split"], r["kept"]): float(r["test_accuracy"]) for r in csv.DictReader(f)
                 if r["epochs"] == "10" and r["seed"] == "0"}
    for split, method in (("13", "reconstruct-8"), ("16", "finetune-48")):
        mine = [r for r in rows if r["split"] == split and r["method"] == method]
        t = [truth[(split, r["kept"])] for r in mine]
        table = text.split(f"## Split {split}:")[1].split("\n## ")[0]
        cells = next(line for line in table.splitlines() if line.startswith(f"| {method} |")).split(" | ")
        assert cells[1].startswith(f"{kendalltau([float(r['accuracy']) for r in mine], t).statistic:.2f} [")
        assert cells[2].startswith(f"{kendalltau([-float(r['val_loss']) for r in mine], t).statistic:.2f} [")
