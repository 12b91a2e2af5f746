"""Does the training loss along a proxy's fine-tune order heavily pruned designs better than its accuracy?

    .venv/bin/python benchmarks/training_speed.py --splits 13 16 [--methods finetune-48 adaptive-bn+finetune-16 finetune-16] [--threads 2]
    .venv/bin/python benchmarks/training_speed.py --splits 13 --heavy-seed 7000 [--methods ...]

Training speed estimation (Ru et al., NeurIPS 2021): the sum of the training losses over an architecture's first
steps ranks architectures by their final accuracy better than an early validation accuracy does. A fine-tune proxy
computes those losses anyway. This rebuilds each heavy design of readout_screen.py with each proxy, as the env does,
and records the mean training loss over all the proxy's fine-tune steps (the readout judged), over its last 16
steps, and the validation accuracy of the same network. Each is judged by its accuracy tau against the export truth
(seed 0), lower loss counting as better, by the rule in docs/environment.md ("The training loss along the
fine-tune, as the readout"). Rows are appended to results/calibration/training-speed.csv as they finish (a killed
run resumes); the report is results/calibration/training-speed.md. ``--heavy-seed S`` judges instead the 12 designs of
a fresh heavy draw (reward_fidelity.heavy_designs with seed S, whose export truths heavy_truths.py computes first) by
the rule for a fresh draw ("The training loss on a fresh heavy draw at split 13"), in
results/calibration/training-speed-seed<S>.md. It fits nothing and changes no default.
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from heavy_truths import committed_raw, committed_rows
from readout_screen import heavy, readout_table
from reward_fidelity import PROXIES, append_row, bundled_tiny, heavy_designs, hosts_text, read_rows, tau_with_interval
from search_proxies import committed_truth

from coinfer_env import checkpoints as ckpt
from coinfer_env.data import load_subset
from coinfer_env.evaluation import Evaluator
from coinfer_env.hardware import device_name

RESULTS = Path("docs/results/calibration")
READOUTS = ("accuracy", "train_loss", "train_loss_last16")  # training-speed.csv's columns, in the report's order
SIGN = {"accuracy": 1, "train_loss": -1, "train_loss_last16": -1}  # each readout turned so that higher reads better
JUDGED = "train_loss"
MARGIN = {13: 0.15, 16: -0.05}  # the judged readout's accuracy tau minus the accuracy's must reach this
FRESH_FLOOR = 0.3  # on a fresh draw the judged readout's accuracy tau must also reach this
LAST = 16


def read(evaluator: Evaluator, kept: list[int]) -> dict[str, float]:
    """``kept`` rebuilt by ``evaluator``: its validation accuracy, and the mean training loss over all its fine-tune
    steps and over the last ``LAST``."""
    losses: list[float] = []
    result, _ = evaluator.evaluate(kept, on_step=losses.append)
    if not losses:
        raise ValueError(f"evaluation={evaluator.settings.method!r} takes no gradient step: it has no training loss")
    return {"accuracy": result.accuracy, "train_loss": float(np.mean(losses)),
            "train_loss_last16": float(np.mean(losses[-LAST:]))}


def designs_of(split: int, heavy_seed: int | None) -> list[str]:
    """The judged designs: every committed heavy draw at ``split`` pooled, or the fresh draw of ``heavy_seed``."""
    config = bundled_tiny(split).config
    return heavy(config, split) if heavy_seed is None else sorted(set(heavy_designs(config, 12, heavy_seed)))


def measure(split: int, methods: list[str], kept: list[str], path: Path) -> None:
    """Each method's readouts of ``kept`` at ``split``, computing only what ``path`` lacks."""
    trained = bundled_tiny(split)
    done = {(r["method"], r["kept"]) for r in read_rows(path) if int(r["split"]) == split}
    if all((m, k) in done for m in methods for k in kept):
        return
    data = load_subset()
    for m in methods:
        evaluator = Evaluator(trained, data.train, data.val, PROXIES[m])
        for k in (k for k in kept if (m, k) not in done):
            t = time.perf_counter()
            out = read(evaluator, json.loads(k))
            append_row(path, {"split": split, "method": m, "settings": json.dumps(asdict(PROXIES[m])), "kept": k, **out,
                              "seconds": round(time.perf_counter() - t, 3)})
            print(f"split {split} {m}: " + ", ".join(f"{r} {out[r]:.4f}" for r in READOUTS), flush=True)


def section(split: int, methods: list[str], rows: list[dict], truth: dict[str, float],
            floor: float | None = None) -> tuple[list[str], dict]:
    """A split's table, and per method whether the judged readout meets the split's margin (and ``floor``)."""
    def figures_of(m: str, mine: list[dict]) -> dict[str, tuple[float, float, float]]:
        t = [truth[r["kept"]] for r in mine]
        return {name: tau_with_interval([SIGN[name] * float(r[name]) for r in mine], t,
                                        np.random.default_rng(zlib.crc32(f"{m} {name}".encode()))) for name in READOUTS}

    lines, figures = readout_table(split, methods, rows, READOUTS, figures_of)
    meets = {m: figures[m][JUDGED][0] - figures[m]["accuracy"][0] >= MARGIN[split] - 1e-9
             and (floor is None or figures[m][JUDGED][0] >= floor - 1e-9) for m in methods}
    return lines, meets


def report(splits: list[int], methods: list[str], path: Path, seconds: float, heavy_seed: int | None = None) -> str:
    kept_by = {s: set(designs_of(s, heavy_seed)) for s in splits}
    rows_by = {s: [r for r in read_rows(path) if int(r["split"]) == s and r["method"] in methods
                   and r["kept"] in kept_by[s]] for s in splits}
    every = [r for rows in rows_by.values() for r in rows]
    fresh = "" if heavy_seed is None else f" --heavy-seed {heavy_seed}"
    lines = ["# The training loss along the fine-tune as a readout of heavily pruned designs, Tiny id"
             + ("" if heavy_seed is None else f": the fresh draw of seed {heavy_seed}"), "",
             f"Command: `.venv/bin/python benchmarks/training_speed.py --splits {' '.join(map(str, splits))}{fresh} "
             f"--methods {' '.join(methods)}`. This invocation: {device_name(torch.device('cpu'))}, "
             f"{torch.get_num_threads()} torch threads, {seconds:.0f} s; the rows, by where they were computed: "
             f"{hosts_text(every)}. Each tau orders the designs' export truth (10 epochs, seed 0) by the readout, lower "
             f"loss counting as better. train_loss is the mean training loss over all the proxy's fine-tune steps, "
             f"train_loss_last16 over its last {LAST}.", ""]
    floor = None if heavy_seed is None else FRESH_FLOOR
    verdict: dict[str, bool] = {}
    for s in splits:
        table, meets = section(s, methods, rows_by[s], committed_truth(s), floor)
        lines += [*table, ""]
        for m, ok in meets.items():
            verdict[m] = verdict.get(m, True) and ok
    if heavy_seed is not None:
        for s in splits:
            kept, truth = sorted(kept_by[s]), committed_truth(s)
            lines += [f"At split {s} the truth spreads {100 * np.std([truth[k] for k in kept]):.1f} points (sd) across "
                      "the draw's designs.", "", *other_proxies(s, kept, truth)]
    margins = ", ".join(f"at split {s} at least the accuracy's {MARGIN[s]:+.2f}" for s in splits)
    also = "" if floor is None else f", and at least {floor:.2f}"
    lines += ["## The rule", "", f"{JUDGED} {'holds' if floor is not None else 'is a candidate readout'} for a proxy if "
              f"its accuracy tau is, with that proxy, {margins}{also}.", ""]
    lines += [f"- {m}: {('holds' if ok else 'does not hold') if floor is not None else ('a candidate' if ok else 'not a candidate')}."
              for m, ok in verdict.items()]
    return "\n".join(lines) + "\n"


def other_proxies(split: int, kept: list[str], truth: dict[str, float]) -> list[str]:
    """Shown beside a fresh draw's verdict, not judged: the accuracy tau of every raw proxy in proxies.csv that has
    the whole draw at ``split``, so the draw's difficulty shows."""
    rows = committed_rows(split, kept)
    whole = dict(sorted(committed_raw(split, kept, rows).items()))
    if not whole:
        return []
    lines = [f"Shown, not judged: the accuracy of each raw proxy in proxies.csv on the same {len(kept)} designs "
             f"(split {split}; {hosts_text(rows)}).",
             "", "| proxy | accuracy tau [95% bootstrap] |", "|---|---:|"]
    t = [truth[k] for k in kept]
    for m, accs in whole.items():
        tau, lo, hi = tau_with_interval([accs[k] for k in kept], t, np.random.default_rng(zlib.crc32(f"{m} accuracy".encode())))
        lines.append(f"| {m} | {tau:.2f} [{lo:.2f}, {hi:.2f}] |")
    return lines + [""]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--splits", nargs="+", type=int, default=[13, 16], choices=sorted(MARGIN))
    p.add_argument("--methods", nargs="+", default=["finetune-48", "adaptive-bn+finetune-16", "finetune-16"],
                   choices=[m for m, s in PROXIES.items() if s.steps and "finetune" in s.method])
    p.add_argument("--heavy-seed", type=int, default=None, help="judge the fresh heavy draw of this seed instead")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    started, path = time.time(), RESULTS / "training-speed.csv"
    for s in args.splits:
        kept = designs_of(s, args.heavy_seed)
        truth = committed_truth(s)
        if missing := [k for k in kept if k not in truth]:
            p.error(f"--heavy-seed {args.heavy_seed}: {len(missing)} of its designs at split {s} have no export truth; "
                    f"run benchmarks/heavy_truths.py --splits {s} --heavy-seed {args.heavy_seed} --truth-seeds 0 first")
        measure(s, args.methods, kept, path)
    text = report(args.splits, args.methods, path, time.time() - started, args.heavy_seed)
    name = "training-speed.md" if args.heavy_seed is None else f"training-speed-seed{args.heavy_seed}.md"
    ckpt.atomic_write(RESULTS / name, lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
