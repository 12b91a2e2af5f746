"""Evaluate a pruned network: prune, recover, measure validation accuracy.

This is the expensive part of an episode. It is a deterministic function of the
kept vector (given the trained network, data, settings, seed, device and torch
thread count), which is what makes the result cache exact. On CUDA that takes
deterministic kernels, switched on inside the evaluation only (see
:func:`coinfer_env.rng.deterministic_kernels`).

How a freshly pruned network is *recovered* before its accuracy is read is the
``method`` of :class:`EvalSettings`; each is a sequence of the stages below.
benchmarks/reward_fidelity.py measures how well each ranks networks against their
deployed (long fine-tuned) accuracy, and docs/environment.md quotes it.

| stage | what it does | budget |
|-------|--------------|--------|
| ``finetune`` | the paper's "slight fine-tuning": device part and codec trained with cross-entropy through the frozen server, Adam | ``steps`` x ``batch`` images |
| ``adaptive-bn`` | every BN layer's statistics re-estimated on training batches, no gradient step (EagleEye, Li et al. 2020) | ``bn_batches`` x ``batch`` images |
| ``reconstruct`` | each layer whose inputs were pruned gets the least-squares weights that best reproduce the unpruned network's output of that layer (ThiNet, AMC), layer after layer | ``bn_batches`` x ``batch`` images |
| ``distill`` | like ``finetune``, toward the unpruned network's logits (KL, T = 4) and decoder output (MSE) | ``steps`` x ``batch`` images |
| ``finetune-whole`` | like ``finetune``, but every layer trains, the server and its BN statistics included: the scope of the export recipe's fine-tune (``coinfer export``), at the proxy's budget | ``steps`` x ``batch`` images |

Batches come in a fixed order drawn from ``seed``; no augmentation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .data import ImageSet, normalize
from .loops import accuracy, batch_indices, distillation_loss, train_steps
from .network import SplitNetwork
from .pruning import consumer_slices, prune_to
from .recipe import training_only
from .rng import deterministic_kernels

METHODS: dict[str, tuple[str, ...]] = {
    "finetune": ("finetune",),
    "adaptive-bn": ("adaptive-bn",),
    "reconstruct": ("reconstruct", "adaptive-bn"),
    "distill": ("distill",),
    "adaptive-bn+finetune": ("adaptive-bn", "finetune"),
    "reconstruct+finetune": ("reconstruct", "adaptive-bn", "finetune"),
    "reconstruct+distill": ("reconstruct", "adaptive-bn", "distill"),
    "finetune-whole": ("finetune-whole",),
}
"""Evaluation method name -> the stages it runs, in order."""


@dataclass(frozen=True)
class EvalSettings:
    """How a pruned network is recovered before its validation accuracy is read."""

    method: str = "reconstruct"
    """A key of :data:`METHODS`. ``reconstruct`` ranks designs most like deployment at under 5 s an episode
    (benchmarks/reward_fidelity.py); ``finetune`` is the paper's slight fine-tuning."""
    steps: int = 16
    """Gradient steps of ``finetune`` and ``distill`` (0 skips them)."""
    batch: int = 64
    """Images per step or per statistics batch, drawn from the training split."""
    lr: float = 1e-3
    """Adam learning rate (constant). Adam recovered more accuracy than SGD in 16
    steps: benchmarks/finetune_choices.py, quoted in docs/environment.md."""
    bn_batches: int = 8
    """Batches that ``adaptive-bn`` and ``reconstruct`` read."""
    seed: int = 0
    """Seeds the batch order and the channel noise."""


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    seconds: float
    phases: dict  # seconds spent pruning, recovering and evaluating


def _batches(data: ImageSet, settings: EvalSettings, count: int, salt: int) -> list[torch.Tensor]:
    """``count`` normalised training batches in a fixed order (``salt`` separates the stages' draws)."""
    g = torch.Generator().manual_seed(settings.seed * 1000 + salt)
    batch = min(settings.batch, len(data))
    out = []
    for _, idx in zip(range(count), batch_indices(len(data), batch, g)):
        out.append(normalize(data.images[idx.to(data.images.device)]))
    return out


def finetune(model: SplitNetwork, train: ImageSet, settings: EvalSettings, whole: bool = False,
             on_step: Callable[[float], None] | None = None) -> None:
    """Fine-tune ``model``'s device part and codec in place; the server stays frozen unless ``whole``, where every
    layer trains, as in the export recipe (a heavily pruned split feature may need the server to adapt too).
    ``on_step`` receives each step's training loss."""
    if settings.steps == 0:
        return
    with training_only(model, [model] if whole else [model.device, model.server.decoder]) as params:
        g = torch.Generator().manual_seed(settings.seed)
        train_steps(model, train, settings.steps, settings.batch, torch.optim.Adam(params, lr=settings.lr), g,
                    on_step=on_step)


@torch.no_grad()
def adaptive_bn(model: nn.Module, batches: list[torch.Tensor]) -> None:
    """Re-estimate every BatchNorm's running mean and variance on ``batches``; nothing else changes."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [b.momentum for b in bns]
    model.eval()
    for b in bns:
        b.reset_running_stats()
        b.momentum = None  # a cumulative average over the batches
        b.train()
    for x in batches:
        model(x)
    for b, m in zip(bns, saved):
        b.momentum = m
    model.eval()


def _least_squares(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Ridge-regularised least-squares W with ``x @ W ~ y`` (rows are samples)."""
    x, y = x.double(), y.double()
    gram = x.T @ x
    ridge = 1e-4 * gram.diagonal().mean().clamp_min(1e-12)  # keeps the solve stable with few samples
    gram.diagonal().add_(ridge)
    return torch.linalg.solve(gram, x.T @ y)


def _sample_rows(total: int, max_rows: int, generator: torch.Generator, device: torch.device) -> torch.Tensor | None:
    """``max_rows`` of ``total`` sample rows drawn without replacement, or None for all of them."""
    if total <= max_rows:
        return None
    return torch.randperm(total, generator=generator)[:max_rows].to(device)


def _layer_rows(module: nn.Module, x: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
    """The layer's input as rows of a linear map (unfolded patches for a conv, features for a linear layer),
    only at ``rows`` (indices into the (image, output position) pairs), or all of them when None.

    A conv's patches are gathered at the sampled positions alone: unfolding every position of
    512 images and keeping 4,096 rows spent most of the reconstruction's time on copies. The
    values, and their order, are those of ``F.unfold``'s rows (tests/test_evaluation.py).
    """
    if not isinstance(module, nn.Conv2d):
        flat = x.reshape(len(x), -1)
        return flat if rows is None else flat[rows]
    if rows is None:
        cols = F.unfold(x, module.kernel_size, module.dilation, module.padding, module.stride)  # (N, C*k*k, P)
        return cols.transpose(1, 2).reshape(-1, cols.shape[1])
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = module.kernel_size, module.dilation, module.padding, module.stride
    width = (x.shape[3] + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    height = (x.shape[2] + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    n, pos = rows // (height * width), rows % (height * width)
    h = (pos // width * sh)[:, None] + torch.arange(kh, device=x.device) * dh  # (R, kh)
    w = (pos % width * sw)[:, None] + torch.arange(kw, device=x.device) * dw  # (R, kw)
    c = torch.arange(x.shape[1], device=x.device)
    padded = F.pad(x, (pw, pw, ph, ph))
    patches = padded[n[:, None, None, None], c[None, :, None, None], h[:, None, :, None], w[:, None, None, :]]
    return patches.reshape(len(rows), -1)  # (R, C*kh*kw), channel-major as unfold's


def _output_rows(y: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
    flat = y.flatten(2).transpose(1, 2).reshape(-1, y.shape[1]) if y.dim() == 4 else y
    return flat if rows is None else flat[rows]


def _row_count(y: torch.Tensor) -> int:
    """How many sample rows the layer's output gives: one per image and output position."""
    return y.shape[0] * (y[0, 0].numel() if y.dim() == 4 else 1)


@torch.no_grad()
def reconstruct(model: SplitNetwork, teacher: SplitNetwork, kept: Sequence[int], batches: list[torch.Tensor],
                seed: int, max_rows: int = 4096) -> None:
    """Refit, layer after layer, each layer whose inputs were pruned (ThiNet, AMC).

    Its new weights minimise the squared difference between its output in the
    pruned network (on the pruned network's own, already refitted, inputs) and the
    unpruned network's output of the same layer, on the kept outputs. Bias, if any,
    stays as it was.
    """
    slices = consumer_slices(teacher, kept)
    x = torch.cat(batches)
    targets: dict[str, torch.Tensor] = {}
    hooks = []
    for name in slices:
        def keep_output(_m, _inp, out, name=name):
            targets[name] = out
        hooks.append(teacher.get_submodule(name).register_forward_hook(keep_output))
    teacher.eval()(x)
    for h in hooks:
        h.remove()
    g = torch.Generator().manual_seed(seed)

    def refit(module: nn.Module, inp: tuple, name: str) -> None:
        out_idx = slices[name]
        y = targets[name] if out_idx is None else targets[name].index_select(1, out_idx.to(x.device))
        if module.bias is not None:
            y = y - module.bias.view(1, -1, *([1] * (y.dim() - 2)))
        rows = _sample_rows(_row_count(y), max_rows, g, x.device)
        w = _least_squares(_layer_rows(module, inp[0], rows), _output_rows(y, rows))
        module.weight.copy_(w.T.reshape(module.weight.shape).to(module.weight.dtype))

    hooks = [model.get_submodule(name).register_forward_pre_hook(lambda m, inp, name=name: refit(m, inp, name))
             for name in slices]
    try:
        model.eval()(x)
    finally:
        for h in hooks:
            h.remove()


def distill(model: SplitNetwork, teacher: SplitNetwork, train: ImageSet, settings: EvalSettings, temperature: float = 4.0) -> None:
    """Fine-tune device part and codec toward ``teacher``'s logits and decoder output (Adam, ``steps`` steps)."""
    if settings.steps == 0:
        return
    feature: dict[str, torch.Tensor] = {}
    hook = model.server.decoder.register_forward_hook(lambda _m, _i, out: feature.__setitem__("student", out))
    g = torch.Generator().manual_seed(settings.seed)
    try:
        with training_only(model, [model.device, model.server.decoder]) as params:
            opt = torch.optim.Adam(params, lr=settings.lr)
            for _, idx in zip(range(settings.steps), batch_indices(len(train), min(settings.batch, len(train)), g)):
                x = normalize(train.images[idx.to(train.images.device)])
                with torch.no_grad():
                    t_feature = teacher.server.decoder(teacher.device(x))
                    t_logits = teacher.server.tail(t_feature)
                logits = model(x)
                loss = distillation_loss(logits, t_logits, temperature) + F.mse_loss(feature["student"], t_feature)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    finally:
        hook.remove()


class Evaluator:
    """Builds and scores pruned versions of one trained network on fixed data."""

    def __init__(self, trained: SplitNetwork, train: ImageSet, val: ImageSet, settings: EvalSettings) -> None:
        if settings.method not in METHODS:
            raise ValueError(f"evaluation={settings.method!r} is invalid: choose one of {', '.join(METHODS)}")
        self.trained = trained.eval()
        self.device = next(trained.parameters()).device
        self.train = train.to(self.device)
        self.val = val.to(self.device)
        self.settings = settings
        self._stats: dict[int, list[torch.Tensor]] = {}  # the same batches every episode: drawn and normalised once

    def _stat_batches(self, salt: int) -> list[torch.Tensor]:
        if salt not in self._stats:
            self._stats[salt] = _batches(self.train, self.settings, self.settings.bn_batches, salt)
        return self._stats[salt]

    def build(self, kept: Sequence[int], on_step: Callable[[float], None] | None = None) -> tuple[SplitNetwork, dict]:
        """The pruned, recovered network for ``kept``, and the seconds of each phase; ``on_step`` receives the
        training loss of each ``finetune`` step."""
        with deterministic_kernels():
            return self._build(kept, on_step)

    def _build(self, kept: Sequence[int], on_step: Callable[[float], None] | None) -> tuple[SplitNetwork, dict]:
        s = self.settings
        t0 = time.perf_counter()
        # channels_last runs the narrow convs of the Tiny net about 1.4x faster on CPU.
        model = prune_to(self.trained, kept).to(memory_format=torch.channels_last)
        model.channel.seed(s.seed)
        phases = {"prune": time.perf_counter() - t0}
        for stage in METHODS[s.method]:
            t = time.perf_counter()
            if stage in ("finetune", "finetune-whole"):
                finetune(model, self.train, s, whole=stage == "finetune-whole", on_step=on_step)
            elif stage == "distill":
                distill(model, self.trained, self.train, s)
            elif stage == "adaptive-bn":
                adaptive_bn(model, self._stat_batches(salt=1))
            elif stage == "reconstruct":
                reconstruct(model, self.trained, kept, self._stat_batches(salt=2), s.seed)
            phases[stage] = time.perf_counter() - t
        return model.eval(), phases

    def evaluate(self, kept: Sequence[int], on_step: Callable[[float], None] | None = None) -> tuple[Evaluation, SplitNetwork]:
        """``kept``'s validation accuracy after :meth:`build`, the seconds it took, and the network."""
        start = time.perf_counter()
        model, phases = self.build(kept, on_step)
        t = time.perf_counter()
        model.channel.seed(self.settings.seed + 1)
        with deterministic_kernels():
            acc = accuracy(model, self.val)
        phases["evaluate"] = time.perf_counter() - t
        return Evaluation(acc, time.perf_counter() - start, phases), model
