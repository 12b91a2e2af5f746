"""How long prune() takes on the width-64 network at split 13.

Prints the median prune time as a ratio to one forward pass of one image and of a
64-image batch through the unpruned network, all timed side by side in one run.

    .venv/bin/python benchmarks/prune_speed.py [--repeats 7] [--seed 0]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from coinfer_env import build_split_resnet50, prune


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    net = build_split_resnet50(64, 13).eval()
    ratios = np.random.default_rng(args.seed).uniform(0.2, 1.0, len(net.prunable_layers))
    one, batch = torch.randn(1, 3, 32, 32), torch.randn(64, 3, 32, 32)
    with torch.no_grad():
        t_prune = median_seconds(lambda: prune(net, ratios), args.repeats)
        t_one = median_seconds(lambda: net(one), args.repeats)
        t_batch = median_seconds(lambda: net(batch), max(3, args.repeats // 2))
    print(f"host: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"prune (width 64, split 13, random ratios in [0.2, 1], seed {args.seed}): {t_prune * 1e3:.1f} ms")
    print(f"forward, 1 image: {t_one * 1e3:.1f} ms  -> prune / forward(1) = {t_prune / t_one:.2f}")
    print(f"forward, 64 images: {t_batch * 1e3:.1f} ms -> prune / forward(64) = {t_prune / t_batch:.3f}")


if __name__ == "__main__":
    main()
