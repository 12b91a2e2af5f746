"""benchmarks/training_speed.py and the evaluation's ``on_step`` hook: the losses are the fine-tune's own, the hook
changes nothing, and the committed report is what the committed rows give."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau


def test_the_hook_sees_every_step_and_changes_nothing():
    """On a heavy split-13 design with 3 fine-tune steps: the hook gets 3 losses, the first is the cross-entropy of
    the freshly pruned network (device and decoder in train mode) on the first batch of the evaluation's generator,
    and the accuracy is the same with and without the hook; the readouts are the losses' means."""
    from readout_screen import heavy
    from reward_fidelity import bundled_tiny
    from training_speed import read

    from coinfer_env.data import load_subset, normalize
    from coinfer_env.evaluation import EvalSettings, Evaluator
    from coinfer_env.loops import batch_indices
    from coinfer_env.pruning import prune_to

    trained, data = bundled_tiny(13), load_subset()
    kept = json.loads(heavy(trained.config, 13)[0])
    settings = EvalSettings("finetune", steps=3)
    evaluator = Evaluator(trained, data.train, data.val, settings)
    losses: list[float] = []
    with_hook = evaluator.evaluate(kept, on_step=losses.append)[0].accuracy
    assert len(losses) == 3 and with_hook == evaluator.evaluate(kept)[0].accuracy
    model = prune_to(trained, kept).to(memory_format=torch.channels_last)
    model.channel.seed(settings.seed)
    model.eval(), model.device.train(), model.server.decoder.train()
    idx = next(batch_indices(len(data.train), settings.batch, torch.Generator().manual_seed(settings.seed)))
    first = torch.nn.functional.cross_entropy(model(normalize(data.train.images[idx])), data.train.labels[idx]).item()
    assert losses[0] == pytest.approx(first, rel=1e-5)
    out = read(evaluator, kept)
    assert out == {"accuracy": with_hook, "train_loss": pytest.approx(np.mean(losses)),
                   "train_loss_last16": pytest.approx(np.mean(losses))}
    with pytest.raises(ValueError, match="'adaptive-bn' takes no gradient step"):
        read(Evaluator(trained, data.train, data.val, EvalSettings("adaptive-bn")), kept)


def test_the_report_reads_the_committed_rows_and_computes_nothing_new(tmp_path):
    """In a copy of the results the committed command appends nothing, and the taus of finetune-48's loss and
    accuracy at split 16 are scipy's on the CSV rows against the committed export truth (seed 0)."""
    repo = Path(__file__).parents[1]
    shutil.copytree(repo / "docs" / "results" / "calibration", tmp_path / "docs" / "results" / "calibration")
    results = tmp_path / "docs" / "results" / "calibration"
    before = (results / "training-speed.csv").read_text()
    done = subprocess.run([sys.executable, str(repo / "benchmarks" / "training_speed.py"), "--splits", "13", "16",
                           "--methods", "finetune-48", "adaptive-bn+finetune-16", "finetune-16", "--threads", "1"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (results / "training-speed.csv").read_text() == before
    text = (results / "training-speed.md").read_text()
    strip = lambda t: [line for line in t.splitlines() if not line.startswith("Command:")]  # noqa: E731
    assert strip(text) == strip((repo / "docs" / "results" / "calibration" / "training-speed.md").read_text())
    with (results / "training-speed.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "16" and r["method"] == "finetune-48"]
    with (results / "truth.csv").open() as f:
        truth = {r["kept"]: float(r["test_accuracy"]) for r in csv.DictReader(f)
                 if r["split"] == "16" and r["epochs"] == "10" and r["seed"] == "0"}
    t = [truth[r["kept"]] for r in rows]
    cells = next(line for line in text.split("## Split 16:")[1].splitlines() if line.startswith("| finetune-48 |"))
    cells = cells.split(" | ")
    assert cells[1].startswith(f"{kendalltau([float(r['accuracy']) for r in rows], t).statistic:.2f} [")
    assert cells[2].startswith(f"{kendalltau([-float(r['train_loss']) for r in rows], t).statistic:.2f} [")


def test_a_fresh_draw_without_truths_is_refused_with_one_line_and_exit_2():
    repo = Path(__file__).parents[1]
    done = subprocess.run([sys.executable, str(repo / "benchmarks" / "training_speed.py"), "--splits", "13",
                           "--heavy-seed", "123456", "--methods", "finetune-16"], capture_output=True, text=True, cwd=repo)
    assert done.returncode == 2
    assert "--heavy-seed 123456: 12 of its designs at split 13 have no export truth" in done.stderr
    assert not (repo / "docs" / "results" / "calibration" / "training-speed-seed123456.md").exists()


def test_on_a_fresh_draw_the_loss_must_also_reach_the_floor():
    """Made-up rows whose accuracy orders the truth backwards: a loss that orders it a little (tau 0.2) leads the
    accuracy by far more than the margin, so it is a candidate on the screen, but it misses a fresh draw's floor;
    a loss that orders the truth exactly holds there."""
    from training_speed import FRESH_FLOOR, section

    truth = {f"k{i}": i / 10 for i in range(10)}

    def rows(loss):
        return [{"kept": k, "method": "p", "accuracy": str(1 - t), "train_loss": str(x), "train_loss_last16": str(x),
                 "seconds": "1"} for (k, t), x in zip(truth.items(), loss)]

    mild = [4, 0, 9, 5, 8, 7, 3, 2, 6, 1]
    assert kendalltau([-x for x in mild], list(truth.values())).statistic == pytest.approx(0.2)
    assert section(13, ["p"], rows(mild), truth)[1] == {"p": True}
    assert section(13, ["p"], rows(mild), truth, FRESH_FLOOR)[1] == {"p": False}
    assert section(13, ["p"], rows([-t for t in truth.values()]), truth, FRESH_FLOOR)[1] == {"p": True}


def test_the_fresh_draws_report_is_rebuilt_and_shows_the_other_proxies_by_scipy(tmp_path):
    """The committed fresh-draw report (seed 7000) is what its committed rows give, and its table of the other raw
    proxies holds scipy's tau of reconstruct-8's proxies.csv accuracies against the truth."""
    from reward_fidelity import bundled_tiny, heavy_designs

    repo = Path(__file__).parents[1]
    shutil.copytree(repo / "docs" / "results" / "calibration", tmp_path / "docs" / "results" / "calibration")
    results = tmp_path / "docs" / "results" / "calibration"
    done = subprocess.run([sys.executable, str(repo / "benchmarks" / "training_speed.py"), "--splits", "13",
                           "--heavy-seed", "7000", "--methods", "finetune-48", "finetune-16", "--threads", "1"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = (results / "training-speed-seed7000.md").read_text()
    strip = lambda t: [line for line in t.splitlines() if not line.startswith("Command:")]  # noqa: E731
    assert strip(text) == strip((repo / "docs" / "results" / "calibration" / "training-speed-seed7000.md").read_text())
    kept = set(heavy_designs(bundled_tiny(13).config, 12, 7000))
    with (results / "proxies.csv").open() as f:
        acc = {r["kept"]: float(r["proxy_accuracy"]) for r in csv.DictReader(f)
               if r["split"] == "13" and r["method"] == "reconstruct-8" and r["kept"] in kept}
    with (results / "truth.csv").open() as f:
        truth = {r["kept"]: float(r["test_accuracy"]) for r in csv.DictReader(f)
                 if r["split"] == "13" and r["epochs"] == "10" and r["seed"] == "0" and r["kept"] in kept}
    order = sorted(kept)
    tau = kendalltau([acc[k] for k in order], [truth[k] for k in order]).statistic
    assert f"| reconstruct-8 | {tau:.2f} [" in text
