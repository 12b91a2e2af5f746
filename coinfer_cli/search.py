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
    from agents.harness import plot_search
    from agents.registry import BATCHED, make_searcher
    from coinfer_env.checkpoints import remove_stale_temporaries

    if args.resume and args.agent != "ddpg":
        raise ValueError(f"--resume works with --agent ddpg only, not {args.agent!r}")
    if (args.batch > 1 or args.backend == "ray") and args.agent not in BATCHED:
        raise ValueError(f"--batch and --backend ray work with --agent {', '.join(BATCHED)}, not {args.agent!r}")
    out = Path(args.out)
    check_writable_dir(out, "--out")
    env = make_env(args.env, parse_env_kwargs(args.env_kwargs))  # bad input fails before anything is written
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "agent_state.pt" if args.resume else None
    if args.resume:
        for stale in remove_stale_temporaries(out):
            print(f"removed {stale.name}, left by a run that was killed while writing it")
    player = _player(args, env)
    agent = make_searcher(args.agent, args.buffer_episodes, checkpoint=checkpoint, log_dir=out / "sb3", batch=args.batch, player=player)
    bar = tqdm(total=args.episodes, desc=f"{args.agent} search", unit="ep")

    def after_episode(result: SearchResult) -> None:
        result.save(out)  # a stopped search keeps every finished episode
        bar.n = len(result.history)
        bar.set_postfix(best=f"{result.best_reward:.4f}", acc=f"{result.best_info.get('accuracy', 0):.3f}")
        bar.refresh()

    start = time.time()
    try:
        result = agent.run(env, args.episodes, args.seed, callback=after_episode)
    finally:
        if player is not None:
            player.close()
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


def _player(args: argparse.Namespace, env):
    """Ray actors for ``--backend ray`` (one per design of a batch); None plays on ``env`` here."""
    if args.backend != "ray":
        return None
    from agents.players import RayPlayer

    try:
        return RayPlayer(env, workers=args.batch, address=args.ray_address)
    except ImportError:
        raise ValueError("--backend ray needs Ray: pip install 'coinfer-env[ray]'") from None
