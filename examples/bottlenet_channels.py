"""BottleNet++ over its paper's channels: does it keep its 64x / 256x compression within 2 % accuracy here?

    .venv/bin/python examples/bottlenet_channels.py [--splits 13,16] [--seeds 2] [--budget 12] [--jobs 2]
        [--out runs/bottlenet_channels] [--dataset NAME]

The BottleNet++ paper (Shao & Zhang 2020, Sec. IV) claims, with under 2 % accuracy loss,
64x fewer channel symbols than the raw feature over AWGN (analog, PSNR 20 dB: peak
power 1, no normalisation) and 256x fewer bits than the float32 feature over a binary
erasure channel (8-bit symbols, bit erasure rate 0.01). Both are its reduction r = 16
(4r fewer symbols: C/16 channels at half resolution). This trains that codec through
each channel for every (split, seed), on the same budget as ``examples/tradeoff.py``,
and writes ``bottlenet_channels.csv`` (a row per run) with the measured compression
and the test accuracy lost against the unpruned backbone.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coinfer_env.checkpoints import atomic_write  # noqa: E402

CHANNELS = {  # the paper's two settings
    "awgn-psnr20": ("awgn", {"snr_db": 20.0, "snr_convention": "psnr"}),
    "bec-0.01": ("bec", {"erasure_prob": 0.01, "bits": 8}),
}
REDUCTION = 16


def run_job(job: dict) -> dict:
    import torch

    from baselines import BottleNetPP, Context
    from baselines.common import Backbone
    from coinfer_env.architecture import SplitConfig, split_feature_shape
    from coinfer_env.loops import accuracy

    torch.set_num_threads(job["threads"])
    channel, kwargs = CHANNELS[job["channel"]]
    ctx = Context.load(device="cpu", seed=job["seed"], budget=job["budget"], dataset=job["dataset"], channel=channel,
                       channel_kwargs=kwargs)
    k = job["split"]
    start = time.time()
    point = BottleNetPP(reductions=(REDUCTION,)).points(ctx, [k])[0]
    backbone = accuracy(Backbone(ctx.plain_network(k)), ctx.data.test)
    C, H, W = split_feature_shape(SplitConfig(ctx.width, k))
    bits_per_symbol = ctx.make_channel().bits_per_symbol
    symbols = point.payload_bits / bits_per_symbol
    return {"channel": job["channel"], "split_point": k, "seed": job["seed"], "reduction": REDUCTION, "symbols": round(symbols),
            "symbol_reduction": C * H * W / symbols, "bit_compression": 32 * C * H * W / point.payload_bits,
            "backbone_accuracy": backbone, "test_accuracy": point.test_accuracy,
            "accuracy_loss_points": 100 * (backbone - point.test_accuracy), "epochs": point.notes["epochs"],
            "seconds": round(time.time() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--splits", default="13,16", help="split points, comma list")
    parser.add_argument("--seeds", type=int, default=2, help="seeds 0..N-1")
    parser.add_argument("--budget", type=int, default=12, help="training epochs per codec, all stages")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes")
    parser.add_argument("--out", default="runs/bottlenet_channels", help="output directory")
    parser.add_argument("--dataset", default=None, help="the preset's data unless given (synthetic: a quick smoke run)")
    args = parser.parse_args()
    if args.seeds < 1 or args.budget < 3:
        parser.error(f"--seeds {args.seeds} / --budget {args.budget}: give 1 or more seeds and a budget of 3 or more epochs")
    threads = max(1, (os.cpu_count() or 1) // max(1, args.jobs))
    jobs = [{"channel": c, "split": int(k), "seed": s, "budget": args.budget, "dataset": args.dataset, "threads": threads}
            for s in range(args.seeds) for k in args.splits.split(",") for c in CHANNELS]
    start = time.time()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            rows = list(pool.map(run_job, jobs))
    else:
        rows = [run_job(j) for j in jobs]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    atomic_write(out / "bottlenet_channels.csv", write)
    for r in rows:
        print(f"{r['channel']:12s} split {r['split_point']:2d} seed {r['seed']}: {r['symbol_reduction']:.0f}x fewer symbols, "
              f"{r['bit_compression']:.0f}x fewer bits, test accuracy {r['test_accuracy']:.4f} "
              f"(loss {r['accuracy_loss_points']:.2f} points against {r['backbone_accuracy']:.4f})")
    print(f"wrote {out / 'bottlenet_channels.csv'}: {len(rows)} runs, budget {args.budget} epochs, "
          f"{time.time() - start:.0f} s on {platform.node() or 'this host'} ({os.cpu_count()} CPUs, {args.jobs} processes)")


if __name__ == "__main__":
    main()
