"""What do the best designs of two benches deliver once deployed?

    .venv/bin/python benchmarks/deployed_best.py --benches docs/results/leaderboard docs/results/leaderboard-calibrated \
        --agents ddpg cmaes --seeds 0 1 2 [--epochs 10] [--truth-seeds 0 1] [--out docs/results/deployed_best]

A search is only as good as the design it hands over. For each bench (a
``coinfer bench --out`` directory), agent and seed, this takes the run's best design
(its ``best_info["kept"]``) and fine-tunes it with the export recipe
(reward_fidelity.ground_truth: ``--epochs`` of whole-network SGD from the pruned
network, test accuracy on the bundled test images, the mean over ``--truth-seeds``), then
reports the deployed accuracy and the deployed reward (the paper's formula with that
accuracy) beside what the search's own reward said, and the paired difference
between the first bench and each other one, run by run (same agent, same seed).
Then, per evaluation of ``--methods`` (the default's alone unless given), how its reward,
raw and through its map at the split, ranks the distinct designs against their deployed
reward; the default's raw accuracy is each run's own, another's is measured on each
design and appended to ``proxies.csv`` beside ``deployed.csv``.

Rows are appended to ``deployed.csv`` as they finish, keyed by kept vector, epochs
and seed, so a killed run resumes and a design two runs share is fine-tuned once, and
both runs are scored with that one result (a second fine-tune with the same seed, thread
count and CPU kernels repeats it exactly, tested; on other kernels or threads it reads
up to 2 points apart, benchmarks/export_repeat.py). Each row records the hardware and
thread count that computed it, and the report names them ("unrecorded": a row written
before rows did). The key leaves them out on purpose: a truth is one draw of the recipe,
already 1 point apart between seeds, and keying by host would make the committed
reports impossible to regenerate elsewhere without retraining every design; the report
says which hosts its rows mix instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import numpy as np
from fit_calibration import proxies
from reward_fidelity import (DEFAULT, PROXIES, append_row, bundled_tiny, ground_truth, hosts_text, read_rows, reward,
                             tau_with_interval)

from agents.common import SearchResult
from agents.metrics import mean_se_text, paired_text
from coinfer_env.hardware import device_name
from coinfer_env import calibration as calib
from coinfer_env import checkpoints as ckpt
from coinfer_env.accounting import cost
from coinfer_env.data import load_subset


EVALUATION_KEYS = {"evaluation", "bn_batches", "finetune_steps", "finetune_batch"}  # a run that sets one has another proxy


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--benches", type=Path, nargs="+", required=True, help="bench directories; the first is the reference")
    p.add_argument("--agents", nargs="+", required=True)
    p.add_argument("--seeds", type=int, nargs="+", required=True, help="the runs' seeds")
    p.add_argument("--epochs", type=int, default=10, help="the export recipe's epochs")
    p.add_argument("--truth-seeds", type=int, nargs="+", default=[0],
                   help="seeds of the deployment fine-tune; the deployed accuracy is their mean, and with two the "
                   "second against the first is the noise ceiling")
    p.add_argument("--split", type=int, default=13, help="the benches' split point (checked against each run)")
    p.add_argument("--out", type=Path, default=Path("docs/results/deployed_best"))
    p.add_argument("--calibration-dir", type=Path,
                   help="judge the calibrated column with this directory's calibration.json (a candidate map; default: "
                   "the one shipped beside the weights)")
    p.add_argument("--methods", nargs="+", default=[DEFAULT], choices=list(PROXIES),
                   help="the evaluations whose reward, raw and through the split's map, the fidelity tables judge: the "
                   "default's raw accuracy is each run's own; another's is measured on each design (proxies.csv in --out)")
    p.add_argument("--report", default="deployed_best.md", help="the report's file name in --out")
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def run_designs(benches: list[Path], agents: list[str], seeds: list[int], split: int) -> dict[tuple[str, str, int], dict]:
    """(bench, agent, seed) -> that run's best design: kept vector (JSON), the search's reward and accuracy."""
    out = {}
    for bench in benches:
        for agent in agents:
            for seed in seeds:
                run = SearchResult.from_json(bench / agent / f"seed{seed}.json")
                if run.env_kwargs.get("split_point") != split:
                    raise SystemExit(f"{bench / agent}/seed{seed}.json is a run at split {run.env_kwargs.get('split_point')}, "
                                     f"not {split}: pass --split {run.env_kwargs.get('split_point')}")
                out[(str(bench), agent, seed)] = {"kept": json.dumps(run.best_info["kept"]), "search_reward": run.best_reward,
                                                  "search_accuracy": run.best_info["accuracy"],
                                                  "raw_accuracy": run.best_info.get("accuracy_raw", run.best_info["accuracy"]),
                                                  "default_evaluation": not EVALUATION_KEYS & set(run.env_kwargs)}
    return out


def deploy(designs: dict, path: Path, epochs: int, seed: int, trained, data) -> dict[str, float]:
    """kept (JSON) -> deployed test accuracy, for every design, fine-tuning only those ``path`` does not hold yet."""
    done = {r["kept"]: float(r["test_accuracy"]) for r in read_rows(path) if int(r["epochs"]) == epochs and int(r["seed"]) == seed}
    for kept in dict.fromkeys(d["kept"] for d in designs.values()):
        if kept in done:
            continue
        t = time.perf_counter()
        done[kept] = ground_truth(trained, json.loads(kept), data, epochs, seed)
        append_row(path, {"kept": kept, "epochs": epochs, "seed": seed, "test_accuracy": done[kept],
                          "seconds": round(time.perf_counter() - t, 2)})
        print(f"{kept}: {done[kept]:.4f} ({time.perf_counter() - t:.0f} s)", flush=True)
    return done


def report(args: argparse.Namespace, designs: dict, deployed: dict, by_seed: dict, trained, rows: list[dict],
           raw: dict[str, dict[str, float]]) -> str:
    """Per bench and agent: the search's reward, then the deployed accuracy, reward and FLOPs cut; then the paired
    differences of each bench against the first."""
    config, bps = trained.config, trained.bits_per_symbol
    seconds = sum(float(r["seconds"]) for r in rows)
    methods = f" --methods {' '.join(args.methods)}" if args.methods != [DEFAULT] else ""

    def deployed_reward(d: dict) -> float:
        return reward(config, json.loads(d["kept"]), deployed[d["kept"]], bps)

    def flops_cut(d: dict) -> float:
        c = cost(config, json.loads(d["kept"]), bps)
        return 1 - c.flops / c.flops_original

    lines = [f"# The best designs of {len(args.benches)} benches, deployed", "",
             f"Command: `.venv/bin/python benchmarks/deployed_best.py --benches {' '.join(map(str, args.benches))} "
             f"--agents {' '.join(args.agents)} --seeds {' '.join(map(str, args.seeds))} --epochs {args.epochs} "
             f"--truth-seeds {' '.join(map(str, args.truth_seeds))} --split {args.split}"
             f"{f' --calibration-dir {args.calibration_dir}' if args.calibration_dir else ''}"
             f"{methods}"
             f"{f' --report {args.report}' if args.report != 'deployed_best.md' else ''}`. This invocation: "
             f"{device_name(torch.device('cpu'))}, {torch.get_num_threads()} torch threads; the {len(rows)} deployment "
             f"fine-tunes used, {seconds:.0f} s in deployed.csv, were computed {hosts_text(rows)}. Deployed: {args.epochs}-epoch export recipe "
             f"from the pruned network, test accuracy on the bundled test images, the mean over seeds {args.truth_seeds}. "
             "Mean ± standard error over the seeds.", "",
             "| bench | agent | search's best reward | deployed accuracy | deployed reward | device FLOPs cut "
             "| search's accuracy minus deployed, mean of absolute values |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for bench in map(str, args.benches):
        for agent in args.agents:
            runs = [designs[(bench, agent, s)] for s in args.seeds]
            lines.append(f"| {bench} | {agent} | {mean_se_text([d['search_reward'] for d in runs])} | "
                         f"{mean_se_text([deployed[d['kept']] for d in runs])} | {mean_se_text([deployed_reward(d) for d in runs])} | "
                         f"{mean_se_text([flops_cut(d) for d in runs])} | "
                         f"{mean_se_text([abs(d['search_accuracy'] - deployed[d['kept']]) for d in runs])} |")
    first = str(args.benches[0])
    lines += ["", f"Paired by agent and seed: each bench's deployed reward minus {first}'s (mean ± s.e. of the "
              "differences; z = mean / s.e.).", "", "| bench | agent | difference | z |", "|---|---|---:|---:|"]
    for bench in map(str, args.benches[1:]):
        for agent in [*args.agents, "all"]:
            chosen = args.agents if agent == "all" else [agent]
            diff = [deployed_reward(designs[(bench, a, s)]) - deployed_reward(designs[(first, a, s)])
                    for a in chosen for s in args.seeds]
            lines.append(f"| {bench} | {agent} | {paired_text(diff)} |")
    for method in args.methods:
        lines += fidelity(args, designs, deployed, by_seed, trained, method, raw.get(method))
    return "\n".join(lines) + "\n"


def fidelity(args: argparse.Namespace, designs: dict, deployed: dict, by_seed: dict, trained, method: str = DEFAULT,
             measured: dict[str, float] | None = None) -> list[str]:
    """How ``method``'s reward, raw and through its map, and cost-only rank the distinct designs against their
    deployed reward: all of them, then each bench's (chosen by that bench's reward, so its winner's curse is in them).
    The default's raw accuracy is each run's own (so every run must have searched with it); another method's is
    ``measured`` (kept -> accuracy). With two truth seeds, the second's deployed reward against the first's is the
    noise ceiling."""
    if measured is None and not all(d["default_evaluation"] for d in designs.values()):
        return ["", "(No fidelity table: a run searched with another evaluation than the default.)"]
    config, bps = trained.config, trained.bits_per_symbol
    fitted, withdrawn = split_map(args, method)
    where = (f"the {'withdrawn ' if withdrawn else ''}map in {args.calibration_dir}" if args.calibration_dir else
             "the withdrawn map (its withdrawal record's: calibrated=True refuses it)" if withdrawn else "the shipped map")
    rng = np.random.default_rng(0)
    first, second = (args.truth_seeds + [None])[:2]
    ceiling = (f"noise ceiling: seed {second}'s deployed reward against seed {first}'s" if second is not None
               else "one deployment seed, so no noise ceiling here")
    measured_text = "" if measured is None else f"raw: each design's {method} accuracy, measured here (proxies.csv); "
    lines = ["", f"How each reward ranks the distinct designs against their deployed reward (Kendall tau [95% bootstrap "
             f"interval]; {ceiling}); {measured_text}calibrated: the raw accuracy through {where} "
             f"of {method} ({fitted.kind}, digest {fitted.digest()}); cost-only: every design at the set's mean deployed accuracy (FLOPs and bits alone); "
             "regret: the deployed reward lost by each reward's top pick.", "",
             "| designs | n | noise ceiling | raw reward tau | calibrated reward tau | cost-only tau "
             "| calibrated accuracy error, points | regret raw / calibrated / cost-only |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    sets = {"all": list(designs.values()), **{str(b): [d for (bench, _, _), d in designs.items() if bench == str(b)]
                                              for b in args.benches}}
    for name, group in sets.items():
        kept = list(dict.fromkeys(d["kept"] for d in group))
        raw = measured or {d["kept"]: d["raw_accuracy"] for d in group}
        truth = np.array([deployed[k] for k in kept])
        readings = {"raw": [raw[k] for k in kept], "calibrated": [fitted(raw[k]) for k in kept],
                    "cost-only": [float(truth.mean())] * len(kept)}
        truth_rew = np.array([reward(config, json.loads(k), a, bps) for k, a in zip(kept, truth)])
        rew = {m: np.array([reward(config, json.loads(k), a, bps) for k, a in zip(kept, acc)]) for m, acc in readings.items()}
        taus = {m: tau_with_interval(r, truth_rew, rng) for m, r in rew.items()}
        noise = "n/a"
        if second is not None:
            seed_rew = {s: [reward(config, json.loads(k), by_seed[s][k], bps) for k in kept] for s in (first, second)}
            noise = "{:.2f} [{:.2f}, {:.2f}]".format(*tau_with_interval(seed_rew[second], seed_rew[first], rng))
        regret = " / ".join(f"{truth_rew.max() - truth_rew[int(np.argmax(r))]:.4f}" for r in rew.values())
        lines.append(f"| {name} | {len(kept)} | {noise} | " + " | ".join(f"{t:.2f} [{lo:.2f}, {hi:.2f}]" for t, lo, hi in taus.values())
                     + f" | {100 * np.mean(np.abs(np.array(readings['calibrated']) - truth)):.1f} | {regret} |")
    return lines


def split_map(args: argparse.Namespace, method: str) -> tuple[calib.Calibration, bool]:
    """``method``'s map at the split, from --calibration-dir or else beside the weights: the shipped one, or else the
    one its withdrawal record keeps (a reading of a withdrawn map stays reproducible), and whether it was withdrawn;
    a ValueError (lookup's, saying what exists) if neither."""
    directory = args.calibration_dir or ckpt.bundled_dir()
    key = (8, args.split, ckpt.split_digest(ckpt.bundled_dir(), 8, args.split), PROXIES[method])
    if (found := calib.recorded(directory, *key)) is None:
        calib.lookup(directory, *key)  # raises, naming the fits there
    entry, withdrawn = found
    return calib.from_entry(entry), withdrawn


def main() -> None:
    args = parse_args()
    for method in args.methods:  # before any compute: a method with no map has no calibrated column to judge
        try:
            split_map(args, method)
        except ValueError as e:
            print(f"deployed_best.py: --methods {method} has no map at split {args.split}: {e}", file=sys.stderr)
            raise SystemExit(2) from None
    torch.set_num_threads(args.threads)
    trained = bundled_tiny(args.split)
    designs = run_designs(args.benches, args.agents, args.seeds, args.split)
    path = args.out / "deployed.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = load_subset()
    by_seed = {seed: deploy(designs, path, args.epochs, seed, trained, data) for seed in args.truth_seeds}
    wanted = {d["kept"] for d in designs.values()}
    deployed = {k: float(np.mean([by_seed[s][k] for s in args.truth_seeds])) for k in wanted}
    others = [m for m in args.methods if m != DEFAULT]
    raw = proxies(args.split, sorted(wanted), trained, data, others, args.out / "proxies.csv") if others else {}
    used = [r for r in read_rows(path)
            if r["kept"] in wanted and int(r["epochs"]) == args.epochs and int(r["seed"]) in args.truth_seeds]
    text = report(args, designs, deployed, by_seed, trained, used, raw)
    ckpt.atomic_write(args.out / args.report, lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
