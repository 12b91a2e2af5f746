"""``coinfer select``: the fastest stored design that keeps accuracy, for a device and a link rate."""

from __future__ import annotations

import argparse
import csv
from importlib import resources
from pathlib import Path


def shipped_results() -> Path:
    """The trade-off CSV shipped inside the ``baselines`` package (works from a wheel install)."""
    return Path(str(resources.files("baselines") / "results" / "tradeoff.csv"))


def run(args: argparse.Namespace) -> int:
    from baselines.latency import DEVICE_PROFILES, device_speed, parse_rate, select

    path = Path(args.results) if args.results else shipped_results()
    if not path.exists():
        raise FileNotFoundError(f"no results at {path}: run examples/tradeoff.py first, or pass --results")
    rows = list(csv.DictReader(path.open()))
    best_acc = max(float(r["test_accuracy"]) for r in rows)
    floor = args.min_accuracy if args.min_accuracy is not None else best_acc - 0.01
    speed, rate = device_speed(args.device), parse_rate(args.rate)
    ranked = select(rows, speed, rate, floor)
    print(f"results {path.name}; device {args.device} ({speed:.3g} FLOP/s), link {args.rate} ({rate:,.0f} B/s), "
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
