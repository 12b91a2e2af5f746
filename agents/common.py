"""The interface every search algorithm implements, and the result it returns.

A searcher has ``run(env, episodes, seed, callback=None) -> SearchResult``. It plays
``episodes`` full episodes of a CoInfer environment, and records each one with
:meth:`SearchResult.record`. ``callback(result)`` is called after every episode
(progress bars, early stopping: return ``False`` to stop).
"""

from __future__ import annotations

import csv
import inspect
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
HISTORY_FIELDS = ("episode", "reward", "accuracy", "flops", "bits", "best_reward")
TIMING_FIELDS = ("episode", "seconds", "cache_hit")
MACHINE_KEYS = ("eval_seconds", "cache_hit")  # depend on the machine and the cache, not on the search


@dataclass
class SearchResult:
    """Best episode so far and one history row per episode. JSON-serialisable.

    What depends on the machine (seconds, cache hits) is kept apart in ``timings``
    and written to its own file, so two runs with the same seed give byte-identical
    ``result.json`` and ``history.csv``.
    """

    agent: str = ""
    env_id: str = ""
    env_kwargs: dict = field(default_factory=dict)
    seed: int = 0
    best_reward: float = -math.inf
    best_actions: list[float] = field(default_factory=list)
    best_info: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    """Code, weights digest, torch version, threads and device the run used (``coinfer validate`` compares them)."""
    timings: list[dict] = field(default_factory=list)

    def record(self, actions: Sequence[float], info: dict, seconds: float) -> bool:
        """Add one finished episode; True if it is the new best."""
        better = info["reward"] > self.best_reward
        if better:
            self.best_reward = float(info["reward"])
            self.best_actions = [float(a) for a in actions]
            self.best_info = _jsonable({k: v for k, v in info.items() if k not in MACHINE_KEYS})
        self.timings.append({"episode": len(self.history), "seconds": float(seconds), "cache_hit": bool(info.get("cache_hit", False))})
        self.history.append(
            {
                "episode": len(self.history),
                "reward": float(info["reward"]),
                "accuracy": float(info["accuracy"]),
                "flops": int(info["flops"]),
                "bits": int(info["bits"]),
                "best_reward": self.best_reward,
            }
        )
        return better

    def best_so_far(self) -> np.ndarray:
        return np.maximum.accumulate([h["reward"] for h in self.history]) if self.history else np.array([])

    def to_json(self, path: Path) -> None:
        """Write atomically: a kill leaves the previous file or the new one, never half of one."""
        fields = {k: v for k, v in asdict(self).items() if k != "timings"}
        text = json.dumps(_jsonable(fields), indent=2) + "\n"
        atomic_write(Path(path), lambda tmp: tmp.write_text(text))

    @classmethod
    def from_json(cls, path: Path) -> "SearchResult":
        """Read a result.json; a truncated, empty or foreign file is a ValueError naming it."""
        try:
            data = json.loads(Path(path).read_text())
            result = cls(**data)
            if not isinstance(result.history, list) or not isinstance(result.best_info, dict) or not isinstance(result.env_id, str):
                raise TypeError("wrong field types")
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path} is not a search's result.json ({err}): give the result.json a search wrote") from None
        return result

    def write_csv(self, path: Path, rows: list[dict] | None = None, fields: Sequence[str] = HISTORY_FIELDS) -> None:
        """One row per episode, written atomically."""

        def write(tmp: Path) -> None:
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=fields)
                writer.writeheader()
                writer.writerows(self.history if rows is None else rows)

        atomic_write(Path(path), write)

    def save(self, directory: Path) -> None:
        """``result.json``, ``history.csv`` and (machine-dependent) ``timings.csv`` in ``directory``."""
        self.to_json(Path(directory) / "result.json")
        self.write_csv(Path(directory) / "history.csv")
        self.write_csv(Path(directory) / "timings.csv", self.timings, TIMING_FIELDS)


class Searcher(Protocol):
    name: str

    def run(self, env: gym.Env, episodes: int, seed: int, callback: Callback | None = None) -> SearchResult: ...


Policy = Callable[[np.ndarray], float]


def play_episode(env: gym.Env, policy: Policy, seed: int | None = None) -> tuple[list, list, dict, float]:
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


def search_loop(env: gym.Env, episodes: int, seed: int, result: SearchResult, policy_for: Callable[[int], Policy],
                after: Callable[[list, list, dict], None] | None = None, callback: Callback | None = None) -> SearchResult:
    """The episode loop every searcher shares (SB3's agents excepted: SB3 drives its own).

    Until ``result`` holds ``episodes`` episodes (it may already hold some, when a
    run resumes): play episode e with ``policy_for(e)``, record it, hand
    ``after(observations, actions, info)`` what it needs to learn, then call
    ``callback(result)`` and stop if it returns False. Only the first episode of a
    run resets with ``seed``.
    """
    while len(result.history) < episodes:
        e = len(result.history)
        observations, actions, info, seconds = play_episode(env, policy_for(e), seed if e == 0 else None)
        result.record(actions, info, seconds)
        if after is not None:
            after(observations, actions, info)
        if callback is not None and callback(result) is False:
            break
    return result


def replay(ratios: Sequence[float]) -> Policy:
    """A policy that plays a fixed vector of preserved ratios, one per step (for black-box searchers)."""
    plan = iter([float(a) for a in ratios])
    return lambda _obs: next(plan)


Outcome = tuple[list, dict, float]
"""One played design: the actions as the env took them, the final info, seconds."""


def play_design(env: gym.Env, design: Sequence[float], seed: int | None = None) -> Outcome:
    """Play a whole ratio vector as one episode, step by step."""
    _, actions, info, seconds = play_episode(env, replay(design), seed)
    return actions, info, seconds
Player = Callable[[list[list[float]]], list[Outcome]]
"""Plays a batch of designs and returns their outcomes in the same order (see :mod:`agents.players`)."""


def design_loop(env: gym.Env, episodes: int, seed: int, result: SearchResult, propose: Callable[[int], list[list[float]]],
                tell: Callable[[dict], None] | None = None, callback: Callback | None = None, batch: int = 1,
                player: Player | None = None) -> SearchResult:
    """The loop of searchers that propose whole ratio vectors (random, TPE, CMA-ES, NSGA-II).

    Ask ``propose(n)`` for up to ``batch`` designs, play them (on ``env`` one after
    another, or all at once on ``player``), then record and ``tell`` each in the
    order proposed, so a seed and a batch size give the same run however the batch
    was played. Each design is played step by step through the env, so wrappers and
    the budget mode's action wall apply as they do to any agent.
    """
    while len(result.history) < episodes:
        first = len(result.history)
        designs = propose(min(batch, episodes - first))
        if player is None:
            outcomes = [play_design(env, d, seed if first + i == 0 else None) for i, d in enumerate(designs)]
        else:
            outcomes = player(designs)
        for actions, info, seconds in outcomes:
            result.record(actions, info, seconds)
            if tell is not None:
                tell(info)
            if callback is not None and callback(result) is False:
                return result
    return result


IRRELEVANT = ("cache", "cache_dir", "data_root", "download")  # change where things live, not what an episode gives


def effective_settings(env: gym.Env) -> dict:
    """Every keyword the env was built with, defaults included, less those that cannot change a result."""
    defaults = {name: p.default for name, p in inspect.signature(type(env.unwrapped).__init__).parameters.items()
                if p.default is not inspect.Parameter.empty}
    given = dict(env.spec.kwargs) if env.spec else {}
    return _jsonable({k: v for k, v in {**defaults, **given}.items() if k not in IRRELEVANT})


def new_result(agent: str, env: gym.Env, seed: int) -> SearchResult:
    """An empty result recording the env's id and keywords (less ``cache_dir``: a path of this machine)."""
    spec = env.spec
    kwargs = {k: v for k, v in (spec.kwargs if spec else {}).items() if k != "cache_dir"}
    provenance = env.unwrapped.provenance() if hasattr(env.unwrapped, "provenance") else {}
    return SearchResult(agent=agent, env_id=spec.id if spec else "", env_kwargs=_jsonable(kwargs), seed=seed,
                        provenance=_jsonable(provenance))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else (1e308 if obj > 0 else -1e308)
    if isinstance(obj, str):
        return str(obj)  # plain str: subclasses (torch's TorchVersion) do not load with weights_only=True
    if isinstance(obj, (int, float, bool)) or obj is None:
        return obj
    return str(obj)
