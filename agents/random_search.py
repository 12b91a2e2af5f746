"""Sanity baselines: uniform random preserved ratios, and one ratio for every layer."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from .common import Callback, SearchResult, new_result, search_loop


@dataclass
class RandomSearch:
    """Each ratio drawn uniformly from [low, high], independently per layer and episode."""

    low: float = 0.0
    high: float = 1.0
    name: str = "random"

    def run(self, env: gym.Env, episodes: int, seed: int, callback: Callback | None = None) -> SearchResult:
        rng = np.random.default_rng(seed)
        return search_loop(env, episodes, seed, new_result(self.name, env, seed),
                           lambda e: lambda _obs: rng.uniform(self.low, self.high), callback=callback)


@dataclass
class UniformSweep:
    """Episode e uses one ratio for every layer, sweeping evenly from ``high`` down to ``low``."""

    low: float = 0.05
    high: float = 1.0
    name: str = "uniform-sweep"

    def run(self, env: gym.Env, episodes: int, seed: int, callback: Callback | None = None) -> SearchResult:
        ratios = np.linspace(self.high, self.low, episodes)
        return search_loop(env, episodes, seed, new_result(self.name, env, seed),
                           lambda e: lambda _obs: ratios[e], callback=callback)
