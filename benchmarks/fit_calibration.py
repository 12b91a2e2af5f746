"""Fit the ``calibrated=True`` maps of any split point, aimed at the export recipe.

    .venv/bin/python benchmarks/fit_calibration.py --splits 16 [--methods reconstruct-8] [--epochs 10] [--seeds 0] \
        [--calibration-search N] [--calibration-heavy SEED ...] [--check PANEL=SEEDS ...] [--heavy-seed SEED] \
        [--out docs/results/calibration] [--calibration-out coinfer_env/checkpoints]

For each of ``--splits`` (Tiny weights, bundled for every split point):

  - draws reward_fidelity's calibration panel at that split (``panels(config, --panel-networks,
    --panel-seed)["calibration"]``: 8 broad-like, 8 narrow-like and 7 uniformly pruned networks with the defaults,
    never a network of a measurement panel);
  - with ``--calibration-search N``, adds the first N designs of reward_fidelity.calibration_search (a random
    search's draws, every ratio uniform in [0, 1]: heavily pruned, where the fixed part of the panel is sparse);
  - with ``--calibration-heavy SEED ...``, adds the first ``--heavy`` designs of reward_fidelity.heavy_designs of each
    seed (every ratio uniform in [0, 0.5]: where the searches through a map went);
  - measures each ``--methods`` proxy's raw validation accuracy on every network (as the env scores it);
  - fine-tunes every network with ``coinfer export``'s recipe for ``--epochs`` from the pruned network, with each of
    ``--seeds`` (the truth; their mean is what the maps aim at, as in ground_truth_check.py);
  - fits each proxy's monotone maps to that truth (reward_fidelity.fit_maps: the kind with the smaller leave-one-out
    error on the panel ships) and, with ``--calibration-out``, saves them into that directory's calibration.json, where
    ``calibrated=True`` finds them.

This is ground_truth_check.py's calibration step (the same panel, truth, fit and provenance, so it rebuilds split 13's
shipped maps from the same rows). Its measurement panels need reward_fidelity.py's runs at the split, hours more of CPU;
instead, ``--check PANEL=SEEDS`` (say ``narrow=0,1 sweep=0``) draws that fixed panel of reward_fidelity at the split
(never a calibration network), measures the proxies on it, fine-tunes it with the export recipe with those seeds, and
reports how cost-only, each raw proxy and its map (fitted on the calibration panel alone) rank and read it, with the
noise ceiling where two seeds are given. A map that misses the rule for keeping it (a leave-one-out error over 3
points on the calibration panel; or, on any checked panel, an accuracy error over 3 points or a reward tau below its
raw proxy's) does not ship, and ``--calibration-out`` withdraws any earlier fit of it, so ``calibrated=True`` refuses
that split and method again. Without ``--check``, a map is judged only by its leave-one-out error on the calibration
panel, and ``split-<S>.md`` says so beside its table. ``--check search=SEEDS`` judges on fresh search-like designs
(the first --panel-networks of a random search with seed ``--search-seed``, by default --panel-seed + 4000); for a
fit with ``--calibration-search``, that check replaces the leave-one-out bar (docs/environment.md, "Split 7's second
fit, judged on fresh search-like designs"). ``--check heavy=SEEDS`` judges on a fresh heavy draw (the first ``--heavy``
designs of seed ``--heavy-seed``, by default --panel-seed + 8000), and for a fit with ``--calibration-heavy`` it too
replaces the leave-one-out bar (docs/environment.md, "A split-16 map whose calibration set holds heavy designs").

A second look at a fit already judged (say ``--check search=0,1`` to add a truth seed and the noise ceiling) passes
``--report NAME`` and no ``--calibration-out``: it writes its own report, and ships or withdraws nothing.

Rows are appended to ``proxies.csv`` and ``truth.csv`` in ``--out`` as they finish, each naming its split and where it
was computed, so a killed run resumes and the splits can be spread over machines.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau
from ground_truth_check import FIXED_PANELS, compare
from reward_fidelity import (DEFAULT, PROXIES, append_row, bundled_tiny, calibration_search, export_truth, fit_maps,
                             fit_entry, ground_truth, heavy_designs, hosts_text, panels, read_rows, reward,
                             search_designs, ship_fits)

from coinfer_env import calibration as calib
from coinfer_env import checkpoints as ckpt
from coinfer_env.architecture import full_kept
from coinfer_env.data import load_subset
from coinfer_env.evaluation import Evaluator
from coinfer_env.hardware import device_name

# reward_fidelity's fixed panels, ``search``: fresh search-like designs (seed --search-seed, by default
# --panel-seed + 4000, apart from the calibration panel's search-like part at + 3000), the kind a search proposes, and
# ``heavy``: a fresh heavy draw (reward_fidelity.heavy_designs, seed --heavy-seed), where a search through a map goes
CHECK_PANELS = (*FIXED_PANELS, "search", "heavy")

OUT = Path("docs/results/calibration")
SPLIT_13 = Path("docs/results/reward_fidelity")  # where reward_fidelity.py and ground_truth_check.py keep split 13's rows


def committed(split: int) -> tuple[list[dict], list[dict]]:
    """Split 13's raw accuracies (reward_fidelity.py's proxies.csv) and export truths (ground_truth_check.py's
    pruned-start rows), shaped as the rows of ``--out``'s proxies.csv and truth.csv, so that a fit at split 13 reuses
    them instead of measuring and fine-tuning them again; no rows at any other split."""
    if split != 13:
        return [], []
    return ([{**r, "split": "13"} for r in read_rows(SPLIT_13 / "proxies.csv")],
            [{**r, "split": "13"} for r in read_rows(SPLIT_13 / "ground_truth_check.csv") if r["start"] == "pruned"])


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--splits", type=int, nargs="+", required=True, choices=range(1, 17), metavar="{1..16}")
    p.add_argument("--methods", nargs="+", default=[DEFAULT], choices=list(PROXIES),
                   help="the proxies to measure and fit (the env's default evaluation by default)")
    p.add_argument("--epochs", type=int, default=10, help="the export recipe's epochs (the truth)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of the truth's fine-tunes (the maps aim at their mean)")
    p.add_argument("--panel-networks", type=int, default=16, help="reward_fidelity's --networks, which sizes the panel")
    p.add_argument("--panel-seed", type=int, default=0, help="reward_fidelity's --seed (the panel is drawn from it + 1000)")
    p.add_argument("--calibration-search", type=int, default=0, metavar="N",
                   help="add the first N designs of reward_fidelity.calibration_search to the calibration panel "
                   "(the report is then split-<S>-search<N>.md)")
    p.add_argument("--search-seed", type=int, metavar="SEED",
                   help="the random-search seed of --check's search panel (None: --panel-seed + 4000); a new seed "
                   "draws designs whose truths no earlier fit has seen")
    p.add_argument("--calibration-heavy", type=int, nargs="*", default=[], metavar="SEED",
                   help="add the first --heavy designs of reward_fidelity.heavy_designs with each seed to the "
                   "calibration panel (the report is then split-<S>[-search<N>]-heavy<SEEDS>.md)")
    p.add_argument("--heavy", type=int, default=12, help="how many designs each heavy draw holds")
    p.add_argument("--heavy-seed", type=int, metavar="SEED",
                   help="the heavy draw of --check's heavy panel (None: --panel-seed + 8000)")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--report", metavar="NAME", help="the report's file name in --out, for one split (default: "
                   "split-<S>[-search<N>][-<methods>].md): a second look at a fit already judged, say with a second "
                   "truth seed, names its own, so the verdict's report stays as it was written")
    p.add_argument("--calibration-out", type=Path, help="directory whose calibration.json receives the fits "
                   "(the bundled weights' directory ships them)")
    p.add_argument("--check", nargs="*", default=[], type=check_spec, metavar="PANEL=SEEDS",
                   help=f"judge the maps on these panels ({', '.join(CHECK_PANELS)}) drawn at the split, each "
                   "fine-tuned with the comma-separated seeds (two give its noise ceiling)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bar", type=float, default=3, metavar="POINTS",
                   help="the rule's accuracy bar: the most leave-one-out error on the calibration panel, and the most "
                        "accuracy error on each checked panel, that a map may have and ship (the issue's target: 3)")
    args = p.parse_args()
    for name, least in (("epochs", 1), ("threads", 1), ("panel_networks", 3), ("calibration_search", 0), ("heavy", 3)):  # 3 draw 4: a leave-one-out fit needs 3
        if getattr(args, name) < least:
            p.error(f"--{name.replace('_', '-')} {getattr(args, name)} is invalid: give {least} or more")
    if not args.bar > 0:
        p.error(f"--bar {args.bar:g} is invalid: give a positive number of points")
    if args.report is not None and (Path(args.report).name != args.report or not args.report.endswith(".md")
                                    or len(args.splits) > 1):
        p.error(f"--report {args.report} is invalid: give a file name ending in .md, with no directory, for one split "
                "(--out names the directory)")
    if args.search_seed is None:
        args.search_seed = args.panel_seed + 4000
    elif args.search_seed < 0:
        p.error(f"--search-seed {args.search_seed} is invalid: give a seed of 0 or more")
    elif "search" not in dict(args.check):
        p.error(f"--search-seed {args.search_seed} is given but --check has no search panel: add search=SEEDS")
    if bad := [s for s in args.calibration_heavy if s < 0] or sorted({s for s in args.calibration_heavy
                                                                        if args.calibration_heavy.count(s) > 1}):
        p.error(f"--calibration-heavy {' '.join(map(str, bad))} is invalid: give distinct seeds of 0 or more")
    if args.heavy_seed is None:
        args.heavy_seed = args.panel_seed + 8000
    elif "heavy" not in dict(args.check):
        p.error(f"--heavy-seed {args.heavy_seed} is given but --check has no heavy panel: add heavy=SEEDS")
    if args.heavy_seed in args.calibration_heavy and "heavy" in dict(args.check):
        p.error(f"--heavy-seed {args.heavy_seed} is invalid: that draw is in --calibration-heavy, so the check would "
                "not be held out; give another seed")
    return args


def report_name(args: argparse.Namespace, split: int) -> str:
    """``--report``, or else ``split-07.md``, or ``split-07-search8.md`` with ``--calibration-search 8``, so a refit
    keeps the first report; methods other than the default alone are named too (``split-07-search8-finetune-48.md``),
    so a fit of another proxy keeps the default's report."""
    if args.report:
        return args.report
    search = f"-search{args.calibration_search}" if args.calibration_search else ""
    heavy = f"-heavy{'-'.join(map(str, args.calibration_heavy))}" if args.calibration_heavy else ""
    methods = "" if args.methods == [DEFAULT] else "-" + "-".join(args.methods)
    return f"split-{split:02d}{search}{heavy}{methods}.md"


def check_spec(text: str) -> tuple[str, list[int]]:
    """``narrow=0,1`` -> ("narrow", [0, 1])."""
    panel, _, seeds = text.partition("=")
    try:
        parsed = [int(s) for s in seeds.split(",")]
    except ValueError:
        parsed = []
    if panel not in CHECK_PANELS or not parsed or len(set(parsed)) != len(parsed):
        raise argparse.ArgumentTypeError(f"{text!r} is invalid: give PANEL=SEEDS with PANEL one of "
                                         f"{', '.join(CHECK_PANELS)} and distinct integer seeds, e.g. narrow=0,1")
    return panel, parsed


def proxies(split: int, cal: list[str], trained, data, methods: list[str], path: Path) -> dict[str, dict[str, float]]:
    """method -> kept -> raw proxy accuracy on the calibration panel, evaluating only what ``path`` lacks."""
    done = {(r["method"], r["kept"]): float(r["proxy_accuracy"]) for r in committed(split)[0] + read_rows(path)
            if int(r["split"]) == split}
    for method in methods:
        evaluator = Evaluator(trained, data.train, data.val, PROXIES[method])
        for kept in cal:
            if (method, kept) in done:
                continue
            e, _ = evaluator.evaluate(json.loads(kept))
            append_row(path, {"split": split, "method": method, "settings": json.dumps(asdict(PROXIES[method])),
                              "kept": kept, "proxy_accuracy": e.accuracy, "seconds": round(e.seconds, 3)})
            done[(method, kept)] = e.accuracy
            print(f"split {split} {method}: {e.accuracy:.3f} ({e.seconds:.1f} s)", flush=True)
    return {m: {k: done[(m, k)] for k in cal} for m in methods}


def truths(split: int, cal: list[str], trained, data, epochs: int, seeds: list[int], path: Path) -> dict[str, list[float]]:
    """kept -> the test accuracy after each seed's ``epochs``-epoch export fine-tune, running only what ``path`` lacks."""
    done = {(r["kept"], int(r["seed"])): float(r["test_accuracy"]) for r in committed(split)[1] + read_rows(path)
            if int(r["split"]) == split and int(r["epochs"]) == epochs}
    for seed in seeds:
        for i, kept in enumerate(cal):
            if (kept, seed) in done:
                continue
            t = time.perf_counter()
            acc = ground_truth(trained, json.loads(kept), data, epochs, seed)
            append_row(path, {"split": split, "kept": kept, "epochs": epochs, "seed": seed, "test_accuracy": acc,
                              "seconds": round(time.perf_counter() - t, 2)})
            done[(kept, seed)] = acc
            print(f"split {split} truth {i + 1}/{len(cal)}, seed {seed}: {acc:.4f} ({time.perf_counter() - t:.0f} s)", flush=True)
    return {k: [done[(k, s)] for s in seeds] for k in cal}


def rows_read(args: argparse.Namespace, split: int, networks: dict[str, tuple[list[str], list[int]]]) -> list[dict]:
    """The rows this invocation read at ``split`` (``--out``'s, and at split 13 the committed ones of committed()),
    one per key as proxies() and truths() read them: each method's raw accuracy and each seed's truth of the networks
    of every panel in ``networks`` (panel -> its kept vectors and truth seeds), and no other method's or panel's rows
    that share the files."""
    proxy_keys = {(m, k) for kept, _ in networks.values() for k in kept for m in args.methods}
    truth_keys = {(k, str(s)) for kept, seeds in networks.values() for k in kept for s in seeds}
    proxy_rows, truth_rows = committed(split)
    proxy_rows = list({(r["method"], r["kept"]): r for r in proxy_rows + read_rows(args.out / "proxies.csv")
                       if int(r["split"]) == split}.values())  # one row per key, as proxies() reads them
    truth_rows = list({(r["kept"], r["seed"], r["epochs"]): r for r in truth_rows + read_rows(args.out / "truth.csv")
                       if int(r["split"]) == split}.values())
    return ([r for r in proxy_rows if (r["method"], r["kept"]) in proxy_keys]
            + [r for r in truth_rows if int(r["epochs"]) == args.epochs and (r["kept"], r["seed"]) in truth_keys])


def report(args: argparse.Namespace, split: int, raw: dict[str, dict[str, float]], truth: dict[str, list[float]],
           fits: dict[str, dict], misses: dict[str, list[tuple[str, str]]], seconds: float, rows: list[dict]) -> str:
    """``split-<S>.md``: the command, where its ``rows`` came from, and per method how the raw proxy and its maps read
    the truth, and whether its map ships (``misses``: the checked panels where it misses the rule for keeping it)."""
    mean = {k: float(np.mean(v)) for k, v in truth.items()}
    heavy_seeds = " ".join(map(str, args.calibration_heavy))
    check = " ".join(f"{panel}={','.join(map(str, seeds))}" for panel, seeds in args.check)
    lines = [
        f"# Calibration maps, Tiny id, split {split}",
        "",
        f"Command: `.venv/bin/python benchmarks/fit_calibration.py --splits {split} --methods {' '.join(args.methods)} "
        f"--epochs {args.epochs} --seeds {' '.join(map(str, args.seeds))} --panel-networks {args.panel_networks} "
        f"--panel-seed {args.panel_seed}"
        f"{f' --calibration-search {args.calibration_search}' if args.calibration_search else ''}"
        f"{f' --calibration-heavy {heavy_seeds}' if heavy_seeds else ''}{f' --heavy {args.heavy}' if args.heavy != 12 else ''}"
        f"{f' --calibration-out {args.calibration_out}' if args.calibration_out else ''}"
        f"{f' --check {check}' if check else ''}"
        f"{f' --search-seed {args.search_seed}' if args.search_seed != args.panel_seed + 4000 else ''}"
        f"{f' --heavy-seed {args.heavy_seed}' if 'heavy' in dict(args.check) else ''}"
        f"{f' --bar {args.bar:g}' if args.bar != 3 else ''}{f' --report {args.report}' if args.report else ''}`. "
        f"This invocation: {device_name(torch.device('cpu'))}, {torch.get_num_threads()} torch threads, {seconds:.0f} s; "
        f"the rows of raw accuracies and truths it read, by where they were computed: {hosts_text(rows)}; "
        f"{sum(float(r['seconds']) for r in rows):.0f} s of compute in all. Truth: "
        f"{export_truth(args.epochs, args.seeds)}, on {len(truth)} calibration networks"
        f"{f' (the panel and {args.calibration_search} search-like designs, seed {args.panel_seed + 3000})' if args.calibration_search else ''}"
        f"{f' (with the first {args.heavy} heavy designs of each of seeds {heavy_seeds}: every ratio uniform in [0, 0.5])' if heavy_seeds else ''}"
        f" ({min(mean.values()):.3f} to "
        f"{max(mean.values()):.3f}). "
        + (f"The maps are judged below on the held-out panels {', '.join(p for p, _ in args.check)}, drawn at this split"
           f"{f' (search: seed {args.search_seed})' if 'search' in dict(args.check) else ''}"
           f"{f' (heavy: the first {args.heavy} designs of seed {args.heavy_seed}, every ratio uniform in [0, 0.5])' if 'heavy' in dict(args.check) else ''}."
           if args.check else "No panel is checked here (--check): the leave-one-out error below is all this run "
           "checks of a map."),
        "",
        "| method | raw accuracy, range | raw below the truth, mean points | leave-one-out error, line / isotonic, points "
        "| ships |",
        "|---|---|---:|---:|---|",
    ]
    for method in args.methods:
        x = raw[method]
        below = 100 * float(np.mean([mean[k] - x[k] for k in truth]))
        f = fits[method]
        ships = (f"none: its {f['ships']} map misses the rule on {', '.join(p for p, _ in misses[method])}"
                 if misses[method] else f["ships"])
        lines.append(f"| {method} | {min(x.values()):.3f} to {max(x.values()):.3f} | {below:.1f} "
                     f"| {100 * f['loo']['line']:.1f} / {100 * f['loo']['isotonic']:.1f} | {ships} |")
    lines += [f"\n{m} does not ship: {'; '.join(why for _, why in misses[m])}." for m in args.methods if misses[m]]
    lines += ["", *(flat_text(m, raw[m], mean, fits[m]["maps"][fits[m]["ships"]]) for m in args.methods)]
    return "\n".join(lines) + "\n"


def check_section(panel: str, seeds: list[int], raw: dict[str, dict[str, float]], truth: dict[str, list[float]],
                  fits: dict[str, dict], constant: float, config, bps: int, bar: float = 3,
                  calibration: tuple[dict[str, dict[str, float]], dict[str, float]] = ({}, {})
                  ) -> tuple[list[str], dict[str, str]]:
    """How cost-only (``constant``: the calibration panel's mean truth), each raw proxy and its fitted map rank and
    read one held-out panel's truth (the mean of ``seeds``), and per method whose map misses the rule for keeping it
    (the accuracy-error ``bar`` in points, and a reward tau at least its raw proxy's), with its figures and the
    network it reads worst (``calibration``: the calibration panel's raw accuracies by method, and its mean truth)."""
    kept = list(truth)
    mean = {k: float(np.mean(v)) for k, v in truth.items()}
    acc = list(mean.values())
    lines = ["", f"## The {panel} panel, held out ({len(kept)} networks; the truth: seeds {seeds} of the export recipe; "
             f"deployed accuracy {100 * min(acc):.1f}-{100 * max(acc):.1f}%)", "",
             "| stand-in for the truth | reward tau [95% bootstrap] | accuracy tau | mean accuracy below the truth, points "
             "| its spread (sd) | calibration error, points | top-pick regret |", "|---|---:|---:|---:|---:|---:|---:|"]
    if len(seeds) == 2:
        first = {k: v[0] for k, v in truth.items()}
        lines.append(compare(f"the truth's seed {seeds[1]} against its seed {seeds[0]} (noise ceiling)", kept, first,
                             [truth[k][1] for k in kept], config, bps))
    lines.append(compare("cost-only (the calibration panel's mean truth)", kept, mean, [constant] * len(kept), config, bps))
    mapped_by = {m: [fits[m]["maps"][fits[m]["ships"]](x[k]) for k in kept] for m, x in raw.items()}
    for m, x in raw.items():
        lines += [compare(f"proxy {m}", kept, mean, [x[k] for k in kept], config, bps),
                  compare(f"proxy {m} + the fitted {fits[m]['ships']} map", kept, mean, mapped_by[m], config, bps)]
    lines.append("")
    misses = {}
    for m, x in raw.items():
        keeps, figures = keep_rule(kept, mean, [x[k] for k in kept], mapped_by[m], config, bps, bar)
        if not keeps:
            misses[m] = f"on the held-out {panel} panel ({len(kept)} networks, truth seeds {seeds}), {figures}"
        lines.append(f"{m}'s fitted map on this panel: {figures}: it {'meets' if keeps else 'misses'} the rule for "
                     f"keeping it (error at most {bar:g} points, and a tau at least the raw proxy's).")
        if not keeps and m in calibration[0]:
            lines.append(worst_text(mean, x, dict(zip(kept, mapped_by[m])), calibration[0][m], calibration[1], config))
    return lines, misses


def worst_text(truth: dict[str, float], raw: dict[str, float], mapped: dict[str, float],
               cal_raw: dict[str, float], cal_truth: dict[str, float], config, near: float = 0.03) -> str:
    """The held-out network a map reads worst, and what the calibration networks of about its raw accuracy (within
    ``near``) deploy at: where they spread widely, the raw accuracy alone cannot tell where that network deploys, and
    no monotone map of it can."""
    k = max(truth, key=lambda n: abs(mapped[n] - truth[n]))
    error = abs(mapped[k] - truth[k])
    ratio = float(np.mean(np.asarray(json.loads(k)) / np.asarray(full_kept(config))))
    alike = sorted((a, cal_truth[n]) for n, a in cal_raw.items() if abs(a - raw[k]) <= near)
    if not alike:
        found = f"no calibration network has a raw accuracy within {near:g} of it"
    elif len(alike) == 1:
        found = (f"the one calibration network whose raw accuracy is within {near:g} of it (raw {alike[0][0]:.3f}) "
                 f"deploys at {100 * alike[0][1]:.1f}%")
    else:
        found = (f"the {len(alike)} calibration networks whose raw accuracy is within {near:g} of it (raw "
                 f"{alike[0][0]:.3f} to {alike[-1][0]:.3f}) deploy at {100 * min(t for _, t in alike):.1f}% to "
                 f"{100 * max(t for _, t in alike):.1f}%")
    mean_error = 100 * float(np.mean([abs(mapped[n] - truth[n]) for n in truth]))
    return (f"It reads worst the network whose preserved ratios average {ratio:.2f}: raw {raw[k]:.3f}, read as "
            f"{100 * mapped[k]:.1f}%, deployed at {100 * truth[k]:.1f}%, {100 * error:.1f} points off, which is "
            f"{100 * error / len(truth):.1f} of the panel's mean error of {mean_error:.1f} points; {found}.")


LOO_PANEL = "the calibration panel (leave-one-out)"


def loo_rule(fit: dict, bar: float = 3) -> str | None:
    """The rule's first half, on the calibration panel itself: the kind that ships must have a leave-one-out error of
    at most ``bar`` points (3, the bar written for every split since split 16). None if it does, else why not, to two
    decimals so that a miss by under 0.05 points does not read as the bar itself."""
    error = 100 * fit["loo"][fit["ships"]]
    return None if error <= bar else (f"on its calibration panel, a leave-one-out error of {error:.2f} points "
                                      f"(the bar: {bar:g})")


def keep_rule(kept: list[str], truth: dict[str, float], raw: list[float], mapped: list[float], config,
              bps: int, bar: float = 3) -> tuple[bool, str]:
    """The rule for keeping a map, on one held-out panel: its accuracy error (against ``truth``) is at most ``bar``
    points (3: the issue's accuracy-error target), and the reward it gives ranks the deployed reward at a Kendall tau
    at least the raw proxy's. Returns the verdict and its figures in words."""
    deployed = [reward(config, json.loads(k), truth[k], bps) for k in kept]
    error = 100 * float(np.mean([abs(a - truth[k]) for a, k in zip(mapped, kept)]))
    tau_raw, tau_mapped = (kendalltau([reward(config, json.loads(k), a, bps) for k, a in zip(kept, accs)],
                                      deployed).statistic for accs in (raw, mapped))
    figures = (f"accuracy error {error:.1f} points (the bar: {bar:g}), reward tau {tau_mapped:.2f} against the raw "
               f"proxy's {tau_raw:.2f}")
    return error <= bar and tau_mapped >= tau_raw, figures


def flat_text(method: str, raw: dict[str, float], truth: dict[str, float], shipped, within: float = 0.005) -> str:
    """Where the fitted map is flat (rises by less than ``within``), it leaves those networks' order to the FLOPs and
    bits; name the widest such stretch of the panel, what its networks deploy at, and how the raw proxy orders them
    (the order the map drops)."""
    ranked = sorted(raw, key=raw.get)
    stretches = [[k for k in ranked[i:] if shipped(raw[k]) - shipped(raw[ranked[i]]) < within] for i in range(len(ranked))]
    flat = max(stretches, key=len)  # the first widest: the map rises, so each stretch is contiguous
    whole = kendalltau([raw[k] for k in raw], [truth[k] for k in raw]).statistic
    if len(flat) < 3:
        return (f"{method}: the fitted map rises by {100 * within:.1f} points or more between any three networks of "
                f"the panel; the raw accuracy orders all {len(raw)} at an accuracy Kendall tau of {whole:+.2f}.")
    inside = kendalltau([raw[k] for k in flat], [truth[k] for k in flat]).statistic
    return (f"{method}: the fitted map rises by under {100 * within:.1f} points ({100 * shipped(raw[flat[0]]):.1f}% to "
            f"{100 * shipped(raw[flat[-1]]):.1f}%) from a raw {raw[flat[0]]:.3f} to {raw[flat[-1]]:.3f}, where "
            f"{len(flat)} of the {len(raw)} networks lie; they deploy at {100 * min(truth[k] for k in flat):.1f}% to "
            f"{100 * max(truth[k] for k in flat):.1f}%, and the raw accuracy orders them at an accuracy Kendall tau of "
            f"{inside:+.2f} against the truth ({whole:+.2f} over all {len(raw)}), so there the calibrated reward ranks "
            "mostly by FLOPs and bits.")


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    data = load_subset()
    for split in args.splits:
        started = time.time()
        trained = bundled_tiny(split)
        drawn = panels(trained.config, args.panel_networks, args.panel_seed)
        drawn["search"] = search_designs(trained.config, args.panel_networks, args.search_seed)
        drawn["heavy"] = [json.loads(k) for k in heavy_designs(trained.config, args.heavy, args.heavy_seed)]
        searched = calibration_search(trained.config, args.calibration_search, args.panel_seed)
        heavy = [k for seed in args.calibration_heavy for k in heavy_designs(trained.config, args.heavy, seed)]
        cal = sorted({json.dumps(list(k)) for k in drawn["calibration"] + searched} | set(heavy))
        checked = {panel: sorted({json.dumps(list(k)) for k in drawn[panel]}) for panel, _ in args.check}
        if shared := set(cal) & {k for kept in checked.values() for k in kept}:
            raise SystemExit(f"{len(shared)} networks of --check's panels are calibration networks at split {split}; "
                             "the check would not be held out: pass another --panel-seed")
        raw = proxies(split, cal, trained, data, args.methods, args.out / "proxies.csv")
        truth = truths(split, cal, trained, data, args.epochs, args.seeds, args.out / "truth.csv")
        by = {("calibration", m): [{"kept": k, "proxy_accuracy": a} for k, a in raw[m].items()] for m in args.methods}
        provenance = {"search_networks": len(searched)} | ({"heavy_networks": args.heavy,
                                                            "heavy_seeds": args.calibration_heavy}
                                                           if args.calibration_heavy else {})
        fits = {m: {**f, **provenance}  # the calibration panel alone: the checked panels come after
                for m, f in fit_maps(by, truth).items()}
        constant = float(np.mean([np.mean(v) for v in truth.values()]))
        # a fresh search-like (or heavy) panel measures what the leave-one-out error estimates, for a fit that holds
        # such designs
        loo_bar = not ((args.calibration_search and "search" in dict(args.check))
                       or (args.calibration_heavy and "heavy" in dict(args.check)))
        sections, misses = [], {m: [(LOO_PANEL, why)] if loo_bar and (why := loo_rule(f, args.bar)) else []
                                for m, f in fits.items()}
        for panel, seeds in args.check:
            held_raw = proxies(split, checked[panel], trained, data, args.methods, args.out / "proxies.csv")
            held = truths(split, checked[panel], trained, data, args.epochs, seeds, args.out / "truth.csv")
            lines, missed = check_section(panel, seeds, held_raw, held, fits, constant, trained.config,
                                          trained.bits_per_symbol, args.bar,
                                          (raw, {k: float(np.mean(v)) for k, v in truth.items()}))
            sections.append("\n".join(lines) + "\n")
            for m, why in missed.items():
                misses[m].append((panel, why))
        if args.calibration_out:
            ship_fits(args.calibration_out, split, {m: f for m, f in fits.items() if not misses[m]}, args.panel_networks,
                      args.panel_seed, export_truth(args.epochs, args.seeds))
            for m in (m for m in fits if misses[m]):
                calib.withdraw(args.calibration_out, 8, split, PROXIES[m],
                               f"its {fits[m]['ships']} map, fitted to {export_truth(args.epochs, args.seeds)}, on "
                               f"{fits[m]['networks']} calibration networks, missed the rule for keeping a map ("
                               + (f"a leave-one-out error of at most {args.bar:g} points; " if loo_bar else "")
                               + f"on each checked panel, an accuracy error of at most {args.bar:g} points and a "
                               "reward tau at least the raw proxy's): "
                               + "; ".join(why for _, why in misses[m])
                               + f" (benchmarks/fit_calibration.py --check; {args.out}/{report_name(args, split)})",
                               fit_entry(split, m, fits[m], args.panel_networks, args.panel_seed,
                                         export_truth(args.epochs, args.seeds)))
        read = rows_read(args, split, {"calibration": (cal, args.seeds)}
                         | {panel: (checked[panel], seeds) for panel, seeds in args.check})
        text = report(args, split, raw, truth, fits, misses, time.time() - started, read) + "".join(sections)
        ckpt.atomic_write(args.out / report_name(args, split), lambda tmp: tmp.write_text(text))
        print(text, flush=True)


if __name__ == "__main__":
    main()
