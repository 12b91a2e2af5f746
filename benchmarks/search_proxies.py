"""Which evaluation method ranks the designs a search proposes as deployment does?

    .venv/bin/python benchmarks/search_proxies.py --split 7 [--methods ...] [--threads 2]

The calibration maps fail on search-like designs (every ratio uniform in [0, 1], as the benches' random search draws
them): at split 7 a map that held 12 of them read 16 fresh ones with a 6-point scatter, because raw ``reconstruct``
orders them only so well (docs/environment.md, "Split 7's second fit, judged on fresh search-like designs"). A map
cannot fix an order, so this measures the order itself: every method of reward_fidelity.PROXIES, raw, on the
search-like designs that already have export-recipe truths (seed 0), against those truths. It fits nothing and
chooses nothing; the figures say which proxy a next map should be built on. Each table also judges every method's
map shipped beside the weights at the split (what ``calibrated=True`` applies), where none of the table's designs was
in that map's fit: a held-out reading that costs no compute.

Designs: at splits 4, 7 and 16, the 12 of fit_calibration.py's ``--calibration-search 12`` and the 16 of each of its
``--check search`` panels (seed 4000, and at split 7 also 5000); at split 13, ground_truth_check.py's 32. Below the table of all
the split's designs, one table per group of them (by the seed that drew it), so a group that is easier to order
than the others shows. Raw accuracies are appended to results/calibration/proxies.csv (the rows
fit_calibration.py writes, so the ones it measured are reused and a killed run resumes); the report is
results/calibration/search-proxies-split-<S>.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from fit_calibration import proxies
from general_calibration import load
from ground_truth_check import compare
from reward_fidelity import PROXIES, bundled_tiny, calibration_search, hosts_text, read_rows, search_designs

from coinfer_env import calibration as calib
from coinfer_env import checkpoints as ckpt
from coinfer_env.data import load_subset
from coinfer_env.hardware import device_name

RESULTS = Path("docs/results/calibration")
# The search-like designs with committed seed-0 export truths, by split: the first N of calibration_search (seed
# 3000; fit_calibration.py --calibration-search, and at split 13 ground_truth_check.py's 32) and fit_calibration.py's
# --check search panels (their --search-seed -> how many).
CALIBRATION_SEARCH = {4: 12, 7: 12, 13: 32, 16: 12}
FRESH_SEARCH = {4: {4000: 16}, 7: {4000: 16, 5000: 16}, 16: {4000: 16}}


def designs(config, split: int) -> dict[str, list[str]]:
    """The split's search-like designs that have committed export truths, as JSON kept vectors, by the random-search
    seed that drew them."""
    drawn = {3000: list(calibration_search(config, CALIBRATION_SEARCH[split], 0))}
    drawn |= {seed: list(search_designs(config, n, seed)) for seed, n in FRESH_SEARCH.get(split, {}).items()}
    return {f"seed {seed}": sorted({json.dumps(list(k)) for k in kept}) for seed, kept in drawn.items()}


def shipped_maps(config, split: int, methods: list[str]) -> dict[str, tuple[calib.Calibration, set[str], int]]:
    """method -> its map shipped beside the weights at ``split``, the search-like designs its fit holds (JSON kept
    vectors: the first ``search_networks`` of calibration_search with the fit's panel seed) and how many networks it
    was fitted on; a method with no map there is left out."""
    digest = ckpt.split_digest(ckpt.bundled_dir(), 8, split)
    out = {}
    for m in methods:
        if (e := calib.stored(ckpt.bundled_dir(), 8, split, digest, PROXIES[m])) is None:
            continue
        held = calibration_search(config, e.get("search_networks", 0), e["panel_seed"] - 1000)  # as ship_fits wrote it
        out[m] = (calib.from_entry(e), {json.dumps(list(k)) for k in held}, e["networks"])
    return out


def table(kept: list[str], raw: dict[str, dict[str, float]], truth: dict[str, float], config, bps: int,
          rows: list[dict], methods: list[str], maps: dict[str, tuple[calib.Calibration, set[str], int]]) -> list[str]:
    """How cost-only, each raw proxy and each shipped map of ``maps`` that holds none of ``kept`` rank and read the
    truth of ``kept``, with each proxy's median seconds over ``rows`` (every design of the split, so a group's table
    repeats the split's figure); below the table, which maps were left out for holding some of ``kept``."""
    acc = [truth[k] for k in kept]
    lines = ["| stand-in for the truth | reward tau [95% bootstrap] | accuracy tau | mean accuracy below the truth, "
             "points | its spread (sd) | calibration error, points | top-pick regret | median seconds |",
             "|---|---:|---:|---:|---:|---:|---:|---:|",
             compare("cost-only (every design at their mean truth)", kept, truth, [float(np.mean(acc))] * len(kept),
                     config, bps) + " 0 |"]
    notes = []
    for m in methods:
        cost = float(np.median([float(r["seconds"]) for r in rows if r["method"] == m]))
        lines.append(compare(f"raw {m}", kept, truth, [raw[m][k] for k in kept], config, bps) + f" {cost:.1f} |")
        if m not in maps:
            continue
        fitted, held, networks = maps[m]
        if shared := held & set(kept):
            notes.append(f"{m}'s shipped map was fitted on {len(shared)} of these designs, so it is not judged here.")
            continue
        lines.append(compare(f"{m} + its shipped {fitted.kind} map (fitted on {networks} networks, none of these)",
                             kept, truth, [fitted(raw[m][k]) for k in kept], config, bps) + f" {cost:.1f} |")
    return lines + (["", *notes] if notes else [])


def report(split: int, groups: dict[str, list[str]], raw: dict[str, dict[str, float]], truth: dict[str, float],
           config, bps: int, rows: list[dict], seconds: float, methods: list[str]) -> str:
    maps = shipped_maps(config, split, methods)
    kept = sorted({k for group in groups.values() for k in group})
    acc = [truth[k] for k in kept]
    lines = [f"# Raw proxies on search-like designs, Tiny id, split {split}", "",
             f"Command: `.venv/bin/python benchmarks/search_proxies.py --split {split} --methods {' '.join(methods)}`. "
             f"This invocation: {device_name(torch.device('cpu'))}, {torch.get_num_threads()} torch threads, "
             f"{seconds:.0f} s; the rows, by where they were computed: {hosts_text(rows)}. {len(kept)} search-like "
             f"designs (every ratio uniform in [0, 1]); the truth: the export recipe, seed 0 (deployed accuracy "
             f"{100 * min(acc):.1f}-{100 * max(acc):.1f}%). Each proxy is raw: no map is fitted, so the accuracy "
             "error only says how far below deployment it reads; the taus and the regret are what a map cannot change "
             "(a monotone map keeps the accuracy order). A shipped map (`calibrated=True`) is judged in each table whose "
             "designs it was not fitted on.", "",
             *table(kept, raw, truth, config, bps, rows, methods, maps)]
    for name, group in groups.items() if len(groups) > 1 else ():
        lines += ["", f"## The {len(group)} designs of {name} alone", "", "(Median seconds: over all the split's designs, "
                  "as above.)", "",
                  *table(group, raw, truth, config, bps, rows, methods, maps)]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", type=int, required=True, choices=sorted(CALIBRATION_SEARCH))
    p.add_argument("--methods", nargs="+", default=list(PROXIES), choices=list(PROXIES))
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    started = time.time()
    trained = bundled_tiny(args.split)
    groups = designs(trained.config, args.split)
    kept = sorted({k for group in groups.values() for k in group})
    truth = load(args.split).truth
    if missing := [k for k in kept if k not in truth]:
        raise SystemExit(f"split {args.split}: {len(missing)} designs lack a committed export truth")
    raw = proxies(args.split, kept, trained, load_subset(), args.methods, RESULTS / "proxies.csv")
    wanted = set(kept)
    rows = [r for r in read_rows(RESULTS / "proxies.csv")
            if int(r["split"]) == args.split and r["kept"] in wanted and r["method"] in args.methods]
    text = report(args.split, groups, raw, truth, trained.config, trained.bits_per_symbol, rows, time.time() - started,
                  args.methods)
    out = RESULTS / f"search-proxies-split-{args.split:02d}.md"
    ckpt.atomic_write(out, lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
