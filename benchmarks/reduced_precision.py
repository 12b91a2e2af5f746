"""Does bfloat16 make ``finetune-48`` fast enough at split 16, and does it keep the order of heavy designs?

    .venv/bin/python benchmarks/reduced_precision.py [--designs 36] [--threads 2] [--report-only]

At split 16 ``finetune-48`` orders heavily pruned designs best of the proxies tried, but its 48 steps take about 9 s
on a 2-core CPU, where the issue's episode bar is 5 s, and the episode is its bare compute (episode_cost.py). This
rebuilds each of split 16's heavy designs (search_proxies.py's draws with committed export truths) with
``finetune-48`` twice, side by side in one process: in float32 as the env runs it, and under torch's CPU autocast to
bfloat16, the fine-tune and the accuracy both (weights, Adam and the loss stay float32). The two take turns going
first. It writes one row per design and precision to results/calibration/reduced-precision.csv (rewritten whole, so
its timings all come from one run) and the report results/calibration/reduced-precision-split-16.md, with the
verdict of the rule in docs/environment.md ("The same 48 steps in bfloat16"). ``--report-only`` computes nothing: it
prints the report of the committed rows and writes no file. It fits nothing and changes no default.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch
from ground_truth_check import figures, figures_row
from reward_fidelity import PROXIES, bundled_tiny, hosts_text, read_rows
from search_proxies import committed_truth, designs, heavy_pooled

from coinfer_env import checkpoints as ckpt
from coinfer_env.data import load_subset
from coinfer_env.evaluation import Evaluator
from coinfer_env.hardware import device_name, where_computed

RESULTS = Path("docs/results/calibration")
SPLIT, PROXY = 16, "finetune-48"
PRECISIONS = ("float32", "bfloat16")
MAX_FINETUNE_S = 3.8  # the 5-s episode less the 1.2 s an episode spends outside finetune-48's fine-tune
MIN_TAU = 0.61  # split 16's bar on the heavy designs for a proxy at 5 s or less


def read(evaluator: Evaluator, kept: list[int], precision: str) -> tuple[float, float]:
    """``kept``'s validation accuracy after ``evaluator``'s recovery, and the seconds of its fine-tune, in
    ``precision`` (bfloat16: under CPU autocast)."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        result, _ = evaluator.evaluate(kept)
    return result.accuracy, result.phases["finetune"]


def measure(kept: list[str]) -> list[dict]:
    """A row per design and precision; the precisions take turns going first, so neither always runs on a cold
    cache."""
    trained, data = bundled_tiny(SPLIT), load_subset()
    evaluator = Evaluator(trained, data.train, data.val, PROXIES[PROXY])
    rows = []
    for i, k in enumerate(kept):
        for precision in PRECISIONS[:: 1 if i % 2 == 0 else -1]:
            acc, seconds = read(evaluator, json.loads(k), precision)
            rows.append({"split": SPLIT, "method": PROXY, "precision": precision, "kept": k, "accuracy": acc,
                         "finetune_seconds": round(seconds, 3), **where_computed(torch.device("cpu"))})
            print(f"design {i + 1}/{len(kept)} {precision}: accuracy {acc:.4f}, fine-tune {seconds:.2f} s", flush=True)
    return rows


def write_rows(path: Path, rows: list[dict]) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    ckpt.atomic_write(path, write)


def report(rows: list[dict], seconds: float) -> str:
    kept = sorted({r["kept"] for r in rows})
    by = {p: {r["kept"]: r for r in rows if r["precision"] == p} for p in PRECISIONS}
    truth = committed_truth(SPLIT)
    trained = bundled_tiny(SPLIT)
    config, bps = trained.config, trained.bits_per_symbol
    time_of = {p: np.array([float(by[p][k]["finetune_seconds"]) for k in kept]) for p in PRECISIONS}
    acc_of = {p: np.array([float(by[p][k]["accuracy"]) for k in kept]) for p in PRECISIONS}
    speedup = time_of["float32"] / time_of["bfloat16"]
    lines = ["# finetune-48 in bfloat16 on split 16's heavy designs, Tiny id", "",
             f"Command: `.venv/bin/python benchmarks/reduced_precision.py --designs {len(kept)}`. This invocation: "
             f"{device_name(torch.device('cpu'))}, {torch.get_num_threads()} torch threads, {seconds:.0f} s; the rows: "
             f"{hosts_text(rows)}. {len(kept)} heavy designs (search_proxies.py's split-16 draws, ratios in [0, 0.5]); "
             "the truth: the export recipe (10 epochs), seed 0.", "",
             "| stand-in for the truth | reward tau [95% bootstrap] | accuracy tau | mean accuracy below the truth, "
             "points | its spread (sd) | calibration error, points | top-pick regret | median fine-tune, s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    read = {p: figures(f"{PROXY}, {p}", kept, truth, acc_of[p], config, bps) for p in PRECISIONS}
    lines += [figures_row(f"{PROXY}, {p}", read[p]) + f" {np.median(time_of[p]):.2f} |" for p in PRECISIONS]
    tau = float(read["bfloat16"]["tau"])
    fast = float(np.median(time_of["bfloat16"])) <= MAX_FINETUNE_S
    lines += ["", f"Per design, float32's fine-tune over bfloat16's: median {np.median(speedup):.2f}x "
              f"(range {speedup.min():.2f}-{speedup.max():.2f}). bfloat16 reads the designs "
              f"{100 * np.mean(acc_of['float32'] - acc_of['bfloat16']):.1f} points below float32 on average "
              f"(largest {100 * np.max(np.abs(acc_of['float32'] - acc_of['bfloat16'])):.1f}).", "",
              *reproduced(by["float32"]), "",
              "## The rule", "",
              f"bfloat16 {PROXY} is a candidate for a fourth heavy draw if its median fine-tune is at most "
              f"{MAX_FINETUNE_S} s and its reward tau here at least {MIN_TAU}.", "",
              f"- median fine-tune {np.median(time_of['bfloat16']):.2f} s: {'met' if fast else 'missed'};",
              f"- reward tau {tau:.2f}: {'met' if tau >= MIN_TAU - 1e-9 else 'missed'};",
              f"- so: {'a candidate' if fast and tau >= MIN_TAU - 1e-9 else 'not a candidate'}."]
    return "\n".join(lines) + "\n"


def reproduced(float32: dict[str, dict]) -> list[str]:
    """How the float32 rows read the same designs as readout_screen.py's ``finetune-48`` accuracies (the env's path,
    another session), by host: a check that the float32 path is the env's evaluation, on the same CPU model."""
    earlier = [r for r in read_rows(RESULTS / "readouts.csv") if int(r["split"]) == SPLIT and r["method"] == PROXY]
    pairs = [(float(r["accuracy"]), float(float32[r["kept"]]["accuracy"]), r.get("hardware") or "?")
             for r in earlier if r["kept"] in float32]
    if not pairs:
        return []
    lines = []
    for host in sorted({h for *_, h in pairs}):
        diffs = [abs(a - b) for a, b, h in pairs if h == host]
        same = float32[next(iter(float32))].get("hardware") == host
        lines.append(f"The float32 accuracies against readouts.csv's {PROXY} ones of the same designs, computed on "
                     f"{host} ({'the same CPU model' if same else 'another CPU model'}): {len(diffs)} designs, "
                     f"{sum(d == 0 for d in diffs)} equal, largest difference {100 * max(diffs):.2f} points.")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--designs", type=int, default=36, help="how many of the heavy designs, in sorted order (3 or more)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--report-only", action="store_true", help="print the committed rows' report; compute and write nothing")
    args = p.parse_args()
    if args.designs < 3:
        p.error(f"--designs {args.designs} is invalid: give 3 or more (a Kendall tau needs pairs)")
    torch.set_num_threads(args.threads)
    started, path = time.time(), RESULTS / "reduced-precision.csv"
    if args.report_only:
        print(report(read_rows(path), 0.0))
        return
    kept = heavy_pooled(designs(bundled_tiny(SPLIT).config, SPLIT))[: args.designs]
    write_rows(path, measure(kept))
    text = report(read_rows(path), time.time() - started)
    ckpt.atomic_write(RESULTS / "reduced-precision-split-16.md", lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
