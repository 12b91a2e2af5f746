"""What each ingredient of the step-1 recipe adds to the Tiny backbone, on the same seeds.

    .venv/bin/python benchmarks/train_recipe.py --epochs 40 --seeds 0 --out runs/train_recipe

Trains the width-8 backbone alone (no codec) with cumulative recipes on the 4,085
training images of the bundled subset, and prints validation accuracy (the 1,000
images behind the reward: never trained on) and test accuracy (the 1,017 test
images) per recipe and seed. The recipe is chosen on validation accuracy, so the
test figure stays an honest estimate. Writes recipes.csv to --out.

    .venv/bin/python benchmarks/train_recipe.py --codecs --splits 1 13 --joint all bn none --out runs/train_recipe

compares instead what the codec's joint fine-tune should train (``TrainConfig.joint``),
on the backbone in --backbone-dir (default: the bundled one), writing codecs.csv;
``--codec-loss ce distill`` and ``--codec-epochs 6 24`` add the codec phase's loss
(``TrainConfig.codec_loss``) and length to the grid.
"""

from __future__ import annotations

import argparse
import csv
import platform
import time
from dataclasses import asdict
from pathlib import Path

import torch

from coinfer_env.data import load_subset
from coinfer_env.loops import accuracy
from coinfer_env.network import Backbone, SplitNetwork
from coinfer_env.architecture import NUM_BLOCKS, SplitConfig
from coinfer_env import checkpoints as ckpt
from coinfer_env.training import TrainConfig, train_backbone

RECIPES = {
    "crop-flip + label smoothing (the old recipe)": {},
    "+ TrivialAugmentWide + RandomErasing": {"augment": "trivial"},
    "+ EMA of weights (0.999)": {"augment": "trivial", "ema_decay": 0.999},
    "+ MixUp/CutMix (alpha 1)": {"augment": "trivial", "ema_decay": 0.999, "mix_alpha": 1.0},
}


def codecs(args, data) -> None:
    from coinfer_env.training import train_codec

    backbone = ckpt.load_state(ckpt.backbone_file(args.backbone_dir or ckpt.bundled_dir(), 8))
    rows = []
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, "
          f"seed {args.seeds[0]}, backbone test accuracy {accuracy(Backbone(_backbone_net(backbone)), data.test):.4f}")
    print("| split | codec loss | codec epochs | joint | val acc. | test acc. | split-file bytes | seconds |")
    print("|---:|---|---:|---|---:|---:|---:|---:|")
    grid = [(split, loss, epochs, joint) for split in args.splits for loss in args.codec_loss for epochs in args.codec_epochs
            for joint in args.joint]
    for split, loss, epochs, joint in grid:
        cfg = TrainConfig(width=8, splits=[split], joint=joint, seed=args.seeds[0], codec_loss=loss, codec_epochs=epochs)
        start = time.time()
        net = train_codec(cfg, backbone, split, data, torch.device("cpu"))
        state = ckpt.compact_split_state(net, backbone)
        size = sum(v.numel() * v.element_size() for v in state.values())
        net.load_state_dict(ckpt.expand_split_state(backbone, split, state))  # scored as shipped: float16 codec
        row = {"split": split, "codec_loss": loss, "codec_epochs": epochs, "joint": joint, "val_accuracy": accuracy(net, data.val),
               "test_accuracy": accuracy(net, data.test), "bytes": size, "seconds": round(time.time() - start, 1)}
        rows.append(row)
        print(f"| {split} | {loss} | {epochs} | {joint} | {row['val_accuracy']:.4f} | {row['test_accuracy']:.4f} | {size:,} "
              f"| {row['seconds']} |", flush=True)
        with open(Path(args.out) / "codecs.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            writer.writeheader()
            writer.writerows(rows)


def _backbone_net(state: dict) -> SplitNetwork:
    net = SplitNetwork(SplitConfig(8, NUM_BLOCKS))
    ckpt.load_backbone(net, state)
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=40, help="backbone epochs per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds, each run for every recipe")
    parser.add_argument("--recipes", type=int, nargs="+", default=list(range(len(RECIPES))), help="indices into RECIPES")
    parser.add_argument("--out", default="runs/train_recipe", help="output directory")
    parser.add_argument("--codecs", action="store_true", help="compare joint fine-tune modes of the codec instead")
    parser.add_argument("--splits", type=int, nargs="+", default=[1, 13], help="split points (--codecs)")
    parser.add_argument("--joint", nargs="+", default=["all", "bn", "none"], help="joint modes (--codecs)")
    parser.add_argument("--codec-loss", nargs="+", default=["ce"], help="codec phase losses, ce and/or distill (--codecs)")
    parser.add_argument("--codec-epochs", type=int, nargs="+", default=[6], help="codec phase epochs (--codecs)")
    parser.add_argument("--backbone-dir", help="checkpoint directory with the backbone (--codecs; default: bundled)")
    args = parser.parse_args()
    data = load_subset()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.codecs:
        return codecs(args, data)
    rows = []
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print("| recipe | seed | epochs | val acc. | test acc. | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    names = list(RECIPES)
    for seed in args.seeds:
        for i in args.recipes:
            name = names[i]
            cfg = TrainConfig(width=8, epochs=args.epochs, seed=seed, **RECIPES[name])
            start = time.time()
            state, test = train_backbone(cfg, data, torch.device("cpu"))
            val = accuracy(Backbone(_backbone_net(state)), data.val)
            row = {"recipe": name, "seed": seed, "epochs": args.epochs, "val_accuracy": val, "test_accuracy": test,
                   "seconds": round(time.time() - start, 1), "config": asdict(cfg)}
            rows.append(row)
            print(f"| {name} | {seed} | {args.epochs} | {val:.4f} | {test:.4f} | {row['seconds']} |", flush=True)
            with open(out / "recipes.csv", "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(row))
                writer.writeheader()
                writer.writerows(rows)


if __name__ == "__main__":
    main()
