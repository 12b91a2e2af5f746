"""The shape plan of the CIFAR ResNet-50 split network.

Everything else (the module builder, pruning, the analytic accounting, the
environment's observation) reads layer shapes from here, so there is exactly one
place that knows how wide and how large each layer is. Nothing here touches torch.

A network is described by a :class:`SplitConfig` (width, split point, classes) and
a ``kept`` vector: the number of output channels (or neurons) kept in each prunable
layer, in episode order. ``full_kept(config)`` is the unpruned network.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Iterator, Literal, Sequence

import numpy as np

from .validation import integer

IMAGE_SIZE = 32
BLOCKS_PER_STAGE = (3, 4, 6, 3)
STAGE_STRIDES = (1, 2, 2, 2)
EXPANSION = 4
NUM_BLOCKS = sum(BLOCKS_PER_STAGE)  # 16 residual blocks = the 16 split points
STAGE_NAMES = ("conv2_x", "conv3_x", "conv4_x", "conv5_x")


@dataclass(frozen=True)
class SplitConfig:
    """What fixes the architecture before pruning.

    Attributes:
        width: channels of the stem; the stage inner widths are width * (1, 2, 4, 8).
        split_point: the split comes after residual block ``split_point`` (1..16).
        num_classes: outputs of the final FC layer.
        prune_decoder: the decoder keeps the encoder conv's share of its channels
            (the AutoML paper's Section III: the decoder is pruned with the
            encoder's ratio); False (the default) keeps the decoder whole.
    """

    width: int = 64
    split_point: int = 13
    num_classes: int = 10
    prune_decoder: bool = False

    def __post_init__(self) -> None:
        # frozen: normalise (numpy integers -> int) through object.__setattr__
        object.__setattr__(self, "width", integer("width", self.width, 1, hint=" (64 is ResNet-50, 8 the Tiny variant)"))
        object.__setattr__(self, "split_point", integer(
            "split_point", self.split_point, 1, NUM_BLOCKS, hint=" (the split comes after that residual block; 13 is after conv4_x)"))
        object.__setattr__(self, "num_classes", integer("num_classes", self.num_classes, 1))
        if not isinstance(self.prune_decoder, (bool, np.bool_)):
            raise ValueError(f"prune_decoder={self.prune_decoder!r} is invalid: use True or False")
        object.__setattr__(self, "prune_decoder", bool(self.prune_decoder))


@dataclass(frozen=True)
class BlockPlan:
    """One bottleneck block: 1x1 (in->mid1), 3x3 stride s (mid1->mid2), 1x1 (mid2->out)."""

    index: int  # 1..16
    in_ch: int
    mid1: int
    mid2: int
    out_ch: int
    stride: int
    in_hw: int

    @property
    def out_hw(self) -> int:
        return conv_out(self.in_hw, 3, self.stride, 1)

    @property
    def has_projection(self) -> bool:
        return self.stride != 1 or self.in_ch != self.out_ch


@dataclass(frozen=True)
class CodecPlan:
    """Encoder: conv 3x3/2 (C->enc_ch), BN, ReLU, flatten (D), FC (D->symbols), sigmoid.

    Decoder: FC (symbols->dec_features), ReLU, reshape (dec_ch, h, w), deconv 2x2/2
    (dec_ch->C), BN, ReLU. The decoder is server-side and always restores the full
    split feature; ``dec_ch`` is pruned with the encoder conv only when the config
    asks for it (``prune_decoder``).
    """

    in_ch: int  # C, channels of the split feature
    in_hw: int  # H = W of the split feature
    enc_ch: int  # encoder conv output channels (prunable)
    symbols: int  # encoder FC outputs = symbols sent per image (prunable)
    dec_ch: int  # unpruned encoder channels, the decoder's reshape

    @property
    def out_hw(self) -> int:
        return conv_out(self.in_hw, 3, 2, 1)

    @property
    def enc_features(self) -> int:  # D of the (possibly pruned) encoder
        return self.enc_ch * self.out_hw**2

    @property
    def dec_features(self) -> int:
        return self.dec_ch * self.out_hw**2


LayerKind = Literal["conv", "deconv", "fc"]


@dataclass(frozen=True)
class Layer:
    """A weight layer with the shapes that fix its FLOPs and parameter count.

    ``hw`` is the spatial size of the input (1 for FC layers). FLOPs follow
    ``torch.utils.flop_counter``: 2 per multiply-accumulate, biases, BN, ReLU,
    additions and pooling free.
    """

    name: str
    kind: LayerKind
    in_ch: int
    out_ch: int
    kernel: int
    stride: int
    hw: int
    part: Literal["device", "server"]
    is_codec: bool = False
    bias: bool = False
    batchnorm: bool = True

    @property
    def out_hw(self) -> int:
        if self.kind == "fc":
            return 1
        if self.kind == "deconv":
            return self.hw * self.stride
        return conv_out(self.hw, self.kernel, self.stride, self.kernel // 2)

    @property
    def flops(self) -> int:
        # A transposed conv does its MACs per *input* pixel, a conv per output pixel.
        pixels = self.hw**2 if self.kind == "deconv" else self.out_hw**2
        return 2 * self.in_ch * self.out_ch * self.kernel**2 * pixels

    @property
    def params(self) -> int:
        n = self.in_ch * self.out_ch * self.kernel**2
        n += self.out_ch if self.bias else 0
        n += 2 * self.out_ch if self.batchnorm else 0
        return n


@dataclass(frozen=True)
class PrunableLayer:
    """Descriptor of one layer an agent decides on (one episode step).

    ``in_size`` is the input's spatial size for convs and its feature count for
    the FC layer; ``flops`` is the layer's own cost in the unpruned network.
    """

    index: int
    name: str
    kind: Literal["conv", "fc"]
    kernel: int
    stride: int
    in_channels: int
    out_channels: int
    in_size: int
    flops: int


def conv_out(hw: int, kernel: int, stride: int, padding: int) -> int:
    return (hw + 2 * padding - kernel) // stride + 1


def stage_of(block: int) -> int:
    """0-based stage of 1-based block index."""
    edges = [sum(BLOCKS_PER_STAGE[: s + 1]) for s in range(4)]
    return next(s for s, edge in enumerate(edges) if block <= edge)


def _unpruned_blocks(width: int) -> list[BlockPlan]:
    return list(_unpruned_blocks_cached(width))


@functools.lru_cache(maxsize=None)  # an episode step asks for it; it never changes
def _unpruned_blocks_cached(width: int) -> tuple[BlockPlan, ...]:
    blocks: list[BlockPlan] = []
    in_ch, hw = width, IMAGE_SIZE
    for stage, n in enumerate(BLOCKS_PER_STAGE):
        mid = width * 2**stage
        for b in range(n):
            stride = STAGE_STRIDES[stage] if b == 0 else 1
            blocks.append(BlockPlan(len(blocks) + 1, in_ch, mid, mid, mid * EXPANSION, stride, hw))
            in_ch, hw = mid * EXPANSION, blocks[-1].out_hw
    return tuple(blocks)


def _unpruned_codec(config: SplitConfig) -> CodecPlan:
    split = _unpruned_blocks(config.width)[config.split_point - 1]
    enc_ch = max(1, split.out_ch // 8)
    hw = conv_out(split.out_hw, 3, 2, 1)
    return CodecPlan(split.out_ch, split.out_hw, enc_ch, max(1, enc_ch * hw * hw // 4), enc_ch)


def num_prunable(config: SplitConfig) -> int:
    return 2 * config.split_point + 2


def full_kept(config: SplitConfig) -> tuple[int, ...]:
    """The ``kept`` vector of the unpruned network."""
    blocks = _unpruned_blocks(config.width)[: config.split_point]
    codec = _unpruned_codec(config)
    return tuple(c for b in blocks for c in (b.mid1, b.mid2)) + (codec.enc_ch, codec.symbols)


def check_kept(config: SplitConfig, kept: Sequence[int]) -> tuple[int, ...]:
    full = full_kept(config)
    if len(kept) != len(full):
        raise ValueError(f"kept has {len(kept)} entries; split point {config.split_point} needs {len(full)}")
    bad = [(i, k, f) for i, (k, f) in enumerate(zip(kept, full)) if not 1 <= int(k) <= f]
    if bad:
        i, k, f = bad[0]
        raise ValueError(f"kept[{i}]={k} is out of range: layer {i} has 1..{f} channels")
    return tuple(int(k) for k in kept)


def plan(config: SplitConfig, kept: Sequence[int] | None = None) -> tuple[list[BlockPlan], CodecPlan]:
    """All 16 blocks and the codec, with the device-side ones narrowed by ``kept``."""
    kept = full_kept(config) if kept is None else check_kept(config, kept)
    blocks = _unpruned_blocks(config.width)
    for j in range(config.split_point):
        b = blocks[j]
        blocks[j] = BlockPlan(b.index, b.in_ch, kept[2 * j], kept[2 * j + 1], b.out_ch, b.stride, b.in_hw)
    c = _unpruned_codec(config)
    codec = CodecPlan(c.in_ch, c.in_hw, kept[-2], kept[-1], kept[-2] if config.prune_decoder else c.dec_ch)
    return blocks, codec


def layers(config: SplitConfig, kept: Sequence[int] | None = None) -> Iterator[Layer]:
    """Every weight layer in forward order, tagged device or server."""
    blocks, codec = plan(config, kept)
    yield Layer("stem", "conv", 3, config.width, 3, 1, IMAGE_SIZE, "device")
    for b in blocks:
        part = "device" if b.index <= config.split_point else "server"
        if part == "server" and b.index == config.split_point + 1:
            yield from _codec_layers(codec, "server")
        p = f"blocks.{b.index - 1}"
        yield Layer(f"{p}.conv1", "conv", b.in_ch, b.mid1, 1, 1, b.in_hw, part)
        yield Layer(f"{p}.conv2", "conv", b.mid1, b.mid2, 3, b.stride, b.in_hw, part)
        yield Layer(f"{p}.conv3", "conv", b.mid2, b.out_ch, 1, 1, b.out_hw, part)
        if b.has_projection:
            yield Layer(f"{p}.shortcut", "conv", b.in_ch, b.out_ch, 1, b.stride, b.in_hw, part)
        if b.index == config.split_point:
            yield from _codec_layers(codec, "device")
    if config.split_point == NUM_BLOCKS:
        yield from _codec_layers(codec, "server")
    yield Layer("fc", "fc", blocks[-1].out_ch, config.num_classes, 1, 1, 1, "server", bias=True, batchnorm=False)


def _codec_layers(c: CodecPlan, part: str) -> Iterator[Layer]:
    if part == "device":
        yield Layer("encoder.conv", "conv", c.in_ch, c.enc_ch, 3, 2, c.in_hw, "device", True)
        yield Layer("encoder.fc", "fc", c.enc_features, c.symbols, 1, 1, 1, "device", True, bias=True, batchnorm=False)
    else:
        yield Layer("decoder.fc", "fc", c.symbols, c.dec_features, 1, 1, 1, "server", True, bias=True, batchnorm=False)
        yield Layer("decoder.deconv", "deconv", c.dec_ch, c.in_ch, 2, 2, c.out_hw, "server", True)


def prunable_layers(config: SplitConfig) -> list[PrunableLayer]:
    """The layers an agent decides on, in episode order (2k + 2 of them)."""
    names = [f"blocks.{j}.conv{n}" for j in range(config.split_point) for n in (1, 2)]
    names += ["encoder.conv", "encoder.fc"]
    by_name = {layer.name: layer for layer in layers(config)}
    out = []
    for i, name in enumerate(names):
        L = by_name[name]
        in_size = L.in_ch if L.kind == "fc" else L.hw
        out.append(PrunableLayer(i, name, L.kind, L.kernel, L.stride, L.in_ch, L.out_ch, in_size, L.flops))
    return out


def split_feature_shape(config: SplitConfig) -> tuple[int, int, int]:
    """(C, H, W) of the backbone feature at the split point."""
    b = _unpruned_blocks(config.width)[config.split_point - 1]
    return b.out_ch, b.out_hw, b.out_hw


def kept_from_ratios(config: SplitConfig, ratios: Sequence[float]) -> tuple[int, ...]:
    """Channels kept for preserved ratios a_i: min(c, max(1, round(a_i * c)))."""
    full = full_kept(config)
    if len(ratios) != len(full):
        raise ValueError(
            f"got {len(ratios)} preserved ratios; split point {config.split_point} has {len(full)} "
            "prunable layers (2k + 2): give one ratio per entry of net.prunable_layers"
        )
    for i, a in enumerate(ratios):
        a = float(a)
        if math.isnan(a) or not 0.0 <= a <= 1.0:
            raise ValueError(f"preserved ratio {i} is {a}; each ratio must be a number in [0, 1]")
    return tuple(kept_count(a, c) for a, c in zip(ratios, full))


def kept_count(ratio: float, channels: int) -> int:
    """Channels a preserved ratio keeps: min(c, max(1, round(a * c)))."""
    return min(channels, max(1, round(float(ratio) * channels)))
