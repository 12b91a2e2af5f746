"""The two loops every stage shares: gradient steps over image batches, and accuracy."""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import torch
from torch import nn
from torch.nn import functional as F

from .data import ImageSet, normalize

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
Mix = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
Criterion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def distillation_loss(logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 4.0) -> torch.Tensor:
    """Hinton et al.'s soft-target loss: KL(teacher || student) at ``temperature``, scaled by its square."""
    kl = F.kl_div(F.log_softmax(logits / temperature, 1), F.softmax(teacher_logits / temperature, 1), reduction="batchmean")
    return kl * temperature**2


def epoch_steps(epochs: int, n: int, batch: int) -> int:
    """Gradient steps in ``epochs`` passes over ``n`` items (full batches; at least 1 unless ``epochs`` is 0)."""
    return 0 if epochs == 0 else max(1, epochs * (n // batch))


def batch_indices(n: int, batch: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless shuffled mini-batches of indices into ``n`` items, epoch after epoch."""
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch + 1, batch):
            yield order[start : start + batch]


def train_steps(
    model: nn.Module,
    data: ImageSet,
    steps: int,
    batch: int,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    augment: Augment | None = None,
    mix: Mix | None = None,
    label_smoothing: float = 0.0,
    criterion: Criterion | None = None,
    on_step: Callable[[float], None] | None = None,
) -> None:
    """``steps`` SGD steps of cross-entropy on batches drawn from ``data`` by ``generator``.

    ``augment(uint8 images, generator)`` transforms each batch (for example
    :func:`coinfer_env.data.augment`); ``mix(normalised images, labels, generator)``
    may then blend images and return soft targets (MixUp, CutMix). ``data`` should
    already be on the model's device; ``generator`` lives on the CPU so that the
    batch order does not depend on the device. ``criterion(x, targets)``, if given,
    computes the loss itself (it runs the model); the default is cross-entropy of
    ``model(x)``.
    """
    device = next(model.parameters()).device
    if criterion is None:
        cross_entropy = nn.CrossEntropyLoss(label_smoothing=label_smoothing)

        def criterion(x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            return cross_entropy(model(x), targets)
    indices: Iterable[torch.Tensor] = batch_indices(len(data), min(batch, len(data)), generator)
    for _, idx in zip(range(steps), indices):
        idx = idx.to(data.images.device)
        images = data.images[idx]
        if augment is not None:
            images = augment(images, generator)
        x, targets = normalize(images.to(device)), data.labels[idx].to(device)
        if mix is not None:
            x, targets = mix(x, targets, generator)
        loss = criterion(x, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if on_step is not None:
            on_step(loss.item())


@torch.no_grad()
def accuracy(model: nn.Module, data: ImageSet, batch: int = 500) -> float:
    """Top-1 accuracy in [0, 1], in the data's fixed order, with ``model`` in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, len(data), batch):
        images = normalize(data.images[start : start + batch].to(device))
        correct += (model(images).argmax(1) == data.labels[start : start + batch].to(device)).sum().item()
    model.train(was_training)
    return correct / max(1, len(data))
