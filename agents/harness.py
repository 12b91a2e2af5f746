"""Compare search algorithms under one episode budget and the same seeds.

``compare`` runs every (agent, seed) pair on a fresh environment (each with its own
result cache), optionally in parallel processes, and ``summarise`` turns the
results into a table of the best reward and the Pareto hypervolume
(:mod:`agents.metrics`) at 25 %, 50 % and 100 % of the budget, mean +- standard
error over seeds, and anytime curves of both against evaluations and against
wall time.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from dataclasses import asdict
from typing import Callable, Iterable, Iterator

import numpy as np
from matplotlib.figure import Figure

from coinfer_env.checkpoints import atomic_write

from .common import TIMING_FIELDS, SearchResult
from .metrics import best_at, hypervolume_at, mean_se

FRACTIONS = (0.25, 0.5, 1.0)


def agent_factory(name: str, buffer_episodes: int | None = None, checkpoint: Path | None = None, log_dir: Path | None = None):
    """Build a searcher by name (see :data:`agents.registry.SEARCHERS`)."""
    from .registry import make_searcher

    return make_searcher(name, buffer_episodes, checkpoint, log_dir)


def _run_one(job: dict) -> dict:
    """One (agent, seed) run on a fresh env; returns the result as a dict, so it can come back from another machine."""
    import gymnasium as gym
    import torch

    import coinfer_env  # noqa: F401  (registers the ids)

    before = torch.get_num_threads()
    if job.get("threads"):
        torch.set_num_threads(job["threads"])
    try:
        # each run its own cache: runs being compared share no results, and pay the same evaluation cost
        kwargs = {"cache_dir": str(Path(job["cache_root"]) / f"{job['agent']}-seed{job['seed']}"), **job["env_kwargs"]}
        env = gym.make(job["env_id"], **kwargs)
        agent = agent_factory(job["agent"], job.get("buffer_episodes"))
        result = agent.run(env, job["episodes"], job["seed"])
    finally:
        torch.set_num_threads(before)  # jobs=1 runs here, in the caller's process
    result.env_kwargs = {**result.env_kwargs, **job["env_kwargs"]}
    return {"agent": job["agent"], "seed": job["seed"], "result": asdict(result)}


def _save_run(out: Path, done: dict) -> dict:
    result = SearchResult(**done["result"])
    path = out / done["agent"] / f"seed{done['seed']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    result.to_json(path)
    result.write_csv(path.with_suffix(".timings.csv"), result.timings, TIMING_FIELDS)
    return {"agent": done["agent"], "seed": done["seed"], "path": str(path)}


def _on_ray(todo: list[dict], address: str | None, threads: int | None) -> Iterator[dict]:
    """Each job as a Ray task (``num_cpus`` = its threads) on a local or existing cluster; results as they finish."""
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=threads or 1)(_run_one)
        pending = [task.remote(job) for job in todo]
        while pending:
            finished, pending = ray.wait(pending)
            yield from ray.get(finished)
    finally:
        if started_here:
            ray.shutdown()


def compare(env_id: str, env_kwargs: dict, agents: list[str], seeds: int, episodes: int, out: Path,
            jobs: int = 1, buffer_episodes: int | None = None, threads: int | None = None,
            progress: Callable[[dict], None] | None = None, backend: str = "local",
            ray_address: str | None = None, reuse: bool = False) -> dict[str, list[SearchResult]]:
    """Run every (agent, seed) pair: in this process, in ``jobs`` local processes, or as Ray tasks (``backend="ray"``).

    With ``reuse``, a run already in ``out`` is kept when it is finished and was made
    with the same env id, keywords, budget and calibration map (a killed bench resumes);
    any other run file there is an error, never silently mixed in.
    """
    out.mkdir(parents=True, exist_ok=True)
    if (jobs > 1 or backend == "ray") and threads is None:  # OpenMP threads of parallel runs would spin against each other
        threads = max(1, (os.cpu_count() or 1) // jobs) if backend == "local" else 1
    shipped = _map_now(env_id, env_kwargs) if reuse and any((out / a).glob("seed*.json") for a in agents) else None
    todo = [
        {"env_id": env_id, "env_kwargs": env_kwargs, "agent": a, "seed": s, "episodes": episodes,
         "cache_root": str(out / ".cache"), "buffer_episodes": buffer_episodes, "threads": threads}
        for a in agents for s in range(seeds)
        if not (reuse and _finished(out / a / f"seed{s}.json", env_id, env_kwargs, episodes, shipped))
    ]
    if backend == "ray":
        finished: Iterable[dict] = _on_ray(todo, ray_address, threads)
    elif jobs > 1:
        pool = ProcessPoolExecutor(jobs, mp_context=get_context("spawn"))
        finished = pool.map(_run_one, todo)
    else:
        finished = map(_run_one, todo)
    for done in finished:
        saved = _save_run(out, done)
        progress and progress(saved)
    if jobs > 1 and backend == "local":
        pool.shutdown()
    return {a: [load_run(out / a / f"seed{s}.json") for s in range(seeds)] for a in agents}


def _map_now(env_id: str, env_kwargs: dict) -> str | None:
    """The digest of the calibration map this bench's env applies now (None: uncalibrated)."""
    import gymnasium as gym

    import coinfer_env  # noqa: F401  (registers the ids)

    return gym.make(env_id, **{**env_kwargs, "cache": False}).unwrapped.provenance().get("calibration")


def _finished(path: Path, env_id: str, env_kwargs: dict, episodes: int, shipped: str | None = None) -> bool:
    """True if ``path`` holds a finished run of this bench; False if there is none; ValueError if it is another bench's,
    or was searched through another calibration map than ``shipped`` (the map is data beside the weights, so neither
    the keywords nor the code digest tell the two apart)."""
    if not path.exists():
        return False
    run = SearchResult.from_json(path)
    same = run.env_id == env_id and all(run.env_kwargs.get(k) == v for k, v in env_kwargs.items())
    if not same or len(run.history) != episodes:
        raise ValueError(f"{path} is a run of {run.env_id} {run.env_kwargs} with {len(run.history)} episodes, not of this bench "
                         f"({env_id} {env_kwargs}, {episodes} episodes): give another --out, or drop --reuse")
    if run.provenance.get("calibration") != shipped:
        raise ValueError(f"{path} was searched through calibration map {run.provenance.get('calibration')}, not the one "
                         f"this env applies now ({shipped}), so its rewards are on another scale: give another --out, "
                         "or drop --reuse")
    return True


def load_run(path: Path) -> SearchResult:
    """A bench run's result, with its timings (kept in a file beside it) read back."""
    import csv

    result = SearchResult.from_json(path)
    timings = path.with_suffix(".timings.csv")
    if timings.exists():
        with timings.open() as f:
            result.timings = [{"episode": int(r["episode"]), "seconds": float(r["seconds"]), "cache_hit": r["cache_hit"] == "True"}
                              for r in csv.DictReader(f)]
    return result


def summarise(results: dict[str, list[SearchResult]], episodes: int, out: Path, command: str = "") -> str:
    """Write bench.md, bench.json and bench.png; return the markdown table."""
    marks = [max(1, round(f * episodes)) for f in FRACTIONS]
    seeds = len(next(iter(results.values())))
    head = " | ".join(f"{int(f * 100)}% ({m} ep.)" for f, m in zip(FRACTIONS, marks))
    lines = [
        f"Mean ± standard error over {seeds} seeds, budget {episodes} episodes. Best reward so far, then the hypervolume "
        "of the (accuracy, device FLOPs, bits) Pareto front, reference point (1, 1, 1) on the scaled objectives "
        "(agents/metrics.py). Wall time: mean seconds per run.",
        "",
        f"| agent | reward {head} | hypervolume {head} | wall s |",
        "|---|" + "---:|" * (2 * len(marks) + 1),
    ]
    summary = {}
    for agent, runs in results.items():
        cells, summary[agent] = [], {"reward": {}, "hypervolume": {}}
        for metric, fn in (("reward", best_at), ("hypervolume", hypervolume_at)):
            for f, m in zip(FRACTIONS, marks):
                values = [fn(r, m) for r in runs]
                mean, se = mean_se(values)
                cells.append(f"{mean:.4f} ± {se:.4f}")
                summary[agent][metric][f"{int(f * 100)}%"] = {"mean": mean, "se": se, "values": values}
        wall = [sum(t["seconds"] for t in r.timings) for r in runs]
        summary[agent]["wall_seconds"] = wall
        lines.append(f"| {agent} | " + " | ".join(cells) + f" | {np.mean(wall):.0f} |")
    if BASELINE in summary and len(summary) > 1 and seeds > 1:
        lines += ["", *versus(summary, BASELINE)]
    lines += ["", *best_designs(results, summary)]
    table = "\n".join(lines)
    atomic_write(out / "bench.md", lambda tmp: tmp.write_text((f"`{command}`\n\n" if command else "") + table + "\n"))
    atomic_write(out / "bench.json", lambda tmp: tmp.write_text(json.dumps(summary, indent=2) + "\n"))
    _plot(results, episodes, out / "bench.png")
    return table


BASELINE = "random"
DESIGN_FIELDS = {  # column -> what it reads from a run's best design
    "accuracy (rewarded)": lambda i: i["accuracy"],
    "accuracy (raw)": lambda i: i.get("accuracy_raw", i["accuracy"]),
    "device FLOPs cut": lambda i: 1 - i["flops"] / i["flops_original"],
    "bits cut": lambda i: 1 - i["bits"] / i["bits_original"],
}


def best_designs(results: dict[str, list[SearchResult]], summary: dict) -> list[str]:
    """Markdown rows: what each agent's best design at the full budget keeps and cuts, mean ± s.e. over seeds.

    The values go into ``summary[agent]["best_design"]``. The two accuracies differ
    only under ``calibrated=True``, where the reward reads the mapped one.
    """
    rows = ["The best design of each run at the full budget (mean ± s.e. over seeds; cuts against the unpruned network).", "",
            "| agent | " + " | ".join(DESIGN_FIELDS) + " |", "|---|" + "---:|" * len(DESIGN_FIELDS)]
    for agent, runs in results.items():
        summary[agent]["best_design"], cells = {}, []
        for name, read in DESIGN_FIELDS.items():
            values = [float(read(r.best_info)) for r in runs]
            mean, se = mean_se(values)
            summary[agent]["best_design"][name] = {"mean": mean, "se": se, "values": values}
            cells.append(f"{100 * mean:.2f}% ± {100 * se:.2f}")
        rows.append(f"| {agent} | " + " | ".join(cells) + " |")
    return rows


def versus(summary: dict, baseline: str = BASELINE) -> list[str]:
    """Markdown rows: each agent's full-budget mean minus the baseline's, in units of the difference's standard error.

    The runs of two agents are independent, so the difference's s.e. is
    sqrt(se_a^2 + se_b^2); |z| >= 2 is marked as a difference the seed-to-seed noise
    does not explain (about 95 % two-sided, normal approximation).
    """
    rows = [f"Against {baseline} search at the full budget: difference of means ± its standard error, and z = difference / s.e. "
            "(|z| ≥ 2 marked *).", "", "| agent | reward difference | z | hypervolume difference | z |", "|---|---:|---:|---:|---:|"]
    for agent, s in summary.items():
        if agent == baseline:
            continue
        cells = []
        for metric in ("reward", "hypervolume"):
            a, b = s[metric]["100%"], summary[baseline][metric]["100%"]
            diff, se = a["mean"] - b["mean"], float(np.hypot(a["se"], b["se"]))
            z = diff / se if se > 0 else float("nan")
            cells += [f"{diff:+.4f} ± {se:.4f}", f"{z:+.1f}{' *' if abs(z) >= 2 else ''}"]
        rows.append(f"| {agent} | " + " | ".join(cells) + " |")
    return rows


def _curves(runs: list[SearchResult], episodes: int, fn) -> np.ndarray:
    return np.array([[fn(r, e) for e in range(1, episodes + 1)] for r in runs])


def _plot(results: dict[str, list[SearchResult]], episodes: int, path: Path) -> None:
    """Anytime curves: best reward and hypervolume against evaluations, and best reward against wall time."""
    fig = Figure(figsize=(13, 4))
    axes = fig.subplots(1, 3)
    x = np.arange(1, episodes + 1)
    for i, (agent, runs) in enumerate(results.items()):
        for ax, fn in zip(axes[:2], (best_at, hypervolume_at)):
            curves = _curves(runs, episodes, fn)
            mean = curves.mean(0)
            se = curves.std(0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else np.zeros_like(mean)
            ax.plot(x, mean, color=f"C{i}", label=agent)
            ax.fill_between(x, mean - se, mean + se, color=f"C{i}", alpha=0.2)
        for j, r in enumerate(runs):  # wall time differs per run, so each run is its own line
            t = np.cumsum([row["seconds"] for row in r.timings])
            if len(t):
                axes[2].step(t, r.best_so_far()[: len(t)], where="post", color=f"C{i}", alpha=0.4, label=agent if j == 0 else None)
    for ax, (xl, yl) in zip(axes, (("episode", "best reward so far"), ("episode", "hypervolume so far"),
                                   ("wall seconds", "best reward so far"))):
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.grid(alpha=0.3)
    axes[0].set_title("band: ± s.e. over seeds")
    axes[2].set_title("one line per run")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def pareto_mask(accuracy: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """True for each design no other design beats on both higher accuracy and lower cost."""
    order = np.lexsort((-accuracy, cost))  # by cost, then best accuracy first
    mask, best = np.zeros(len(cost), bool), -np.inf
    for i in order:
        if accuracy[i] > best:
            mask[i], best = True, accuracy[i]
    return mask


def plot_search(result: SearchResult, path: Path, unpruned: dict | None = None) -> None:
    """Left: reward per episode and best so far. Right: every design, accuracy against device FLOPs, bits as colour,
    the accuracy-FLOPs Pareto front marked, and the unpruned network where given."""
    h = result.history
    rewards = [r["reward"] for r in h]
    f0, b0 = result.best_info["flops_original"], result.best_info["bits_original"]
    acc = np.array([r["accuracy"] for r in h])
    flops = np.array([r["flops"] / f0 for r in h])
    bits = np.array([r["bits"] / b0 for r in h])
    fig = Figure(figsize=(12, 4.2))  # no pyplot: the caller's matplotlib backend is left alone
    left, right = fig.subplots(1, 2)
    left.plot(range(1, len(rewards) + 1), rewards, ".", alpha=0.6, label="episode reward")
    left.plot(range(1, len(rewards) + 1), result.best_so_far(), "-", label="best so far")
    left.set_xlabel("episode")
    left.set_ylabel("reward")
    left.set_title(f"{result.agent} on {result.env_id}, seed {result.seed}")
    left.grid(alpha=0.3)
    left.legend()
    points = right.scatter(flops, acc, c=bits, cmap="viridis", s=22, label="designs")
    fig.colorbar(points, ax=right, label="bits sent / raw feature bits")
    front = pareto_mask(acc, flops)
    order = np.argsort(flops[front])
    right.plot(flops[front][order], acc[front][order], "r-", lw=1, label="Pareto front (accuracy, FLOPs)")
    best = int(np.argmax(rewards))
    right.scatter([flops[best]], [acc[best]], marker="*", s=200, color="red", label="best reward")
    if unpruned:
        right.scatter([unpruned["flops"] / f0], [unpruned["accuracy"]], marker="s", s=60, color="black", label="unpruned")
    right.set_xlabel("device FLOPs / unpruned")
    right.set_ylabel("accuracy")
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
