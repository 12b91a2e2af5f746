"""``coinfer select``: the fastest stored design that keeps accuracy, for a device and a link rate."""

from __future__ import annotations

import argparse
import csv
import math
from importlib import resources
from pathlib import Path


def shipped_results() -> Path:
    """The trade-off CSV shipped inside the ``baselines`` package (works from a wheel install)."""
    return Path(str(resources.files("baselines") / "results" / "tradeoff.csv"))


COLUMNS = ("scheme", "split_point", "device_flops", "payload_bits", "server_flops", "test_accuracy")


def read_results(path: Path) -> list[dict]:
    """The rows of a trade-off CSV, every number checked; ValueError names the file and the row."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} holds no designs: give a trade-off CSV from examples/tradeoff.py")
    missing = [c for c in COLUMNS if c not in rows[0]]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {', '.join(missing)}: give a trade-off CSV from examples/tradeoff.py")
    for i, r in enumerate(rows, start=2):
        try:
            ok = all(math.isfinite(float(r[c])) and float(r[c]) >= 0 for c in COLUMNS[2:])
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{path} line {i} has a value that is not a finite number >= 0: {r}")
    return rows


def run(args: argparse.Namespace) -> int:
    from baselines.latency import DEVICE_PROFILES, device_speed, parse_rate, select

    path = Path(args.results) if args.results else shipped_results()
    if not path.exists():
        raise FileNotFoundError(f"no results at {path}: run examples/tradeoff.py first, or pass --results")
    rows = read_results(path)
    seeds = ""
    if "seed" in rows[0]:  # several seeds of one design: choose on what a rerun can be expected to give
        from baselines.seeds import mean_over_seeds

        rows = mean_over_seeds(rows)
        seeds = f", each design the mean of its {min(r['seeds'] for r in rows)} to {max(r['seeds'] for r in rows)} seeds"
    best_acc = max(float(r["test_accuracy"]) for r in rows)
    floor = args.min_accuracy if args.min_accuracy is not None else best_acc - 0.01
    speed, rate = device_speed(args.device), parse_rate(args.rate)
    ranked = select(rows, speed, rate, floor)
    print(f"results {path.name}{seeds}; device {args.device} ({speed:.3g} FLOP/s), link {args.rate} ({rate:,.0f} B/s), "
          f"server {DEVICE_PROFILES['edge-gpu']:.3g} FLOP/s, accuracy floor {floor:.4f} ({len(ranked)} of {len(rows)} designs meet it)")
    if not ranked:
        print("no design meets the floor: lower --min-accuracy")
        return 1
    print("| scheme | split | device FLOPs | payload bits | test acc. | latency |")
    print("|---|---:|---:|---:|---:|---:|")
    for c in ranked[: args.top]:
        r = c.row
        print(f"| {r['scheme']} | {r['split_point']} | {int(float(r['device_flops'])):,} | {float(r['payload_bits']):,.0f} | "
              f"{float(r['test_accuracy']):.4f} | {c.seconds * 1e3:.2f} ms |")
    best = ranked[0].row
    print(f"choose {best['scheme']} split at {best['split_point']}: the lowest latency ({ranked[0].seconds * 1e3:.2f} ms) "
          f"among designs with test accuracy >= {floor:.4f}")
    return 0
