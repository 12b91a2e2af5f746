"""The training recipe every stage shares, written once.

Step 1 (``coinfer train``), the environment's slight fine-tune, step 3
(``coinfer export``) and the baselines all train the same way: SGD with Nesterov
momentum 0.9 and weight decay 5e-4 on batches of 128, or Adam for a codec alone;
and a part of the network is trained while the rest is frozen (no gradients, BN
statistics kept). The numbers and the freeze-train-unfreeze sequence live here.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

import torch
from torch import nn

from .data import ImageSet, augment
from .loops import Criterion, epoch_steps, train_steps

BATCH = 128
"""Mini-batch size of every epoch-based training stage."""
MOMENTUM = 0.9
"""SGD momentum (Nesterov)."""
WEIGHT_DECAY = 5e-4
"""L2 penalty of every SGD stage."""
FINETUNE_LR = 0.01
"""Initial learning rate of a whole-network fine-tune (cosine to 0)."""
CODEC_LR = 1e-3
"""Adam learning rate of a codec trained with the backbone frozen."""


def sgd(params: Iterable[nn.Parameter], lr: float, weight_decay: float = WEIGHT_DECAY) -> torch.optim.SGD:
    """The project's SGD: Nesterov momentum 0.9."""
    return torch.optim.SGD(params, lr=lr, momentum=MOMENTUM, nesterov=True, weight_decay=weight_decay)


@contextmanager
def training_only(model: nn.Module, parts: Iterable[nn.Module]) -> Iterator[list[nn.Parameter]]:
    """Train ``parts`` of ``model`` while the rest stays frozen; yields their parameters.

    Inside, every other parameter has ``requires_grad=False`` and every other module
    is in eval mode, so frozen BN layers keep their running statistics. On exit the
    frozen parameters learn again and the whole model is in eval mode.
    """
    parts = list(parts)
    trainable = {id(p) for part in parts for p in part.parameters()}
    frozen = [p for p in model.parameters() if id(p) not in trainable and p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    model.eval()
    for part in parts:
        part.train()
    try:
        yield list({id(p): p for part in parts for p in part.parameters()}.values())  # each once, in order
    finally:
        for p in frozen:
            p.requires_grad_(True)
        model.eval()


def train_codec(model: nn.Module, codec: Iterable[nn.Module], data: ImageSet, epochs: int, generator: torch.Generator,
                lr: float = CODEC_LR, on_step=None, criterion: Criterion | None = None) -> None:
    """Train only the ``codec`` modules of ``model`` (Adam, augmented batches); the backbone stays frozen.

    ``criterion`` replaces the cross-entropy on the labels (see :func:`coinfer_env.loops.train_steps`).
    """
    with training_only(model, codec) as params:
        steps = epoch_steps(epochs, len(data), BATCH)
        train_steps(model, data, steps, BATCH, torch.optim.Adam(params, lr), generator, augment=augment, on_step=on_step,
                    criterion=criterion)


def train_parts(model: nn.Module, parts: Iterable[nn.Module], data: ImageSet, epochs: int, generator: torch.Generator,
                lr: float = FINETUNE_LR, on_step=None) -> None:
    """Fine-tune only ``parts`` of ``model`` (SGD, cosine to 0, augmented batches); the rest stays frozen."""
    with training_only(model, parts) as params:
        steps = epoch_steps(epochs, len(data), BATCH)
        opt = sgd(params, lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
        train_steps(model, data, steps, BATCH, opt, generator, scheduler=sched, augment=augment, on_step=on_step)


def finetune_whole(model: nn.Module, data: ImageSet, epochs: int, generator: torch.Generator, lr: float = FINETUNE_LR,
                   on_step=None, label_smoothing: float = 0.0) -> None:
    """Fine-tune every layer of ``model``: SGD, cosine schedule to 0, augmented batches; ends in eval mode."""
    steps = epoch_steps(epochs, len(data), BATCH)
    opt = sgd(model.parameters(), lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
    model.train()
    train_steps(model, data, steps, BATCH, opt, generator, scheduler=sched, augment=augment,
                label_smoothing=label_smoothing, on_step=on_step)
    model.eval()
