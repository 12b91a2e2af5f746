"""End-to-end latency against link rate at the split after conv4_x (the paper's Fig. 3).

    .venv/bin/python examples/latency.py --device rpi3 [--results CSV] [--out runs/latency]

latency = device FLOPs / device FLOP/s + payload bits / rate + server FLOPs / server FLOP/s,
for rates from 10 KB/s to 10 MB/s, one curve per scheme (its split-13 point, the mean
over its seeds, whatever its accuracy: the legend gives it), plus
on-device-only (the whole backbone on the device, nothing sent) and server-only
(the PNG image sent, the whole backbone on the server).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baselines.latency import DEVICE_PROFILES, SERVER_FLOPS, device_speed, latency, parse_rate  # noqa: E402
from baselines.seeds import mean_over_seeds  # noqa: E402
from coinfer_cli.select_design import shipped_results  # noqa: E402

SHIPPED = shipped_results()

SPLIT = 13


def finish_latency_axes(fig, ax, title: str, path: Path) -> None:
    """Log-log latency against link rate, labelled, saved to ``path``."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("link rate (KB/s)")
    ax.set_ylabel("end-to-end latency per image (ms)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


MEASURED_RATES = ("10KB/s", "40KB/s", "100KB/s", "400KB/s", "1MB/s", "10MB/s")


def measure_compute(export, images) -> tuple[float, float]:
    """Median seconds per image of the device part and of the server part, one image at a time."""
    from coinfer_env.data import normalize

    dev, srv = [], []
    for img in images:
        x = normalize(img[None]).contiguous()
        t = time.perf_counter()
        z = export.encode(x)
        dev.append(time.perf_counter() - t)
        t = time.perf_counter()
        export.classify(z)
        srv.append(time.perf_counter() - t)
    return float(np.median(dev)), float(np.median(srv))


async def _sweep(export, images, rates, host, port):
    from coinfer_env.data import normalize
    from coinfer_env.serving import InferenceClient

    out = {}
    for rate in rates:
        client = await InferenceClient.connect(host, port, export.bits_per_symbol, parse_rate(rate))
        times = []
        for img in images:
            t = time.perf_counter()
            await client.infer(export.encode(normalize(img[None]).contiguous()))
            times.append(time.perf_counter() - t)
        await client.close()
        out[rate] = float(np.median(times))
    return out


def served(export_dir):
    """Start `coinfer serve` on a free loopback port in its own process (as deployed); yield (host, port)."""
    import subprocess
    from contextlib import contextmanager

    @contextmanager
    def run():
        coinfer = str(Path(sys.executable).with_name("coinfer"))
        proc = subprocess.Popen([coinfer, "serve", str(export_dir), "--port", "0"], stdout=subprocess.PIPE, text=True)
        try:
            address = proc.stdout.readline().split(" on ")[1].split(" ")[0]
            host, port = address.rsplit(":", 1)
            yield host, int(port)
        finally:
            proc.terminate()
            proc.wait(timeout=15)

    return run()


def measured(args) -> None:
    """Measured latency per image over loopback, beside the model with this machine's measured speeds."""
    import asyncio
    import json

    from coinfer_env import wire
    from coinfer_env.data import load
    from coinfer_env.serving import Export

    export = Export.load(args.measured)
    report = json.loads((Path(args.measured) / "export.json").read_text())
    images = load(export.dataset).test.images[: args.images]
    t_dev, t_srv = measure_compute(export, images)
    dev_speed, srv_speed = report["flops"] / t_dev, report["server_flops"] / t_srv
    frame = wire.HEADER.size + wire.REQUEST_BODY.size + wire.bytes_per_image(export.symbols, export.bits_per_symbol)
    with served(args.measured) as (host, port):
        sweep = asyncio.run(_sweep(export, images, MEASURED_RATES, host, port))
    rows = []
    for rate, seconds in sweep.items():
        model = latency(report["flops"], report["bits"], report["server_flops"], dev_speed, parse_rate(rate), srv_speed)
        rows.append({"rate": rate, "rate_bytes_per_s": parse_rate(rate), "modelled_ms": model * 1e3, "measured_ms": seconds * 1e3,
                     "ratio": seconds / model, "frame_bytes": frame})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "latency-measured.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"device part {t_dev * 1e3:.3f} ms/image = {dev_speed:.3g} FLOP/s measured; server part {t_srv * 1e3:.3f} ms/image = "
          f"{srv_speed:.3g} FLOP/s; payload {report['bits']} bits = {wire.bytes_per_image(export.symbols, export.bits_per_symbol)} B, "
          f"frame {frame} B; median of {len(images)} images per rate, one image per request; "
          "server in its own process (coinfer serve), client here, both on this machine's cores")
    print("| rate | modelled | measured | measured / modelled |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['rate']} | {r['modelled_ms']:.2f} ms | {r['measured_ms']:.2f} ms | {r['ratio']:.2f} |")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    x = [r["rate_bytes_per_s"] / 1e3 for r in rows]
    ax.plot(x, [r["modelled_ms"] for r in rows], "-", label="modelled (measured compute + bits / rate)")
    ax.plot(x, [r["measured_ms"] for r in rows], "o", label="measured over loopback (coinfer serve/infer)")
    finish_latency_axes(fig, ax, f"{Path(args.measured).name}: {report['bits']} bits per image", out / "latency-measured.png")
    print(f"wrote {out / 'latency-measured.csv'} and {out / 'latency-measured.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--results", default=str(SHIPPED), help="a trade-off CSV")
    parser.add_argument("--device", default="rpi3", help=f"{', '.join(DEVICE_PROFILES)} or FLOP/s")
    parser.add_argument("--server-flops", type=float, default=SERVER_FLOPS, help="server speed in FLOP/s")
    parser.add_argument("--out", default="runs/latency", help="output directory")
    parser.add_argument("--measured", metavar="EXPORT_DIR", help="measure over loopback with this export instead of modelling")
    parser.add_argument("--images", type=int, default=50, help="images per rate (--measured)")
    args = parser.parse_args()
    if args.measured:
        return measured(args)
    rows = list(csv.DictReader(open(args.results)))
    if "seed" in rows[0]:  # one curve per design: the mean over its seeds
        rows = mean_over_seeds(rows)
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
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    finish_latency_axes(fig, ax, f"Split after conv4_x; device {args.device} ({speed:.3g} FLOP/s), server {args.server_flops:.3g} FLOP/s",
                        out / f"latency-{args.device}.png")
    with open(out / f"latency-{args.device}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rate_bytes_per_s", *curves])
        for i, x in enumerate(rates):
            w.writerow([f"{x:.0f}", *(f"{curves[n][i]:.6g}" for n in curves)])
    print(f"wrote {out / f'latency-{args.device}.png'} and .csv: {len(curves)} curves")
    for line in crossovers(curves, rates):
        print(line)


def crossovers(curves: dict[str, list[float]], rates: np.ndarray) -> list[str]:
    """Per split design: the lowest grid rate where it is faster than on-device-only, the highest where faster than the PNG upload.

    Empty when the results hold no server-png row, which both references come from.
    """
    device = next((ys for n, ys in curves.items() if n.startswith("on-device-only")), None)
    png = next((ys for n, ys in curves.items() if n.startswith("server-only")), None)
    if device is None or png is None:
        return []

    def fmt(x: float | None) -> str:
        return "never" if x is None else f"{x / 1e3:,.0f} KB/s"

    out = []
    for name, ys in curves.items():
        if "only" in name:
            continue
        above = [x for x, y, d in zip(rates, ys, device) if y < d]
        below = [x for x, y, p in zip(rates, ys, png) if y < p]
        out.append(f"{name}: faster than on-device-only from {fmt(min(above) if above else None)}, "
                   f"than the PNG upload up to {fmt(max(below) if below else None)}")
    return out


if __name__ == "__main__":
    main()
