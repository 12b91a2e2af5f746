"""The learned and pruned comparison schemes, and the proposed method, behind one interface."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from coinfer_env.architecture import SplitConfig, split_feature_shape
from coinfer_env.loops import accuracy
from coinfer_env.recipe import finetune_whole, train_codec
from coinfer_env.training import TrainConfig
from coinfer_env.pruning import prune

from .codecs import Pipeline, bottlenet_codec, codec_point, train_pipeline
from .common import Backbone, Context, Head, Point, Tail, all_blocks, left_over, prefix_flops
from .partition import partition_accuracy_and_bits

_STEP1 = TrainConfig()
STEP1_EPOCHS = _STEP1.codec_epochs + _STEP1.joint_epochs  # the step-1 codec every proposed design starts from


class BottleNetPP:
    """BottleNet++: the full device backbone, a conv/deconv codec trained through the channel.

    Its paper tunes the compression per split point; here, at each split, a codec is
    trained for ``select_epochs`` (backbone frozen) for every channel reduction in
    ``reductions``, most compressing first, and the first whose validation accuracy is
    within ``drop`` of the backbone's is kept (the paper: under 2 % loss); if none is,
    the least compressing. The kept codec goes on training with what is left of the
    budget: codec alone, then ``joint_epochs`` of the whole pipeline.
    """

    name = "bottlenet++"

    def __init__(self, reductions: Sequence[int] = (64, 32, 16, 8, 4), drop: float = 0.02, select_epochs: int = 1,
                 joint_epochs: int = 1) -> None:
        self.reductions, self.drop = tuple(sorted(reductions, reverse=True)), drop
        self.select_epochs, self.joint_epochs = select_epochs, joint_epochs

    def points(self, ctx: Context, splits: Sequence[int]) -> list[Point]:
        left_over(ctx.budget, len(self.reductions) * self.select_epochs + self.joint_epochs, self.name)  # the worst case
        out = []
        for k in splits:
            floor = accuracy(Backbone(ctx.plain_network(k)), ctx.data.val) - self.drop
            g = torch.Generator().manual_seed(ctx.seed)
            for tried, r in enumerate(self.reductions, 1):
                fresh = ctx.plain_network(k)  # each candidate from the same trained backbone
                enc, dec = bottlenet_codec(fresh.device.encoder.conv.in_channels, r)
                p = Pipeline(Head(fresh, k), enc, ctx.make_channel(), dec, Tail(fresh, k)).to(ctx.device)
                train_codec(p, [enc, dec], ctx.data.train, self.select_epochs, g)
                if accuracy(p, ctx.data.val) >= floor:
                    break
            spent = tried * self.select_epochs
            codec = left_over(ctx.budget, spent + self.joint_epochs, self.name)
            test = train_pipeline(p, ctx, codec, self.joint_epochs)
            out.append(codec_point(self.name, ctx, k, p, test, reduction=r, candidates=tried,
                                   epochs=spent + codec + self.joint_epochs))
        return out


def finetune_backbone(net, ctx: Context, epochs: int) -> None:
    finetune_whole(Backbone(net), ctx.data.train, epochs, torch.Generator().manual_seed(ctx.seed))


class TwoStepPruning:
    """Shi et al. 2019: prune the whole network until an accuracy floor, then the split feature's channels.

    Step 1 lowers one uniform ratio by ``step`` a round, fine-tuning ``epochs_per_round``
    after each, until a round costs more than ``floor`` of validation accuracy or the
    next round would not fit in the budget; what is left of the budget fine-tunes the
    network it kept. Step 1 is split-independent, so every split shares its epochs.
    """

    name = "2-step"

    def __init__(self, floor: float = 0.01, step: float = 0.1, epochs_per_round: int = 2) -> None:
        self.floor, self.step, self.epochs_per_round = floor, step, epochs_per_round

    def prune_whole(self, ctx: Context):
        """Step 1: (pruned network, unpruned validation accuracy, its uniform ratio, fine-tune epochs spent)."""
        left_over(ctx.budget, 0, self.name, needs=self.epochs_per_round)
        net = ctx.plain_network(16)  # split 16: every block's conv1/conv2 is prunable
        base = accuracy(Backbone(net), ctx.data.val)
        n, kept_ratio, best, epochs = len(net.prunable_layers), 1.0, net, 0
        ratio = 1.0
        while ratio - self.step > 0.05 and epochs + self.epochs_per_round <= ctx.budget:
            ratio -= self.step
            cand = prune(best, [ratio] * (n - 2) + [1.0, 1.0])
            finetune_backbone(cand, ctx, self.epochs_per_round)
            epochs += self.epochs_per_round
            if accuracy(Backbone(cand), ctx.data.val) < base - self.floor:
                break
            best, kept_ratio = cand, ratio
        if epochs < ctx.budget:
            finetune_backbone(best, ctx, ctx.budget - epochs)
        return best, base, kept_ratio, ctx.budget

    def points(self, ctx: Context, splits: Sequence[int]) -> list[Point]:
        net, base, ratio, epochs = self.prune_whole(ctx)
        out = []
        for k in splits:
            head, tail = Head(net, k), Tail(net, k)
            block = all_blocks(net)[k - 1]
            order = torch.argsort(block.conv3.weight.detach().abs().flatten(1).sum(1), descending=True, stable=True)
            C = order.numel()
            mask = torch.ones(C, dtype=torch.bool)
            for keep in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
                m = torch.zeros(C, dtype=torch.bool)
                m[order[: max(1, round(keep * C))]] = True
                if partition_accuracy_and_bits(head, tail, ctx.data.val, m.to(ctx.device))[0] >= base - self.floor:
                    mask = m
                    break
            acc, bits = partition_accuracy_and_bits(head, tail, ctx.data.test, mask.to(ctx.device))
            dropped = C - int(mask.sum())
            _, H, W = split_feature_shape(SplitConfig(ctx.width, k))
            saved = 2 * dropped * block.conv3.weight.shape[1] * H * W
            if not isinstance(block.shortcut, nn.Identity):
                saved += 2 * dropped * block.shortcut[0].in_channels * H * W
            flops = prefix_flops(ctx.width, k, net.kept, full_split=16) - saved
            out.append(Point(self.name, k, flops, bits, acc, ctx.total_flops() - flops,
                             {"whole_ratio": round(ratio, 2), "split_channels": int(mask.sum()), "epochs": epochs}))
        return out


class Proposed:
    """The paper's method: a search on the environment at each split, then ``export``'s longer fine-tune.

    Every design starts from the shipped step-1 codec (``STEP1_EPOCHS`` of training),
    so export fine-tunes for the rest of the budget. The search itself trains nothing
    under the default ``reconstruct`` evaluation; its cost is in the point's seconds.
    """

    def __init__(self, agent: str = "ddpg", episodes: int = 100, buffer_episodes: int | None = None) -> None:
        self.agent, self.episodes, self.buffer_episodes = agent, episodes, buffer_episodes
        self.name = "proposed-ddpg" if agent == "ddpg" else f"proposed-{agent}"

    def points(self, ctx: Context, splits: Sequence[int], env_kwargs: dict | None = None) -> list[Point]:
        import gymnasium as gym

        import coinfer_env  # noqa: F401
        from agents.harness import agent_factory
        from coinfer_env.export import export

        export_epochs = left_over(ctx.budget, STEP1_EPOCHS, self.name)
        out = []
        for k in splits:
            kwargs = {"split_point": k, "channel": ctx.channel, **ctx.channel_kwargs, **(env_kwargs or {})}
            env = gym.make(ctx.env_id, **kwargs)
            result = agent_factory(self.agent, self.buffer_episodes).run(env, self.episodes, ctx.seed)
            with tempfile.TemporaryDirectory() as tmp:
                report = export(env.unwrapped.trained, result.best_info["kept"], ctx.data, Path(tmp), export_epochs, seed=ctx.seed)
            out.append(Point(self.name, k, report["flops"], report["bits"], report["test_accuracy"], report["server_flops"],
                             {"search_reward": round(result.best_reward, 4), "episodes": self.episodes,
                              "epochs": STEP1_EPOCHS + export_epochs, "kept": "/".join(map(str, report["kept"]))}))
        return out
