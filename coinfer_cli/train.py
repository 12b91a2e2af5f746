"""``coinfer train``: step 1, the backbone and a codec per split point."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .files import check_writable_dir


def run(args: argparse.Namespace) -> int:
    from coinfer_env import checkpoints as ckpt
    from coinfer_env import data as data_mod
    from coinfer_env.envs import resolve_device
    from coinfer_env.paths import bundled_dir, user_checkpoint_dir
    from coinfer_env.presets import TINY_ID, preset
    from coinfer_env.training import TrainConfig, train

    p = preset(args.env)
    dataset = args.dataset or p["dataset"]
    if dataset not in data_mod.DATASETS:
        raise ValueError(f"--dataset {dataset!r} is unknown: choose one of {', '.join(data_mod.DATASETS)}")
    cfg = TrainConfig(width=args.width or p["width"], splits=args.splits, epochs=args.epochs, codec_epochs=args.codec_epochs,
                      joint_epochs=args.joint_epochs, seed=args.seed, channel=args.channel, augment=args.augment,
                      mix_alpha=args.mix_alpha, ema_decay=args.ema_decay, joint=args.joint,
                      codec_loss=args.codec_loss)
    out = Path(args.out).expanduser() if args.out else user_checkpoint_dir()
    if out.resolve() == bundled_dir().resolve():
        raise ValueError(f"--out {out} is the installed package's own directory: write elsewhere (the default is {user_checkpoint_dir()})")
    if cfg.epochs == 0 and (args.retrain_backbone or not ckpt.backbone_file(out, cfg.width).exists()):
        raise ValueError(f"--epochs 0 needs a trained backbone in --out {out}: give --epochs >= 1")
    check_writable_dir(out, "--out")
    device = resolve_device(args.device)
    splits = data_mod.load(dataset, args.data_root, args.download, seed=args.seed)
    splits = data_mod.Splits(splits.train.to(device), splits.val, splits.test)
    command = "coinfer train " + shlex.join(sys.argv[2:]) if Path(sys.argv[0]).name == "coinfer" else ""
    meta = train(cfg, splits, out, device, command=command, retrain_backbone=args.retrain_backbone)
    print(f"backbone test accuracy {meta['backbone_test_accuracy']:.4f}; artifacts in {out}")
    env_id = args.env.split(":")[-1]
    print(f"use them with gym.make({env_id!r}, checkpoint_dir={str(out)!r}"
          + (f", width={cfg.width}" if cfg.width != p["width"] else "")
          + (f", dataset={dataset!r}" if dataset != p["dataset"] else "") + ")"
          + ("" if env_id != TINY_ID else "  (the Tiny id otherwise reads the bundled weights)"))
    return 0
