"""Channel masks on the device blocks, for the schemes that prune while they train (IPDR, PAA).

A mask zeroes a conv1 or conv2 output channel *after its BatchNorm*, so the channel
contributes exactly nothing downstream; :meth:`ChannelMasks.prune` then removes the
masked channels physically (:func:`coinfer_env.pruning.prune_to`) and the smaller
network computes what the masked one did (tested). Which channels to mask is each
scheme's own criterion: L2 weight norms for IPDR, Taylor scores for PAA.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from coinfer_env.network import SplitNetwork
from coinfer_env.pruning import prune_to


class ChannelMasks:
    """Output-channel masks on the conv1 and conv2 of ``net``'s device blocks, applied after their BN.

    ``on_output(i, tensor)``, when set, sees every masked output of layer i (the
    Taylor criterion reads activations and their gradients there).
    """

    def __init__(self, net: SplitNetwork) -> None:
        self.net = net
        self.layers = [pair for b in net.device.blocks for pair in ((b.conv1, b.bn1), (b.conv2, b.bn2))]
        self.masks = [torch.ones(conv.out_channels, dtype=torch.bool, device=conv.weight.device) for conv, _ in self.layers]
        self.on_output: Callable[[int, torch.Tensor], None] | None = None
        self._saved: list[list[torch.Tensor]] = []
        self._hooks = [bn.register_forward_hook(self._hook(i)) for i, (_, bn) in enumerate(self.layers)]

    def _hook(self, i: int):
        def hook(_module, _inputs, out: torch.Tensor) -> torch.Tensor:
            out = out * self.masks[i].view(1, -1, 1, 1).to(out.dtype)
            if self.on_output is not None:
                self.on_output(i, out)
            return out

        return hook

    @torch.no_grad()
    def set(self, masks: Sequence[torch.Tensor]) -> None:
        """Use these masks (True = kept) and remember every weight, so that :meth:`restore` can put masked ones back."""
        self.masks = [m.clone().to(conv.weight.device) for m, (conv, _) in zip(masks, self.layers)]
        self._saved = [[t.detach().clone() for t in _params(conv, bn)] for conv, bn in self.layers]

    @torch.no_grad()
    def restore(self, _loss: float | None = None) -> None:
        """Masked channels get back the weights they had when the masks were set (call after every step)."""
        for mask, (conv, bn), saved in zip(self.masks, self.layers, self._saved):
            for t, s in zip(_params(conv, bn), saved):
                t[~mask] = s[~mask]

    def kept(self) -> list[int]:
        return [int(m.sum()) for m in self.masks]

    def state(self) -> list[torch.Tensor]:
        return [m.clone() for m in self.masks]

    @torch.no_grad()
    def prune(self) -> SplitNetwork:
        """A physically smaller copy of ``net`` without the masked channels; the hooks are removed."""
        for mask, (conv, _) in zip(self.masks, self.layers):
            conv.weight[~mask] = 0.0  # zero L1 norm: prune_to's filter choice keeps exactly the unmasked channels
        for h in self._hooks:
            h.remove()
        return prune_to(self.net, self.kept() + list(self.net.kept[-2:]))


def _params(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> list[torch.Tensor]:
    return [conv.weight, bn.weight, bn.bias]


def drop_lowest(scores: torch.Tensor, mask: torch.Tensor, n: int) -> torch.Tensor:
    """``mask`` with its ``n`` kept entries of lowest score dropped (ties to the lower index)."""
    order = [int(i) for i in torch.argsort(scores, stable=True) if mask[i]]
    out = mask.clone()
    out[order[:n]] = False
    return out
