"""PAA: pruning plus an asymmetric DeepJSCC autoencoder (Jankowski, Gunduz, Mikolajczyk 2020).

The paper's training, Sec. II-D: prune the network up to the split by the Taylor
criterion of Molchanov et al. (ICLR 2017), a batch of filters per iteration, each
iteration followed by fine-tuning; then train the GDN autoencoder through an AWGN
channel and fine-tune end to end.

Taylor criterion: the loss change from removing feature map k is approximated by
|mean over positions of activation x gradient|, averaged over examples and
normalised by its L2 norm within each layer, so that layers compare; the lowest
scores across all device layers are pruned first. Scores are taken where the masks
act (after BN, before ReLU): below zero ReLU passes no gradient, so the product
equals the post-ReLU one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from coinfer_env.channels import make_channel
from coinfer_env.data import augment, normalize
from coinfer_env.loops import batch_indices
from coinfer_env.network import Backbone, SplitNetwork
from coinfer_env.recipe import finetune_whole

from .codecs import Pipeline, codec_point, paa_codec, train_pipeline
from .common import Context, Head, Point, Tail, left_over
from .masks import ChannelMasks


def taylor_scores(net: SplitNetwork, masks: ChannelMasks, images: torch.Tensor, labels: torch.Tensor) -> list[torch.Tensor]:
    """Per device layer, each channel's |spatial mean of activation x dLoss/dactivation|, averaged over the images."""
    sums = [torch.zeros(conv.out_channels, device=conv.weight.device) for conv, _ in masks.layers]

    def capture(i: int, out: torch.Tensor) -> None:
        if out.requires_grad:
            a = out.detach().clone()  # the block's in-place ReLU overwrites ``out`` after this hook

            def accumulate(g: torch.Tensor) -> None:  # returns None: the gradient flows on unchanged
                sums[i].add_((a * g).mean((2, 3)).abs().sum(0))

            out.register_hook(accumulate)

    model = Backbone(net)
    was_training = model.training
    model.eval()  # BN statistics stay as they are: the scores describe the network being pruned
    masks.on_output = capture
    try:
        # sum, not mean, over the batch: each image's gradient is then its own, whatever the batch size
        nn.functional.cross_entropy(model(normalize(images)), labels, reduction="sum").backward()
    finally:
        masks.on_output = None
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return [s / len(images) for s in sums]


def normalised(scores: list[torch.Tensor]) -> list[torch.Tensor]:
    """Each layer's scores divided by their L2 norm (Molchanov et al., Sec. 2.2)."""
    return [s / s.norm().clamp_min(1e-12) for s in scores]


def prune_globally(scores: list[torch.Tensor], masks: list[torch.Tensor], n: int) -> list[torch.Tensor]:
    """Drop the ``n`` kept channels of lowest score across all layers; every layer keeps at least one."""
    candidates = sorted((float(s[c]), i, c) for i, (s, m) in enumerate(zip(scores, masks)) for c in range(len(m)) if m[c])
    out = [m.clone() for m in masks]
    for _, i, c in candidates:
        if n == 0:
            break
        if int(out[i].sum()) > 1:
            out[i][c] = False
            n -= 1
    return out


def capacity_bits(snr_db: float) -> float:
    """Bits one real AWGN channel use carries at capacity, 0.5 log2(1 + SNR): what a digital scheme could send in the
    channel uses PAA's analog symbols take, so that its payload compares with the others' bits."""
    return 0.5 * math.log2(1 + 10 ** (snr_db / 10))


@dataclass
class PAA:
    """Taylor-pruned device blocks and a GDN autoencoder trained through AWGN."""

    ratio: float = 0.5
    """Fraction of the device conv1/conv2 channels pruned (the paper's Fig. 5 uses 0.5)."""
    iterations: int = 5
    """Pruning iterations; each removes ``ratio / iterations`` of the channels, then fine-tunes."""
    epochs_per_iteration: int = 1
    """Whole-network fine-tune after each iteration (the paper: 10 epochs at lr 1e-4, on all of CIFAR-100)."""
    joint_epochs: int = 2
    """End-to-end fine-tune after the autoencoder; the autoencoder alone gets what is left of the budget."""
    score_images: int = 512
    """Training images the Taylor scores are averaged over, per iteration."""
    snr_db: float = 20.0
    """SNR of the unit-average-power AWGN link its analog symbols cross (the PAA paper's channel)."""
    name: str = "paa"

    def points(self, ctx: Context, splits: Sequence[int]) -> list[Point]:
        pruning = self.iterations * self.epochs_per_iteration
        codec = left_over(ctx.budget, pruning + self.joint_epochs, self.name)
        out = []
        for k in splits:
            small = self.prune(ctx.plain_network(k), ctx)
            enc, dec = paa_codec(small.device.encoder.conv.in_channels)
            channel = make_channel("awgn", snr_db=self.snr_db)
            channel.seed(ctx.seed)
            p = Pipeline(Head(small, k), enc, channel, dec, Tail(small, k))
            acc = train_pipeline(p, ctx, codec, self.joint_epochs)
            out.append(codec_point(self.name, ctx, k, p, acc, capacity_bits(self.snr_db), ratio=self.ratio, snr_db=self.snr_db,
                                   epochs=pruning + codec + self.joint_epochs,
                                   kept="/".join(map(str, small.kept[:-2]))))
        return out

    def prune(self, net: SplitNetwork, ctx: Context) -> SplitNetwork:
        """Iterative Taylor pruning of ``net``'s device layers, fine-tuning after each iteration; physically smaller."""
        masks = ChannelMasks(net)
        total = sum(len(m) for m in masks.masks)
        g = torch.Generator().manual_seed(ctx.seed)
        removed = 0
        for it in range(1, self.iterations + 1):
            n = round(self.ratio * total * it / self.iterations) - removed
            idx = next(batch_indices(len(ctx.data.train), min(self.score_images, len(ctx.data.train)), g))
            images = augment(ctx.data.train.images[idx.to(ctx.data.train.images.device)], g).to(ctx.device)
            scores = normalised(taylor_scores(net, masks, images, ctx.data.train.labels[idx.to(ctx.data.train.labels.device)].to(ctx.device)))
            masks.set(prune_globally(scores, masks.masks, n))
            removed = total - sum(masks.kept())
            finetune_whole(Backbone(net), ctx.data.train, self.epochs_per_iteration, g)
        return masks.prune().eval()
