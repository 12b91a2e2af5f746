"""How well does each evaluation method's reward rank pruned networks the way deployment does?

    .venv/bin/python benchmarks/reward_fidelity.py [--split 13] [--networks 16] [--gt-epochs 1] \
        [--out docs/results/reward_fidelity]

Panels of pruned Tiny networks (fixed, seeded):
  broad       per-layer ratios uniform in [f, 1], floors f from 0.1 to 0.8;
  sweep       one ratio for every layer, 0.1 to 1;
  narrow      per-layer ratios uniform in [0.6, 0.95];
  calibration a mix of broad and narrow networks drawn with another seed, used only
              to fit the linear maps of the "+calibrated" rows, never measured.

Ground truth: each network pruned and fine-tuned whole (the recipe of
``coinfer export``: SGD, cosine, augmented batches of 128) for ``--gt-epochs``
epochs with each of two seeds, then its accuracy on the 1,017 test images; the
deployed reward is the paper's formula with the mean of the two. The two seeds'
agreement is the noise ceiling.

Each proxy is an :class:`coinfer_env.evaluation.Evaluator` with one method and
budget, scoring on the env's 1,000 validation images exactly as an episode does.
"+calibrated" rows apply a straight line, fitted on the calibration panel, from the
proxy accuracy to the deployed accuracy (monotone, so the accuracy ranking is
unchanged; the reward ranking is not).

Writes ``networks.csv`` (one row per network and method: kept vector, FLOPs, bits,
proxy accuracy, reward and seconds, and each ground-truth seed's accuracy and
reward), ``summary.md`` and ``frontier.png``. Ground truth and proxy rows are
appended as they finish, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import time
import zlib
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
from coinfer_env.loops import accuracy
from coinfer_env.network import SplitNetwork
from coinfer_env.pruning import prune_to
from coinfer_env.recipe import finetune_whole

PROXIES = {  # name -> settings; the budgets are the arguments of EvalSettings
    "finetune-16": EvalSettings("finetune", steps=16),
    "finetune-48": EvalSettings("finetune", steps=48),
    "adaptive-bn-8": EvalSettings("adaptive-bn", bn_batches=8),
    "reconstruct-8": EvalSettings("reconstruct", bn_batches=8),
    "distill-16": EvalSettings("distill", steps=16),
    "adaptive-bn+finetune-16": EvalSettings("adaptive-bn+finetune", steps=16, bn_batches=8),
    "reconstruct+finetune-8": EvalSettings("reconstruct+finetune", steps=8, bn_batches=8),
    "reconstruct+distill-8": EvalSettings("reconstruct+distill", steps=8, bn_batches=8),
}
BETA = 0.5


def panels(config: SplitConfig, n: int, seed: int) -> dict[str, list[tuple[int, ...]]]:
    """Kept vectors of each panel, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    full = full_kept(config)

    def kept(ratios) -> tuple[int, ...]:
        return tuple(kept_count(float(a), c) for a, c in zip(ratios, full))

    L = len(full)
    cal = np.random.default_rng(seed + 1000)
    return {
        "broad": [kept(rng.uniform(f, 1, L)) for f in np.linspace(0.1, 0.8, n)],
        "sweep": [kept(np.full(L, a)) for a in np.linspace(0.1, 1, max(2, n // 2))],
        "narrow": [kept(rng.uniform(0.6, 0.95, L)) for _ in range(n)],
        "calibration": [kept(cal.uniform(f, 1, L)) for f in np.linspace(0.1, 0.8, n // 2)]
        + [kept(cal.uniform(0.6, 0.95, L)) for _ in range(n - n // 2)],
    }


def append_row(path: Path, row: dict) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))


def ground_truth(trained, kept, data, epochs: int, seed: int) -> float:
    model = prune_to(trained, kept)
    model.channel.seed(seed)
    finetune_whole(model, data.train, epochs, torch.Generator().manual_seed(seed))
    return accuracy(model, data.test)


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


def summarise(rows: list[dict], gt: dict, config, bits_per_symbol: int, seed: int) -> tuple[list[dict], dict]:
    """One summary row per (panel, method), with the calibrated variants; and the noise ceilings.

    Each row's bootstrap draws from its own generator, seeded by ``seed`` and the row's name, so adding a
    method leaves every other row's interval as it was.
    """
    by = {}
    for r in rows:
        by.setdefault((r["panel"], r["method"]), []).append(r)
    fits = {}
    for method in PROXIES:
        cal = by.get(("calibration", method), [])
        if len(cal) >= 3:
            fits[method] = calib.fit([float(r["proxy_accuracy"]) for r in cal], [float(np.mean(gt[r["kept"]])) for r in cal])
    out, ceilings = [], {}
    for panel in ("broad", "sweep", "narrow"):
        for method in PROXIES:
            group = by.get((panel, method), [])
            if len(group) < 3:
                continue
            kept = [r["kept"] for r in group]
            gt_acc = np.array([np.mean(gt[k]) for k in kept])
            gt_rew = np.array([reward(config, json.loads(k), a, bits_per_symbol) for k, a in zip(kept, gt_acc)])
            if panel not in ceilings:
                s0 = np.array([gt[k][0] for k in kept])
                s1 = np.array([gt[k][1] for k in kept])
                r0 = [reward(config, json.loads(k), a, bits_per_symbol) for k, a in zip(kept, s0)]
                r1 = [reward(config, json.loads(k), a, bits_per_symbol) for k, a in zip(kept, s1)]
                ceilings[panel] = {"reward_tau": kendalltau(r0, r1).statistic, "accuracy_tau": kendalltau(s0, s1).statistic,
                                   "networks": len(kept)}
            raw = np.array([float(r["proxy_accuracy"]) for r in group])
            variants = {method: raw}
            if method in fits:
                variants[method + "+calibrated"] = np.array([fits[method](a) for a in raw])
            for name, acc in variants.items():
                rng = np.random.default_rng([seed, zlib.crc32(f"{panel}/{name}".encode())])
                proxy_rew = np.array([reward(config, json.loads(k), a, bits_per_symbol) for k, a in zip(kept, acc)])
                rt, rlo, rhi = tau_with_interval(proxy_rew, gt_rew, rng)
                at, alo, ahi = tau_with_interval(acc, gt_acc, rng)
                out.append({
                    "panel": panel, "method": name, "networks": len(group),
                    "reward_tau": rt, "reward_tau_lo": rlo, "reward_tau_hi": rhi,
                    "accuracy_tau": at, "accuracy_tau_lo": alo, "accuracy_tau_hi": ahi,
                    "calibration_error_pts": 100 * float(np.mean(np.abs(acc - gt_acc))),
                    "regret": float(gt_rew.max() - gt_rew[int(np.argmax(proxy_rew))]),
                    "median_seconds": float(np.median([float(r["seconds"]) for r in group])),
                })
    return out, {"ceilings": ceilings, "fits": fits}


def write_summary(out: Path, summary: list[dict], extra: dict, header: str) -> None:
    lines = [header, "", "Noise ceiling (Kendall tau between the two ground-truth seeds):", ""]
    for panel, c in extra["ceilings"].items():
        lines.append(f"- {panel} ({c['networks']} networks): reward {c['reward_tau']:.2f}, accuracy {c['accuracy_tau']:.2f}")
    lines += ["", "Calibration lines fitted on the calibration panel (deployed = slope x proxy + intercept):", ""]
    lines += [f"- {m}: slope {c.slope:.3f}, intercept {c.intercept:+.3f}" for m, c in extra["fits"].items()]
    lines += ["", "| panel | method | n | reward tau [95% CI] | accuracy tau [95% CI] | calib. error (pts) | regret | median s/episode |",
              "|---|---|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(
            f"| {s['panel']} | {s['method']} | {s['networks']} | {s['reward_tau']:.2f} [{s['reward_tau_lo']:.2f}, {s['reward_tau_hi']:.2f}] "
            f"| {s['accuracy_tau']:.2f} [{s['accuracy_tau_lo']:.2f}, {s['accuracy_tau_hi']:.2f}] | {s['calibration_error_pts']:.1f} "
            f"| {s['regret']:.4f} | {s['median_seconds']:.2f} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for panel, marker in (("broad", "o"), ("narrow", "s"), ("sweep", "^")):
        pts = [s for s in summary if s["panel"] == panel]
        for s in pts:
            ax.scatter(s["median_seconds"], s["reward_tau"], marker=marker, color=f"C{list(PROXIES).index(s['method'].split('+calibrated')[0])}",
                       facecolors="none" if "calibrated" in s["method"] else None)
    present = {s["method"].split("+calibrated")[0] for s in summary}
    for i, m in enumerate(PROXIES):
        if m in present:
            ax.scatter([], [], color=f"C{i}", label=m)
    ax.set_xlabel("median seconds per Tiny episode (this CPU)")
    ax.set_ylabel("Kendall tau, proxy vs deployed reward")
    ax.set_title("o broad, s narrow, ^ sweep; hollow = +calibrated")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "frontier.png", dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--split", type=int, default=13)
    p.add_argument("--networks", type=int, default=16, help="networks per panel (sweep: half)")
    p.add_argument("--gt-epochs", type=int, default=1, help="whole-network fine-tune epochs of the ground truth")
    p.add_argument("--gt-seeds", type=int, nargs=2, default=[0, 1])
    p.add_argument("--methods", nargs="+", default=list(PROXIES), choices=list(PROXIES))
    p.add_argument("--seed", type=int, default=0, help="draws the panels and the bootstrap")
    p.add_argument("--out", type=Path, default=Path("docs/results/reward_fidelity"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--summary-only", action="store_true")
    p.add_argument("--calibration-out", type=Path, help="directory whose calibration.json receives each method's fit "
                   "(the bundled weights' directory ships them)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    config = SplitConfig(8, args.split)
    trained = SplitNetwork(config)
    trained.load_state_dict(ckpt.load_split(ckpt.bundled_dir(), 8, args.split))
    trained.eval()
    data = load_subset()
    bps = trained.bits_per_symbol
    nets = panels(config, args.networks, args.seed)
    gt_path, proxy_path = args.out / "ground_truth.csv", args.out / "proxies.csv"
    started = time.time()
    if not args.summary_only:
        done = {(r["kept"], int(r["seed"])) for r in read_rows(gt_path)}
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
    for r in read_rows(gt_path):
        gt.setdefault(r["kept"], []).append(float(r["test_accuracy"]))
    rows = [r for r in read_rows(proxy_path) if len(gt.get(r["kept"], [])) >= 2]
    with (args.out / "networks.csv").open("w", newline="") as f:  # the joined table every summary is computed from
        fields = list(rows[0]) + ["gt_accuracy_0", "gt_accuracy_1", "gt_reward_0", "gt_reward_1"] if rows else []
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            a0, a1 = gt[r["kept"]][:2]
            k = json.loads(r["kept"])
            w.writerow({**r, "gt_accuracy_0": a0, "gt_accuracy_1": a1,
                        "gt_reward_0": reward(config, k, a0, bps), "gt_reward_1": reward(config, k, a1, bps)})
    summary, extra = summarise(rows, gt, config, bps, args.seed)
    header = (f"# Reward fidelity, Tiny id, split {args.split}\n\n"
              f"Command: `.venv/bin/python benchmarks/reward_fidelity.py --split {args.split} --networks {args.networks} "
              f"--gt-epochs {args.gt_epochs} --seed {args.seed} --methods {' '.join(args.methods)}{' --summary-only' if args.summary_only else ''}`; ground truth: {args.gt_epochs}-epoch whole-network fine-tune "
              f"(export recipe), seeds {args.gt_seeds}, test accuracy on {len(data.test)} images. Hardware: {platform.processor() or platform.machine()}, "
              f"{torch.get_num_threads()} torch threads. This invocation: {time.time() - started:.0f} s. "
              f"The other methods' rows ({', '.join(sorted({r['method'] for r in rows} - set(args.methods))) or 'none'}) come from "
              "earlier invocations on the same panels and ground truth (proxies.csv, ground_truth.csv).")
    write_summary(args.out, summary, extra, header)
    if args.calibration_out:
        digest = ckpt.split_digest(ckpt.bundled_dir(), 8, args.split)
        for method, fitted in extra["fits"].items():
            calib.save(args.calibration_out, 8, args.split, digest, PROXIES[method], fitted,
                       networks=len(nets["calibration"]), panel_seed=args.seed + 1000,
                       ground_truth=f"{args.gt_epochs}-epoch whole-network fine-tune, seeds {args.gt_seeds}, test accuracy")
    print((args.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
