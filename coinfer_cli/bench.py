"""``coinfer bench``: every searcher on the same seeds and budget; bench.md, bench.json, bench.png."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from .args import make_env, parse_env_kwargs
from .files import check_writable_dir


def run(args: argparse.Namespace) -> int:
    from agents.harness import compare, summarise

    if args.backend == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise ValueError("--backend ray needs Ray: pip install 'ray>=2.9' (or coinfer-env[ray])")
    env_kwargs = parse_env_kwargs(args.env_kwargs)
    make_env(args.env, env_kwargs).close()  # bad input fails before any run starts
    out = Path(args.out)
    check_writable_dir(out, "--out")
    command = "coinfer bench " + shlex.join(sys.argv[2:]) if Path(sys.argv[0]).name == "coinfer" else ""
    start = time.time()
    results = compare(args.env, env_kwargs, args.agents, args.seeds, args.episodes, out,
                      jobs=args.jobs, buffer_episodes=args.buffer_episodes, threads=args.threads,
                      backend=args.backend, ray_address=args.ray_address, reuse=args.reuse,
                      progress=lambda d: print(f"done: {d['agent']} seed {d['seed']} ({time.time() - start:.0f} s)", flush=True))
    print(summarise(results, args.episodes, out, command))
    print(f"wrote {out / 'bench.md'}, {out / 'bench.json'}, {out / 'bench.png'} in {time.time() - start:.0f} s")
    return 0
