"""Trade-off of on-device FLOPs against payload bits, per scheme and split point (the paper's Fig. 2).

    .venv/bin/python examples/tradeoff.py [--out runs/tradeoff] [--splits 3,7,13,16|all]
        [--schemes all] [--episodes 120] [--budget 12] [--jobs 1] [--device auto] [--seeds 3]

Every (scheme, split) is run with seeds 0..N-1, and every learned scheme trains for the
same ``--budget`` epochs over the same training images (``baselines.common.left_over``).
Each finished job is kept in ``jobs/`` under ``--out``, so a killed run started again
with the same arguments goes on where it stopped; a job file made with other settings,
on other weights or calibration maps (a sha256 over those files is part of each job),
by other code (a digest of coinfer_env's, agents' and baselines' source), with another
thread count (cores / ``--jobs``) or on other hardware (the GPU's name, or the CPU's model
and torch's kernel level: ``coinfer_env.hardware``) is refused, naming what differs. A
fine-tune's result moves with the kernels and threads that ran it: one design's export
reads 0.649 to 0.669 across them, same code and seed (``benchmarks/export_repeat.py``).
Writes ``tradeoff.csv`` (one row per seed, with the scheme's training epochs where it
reports them), ``tradeoff_mean.csv`` (mean and standard error over seeds of FLOPs, bits and accuracy, with ``in_plot``
False where the *mean* test accuracy is more than 1 point below the unpruned
backbone's, the paper's rule) and ``tradeoff.png`` (log axes, one curve per scheme,
error bars of one standard error, the PNG upload as a dashed line).

``--env-kwargs`` (the proposed schemes only) passes keywords to their search's
environment, e.g. ``calibrated=true``; they are part of each job's settings, so a
resume with other keywords is refused.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baselines import SCHEMES, Context, scheme  # noqa: E402
from baselines.seeds import mean_over_seeds  # noqa: E402
from coinfer_env.checkpoints import atomic_write  # noqa: E402
from coinfer_env.envs import resolve_device  # noqa: E402
from coinfer_env.hardware import device_name  # noqa: E402

DEFAULT_SPLITS = (3, 7, 13, 16)  # the end of each stage
DROP_BELOW = 0.01


def run_job(job: dict) -> list[dict]:
    import torch

    torch.set_num_threads(job["threads"])
    ctx = Context.load(device=job["device"], seed=job["seed"], budget=job["budget"], dataset=job["dataset"])
    proposed = job["scheme"].startswith("proposed")
    kwargs = {"episodes": job["episodes"], "buffer_episodes": job["buffer_episodes"]} if proposed else {}
    start = time.time()
    built = scheme(job["scheme"], **kwargs)
    points = built.points(ctx, job["splits"], job["env_kwargs"]) if proposed else built.points(ctx, job["splits"])
    return [{**p.row(), "seed": job["seed"], "epochs": p.notes.get("epochs", ""), "seconds": round(time.time() - start, 1)}
            for p in points]


def mean_rows(rows: list[dict], drop_below: float) -> list[dict]:
    """Per (scheme, split): mean and standard error over seeds; in_plot by the mean accuracy against the backbone's."""
    means = mean_over_seeds(rows)
    backbone = next((r["test_accuracy"] for r in means if r["scheme"] == "server-png"), max(r["test_accuracy"] for r in means))
    return [{**r, "in_plot": r["test_accuracy"] >= backbone - drop_below} for r in means]


def weights_digest() -> str:
    """sha256 over the Tiny id's weight files (backbone and every split) and their calibration maps: a job done on
    other weights, or searched with other maps, is another job."""
    import hashlib

    from coinfer_env.architecture import NUM_BLOCKS, SplitConfig
    from coinfer_env.envs import default_checkpoint_dir

    h = hashlib.sha256()
    directory = default_checkpoint_dir(SplitConfig(8, NUM_BLOCKS))
    for path in sorted(directory.glob("*.pt")) + sorted(directory.glob("calibration.json")):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def code_version() -> str:
    """coinfer_env's code digest and one over the agents' and baselines' source: a job done by other code is another
    job, so a resume after an edit or a pull starts it again rather than mixing two versions' results."""
    from coinfer_env.cache import code_digest, source_digest

    repo = Path(__file__).resolve().parents[1]
    return f"{code_digest()}/{source_digest(repo / 'agents', repo / 'baselines')}"


def search_kwargs(pairs: list[str], names: list[str], splits: list[int]) -> dict:
    """``--env-kwargs`` read and checked as ``coinfer search`` checks them, at every split; only the proposed schemes
    search."""
    from coinfer_cli.args import make_env, parse_env_kwargs

    from baselines.common import Context

    kwargs = parse_env_kwargs(pairs)
    if kwargs and any(not n.startswith("proposed") for n in names):
        raise ValueError(f"--env-kwargs {' '.join(pairs)} applies to the proposed schemes only: pass --schemes proposed-ddpg "
                         "(or proposed-random) with it")
    for k in splits if kwargs else []:  # a bad keyword or value, or calibrated=true where no fit exists: one line
        make_env(Context.env_id, {**kwargs, "split_point": k}).close()
    return kwargs


def job_file(out: Path, job: dict) -> Path:
    return out / "jobs" / f"{job['scheme']}-split{job['splits'][0]}-seed{job['seed']}.json"


def finished(out: Path, job: dict) -> list[dict] | None:
    """The rows of a job an earlier run finished with the same settings; a ValueError if its settings differ."""
    path = job_file(out, job)
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    differ = [k for k in dict.fromkeys([*saved["job"], *job]) if saved["job"].get(k) != job.get(k)]
    if differ:
        there = ", ".join(f"{k} {saved['job'].get(k)!r} (now {job.get(k)!r})" for k in differ)
        raise ValueError(f"{path} was run with other settings: {there}; give a new --out or remove it")
    return saved["rows"]


def keep(out: Path, job: dict, rows: list[dict]) -> None:
    path = job_file(out, job)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps({"job": job, "rows": rows})))


def write_csv(rows: list[dict], path: Path) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(path, write)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    for name in dict.fromkeys(r["scheme"] for r in rows):
        pts = sorted((r for r in rows if r["scheme"] == name and r["in_plot"] and r["split_point"] > 0), key=lambda r: r["split_point"])
        if pts:
            ax.errorbar([r["device_flops"] for r in pts], [r["payload_bits"] for r in pts], xerr=[r["device_flops_se"] for r in pts],
                        yerr=[r["payload_bits_se"] for r in pts], fmt="o-", capsize=3, label=f"{name} ({pts[0]['seeds']} seeds)")
            for r in pts:
                ax.annotate(str(r["split_point"]), (r["device_flops"], r["payload_bits"]), fontsize=7, alpha=0.6)
    for r in rows:
        if r["scheme"] == "server-png":
            ax.axhline(r["payload_bits"], ls="--", color="gray", label="server-based (PNG image)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("on-device FLOPs per image")
    ax.set_ylabel("payload bits per image")
    ax.set_title(f"Trade-off: mean over seeds within {DROP_BELOW:.0%} of the backbone's accuracy; bars: 1 s.e.", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", default="runs/tradeoff", help="output directory")
    parser.add_argument("--splits", default=",".join(map(str, DEFAULT_SPLITS)), help="split points, comma list or all")
    parser.add_argument("--schemes", default="all", help="schemes, comma list or all")
    parser.add_argument("--episodes", type=int, default=120, help="search episodes per split (proposed methods)")
    parser.add_argument("--buffer-episodes", type=int, default=30, help="DDPG replay buffer in episodes (warm-up 2/3)")
    parser.add_argument("--budget", type=int, default=12, help="training epochs of every learned scheme per split, all stages")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 for every training run and search")
    parser.add_argument("--dataset", default=None, help="the preset's data unless given (synthetic: a quick smoke run)")
    parser.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE",
                        help="environment keywords of the proposed schemes' search, e.g. calibrated=true")
    args = parser.parse_args()
    splits = list(range(1, 17)) if args.splits == "all" else [int(s) for s in args.splits.split(",")]
    names = SCHEMES if args.schemes == "all" else args.schemes.split(",")
    threads = max(1, (os.cpu_count() or 1) // max(1, args.jobs))  # one thread per core: spinning OpenMP threads collide
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds} is invalid: give 1 or more (3 or more to report noise)")
    if args.budget < 1:
        parser.error(f"--budget {args.budget} is invalid: give the training epochs every learned scheme gets (12 or more)")
    try:
        env_kwargs = search_kwargs(args.env_kwargs, names, splits)
        hardware = device_name(resolve_device(args.device))
    except ValueError as e:
        parser.error(str(e))
    # seed-major, so a run stopped early has whole seeds
    weights, code = weights_digest(), code_version()
    jobs = [{"scheme": n, "splits": [0] if n == "server-png" else [k], "device": args.device, "seed": seed, "dataset": args.dataset,
             "budget": args.budget, "episodes": args.episodes, "buffer_episodes": args.buffer_episodes, "weights": weights,
             "code": code, "env_kwargs": env_kwargs, "threads": threads, "hardware": hardware}
            for seed in range(args.seeds) for n in names for k in ([0] if n == "server-png" else splits)]
    out = Path(args.out)
    start = time.time()
    try:
        done = {i for i, job in enumerate(jobs) if finished(out, job) is not None}
    except ValueError as e:
        parser.error(str(e))
    todo = [job for i, job in enumerate(jobs) if i not in done]
    print(f"{len(jobs)} jobs, {len(done)} already finished in {out / 'jobs'}", flush=True)

    def record(job: dict, result: list[dict]) -> None:
        keep(out, job, result)
        print(f"{job['scheme']} split {job['splits'][0]} seed {job['seed']} done ({time.time() - start:.0f} s)", flush=True)

    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            for job, result in zip(todo, pool.map(run_job, todo)):
                record(job, result)
    else:
        for job in todo:
            record(job, run_job(job))
    rows = [row for job in jobs for row in finished(out, job)]
    means = mean_rows(rows, DROP_BELOW)
    write_csv(rows, out / "tradeoff.csv")
    write_csv(means, out / "tradeoff_mean.csv")
    plot(means, out / "tradeoff.png")
    backbone = next((r["test_accuracy"] for r in means if r["scheme"] == "server-png"), float("nan"))
    print(f"wrote {out / 'tradeoff.csv'}, {out / 'tradeoff_mean.csv'} and {out / 'tradeoff.png'}: {len(rows)} rows, "
          f"backbone test accuracy {backbone:.4f}, seeds 0..{args.seeds - 1}, {time.time() - start:.0f} s on {platform.node() or 'this host'}")


if __name__ == "__main__":
    main()
