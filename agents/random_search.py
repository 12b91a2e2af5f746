"""Sanity baselines: uniform random preserved ratios, and one ratio for every layer."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from .common import Callback, SearchResult, new_result, play_episode


@dataclass
class RandomSearch:
    """Each ratio drawn uniformly from [low, high], independently per layer and episode."""

    low: float = 0.0
    high: float = 1.0
    name: str = "random"

    def run(self, env: gym.Env, episodes: int, seed: int, callback: Callback | None = None) -> SearchResult:
        rng = np.random.default_rng(seed)
        result = new_result(self.name, env, seed)
        for e in range(episodes):
            _, actions, info, seconds = play_episode(env, lambda _: rng.uniform(self.low, self.high), seed if e == 0 else None)
            result.record(actions, info, seconds)
            if callback is not None and callback(result) is False:
                break
        return result


@dataclass
class UniformSweep:
    """Episode e uses one ratio for every layer, sweeping evenly from ``high`` down to ``low``."""

    low: float = 0.05
    high: float = 1.0
    name: str = "uniform-sweep"

    def run(self, env: gym.Env, episodes: int, seed: int, callback: Callback | None = None) -> SearchResult:
        result = new_result(self.name, env, seed)
        for e, ratio in enumerate(np.linspace(self.high, self.low, episodes)):
            _, actions, info, seconds = play_episode(env, lambda _: ratio, seed if e == 0 else None)
            result.record(actions, info, seconds)
            if callback is not None and callback(result) is False:
                break
        return result
