"""End-to-end latency against link rate at the split after conv4_x (the paper's Fig. 3).

    .venv/bin/python examples/latency.py --device rpi3 [--results CSV] [--out runs/latency]

latency = device FLOPs / device FLOP/s + payload bits / rate + server FLOPs / server FLOP/s,
for rates from 10 KB/s to 10 MB/s, one curve per scheme (its split-13 point, whatever
its accuracy: the legend gives it), plus
on-device-only (the whole backbone on the device, nothing sent) and server-only
(the PNG image sent, the whole backbone on the server).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baselines.latency import DEVICE_PROFILES, SERVER_FLOPS, device_speed, latency  # noqa: E402
from coinfer_cli.select_design import shipped_results  # noqa: E402

SHIPPED = shipped_results()

SPLIT = 13


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--results", default=str(SHIPPED), help="a trade-off CSV")
    parser.add_argument("--device", default="rpi3", help=f"{', '.join(DEVICE_PROFILES)} or FLOP/s")
    parser.add_argument("--server-flops", type=float, default=SERVER_FLOPS, help="server speed in FLOP/s")
    parser.add_argument("--out", default="runs/latency", help="output directory")
    args = parser.parse_args()
    rows = list(csv.DictReader(open(args.results)))
    speed = device_speed(args.device)
    rates = np.logspace(4, 7, 61)  # 10 KB/s .. 10 MB/s
    curves = {}
    for r in rows:
        if int(r["split_point"]) == SPLIT:
            label = f"{r['scheme']} ({100 * float(r['test_accuracy']):.1f}%)"
            curves[label] = [latency(float(r["device_flops"]), float(r["payload_bits"]), float(r["server_flops"]), speed, x, args.server_flops) for x in rates]
        if r["scheme"] == "server-png":
            total = float(r["server_flops"])
            curves[f"server-only, PNG ({100 * float(r['test_accuracy']):.1f}%)"] = [latency(0, float(r["payload_bits"]), total, speed, x, args.server_flops) for x in rates]
            curves[f"on-device-only ({100 * float(r['test_accuracy']):.1f}%)"] = [total / speed] * len(rates)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    for name, ys in curves.items():
        ax.plot(rates / 1e3, np.array(ys) * 1e3, "--" if "only" in name else "-", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("link rate (KB/s)")
    ax.set_ylabel("end-to-end latency per image (ms)")
    ax.set_title(f"Split after conv4_x; device {args.device} ({speed:.3g} FLOP/s), server {args.server_flops:.3g} FLOP/s")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / f"latency-{args.device}.png", dpi=120)
    with open(out / f"latency-{args.device}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rate_bytes_per_s", *curves])
        for i, x in enumerate(rates):
            w.writerow([f"{x:.0f}", *(f"{curves[n][i]:.6g}" for n in curves)])
    print(f"wrote {out / f'latency-{args.device}.png'} and .csv: {len(curves)} curves")


if __name__ == "__main__":
    main()
