"""What turning off torch's NaN fill of new tensors saves an evaluation, side by side.

Torch's deterministic mode fills every new tensor with NaN unless
``torch.utils.deterministic.fill_uninitialized_memory`` is False;
:func:`coinfer_env.rng.deterministic_kernels` turns it off. For ``--designs`` random
Tiny designs (actions uniform in [``--action-low``, 1], seeded) this times
``Evaluator.evaluate`` with the fill off (the library) and on (as before), in
alternating order, checks that the accuracies are equal, and prints the seconds and
their median ratio.

    .venv/bin/python benchmarks/nan_fill.py [--designs 5] [--action-low 0.3] [--seed 0] [--split 13]
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import time

import gymnasium as gym
import numpy as np
import torch

import coinfer_env  # noqa: F401  (registers the ids)
from coinfer_env import evaluation
from coinfer_env.rng import deterministic_kernels


@contextlib.contextmanager
def with_nan_fill():
    with deterministic_kernels():
        torch.utils.deterministic.fill_uninitialized_memory = True
        yield  # deterministic_kernels restores the caller's value on exit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--designs", type=int, default=5)
    parser.add_argument("--action-low", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", type=int, default=13)
    args = parser.parse_args()
    env = gym.make("CoInfer-ResNet50-Tiny-v0", cache=False, split_point=args.split, evaluation="reconstruct")
    u = env.unwrapped
    ev, L = u.evaluator, u.num_layers
    print(f"host: {platform.machine()} {platform.processor()}, torch {torch.__version__}, {torch.get_num_threads()} threads, cpu")
    print(f"Tiny, split {args.split}, evaluation reconstruct, actions uniform in [{args.action_low}, 1], seed {args.seed}")
    rng = np.random.default_rng(args.seed)
    u.evaluate([1.0] * L)  # warm-up
    ratios = []
    try:
        for d in range(args.designs):
            kept = tuple(u.evaluate(rng.uniform(args.action_low, 1.0, L))["kept"])
            seconds, accs = {}, {}
            for name in ("off", "on") if d % 2 == 0 else ("on", "off"):
                evaluation.deterministic_kernels = deterministic_kernels if name == "off" else with_nan_fill
                start = time.perf_counter()
                accs[name] = ev.evaluate(kept)[0].accuracy
                seconds[name] = time.perf_counter() - start
            assert accs["on"] == accs["off"], accs
            ratios.append(seconds["on"] / seconds["off"])
            print(f"design {d}: fill on {seconds['on']:.2f} s, off {seconds['off']:.2f} s, ratio {ratios[-1]:.2f}, "
                  f"accuracy {accs['off']:.3f} both")
    finally:
        evaluation.deterministic_kernels = deterministic_kernels
    print(f"median ratio fill on / off: {statistics.median(ratios):.2f} (accuracies equal in every design)")


if __name__ == "__main__":
    main()
