"""Is reward_fidelity's short ground truth a fair stand-in for the export recipe?

    .venv/bin/python benchmarks/ground_truth_check.py [--designs 10] [--epochs 10] [--out docs/results/reward_fidelity]

On this CPU, benchmarks/reward_fidelity.py fine-tunes each network for 1 epoch
instead of ``coinfer export``'s 10. This script takes ``--designs`` networks of its
two search panels (half from ``search``, half from ``search-random``, drawn with
``--seed`` from the committed networks.csv), and fine-tunes each

  - for ``--epochs`` from the pruned network (the export recipe as shipped: the truth
    here), with each of ``--truth-seeds`` (their mean is the truth; two seeds also give
    its noise ceiling, their agreement);
  - for 1 epoch from the network the default evaluation recovered (``coinfer export
    --start recovered --epochs 1``), seeds 0 and 1;
  - with ``--recovered-full N``, for ``--epochs`` from the recovered network too, for
    the first N designs (seed 0): does the start still matter after the full recipe?
  - with ``--calibration-seeds``, each network of reward_fidelity's calibration panel
    (disjoint from the designs) for ``--epochs`` from the pruned network, and fits each
    proxy's monotone maps (coinfer_env.calibration, the kind with the smaller
    leave-one-out error there) to that truth instead of the 1-epoch one: do the
    maps of the shipped kind correct the proxies once they aim at the real recipe?
  - with ``--calibration-search N``, also the first N designs of a random search
    (reward_fidelity.calibration_search: where the benches' designs lie, and the fixed-panel
    part of the calibration panel is sparse), with ``--calibration-seeds``; the default
    proxy's map is fitted on both parts, and a section reports how the map fitted on
    the fixed-panel part alone reads these held-out designs;
  - with ``--panels``, every network of those fixed panels of reward_fidelity (broad,
    sweep, narrow) for ``--epochs`` from the pruned network, with each of
    ``--panel-truth-seeds``; each panel gets its own table of how the 1-epoch ground
    truth, cost-only and each proxy, raw and mapped by the fits to this truth, rank
    and read it: do reward_fidelity's figures on those panels hold for the real recipe?

then prints how the 1-epoch stand-ins (the pruned one is reward_fidelity's ground
truth, read from networks.csv) and the proxies rank the truth's accuracy and
reward (Kendall tau), and how far their accuracies lie from it. Rows are appended
to ``ground_truth_check.csv`` as they finish, so a killed run resumes; each names the
hardware and thread count that computed it, and the report counts them (as
deployed_best.py explains, they are recorded, not part of the key).
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau
from reward_fidelity import (DEFAULT, PROXIES, append_row, bundled_tiny, calibration_search, export_truth, fit_maps,
                             ground_truth, hosts_text, panels, read_rows, reward, ship_fits, tau_with_interval)

from coinfer_env import checkpoints as ckpt
from coinfer_env.data import load_subset
from coinfer_env.hardware import device_name
from coinfer_env.evaluation import Evaluator

PANELS = ("search", "search-random")
FIXED_PANELS = ("broad", "sweep", "narrow")  # reward_fidelity's fixed panels, measured against its 1-epoch truth
REPORT = "ground_truth_check.md"
PROXY_ROWS = ("reconstruct-8", "distill-16", "finetune-16", "adaptive-bn-8")  # measured on both panels


def chosen(networks: list[dict], designs: int, seed: int) -> list[str]:
    """``designs`` kept vectors (JSON), half from each search panel, in a seeded draw."""
    rng = np.random.default_rng(seed)
    out = []
    for i, panel in enumerate(PANELS):
        kept = sorted({r["kept"] for r in networks if r["panel"] == panel})
        n = designs // 2 + (designs % 2 if i == 0 else 0)
        out += [kept[j] for j in sorted(rng.choice(len(kept), n, replace=False))]
    return out


def figures(name: str, designs: list[str], truth: dict[str, float], acc, config, bps: int) -> dict[str, float]:
    """How the accuracies ``acc`` of ``designs`` rank and read the truth's: the reward tau with its 95% bootstrap
    interval (``name`` seeds it), the accuracy tau, the mean and sd of the truth minus ``acc``, the mean absolute
    error, and what the design they rate best loses in the truth's reward against the truth's best (the top-pick
    regret)."""
    acc = np.asarray(acc, float)
    t = np.array([truth[k] for k in designs])
    rew = [reward(config, json.loads(k), a, bps) for k, a in zip(designs, acc)]
    truth_rew = np.array([reward(config, json.loads(k), a, bps) for k, a in zip(designs, t)])
    # each row's bootstrap has its own generator, so adding a row leaves every other row's interval as it was
    tau, lo, hi = tau_with_interval(rew, truth_rew, np.random.default_rng(zlib.crc32(name.encode())))
    return {"tau": tau, "lo": lo, "hi": hi,
            "accuracy_tau": kendalltau(acc, t).statistic if len(set(acc)) > 1 else float("nan"),
            "below": np.mean(t - acc), "spread": np.std(t - acc), "error": np.mean(np.abs(t - acc)),
            "regret": truth_rew.max() - truth_rew[int(np.argmax(rew))]}


def compare(name: str, designs: list[str], truth: dict[str, float], acc, config, bps: int) -> str:
    """A table row of ``figures``, named ``name``."""
    return figures_row(name, figures(name, designs, truth, acc, config, bps))


def figures_row(name: str, f: dict[str, float]) -> str:
    """A table row of figures already computed by ``figures``."""
    return (f"| {name} | {f['tau']:.2f} [{f['lo']:.2f}, {f['hi']:.2f}] | {f['accuracy_tau']:.2f} | "
            f"{100 * f['below']:+.1f} | {100 * f['spread']:.1f} | {100 * f['error']:.1f} | {f['regret']:.3f} |")


def calibrated_rows(fits: dict[str, dict], aim: str, designs: list[str], truth: dict[str, float], row: dict, config,
                    bps: int, methods: tuple[str, ...] = PROXY_ROWS) -> list[str]:
    """Each proxy of ``methods`` mapped by its fit (of the kind it ships) to ``aim``, the calibration panel's ground
    truth, on the designs."""
    lines = []
    for m in methods:
        f = fits[m]
        fitted = f["maps"][f["ships"]]
        acc = [fitted(float(row[(k, m)]["proxy_accuracy"])) for k in designs]
        lines.append(compare(f"proxy {m} + {f['ships']} fitted to {aim} (leave-one-out there "
                             f"{100 * f['loo'][f['ships']]:.1f} pts)", designs, truth, acc, config, bps))
    return lines


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--designs", type=int, default=10)
    p.add_argument("--epochs", type=int, default=10, help="the export recipe's epochs (the truth)")
    p.add_argument("--truth-seeds", type=int, nargs="+", default=[0, 1], help="seeds of the truth's fine-tunes")
    p.add_argument("--seed", type=int, default=0, help="draws the designs")
    p.add_argument("--recovered-full", type=int, default=0,
                   help="also fine-tune this many of the designs for --epochs from the recovered start (seed 0)")
    p.add_argument("--calibration-seeds", type=int, nargs="*", default=[],
                   help="fine-tune the calibration panel for --epochs with these seeds and fit the proxies' maps to it")
    p.add_argument("--calibration-search", type=int, default=0,
                   help="add the first N designs of reward_fidelity.calibration_search to the default proxy's calibration "
                   "panel (needs --calibration-seeds)")
    p.add_argument("--calibration-out", type=Path,
                   help="directory whose calibration.json receives each method's fit to that truth (the bundled "
                   "weights' directory ships them)")
    p.add_argument("--panels", nargs="*", default=[], choices=FIXED_PANELS,
                   help="also fine-tune these fixed panels of networks.csv for --epochs and judge the proxies on each "
                   "(needs --calibration-seeds, whose fits map them)")
    p.add_argument("--panel-truth-seeds", type=int, nargs="+", default=[0], help="seeds of the --panels fine-tunes")
    p.add_argument("--panel-limit", type=int, default=0,
                   help="fine-tune and judge only this many networks of each of --panels (the first in kept order; 0: all)")
    p.add_argument("--panel-networks", type=int, default=16, help="reward_fidelity's --networks, which drew the panels")
    p.add_argument("--panel-seed", type=int, default=0, help="reward_fidelity's --seed, which drew the panels")
    p.add_argument("--split", type=int, default=13)
    p.add_argument("--out", type=Path, default=Path("docs/results/reward_fidelity"))
    p.add_argument("--report", default=REPORT, help="the report's file name in --out")
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def fine_tune(todo: list, done: dict, path: Path, trained, data, recovered_by: Evaluator) -> None:
    """Each (kept, (start, epochs, seed)) of ``todo`` not yet in ``done``, appended to ``path`` as it finishes."""
    for kept, (start, epochs, seed) in todo:
        if (kept, start, epochs, seed) in done:
            continue
        t = time.perf_counter()
        acc = ground_truth(trained, json.loads(kept), data, epochs, seed, recovered_by if start == "recovered" else None)
        append_row(path, {"kept": kept, "start": start, "epochs": epochs, "seed": seed, "test_accuracy": acc,
                          "seconds": round(time.perf_counter() - t, 2)})
        done[(kept, start, epochs, seed)] = acc
        print(f"{start} start, {epochs} epochs, seed {seed}: {acc:.4f} ({time.perf_counter() - t:.0f} s)", flush=True)


def search_proxies(designs: list[str], path: Path, evaluator: Evaluator) -> dict[str, float]:
    """kept -> the default proxy's raw accuracy of each design, evaluating only those ``path`` does not hold yet."""
    done = {r["kept"]: float(r["proxy_accuracy"]) for r in read_rows(path) if r["method"] == DEFAULT}
    for kept in designs:
        if kept in done:
            continue
        e, _ = evaluator.evaluate(json.loads(kept))
        append_row(path, {"kept": kept, "method": DEFAULT, "proxy_accuracy": e.accuracy, "seconds": round(e.seconds, 3)})
        done[kept] = e.accuracy
        print(f"{DEFAULT} on a search-like calibration design: {e.accuracy:.3f} ({e.seconds:.1f} s)", flush=True)
    return {k: done[k] for k in designs}


def header(args: argparse.Namespace, designs: list[str], recorded: list[dict], started: float) -> list[str]:
    """The report's title, the command that made it, and the head of the stand-in table."""
    return [
        f"# Is the 1-epoch ground truth a stand-in for the {args.epochs}-epoch export recipe?",
        "",
        f"Command: `.venv/bin/python benchmarks/ground_truth_check.py --designs {args.designs} --epochs {args.epochs} "
        f"--truth-seeds {' '.join(map(str, args.truth_seeds))} --recovered-full {args.recovered_full} "
        f"{'--calibration-seeds ' + ' '.join(map(str, args.calibration_seeds)) + ' ' if args.calibration_seeds else ''}"
        f"{f'--calibration-search {args.calibration_search} ' if args.calibration_search else ''}"
        f"{f'--calibration-out {args.calibration_out} ' if args.calibration_out else ''}"
        f"{'--panels ' + ' '.join(args.panels) + ' --panel-truth-seeds ' + ' '.join(map(str, args.panel_truth_seeds)) + ' ' if args.panels else ''}"
        f"{f'--panel-limit {args.panel_limit} ' if args.panels and args.panel_limit else ''}"
        f"{f'--report {args.report} ' if args.report != REPORT else ''}--seed {args.seed} --split {args.split}`. "
        f"This invocation: {device_name(torch.device('cpu'))}, {torch.get_num_threads()} torch threads, "
        f"{time.time() - started:.0f} s; the {len(recorded)} fine-tunes in ground_truth_check.csv took "
        f"{sum(float(r['seconds']) for r in recorded):.0f} s in all, computed {hosts_text(recorded)}. {len(designs)} designs of the search and search-random panels; "
        f"the truth is the mean of seeds {args.truth_seeds} of the {args.epochs}-epoch export recipe from the pruned "
        "network. Cost-only gives every design the truth's mean accuracy, so ranks by FLOPs and bits alone. Reward "
        "tau's interval: 1,000 bootstrap draws of each table's networks, resampled with replacement.",
        "",
        "| stand-in for the truth | reward tau [95% bootstrap] | accuracy tau | mean accuracy below the truth, points | its spread (sd) "
        "| calibration error, points | top-pick regret |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]


def calibration_section(args: argparse.Namespace, row: dict, cal: list[str], search: dict[str, float], done: dict,
                        designs: list[str], truth: dict[str, float], config, bps: int) -> tuple[list[str], dict]:
    """Each proxy mapped to the 1-epoch ground truth and to the truth on the calibration panel (for the default
    proxy, plus the search-like designs ``search``: kept -> raw accuracy); ships the latter fits, and returns them
    with the rows."""
    by = {("calibration", m): [row[(k, m)] for k in cal if (k, m) in row] for m in PROXIES}
    # the maps as reward_fidelity fits them (to its 1-epoch ground truth), then aimed at the truth
    short = {k: [float(row[(k, DEFAULT)][f"gt_accuracy_{s}"]) for s in (0, 1)] for k in cal}
    lines = calibrated_rows(fit_maps(by, short), "the 1-epoch ground truth", designs, truth, row, config, bps)
    aim = {k: [done[(k, "pruned", args.epochs, s)] for s in args.calibration_seeds] for k in [*cal, *search]}
    fits = fit_maps(by, aim)
    if search:
        lines += calibrated_rows(fits, f"the truth on the {len(cal)} fixed-panel networks only", designs, truth, row,
                                 config, bps, (DEFAULT,))  # the one fit this part changes
        extended = {**by, ("calibration", DEFAULT): by[("calibration", DEFAULT)]
                    + [{"kept": k, "proxy_accuracy": a} for k, a in search.items()]}
        fits[DEFAULT] = {**fit_maps(extended, aim)[DEFAULT], "search_networks": len(search), "alone": fits[DEFAULT]}
    lines += calibrated_rows(fits, "the truth", designs, truth, row, config, bps)
    if args.calibration_out:
        ship_fits(args.calibration_out, args.split, fits, args.panel_networks, args.panel_seed,
                  export_truth(args.epochs, args.calibration_seeds))
    return lines, fits


def search_section(args: argparse.Namespace, cal: list[str], search: dict[str, float], row: dict, done: dict, fits: dict,
                   config, bps: int) -> list[str]:
    """How cost-only, the raw default proxy and its map fitted on the fixed-panel part alone (these designs held
    out) rank and read the search-like calibration designs; then the leave-one-out error of the map on both parts."""
    kept = list(search)
    truth = {k: float(np.mean([done[(k, "pruned", args.epochs, s)] for s in args.calibration_seeds])) for k in kept}
    f = fits[DEFAULT]
    alone = f["alone"]  # the fit calibration_section made before adding these designs
    raw = [search[k] for k in kept]
    acc = list(truth.values())
    return ["", f"## The {len(kept)} search-like calibration designs (calibration_search, seed {args.panel_seed + 3000}; the "
            f"truth: seeds {args.calibration_seeds} of the {args.epochs}-epoch recipe; deployed accuracy "
            f"{100 * min(acc):.1f}-{100 * max(acc):.1f}%; {DEFAULT} raw {min(raw):.3f}-{max(raw):.3f})", "",
            f"Held out from the map fitted on the {len(cal)} fixed-panel calibration networks alone (the one shipped before "
            "this part was added):", "",
            "| stand-in for the truth | reward tau [95% bootstrap] | accuracy tau | mean accuracy below the truth, points "
            "| its spread (sd) | calibration error, points | top-pick regret |", "|---|---:|---:|---:|---:|---:|---:|",
            compare("cost-only (these designs' mean truth)", kept, truth, [float(np.mean(acc))] * len(kept), config, bps),
            compare(f"proxy {DEFAULT}", kept, truth, raw, config, bps),
            compare(f"proxy {DEFAULT} + {alone['ships']} fitted on the {len(cal)} alone", kept, truth,
                    [alone["maps"][alone["ships"]](a) for a in raw], config, bps),
            "", f"Leave-one-out error of {DEFAULT}'s maps, points: on the {len(cal)} alone "
            + ", ".join(f"{k} {100 * v:.1f}" for k, v in alone["loo"].items()) + f"; on all {f['networks']} "
            + ", ".join(f"{k} {100 * v:.1f}" for k, v in f["loo"].items()) + f" (ships {f['ships']})."]


def panel_section(args: argparse.Namespace, panel: str, kept: list[str], row: dict, done: dict, fits: dict,
                  constant: float, config, bps: int) -> list[str]:
    """How the 1-epoch ground truth, cost-only (``constant``: the calibration panel's mean truth) and each proxy,
    raw and mapped by ``fits``, rank and read the truth on one of reward_fidelity's fixed panels."""
    seeds = args.panel_truth_seeds
    truth = {k: float(np.mean([done[(k, "pruned", args.epochs, s)] for s in seeds])) for k in kept}
    acc = [truth[k] for k in kept]
    lines = ["", f"## The {panel} panel ({len(kept)} networks; the truth: seeds {seeds} of the {args.epochs}-epoch recipe; "
             f"deployed accuracy {100 * min(acc):.1f}-{100 * max(acc):.1f}%)", "",
             "| stand-in for the truth | reward tau [95% bootstrap] | accuracy tau | mean accuracy below the truth, points "
             "| its spread (sd) | calibration error, points | top-pick regret |", "|---|---:|---:|---:|---:|---:|---:|"]
    if len(seeds) == 2:
        s0, s1 = ({k: done[(k, "pruned", args.epochs, s)] for k in kept} for s in seeds)
        lines.append(compare(f"the truth's seed {seeds[1]} against its seed {seeds[0]} (noise ceiling)", kept, s0,
                             [s1[k] for k in kept], config, bps))
    short = [(float(row[(k, DEFAULT)]["gt_accuracy_0"]) + float(row[(k, DEFAULT)]["gt_accuracy_1"])) / 2 for k in kept]
    lines += [compare("1 epoch, pruned start (reward_fidelity's ground truth, 2 seeds)", kept, truth, short, config, bps),
              compare("cost-only (the calibration panel's mean truth)", kept, truth, [constant] * len(kept), config, bps)]
    for m in PROXY_ROWS:
        raw = [float(row[(k, m)]["proxy_accuracy"]) for k in kept]
        f = fits[m]
        lines += [compare(f"proxy {m}", kept, truth, raw, config, bps),
                  compare(f"proxy {m} + {f['ships']} fitted to the truth", kept, truth, [f["maps"][f["ships"]](a) for a in raw],
                          config, bps)]
    return lines


def calibration_noise(args: argparse.Namespace, cal: list[str], done: dict) -> list[str]:
    """How the calibration panel's two truth seeds agree: the noise in what its maps are fitted to."""
    first, second = args.calibration_seeds[:2]
    a, b = (np.array([done[(k, "pruned", args.epochs, s)] for k in cal]) for s in (first, second))
    return ["", f"## The calibration panel's two truth seeds ({len(cal)} networks, {args.epochs}-epoch recipe)", "",
            f"Seed {second} against seed {first}: accuracy tau {kendalltau(a, b).statistic:.2f}, mean absolute "
            f"difference {100 * np.mean(np.abs(a - b)):.1f} points (largest {100 * np.max(np.abs(a - b)):.1f}), mean "
            f"difference {100 * np.mean(b - a):+.1f} points. The maps above are fitted to their mean."]


def per_design(designs: list[str], truth: dict, pruned_1: dict, recovered_1: dict, row: dict, done: dict,
               epochs: int) -> list[str]:
    """Every design's accuracies, then what the recovered start adds over the pruned one after 1 and ``epochs``."""
    lines = ["", "| design (kept) | truth | 1 epoch pruned | 1 epoch recovered | " + " | ".join(PROXY_ROWS) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(PROXY_ROWS)]
    for k in designs:
        cells = [truth[k], pruned_1[k], recovered_1[k]]
        cells += [float(row[(k, m)]["proxy_accuracy"]) for m in PROXY_ROWS]
        lines.append(f"| `{k}` | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    short = [100 * (recovered_1[k] - pruned_1[k]) for k in designs]
    lines += ["", "1 epoch from the recovered start, minus from the pruned one (means of seeds 0 and 1): "
              + ", ".join(f"{d:+.1f}" for d in short) + f" points (mean {np.mean(short):+.1f})."]
    both = [k for k in designs if (k, "recovered", epochs, 0) in done and (k, "pruned", epochs, 0) in done]
    if both:
        diff = [100 * (done[(k, "recovered", epochs, 0)] - done[(k, "pruned", epochs, 0)]) for k in both]
        lines += ["", f"{epochs} epochs from the recovered start, minus from the pruned one (seed 0), on {len(both)} "
                  f"designs: " + ", ".join(f"{d:+.1f}" for d in diff) + f" points (mean {np.mean(diff):+.1f})."]
    return lines


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    trained = bundled_tiny(args.split)
    config = trained.config
    data = load_subset()
    bps = trained.bits_per_symbol
    networks = read_rows(args.out / "networks.csv")
    designs = chosen(networks, args.designs, args.seed)
    jobs = [("pruned", args.epochs, s) for s in args.truth_seeds] + [("recovered", 1, 0), ("recovered", 1, 1)]
    path = args.out / "ground_truth_check.csv"
    done = {(r["kept"], r["start"], int(r["epochs"]), int(r["seed"])): float(r["test_accuracy"]) for r in read_rows(path)}
    cal = sorted({r["kept"] for r in networks if r["panel"] == "calibration"})
    drawn = {json.dumps(list(k)) for k in panels(config, args.panel_networks, args.panel_seed)["calibration"]}
    if args.calibration_search and not args.calibration_seeds:
        raise SystemExit("--calibration-search needs --calibration-seeds (the seeds of its truth); add --calibration-seeds 0")
    if args.panels and not args.calibration_seeds:
        raise SystemExit("--panels needs --calibration-seeds (the fits that map each panel's proxies); add "
                         "--calibration-seeds 0")
    if args.calibration_seeds and drawn != set(cal):  # the shipped provenance names the panel by these two
        raise SystemExit(f"networks.csv's calibration panel is not the one --panel-networks {args.panel_networks} "
                         f"--panel-seed {args.panel_seed} draw; pass reward_fidelity's --networks and --seed")
    todo = [(kept, job) for i, kept in enumerate(designs)
            for job in jobs + ([("recovered", args.epochs, 0)] if i < args.recovered_full else [])]
    todo += [(kept, ("pruned", args.epochs, s)) for s in args.calibration_seeds for kept in cal]
    searched = [json.dumps(list(k)) for k in calibration_search(config, args.calibration_search, args.panel_seed)]
    todo += [(kept, ("pruned", args.epochs, s)) for s in args.calibration_seeds for kept in searched]
    fixed = {panel: sorted({r["kept"] for r in networks if r["panel"] == panel})[:args.panel_limit or None]
             for panel in args.panels}
    todo += [(kept, ("pruned", args.epochs, s)) for s in args.panel_truth_seeds for panel in args.panels
             for kept in fixed[panel]]
    started = time.time()
    evaluator = Evaluator(trained, data.train, data.val, PROXIES[DEFAULT])
    search = search_proxies(searched, args.out / "calibration_search.csv", evaluator)
    fine_tune(todo, done, path, trained, data, evaluator)
    truth = {k: float(np.mean([done[(k, "pruned", args.epochs, s)] for s in args.truth_seeds])) for k in designs}
    lines = header(args, designs, read_rows(path), started)
    if len(args.truth_seeds) == 2:
        s0, s1 = ({k: done[(k, "pruned", args.epochs, s)] for k in designs} for s in args.truth_seeds)
        lines.append(compare(f"the truth's seed {args.truth_seeds[1]} against its seed {args.truth_seeds[0]} "
                             "(noise ceiling)", designs, s0, [s1[k] for k in designs], config, bps))
    row = {(r["kept"], r["method"]): r for r in networks}
    # the two 1-epoch stand-ins, each the mean of seeds 0 and 1
    pruned_1 = {k: (float(row[(k, DEFAULT)]["gt_accuracy_0"]) + float(row[(k, DEFAULT)]["gt_accuracy_1"])) / 2 for k in designs}
    recovered_1 = {k: (done[(k, "recovered", 1, 0)] + done[(k, "recovered", 1, 1)]) / 2 for k in designs}
    lines += [compare("1 epoch, pruned start (reward_fidelity's ground truth, 2 seeds)", designs, truth,
                      [pruned_1[k] for k in designs], config, bps),
              compare("1 epoch, recovered start (2 seeds)", designs, truth, [recovered_1[k] for k in designs], config, bps),
              compare("cost-only", designs, truth, [float(np.mean(list(truth.values())))] * len(designs), config, bps)]
    lines += [compare(f"proxy {m}", designs, truth, [float(row[(k, m)]["proxy_accuracy"]) for k in designs], config, bps)
              for m in PROXY_ROWS]
    if args.calibration_seeds:
        cal_lines, fits = calibration_section(args, row, cal, search, done, designs, truth, config, bps)
        lines += cal_lines
    lines += per_design(designs, truth, pruned_1, recovered_1, row, done, args.epochs)
    # --panels comes with --calibration-seeds (checked above): cost-only reads the calibration panel's mean truth
    constant = float(np.mean([done[(k, "pruned", args.epochs, s)] for s in args.calibration_seeds for k in cal] or [np.nan]))
    if search:
        lines += search_section(args, cal, search, row, done, fits, config, bps)
    if len(args.calibration_seeds) == 2:
        lines += calibration_noise(args, cal, done)
    for panel in args.panels:
        lines += panel_section(args, panel, fixed[panel], row, done, fits, constant, config, bps)
    text = "\n".join(lines) + "\n"
    ckpt.atomic_write(args.out / args.report, lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
