"""Compare search algorithms under one episode budget and the same seeds.

``compare`` runs every (agent, seed) pair on a fresh environment, optionally in
parallel processes, and ``summarise`` turns the results into a table of the best
reward at 25 %, 50 % and 100 % of the budget (mean +- standard error over seeds)
and a plot of the best-so-far reward with one band per agent.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.figure import Figure

from coinfer_env.checkpoints import atomic_write

from .common import SearchResult

FRACTIONS = (0.25, 0.5, 1.0)


def agent_factory(name: str, buffer_episodes: int | None = None, checkpoint: Path | None = None, log_dir: Path | None = None):
    """Build a searcher by name: ddpg, sb3-ddpg, random, uniform-sweep."""
    from .ddpg import DDPG, DDPGConfig
    from .random_search import RandomSearch, UniformSweep
    from .sb3 import SB3DDPG, SB3DDPGConfig

    if name == "ddpg":
        cfg = DDPGConfig() if buffer_episodes is None else DDPGConfig(buffer_episodes=buffer_episodes)
        return DDPG(cfg, checkpoint=checkpoint)
    if name == "sb3-ddpg":
        cfg = SB3DDPGConfig() if buffer_episodes is None else SB3DDPGConfig(buffer_episodes=buffer_episodes)
        return SB3DDPG(cfg, log_dir=log_dir)
    if name == "random":
        return RandomSearch()
    if name == "uniform-sweep":
        return UniformSweep()
    raise ValueError(f"agent {name!r} is unknown: choose ddpg, sb3-ddpg, random or uniform-sweep")


def _run_one(job: dict) -> dict:
    import gymnasium as gym
    import torch

    import coinfer_env  # noqa: F401  (registers the ids)

    before = torch.get_num_threads()
    if job.get("threads"):
        torch.set_num_threads(job["threads"])
    try:
        # each run its own cache: runs being compared share no results, and pay the same evaluation cost
        kwargs = {"cache_dir": str(Path(job["out"]) / ".cache" / f"{job['agent']}-seed{job['seed']}"), **job["env_kwargs"]}
        env = gym.make(job["env_id"], **kwargs)
        agent = agent_factory(job["agent"], job.get("buffer_episodes"))
        result = agent.run(env, job["episodes"], job["seed"])
    finally:
        torch.set_num_threads(before)  # jobs=1 runs here, in the caller's process
    result.env_kwargs = {**result.env_kwargs, **job["env_kwargs"]}
    path = Path(job["out"]) / job["agent"] / f"seed{job['seed']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    result.to_json(path)
    return {"agent": job["agent"], "seed": job["seed"], "path": str(path)}


def compare(env_id: str, env_kwargs: dict, agents: list[str], seeds: int, episodes: int, out: Path,
            jobs: int = 1, buffer_episodes: int | None = None, threads: int | None = None,
            progress: Callable[[dict], None] | None = None) -> dict[str, list[SearchResult]]:
    out.mkdir(parents=True, exist_ok=True)
    todo = [
        {"env_id": env_id, "env_kwargs": env_kwargs, "agent": a, "seed": s, "episodes": episodes,
         "out": str(out), "buffer_episodes": buffer_episodes, "threads": threads}
        for a in agents for s in range(seeds)
    ]
    if jobs > 1:
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            for done in pool.map(_run_one, todo):
                progress and progress(done)
    else:
        for job in todo:
            done = _run_one(job)
            progress and progress(done)
    return {a: [SearchResult.from_json(out / a / f"seed{s}.json") for s in range(seeds)] for a in agents}


def best_at(result: SearchResult, episodes: int) -> float:
    curve = result.best_so_far()
    return float(curve[min(len(curve), episodes) - 1])


def summarise(results: dict[str, list[SearchResult]], episodes: int, out: Path, command: str = "") -> str:
    """Write bench.md, bench.json and bench.png; return the markdown table."""
    marks = [max(1, round(f * episodes)) for f in FRACTIONS]
    lines = [
        f"Best reward so far, mean ± standard error over {len(next(iter(results.values())))} seeds, budget {episodes} episodes.",
        "",
        "| agent | " + " | ".join(f"{int(f * 100)}% ({m} ep.)" for f, m in zip(FRACTIONS, marks)) + " |",
        "|---|" + "---:|" * len(marks),
    ]
    summary = {}
    for agent, runs in results.items():
        cells, summary[agent] = [], {}
        for f, m in zip(FRACTIONS, marks):
            values = np.array([best_at(r, m) for r in runs])
            se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
            cells.append(f"{values.mean():.4f} ± {se:.4f}")
            summary[agent][f"{int(f * 100)}%"] = {"mean": values.mean(), "se": se, "values": values.tolist()}
        lines.append(f"| {agent} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    atomic_write(out / "bench.md", lambda tmp: tmp.write_text((f"`{command}`\n\n" if command else "") + table + "\n"))
    atomic_write(out / "bench.json", lambda tmp: tmp.write_text(json.dumps(summary, indent=2) + "\n"))
    _plot(results, episodes, out / "bench.png")
    return table


def _plot(results: dict[str, list[SearchResult]], episodes: int, path: Path) -> None:
    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots()
    for agent, runs in results.items():
        curves = np.array([np.resize(r.best_so_far(), episodes) for r in runs])
        mean = curves.mean(0)
        se = curves.std(0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else np.zeros_like(mean)
        x = np.arange(1, episodes + 1)
        ax.plot(x, mean, label=agent)
        ax.fill_between(x, mean - se, mean + se, alpha=0.25)
    ax.set_xlabel("episode")
    ax.set_ylabel("best reward so far")
    ax.set_title("Search algorithms under one budget (band: ± s.e. over seeds)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_search(result: SearchResult, path: Path) -> None:
    """Reward per episode and the best-so-far curve of one search."""
    rewards = [h["reward"] for h in result.history]
    fig = Figure(figsize=(7, 4))  # no pyplot: the caller's matplotlib backend is left alone
    ax = fig.subplots()
    ax.plot(range(1, len(rewards) + 1), rewards, ".", alpha=0.6, label="episode reward")
    ax.plot(range(1, len(rewards) + 1), result.best_so_far(), "-", label="best so far")
    ax.set_xlabel("episode")
    ax.set_ylabel("reward")
    ax.set_title(f"{result.agent} on {result.env_id}, seed {result.seed}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
