"""Several heavy draws at one split, judged together: the noise ceiling of two truth seeds on all their designs, every
raw proxy against the seeds' mean, and a map fitted on one draw read on another.

    .venv/bin/python benchmarks/heavy_pooled.py --split 13 --heavy-seeds 6000 7000 [--heavy 12]

One heavy draw of 12 ranks with a bootstrap interval of about +-0.4, so a verdict on one draw can be the draw's
(docs/environment.md, "Split 13's two heavy draws together", which holds the rule this applies). This reads each
draw's export truths of seeds 0 and 1 from results/calibration/truth.csv and the raw accuracies from proxies.csv
(heavy_truths.py computes both), and computes nothing. Its report, results/calibration/heavy-pooled-split-<S>.md:
- the noise ceiling C on all the designs (truth seed 1's reward tau against seed 0's), and how cost-only and every
  raw proxy measured on every design read the two seeds' mean;
- the rule's verdicts: which proxies order the heavy designs (reward tau at least 0.9 C), at what median seconds on
  each draw; and for those, whether a line fitted on one draw passes the rule for keeping a map
  (fit_calibration.keep_rule) on each other draw;
- as a bound, not a candidate, how a map fitted on all the designs themselves reads them, leave-one-out.
A draw without both truth seeds is refused with one line and exit status 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from fit_calibration import keep_rule
from ground_truth_check import figures
from heavy_truths import ceiling_sections, committed_raw, committed_rows, spread_text, within_draw
from reward_fidelity import bundled_tiny, heavy_designs, hosts_text, read_rows
from search_proxies import split_maps

from coinfer_env import calibration as calib
from coinfer_env import checkpoints as ckpt
from coinfer_env.architecture import full_kept
from coinfer_env.hardware import device_name

OUT = Path("docs/results/calibration")
SHARE = 0.9  # the bar on the narrow panels: 0.9 times the noise ceiling
BUDGET = 5.0  # seconds: the median Tiny episode


def draw_truths(split: int, kept: list[str]) -> tuple[dict[str, list[float]], list[dict]]:
    """kept -> [truth seed 0, seed 1] (the export recipe, 10 epochs) of the designs in truth.csv that have both, and
    the rows read."""
    rows = [r for r in read_rows(OUT / "truth.csv") if int(r["split"]) == split and r["kept"] in kept
            and int(r["epochs"]) == 10 and int(r["seed"]) in (0, 1)]
    seeds = {(r["kept"], int(r["seed"])): float(r["test_accuracy"]) for r in rows}
    return {k: [seeds[(k, 0)], seeds[(k, 1)]] for k in kept if (k, 0) in seeds and (k, 1) in seeds}, rows


def median_seconds(rows: list[dict], kept: list[str], method: str) -> tuple[float, str]:
    """The method's median seconds over its proxies.csv ``rows`` of ``kept``, and where they were measured."""
    wanted = set(kept)
    mine = [r for r in rows if r["method"] == method and r["kept"] in wanted]
    return float(np.median([float(r["seconds"]) for r in mine])), hosts_text(mine)


def cross_draw(draws: dict[int, list[str]], mean: dict[str, float], accs: dict[str, float], config,
               bps: int) -> list[tuple[int, int, bool, str]]:
    """For each ordered pair of draws (fitted, read): a line from the raw accuracy to the two seeds' mean, fitted on the
    first draw, judged on the second by the rule for keeping a map."""
    out = []
    for a, fitted_on in draws.items():
        line = calib.fit([accs[k] for k in fitted_on], [mean[k] for k in fitted_on], "line")
        for b, read in draws.items():
            if b != a:
                raw = [accs[k] for k in read]
                out.append((a, b, *keep_rule(read, mean, raw, [line(x) for x in raw], config, bps)))
    return out


def verdicts(split: int, draws: dict[int, list[str]], truth: dict[str, list[float]], raw: dict[str, dict[str, float]],
             config, bps: int) -> list[str]:
    """The rule's two verdicts, per proxy and then for the split."""
    pooled = sorted(truth)
    mean = {k: float(np.mean(truth[k])) for k in pooled}
    ceiling = figures("truth seed 1", pooled, {k: truth[k][0] for k in pooled}, [truth[k][1] for k in pooled],
                      config, bps)["tau"]
    bar, last = SHARE * ceiling, list(draws)[-1]
    pairs = [(a, b) for a in draws for b in draws if a != b]
    rows = committed_rows(split, pooled)
    lines = ["## The verdicts, by the rule", "",
             f"The bar: {SHARE:g} x the noise ceiling, {SHARE:g} x {ceiling:.2f} = {bar:.2f} (reward tau on all "
             f"{len(pooled)} designs against the two seeds' mean). The budget: a median of at most {BUDGET:g} s on the "
             f"draw of seed {last} (the seconds judged; the others are shown). Each line fitted on one draw and read "
             "on another is shown for every proxy; it decides only for a proxy that orders the designs.", "",
             "| raw proxy | reward tau, all designs | orders them? | " +
             " | ".join(f"median s, seed {s}" for s in draws) + " | " +
             " | ".join(f"line fitted on {a}, read on {b}" for a, b in pairs) + " | candidate? |",
             "|---|---:|---|" + "---:|" * len(draws) + "---|" * len(pairs) + "---|"]
    ordering, candidates = [], []
    for m, accs in raw.items():
        tau = figures(f"raw {m}", pooled, mean, [accs[k] for k in pooled], config, bps)["tau"]
        seconds = {s: median_seconds(rows, kept, m) for s, kept in draws.items()}
        orders = tau >= bar and seconds[last][0] <= BUDGET
        judged = cross_draw(draws, mean, accs, config, bps)
        candidate = orders and all(ok for _, _, ok, _ in judged)
        if orders:
            ordering.append(m)
        if candidate:
            candidates.append(m)
        lines.append(f"| {m} | {tau:.2f} | {'yes' if tau >= bar else 'no'} | " +
                     " | ".join(f"{sec:.1f} ({where})" for sec, where in seconds.values()) + " | " +
                     " | ".join(f"{'passes' if ok else 'misses'}: {text}" for *_, ok, text in judged) +
                     f" | {'yes' if candidate else 'no'} |")
    found = ", ".join(ordering) or "none"
    return lines + ["", f"Proxies within {BUDGET:g} s that order the heavy designs: {found}. Candidates for a map that "
                    f"holds on heavy designs (they order them, and their line passes in every direction): "
                    f"{', '.join(candidates) or 'none'}."]


def require_truths(p: argparse.ArgumentParser, split: int, seeds: list[int], heavy: int) -> None:
    """Refuse (one line, exit 2) a heavy draw of ``seeds`` whose designs lack export truths of seeds 0 and 1."""
    config = bundled_tiny(split).config
    for seed in seeds:
        kept = sorted(set(heavy_designs(config, heavy, seed)))
        if len(draw_truths(split, kept)[0]) < len(kept):
            p.error(f"--heavy-seeds {seed} is invalid at split {split}: its draw lacks export truths of seeds 0 and 1; "
                    f"compute them with heavy_truths.py --splits {split} --heavy-seed {seed} --truth-seeds 0 1")


def report(split: int, args: argparse.Namespace, started: float) -> str:
    """The report; ``started``: when this invocation began (time.time()), for its line."""
    trained = bundled_tiny(split)
    config, bps = trained.config, trained.bits_per_symbol
    draws = pooled_designs(config, args)
    pooled = sorted({k for kept in draws.values() for k in kept})
    truth, rows = draw_truths(split, pooled)
    raw = committed_raw(split, pooled)
    mean = {k: float(np.mean(truth[k])) for k in pooled}
    body = [spread_text(np.array([truth[k][0] for k in pooled]), np.array([truth[k][1] for k in pooled])), "",
            *ceiling_sections(pooled, truth, raw, split_maps(config, split, list(raw), ckpt.bundled_dir()), config, bps),
            "", *verdicts(split, draws, truth, raw, config, bps), "", *within_draw(pooled, mean, raw, full_kept(config)[-1])]
    lines = [f"# {len(draws)} heavy draws together, Tiny id, split {split}", "",
             f"Command: `.venv/bin/python benchmarks/heavy_pooled.py --split {split} --heavy-seeds "
             f"{' '.join(map(str, args.heavy_seeds))} --heavy {args.heavy}`. This invocation: "
             f"{device_name(torch.device('cpu'))}, {torch.get_num_threads()} torch threads, {time.time() - started:.0f} s (it computes "
             f"nothing); the truths, by where they were computed: {hosts_text(rows)} (each one's seconds are in "
             f"truth.csv). {len(pooled)} designs: {args.heavy} of reward_fidelity.heavy_designs (every ratio uniform "
             f"in [0, 0.5]) for each seed of {', '.join(map(str, draws))}; the truth: the export recipe (10 epochs), "
             f"seeds 0 and 1; deployed accuracy, the two seeds' mean, {100 * min(mean.values()):.1f}-"
             f"{100 * max(mean.values()):.1f}%. The raw proxies: every one with a committed accuracy of every design "
             "(proxies.csv).", ""]
    return "\n".join(lines + body) + "\n"


def add_pooled_arguments(p: argparse.ArgumentParser) -> None:
    """--split, --heavy-seeds, --heavy and --threads: the scripts that judge heavy draws together."""
    p.add_argument("--split", type=int, required=True, choices=range(1, 17), metavar="{1..16}")
    p.add_argument("--heavy-seeds", type=int, nargs="+", required=True, help="the heavy draws' seeds (two or more)")
    p.add_argument("--heavy", type=int, default=12, help="how many designs of each draw")
    p.add_argument("--threads", type=int, default=2)


def parse_pooled_arguments(p: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse, refusing fewer than two draws or a draw without both truth seeds, and set torch's thread count."""
    args = p.parse_args()
    if len(set(args.heavy_seeds)) < 2:
        p.error(f"--heavy-seeds {' '.join(map(str, args.heavy_seeds))} is invalid: give two or more different seeds")
    torch.set_num_threads(args.threads)
    require_truths(p, args.split, args.heavy_seeds, args.heavy)
    return args


def pooled_designs(config, args: argparse.Namespace) -> dict[int, list[str]]:
    """Heavy-draw seed -> its designs (sorted JSON kept vectors)."""
    return {s: sorted(set(heavy_designs(config, args.heavy, s))) for s in args.heavy_seeds}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_pooled_arguments(p)
    started = time.time()
    args = parse_pooled_arguments(p)
    text = report(args.split, args, started)
    out = OUT / f"heavy-pooled-split-{args.split:02d}.md"
    ckpt.atomic_write(out, lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
