"""Export truths of heavily pruned designs, so that the shipped maps can be judged where searches drive them.

    .venv/bin/python benchmarks/heavy_truths.py --splits 7 16 [--heavy 12] [--heavy-seed 6000] [--threads 2]

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

from fit_calibration import truths
from reward_fidelity import add_heavy_arguments, bundled_tiny, heavy_designs, parse_heavy_arguments

from coinfer_env.data import load_subset

OUT = Path("docs/results/calibration")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--splits", type=int, nargs="+", required=True, choices=range(1, 17), metavar="{1..16}")
    add_heavy_arguments(p)
    args = parse_heavy_arguments(p)
    data = load_subset()
    for split in args.splits:
        trained = bundled_tiny(split)
        truths(split, heavy_designs(trained.config, args.heavy, args.heavy_seed), trained, data, 10, [0], OUT / "truth.csv")


if __name__ == "__main__":
    main()
