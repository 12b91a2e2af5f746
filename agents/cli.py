"""The ``coinfer`` command: info and train (from coinfer_env), search, bench and export."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

from coinfer_env import cli as env_cli

from .common import SearchResult
from .harness import agent_factory, compare, plot_search, summarise

AGENTS = ("ddpg", "sb3-ddpg", "random", "uniform-sweep")


def parse_env_kwargs(pairs: Sequence[str]) -> dict:
    """``key=value`` pairs; values are read as JSON when they parse (13, 0.5, true), else as text."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"--env-kwargs {pair!r}: write key=value, e.g. split_point=13")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def cmd_search(args: argparse.Namespace) -> int:
    import gymnasium as gym
    from tqdm.auto import tqdm

    import coinfer_env  # noqa: F401  (registers the ids)

    if args.resume and args.agent != "ddpg":
        raise ValueError(f"--resume works with --agent ddpg only, not {args.agent!r}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env_kwargs = parse_env_kwargs(args.env_kwargs)
    env = gym.make(args.env, **env_kwargs)
    checkpoint = out / "agent_state.pt" if args.resume else None
    agent = agent_factory(args.agent, args.buffer_episodes, checkpoint=checkpoint, log_dir=out / "sb3")
    bar = tqdm(total=args.episodes, desc=f"{args.agent} search", unit="ep")

    def progress(result: SearchResult) -> None:
        bar.n = len(result.history)
        bar.set_postfix(best=f"{result.best_reward:.4f}", acc=f"{result.best_info.get('accuracy', 0):.3f}")
        bar.refresh()

    start = time.time()
    result = agent.run(env, args.episodes, args.seed, callback=progress)
    bar.close()
    result.env_kwargs = {**result.env_kwargs, **env_kwargs}
    result.to_json(out / "result.json")
    result.write_csv(out / "history.csv")
    plot_search(result, out / "reward.png")
    info = result.best_info
    print(f"best reward {result.best_reward:.4f}: accuracy {info['accuracy']:.4f}, "
          f"FLOPs {info['flops']:,} of {info['flops_original']:,}, bits {info['bits']:,} of {info['bits_original']:,} "
          f"({len(result.history)} episodes, {time.time() - start:.0f} s)")
    print(f"wrote {out / 'result.json'}, {out / 'history.csv'}, {out / 'reward.png'}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    agents = [a.strip() for a in args.agents.split(",") if a.strip()]
    for a in agents:
        if a not in AGENTS:
            raise ValueError(f"agent {a!r} is unknown: choose from {', '.join(AGENTS)}")
    out = Path(args.out)
    command = "coinfer " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("coinfer") else ""
    start = time.time()
    results = compare(args.env, parse_env_kwargs(args.env_kwargs), agents, args.seeds, args.episodes, out,
                      jobs=args.jobs, buffer_episodes=args.buffer_episodes, threads=args.threads,
                      progress=lambda d: print(f"done: {d['agent']} seed {d['seed']} ({time.time() - start:.0f} s)", flush=True))
    print(summarise(results, args.episodes, out, command))
    print(f"wrote {out / 'bench.md'}, {out / 'bench.png'} in {time.time() - start:.0f} s")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import gymnasium as gym

    import coinfer_env  # noqa: F401
    from coinfer_env.data import Splits, load
    from coinfer_env.export import export

    result = SearchResult.from_json(Path(args.result))
    if not result.best_info:
        raise ValueError(f"{args.result} has no finished episode to export")
    env = gym.make(result.env_id, **result.env_kwargs).unwrapped
    kwargs = {**coinfer_env.preset(result.env_id), **result.env_kwargs}
    data = load(kwargs.get("dataset", "cifar10-subset"), kwargs.get("data_root", "~/.cache/coinfer_env/data"))
    data = Splits(data.train.to(env.torch_device), data.val, data.test)
    report = export(env.trained, result.best_info["kept"], data, Path(args.out), args.epochs, args.lr, args.seed)
    print(json.dumps(report, indent=2))
    print(f"wrote {args.out}/device.pt, server.pt and export.json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = env_cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))

    s = sub.add_parser("search", help="search preserved ratios with an RL agent or a baseline")
    s.add_argument("--env", default="CoInfer-ResNet50-Tiny-v0")
    s.add_argument("--agent", choices=AGENTS, default="ddpg")
    s.add_argument("--episodes", type=int, default=1100)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True, help="run directory, e.g. runs/NAME")
    s.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE")
    s.add_argument("--buffer-episodes", type=int, help="replay capacity in episodes (default 100; warm-up is 2/3 of it)")
    s.add_argument("--resume", action="store_true", help="checkpoint every episode and continue from out/agent_state.pt")
    s.set_defaults(func=cmd_search)

    b = sub.add_parser("bench", help="compare agents under one budget and the same seeds")
    b.add_argument("--env", default="CoInfer-ResNet50-Tiny-v0")
    b.add_argument("--agents", default="ddpg,sb3-ddpg,random")
    b.add_argument("--seeds", type=int, default=3)
    b.add_argument("--episodes", type=int, default=100)
    b.add_argument("--out", required=True)
    b.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE")
    b.add_argument("--buffer-episodes", type=int)
    b.add_argument("--jobs", type=int, default=1, help="parallel processes")
    b.add_argument("--threads", type=int, help="torch threads per process")
    b.set_defaults(func=cmd_bench)

    e = sub.add_parser("export", help="step 3: rebuild the best network, fine-tune it longer, save TorchScript")
    e.add_argument("result", help="a search's result.json")
    e.add_argument("--out", required=True)
    e.add_argument("--epochs", type=int, default=10)
    e.add_argument("--lr", type=float, default=0.01)
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return env_cli.run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
