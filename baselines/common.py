"""What every comparison scheme shares: its result points and the trained starting point.

A scheme is an object with ``name`` and ``points(ctx, splits) -> list[Point]``. Each
point is one deployable design: where the network is split, what the device
computes per image, what it sends per image, and the accuracy on the test split.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol, Sequence

import torch

from coinfer_env import checkpoints as ckpt
from coinfer_env.accounting import backbone_flops
from coinfer_env.architecture import NUM_BLOCKS, SplitConfig, layers
from coinfer_env.data import Splits
from coinfer_env.network import Backbone, SplitNetwork  # noqa: F401  (Backbone re-exported)


@dataclass
class Point:
    """One design: per-image device FLOPs and payload bits, and test accuracy in [0, 1]."""

    scheme: str
    split_point: int
    device_flops: int
    payload_bits: float
    test_accuracy: float
    server_flops: int = 0
    notes: dict = field(default_factory=dict)

    def row(self) -> dict:
        d = asdict(self)
        d["notes"] = ";".join(f"{k}={v}" for k, v in self.notes.items())
        return d


@dataclass
class Context:
    """The trained backbone, data and budgets every scheme starts from.

    Attributes:
        width: network width (8 for the Tiny id).
        backbone: canonical backbone weights (``checkpoints.backbone_state``).
        data: train / val / test images; train already on ``device``.
        device: where training runs.
        seed: seeds every training run.
        budget: training epochs over ``data.train`` that every learned scheme spends per split
            point, all its stages together (see :func:`left_over`); the proposed method's
            include the step-1 codec it starts from.
        env_id: the environment the proposed method searches.
        channel, channel_kwargs: the link every learned codec is trained and scored through.
    """

    width: int
    backbone: dict
    data: Splits
    device: torch.device
    seed: int = 0
    budget: int = 12
    env_id: str = "CoInfer-ResNet50-Tiny-v0"
    channel: str = "quantize"
    channel_kwargs: dict = field(default_factory=lambda: {"bits": 8})

    @classmethod
    def load(cls, env_id: str = "CoInfer-ResNet50-Tiny-v0", device: str = "auto", dataset: str | None = None, **kwargs) -> "Context":
        """The trained backbone and data of ``env_id``'s preset."""
        from coinfer_env.data import load
        from coinfer_env.envs import resolve_device
        from coinfer_env.presets import preset

        p = preset(env_id)
        dev = resolve_device(device)
        data = load(dataset or p["dataset"])
        data = Splits(data.train.to(dev), data.val, data.test)
        from coinfer_env.envs import default_checkpoint_dir

        directory = default_checkpoint_dir(SplitConfig(p["width"], NUM_BLOCKS))
        backbone = ckpt.load_state(ckpt.backbone_file(directory, p["width"]))
        return cls(p["width"], backbone, data, dev, env_id=env_id, **kwargs)

    def make_channel(self):
        from coinfer_env.channels import make_channel

        ch = make_channel(self.channel, **self.channel_kwargs)
        ch.seed(self.seed)
        return ch

    def plain_network(self, split: int) -> SplitNetwork:
        """The trained backbone as a SplitNetwork (its codec untrained and unused)."""
        net = SplitNetwork(SplitConfig(self.width, split))
        ckpt.load_backbone(net, self.backbone)
        return net.to(self.device).eval()

    def total_flops(self) -> int:
        return backbone_flops(SplitConfig(self.width, 1))


def left_over(budget: int, spent: int, name: str, needs: int = 1) -> int:
    """Epochs of ``budget`` left after ``spent``; a ValueError naming the budget if fewer than ``needs`` are.

    Every learned scheme has fixed stages and one that takes what is left, so that each
    spends exactly the budget and they compare on equal training.
    """
    if budget - spent < needs:
        raise ValueError(f"budget {budget} epochs is too small for {name}: it needs at least {spent + needs}; raise --budget")
    return budget - spent


class Scheme(Protocol):
    name: str

    def points(self, ctx: Context, splits: Sequence[int]) -> list[Point]: ...


def prefix_flops(width: int, split: int, kept: Sequence[int] | None = None, full_split: int | None = None) -> int:
    """FLOPs of the stem and blocks 1..split, no codec.

    With ``full_split`` the ``kept`` vector belongs to a network split at that point
    (so pruning can reach past ``split``); only layers up to ``split`` are counted.
    """
    config = SplitConfig(width, full_split or split)
    total = 0
    for L in layers(config, kept):
        if L.is_codec or L.name == "fc":
            continue
        if L.name == "stem" or int(L.name.split(".")[1]) < split:
            total += L.flops
    return total


class Head(torch.nn.Module):
    """Stem and blocks 1..k of a network split anywhere (the device's backbone)."""

    def __init__(self, net: SplitNetwork, k: int) -> None:
        super().__init__()
        self.stem = net.device.stem
        self.blocks = torch.nn.Sequential(*all_blocks(net)[:k])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))


class Tail(torch.nn.Module):
    """Blocks k+1..16, pool and classifier (the server's backbone)."""

    def __init__(self, net: SplitNetwork, k: int) -> None:
        super().__init__()
        self.blocks = torch.nn.Sequential(*all_blocks(net)[k:])
        self.fc = net.server.fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(x).mean((2, 3)))


def all_blocks(net: SplitNetwork) -> list:
    return list(net.device.blocks) + list(net.server.blocks.values())


def counted_flops(fn, x: torch.Tensor) -> int:
    """FLOPs of ``fn(x)`` for one input, by torch's own counter."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        fn(x)
    return counter.get_total_flops()
