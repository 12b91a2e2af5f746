"""Median cost of a non-final environment step (it only records the action and builds the observation).

    .venv/bin/python benchmarks/step_cost.py [--split 13] [--episodes 200]
"""

import argparse
import platform
import time

import gymnasium as gym
import numpy as np

import coinfer_env  # noqa: F401


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--split", type=int, default=13)
    parser.add_argument("--episodes", type=int, default=200)
    args = parser.parse_args()
    env = gym.make("CoInfer-ResNet50-Tiny-v0", split_point=args.split, pretrained=False, dataset="synthetic", cache=False).unwrapped
    rng = np.random.default_rng(0)
    times = []
    for _ in range(args.episodes):
        env.reset(seed=0)
        for _ in range(len(env.layers) - 1):
            a = np.array([rng.uniform()], dtype=np.float32)
            start = time.perf_counter()
            env.step(a)
            times.append(time.perf_counter() - start)
    print(f"host {platform.machine()}; split {args.split}; {len(times)} non-final steps: "
          f"median {np.median(times) * 1e6:.1f} us, 99th percentile {np.percentile(times, 99) * 1e6:.1f} us")


if __name__ == "__main__":
    main()
