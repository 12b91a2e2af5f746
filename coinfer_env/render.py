"""Pictures of an episode for ``render()``: a text table (``ansi``) and an image (``rgb_array``)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .architecture import PrunableLayer


def ansi(layers: Sequence[PrunableLayer], kept: Sequence[int | None], info: dict | None) -> str:
    """One row per prunable layer: its shape and the channels kept (``-`` where not decided yet)."""
    rows = [f"{'#':>3} {'layer':<24} {'kind':<4} {'k':>2} {'s':>2} {'in':>5} {'out':>5} {'kept':>5} {'ratio':>6}"]
    for layer, k in zip(layers, kept):
        ratio = "-" if k is None else f"{k / layer.out_channels:.2f}"
        rows.append(f"{layer.index:>3} {layer.name:<24} {layer.kind:<4} {layer.kernel:>2} {layer.stride:>2} "
                    f"{layer.in_channels:>5} {layer.out_channels:>5} {'-' if k is None else k:>5} {ratio:>6}")
    if info:
        rows.append(_summary(info))
    return "\n".join(rows) + "\n"


def _summary(info: dict) -> str:
    return (f"accuracy {info['accuracy']:.3f}, device FLOPs {info['flops'] / info['flops_original']:.1%} of unpruned, "
            f"bits {info['bits'] / info['bits_original']:.2%} of raw, reward {info['reward']:.4f}")


def rgb_array(layers: Sequence[PrunableLayer], kept: Sequence[int | None], info: dict | None) -> np.ndarray:
    """Kept against original channels per layer, with the last episode's accuracy, FLOPs and bits; (H, W, 3) uint8."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.6), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.subplots()
    x = np.arange(len(layers))
    ax.bar(x, [layer.out_channels for layer in layers], color="0.85", label="original")
    ax.bar(x, [0 if k is None else k for k in kept], color="C0", label="kept")
    ax.set_xticks(x, [str(layer.index) for layer in layers], fontsize=6)
    ax.set_xlabel("prunable layer")
    ax.set_ylabel("channels")
    ax.set_title(_summary(info) if info else "episode in progress", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
