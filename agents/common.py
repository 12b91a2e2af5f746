"""The interface every search algorithm implements, and the result it returns.

A searcher has ``run(env, episodes, seed, callback=None) -> SearchResult``. It plays
``episodes`` full episodes of a CoInfer environment, and records each one with
:meth:`SearchResult.record`. ``callback(result)`` is called after every episode
(progress bars, early stopping: return ``False`` to stop).
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence

import gymnasium as gym
import numpy as np

from coinfer_env.checkpoints import atomic_write

Callback = Callable[["SearchResult"], "bool | None"]
HISTORY_FIELDS = ("episode", "reward", "accuracy", "flops", "bits", "seconds", "cache_hit", "best_reward")


@dataclass
class SearchResult:
    """Best episode so far and one history row per episode. JSON-serialisable."""

    agent: str = ""
    env_id: str = ""
    env_kwargs: dict = field(default_factory=dict)
    seed: int = 0
    best_reward: float = -math.inf
    best_actions: list[float] = field(default_factory=list)
    best_info: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)

    def record(self, actions: Sequence[float], info: dict, seconds: float) -> bool:
        """Add one finished episode; True if it is the new best."""
        better = info["reward"] > self.best_reward
        if better:
            self.best_reward = float(info["reward"])
            self.best_actions = [float(a) for a in actions]
            self.best_info = _jsonable(info)
        self.history.append(
            {
                "episode": len(self.history),
                "reward": float(info["reward"]),
                "accuracy": float(info["accuracy"]),
                "flops": int(info["flops"]),
                "bits": int(info["bits"]),
                "seconds": float(seconds),
                "cache_hit": bool(info["cache_hit"]),
                "best_reward": self.best_reward,
            }
        )
        return better

    def best_so_far(self) -> np.ndarray:
        return np.maximum.accumulate([h["reward"] for h in self.history]) if self.history else np.array([])

    def to_json(self, path: Path) -> None:
        """Write atomically: a kill leaves the previous file or the new one, never half of one."""
        text = json.dumps(_jsonable(asdict(self)), indent=2) + "\n"
        atomic_write(Path(path), lambda tmp: tmp.write_text(text))

    @classmethod
    def from_json(cls, path: Path) -> "SearchResult":
        return cls(**json.loads(Path(path).read_text()))

    def write_csv(self, path: Path) -> None:
        """One row per episode, written atomically."""

        def write(tmp: Path) -> None:
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=HISTORY_FIELDS)
                writer.writeheader()
                writer.writerows(self.history)

        atomic_write(Path(path), write)

    def save(self, directory: Path) -> None:
        """``result.json`` and ``history.csv`` in ``directory``."""
        self.to_json(Path(directory) / "result.json")
        self.write_csv(Path(directory) / "history.csv")


class Searcher(Protocol):
    name: str

    def run(self, env: gym.Env, episodes: int, seed: int, callback: Callback | None = None) -> SearchResult: ...


def play_episode(env: gym.Env, policy: Callable[[np.ndarray], float], seed: int | None = None) -> tuple[list, list, dict, float]:
    """Play one episode with ``policy(obs) -> ratio``; return (observations, actions, final info, seconds)."""
    start = time.perf_counter()
    obs, _ = env.reset(seed=seed)
    observations, actions, done = [obs], [], False
    while not done:
        a = float(policy(obs))
        obs, _, terminated, truncated, info = env.step(np.array([a], dtype=np.float32))
        actions.append(a)
        observations.append(obs)
        done = terminated or truncated
    return observations, actions, info, time.perf_counter() - start


def new_result(agent: str, env: gym.Env, seed: int) -> SearchResult:
    spec = env.spec
    return SearchResult(agent=agent, env_id=spec.id if spec else "", env_kwargs=_jsonable(dict(spec.kwargs) if spec else {}), seed=seed)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else (1e308 if obj > 0 else -1e308)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)
