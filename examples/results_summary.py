"""Our measured figures beside the AutoML co-inference paper's claims, from a trade-off CSV.

    .venv/bin/python examples/results_summary.py [--results baselines/results/tradeoff.csv]
"""

import argparse
import csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--results", default="baselines/results/tradeoff.csv", help="a trade-off CSV")
    rows = list(csv.DictReader(open(parser.parse_args().results)))
    get = lambda scheme, k: next(r for r in rows if r["scheme"] == scheme and int(r["split_point"]) == k)
    png = get("server-png", 0)
    backbone = float(png["test_accuracy"])
    print(f"backbone test accuracy {backbone:.4f}; PNG upload {float(png['payload_bits']):,.0f} bits per image")
    for k in (13, 16):
        ours, part, bn = get("proposed-ddpg", k), get("simple-partition", k), get("bottlenet++", k)
        print(f"split {k}:")
        print(f"  communication vs server-based PNG: {1 - float(ours['payload_bits']) / float(png['payload_bits']):.1%} less "
              f"({float(ours['payload_bits']):,.0f} vs {float(png['payload_bits']):,.0f} bits)   [paper: up to 87.5% less]")
        print(f"  device FLOPs vs simple partition: {1 - float(ours['device_flops']) / float(part['device_flops']):.1%} fewer "
              f"({int(float(ours['device_flops'])):,} vs {int(float(part['device_flops'])):,})   [paper: 70.4% fewer]")
        print(f"  accuracy loss vs backbone: {100 * (backbone - float(ours['test_accuracy'])):.2f} points   [paper: under 1%]")
        print(f"  BottleNet++: {float(bn['payload_bits']):,.0f} bits, accuracy loss {100 * (backbone - float(bn['test_accuracy'])):.2f} points")
        r = get("proposed-random", k)
        print(f"  random search + export: {int(float(r['device_flops'])):,} FLOPs, {float(r['payload_bits']):,.0f} bits, "
              f"accuracy loss {100 * (backbone - float(r['test_accuracy'])):.2f} points")


if __name__ == "__main__":
    main()
