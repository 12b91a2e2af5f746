"""Export truths of heavily pruned designs, so that maps are judged where searches drive them; with two truth seeds,
the noise ceiling there.

    .venv/bin/python benchmarks/heavy_truths.py --splits 7 16 [--truth-seeds 0] [--methods ...] [--heavy 12] [--heavy-seed 6000] [--threads 2]

Through split 13's `distill` map, DDPG settled on designs that keep 20-30% of the device FLOPs, which the map read 9.7
points high; on 12 fresh such designs (reward_fidelity.heavy_designs: every ratio uniform in [0, 0.5], seed 6000) it
read 9.4 points off and was withdrawn (docs/environment.md, "A FLOPs ceiling on split 13's distill map"). This
fine-tunes the draw at each split with the export recipe (10 epochs from the pruned network, one run per
``--truth-seeds`` seed) and appends each truth to results/calibration/truth.csv as it finishes (a killed run resumes),
so that ``search_proxies.py --split S`` judges every map at S on the seed-0 truths (its ``HEAVY_SEARCH``) and
``--withdraw`` takes out each map that misses the rule for keeping a map there. It measures the raw accuracies of
the draw only for ``--methods`` (appended to results/calibration/proxies.csv, as fit_calibration.py's are):
search_proxies.py measures every proxy on all of a split's search-like designs, this only on the draw.

Once a split's draw has truths of seeds 0 and 1, this also writes results/calibration/heavy-ceiling-split-<S>.md
(for a draw other than seed 6000's, heavy-ceiling-split-<S>-seed<SEED>.md; docs/environment.md, "A noise ceiling on
the heavy draw"): how well a second fine-tune of each design reads the
first (the noise ceiling), and how cost-only, every raw proxy with committed accuracies of the whole draw, and every
map beside the weights (shipped or withdrawn) read the mean of the two; and, as a bound rather than a candidate, how
a map of each proxy fitted on the draw itself reads it, leave-one-out (a line, an isotonic map, and a plane that also
reads the encoder's width). It chooses nothing.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from fit_calibration import proxies, truths
from ground_truth_check import compare
from reward_fidelity import (PROXIES, add_heavy_arguments, bundled_tiny, heavy_designs, hosts_text, parse_heavy_arguments,
                             read_rows)
from search_proxies import map_name, split_maps

from coinfer_env import calibration as calib
from coinfer_env import checkpoints as ckpt
from coinfer_env.architecture import full_kept
from coinfer_env.data import load_subset
from coinfer_env.hardware import device_name

OUT = Path("docs/results/calibration")


def committed_rows(split: int, kept: list[str]) -> list[dict]:
    """results/calibration/proxies.csv's rows of the designs ``kept`` at the split."""
    wanted = set(kept)
    return [r for r in read_rows(OUT / "proxies.csv") if int(r["split"]) == split and r["kept"] in wanted]


def committed_raw(split: int, kept: list[str], rows: list[dict] | None = None) -> dict[str, dict[str, float]]:
    """method -> kept -> raw accuracy, for each method of PROXIES whose accuracy of every design in ``kept`` is in
    results/calibration/proxies.csv (or in ``rows``, that file's rows of ``kept`` at the split, already read)."""
    raw: dict[str, dict[str, float]] = {}
    for r in committed_rows(split, kept) if rows is None else rows:
        raw.setdefault(r["method"], {})[r["kept"]] = float(r["proxy_accuracy"])
    return {m: raw[m] for m in PROXIES if len(raw.get(m, {})) == len(set(kept))}


def spread_text(first: np.ndarray, second: np.ndarray) -> str:
    """How much of the truth's spread across the designs is the design's, and how much a fine-tune's own noise."""
    noise = np.std(first - second) / np.sqrt(2)  # one fine-tune's deviation from the design's own mean
    return (f"Across the designs, truth seed 0 spreads {100 * np.std(first):.1f} points (sd) and seed 1 "
            f"{100 * np.std(second):.1f}; the two seeds' accuracies correlate at r = "
            f"{np.corrcoef(first, second)[0, 1]:.2f} (Pearson); one fine-tune's own noise, the sd of the two seeds' "
            f"difference over the square root of 2, is {100 * noise:.1f} points.")


def ceiling_report(split: int, trained, kept: list[str], truth: dict[str, list[float]], args: argparse.Namespace,
                   seconds: float) -> str:
    """The report on the draw's two truth seeds; ``trained``: the split's bundled network; ``truth``: kept -> [seed 0,
    seed 1]."""
    config, bps = trained.config, trained.bits_per_symbol
    mean = {k: float(np.mean(truth[k])) for k in kept}
    rows = [r for r in read_rows(OUT / "truth.csv") if int(r["split"]) == split and r["kept"] in kept
            and int(r["epochs"]) == 10 and int(r["seed"]) in (0, 1)]
    raw = committed_raw(split, kept)
    maps = split_maps(config, split, list(raw), ckpt.bundled_dir())
    lines = [f"# The noise ceiling on the heavy draw, Tiny id, split {split}", "",
             f"Command: `.venv/bin/python benchmarks/heavy_truths.py --splits {split} --truth-seeds 0 1 --heavy "
             f"{args.heavy} --heavy-seed {args.heavy_seed}`. This invocation: {device_name(torch.device('cpu'))}, "
             f"{torch.get_num_threads()} torch threads, {seconds:.0f} s; the truths, by where they were computed: "
             f"{hosts_text(rows)} (each one's seconds are in truth.csv). {len(kept)} designs of "
             f"reward_fidelity.heavy_designs (every ratio uniform in [0, 0.5], seed {args.heavy_seed}); the truth: "
             f"the export recipe (10 epochs), seeds 0 and 1; deployed accuracy, the two seeds' mean, "
             f"{100 * min(mean.values()):.1f}-{100 * max(mean.values()):.1f}%.", "",
             spread_text(np.array([truth[k][0] for k in kept]), np.array([truth[k][1] for k in kept])), "",
             *ceiling_sections(kept, truth, raw, maps, config, bps)]
    return "\n".join(lines + ["", *within_draw(kept, mean, raw, full_kept(config)[-1])]) + "\n"


def table_head(stand_in: str) -> list[str]:
    """A table of ground_truth_check.compare rows, whose first column holds stand-ins for ``stand_in``."""
    return [f"| stand-in for {stand_in} | reward tau [95% bootstrap] | accuracy tau | mean accuracy below the truth, "
            "points | its spread (sd) | calibration error, points | top-pick regret |", "|---|---:|---:|---:|---:|---:|---:|"]


def ceiling_sections(kept: list[str], truth: dict[str, list[float]], raw: dict[str, dict[str, float]],
                     maps: dict, config, bps: int) -> list[str]:
    """How truth seed 1 reads seed 0 (the noise ceiling), and how cost-only, each raw proxy of ``raw`` and each map of
    ``maps`` that holds none of ``kept`` read the two seeds' mean; ``truth``: kept -> [seed 0, seed 1]."""
    first = {k: truth[k][0] for k in kept}
    mean = {k: float(np.mean(truth[k])) for k in kept}
    lines = ["## Truth seed 1 against seed 0: the noise ceiling", "",
             "How a second fine-tune of each design reads the first: no stand-in for seed 0 can be expected to read it "
             "better than this.", "", *table_head("truth seed 0"),
             compare("truth seed 1", kept, first, [truth[k][1] for k in kept], config, bps), "",
             "## Against the mean of truth seeds 0 and 1", "", *table_head("the truth"),
             compare("cost-only (every design at their mean truth)", kept, mean,
                     [float(np.mean(list(mean.values())))] * len(kept), config, bps)]
    for m, accs in raw.items():
        lines.append(compare(f"raw {m}", kept, mean, [accs[k] for k in kept], config, bps))
        if m in maps and not maps[m].held & set(kept):
            lines.append(compare(f"{map_name(m, maps[m])} (fitted on {maps[m].networks} networks, none of these)", kept,
                                 mean, [maps[m].fitted(accs[k]) for k in kept], config, bps))
    return lines


def plane_loo_error(x: list[float], width: list[float], y: list[float]) -> float:
    """Mean absolute leave-one-out error of a least-squares plane y ~ a x + b width + c: a map whose input holds the
    encoder's kept fraction beside the raw accuracy."""
    design = np.c_[x, width, np.ones(len(y))]
    target = np.asarray(y)
    errors = []
    for i in range(len(y)):
        rest = np.arange(len(y)) != i
        w = np.linalg.lstsq(design[rest], target[rest], rcond=None)[0]
        errors.append(abs(design[i] @ w - target[i]))
    return float(np.mean(errors))


def within_draw(kept: list[str], truth: dict[str, float], raw: dict[str, dict[str, float]], encoder: int) -> list[str]:
    """The best a map of one proxy could do on the draw: fitted on the draw itself, judged leave-one-out; also a
    plane that reads the encoder's kept fraction (of its ``encoder`` channels) beside the raw accuracy."""
    y = [truth[k] for k in kept]
    width = [json.loads(k)[-1] / encoder for k in kept]  # the encoder FC is the last layer an agent decides on
    constant = np.mean([abs(t - np.mean(y[:i] + y[i + 1:])) for i, t in enumerate(y)])
    lines = ["## A map fitted on the draw itself, judged leave-one-out", "",
             "Each design read by a map fitted on the draw's other designs against the two seeds' mean: more than "
             "any map fitted elsewhere knows about designs like these, so a bound on what a map of that proxy could "
             "reach here, not a candidate (nothing is chosen from it). The last column's map is a least-squares plane "
             "on the raw accuracy and the encoder FC's kept fraction (which sets the bits sent).", "",
             "| reading | accuracy error of a line, points | of an isotonic map, points | of a plane with the encoder's "
             "width, points |", "|---|---:|---:|---:|",
             f"| none (each design at the mean of the others) | {100 * constant:.1f} | - | - |"]
    for m, accs in raw.items():
        x = [accs[k] for k in kept]
        lines.append(f"| raw {m} | {100 * calib.loo_error(x, y, 'line'):.1f} | "
                     f"{100 * calib.loo_error(x, y, 'isotonic'):.1f} | {100 * plane_loo_error(x, width, y):.1f} |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--splits", type=int, nargs="+", required=True, choices=range(1, 17), metavar="{1..16}")
    p.add_argument("--truth-seeds", type=int, nargs="+", default=[0], help="the export fine-tune's seeds")
    p.add_argument("--methods", nargs="*", default=[], choices=list(PROXIES), help="raw proxies to measure on the draw")
    add_heavy_arguments(p)
    args = parse_heavy_arguments(p)
    data = load_subset()
    for split in args.splits:
        started = time.time()
        trained = bundled_tiny(split)
        kept = heavy_designs(trained.config, args.heavy, args.heavy_seed)
        seeds = sorted(set(args.truth_seeds))
        proxies(split, kept, trained, data, args.methods, OUT / "proxies.csv")
        truth = truths(split, kept, trained, data, 10, seeds, OUT / "truth.csv")
        if not {0, 1} <= set(seeds):
            continue
        pairs = {k: [v[seeds.index(0)], v[seeds.index(1)]] for k, v in truth.items()}
        out = OUT / f"heavy-ceiling-split-{split:02d}{'' if args.heavy_seed == 6000 else f'-seed{args.heavy_seed}'}.md"
        text = ceiling_report(split, trained, sorted(set(kept)), pairs, args, time.time() - started)
        ckpt.atomic_write(out, lambda tmp, text=text: tmp.write_text(text))
        print(text)


if __name__ == "__main__":
    main()
