"""Our measured figures beside the AutoML co-inference paper's claims, from a trade-off CSV.

    .venv/bin/python examples/results_summary.py [--results baselines/results/tradeoff.csv] [--table]

Each (scheme, split) is the mean over its seeds; ``±`` is one standard error.
``--table`` prints instead the Markdown table of docs/RESULTS.md: per scheme and
split, the mean test accuracy, device FLOPs and payload bits.
"""

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baselines.seeds import mean_over_seeds  # noqa: E402

LEARNED = ("bottlenet++", "2-step", "paa", "ipdr", "proposed-random")


def loss(backbone: dict, r: dict) -> str:
    return f"{100 * (backbone['test_accuracy'] - r['test_accuracy']):.2f} ± {100 * r['test_accuracy_se']:.2f} points"


TABLE_ROWS = {"simple-partition": "simple partition (Huffman)", "bottlenet++": "BottleNet++", "2-step": "2-step",
              "paa": "PAA (AWGN 20 dB, at capacity)", "ipdr": "IPDR", "proposed-random": "proposed (random search)",
              "proposed-ddpg": "proposed (DDPG)"}


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1e6, " M"), (1e3, " k")):
        if value >= scale:
            return f"{value / scale:.3g}{prefix}{unit}"
    return f"{value:.0f} {unit}"


def table(rows: dict) -> str:
    """The scheme-by-split Markdown table: mean accuracy (± s.e. where the seeds differ), device FLOPs, payload bits."""
    splits = sorted({k for name, k in rows if name in TABLE_ROWS})
    lines = ["| scheme | " + " | ".join(f"split {k}" for k in splits) + " |", "|---|" + "---|" * len(splits)]
    for name, label in TABLE_ROWS.items():
        cells = []
        for k in splits:
            r = rows.get((name, k))
            if r is None:
                cells.append("")
                continue
            se = f" ± {100 * r['test_accuracy_se']:.1f}" if r["test_accuracy_se"] > 0 else ""
            cells.append(f"{100 * r['test_accuracy']:.1f}{se}%, {_si(r['device_flops'], '').strip()}, {_si(r['payload_bits'], 'bit')}")
        if any(cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--results", default="baselines/results/tradeoff.csv", help="a trade-off CSV (one row per seed)")
    parser.add_argument("--table", action="store_true", help="print the Markdown table of docs/RESULTS.md instead")
    args = parser.parse_args()
    rows = {(r["scheme"], r["split_point"]): r for r in mean_over_seeds(list(csv.DictReader(open(args.results))))}
    if args.table:
        return print(table(rows))
    png = rows[("server-png", 0)]
    print(f"backbone test accuracy {png['test_accuracy']:.4f}; PNG upload {png['payload_bits']:,.0f} bits per image")
    for k in sorted(k for name, k in rows if name == "proposed-ddpg"):
        ours, part = rows[("proposed-ddpg", k)], rows[("simple-partition", k)]
        print(f"split {k} (proposed-ddpg, {ours['seeds']} seeds, {ours['epochs']} epochs):")
        print(f"  communication vs server-based PNG: {1 - ours['payload_bits'] / png['payload_bits']:.1%} less "
              f"({ours['payload_bits']:,.0f} vs {png['payload_bits']:,.0f} bits)   [paper: up to 87.5% less]")
        print(f"  device FLOPs vs simple partition: {1 - ours['device_flops'] / part['device_flops']:.1%} fewer "
              f"({ours['device_flops']:,.0f} ± {ours['device_flops_se']:,.0f} vs {part['device_flops']:,.0f})   [paper: 70.4% fewer]")
        print(f"  accuracy loss vs backbone: {loss(png, ours)}   [paper: under 1%]")
        for name in LEARNED:
            if (name, k) in rows:
                r = rows[(name, k)]
                print(f"  {name}: {r['device_flops']:,.0f} FLOPs, {r['payload_bits']:,.0f} bits, accuracy loss {loss(png, r)} "
                      f"({r['seeds']} seeds, {r['epochs']} epochs)")


if __name__ == "__main__":
    main()
