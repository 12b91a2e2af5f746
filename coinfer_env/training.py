"""Step 1 of the paper: train the backbone, then a codec for each split point.

``coinfer train`` calls :func:`train`. The backbone is trained once (SGD with
Nesterov momentum, one-cycle schedule, crop-and-flip then TrivialAugmentWide and
RandomErasing, label smoothing 0.1, 150 epochs: chosen by
benchmarks/train_recipe.py) and saved; a later run into the same directory reuses
it, so the codecs of every split point sit on one backbone. Then, for each
requested split, the codec is inserted and trained with the backbone frozen
(Adam), followed by a short joint fine-tune of the codec and every BatchNorm layer
(SGD, cosine; ``joint="all"`` trains every layer instead), all through the
configured channel. Split files hold only what differs from the backbone. Test accuracy is recorded per split point in the metadata
JSON, which is rewritten after every file so that it always describes the files
beside it.
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F
from torch.optim.swa_utils import AveragedModel
from tqdm.auto import tqdm

from . import checkpoints as ckpt
from . import recipe
from .architecture import NUM_BLOCKS, SplitConfig
from .cache import file_digest
from .channels import make_channel
from .data import Splits, augment, mix_batch, strong_augment
from .loops import Criterion, accuracy, distillation_loss, epoch_steps, train_steps
from .network import Backbone, SplitNetwork
from .rng import seeded


AUGMENTATIONS = {"crop-flip": augment, "trivial": strong_augment}
CODEC_LOSSES = ("ce", "distill")


@dataclass
class TrainConfig:
    """Hyper-parameters of step 1."""

    width: int = 8
    """Network width: 8 for the Tiny id, 64 for ResNet-50."""
    splits: list[int] = field(default_factory=lambda: list(range(1, NUM_BLOCKS + 1)))
    """Split points to train a codec for."""
    epochs: int = 150
    """Backbone epochs over the training split (150: the shipped Tiny weights; docs/environment.md)."""
    codec_epochs: int = 6
    """Epochs of codec training with the backbone frozen, per split."""
    joint_epochs: int = 2
    """Epochs of joint fine-tuning of the whole network, per split."""
    lr: float = 0.1
    """Peak learning rate of the backbone's one-cycle schedule."""
    label_smoothing: float = 0.1
    """Label smoothing of the backbone's loss."""
    augment: str = "trivial"
    """Backbone augmentation: ``crop-flip``, or ``trivial`` (crop-flip, then TrivialAugmentWide and RandomErasing)."""
    mix_alpha: float = 0.0
    """MixUp/CutMix strength for the backbone (one of the two per batch); 0 turns it off."""
    ema_decay: float = 0.0
    """Decay of an exponential moving average of the backbone's weights and BN buffers,
    used as the trained backbone when > 0 (``torch.optim.swa_utils``); 0 turns it off."""
    seed: int = 0
    """Seeds weight init, batch order and augmentation."""
    channel: str = "ideal"
    """Channel the codec is trained through."""
    channel_kwargs: dict = field(default_factory=dict)
    """Channel settings (bits, snr_db, erasure_prob, flip_prob)."""
    joint: str = "bn"
    """What the joint fine-tune trains besides the codec: ``all`` layers, ``bn`` (every BatchNorm:
    the split file then stays small, since the convolutions are the shared backbone's), or ``none``."""
    codec_loss: str = "ce"
    """Loss of the codec phase: ``ce`` (cross-entropy on the labels) or ``distill`` (the frozen
    backbone's own logits as soft targets, KL at T = 4, plus the MSE between the decoded and the
    true split feature). ``distill`` gained nothing at split 4 (docs/results/train_recipe/codec_loss/codec_loss.md)."""

    def __post_init__(self) -> None:
        for name in ("epochs", "codec_epochs", "joint_epochs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"{name}={v!r} is invalid: use an integer >= 0")
        bad = [s for s in self.splits if not 1 <= s <= NUM_BLOCKS]
        if not self.splits or bad:
            raise ValueError(f"splits={self.splits!r} is invalid: give split points in 1..{NUM_BLOCKS}")
        if self.joint not in ("all", "bn", "none"):
            raise ValueError(f"joint={self.joint!r} is invalid: choose all, bn or none")
        if self.codec_loss not in CODEC_LOSSES:
            raise ValueError(f"codec_loss={self.codec_loss!r} is invalid: choose {' or '.join(CODEC_LOSSES)}")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"augment={self.augment!r} is invalid: choose one of {', '.join(AUGMENTATIONS)}")
        if not (0 <= self.mix_alpha <= 10 and 0 <= self.ema_decay < 1):
            raise ValueError(f"mix_alpha={self.mix_alpha!r} or ema_decay={self.ema_decay!r} is invalid: use [0, 10] and [0, 1)")
        SplitConfig(self.width, 1)  # validates the width
        make_channel(self.channel, **self.channel_kwargs)  # validates the channel and its settings


def ema_with_warmup(decay: float) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
    """EMA update with decay min(decay, (1 + n) / (10 + n)) after n updates (timm's warm-up).

    A fixed decay keeps decay^steps of the random initial weights in the average:
    29% for 0.999 over the 1,240 steps of 40 epochs here, which left a useless
    network in a measured run (benchmarks/train_recipe.py).
    """

    def update(averaged: torch.Tensor, current: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        d = min(decay, (1 + float(n)) / (10 + float(n)))
        return d * averaged + (1 - d) * current

    return update


def _progress(bar: tqdm) -> Callable[[float], None]:
    def update(loss: float) -> None:
        bar.update()
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

    return update


def train_backbone(cfg: TrainConfig, data: Splits, device: torch.device) -> tuple[dict, float]:
    """Train the plain ResNet-50 (no codec); return its canonical state and test accuracy."""
    with seeded(cfg.seed):
        net = SplitNetwork(SplitConfig(cfg.width, NUM_BLOCKS))
    net = net.to(device)
    model = Backbone(net)
    steps = epoch_steps(cfg.epochs, len(data.train), recipe.BATCH)
    opt = recipe.sgd([p for n, p in net.named_parameters() if "coder" not in n], cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=max(1, steps))
    g = torch.Generator().manual_seed(cfg.seed)
    ema = AveragedModel(net, avg_fn=ema_with_warmup(cfg.ema_decay), use_buffers=True) if cfg.ema_decay else None
    progress = None

    def on_step(loss: float) -> None:
        progress(loss)
        if ema is not None:
            ema.update_parameters(net)

    with tqdm(total=steps, desc=f"backbone w{cfg.width}", unit="step") as bar:
        progress = _progress(bar)
        model.train()
        train_steps(model, data.train, steps, recipe.BATCH, opt, g, scheduler=sched, augment=AUGMENTATIONS[cfg.augment],
                    mix=mix_batch(cfg.mix_alpha) if cfg.mix_alpha else None, label_smoothing=cfg.label_smoothing, on_step=on_step)
    if ema is not None:
        net = ema.module
    return ckpt.backbone_state(net), accuracy(Backbone(net), data.test)


def codec_distillation(net: SplitNetwork, temperature: float = 4.0) -> Criterion:
    """Codec-phase loss whose teacher is ``net``'s own frozen backbone without the codec.

    The split feature and the backbone's logits are computed without the codec (no
    gradient: the backbone is frozen in the codec phase); the loss is the soft-target
    KL of the logits through the codec against those logits, plus the MSE between the
    decoded and the true split feature.
    """

    def loss(x: torch.Tensor, _targets: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            feature = net.device.features(x)
            teacher = net.server.tail(feature)
        decoded = net.server.decoder(net.channel(net.device.encoder(feature)))
        return distillation_loss(net.server.tail(decoded), teacher, temperature) + F.mse_loss(decoded, feature)

    return loss


def train_codec(cfg: TrainConfig, backbone: dict, split: int, data: Splits, device: torch.device) -> SplitNetwork:
    """Insert the codec at ``split``, train it with the backbone frozen, then fine-tune jointly."""
    with seeded(cfg.seed + split):
        net = SplitNetwork(SplitConfig(cfg.width, split), channel=make_channel(cfg.channel, **cfg.channel_kwargs))
    ckpt.load_backbone(net, backbone)
    net.channel.seed(cfg.seed + split)
    net = net.to(device)
    g = torch.Generator().manual_seed(cfg.seed + split)
    steps = epoch_steps(cfg.codec_epochs, len(data.train), recipe.BATCH)
    with tqdm(total=steps, desc=f"codec split {split}", unit="step", leave=False) as bar:
        recipe.train_codec(net, [net.device.encoder, net.server.decoder], data.train, cfg.codec_epochs, g, on_step=_progress(bar),
                           criterion=codec_distillation(net) if cfg.codec_loss == "distill" else None)
    steps = epoch_steps(cfg.joint_epochs if cfg.joint != "none" else 0, len(data.train), recipe.BATCH)
    with tqdm(total=steps, desc=f"joint split {split}", unit="step", leave=False) as bar:
        if cfg.joint == "all":
            recipe.finetune_whole(net, data.train, cfg.joint_epochs, g, on_step=_progress(bar))
        elif cfg.joint == "bn":
            norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
            recipe.train_parts(net, [net.device.encoder, net.server.decoder, *norms], data.train, cfg.joint_epochs, g,
                               on_step=_progress(bar))
    net.channel.seed(cfg.seed)
    return net


def existing_backbone(out_dir: Path, width: int) -> dict | None:
    """The backbone already trained into ``out_dir`` at ``width``, or None."""
    path = ckpt.backbone_file(out_dir, width)
    return ckpt.load_state(path) if path.exists() else None


def train(cfg: TrainConfig, data: Splits, out_dir: Path, device: torch.device, command: str = "",
          retrain_backbone: bool = False) -> dict:
    """Train and write every artifact atomically; return the metadata written.

    The backbone found in ``out_dir`` is reused unless ``retrain_backbone``; the
    split files trained on another backbone are then listed as stale in the
    metadata (``splits[K]["backbone_sha256"]`` names the backbone of each).
    """
    start = time.time()
    out_dir = Path(out_dir)
    meta_path = ckpt.meta_file(out_dir, cfg.width)
    meta = ckpt.load_json(meta_path)
    backbone = None if retrain_backbone else existing_backbone(out_dir, cfg.width)
    if backbone is None:
        backbone, acc = train_backbone(cfg, data, device)
        ckpt.save_state(ckpt.backbone_file(out_dir, cfg.width), backbone)
        meta.update(backbone_test_accuracy=acc, backbone_config=asdict(cfg), backbone_command=command)
    else:
        tqdm.write(f"reusing the backbone in {ckpt.backbone_file(out_dir, cfg.width)} "
                   "(pass --retrain-backbone to train a new one)")
    digest = file_digest(ckpt.backbone_file(out_dir, cfg.width))
    meta.update(backbone_sha256=digest, test_images=len(data.test), width=cfg.width)
    meta.setdefault("splits", {})
    _mark_stale(meta, digest)
    ckpt.save_json(meta_path, meta)
    for split in tqdm(cfg.splits, desc="split points", unit="split"):
        t0 = time.time()
        net = train_codec(cfg, backbone, split, data, device)
        ckpt.save_state(ckpt.split_file(out_dir, cfg.width, split), ckpt.compact_split_state(net, backbone))
        net.load_state_dict(ckpt.load_split(out_dir, cfg.width, split))  # scored as the env loads it: float16 codec
        acc = accuracy(net, data.test)
        meta["splits"][str(split)] = {"test_accuracy": acc, "backbone_sha256": digest, "config": asdict(cfg),
                                      "command": command, "seconds": round(time.time() - t0, 1)}
        _mark_stale(meta, digest)
        ckpt.save_json(meta_path, meta)  # true after every file written
        tqdm.write(f"split {split:2d}: test accuracy {acc:.4f}")
    meta.update(
        seconds=round(time.time() - start, 1),
        hardware=str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        versions={"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()},
    )
    ckpt.save_json(meta_path, meta)
    return meta


def _mark_stale(meta: dict, digest: str) -> None:
    meta["stale_splits"] = sorted(int(k) for k, v in meta["splits"].items() if v.get("backbone_sha256") != digest)
