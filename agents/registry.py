"""Every searcher by name: the CLI, ``coinfer bench`` and the docs read this table.

Adding a searcher is one entry: a name, a one-line description, and a builder that
takes the options the CLI may pass (``buffer_episodes``, ``checkpoint``,
``log_dir``, and for searchers that propose whole designs ``batch`` and ``player``)
and ignores those it has no use for. Builders import lazily, so
listing the names costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # the CLI reads this table without importing torch
    from .common import Player, Searcher


@dataclass(frozen=True)
class Entry:
    summary: str
    build: Callable[..., "Searcher"]
    batched: bool = False
    """Proposes whole designs, so it can evaluate a batch at once (``batch``, ``player``)."""


def _ddpg(buffer_episodes=None, checkpoint=None, **_):
    from .ddpg import DDPG, DDPGConfig

    return DDPG(DDPGConfig() if buffer_episodes is None else DDPGConfig(buffer_episodes=buffer_episodes), checkpoint=checkpoint)


def _sb3(cls_name: str):
    def build(buffer_episodes=None, log_dir=None, **_):
        from . import sb3

        cfg = sb3.SB3DDPGConfig() if buffer_episodes is None else sb3.SB3DDPGConfig(buffer_episodes=buffer_episodes)
        return getattr(sb3, cls_name)(cfg, log_dir=log_dir)

    return build


def _simple(cls_name: str, module: str, **kwargs):
    def build(batch=1, player=None, **_):
        import importlib

        return getattr(importlib.import_module(f"agents.{module}"), cls_name)(batch=batch, player=player, **kwargs)

    return build


SEARCHERS: dict[str, Entry] = {
    "ddpg": Entry("the paper's DDPG, one file to read top to bottom (agents/ddpg.py)", _ddpg),
    "sb3-ddpg": Entry("Stable-Baselines3 DDPG with the paper's exploration and reward relabelling", _sb3("SB3DDPG")),
    "sb3-td3": Entry("Stable-Baselines3 TD3 with the same exploration and relabelling", _sb3("SB3TD3")),
    "random": Entry("each ratio uniform in [0, 1], independently", _simple("RandomSearch", "random_search"), batched=True),
    "uniform-sweep": Entry("one ratio for every layer, swept from 1 down to 0.05", _simple("UniformSweep", "random_search"), batched=True),
    "tpe": Entry("Optuna's TPE over the ratio vector (optional extra: optuna)", _simple("OptunaSearch", "blackbox", sampler="tpe"), batched=True),
    "cmaes": Entry("Optuna's CMA-ES over the ratio vector (optional extra: optuna, cmaes)",
                   _simple("OptunaSearch", "blackbox", sampler="cmaes"), batched=True),
    "nsga2": Entry("Optuna's NSGA-II on (accuracy, nu, rho) (optional extra: optuna)",
                   _simple("OptunaSearch", "blackbox", sampler="nsga2"), batched=True),
}


BATCHED = tuple(name for name, entry in SEARCHERS.items() if entry.batched)


def make_searcher(name: str, buffer_episodes: int | None = None, checkpoint: Path | None = None,
                  log_dir: Path | None = None, batch: int = 1, player: "Player | None" = None) -> "Searcher":
    """Build a searcher by its registry name; ``batch`` and ``player`` only for those that propose whole designs."""
    if name not in SEARCHERS:
        raise ValueError(f"agent {name!r} is unknown: choose one of {', '.join(SEARCHERS)}")
    if batch < 1:
        raise ValueError(f"batch={batch} is invalid: give 1 or more designs per batch")
    if (batch > 1 or player is not None) and not SEARCHERS[name].batched:
        raise ValueError(f"agent {name!r} plays one episode at a time: batches are for {', '.join(BATCHED)}")
    return SEARCHERS[name].build(buffer_episodes=buffer_episodes, checkpoint=checkpoint, log_dir=log_dir,
                                 batch=batch, player=player)
