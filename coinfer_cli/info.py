"""``coinfer info``: each split point's episode length, FLOPs, feature size and payload."""

from __future__ import annotations

import argparse

from coinfer_env.accounting import backbone_flops, cost
from coinfer_env.architecture import NUM_BLOCKS, STAGE_NAMES, SplitConfig, num_prunable, split_feature_shape, stage_of
from coinfer_env.paths import bundled_dir, user_cache_dir, user_checkpoint_dir


def split_table(width: int) -> str:
    """Markdown table of every split point at ``width``."""
    total = backbone_flops(SplitConfig(width, 1))
    rows = [
        f"width {width}: whole backbone {total:,} FLOPs per 32x32 image",
        "",
        "| split | after | episode length | feature CxHxW | device FLOPs (Lambda) | share | server FLOPs | raw bits (Omega) | symbols sent |",
        "|---:|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for k in range(1, NUM_BLOCKS + 1):
        config = SplitConfig(width, k)
        c = cost(config)
        C, H, W = split_feature_shape(config)
        rows.append(
            f"| {k} | {STAGE_NAMES[stage_of(k)]} block {k} | {num_prunable(config)} | {C}x{H}x{W} | {c.flops_original:,} | "
            f"{c.flops_original / total:.1%} | {c.server_flops:,} | {c.bits_original:,} | {c.bits // 32:,} |"
        )
    return "\n".join(rows)


def run(args: argparse.Namespace) -> int:
    for width in args.width:
        print(split_table(width))
        print()
    print(f"bundled Tiny weights (read-only): {bundled_dir()}")
    print(f"coinfer train writes to:          {user_checkpoint_dir()}")
    print(f"evaluation caches:                {user_cache_dir()}")
    return 0
