"""How well does each evaluation method's reward rank pruned networks the way deployment does?

    .venv/bin/python benchmarks/reward_fidelity.py [--split 13] [--networks 16] [--gt-epochs 1] \
        [--search-episodes 300] [--search-top 20] [--out docs/results/reward_fidelity]

Panels of pruned Tiny networks (fixed, seeded):
  broad       per-layer ratios uniform in [f, 1], floors f from 0.1 to 0.8;
  sweep       one ratio for every layer, 0.1 to 1;
  narrow      per-layer ratios uniform in [0.6, 0.95];
  search      the best ``--search-top`` designs, by the default env's reward, of a
              ``--search-episodes`` random search (the ``random`` agent's draws:
              every ratio uniform in [0, 1]); these are the designs a search picks;
  search-random as many of that search's other designs, drawn at random: the same
              distribution, chosen by no proxy, so no winner's curse;
  calibration broad-like and narrow-like networks drawn with another seed, plus
              uniformly pruned ones between the sweep's ratios, used only to fit the
              monotone maps of the "+line" and "+isotonic" rows, never measured.

Ground truth: each network pruned and fine-tuned whole (the recipe of
``coinfer export``: SGD, cosine, augmented batches of 128) for ``--gt-epochs``
epochs with each of two seeds, then its accuracy on the 1,017 test images; the
deployed reward is the paper's formula with the mean of the two. The two seeds'
agreement is the noise ceiling.

Each proxy is an :class:`coinfer_env.evaluation.Evaluator` with one method and
budget, scoring on the env's 1,000 validation images exactly as an episode does.
"+line" and "+isotonic" rows map the proxy accuracy through that kind of monotone
map (coinfer_env.calibration), fitted on the calibration panel to the deployed
accuracy. The "cost-only" row gives every network one accuracy (the calibration
panel's mean deployed accuracy), so it ranks by FLOPs and bits alone: the
reference a method's accuracy has to beat.

Writes ``networks.csv`` (one row per network and method: kept vector, FLOPs, bits,
proxy accuracy, reward and seconds, and each ground-truth seed's accuracy and
reward), ``summary.md`` and ``frontier.png``. Search episodes, ground truth and
proxy rows are appended as they finish (``search.csv``, ``ground_truth.csv``,
``proxies.csv``), so an interrupted run resumes where it stopped. Every appended row
names the hardware and torch thread count that computed it (rows written before they
did read "unrecorded" in the summary's header).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
import zlib
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from scipy.stats import kendalltau

from coinfer_env import calibration as calib
from coinfer_env import checkpoints as ckpt
from coinfer_env.accounting import cost
from coinfer_env.architecture import SplitConfig, full_kept, kept_count
from coinfer_env.data import load_subset
from coinfer_env.envs import reward_terms
from coinfer_env.evaluation import EvalSettings, Evaluator
from coinfer_env.export import starting_network
from coinfer_env.hardware import device_name, where_computed
from coinfer_env.loops import accuracy
from coinfer_env.network import SplitNetwork
from coinfer_env.recipe import finetune_whole

PROXIES = {  # name -> settings; the budgets are the arguments of EvalSettings
    "finetune-16": EvalSettings("finetune", steps=16),
    "finetune-48": EvalSettings("finetune", steps=48),
    "finetune-128": EvalSettings("finetune", steps=128),  # 2 epochs of the 4,085 training images (the export recipe: 10)
    "adaptive-bn-8": EvalSettings("adaptive-bn", bn_batches=8),
    "reconstruct-8": EvalSettings("reconstruct", bn_batches=8),
    "distill-16": EvalSettings("distill", steps=16),
    "adaptive-bn+finetune-16": EvalSettings("adaptive-bn+finetune", steps=16, bn_batches=8),
    "reconstruct+finetune-8": EvalSettings("reconstruct+finetune", steps=8, bn_batches=8),
    "reconstruct+distill-8": EvalSettings("reconstruct+distill", steps=8, bn_batches=8),
    "finetune-whole-16": EvalSettings("finetune-whole", steps=16),
    "finetune-whole-48": EvalSettings("finetune-whole", steps=48),
    "finetune-48-batch16": EvalSettings("finetune", steps=48, batch=16),  # the updates of finetune-48, the images of 12 steps
    "finetune-16-lr3": EvalSettings("finetune", steps=16, lr=3e-3),  # finetune-16 moving the weights three times as far a step
}
DEFAULT = "reconstruct-8"  # the env's default evaluation
COST_ONLY = "cost-only"
PANELS = ("broad", "sweep", "narrow", "search", "search-random")  # the measurement panels, in the summary's order
BETA = 0.5


def panels(config: SplitConfig, n: int, seed: int) -> dict[str, list[tuple[int, ...]]]:
    """Kept vectors of each panel, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    full = full_kept(config)

    def kept(ratios) -> tuple[int, ...]:
        return tuple(kept_count(float(a), c) for a, c in zip(ratios, full))

    L = len(full)
    cal = np.random.default_rng(seed + 1000)
    sweep = np.linspace(0.1, 1, max(2, n // 2))
    return {
        "broad": [kept(rng.uniform(f, 1, L)) for f in np.linspace(0.1, 0.8, n)],
        "sweep": [kept(np.full(L, a)) for a in sweep],
        "narrow": [kept(rng.uniform(0.6, 0.95, L)) for _ in range(n)],
        # the uniform ones reach most of the low accuracies the sweep probes (down to 18% for reconstruct, against 45%)
        "calibration": [kept(cal.uniform(f, 1, L)) for f in np.linspace(0.1, 0.8, n // 2)]
        + [kept(cal.uniform(0.6, 0.95, L)) for _ in range(n - n // 2)]
        + [kept(np.full(L, a)) for a in (sweep[:-1] + sweep[1:]) / 2],
    }


def search_designs(config: SplitConfig, episodes: int, seed: int) -> list[tuple[int, ...]]:
    """The kept vectors :class:`agents.random_search.RandomSearch` plays with this seed (tests/test_evaluation.py)."""
    full = full_kept(config)
    draws = np.random.default_rng(seed).uniform(0, 1, size=(episodes, len(full)))
    return [tuple(kept_count(float(a), c) for a, c in zip(ratios, full)) for ratios in draws]


def calibration_search(config: SplitConfig, n: int, seed: int) -> list[tuple[int, ...]]:
    """The calibration panel's search-like part: the first ``n`` designs a random search with seed ``seed + 3000``
    plays (every ratio uniform in [0, 1], as the benches' random search draws them). The benches' designs fall here
    (``reconstruct`` accuracy 0.23-0.47), where the fixed-panel part of the calibration panel is sparse. The seed
    keeps the draws apart from the search panels' (``seed + 2000``) and the benches' (0-9); a test checks the sets."""
    return search_designs(config, n, seed + 3000)


def heavy_designs(config: SplitConfig, n: int, seed: int, top: float = 0.5) -> list[str]:
    """The first ``n`` kept vectors (JSON) of a random search drawing every ratio uniform in [0, ``top``]: heavily
    pruned designs, where the searches through a calibration map went (at split 13 the 12 of seed 6000 keep 21-27% of
    the device FLOPs: results/calibration/ceiling-split-13.md)."""
    full = full_kept(config)
    draws = np.random.default_rng(seed).uniform(0, top, size=(n, len(full)))
    return [json.dumps([kept_count(float(a), c) for a, c in zip(ratios, full)]) for ratios in draws]


def add_heavy_arguments(p: argparse.ArgumentParser) -> None:
    """--heavy N, --heavy-seed SEED and --threads, for the scripts that draw ``heavy_designs``."""
    p.add_argument("--heavy", type=int, default=12, help="how many designs of the heavy draw")
    p.add_argument("--heavy-seed", type=int, default=6000, help="its random search's seed")
    p.add_argument("--threads", type=int, default=2)


def parse_heavy_arguments(p: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse, refusing a heavy draw too small to rank, and set torch's thread count."""
    args = p.parse_args()
    if args.heavy < 3:
        p.error(f"--heavy {args.heavy} is invalid: give 3 or more (a Kendall tau needs pairs)")
    torch.set_num_threads(args.threads)
    return args


def search_panels(trained, data, out: Path, episodes: int, top: int, seed: int,
                  run: bool = True) -> dict[str, list[tuple[int, ...]]]:
    """The ``top`` designs by default-env reward of a random search (``search``), and ``top`` of its other
    designs drawn at random (``search-random``: the same distribution, not chosen by any proxy's reward).
    Resumable from ``out/search.csv``.

    The draws are :class:`agents.random_search.RandomSearch`'s (every ratio uniform in
    [0, 1], one row per episode from ``default_rng(seed)``), scored as the default env
    scores an episode. ``run=False`` only reads the episodes already recorded.
    """
    config = trained.config
    path = out / "search.csv"
    done = {int(r["episode"]): r for r in read_rows(path)}
    ev = Evaluator(trained, data.train, data.val, PROXIES[DEFAULT])
    for i, kept in enumerate(search_designs(config, episodes, seed)):
        if i in done or not run:
            continue
        e, _ = ev.evaluate(kept)
        row = {"episode": i, "kept": json.dumps(list(kept)), "proxy_accuracy": e.accuracy,
               "proxy_reward": reward(config, kept, e.accuracy, trained.bits_per_symbol), "seconds": round(e.seconds, 3)}
        append_row(path, row)
        done[i] = row
        print(f"search episode {i}: reward {float(row['proxy_reward']):.4f} ({e.seconds:.1f} s)", flush=True)
    ranked = sorted(done.values(), key=lambda r: -float(r["proxy_reward"]))
    rest = sorted(ranked[top:], key=lambda r: int(r["episode"]))
    picked = np.random.default_rng(seed + 1).choice(len(rest), min(top, len(rest)), replace=False) if rest else []
    return {"search": [tuple(json.loads(r["kept"])) for r in ranked[:top]],
            "search-random": [tuple(json.loads(rest[i]["kept"])) for i in sorted(picked)]}


def append_row(path: Path, row: dict) -> None:
    """Append ``row`` and where it was computed (``coinfer_env.hardware.where_computed``: a fine-tune on other kernels
    or threads reads up to 2 points apart, benchmarks/export_repeat.py) to the CSV at ``path``. A file written before
    those columns existed is first rewritten whole, atomically, with them added and left empty in its older rows."""
    row = {**row, **where_computed(torch.device("cpu"))}
    fields = csv_header(path)
    if fields is not None and set(row) - set(fields):
        older, fields = read_rows(path), fields + [k for k in row if k not in fields]

        def rewrite(tmp: Path) -> None:
            with tmp.open("w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=fields)
                w.writeheader()
                w.writerows(older)

        ckpt.atomic_write(path, rewrite)
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields or list(row))
        if fields is None:
            w.writeheader()
        w.writerow(row)


def csv_header(path: Path) -> list[str] | None:
    """The column names of the CSV at ``path``; None if it does not exist or is empty."""
    if not path.exists():
        return None
    with path.open(newline="") as f:
        return next(csv.reader(f), None)


def hosts_text(rows: list[dict]) -> str:
    """Where ``rows`` were computed, with counts: "12 on cpu: AMD EPYC (AVX2), 2 threads; 65 unrecorded"."""
    counts = Counter(f"on {r['hardware']}, {r['threads']} threads" if r.get("hardware") else "unrecorded" for r in rows)
    return "; ".join(f"{n} {where}" for where, n in counts.most_common()) or "none"


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))


def read_ground_truth(path: Path, epochs: int) -> dict[tuple[str, int], float]:
    """The test accuracy in ``path`` of each (network's kept vector as JSON, seed) after an ``epochs``-epoch
    fine-tune. Rows of another length of fine-tune are left out, so a run with another ``--gt-epochs`` into
    the same directory neither reuses nor mixes them."""
    return {(r["kept"], int(r["seed"])): float(r["test_accuracy"]) for r in read_rows(path) if int(r["epochs"]) == epochs}


def bundled_tiny(split: int) -> SplitNetwork:
    """The bundled Tiny step-1 weights at ``split``, in eval mode."""
    trained = SplitNetwork(SplitConfig(8, split))
    trained.load_state_dict(ckpt.load_split(ckpt.bundled_dir(), 8, split))
    return trained.eval()


def ground_truth(trained, kept, data, epochs: int, seed: int, recovered_by: Evaluator | None = None) -> float:
    """Test accuracy after ``coinfer export``'s fine-tune (``recovered_by``: its ``--start recovered``)."""
    model = starting_network(trained, kept, recovered_by)
    model.channel.seed(seed)
    finetune_whole(model, data.train, epochs, torch.Generator().manual_seed(seed))
    return accuracy(model, data.test)


def export_truth(epochs: int, seeds: list[int]) -> str:
    """The provenance a map aimed at the export recipe ships with (ground_truth_check.py, fit_calibration.py)."""
    return (f"{epochs}-epoch whole-network fine-tune from the pruned network (the export recipe), seeds {list(seeds)}, "
            "test accuracy")


def reward(config, kept, acc: float, bits_per_symbol: int) -> float:
    c = cost(config, kept, bits_per_symbol)
    return reward_terms(acc, c.flops, c.flops_original, c.bits, c.bits_original, BETA)["reward"]


def tau_with_interval(x, y, rng, draws: int = 1000) -> tuple[float, float, float]:
    """Kendall tau and a 95% bootstrap interval (networks resampled with replacement)."""
    x, y = np.asarray(x), np.asarray(y)
    point = kendalltau(x, y).statistic
    boot = []
    for _ in range(draws):
        i = rng.integers(0, len(x), len(x))
        if len(set(x[i])) > 1 and len(set(y[i])) > 1:
            boot.append(kendalltau(x[i], y[i]).statistic)
    lo, hi = np.nanpercentile(boot, [2.5, 97.5]) if boot else (np.nan, np.nan)
    return float(point), float(lo), float(hi)


def fit_maps(by: dict, gt: dict) -> dict[str, dict]:
    """Per method: each kind of map fitted on the calibration panel, its leave-one-out error there, and the kind
    with the smaller one, which ``--calibration-out`` ships. Nothing here sees a measurement panel."""
    fits = {}
    for method in PROXIES:
        cal = by.get(("calibration", method), [])
        if len(cal) < 3:
            continue
        x = [float(r["proxy_accuracy"]) for r in cal]
        y = [float(np.mean(gt[r["kept"]])) for r in cal]
        loo = {kind: calib.loo_error(x, y, kind) for kind in calib.KINDS}
        fits[method] = {"maps": {kind: calib.fit(x, y, kind) for kind in calib.KINDS}, "loo": loo,
                        "ships": min(loo, key=loo.get), "networks": len(cal)}
    return fits


def ship_fits(directory: Path, split: int, fits: dict[str, dict], networks: int, seed: int, ground_truth: str) -> None:
    """Save each method's fit of the kind it ships into ``directory``'s calibration.json, with its provenance:
    the calibration panel drawn by ``panels(config, networks, seed)``, plus the first ``search_networks`` of
    ``calibration_search(config, ..., seed)`` and the first ``heavy_networks`` of ``heavy_designs`` with each of
    ``heavy_seeds`` where a fit holds them, and the ground truth it aims at."""
    for method, f in fits.items():
        calib.save_entry(directory, fit_entry(split, method, f, networks, seed, ground_truth))


def fit_entry(split: int, method: str, f: dict, networks: int, seed: int, ground_truth: str) -> dict:
    """One method's fit of the kind it ships, as calibration.json stores it, with the provenance ship_fits gives."""
    search = f.get("search_networks", 0)
    heavy = {k: f[k] for k in ("heavy_networks", "heavy_seeds") if k in f}
    return calib.entry(8, split, ckpt.split_digest(ckpt.bundled_dir(), 8, split), PROXIES[method],
                       f["maps"][f["ships"]], networks=f["networks"], panel_size=networks, panel_seed=seed + 1000,
                       search_networks=search, **({"search_seed": seed + 3000} if search else {}), **heavy,
                       loo_error=f["loo"], ground_truth=ground_truth)


def score(name: str, panel: str, kept: list[str], acc, gt_acc, gt_rew, seconds, config, bits_per_symbol: int,
          seed: int) -> dict:
    """One summary row: how the accuracies ``acc`` rank the panel against its ground truth.

    Each row's bootstrap draws from its own generator, seeded by ``seed`` and the row's name, so adding a
    method leaves every other row's interval as it was.
    """
    rng = np.random.default_rng([seed, zlib.crc32(f"{panel}/{name}".encode())])
    acc = np.asarray(acc, float)
    proxy_rew = np.array([reward(config, json.loads(k), a, bits_per_symbol) for k, a in zip(kept, acc)])
    rt, rlo, rhi = tau_with_interval(proxy_rew, gt_rew, rng)
    at, alo, ahi = tau_with_interval(acc, gt_acc, rng) if len(set(acc)) > 1 else (np.nan,) * 3
    return {"panel": panel, "method": name, "networks": len(kept),
            "reward_tau": rt, "reward_tau_lo": rlo, "reward_tau_hi": rhi,
            "accuracy_tau": at, "accuracy_tau_lo": alo, "accuracy_tau_hi": ahi,
            "calibration_error_pts": 100 * float(np.mean(np.abs(acc - gt_acc))),
            "regret": float(gt_rew.max() - gt_rew[int(np.argmax(proxy_rew))]),
            "median_seconds": float(np.median(seconds))}


def summarise(rows: list[dict], gt: dict, config, bits_per_symbol: int, seed: int) -> tuple[list[dict], dict]:
    """One summary row per (panel, method) and per map of each method, plus the cost-only reference; the
    noise ceilings; the fits.

    ``cost-only`` gives every network the calibration panel's mean deployed accuracy, so its reward ranks
    by FLOPs and bits alone, at no evaluation cost: what a method's accuracy adds is its gain over that row.
    """
    by = {}
    for r in rows:
        by.setdefault((r["panel"], r["method"]), []).append(r)
    fits = fit_maps(by, gt)
    cal_kept = {r["kept"] for (panel, _), group in by.items() if panel == "calibration" for r in group}
    constant = float(np.mean([np.mean(gt[k]) for k in cal_kept])) if cal_kept else None
    out, ceilings = [], {}
    for panel in PANELS:
        groups = {m: by[(panel, m)] for m in PROXIES if len(by.get((panel, m), [])) >= 3}
        if not groups:
            continue
        for method, group in groups.items():
            kept = [r["kept"] for r in group]
            gt_acc = np.array([np.mean(gt[k]) for k in kept])
            gt_rew = np.array([reward(config, json.loads(k), a, bits_per_symbol) for k, a in zip(kept, gt_acc)])
            if panel not in ceilings:
                ceilings[panel] = ceiling(kept, gt, config, bits_per_symbol)
                if constant is not None:
                    out.append(score(COST_ONLY, panel, kept, [constant] * len(kept), gt_acc, gt_rew, [0.0], config,
                                     bits_per_symbol, seed))
            raw = [float(r["proxy_accuracy"]) for r in group]
            seconds = [float(r["seconds"]) for r in group]
            out.append(score(method, panel, kept, raw, gt_acc, gt_rew, seconds, config, bits_per_symbol, seed))
            for kind, fitted in fits.get(method, {}).get("maps", {}).items():
                out.append(score(f"{method}+{kind}", panel, kept, [fitted(a) for a in raw], gt_acc, gt_rew, seconds,
                                 config, bits_per_symbol, seed))
    return out, {"ceilings": ceilings, "fits": fits, "constant": constant, "picks": picks(rows, gt, config, bits_per_symbol)}


def picks(rows: list[dict], gt: dict, config, bits_per_symbol: int, method: str = DEFAULT) -> list[str]:
    """Per panel, how ``method`` reads its own top pick and the design that deploys best."""
    lines = []
    for panel in PANELS:
        group = [r for r in rows if r["panel"] == panel and r["method"] == method]
        if len(group) < 3:
            continue
        deployed = [reward(config, json.loads(r["kept"]), float(np.mean(gt[r["kept"]])), bits_per_symbol) for r in group]
        order = sorted(range(len(group)), key=lambda i: -float(group[i]["proxy_reward"]))
        best = int(np.argmax(deployed))

        def gap(i: int) -> str:
            return f"{100 * (float(np.mean(gt[group[i]['kept']])) - float(group[i]['proxy_accuracy'])):.1f}"

        lines.append(f"- {panel}: its top pick reads {gap(order[0])} points below its deployed accuracy; the design that "
                     f"deploys best reads {gap(best)} points below, and is its choice {order.index(best) + 1} of {len(group)}")
    return lines


def ceiling(kept: list[str], gt: dict, config, bits_per_symbol: int) -> dict:
    """Kendall tau between the two ground-truth seeds, on the reward and on accuracy."""
    s0 = [gt[k][0] for k in kept]
    s1 = [gt[k][1] for k in kept]
    r0 = [reward(config, json.loads(k), a, bits_per_symbol) for k, a in zip(kept, s0)]
    r1 = [reward(config, json.loads(k), a, bits_per_symbol) for k, a in zip(kept, s1)]
    return {"reward_tau": kendalltau(r0, r1).statistic, "accuracy_tau": kendalltau(s0, s1).statistic, "networks": len(kept)}


def write_networks(path: Path, rows: list[dict], gt: dict, config, bits_per_symbol: int) -> None:
    """The joined table every summary is computed from: each proxy row with both ground-truth seeds."""
    fields = list(rows[0]) + ["gt_accuracy_0", "gt_accuracy_1", "gt_reward_0", "gt_reward_1"] if rows else []

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            for r in rows:
                a0, a1 = gt[r["kept"]][:2]
                k = json.loads(r["kept"])
                w.writerow({**r, "gt_accuracy_0": a0, "gt_accuracy_1": a1, "gt_reward_0": reward(config, k, a0, bits_per_symbol),
                            "gt_reward_1": reward(config, k, a1, bits_per_symbol)})

    ckpt.atomic_write(path, write)


def write_summary(out: Path, summary: list[dict], extra: dict, header: str) -> None:
    lines = [header, "", "Noise ceiling (Kendall tau between the two ground-truth seeds):", ""]
    for panel, c in extra["ceilings"].items():
        lines.append(f"- {panel} ({c['networks']} networks): reward {c['reward_tau']:.2f}, accuracy {c['accuracy_tau']:.2f}")
    lines += ["", "Maps fitted on the calibration panel, with their leave-one-out error there (points); "
              "`--calibration-out` ships the kind with the smaller one:", ""]
    for m, f in extra["fits"].items():
        line = f["maps"]["line"]
        (x0, y0), (x1, y1) = line.knots
        lines.append(f"- {m} ({f['networks']} networks): line slope {(y1 - y0) / (x1 - x0):.3f}, intercept {y0:+.3f}, "
                     f"LOO {100 * f['loo']['line']:.2f}; isotonic {len(f['maps']['isotonic'].knots)} knots, "
                     f"LOO {100 * f['loo']['isotonic']:.2f}; ships {f['ships']}")
    if extra["constant"] is not None:
        lines += ["", f"{COST_ONLY}: every network's accuracy is the calibration panel's mean deployed accuracy, "
                  f"{extra['constant']:.3f}, so its reward ranks by FLOPs and bits alone (no evaluation)."]
    lines += ["", f"How {DEFAULT} reads the designs that matter (raw accuracy):", ""] + extra["picks"]
    lines += ["", "| panel | method | n | reward tau [95% CI] | accuracy tau [95% CI] | calib. error (pts) | regret | median s/episode |",
              "|---|---|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(
            f"| {s['panel']} | {s['method']} | {s['networks']} | {s['reward_tau']:.2f} [{s['reward_tau_lo']:.2f}, {s['reward_tau_hi']:.2f}] "
            f"| {s['accuracy_tau']:.2f} [{s['accuracy_tau_lo']:.2f}, {s['accuracy_tau_hi']:.2f}] | {s['calibration_error_pts']:.1f} "
            f"| {s['regret']:.4f} | {s['median_seconds']:.2f} |")
    text = "\n".join(lines) + "\n"
    ckpt.atomic_write(out / "summary.md", lambda tmp: tmp.write_text(text))
    write_plot(out / "frontier.png", summary)


def split_name(name: str) -> tuple[str, str]:
    """A summary row's method name as (proxy, map kind or "")."""
    for kind in calib.KINDS:
        if name.endswith("+" + kind):
            return name[: -len(kind) - 1], kind
    return name, ""


def write_plot(path: Path, summary: list[dict]) -> None:
    """Reward tau against seconds per episode: marker = panel, colour = method, fill = map."""
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.subplots()
    markers = dict(zip(PANELS, "os^Dv"))
    fill = {"": "full", "line": "none", "isotonic": "left"}
    for s in summary:
        base, kind = split_name(s["method"])
        colour = "black" if base == COST_ONLY else f"C{list(PROXIES).index(base)}"
        ax.plot(s["median_seconds"], s["reward_tau"], marker=markers[s["panel"]], color=colour, fillstyle=fill[kind],
                linestyle="none")
    present = {split_name(s["method"])[0] for s in summary}
    for i, m in enumerate(PROXIES):
        if m in present:
            ax.plot([], [], "o", color=f"C{i}", label=m)
    ax.plot([], [], "o", color="black", label=f"{COST_ONLY} (at 0 s)")
    ax.set_xlabel("median seconds per Tiny episode (this CPU)")
    ax.set_ylabel("Kendall tau, proxy vs deployed reward")
    ax.set_title("o broad, ^ narrow, s sweep, D search, v search-random; filled raw, hollow +line, half +isotonic", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    ckpt.atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--split", type=int, default=13)
    p.add_argument("--networks", type=int, default=16, help="networks per panel (sweep: half)")
    p.add_argument("--gt-epochs", type=int, default=1, help="whole-network fine-tune epochs of the ground truth")
    p.add_argument("--gt-seeds", type=int, nargs=2, default=[0, 1])
    p.add_argument("--methods", nargs="+", default=list(PROXIES), choices=list(PROXIES))
    p.add_argument("--seed", type=int, default=0, help="draws the panels (the search: seed + 2000) and the bootstrap")
    p.add_argument("--search-episodes", type=int, default=300, help="episodes of the random search behind the search panel")
    p.add_argument("--search-top", type=int, default=20, help="its best designs that form the search panel (0: no panel)")
    p.add_argument("--out", type=Path, default=Path("docs/results/reward_fidelity"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--summary-only", action="store_true")
    p.add_argument("--calibration-out", type=Path, help="directory whose calibration.json receives each method's fit "
                   "(the bundled weights' directory ships them)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    trained = bundled_tiny(args.split)
    config = trained.config
    data = load_subset()
    bps = trained.bits_per_symbol
    nets = panels(config, args.networks, args.seed)
    if args.search_top:
        nets.update(search_panels(trained, data, args.out, args.search_episodes, args.search_top, args.seed + 2000,
                                  run=not args.summary_only))
    overlap = set(nets["calibration"]) & {k for panel in PANELS for k in nets.get(panel, [])}
    if overlap:  # a map fitted on a network it is then measured on would flatter itself
        raise SystemExit(f"the calibration panel shares {len(overlap)} networks with a measurement panel; change --seed")
    gt_path, proxy_path = args.out / "ground_truth.csv", args.out / "proxies.csv"
    started = time.time()
    if not args.summary_only:
        done = set(read_ground_truth(gt_path, args.gt_epochs))
        for panel, kept_list in nets.items():
            for kept in kept_list:
                for s in args.gt_seeds:
                    key = json.dumps(list(kept))
                    if (key, s) in done:
                        continue
                    t = time.perf_counter()
                    acc = ground_truth(trained, kept, data, args.gt_epochs, s)
                    append_row(gt_path, {"kept": key, "seed": s, "epochs": args.gt_epochs, "test_accuracy": acc,
                                         "seconds": round(time.perf_counter() - t, 2)})
                    done.add((key, s))
                    print(f"ground truth {panel} seed {s}: {acc:.3f} ({time.perf_counter() - t:.1f} s)", flush=True)
        done_proxy = {(r["panel"], r["kept"], r["method"]) for r in read_rows(proxy_path)}
        for method in args.methods:
            ev = Evaluator(trained, data.train, data.val, PROXIES[method])
            for panel, kept_list in nets.items():
                for kept in kept_list:
                    key = json.dumps(list(kept))
                    if (panel, key, method) in done_proxy:
                        continue
                    e, _ = ev.evaluate(kept)
                    c = cost(config, kept, bps)
                    append_row(proxy_path, {"panel": panel, "method": method, "settings": json.dumps(asdict(PROXIES[method])),
                                            "kept": key, "flops": c.flops, "bits": c.bits, "proxy_accuracy": e.accuracy,
                                            "proxy_reward": reward(config, kept, e.accuracy, bps), "seconds": round(e.seconds, 3)})
                    print(f"{method} {panel}: {e.accuracy:.3f} ({e.seconds:.1f} s)", flush=True)
    gt: dict[str, list[float]] = {}
    for (kept, _), acc in sorted(read_ground_truth(gt_path, args.gt_epochs).items()):
        gt.setdefault(kept, []).append(acc)
    current = {(panel, json.dumps(list(k))) for panel, ks in nets.items() for k in ks}
    rows = [r for r in read_rows(proxy_path) if (r["panel"], r["kept"]) in current and len(gt.get(r["kept"], [])) >= 2]
    write_networks(args.out / "networks.csv", rows, gt, config, bps)
    summary, extra = summarise(rows, gt, config, bps, args.seed)
    header = (f"# Reward fidelity, Tiny id, split {args.split}\n\n"
              f"Command: `.venv/bin/python benchmarks/reward_fidelity.py --split {args.split} --networks {args.networks} "
              f"--gt-epochs {args.gt_epochs} --seed {args.seed} --search-episodes {args.search_episodes} "
              f"--search-top {args.search_top} --methods {' '.join(args.methods)}"
              f"{' --summary-only' if args.summary_only else ''}`; ground truth: {args.gt_epochs}-epoch whole-network fine-tune "
              f"(export recipe), seeds {args.gt_seeds}, test accuracy on {len(data.test)} images. This invocation: "
              f"{device_name(torch.device('cpu'))}, {torch.get_num_threads()} torch threads, {time.time() - started:.0f} s; "
              f"the ground-truth rows: {hosts_text(read_rows(gt_path))}. "
              f"The other methods' rows ({', '.join(sorted({r['method'] for r in rows} - set(args.methods))) or 'none'}) come from "
              "earlier invocations on the same panels and ground truth (proxies.csv, ground_truth.csv).")
    write_summary(args.out, summary, extra, header)
    if args.calibration_out:
        ship_fits(args.calibration_out, args.split, extra["fits"], args.networks, args.seed,
                  f"{args.gt_epochs}-epoch whole-network fine-tune, seeds {args.gt_seeds}, test accuracy")
    print((args.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
