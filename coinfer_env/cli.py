"""The ``coinfer`` command line: ``info`` and ``train`` here; agents/cli.py and baselines/cli.py add the rest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
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


def parse_splits(text: str) -> list[int]:
    if text == "all":
        return list(range(1, NUM_BLOCKS + 1))
    try:
        splits = sorted({int(s) for s in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--splits {text!r}: use 'all' or a comma list such as 1,5,13") from None
    if not all(1 <= s <= NUM_BLOCKS for s in splits):
        raise argparse.ArgumentTypeError(f"--splits {text!r}: split points lie in 1..{NUM_BLOCKS}")
    return splits


def cmd_train(args: argparse.Namespace) -> int:
    from . import data as data_mod
    from .presets import preset
    from .training import TrainConfig, train

    p = preset(args.env)
    dataset = args.dataset or p["dataset"]
    cfg = TrainConfig(width=p["width"], splits=args.splits, seed=args.seed, channel=args.channel)
    for name in ("epochs", "codec_epochs", "joint_epochs"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    from .envs import resolve_device

    device = resolve_device(args.device)
    splits = data_mod.load(dataset, args.data_root, args.download, seed=args.seed)
    splits = data_mod.Splits(splits.train.to(device), splits.val, splits.test)
    out = args.out or p["checkpoint_dir"]
    meta = train(cfg, splits, out, device)
    print(f"backbone test accuracy {meta['backbone_test_accuracy']:.4f}; artifacts in {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coinfer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="print the split points with their FLOPs and feature sizes")
    info.add_argument("--width", type=int, nargs="+", default=[64, 8], help="network widths (default: 64 8)")
    info.set_defaults(func=cmd_info)

    tr = sub.add_parser("train", help="step 1: train the backbone and a codec per split point")
    tr.add_argument("--env", default="CoInfer-ResNet50-Tiny-v0", help="which id's network and data")
    tr.add_argument("--splits", type=parse_splits, default="all", help="all, or a comma list such as 1,5,13")
    tr.add_argument("--epochs", type=int, help="backbone epochs (default 60)")
    tr.add_argument("--codec-epochs", type=int, help="codec epochs per split (default 6)")
    tr.add_argument("--joint-epochs", type=int, help="joint fine-tune epochs per split (default 2)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--channel", default="ideal", help="channel the codec is trained through")
    tr.add_argument("--device", default="auto", help="auto, cpu or cuda")
    tr.add_argument("--dataset", help="override the id's dataset (cifar10, cifar10-subset, synthetic)")
    tr.add_argument("--data-root", default=str(Path("~/.cache/coinfer_env/data").expanduser()))
    tr.add_argument("--download", action="store_true", help="let torchvision download CIFAR-10")
    tr.add_argument("--out", help="checkpoint directory (default: the id's checkpoint_dir)")
    tr.set_defaults(func=cmd_train)
    return parser


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse and dispatch; bad input becomes one clear line and exit status 2, not a traceback."""
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"coinfer {args.command}: error: {err}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
