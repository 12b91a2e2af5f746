"""Replay committed proxy accuracies: does today's code score the recorded designs as it did?

Reads docs/results/reward_fidelity/proxies.csv (written by reward_fidelity.py, split
13), takes the first ``--per-panel`` rows of ``--method`` in each panel, scores each
recorded kept vector again with the row's own evaluation settings, and prints how many
accuracies equal the committed ones exactly. A speed-up that claims to change no result
(environment.md, "Cost of an episode") must leave every one equal.

    .venv/bin/python benchmarks/replay_proxies.py [--method reconstruct-8] [--per-panel 3]

Run once as it is and once under scalar/SSE kernels (``ATEN_CPU_CAPABILITY=default
ONEDNN_MAX_CPU_ISA=SSE41 MKL_ENABLE_INSTRUCTIONS=SSE4_2``) for
docs/results/reward_fidelity/replay_proxies.txt.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import torch

from coinfer_env.data import load_subset
from coinfer_env.evaluation import EvalSettings, Evaluator
from coinfer_env.hardware import device_name
from reward_fidelity import bundled_tiny

PROXIES_CSV = Path(__file__).resolve().parents[1] / "docs" / "results" / "reward_fidelity" / "proxies.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--method", default="reconstruct-8", help="the proxies.csv method column to replay")
    parser.add_argument("--per-panel", type=int, default=3)
    args = parser.parse_args()
    rows = [r for r in csv.DictReader(PROXIES_CSV.open()) if r["method"] == args.method]
    if not rows:
        raise SystemExit(f"--method {args.method!r} has no rows in {PROXIES_CSV}: pick one of its method column")
    by_panel: dict[str, list[dict]] = {}
    for r in rows:
        by_panel.setdefault(r["panel"], []).append(r)
    data, trained = load_subset(), bundled_tiny(13)
    print(f"host: {device_name(torch.device('cpu'))}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    equal = total = 0
    for panel, panel_rows in by_panel.items():
        for r in panel_rows[: args.per_panel]:
            ev = Evaluator(trained, data.train, data.val, EvalSettings(**json.loads(r["settings"])))
            got = ev.evaluate(json.loads(r["kept"]))[0].accuracy
            same = got == float(r["proxy_accuracy"])
            equal, total = equal + same, total + 1
            print(f"{panel}: committed {float(r['proxy_accuracy']):.4f}, now {got:.4f}, {'equal' if same else 'DIFFERENT'}")
    print(f"{equal} of {total} accuracies equal the committed ones ({args.method}, split 13)")


if __name__ == "__main__":
    main()
