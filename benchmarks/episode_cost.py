"""What one episode of the Tiny id costs, and where the time goes.

For ``--episodes`` random action vectors (seeded), prints:
  * the median episode time and its phases (prune, fine-tune, evaluate);
  * the overhead ratio: episode time / bare compute, where bare compute is the
    same fine-tune steps (forward, backward, Adam step) and evaluation forward
    passes of the same pruned network on pre-normalised tensors, timed alone;
  * the time of a cache-hit episode.
How well the accuracy predicts the deployed one is benchmarks/reward_fidelity.py's job.

    .venv/bin/python benchmarks/episode_cost.py [--episodes 5] [--seed 0] [--split 13] [--device cpu]
        [--finetune-steps 16] [--evaluation finetune] [--action-low 0.3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import gymnasium as gym
import numpy as np
import torch

import coinfer_env  # noqa: F401  (registers the ids)
from coinfer_env.data import normalize
from coinfer_env.evaluation import METHODS, adaptive_bn, reconstruct
from coinfer_env.loops import batch_indices
from coinfer_env.pruning import prune_to


def play(env, actions) -> tuple[float, dict]:
    start = time.perf_counter()
    env.reset(seed=0)
    for a in actions:
        *_, info = env.step(np.array([a], dtype=np.float32))
    return time.perf_counter() - start, info


def bare_compute(env, kept) -> float:
    """The recovery and evaluation passes alone, with all data prepared and the network pruned beforehand."""
    u = env.unwrapped
    ev, s = u.evaluator, u.eval_settings
    model = prune_to(u.trained, kept).to(memory_format=torch.channels_last)
    stats = [normalize(ev.train.images[i * s.batch : (i + 1) * s.batch]) for i in range(s.bn_batches)]
    stages = METHODS[s.method]
    g = torch.Generator().manual_seed(s.seed)
    batches = [
        (normalize(ev.train.images[idx]), ev.train.labels[idx])
        for _, idx in zip(range(s.steps), batch_indices(len(ev.train), s.batch, g))
    ]
    val = [(normalize(ev.val.images[i : i + 500]),) for i in range(0, len(ev.val), 500)]
    params = [p for n, p in model.named_parameters() if n.startswith(("device.", "server.decoder."))]
    for n, p in model.named_parameters():
        p.requires_grad_(n.startswith(("device.", "server.decoder.")))
    opt = torch.optim.Adam(params, lr=s.lr)
    model.eval(), model.device.train(), model.server.decoder.train()
    start = time.perf_counter()
    if "reconstruct" in stages:
        reconstruct(model, u.trained, kept, stats, s.seed)
    if "adaptive-bn" in stages:
        adaptive_bn(model, stats)
    model.eval(), model.device.train(), model.server.decoder.train()
    for x, y in batches if {"finetune", "distill"} & set(stages) else []:  # distill timed as plain fine-tune steps
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        for (x,) in val:
            model(x).argmax(1)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", type=int, default=13)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--finetune-steps", type=int, default=16, help="the env's finetune_steps (16 is its default)")
    parser.add_argument("--evaluation", default="reconstruct", choices=list(METHODS), help="the env's evaluation method")
    parser.add_argument("--action-low", type=float, default=0.3,
                        help="actions are drawn uniform in [action-low, 1]; 0.0 gives designs as pruned as a search's")
    args = parser.parse_args()
    kw = {"split_point": args.split, "device": args.device, "finetune_steps": args.finetune_steps, "evaluation": args.evaluation}
    env = gym.make("CoInfer-ResNet50-Tiny-v0", cache=False, **kw)
    cached = gym.make("CoInfer-ResNet50-Tiny-v0", cache=True, **kw)
    u = env.unwrapped
    rng = np.random.default_rng(args.seed)
    L = len(u.layers)
    print(f"host: {platform.machine()} {platform.processor()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}")
    print(f"Tiny id, split {args.split}, {L} steps, evaluation {u.eval_settings}, {len(u.evaluator.val)} val images, "
          f"actions uniform in [{args.action_low}, 1], seed {args.seed}")
    play(env, [1.0] * L)  # warm-up
    rows = []
    for e in range(args.episodes):
        actions = rng.uniform(args.action_low, 1.0, L)
        seconds, info = play(env, actions)
        kept = tuple(info["kept"])
        _, phases = u.evaluator.build(kept)  # phases of a rebuild, for the breakdown
        bare = bare_compute(env, kept)
        rows.append({"episode": seconds, "bare": bare, "acc": info["accuracy"], "kept": kept, **phases})
        print(f"episode {e}: {seconds:.2f} s, bare compute {bare:.2f} s, accuracy {info['accuracy']:.3f}")
    med = lambda key: statistics.median(r[key] for r in rows)
    stages = {k: med(k) for k in rows[0] if k not in ("episode", "bare", "acc", "kept")}
    print(f"median episode: {med('episode'):.2f} s  ({', '.join(f'{k} {v:.2f} s' for k, v in stages.items())})")
    print(f"overhead ratio episode / bare compute: median {statistics.median(r['episode'] / r['bare'] for r in rows):.3f}")

    actions = rng.uniform(args.action_low, 1.0, L)
    play(cached, actions)  # fills the cache (or hits it from an earlier run)
    hits = []
    for _ in range(5):
        seconds, info = play(cached, actions)
        hits.append(seconds)
    print(f"cache-hit episode: median {statistics.median(hits) * 1e3:.2f} ms (cache_hit={info['cache_hit']})")


if __name__ == "__main__":
    main()
