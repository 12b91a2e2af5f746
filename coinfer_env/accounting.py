"""Exact analytic FLOPs, payload bits and parameter counts of a split network.

Computed from layer shapes (:func:`coinfer_env.architecture.layers`), not from a
profiler, so they cost microseconds and can be evaluated for a ``kept`` vector
without building the network. The tests check them against
``torch.utils.flop_counter.FlopCounterMode`` on the real modules.

Conventions (the paper's symbols):
    Lambda (``flops_original``): the unpruned backbone up to the split, no codec.
    lambda (``flops``): the pruned device part, encoder included.
    Omega (``bits_original``): the raw split feature C*H*W at 32 bits.
    omega (``bits``): encoder FC outputs x the channel's bits per symbol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .architecture import SplitConfig, full_kept, layers, split_feature_shape

FLOAT_BITS = 32


@dataclass(frozen=True)
class Cost:
    """Per-image cost of one split network."""

    flops: int  # lambda
    flops_original: int  # Lambda
    server_flops: int
    bits: int  # omega
    bits_original: int  # Omega
    device_params: int
    server_params: int


def device_flops(config: SplitConfig, kept: Sequence[int] | None = None, codec: bool = True) -> int:
    """FLOPs of the device part; ``codec=False`` leaves out the encoder."""
    return sum(L.flops for L in layers(config, kept) if L.part == "device" and (codec or not L.is_codec))


class DeviceFlopsModel:
    """``device_flops(config, kept)`` in microseconds, for the environment's every step.

    A layer's FLOPs are linear in each of the (at most two) kept counts it reads, so
    flops(kept) = unpruned flops x prod(kept[x] / full[x]) over those x. Which x each
    layer reads is found once by probing :func:`layers`, the single source of shapes.
    """

    def __init__(self, config: SplitConfig) -> None:
        self.full = full_kept(config)
        unpruned = {L.name: L.flops for L in layers(config) if L.part == "device"}
        reads: dict[str, list[int]] = {name: [] for name in unpruned}
        for x in range(len(self.full)):
            probe = list(self.full)
            probe[x] = max(1, self.full[x] // 2) if self.full[x] > 1 else 1
            for L in layers(config, probe):
                if L.part == "device" and L.flops != unpruned[L.name]:
                    reads[L.name].append(x)
        self.fixed = sum(f for name, f in unpruned.items() if not reads[name])
        self.terms = [(f, tuple(reads[name])) for name, f in unpruned.items() if reads[name]]

    def __call__(self, kept: Sequence[int]) -> int:
        total = self.fixed
        for flops, xs in self.terms:
            num, den = flops, 1
            for x in xs:
                num, den = num * kept[x], den * self.full[x]
            total += num // den  # exact: flops is a multiple of the product of the full counts
        return total


def original_bits(config: SplitConfig) -> int:
    c, h, w = split_feature_shape(config)
    return c * h * w * FLOAT_BITS


def cost(config: SplitConfig, kept: Sequence[int] | None = None, bits_per_symbol: int = FLOAT_BITS) -> Cost:
    """Every figure at once, for ``kept`` (``None``: unpruned)."""
    all_layers = list(layers(config, kept))
    device = [L for L in all_layers if L.part == "device"]
    server = [L for L in all_layers if L.part == "server"]
    symbols = next(L.out_ch for L in device if L.name == "encoder.fc")
    return Cost(
        flops=sum(L.flops for L in device),
        flops_original=device_flops(config, None, codec=False),
        server_flops=sum(L.flops for L in server),
        bits=symbols * bits_per_symbol,
        bits_original=original_bits(config),
        device_params=sum(L.params for L in device),
        server_params=sum(L.params for L in server),
    )


def backbone_flops(config: SplitConfig) -> int:
    """FLOPs of the whole unpruned ResNet-50 without the codec."""
    return sum(L.flops for L in layers(config) if not L.is_codec)
