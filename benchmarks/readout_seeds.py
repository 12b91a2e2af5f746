"""How far the reward's readout moves with ``eval_seed`` on heavy designs, and whether a readout averaged over eval
seeds orders them better.

    .venv/bin/python benchmarks/readout_seeds.py --split 13 --heavy-seeds 6000 7000 [--methods reconstruct-8 adaptive-bn-8] [--eval-seeds 0 1 2] [--threads 2]

With the bundled weights and data, an env's ``eval_seed`` is its evaluation's EvalSettings.seed: it picks the
training batches a recovery reads (the BN statistics' and least-squares' batches and rows, a fine-tune's order); the
validation images stay the same. So one design's reward differs from one ``eval_seed`` to the next, and a search
exploits the one it was given. This evaluates each of ``--methods`` with each of ``--eval-seeds`` on the heavy draws
of ``--heavy-seeds`` judged together (heavy_pooled.py, whose truths it reads), appends each accuracy to
results/calibration/eval-seeds.csv as it finishes (a killed run resumes), and writes
results/calibration/eval-seeds-split-<S>.md:
- eval seed 0 against proxies.csv's rows of the same designs (the same settings: a reproduction);
- each eval seed's reading of the two export truth seeds' mean, and the mean of all eval seeds' accuracies read the
  same way (a readout averaged over seeds, at the sum of their seconds);
- each other eval seed against eval seed 0: how far the readout itself moves.
It chooses nothing (docs/environment.md, "Does the default's readout move with eval_seed?").
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from ground_truth_check import compare
from heavy_pooled import add_pooled_arguments, draw_truths, parse_pooled_arguments, pooled_designs
from heavy_truths import committed_raw, table_head
from reward_fidelity import PROXIES, append_row, bundled_tiny, hosts_text, read_rows

from coinfer_env import checkpoints as ckpt
from coinfer_env.data import load_subset
from coinfer_env.evaluation import Evaluator
from coinfer_env.hardware import device_name

OUT = Path("docs/results/calibration")
ROWS = OUT / "eval-seeds.csv"


def measured(split: int) -> dict[tuple[str, int, str], dict]:
    """(method, eval seed, kept) -> its row in eval-seeds.csv at the split."""
    return {(r["method"], int(r["eval_seed"]), r["kept"]): r for r in read_rows(ROWS) if int(r["split"]) == split}


def measure(split: int, kept: list[str], methods: list[str], seeds: list[int]) -> None:
    """Evaluate what eval-seeds.csv lacks, appending each row as it finishes."""
    done = measured(split)
    trained, data = bundled_tiny(split), load_subset()
    for m in methods:
        for seed in seeds:
            settings = replace(PROXIES[m], seed=seed)
            evaluator = Evaluator(trained, data.train, data.val, settings)
            for k in kept:
                if (m, seed, k) in done:
                    continue
                e, _ = evaluator.evaluate(json.loads(k))
                append_row(ROWS, {"split": split, "method": m, "eval_seed": seed, "settings": json.dumps(asdict(settings)),
                                  "kept": k, "proxy_accuracy": e.accuracy, "seconds": round(e.seconds, 3)})
                print(f"split {split} {m} eval seed {seed}: {e.accuracy:.3f} ({e.seconds:.1f} s)", flush=True)


def method_section(m: str, kept: list[str], rows: dict, seeds: list[int], truth: dict[str, float],
                   committed: dict[str, float] | None, config, bps: int) -> list[str]:
    """One method's tables: its eval seeds (and their mean) against the truth, then against eval seed 0."""
    acc = {s: {k: float(rows[(m, s, k)]["proxy_accuracy"]) for k in kept} for s in seeds}
    seconds = {s: float(np.median([float(rows[(m, s, k)]["seconds"]) for k in kept])) for s in seeds}
    mean = {k: float(np.mean([acc[s][k] for s in seeds])) for k in kept}
    first = seeds[0]
    same = "no committed rows" if committed is None else \
        f"{sum(acc[first][k] == committed[k] for k in kept)} of {len(kept)} equal proxies.csv's"
    lines = [f"## {m}", "", f"Eval seed {first} against proxies.csv's rows of the same settings: {same}. Median seconds: "
             + ", ".join(f"eval seed {s} {seconds[s]:.1f}" for s in seeds) + ".", "",
             *table_head("the truth (the two export truth seeds' mean)")]
    lines += [compare(f"eval seed {s}", kept, truth, [acc[s][k] for k in kept], config, bps) for s in seeds]
    lines += [compare(f"the mean of eval seeds {', '.join(map(str, seeds))} (about {sum(seconds.values()):.1f} s)",
                      kept, truth, [mean[k] for k in kept], config, bps), "", *table_head(f"eval seed {first}")]
    for s in seeds[1:]:
        diff = np.array([acc[s][k] - acc[first][k] for k in kept])
        lines.append(compare(f"eval seed {s} (sd of the difference {100 * np.std(diff):.1f} points; Pearson r "
                             f"{np.corrcoef([acc[s][k] for k in kept], [acc[first][k] for k in kept])[0, 1]:.2f})",
                             kept, acc[first], [acc[s][k] for k in kept], config, bps))
    return lines


def report(split: int, args: argparse.Namespace, started: float) -> str:
    trained = bundled_tiny(split)
    draws = pooled_designs(trained.config, args)
    kept = sorted({k for group in draws.values() for k in group})
    truth = {k: float(np.mean(v)) for k, v in draw_truths(split, kept)[0].items()}
    rows, raw = measured(split), committed_raw(split, kept)
    used = [rows[(m, s, k)] for m in args.methods for s in args.eval_seeds for k in kept]
    body = [line for m in args.methods for line in
            ["", *method_section(m, kept, rows, args.eval_seeds, truth, raw.get(m), trained.config,
                                 trained.bits_per_symbol)]]
    head = [f"# The readout across eval seeds, heavy draws together, Tiny id, split {split}", "",
            f"Command: `.venv/bin/python benchmarks/readout_seeds.py --split {split} --heavy-seeds "
            f"{' '.join(map(str, args.heavy_seeds))} --methods {' '.join(args.methods)} --eval-seeds "
            f"{' '.join(map(str, args.eval_seeds))}`. This invocation: {device_name(torch.device('cpu'))}, "
            f"{torch.get_num_threads()} torch threads, {time.time() - started:.0f} s; the rows, by where they were "
            f"computed: {hosts_text(used)} (eval-seeds.csv). {len(kept)} designs: {args.heavy} of "
            f"reward_fidelity.heavy_designs for each seed of {', '.join(map(str, draws))}; the truth: the mean of "
            "export truth seeds 0 and 1 (truth.csv), as in heavy-pooled-split-*.md. The validation images are the "
            "same for every eval seed: only the batches the recovery reads change."]
    return "\n".join(head + body) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_pooled_arguments(p)
    p.add_argument("--methods", nargs="+", default=["reconstruct-8", "adaptive-bn-8"], choices=list(PROXIES))
    p.add_argument("--eval-seeds", type=int, nargs="+", default=[0, 1, 2], help="EvalSettings.seed, as an env's eval_seed")
    started = time.time()
    args = parse_pooled_arguments(p)
    if len(set(args.eval_seeds)) < 2:
        p.error(f"--eval-seeds {' '.join(map(str, args.eval_seeds))} is invalid: give two or more different seeds")
    trained = bundled_tiny(args.split)
    measure(args.split, sorted({k for g in pooled_designs(trained.config, args).values() for k in g}), args.methods,
            args.eval_seeds)
    text = report(args.split, args, started)
    ckpt.atomic_write(OUT / f"eval-seeds-split-{args.split:02d}.md", lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
