"""Step 1 of the paper: train the backbone, then a codec for each split point.

``coinfer train`` calls :func:`train`. The backbone is trained once (SGD with
Nesterov momentum, one-cycle schedule, crop-and-flip augmentation, label
smoothing 0.1). Then, for each requested split, the codec is inserted and trained
with the backbone frozen (Adam), followed by a short joint fine-tune of the whole
network (SGD, cosine), all through the configured channel. Accuracy on the test
split is recorded per split point in the metadata JSON.
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from . import checkpoints as ckpt
from .architecture import NUM_BLOCKS, SplitConfig
from .channels import make_channel
from .data import Splits
from .loops import accuracy, epoch_steps, train_steps
from .network import Backbone, SplitNetwork


@dataclass
class TrainConfig:
    """Hyper-parameters of step 1."""

    width: int = 8
    """Network width: 8 for the Tiny id, 64 for ResNet-50."""
    splits: list[int] = field(default_factory=lambda: list(range(1, NUM_BLOCKS + 1)))
    """Split points to train a codec for."""
    epochs: int = 60
    """Backbone epochs over the training split."""
    codec_epochs: int = 6
    """Epochs of codec training with the backbone frozen, per split."""
    joint_epochs: int = 2
    """Epochs of joint fine-tuning of the whole network, per split."""
    batch: int = 128
    """Mini-batch size everywhere."""
    lr: float = 0.1
    """Peak learning rate of the backbone's one-cycle schedule."""
    codec_lr: float = 1e-3
    """Adam learning rate for the codec."""
    joint_lr: float = 0.01
    """Initial SGD learning rate of the joint fine-tune (cosine to 0)."""
    weight_decay: float = 5e-4
    """L2 penalty for SGD."""
    label_smoothing: float = 0.1
    """Label smoothing of the backbone's loss."""
    seed: int = 0
    """Seeds weight init, batch order and augmentation."""
    channel: str = "ideal"
    """Channel the codec is trained through."""
    channel_kwargs: dict = field(default_factory=dict)
    """Channel settings (bits, snr_db, erasure_prob, flip_prob)."""


def _sgd(params, lr: float, wd: float) -> torch.optim.SGD:
    return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=wd)


def train_backbone(cfg: TrainConfig, data: Splits, device: torch.device) -> tuple[dict, float]:
    """Train the plain ResNet-50 (no codec); return its canonical state and test accuracy."""
    torch.manual_seed(cfg.seed)
    net = SplitNetwork(SplitConfig(cfg.width, NUM_BLOCKS)).to(device)
    model = Backbone(net)
    steps = epoch_steps(cfg.epochs, len(data.train), cfg.batch)
    params = [p for n, p in net.named_parameters() if "coder" not in n]
    opt = _sgd(params, cfg.lr, cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=steps)
    g = torch.Generator().manual_seed(cfg.seed)
    with tqdm(total=steps, desc=f"backbone w{cfg.width}", unit="step") as bar:
        model.train()
        trainepoch_steps(model, data.train, steps, cfg.batch, opt, g, scheduler=sched, augmented=True,
                    label_smoothing=cfg.label_smoothing, on_step=lambda loss: (bar.update(), bar.set_postfix(loss=f"{loss:.3f}")))
    return ckpt.backbone_state(net), accuracy(model, data.test)


def train_codec(cfg: TrainConfig, backbone: dict, split: int, data: Splits, device: torch.device) -> tuple[SplitNetwork, float]:
    """Insert the codec at ``split``, train it with the backbone frozen, then fine-tune jointly."""
    torch.manual_seed(cfg.seed + split)
    net = SplitNetwork(SplitConfig(cfg.width, split), channel=make_channel(cfg.channel, **cfg.channel_kwargs))
    ckpt.load_backbone(net, backbone)
    net.channel.seed(cfg.seed + split)
    net = net.to(device)
    g = torch.Generator().manual_seed(cfg.seed + split)
    codec = [p for n, p in net.named_parameters() if "coder" in n]
    frozen = [p for n, p in net.named_parameters() if "coder" not in n]
    for p in frozen:
        p.requires_grad_(False)
    net.eval()  # frozen backbone BN keeps its statistics
    net.device.encoder.train()
    net.server.decoder.train()
    steps = epoch_steps(cfg.codec_epochs, len(data.train), cfg.batch)
    with tqdm(total=steps, desc=f"codec split {split}", unit="step", leave=False) as bar:
        trainepoch_steps(net, data.train, steps, cfg.batch, torch.optim.Adam(codec, cfg.codec_lr), g,
                    augmented=True, on_step=lambda _: bar.update())
    for p in frozen:
        p.requires_grad_(True)
    net.train()
    steps = epoch_steps(cfg.joint_epochs, len(data.train), cfg.batch)
    opt = _sgd(net.parameters(), cfg.joint_lr, cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    with tqdm(total=steps, desc=f"joint split {split}", unit="step", leave=False) as bar:
        trainepoch_steps(net, data.train, steps, cfg.batch, opt, g, scheduler=sched, augmented=True,
                    on_step=lambda _: bar.update())
    net.channel.seed(cfg.seed)
    return net, accuracy(net, data.test)


def train(cfg: TrainConfig, data: Splits, out_dir, device: torch.device, command: str = "") -> dict:
    """Train and write every artifact atomically; return the metadata written."""
    start = time.time()
    meta = ckpt.load_json(ckpt.meta_file(out_dir, cfg.width))
    backbone, acc = train_backbone(cfg, data, device)
    ckpt.save_state(ckpt.backbone_file(out_dir, cfg.width), backbone)
    meta.update(backbone_test_accuracy=acc, config=asdict(cfg), seed=cfg.seed)
    meta.setdefault("split_test_accuracy", {})
    for split in tqdm(cfg.splits, desc="split points", unit="split"):
        net, acc = train_codec(cfg, backbone, split, data, device)
        ckpt.save_state(ckpt.split_file(out_dir, cfg.width, split), net.state_dict())
        meta["split_test_accuracy"][str(split)] = acc
        tqdm.write(f"split {split:2d}: test accuracy {acc:.4f}")
    meta.update(
        command=command or "coinfer " + " ".join(sys.argv[1:]),
        seconds=round(time.time() - start, 1),
        device=str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        versions={"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()},
        test_images=len(data.test),
    )
    ckpt.save_json(ckpt.meta_file(out_dir, cfg.width), meta)
    return meta
