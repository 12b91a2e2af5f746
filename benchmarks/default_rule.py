"""The issue's rule for the default evaluation, applied against the export recipe's truth.

    .venv/bin/python benchmarks/default_rule.py

The default is the method with the best reward tau on the broad and narrow panels among those whose Tiny episode
stays at or under 5 s (issue 11). This reads every raw method's accuracy of reward_fidelity.py's fixed panels
(results/reward_fidelity/networks.csv), their export truths (10 epochs from the pruned network, seeds 0 and 1:
ground_truth_check.py's rows) and each method's evaluation seconds at split 13 (results/calibration/proxies.csv),
and applies the rule in docs/environment.md ("The issue's rule for the default, against the export recipe"). It
computes nothing and writes results/reward_fidelity/default-rule.md.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from ground_truth_check import figures
from reward_fidelity import DEFAULT, bundled_tiny, hosts_text, read_rows
from search_proxies import designs

from coinfer_env import checkpoints as ckpt
from coinfer_env.hardware import device_name

RESULTS = Path("docs/results")
SCORED, SHOWN = ("broad", "narrow"), ("sweep",)
SEEDS = (0, 1)
MAX_SECONDS = 4.5  # the evaluation's share of the 5-s episode
MARGIN = 0.10  # a lead under this is a tie, and a tie keeps the default


def truths() -> dict[str, dict[int, float]]:
    """kept -> seed -> the export recipe's test accuracy (10 epochs from the pruned network)."""
    out: dict[str, dict[int, float]] = {}
    for r in read_rows(RESULTS / "reward_fidelity" / "ground_truth_check.csv"):
        if r["start"] == "pruned" and int(r["epochs"]) == 10 and int(r["seed"]) in SEEDS:
            out.setdefault(r["kept"], {})[int(r["seed"])] = float(r["test_accuracy"])
    return out


def seconds_at_13() -> dict[str, float]:
    """method -> its median evaluation seconds at split 13 in results/calibration/proxies.csv, over search_proxies.py's
    44 designs there (a fixed set, so that rows added for other designs move nothing here)."""
    judged = {k for group in designs(bundled_tiny(13).config, 13).values() for k in group}
    rows = [r for r in read_rows(RESULTS / "calibration" / "proxies.csv") if int(r["split"]) == 13 and r["kept"] in judged]
    return {m: float(np.median([float(r["seconds"]) for r in rows if r["method"] == m])) for m in {r["method"] for r in rows}}


def panel_taus(networks: list[dict], kept_of: dict[str, list[str]], truth: dict[str, float], config,
               bps: int) -> dict[tuple[str, str], dict]:
    """(panel, method) -> ``figures`` of the method's raw accuracies of the panel's designs ``kept_of[panel]``
    against ``truth``."""
    out = {}
    for panel, kept in kept_of.items():
        rows = [r for r in networks if r["panel"] == panel]
        for m in sorted({r["method"] for r in rows}):
            acc = {r["kept"]: float(r["proxy_accuracy"]) for r in rows if r["method"] == m}
            out[(panel, m)] = figures(f"{panel} {m}", kept, truth, [acc[k] for k in kept], config, bps)
    return out


def report(networks: list[dict], seeds: dict[str, dict[int, float]], seconds: dict[str, float], started: float) -> str:
    trained = bundled_tiny(13)
    config, bps = trained.config, trained.bits_per_symbol
    fixed = {r["kept"] for r in networks if r["panel"] in SCORED + SHOWN}
    truth = {k: float(np.mean([seeds[k][s] for s in SEEDS])) for k in fixed}
    kept_of = {p: sorted({r["kept"] for r in networks if r["panel"] == p}) for p in SCORED + SHOWN}
    taus = panel_taus(networks, kept_of, truth, config, bps)
    ceiling = {p: figures(f"{p} ceiling", kept_of[p], {k: seeds[k][SEEDS[0]] for k in kept_of[p]},
                          [seeds[k][SEEDS[1]] for k in kept_of[p]], config, bps)["tau"] for p in SCORED + SHOWN}
    methods = sorted({m for _, m in taus}, key=lambda m: -np.mean([taus[(p, m)]["tau"] for p in SCORED]))
    score = {m: float(np.mean([taus[(p, m)]["tau"] for p in SCORED])) for m in methods}
    eligible = {m: seconds.get(m, np.inf) <= MAX_SECONDS for m in methods}
    truth_rows = [r for r in read_rows(RESULTS / "reward_fidelity" / "ground_truth_check.csv")
                  if r["kept"] in fixed and r["start"] == "pruned" and int(r["epochs"]) == 10]
    lines = ["# The issue's rule for the default, against the export recipe, Tiny id, split 13", "",
             f"Command: `.venv/bin/python benchmarks/default_rule.py`. This invocation: {device_name(torch.device('cpu'))}, "
             f"{time.time() - started:.0f} s, nothing computed. The proxies: results/reward_fidelity/networks.csv. The "
             f"truth: the mean of the export recipe's seeds {list(SEEDS)} (10 epochs from the pruned network), "
             f"{len(truth_rows)} fine-tunes ({hosts_text(truth_rows)}). Seconds: each method's median evaluation at "
             "split 13 in results/calibration/proxies.csv, over search_proxies.py's 44 designs there.", "",
             "Noise ceiling (truth seed 1 read as a stand-in for seed 0), reward tau: "
             + ", ".join(f"{p} {ceiling[p]:.2f}" for p in SCORED + SHOWN) + ".", "",
             "| raw method | broad reward tau [95% bootstrap] | narrow | score (their mean) | sweep (not scored) | "
             "median seconds, split 13 | eligible (at most 4.5 s) |", "|---|---:|---:|---:|---:|---:|---|"]
    for m in methods:
        cells = [f"{taus[(p, m)]['tau']:.2f} [{taus[(p, m)]['lo']:.2f}, {taus[(p, m)]['hi']:.2f}]" for p in SCORED]
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {score[m]:.2f} | {taus[('sweep', m)]['tau']:.2f} | "
                     f"{seconds.get(m, float('nan')):.2f} | {'yes' if eligible[m] else 'no'} |")
    best = max((m for m in methods if eligible[m]), key=lambda m: score[m])
    lead = score[best] - score[DEFAULT]
    changes = best != DEFAULT and lead >= MARGIN - 1e-9
    lines += ["", "## The rule", "",
              f"The best eligible score is {best}'s, {score[best]:.2f}; {DEFAULT}'s (the default) is {score[DEFAULT]:.2f}, "
              f"a lead of {lead:+.2f} against the {MARGIN:.2f} a change needs. So: "
              + (f"the rule picks {best}." if changes else f"{DEFAULT} stays the default.")]
    return "\n".join(lines) + "\n"


def main() -> None:
    started = time.time()
    torch.set_num_threads(1)
    text = report(read_rows(RESULTS / "reward_fidelity" / "networks.csv"), truths(), seconds_at_13(), started)
    ckpt.atomic_write(RESULTS / "reward_fidelity" / "default-rule.md", lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
