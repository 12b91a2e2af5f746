"""The full ``coinfer`` command: agents' subcommands plus ``select``."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Sequence

from agents import cli as agents_cli
from coinfer_env import cli as env_cli

from .latency import DEVICE_PROFILES, device_speed, parse_rate, select

DEFAULT_RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results" / "tradeoff.csv"


def cmd_select(args: argparse.Namespace) -> int:
    path = Path(args.results)
    if not path.exists():
        raise FileNotFoundError(f"no results at {path}: run examples/tradeoff.py first, or pass --results")
    rows = list(csv.DictReader(path.open()))
    best_acc = max(float(r["test_accuracy"]) for r in rows)
    floor = args.min_accuracy if args.min_accuracy is not None else best_acc - 0.01
    speed, rate = device_speed(args.device), parse_rate(args.rate)
    ranked = select(rows, speed, rate, floor)
    print(f"device {args.device} ({speed:.3g} FLOP/s), link {args.rate} ({rate:,.0f} B/s), server {DEVICE_PROFILES['edge-gpu']:.3g} FLOP/s, "
          f"accuracy floor {floor:.4f} ({len(ranked)} of {len(rows)} designs meet it)")
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


def build_parser() -> argparse.ArgumentParser:
    parser = agents_cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    s = sub.add_parser("select", help="pick the fastest stored design for a device and link rate")
    s.add_argument("--device", default="rpi3", help=f"{', '.join(DEVICE_PROFILES)} or FLOP/s")
    s.add_argument("--rate", default="40KB/s", help="link rate, e.g. 40KB/s, 2MB/s, 10Mbps")
    s.add_argument("--min-accuracy", type=float, help="accuracy floor (default: best stored minus 0.01)")
    s.add_argument("--results", default=str(DEFAULT_RESULTS), help="a tradeoff CSV")
    s.add_argument("--top", type=int, default=5)
    s.set_defaults(func=cmd_select)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return env_cli.run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
