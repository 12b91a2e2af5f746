"""How much of a proxy's miss on heavily pruned designs could more validation images remove?

    .venv/bin/python benchmarks/readout_noise.py

A proxy's accuracy on n validation images is the network's accuracy plus binomial noise of variance p(1 - p)/n, which
is independent of the deployed accuracy. So it lowers the correlation with the truth by a known factor
(attenuation, Spearman 1904): r_observed = r_noise_free * sqrt(1 - s), with s the share of the proxy's variance
across designs that the noise makes. Reading on k times the images shrinks s to s/k. This takes every raw proxy of
results/calibration/proxies.csv on each split's heavy designs (search_proxies.py's draws with committed export
truths), against the export truth (seed 0), and prints the Pearson r as measured, with 3 times the images, and with
noise-free images: what a readout on more images could reach. It computes nothing and writes
results/calibration/readout-noise.md.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from reward_fidelity import bundled_tiny, read_rows
from search_proxies import committed_truth, designs, heavy_pooled

from coinfer_env import checkpoints as ckpt
from coinfer_env.data import load_subset
from coinfer_env.hardware import device_name

RESULTS = Path("docs/results/calibration")
SPLITS = (13, 16)  # the splits whose heavy draws have two truth seeds: their agreement is the ceiling


def noise_share(acc: np.ndarray, images: int) -> float:
    """The share of ``acc``'s variance across designs that binomial sampling of ``images`` images makes."""
    return float(np.mean(acc * (1 - acc) / images) / np.var(acc))


def attenuated(r: float, share: float, factor: float) -> float:
    """The correlation ``r``, measured with noise share ``share``, with the images multiplied by ``factor``
    (``np.inf``: noise-free): the noise-free variance V stays, the noise N becomes N / factor, so r grows by
    sqrt((V + N) / (V + N / factor)) = 1 / sqrt(1 - share + share / factor)."""
    return r / np.sqrt(1 - share + share / factor)


def ceiling(split: int, kept: list[str]) -> tuple[float, int]:
    """Pearson r between the export truth's seeds 0 and 1 on those of ``kept`` that have both (a second
    fine-tune's agreement), and how many those are."""
    seeds: dict[str, dict[int, float]] = {}
    for r in read_rows(RESULTS / "truth.csv"):
        if int(r["split"]) == split and int(r["epochs"]) == 10 and r["kept"] in kept:
            seeds.setdefault(r["kept"], {})[int(r["seed"])] = float(r["test_accuracy"])
    pairs = np.array([(seeds[k][0], seeds[k][1]) for k in kept if {0, 1} <= set(seeds.get(k, {}))])
    return (float(np.corrcoef(pairs.T)[0, 1]) if len(pairs) > 2 else float("nan")), len(pairs)


def section(split: int, rows: list[dict], images: int) -> list[str]:
    kept = heavy_pooled(designs(bundled_tiny(split).config, split))
    truth = committed_truth(split)
    agree, pairs = ceiling(split, kept)
    lines = [f"## Split {split}: {len(kept)} heavy designs; on the {pairs} with two truth seeds, they agree at "
             f"r = {agree:.2f}", "",
             "| proxy | designs | noise share of its variance | Pearson r with the truth | with 3x the images | "
             "noise-free |", "|---|---:|---:|---:|---:|---:|"]
    for m in sorted({r["method"] for r in rows if int(r["split"]) == split and r["kept"] in kept}):
        mine = sorted((r for r in rows if int(r["split"]) == split and r["method"] == m and r["kept"] in kept),
                      key=lambda r: r["kept"])
        acc = np.array([float(r["proxy_accuracy"]) for r in mine])
        r = float(np.corrcoef(acc, [truth[x["kept"]] for x in mine])[0, 1])
        share = noise_share(acc, images)
        lines.append(f"| {m} | {len(mine)} | {share:.2f} | {r:+.2f} | {attenuated(r, share, 3):+.2f} | "
                     f"{attenuated(r, share, np.inf):+.2f} |")
    return lines + [""]


def main() -> None:
    started = time.time()
    rows, images = read_rows(RESULTS / "proxies.csv"), len(load_subset().val)
    body = [line for split in SPLITS for line in section(split, rows, images)]
    text = "\n".join(["# What more validation images could add on heavy designs, Tiny id", "",
                      f"Command: `.venv/bin/python benchmarks/readout_noise.py`. This invocation: "
                      f"{device_name(torch.device('cpu'))}, {time.time() - started:.0f} s, nothing computed. Every raw "
                      f"proxy of proxies.csv on the heavy designs, read on the {images} validation images, "
                      "against the export truth (10 epochs, seed 0). The noise share is the binomial variance "
                      "p(1 - p)/n averaged over the designs, over the proxy's variance across them (itself estimated "
                      "from the designs, so a rough figure with 12). Reading on k times the images divides the share "
                      "by k, and the correlation r becomes r / sqrt(1 - share + share / k). The bundled data has no more held-out "
                      "images than these and the test images the truth is read on, so 3x is a what-if.", "", *body]) + "\n"
    ckpt.atomic_write(RESULTS / "readout-noise.md", lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
