"""Would a constant shift of the raw accuracy, which keeps its order, order the rewards better? A screen at split 13,
on committed rows, computing nothing.

    .venv/bin/python benchmarks/level_shift.py

The reward blends accuracy with the FLOPs and bits saved, so it is not scale-free: a proxy that reads the accuracy 33
to 36 points low, as the raw default does on search-like and heavily pruned designs, reorders the rewards even where
it orders the accuracies well (docs/environment.md, "In short"). The withdrawn maps fixed the level and misread
heavy designs. This asks whether the simplest level correction, raw + c (clipped at 1) with one c for every design,
helps on every kind of design at split 13: the fixed broad and narrow panels (reward_fidelity.py's networks.csv,
against the mean of export truth seeds 0 and 1), the 32 search-like designs of search_proxies.py (truth seed 0, as
there) and the 24 heavy designs of two draws (heavy_pooled.py, the two seeds' mean). Each cell is the reward tau
against the deployed reward. It was explored before it was committed, on these same designs, so it is a screen: c
is not chosen here, and a level correction built on it needs a rule and designs that none of this has seen. Writes
results/calibration/level-shift-split-13.md.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from default_rule import truths as panel_truths
from general_calibration import load
from heavy_pooled import draw_truths
from heavy_truths import committed_raw
from reward_fidelity import bundled_tiny, heavy_designs, read_rows, reward
from scipy.stats import kendalltau
from search_proxies import committed_truth, designs

from coinfer_env import checkpoints as ckpt
from coinfer_env.hardware import device_name

SPLIT = 13
RESULTS = Path("docs/results")
SHIFTS = (0.0, 0.1, 0.2, 0.3, 0.4)
METHODS = ("reconstruct-8", "adaptive-bn-8", "finetune-16", "adaptive-bn+finetune-16", "distill-16")


def shifted_tau(kept: list[str], raw: dict[str, float], truth: dict[str, float], shift: float, config,
                bps: int) -> float:
    """Kendall tau of the reward read at raw + ``shift`` (clipped at 1) against the reward at the truth."""
    proxy = [reward(config, json.loads(k), min(1.0, raw[k] + shift), bps) for k in kept]
    return float(kendalltau(proxy, [reward(config, json.loads(k), truth[k], bps) for k in kept]).statistic)


def clipped(kept: list[str], raw: dict[str, float], shift: float) -> str:
    """" (n at 1)" where the shift clips n designs at accuracy 1, which leaves their order to the FLOPs and bits."""
    n = sum(raw[k] + shift >= 1.0 for k in kept)
    return f" ({n} at 1)" if n else ""


def groups(config) -> dict[str, tuple[list[str], dict[str, dict[str, float]], dict[str, float]]]:
    """name -> (its designs, method -> kept -> raw accuracy, kept -> truth)."""
    seeds = panel_truths()
    networks = read_rows(RESULTS / "reward_fidelity" / "networks.csv")
    out = {}
    for panel in ("broad", "narrow"):
        rows = [r for r in networks if r["panel"] == panel]
        kept = sorted({r["kept"] for r in rows})
        raw = {m: {r["kept"]: float(r["proxy_accuracy"]) for r in rows if r["method"] == m} for m in METHODS}
        out[f"{panel} panel ({len(kept)})"] = (kept, raw, {k: float(np.mean([seeds[k][0], seeds[k][1]])) for k in kept})
    search = designs(config, SPLIT)["seed 3000"]
    truth = load(SPLIT).truth | committed_truth(SPLIT)
    out[f"search-like, seed 3000 ({len(search)})"] = (search, committed_raw(SPLIT, search), {k: truth[k] for k in search})
    heavy = sorted({k for s in (6000, 7000) for k in heavy_designs(config, 12, s)})
    pairs = draw_truths(SPLIT, heavy)[0]
    out[f"heavy, seeds 6000 and 7000 ({len(heavy)})"] = (heavy, committed_raw(SPLIT, heavy),
                                                         {k: float(np.mean(pairs[k])) for k in heavy})
    return out


def report(started: float) -> str:
    trained = bundled_tiny(SPLIT)
    config, bps = trained.config, trained.bits_per_symbol
    kinds, lines = groups(config), []
    for m in METHODS:
        lines += [f"## {m}", "", "| designs | raw level below the truth, points | " +
                  " | ".join(f"shift +{100 * c:.0f}" for c in SHIFTS) + " |", "|---|---:|" + "---:|" * len(SHIFTS)]
        for name, (kept, raw, truth) in kinds.items():
            below = 100 * np.mean([truth[k] - raw[m][k] for k in kept])
            lines.append(f"| {name} | {below:.1f} | " + " | ".join(
                f"{shifted_tau(kept, raw[m], truth, c, config, bps):.2f}{clipped(kept, raw[m], c)}" for c in SHIFTS) + " |")
        lines.append("")
    head = ["# A constant shift of the raw accuracy, Tiny id, split 13 (a screen)", "",
            f"Command: `.venv/bin/python benchmarks/level_shift.py`. This invocation: {device_name(torch.device('cpu'))}, "
            f"{time.time() - started:.0f} s, nothing computed. Each cell: the reward Kendall tau, against the deployed "
            "reward, of the reward read at the raw accuracy plus the shift (clipped at 1); the shift +0 column is the "
            "raw proxy; \"(n at 1)\" counts the designs the shift clips at accuracy 1, whose order is then cost-only's. Truths: the fixed panels and the heavy designs, the mean of export truth seeds 0 and 1; the "
            "search-like designs, seed 0. Explored before it was committed, on these designs: a screen, not a "
            "judgement.", ""]
    return "\n".join(head + lines)


def main() -> None:
    started = time.time()
    torch.set_num_threads(2)
    text = report(started)
    ckpt.atomic_write(RESULTS / "calibration" / "level-shift-split-13.md", lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
