"""IPDR: the three-step framework's incremental network pruning, channel-wise (Shao & Zhang 2020, Sec. III-C).

The paper's recipe, per pruning iteration: (1) in every device layer, mask the output
channels whose weights have the smallest L2 norms, as many as the iteration's
sparsity asks; (2) train with the masked channels set to zero, so only unmasked
weights are updated; (3) give the masked weights back the values they had when the
iteration began. The sparsity rises level by level, and (framework step 2) stops at
the first level whose validation accuracy falls below the threshold; the last level
that met it is kept. The authors' code (``model_pruning.py`` of
shaojiawei07/Edge_Inference_three-step_framework) re-draws the masks every 150
batches; here each level is one iteration of ``epochs_per_level`` epochs. The levels also
stop when the training budget runs out, and whatever the levels left of it fine-tunes
the pruned network.

Channels are masked after their BatchNorm, so a masked channel's output is exactly
zero and removing it changes nothing downstream: the kept network is then pruned
physically (:func:`coinfer_env.pruning.prune_to`), and its FLOPs are those of a
smaller dense network, not a sparse kernel's theoretical count.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import torch

from coinfer_env.loops import accuracy
from coinfer_env.network import SplitNetwork
from coinfer_env.recipe import finetune_whole

from .codecs import Pipeline, codec_point, train_pipeline
from .common import Context, Head, Point, Tail, left_over
from .masks import ChannelMasks, drop_lowest


def l2_masks(masks: ChannelMasks, sparsity: float) -> list[torch.Tensor]:
    """In every layer, all but the ``floor(sparsity * C)`` channels of smallest weight L2 norm (one always stays)."""
    out = []
    for conv, _ in masks.layers:
        c = conv.out_channels
        full = torch.ones(c, dtype=torch.bool, device=conv.weight.device)
        out.append(drop_lowest(conv.weight.detach().flatten(1).norm(dim=1), full, min(c - 1, int(sparsity * c))))
    return out


def _pipeline(net: SplitNetwork, k: int) -> Pipeline:
    return Pipeline(Head(net, k), net.device.encoder, net.channel, net.server.decoder, Tail(net, k))


@dataclass
class IPDR:
    """Incremental channel pruning of the device layers during training, then the conv + FC encoder's codec."""

    step: float = 0.1
    """Sparsity added at each level."""
    max_sparsity: float = 0.9
    """The last level tried."""
    drop: float = 0.02
    """Accuracy threshold: the validation accuracy may fall this far below the unpruned codec's (the paper: 95 % to 93 %)."""
    epochs_per_level: int = 1
    """Training epochs of each pruning iteration."""
    codec_epochs: int = 3
    """The conv + FC codec's training with the backbone frozen, before pruning starts."""
    name: str = "ipdr"

    def points(self, ctx: Context, splits: Sequence[int]) -> list[Point]:
        levels = left_over(ctx.budget, self.codec_epochs, self.name, needs=self.epochs_per_level) // self.epochs_per_level
        out = []
        for k in splits:
            net = ctx.plain_network(k)
            net.channel = ctx.make_channel()
            train_pipeline(_pipeline(net, k), ctx, self.codec_epochs, joint_epochs=0)  # step 3's codec first, the backbone frozen
            small, sparsity, epochs = self.prune_incrementally(net, ctx, levels)
            p = _pipeline(small, k).to(ctx.device)
            rest = ctx.budget - self.codec_epochs - epochs
            if rest:  # what the levels left of the budget fine-tunes the pruned network
                finetune_whole(p, ctx.data.train, rest, torch.Generator().manual_seed(ctx.seed))
            p.eval().channel.seed(ctx.seed)
            acc = accuracy(p, ctx.data.test)
            out.append(codec_point(self.name, ctx, k, p, acc, sparsity=round(sparsity, 2),
                                   epochs=self.codec_epochs + epochs + rest, kept="/".join(map(str, small.kept[:-2]))))
        return out

    def prune_incrementally(self, net: SplitNetwork, ctx: Context, max_levels: int) -> tuple[SplitNetwork, float, int]:
        """Raise the sparsity until validation accuracy falls below the threshold or ``max_levels`` are spent;
        (pruned net, its sparsity, epochs spent)."""
        k = net.config.split_point
        p = _pipeline(net, k)
        g = torch.Generator().manual_seed(ctx.seed)
        floor = accuracy(p, ctx.data.val) - self.drop
        masks = ChannelMasks(net)
        best, best_sparsity, epochs = (copy.deepcopy(net.state_dict()), masks.state()), 0.0, 0
        levels = [round(self.step * i, 6) for i in range(1, int(self.max_sparsity / self.step + 1e-9) + 1)][:max_levels]
        for sparsity in levels:
            masks.set(l2_masks(masks, sparsity))
            finetune_whole(p, ctx.data.train, self.epochs_per_level, g, on_step=masks.restore)
            epochs += self.epochs_per_level
            if accuracy(p, ctx.data.val) < floor:
                break
            best, best_sparsity = (copy.deepcopy(net.state_dict()), masks.state()), sparsity
        net.load_state_dict(best[0])
        masks.set(best[1])
        return masks.prune().eval(), best_sparsity, epochs
