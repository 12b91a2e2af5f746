"""benchmarks/readout_screen.py: its readouts against independent oracles (the env's own accuracy, torch's losses)."""

from __future__ import annotations

import json

import pytest
import torch.nn.functional as F


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
