"""The paper's reward of trade-off points, with the accuracy they deployed at.

    .venv/bin/python benchmarks/tradeoff_reward.py --runs docs/results/tradeoff-split13/raw \
        docs/results/tradeoff-split13/calibrated [--scheme proposed-ddpg] [--split 13] [--out FILE]

``examples/tradeoff.py`` exports each searched design (its longer fine-tune) and
records the device FLOPs, payload bits and test accuracy of the result, one row per
seed in ``tradeoff.csv``. This reads those rows for one scheme and split from each
``--runs`` directory and puts the exported accuracy into the paper's reward as the
env computes it (beta 0.5; FLOPs against the unpruned device part, bits against the
raw feature, of the Tiny weights at that split),
beside the search's own best reward (the row's ``search_reward`` note). It then pairs
each run with the first by seed (the same seed trains and searches both). Nothing is
trained: it is arithmetic on the committed rows, so any reader can check it.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from reward_fidelity import BETA, bundled_tiny

from agents.metrics import mean_se_text, paired_text
from coinfer_env import checkpoints as ckpt
from coinfer_env.accounting import cost
from coinfer_env.architecture import full_kept
from coinfer_env.envs import reward_terms


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--runs", type=Path, nargs="+", required=True, help="examples/tradeoff.py --out directories; the first "
                   "is the reference of the paired differences")
    p.add_argument("--scheme", default="proposed-ddpg")
    p.add_argument("--split", type=int, default=13)
    p.add_argument("--out", type=Path, help="also write the report here (markdown)")
    return p.parse_args()


def seed_rows(run: Path, scheme: str, split: int) -> dict[int, dict]:
    """seed -> that seed's row of ``run``'s tradeoff.csv for ``scheme`` at ``split``."""
    path = run / "tradeoff.csv"
    if not path.exists():
        raise SystemExit(f"{path} does not exist: pass a directory that examples/tradeoff.py --out wrote")
    with path.open() as f:
        rows = {int(r["seed"]): r for r in csv.DictReader(f) if r["scheme"] == scheme and int(r["split_point"]) == split}
    if not rows:
        raise SystemExit(f"{path} has no row of scheme {scheme} at split {split}: pass the --scheme and --split it ran")
    return rows


def deployed_reward(row: dict, flops_original: int, bits_original: int) -> float:
    return reward_terms(float(row["test_accuracy"]), int(float(row["device_flops"])), flops_original,
                        int(float(row["payload_bits"])), bits_original, BETA)["reward"]


def search_reward(row: dict) -> float:
    """The ``search_reward`` of the row's notes (``key=value;...``)."""
    return float(dict(part.split("=", 1) for part in row["notes"].split(";"))["search_reward"])


def report(args: argparse.Namespace, runs: dict[Path, dict[int, dict]], flops_original: int, bits_original: int) -> str:
    lines = [f"# {args.scheme} at split {args.split}: the paper's reward with the exported accuracy", "",
             f"Command: `.venv/bin/python benchmarks/tradeoff_reward.py --runs {' '.join(map(str, args.runs))} "
             f"--scheme {args.scheme} --split {args.split}`. Unpruned at this split: {flops_original:,} device FLOPs, "
             f"{bits_original:,} bits of raw feature; beta {BETA}. Mean ± standard error over the seeds.", "",
             "| run | seeds | search's best reward | exported accuracy | deployed reward | device FLOPs cut |",
             "|---|---:|---:|---:|---:|---:|"]
    for run, rows in runs.items():
        r = list(rows.values())
        lines.append(f"| {run} | {len(r)} | {mean_se_text([search_reward(x) for x in r])} | "
                     f"{mean_se_text([float(x['test_accuracy']) for x in r])} | "
                     f"{mean_se_text([deployed_reward(x, flops_original, bits_original) for x in r])} | "
                     f"{mean_se_text([1 - float(x['device_flops']) / flops_original for x in r])} |")
    first, *others = runs
    lines += ["", f"Paired by seed: each run's deployed reward minus {first}'s.", "",
              "| run | seeds | difference | z |", "|---|---:|---:|---:|"]
    for run in others:
        seeds = sorted(set(runs[first]) & set(runs[run]))
        diff = [deployed_reward(runs[run][s], flops_original, bits_original)
                - deployed_reward(runs[first][s], flops_original, bits_original) for s in seeds]
        lines.append(f"| {run} | {len(seeds)} | {paired_text(diff)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    trained = bundled_tiny(args.split)
    c = cost(trained.config, full_kept(trained.config), trained.bits_per_symbol)
    runs = {run: seed_rows(run, args.scheme, args.split) for run in args.runs}
    text = report(args, runs, c.flops_original, c.bits_original)
    if args.out:
        ckpt.atomic_write(args.out, lambda tmp: tmp.write_text(text))
    print(text, end="")


if __name__ == "__main__":
    main()
