"""The learned codecs of the comparison schemes, and one trainer for all of them.

* BottleNet++ (Shao & Zhang 2020): conv 2x2/2 + BN + sigmoid | transposed conv 2x2/2 + BN + ReLU,
  the channel reduction chosen per split point.
* PAA (Jankowski, Gunduz, Mikolajczyk 2020): conv 3x3/2 + GDN + PReLU |
  conv 3x3 + IGDN + PReLU, 2x upsample, conv 3x3 + BN + PReLU.

Both keep ``C // 16`` channels at half resolution: 64x fewer symbols than the
split feature, the ratio BottleNet++ reports for AWGN.
"""

from __future__ import annotations

import torch
from torch import nn

from coinfer_env.channels import Channel
from coinfer_env.loops import accuracy
from coinfer_env.recipe import finetune_whole, train_codec

from .common import Context, Point, counted_flops

REDUCTION = 16


class GDN(nn.Module):
    """Generalised divisive normalisation (Balle et al. 2016): y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2).

    ``inverse=True`` gives IGDN, which multiplies instead. beta and gamma are kept
    non-negative by clamping in the forward pass.
    """

    def __init__(self, channels: int, inverse: bool = False) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(0.1 * torch.eye(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        gamma = self.gamma.clamp_min(0).view(c, c, 1, 1)
        norm = torch.sqrt(nn.functional.conv2d(x * x, gamma, self.beta.clamp_min(1e-6)))
        return x * norm if self.inverse else x / norm


def bottlenet_codec(channels: int, reduction: int = REDUCTION) -> tuple[nn.Module, nn.Module]:
    """BottleNet++ as its paper builds it (Sec. II): conv 2x2 stride 2 to ``channels // reduction`` channels, BN,
    sigmoid | transposed conv 2x2 stride 2 back to ``channels``, BN, ReLU: 4 x ``reduction`` fewer symbols."""
    small = max(1, channels // reduction)
    encoder = nn.Sequential(nn.Conv2d(channels, small, 2, 2, bias=False), nn.BatchNorm2d(small), nn.Sigmoid())
    decoder = nn.Sequential(nn.ConvTranspose2d(small, channels, 2, 2, bias=False), nn.BatchNorm2d(channels), nn.ReLU())
    return encoder, decoder


def paa_codec(channels: int) -> tuple[nn.Module, nn.Module]:
    small = max(1, channels // REDUCTION)
    encoder = nn.Sequential(nn.Conv2d(channels, small, 3, 2, 1), GDN(small), nn.PReLU(small))
    decoder = nn.Sequential(
        nn.Conv2d(small, small, 3, 1, 1), GDN(small, inverse=True), nn.PReLU(small),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(small, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.PReLU(channels),
    )
    return encoder, decoder


class Pipeline(nn.Module):
    """head (device backbone) -> encoder -> channel -> decoder -> tail (server backbone)."""

    def __init__(self, head: nn.Module, encoder: nn.Module, channel: Channel, decoder: nn.Module, tail: nn.Module) -> None:
        super().__init__()
        self.head, self.encoder, self.channel, self.decoder, self.tail = head, encoder, channel, decoder, tail

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.decoder(self.channel(self.encoder(self.head(x)))))


def train_pipeline(p: Pipeline, ctx: Context, codec_epochs: int, joint_epochs: int = 1) -> float:
    """Codec with the backbone frozen (Adam), then a joint fine-tune of everything (SGD); test accuracy."""
    p = p.to(ctx.device)
    g = torch.Generator().manual_seed(ctx.seed)
    train_codec(p, [p.encoder, p.decoder], ctx.data.train, codec_epochs, g)
    finetune_whole(p, ctx.data.train, joint_epochs, g)
    p.channel.seed(ctx.seed)
    return accuracy(p, ctx.data.test)


def codec_point(name: str, ctx: Context, k: int, p: Pipeline, acc: float, bits_per_symbol: float | None = None, **notes) -> Point:
    """A design point of a trained pipeline: device and server FLOPs by torch's counter, symbols x bits per symbol
    (the channel's unless ``bits_per_symbol`` is given)."""
    x = torch.zeros(1, 3, 32, 32, device=ctx.device)
    p.eval()
    with torch.no_grad():
        symbols = p.encoder(p.head(x)).numel()
    device = counted_flops(lambda t: p.encoder(p.head(t)), x)
    server = counted_flops(lambda t: p.tail(p.decoder(p.encoder(p.head(t)))), x) - device
    return Point(name, k, device, symbols * (bits_per_symbol or p.channel.bits_per_symbol), acc, server, notes)
