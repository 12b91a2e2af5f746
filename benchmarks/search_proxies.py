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
``--check search`` panels (seed 4000, and at split 7 also 5000); at split 13, ground_truth_check.py's 32. At splits 7,
13 and 16, also 12 heavily pruned ones (seed 6000, every ratio uniform in [0, 0.5]: where the searches through a map
went, so the rule for keeping a map applies there too; ceiling_map.py and heavy_truths.py fine-tuned them), and at
split 16 12 more of each of two fresh draws (seeds 7000 and 8000). Below the
table of all the split's designs, one table per group of them (by the seed that drew it), so a group that is easier
to order than the others shows. Raw accuracies are appended to results/calibration/proxies.csv (the rows
fit_calibration.py writes, so the ones it measured are reused and a killed run resumes); the report is
results/calibration/search-proxies-split-<S>.md.

The rule for keeping a map (fit_calibration.keep_rule: an accuracy error of at most 3 points and a reward tau at least
the raw proxy's) applies to every map shipped at the split on each group of designs none of which was in its fit
(docs/environment.md, "The rule for keeping a map, applied to the maps shipped before their search-like designs
existed"): the report's last section gives each verdict, and ``--withdraw`` withdraws each shipped map that misses on
any group (calibration.withdraw, which keeps the map in its record, so a rerun judges it again as "its withdrawn
map"). ``--calibration-dir`` reads (and with ``--withdraw`` writes) another calibration.json than the one beside the
weights.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from fit_calibration import keep_rule, proxies
from general_calibration import load
from ground_truth_check import compare
from reward_fidelity import (PROXIES, bundled_tiny, calibration_search, heavy_designs, hosts_text, read_rows,
                             search_designs)

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
# reward_fidelity.heavy_designs' draws with export truths (ceiling_map.py at split 13, heavy_truths.py elsewhere)
HEAVY_SEARCH = {7: {6000: 12}, 13: {6000: 12}, 16: {6000: 12, 7000: 12, 8000: 12}}
HEAVY_TAG = "(ratios in [0, 0.5])"  # ends the name of each heavy draw's group


def designs(config, split: int) -> dict[str, list[str]]:
    """The split's search-like designs that have committed export truths, as JSON kept vectors, by the random-search
    seed that drew them."""
    drawn = {3000: list(calibration_search(config, CALIBRATION_SEARCH[split], 0))}
    drawn |= {seed: list(search_designs(config, n, seed)) for seed, n in FRESH_SEARCH.get(split, {}).items()}
    groups = {f"seed {seed}": sorted({json.dumps(list(k)) for k in kept}) for seed, kept in drawn.items()}
    return groups | {f"seed {seed} {HEAVY_TAG}": sorted(set(heavy_designs(config, n, seed)))
                     for seed, n in HEAVY_SEARCH.get(split, {}).items()}


def heavy_pooled(groups: dict[str, list[str]]) -> list[str]:
    """Every heavy draw's designs among ``groups``, in one sorted list."""
    return sorted({k for name, group in groups.items() if name.endswith(HEAVY_TAG) for k in group})


def heavy_together(groups: dict[str, list[str]]) -> list[str]:
    """``heavy_pooled`` where a split has more than one heavy draw (a single draw of 12 ranks with an interval of about
    +-0.4; pooled draws narrow it), else none: one draw already has its own table."""
    return heavy_pooled(groups) if sum(name.endswith(HEAVY_TAG) for name in groups) > 1 else []


def committed_truth(split: int) -> dict[str, float]:
    """kept -> the export truth (10 epochs, seed 0) in results/calibration/truth.csv at the split: at split 13,
    general_calibration.load reads only ground_truth_check.py's, so this adds the heavy group's."""
    return {r["kept"]: float(r["test_accuracy"]) for r in read_rows(RESULTS / "truth.csv")
            if int(r["split"]) == split and int(r["epochs"]) == 10 and int(r["seed"]) == 0}


class Judged(NamedTuple):
    """A method's map at the split, as judged here."""

    fitted: calib.Calibration
    held: set[str]  # the search-like and heavy designs its fit holds (JSON kept vectors)
    networks: int  # how many networks it was fitted on
    withdrawn: bool  # taken out (its record keeps it): calibrated=True refuses it


def split_maps(config, split: int, methods: list[str], directory: Path) -> dict[str, Judged]:
    """method -> its map at ``split`` in ``directory``'s calibration.json for the bundled weights: the shipped one, or
    else the one a withdrawal record keeps; a method with neither is left out."""
    digest = ckpt.split_digest(ckpt.bundled_dir(), 8, split)
    out = {}
    for m in methods:
        if (found := calib.recorded(directory, 8, split, digest, PROXIES[m])) is None:
            continue
        e, withdrawn = found
        held = calibration_search(config, e.get("search_networks", 0), e["panel_seed"] - 1000)  # as ship_fits wrote it
        heavy = {k for seed in e.get("heavy_seeds", []) for k in heavy_designs(config, e["heavy_networks"], seed)}
        out[m] = Judged(calib.from_entry(e), {json.dumps(list(k)) for k in held} | heavy, e["networks"], withdrawn)
    return out


def map_name(m: str, judged: Judged) -> str:
    return f"{m} + its {'withdrawn' if judged.withdrawn else 'shipped'} {judged.fitted.kind} map"


def table(kept: list[str], raw: dict[str, dict[str, float]], truth: dict[str, float], config, bps: int,
          rows: list[dict], methods: list[str], maps: dict[str, Judged]) -> list[str]:
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
        judged = maps[m]
        if shared := judged.held & set(kept):
            notes.append(f"{m}'s {'withdrawn' if judged.withdrawn else 'shipped'} map was fitted on {len(shared)} of "
                         "these designs, so it is not judged here.")
            continue
        lines.append(compare(f"{map_name(m, judged)} (fitted on {judged.networks} networks, none of these)",
                             kept, truth, [judged.fitted(raw[m][k]) for k in kept], config, bps) + f" {cost:.1f} |")
    return lines + (["", *notes] if notes else [])


def verdicts(groups: dict[str, list[str]], raw: dict[str, dict[str, float]], truth: dict[str, float], config,
             bps: int, maps: dict[str, Judged]) -> tuple[list[str], dict[str, list[str]]]:
    """The rule for keeping a map on each group of designs none of which is in the map's fit: a line per verdict, and
    per method the groups where its map misses, with the figures."""
    lines, misses = [], {m: [] for m in maps}
    for name, kept in groups.items():
        for m, judged in maps.items():
            if judged.held & set(kept):
                continue
            keeps, figures = keep_rule(kept, truth, [raw[m][k] for k in kept], [judged.fitted(raw[m][k]) for k in kept],
                                       config, bps)
            lines.append(f"- {map_name(m, judged)}, on the {len(kept)} designs of {name}: {figures}: it "
                         f"{'meets' if keeps else 'misses'} the rule.")
            if not keeps:
                misses[m].append(f"on the {len(kept)} search-like designs of {name} (truth: the export recipe, seed 0), "
                                 f"{figures}")
    return lines, misses


def report(split: int, groups: dict[str, list[str]], raw: dict[str, dict[str, float]], truth: dict[str, float],
           config, bps: int, rows: list[dict], seconds: float, methods: list[str], maps: dict[str, Judged],
           rule: list[str], calibration_dir: Path | None = None) -> str:
    """The report; ``calibration_dir``: where the maps judged came from, when not beside the weights."""
    kept = sorted({k for group in groups.values() for k in group})
    acc = [truth[k] for k in kept]
    lines = [f"# Raw proxies on search-like designs, Tiny id, split {split}", "",
             f"Command: `.venv/bin/python benchmarks/search_proxies.py --split {split} --methods {' '.join(methods)}"
             f"{f' --calibration-dir {calibration_dir}' if calibration_dir else ''}`. "
             f"This invocation: {device_name(torch.device('cpu'))}, {torch.get_num_threads()} torch threads, "
             f"{seconds:.0f} s; the rows, by where they were computed: {hosts_text(rows)}. {len(kept)} search-like "
             f"designs (every ratio uniform in [0, 1], or in [0, 0.5] where a group says so); the truth: the export recipe, seed 0 (deployed accuracy "
             f"{100 * min(acc):.1f}-{100 * max(acc):.1f}%). Each proxy is raw: no map is fitted, so the accuracy "
             "error only says how far below deployment it reads; the taus and the regret are what a map cannot change "
             "(a monotone map keeps the accuracy order). A shipped map (`calibrated=True`) is judged in each table whose "
             "designs it was not fitted on; so is a withdrawn one, from the map its withdrawal record keeps.", "",
             *table(kept, raw, truth, config, bps, rows, methods, maps)]
    for name, group in groups.items() if len(groups) > 1 else ():
        lines += ["", f"## The {len(group)} designs of {name} alone", "", "(Median seconds: over all the split's designs, "
                  "as above.)", "",
                  *table(group, raw, truth, config, bps, rows, methods, maps)]
    if together := heavy_together(groups):
        lines += ["", f"## The {len(together)} heavily pruned designs of every draw together", "",
                  "(Median seconds: over all the split's designs, as above.)", "",
                  *table(together, raw, truth, config, bps, rows, methods, maps)]
    lines += ["", "## The rule for keeping a map, on each group of designs the map never saw", "",
              "An accuracy error of at most 3 points, and a reward tau at least the raw proxy's (fit_calibration.py's "
              "keep_rule); a shipped map that misses on any group is withdrawn by `--withdraw`.", "",
              *(rule or ["No map at this split is judged on a group it never saw."])]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", type=int, required=True, choices=sorted(CALIBRATION_SEARCH))
    p.add_argument("--methods", nargs="+", default=list(PROXIES), choices=list(PROXIES))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--calibration-dir", type=Path, default=ckpt.bundled_dir(),
                   help="the calibration.json whose maps are judged (and, with --withdraw, withdrawn)")
    p.add_argument("--withdraw", action="store_true",
                   help="withdraw each shipped map that misses the rule for keeping a map on any group it never saw")
    args = p.parse_args()
    if not (args.calibration_dir / calib.FILE_NAME).is_file():
        p.error(f"--calibration-dir {args.calibration_dir} is invalid: it holds no {calib.FILE_NAME}")
    torch.set_num_threads(args.threads)
    started = time.time()
    trained = bundled_tiny(args.split)
    groups = designs(trained.config, args.split)
    kept = sorted({k for group in groups.values() for k in group})
    truth = load(args.split).truth | committed_truth(args.split)
    if missing := [k for k in kept if k not in truth]:
        raise SystemExit(f"split {args.split}: {len(missing)} designs lack a committed export truth")
    raw = proxies(args.split, kept, trained, load_subset(), args.methods, RESULTS / "proxies.csv")
    wanted = set(kept)
    rows = [r for r in read_rows(RESULTS / "proxies.csv")
            if int(r["split"]) == args.split and r["kept"] in wanted and r["method"] in args.methods]
    bps = trained.bits_per_symbol
    out = RESULTS / f"search-proxies-split-{args.split:02d}.md"
    maps = split_maps(trained.config, args.split, args.methods, args.calibration_dir)
    _, misses = verdicts(groups, raw, truth, trained.config, bps, maps)
    for m in (m for m in misses if misses[m] and not maps[m].withdrawn and args.withdraw):
        calib.withdraw(args.calibration_dir, 8, args.split, PROXIES[m],
                       f"its {maps[m].fitted.kind} map, fitted on {maps[m].networks} networks, missed the rule for "
                       "keeping a map (on each held-out panel, an accuracy error of at most 3 points and a reward tau "
                       "at least the raw proxy's) on search-like designs it never saw: " + "; ".join(misses[m])
                       + f" (benchmarks/search_proxies.py --withdraw; {out})")
        print(f"withdrew {m}'s map at split {args.split}", flush=True)
    maps = split_maps(trained.config, args.split, args.methods, args.calibration_dir)  # after any withdrawal
    rule, _ = verdicts(groups, raw, truth, trained.config, bps, maps)
    text = report(args.split, groups, raw, truth, trained.config, bps, rows, time.time() - started, args.methods,
                  maps, rule, None if args.calibration_dir == ckpt.bundled_dir() else args.calibration_dir)
    ckpt.atomic_write(out, lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
