"""What each ingredient of the step-1 recipe adds to the Tiny backbone, on the same seeds.

    .venv/bin/python benchmarks/train_recipe.py --epochs 40 --seeds 0 --out runs/train_recipe

Trains the width-8 backbone alone (no codec) with cumulative recipes on the 4,085
training images of the bundled subset, and prints validation accuracy (the 1,000
images behind the reward: never trained on) and test accuracy (the 1,017 test
images) per recipe and seed. The recipe is chosen on validation accuracy, so the
test figure stays an honest estimate. Writes recipes.csv to --out.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=40, help="backbone epochs per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds, each run for every recipe")
    parser.add_argument("--recipes", type=int, nargs="+", default=list(range(len(RECIPES))), help="indices into RECIPES")
    parser.add_argument("--out", default="runs/train_recipe", help="output directory")
    args = parser.parse_args()
    data = load_subset()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
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
            net = SplitNetwork(SplitConfig(8, NUM_BLOCKS))
            ckpt.load_backbone(net, state)
            val = accuracy(Backbone(net), data.val)
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
