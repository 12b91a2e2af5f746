"""Server-based inference (PNG upload) and simple model partition (8-bit + Huffman)."""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from coinfer_env.data import ImageSet, normalize
from coinfer_env.loops import accuracy

from .common import Backbone, Context, Head, Point, Tail, prefix_flops
from .huffman import coded_bits

SCALE_BITS = 32  # the per-image float32 scale of the quantiser


def png_bits(images: np.ndarray) -> np.ndarray:
    """Per-image size in bits of Pillow's PNG at its best compression; images (N, 3, H, W) uint8."""
    sizes = []
    for img in images:
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(img.transpose(1, 2, 0))).save(buf, format="PNG", optimize=True, compress_level=9)
        sizes.append(8 * buf.tell())
    return np.array(sizes)


class ServerPNG:
    """The device sends the PNG-compressed image; the server runs the whole network."""

    name = "server-png"

    def points(self, ctx: Context, splits: Sequence[int]) -> list[Point]:
        net = ctx.plain_network(16)
        acc = accuracy(Backbone(net), ctx.data.test)
        bits = float(png_bits(ctx.data.test.images.numpy()).mean())
        return [Point(self.name, 0, 0, bits, acc, server_flops=ctx.total_flops())]


def quantize_features(feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image uniform 8-bit quantisation of a non-negative feature: (codes, scale)."""
    scale = feat.flatten(1).amax(1).clamp_min(1e-12).view(-1, *[1] * (feat.dim() - 1))
    return torch.round(feat / scale * 255).to(torch.uint8), scale


@torch.no_grad()
def partition_accuracy_and_bits(head, tail, images: ImageSet, mask: torch.Tensor | None = None) -> tuple[float, float]:
    """Accuracy and mean payload of sending the split feature as 8-bit codes, Huffman-coded per image.

    ``mask`` (C,) bool keeps only some channels: the others are neither sent nor used.
    """
    head.eval(), tail.eval()
    correct, bits = 0, []
    device = next(head.parameters()).device
    for start in range(0, len(images), 250):
        x = normalize(images.images[start : start + 250].to(device))
        feat = head(x)
        if mask is not None:
            feat = feat[:, mask]
        codes, scale = quantize_features(feat)
        bits += [coded_bits(c.cpu().numpy()) + SCALE_BITS for c in codes]
        restored = codes.float() / 255 * scale
        if mask is not None:
            full = torch.zeros(feat.shape[0], mask.numel(), *feat.shape[2:], device=device)
            full[:, mask] = restored
            restored = full
        logits = tail(restored)
        correct += (logits.argmax(1).cpu() == images.labels[start : start + 250]).sum().item()
    return correct / len(images), float(np.mean(bits))


class SimplePartition:
    """Split the trained backbone with no codec; 8-bit quantise and Huffman-code the feature."""

    name = "simple-partition"

    def points(self, ctx: Context, splits: Sequence[int]) -> list[Point]:
        out = []
        for k in splits:
            net = ctx.plain_network(k)
            acc, bits = partition_accuracy_and_bits(Head(net, k), Tail(net, k), ctx.data.test)
            flops = prefix_flops(ctx.width, k)
            out.append(Point(self.name, k, flops, bits, acc, server_flops=ctx.total_flops() - flops))
        return out
