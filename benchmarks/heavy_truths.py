"""Export truths of heavily pruned designs, so that the shipped maps can be judged where searches drive them.

    .venv/bin/python benchmarks/heavy_truths.py --splits 7 16 [--heavy 12] [--seed 6000] [--threads 2]

Through split 13's `distill` map, DDPG settled on designs that keep 20-30% of the device FLOPs, which the map read 9.7
points high; on 12 fresh such designs (reward_fidelity.heavy_designs: every ratio uniform in [0, 0.5], seed 6000) it
read 9.4 points off and was withdrawn (docs/environment.md, "A FLOPs ceiling on split 13's distill map"). This
fine-tunes the same draw at other splits with the export recipe (10 epochs from the pruned network, seed 0) and
appends each truth to results/calibration/truth.csv as it finishes (a killed run resumes), so that
``search_proxies.py --split S`` judges every map at S on them (its ``HEAVY_SEARCH``) and ``--withdraw`` takes out each
map that misses the rule for keeping a map there. It measures no proxy: search_proxies.py does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from fit_calibration import truths
from reward_fidelity import bundled_tiny, heavy_designs

from coinfer_env.data import load_subset

OUT = Path("docs/results/calibration")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--splits", type=int, nargs="+", required=True, choices=range(1, 17), metavar="{1..16}")
    p.add_argument("--heavy", type=int, default=12, help="how many designs of the draw")
    p.add_argument("--seed", type=int, default=6000, help="the draw's random-search seed")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    if args.heavy < 3:
        p.error(f"--heavy {args.heavy} is invalid: give 3 or more (a Kendall tau needs pairs)")
    torch.set_num_threads(args.threads)
    data = load_subset()
    for split in args.splits:
        trained = bundled_tiny(split)
        truths(split, heavy_designs(trained.config, args.heavy, args.seed), trained, data, 10, [0], OUT / "truth.csv")


if __name__ == "__main__":
    main()
