"""Plug a new search algorithm into coinfer-env: a (1+1) evolution strategy in 15 lines.

    .venv/bin/python examples/custom_searcher.py --episodes 10
"""
import argparse

import gymnasium as gym
import numpy as np

import coinfer_env  # noqa: F401  (registers the ids)
from agents.common import SearchResult, new_result, replay, search_loop


class OnePlusOneES:
    name = "1+1-es"

    def __init__(self, step: float = 0.1) -> None:
        self.step = step

    def run(self, env: gym.Env, episodes: int, seed: int, callback=None) -> SearchResult:
        rng = np.random.default_rng(seed)
        state = {"parent": np.full(env.unwrapped.num_layers, 0.8), "child": None}

        def propose(e: int):
            p = state["parent"]
            state["child"] = np.clip(p + self.step * rng.standard_normal(p.size), 0, 1) if e else p
            return replay(state["child"])  # play the whole vector as one episode

        def keep_if_better(_obs, _actions, info) -> None:
            if info["reward"] >= result.best_reward:  # record() ran first: this episode is the best so far
                state["parent"] = state["child"]

        result = new_result(self.name, env, seed)
        return search_loop(env, episodes, seed, result, propose, keep_if_better, callback)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--episodes", type=int, default=10, help="episodes")
    args = parser.parse_args()
    env = gym.make("CoInfer-ResNet50-Tiny-v0", split_point=13)
    result = OnePlusOneES().run(env, args.episodes, seed=0, callback=lambda r: print(len(r.history), r.best_reward))
    print(f"best reward {result.best_reward:.4f} with accuracy {result.best_info['accuracy']:.3f}")
