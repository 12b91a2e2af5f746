"""Sanity baselines: uniform random preserved ratios, and one ratio for every layer."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from .common import Callback, Player, SearchResult, design_loop, new_result


@dataclass
class RandomSearch:
    """Each ratio drawn uniformly from [low, high], independently per layer and episode."""

    low: float = 0.0
    high: float = 1.0
    name: str = "random"
    batch: int = 1
    """Designs drawn before any is played (the draws are the same for every batch size)."""
    player: Player | None = None
    """Plays a batch at once (:class:`agents.players.RayPlayer`); None plays on the env, one after another."""

    def run(self, env: gym.Env, episodes: int, seed: int, callback: Callback | None = None) -> SearchResult:
        rng = np.random.default_rng(seed)
        layers = env.unwrapped.num_layers
        return design_loop(env, episodes, seed, new_result(self.name, env, seed),
                           lambda n: rng.uniform(self.low, self.high, size=(n, layers)).tolist(),
                           callback=callback, batch=self.batch, player=self.player)


@dataclass
class UniformSweep:
    """Episode e uses one ratio for every layer, sweeping evenly from ``high`` down to ``low``."""

    low: float = 0.05
    high: float = 1.0
    name: str = "uniform-sweep"
    batch: int = 1
    player: Player | None = None

    def run(self, env: gym.Env, episodes: int, seed: int, callback: Callback | None = None) -> SearchResult:
        ratios = iter(np.linspace(self.high, self.low, episodes))
        layers = env.unwrapped.num_layers
        return design_loop(env, episodes, seed, new_result(self.name, env, seed),
                           lambda n: [[float(next(ratios))] * layers for _ in range(n)],
                           callback=callback, batch=self.batch, player=self.player)
