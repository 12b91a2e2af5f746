"""The split ResNet-50 (CIFAR variant) with its encoder, channel and decoder.

``SplitNetwork`` is built from a :class:`~coinfer_env.architecture.SplitConfig` and a
``kept`` vector, so a pruned network is just a network built with smaller ``kept``
(see :mod:`coinfer_env.pruning`). Shapes come from :mod:`coinfer_env.architecture`.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .architecture import (
    BlockPlan,
    CodecPlan,
    PrunableLayer,
    SplitConfig,
    full_kept,
    plan,
    prunable_layers,
)
from .channels import Channel, make_channel


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride here, as in torchvision's ResNet v1.5) -> 1x1, plus shortcut."""

    def __init__(self, p: BlockPlan) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(p.in_ch, p.mid1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(p.mid1)
        self.conv2 = nn.Conv2d(p.mid1, p.mid2, 3, p.stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(p.mid2)
        self.conv3 = nn.Conv2d(p.mid2, p.out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(p.out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if p.has_projection:
            self.shortcut = nn.Sequential(
                nn.Conv2d(p.in_ch, p.out_ch, 1, p.stride, bias=False), nn.BatchNorm2d(p.out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


class Encoder(nn.Module):
    """conv 3x3/2 -> BN -> ReLU -> flatten -> FC -> sigmoid; symbols lie in [0, 1]."""

    def __init__(self, c: CodecPlan) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c.in_ch, c.enc_ch, 3, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(c.enc_ch)
        self.fc = nn.Linear(c.enc_features, c.symbols)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv(x)))
        return torch.sigmoid(self.fc(x.flatten(1)))


class Decoder(nn.Module):
    """FC -> ReLU -> reshape -> deconv 2x2/2 -> BN -> ReLU, back to the split feature."""

    def __init__(self, c: CodecPlan) -> None:
        super().__init__()
        self.shape = (c.dec_ch, c.out_hw, c.out_hw)
        self.fc = nn.Linear(c.symbols, c.dec_features)
        self.deconv = nn.ConvTranspose2d(c.dec_ch, c.in_ch, 2, 2, bias=False)
        self.bn = nn.BatchNorm2d(c.in_ch)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.fc(z)).view(-1, *self.shape)
        return torch.relu(self.bn(self.deconv(x)))


def stem(width: int) -> nn.Sequential:
    """3x3 conv, stride 1, no max-pool: the CIFAR stem."""
    return nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))


class DevicePart(nn.Module):
    """Stem, blocks 1..k and the encoder: image -> transmitted symbols."""

    def __init__(self, config: SplitConfig, blocks: list[BlockPlan], codec: CodecPlan) -> None:
        super().__init__()
        self.stem = stem(config.width)
        self.blocks = nn.Sequential(*(Bottleneck(b) for b in blocks[: config.split_point]))
        self.encoder = Encoder(codec)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone feature at the split, before the encoder."""
        return self.blocks(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.features(x))


class ServerPart(nn.Module):
    """Decoder, blocks k+1..16, global average pool and the classifier."""

    def __init__(self, config: SplitConfig, blocks: list[BlockPlan], codec: CodecPlan) -> None:
        super().__init__()
        self.decoder = Decoder(codec)
        # Keep the global block numbering in module names: blocks.13 is block 14.
        self.blocks = nn.ModuleDict({str(b.index - 1): Bottleneck(b) for b in blocks[config.split_point :]})
        self.fc = nn.Linear(blocks[-1].out_ch, config.num_classes)

    def tail(self, x: torch.Tensor) -> torch.Tensor:
        """Blocks k+1..16 and the classifier, from a split feature."""
        for block in self.blocks.values():
            x = block(x)
        return self.fc(x.mean((2, 3)))  # global average pool; unlike adaptive_avg_pool2d, deterministic on CUDA

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.tail(self.decoder(z))


class SplitNetwork(nn.Module):
    """``net(x) == net.server(net.channel(net.device(x)))``.

    Attributes:
        config: width, split point and classes.
        kept: channels kept in each prunable layer (the unpruned widths if not pruned).
        device: stem, blocks 1..k and encoder.
        channel: the link, no trainable weights.
        server: decoder, blocks k+1..16, pool and FC.
    """

    def __init__(self, config: SplitConfig, kept: Sequence[int] | None = None, channel: Channel | None = None) -> None:
        super().__init__()
        blocks, codec = plan(config, kept)
        self.config = config
        self.kept = tuple(full_kept(config) if kept is None else (int(k) for k in kept))
        self.device = DevicePart(config, blocks, codec)
        self.channel = channel if channel is not None else make_channel("ideal")
        self.server = ServerPart(config, blocks, codec)

    @property
    def prunable_layers(self) -> list[PrunableLayer]:
        """Descriptors of the layers an agent prunes, in episode order (unpruned shapes)."""
        return prunable_layers(self.config)

    @property
    def bits_per_symbol(self) -> int:
        return self.channel.bits_per_symbol

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.server(self.channel(self.device(x)))

    def backbone(self, x: torch.Tensor) -> torch.Tensor:
        """The network without its codec and channel: the plain ResNet-50."""
        return self.server.tail(self.device.features(x))


class Backbone(nn.Module):
    """A SplitNetwork's plain ResNet-50 forward, without codec or channel (for training and baselines)."""

    def __init__(self, net: SplitNetwork) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.backbone(x)


def build_split_resnet50(
    width: int = 64,
    split_point: int = 13,
    num_classes: int = 10,
    channel: str = "ideal",
    **channel_kwargs: float,
) -> SplitNetwork:
    """Build the CIFAR ResNet-50, split after residual block ``split_point`` (1..16).

    ``channel`` is one of ``ideal``, ``quantize``, ``awgn``, ``bec``, ``bsc``; its
    settings (``bits``, ``snr_db``, ``erasure_prob``, ``flip_prob``) go in
    ``channel_kwargs``. Weights are freshly initialised.
    """
    config = SplitConfig(width, split_point, num_classes)
    return SplitNetwork(config, channel=make_channel(channel, **channel_kwargs))
