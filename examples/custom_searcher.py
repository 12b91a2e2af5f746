"""Plug a new search algorithm into coinfer-env: a (1+1) evolution strategy in 20 lines.

    .venv/bin/python examples/custom_searcher.py --episodes 10
"""
import argparse

import gymnasium as gym
import numpy as np

import coinfer_env  # noqa: F401  (registers the ids)
from agents.common import SearchResult, new_result, play_episode


class OnePlusOneES:
    name = "1+1-es"

    def __init__(self, step: float = 0.1) -> None:
        self.step = step

    def run(self, env: gym.Env, episodes: int, seed: int, callback=None) -> SearchResult:
        rng = np.random.default_rng(seed)
        result = new_result(self.name, env, seed)
        parent = np.full(len(env.unwrapped.layers), 0.8)
        for e in range(episodes):
            child = np.clip(parent + self.step * rng.standard_normal(parent.size), 0, 1) if e else parent
            plan = iter(child)
            _, actions, info, seconds = play_episode(env, lambda obs: next(plan), seed if e == 0 else None)
            if result.record(actions, info, seconds):  # True when this episode is the new best
                parent = child
            if callback is not None and callback(result) is False:
                break
        return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--episodes", type=int, default=10, help="episodes")
    args = parser.parse_args()
    env = gym.make("CoInfer-ResNet50-Tiny-v0", split_point=13)
    result = OnePlusOneES().run(env, args.episodes, seed=0, callback=lambda r: print(len(r.history), r.best_reward))
    print(f"best reward {result.best_reward:.4f} with accuracy {result.best_info['accuracy']:.3f}")
