"""Evaluate a pruned network: prune, slightly fine-tune, measure validation accuracy.

This is the expensive part of an episode. It is a deterministic function of the
kept vector (given the trained network, data, settings, seed, device and torch
thread count), which is what makes the result cache exact. On CUDA that takes
deterministic kernels, switched on inside the evaluation only (see
:func:`coinfer_env.rng.deterministic_kernels`).

The "slight fine-tuning" (paper, step 2) trains the device part and the codec
(encoder *and* decoder) with cross-entropy through the frozen server: server
blocks and classifier in eval mode with ``requires_grad=False``, device and codec
BN in train mode, Adam. Batches come in a fixed order drawn from ``seed``; no
augmentation. Accuracy is then measured on the validation images in their fixed
order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import torch

from .data import ImageSet
from .loops import accuracy, train_steps
from .network import SplitNetwork
from .pruning import prune_to
from .recipe import training_only
from .rng import deterministic_kernels


@dataclass(frozen=True)
class FinetuneSettings:
    """The slight fine-tuning after pruning."""

    steps: int = 16
    """Gradient steps (0 disables fine-tuning)."""
    batch: int = 64
    """Images per step, drawn from the training split."""
    lr: float = 1e-3
    """Adam learning rate (constant). Adam recovered more accuracy than SGD in 16
    steps: benchmarks/finetune_choices.py, quoted in docs/environment.md."""
    seed: int = 0
    """Seeds the batch order and the channel noise."""


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    seconds: float
    phases: dict  # seconds spent pruning, fine-tuning and evaluating


def finetune(model: SplitNetwork, train: ImageSet, settings: FinetuneSettings) -> None:
    """Fine-tune ``model``'s device part and codec in place; the server stays frozen."""
    if settings.steps == 0:
        return
    with training_only(model, [model.device, model.server.decoder]) as params:
        g = torch.Generator().manual_seed(settings.seed)
        train_steps(model, train, settings.steps, settings.batch, torch.optim.Adam(params, lr=settings.lr), g)


class Evaluator:
    """Builds and scores pruned versions of one trained network on fixed data."""

    def __init__(self, trained: SplitNetwork, train: ImageSet, val: ImageSet, settings: FinetuneSettings) -> None:
        self.trained = trained.eval()
        self.device = next(trained.parameters()).device
        self.train = train.to(self.device)
        self.val = val.to(self.device)
        self.settings = settings

    def build(self, kept: Sequence[int]) -> tuple[SplitNetwork, dict]:
        """The pruned, fine-tuned network for ``kept``, and the seconds of each phase."""
        with deterministic_kernels():
            return self._build(kept)

    def _build(self, kept: Sequence[int]) -> tuple[SplitNetwork, dict]:
        t0 = time.perf_counter()
        # channels_last runs the narrow convs of the Tiny net about 1.4x faster on CPU.
        model = prune_to(self.trained, kept).to(memory_format=torch.channels_last)
        model.channel.seed(self.settings.seed)
        t1 = time.perf_counter()
        finetune(model, self.train, self.settings)
        t2 = time.perf_counter()
        return model, {"prune": t1 - t0, "finetune": t2 - t1}

    def evaluate(self, kept: Sequence[int]) -> tuple[Evaluation, SplitNetwork]:
        start = time.perf_counter()
        model, phases = self.build(kept)
        t = time.perf_counter()
        model.channel.seed(self.settings.seed + 1)
        with deterministic_kernels():
            acc = accuracy(model, self.val)
        phases["evaluate"] = time.perf_counter() - t
        return Evaluation(acc, time.perf_counter() - start, phases), model
