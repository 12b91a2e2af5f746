"""The ``coinfer`` command line: ``coinfer info`` (and more subcommands as they land)."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .architecture import NUM_BLOCKS, STAGE_NAMES, SplitConfig, split_feature_shape, stage_of
from .accounting import backbone_flops, cost


def split_table(width: int) -> str:
    """Markdown table of every split point at ``width``: FLOPs and feature sizes."""
    total = backbone_flops(SplitConfig(width, 1))
    rows = [
        f"width {width}: whole backbone {total:,} FLOPs per 32x32 image",
        "",
        "| split | after | feature CxHxW | device FLOPs (Lambda) | share | server FLOPs | raw bits (Omega) | symbols sent |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for k in range(1, NUM_BLOCKS + 1):
        config = SplitConfig(width, k)
        c = cost(config)
        C, H, W = split_feature_shape(config)
        rows.append(
            f"| {k} | {STAGE_NAMES[stage_of(k)]} block {k} | {C}x{H}x{W} | {c.flops_original:,} | "
            f"{c.flops_original / total:.1%} | {c.server_flops:,} | {c.bits_original:,} | {c.bits // 32:,} |"
        )
    return "\n".join(rows)


def cmd_info(args: argparse.Namespace) -> int:
    for width in args.width:
        print(split_table(width))
        print()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coinfer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="print the split points with their FLOPs and feature sizes")
    info.add_argument("--width", type=int, nargs="+", default=[64, 8], help="network widths (default: 64 8)")
    info.set_defaults(func=cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:  # bad input: one clear line, no traceback
        print(f"coinfer {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
