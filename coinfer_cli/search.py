"""``coinfer search``: step 2, a search over preserved ratios; result.json and history.csv after every episode."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .args import make_env, parse_env_kwargs
from .files import check_writable_dir


def run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from agents.common import SearchResult
    from agents.harness import agent_factory, plot_search
    from coinfer_env.checkpoints import remove_stale_temporaries

    if args.resume and args.agent != "ddpg":
        raise ValueError(f"--resume works with --agent ddpg only, not {args.agent!r}")
    out = Path(args.out)
    check_writable_dir(out, "--out")
    env = make_env(args.env, parse_env_kwargs(args.env_kwargs))  # bad input fails before anything is written
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "agent_state.pt" if args.resume else None
    if args.resume:
        for stale in remove_stale_temporaries(out):
            print(f"removed {stale.name}, left by a run that was killed while writing it")
    agent = agent_factory(args.agent, args.buffer_episodes, checkpoint=checkpoint, log_dir=out / "sb3")
    bar = tqdm(total=args.episodes, desc=f"{args.agent} search", unit="ep")

    def after_episode(result: SearchResult) -> None:
        result.save(out)  # a stopped search keeps every finished episode
        bar.n = len(result.history)
        bar.set_postfix(best=f"{result.best_reward:.4f}", acc=f"{result.best_info.get('accuracy', 0):.3f}")
        bar.refresh()

    start = time.time()
    result = agent.run(env, args.episodes, args.seed, callback=after_episode)
    bar.close()
    result.save(out)
    seconds = time.time() - start
    unpruned = env.unwrapped.evaluate([1.0] * env.unwrapped.num_layers)  # the reference a design is judged against
    plot_search(result, out / "reward.png", unpruned)
    info = result.best_info
    print(f"best reward {result.best_reward:.4f} ({len(result.history)} episodes, {seconds:.0f} s): accuracy {info['accuracy']:.3f} "
          f"against {unpruned['accuracy']:.3f} unpruned (same evaluation), device FLOPs {info['flops'] / info['flops_original']:.1%} "
          f"of unpruned, bits sent {info['bits'] / info['bits_original']:.2%} of the raw feature "
          f"(unpruned codec: {unpruned['bits'] / unpruned['bits_original']:.2%}; unpruned reward {unpruned['reward']:.4f})")
    print(f"wrote {out / 'result.json'}, {out / 'history.csv'}, {out / 'reward.png'}")
    return 0
