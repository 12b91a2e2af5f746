"""``coinfer validate``: rebuild a search's env from its result.json and replay the best design.

As CompilerGym's ``validate()``: the result records the env id, every keyword,
and the code, weights, torch version, thread count and device it ran with. The
best design's ratios are evaluated afresh (no cache); the check passes when the
reward matches, and otherwise names each value that differs and each recorded
condition that is not the same now. Exit status 0: it matches; 1: it does not;
2: the file or its env cannot be used.
"""

from __future__ import annotations

import argparse

from .args import make_env

COMPARED = ("reward", "accuracy", "flops", "bits", "kept")


def run(args: argparse.Namespace) -> int:
    from agents.common import SearchResult

    result = SearchResult.from_json(args.result)
    if not result.best_info or "preserved_ratios" not in result.best_info:
        raise ValueError(f"{args.result} holds no finished episode: nothing to validate")
    env = make_env(result.env_id, {**result.env_kwargs, "cache": False})
    now = env.unwrapped.provenance()
    info = env.unwrapped.evaluate(result.best_info["preserved_ratios"])
    recorded = {**result.best_info, "reward": result.best_reward}
    differs = [k for k in COMPARED if not _same(recorded.get(k), info[k], args.tolerance)]
    for k in COMPARED:
        print(f"{k:>9}: recorded {_show(recorded.get(k))}, replayed {_show(info[k])}{'   <- differs' if k in differs else ''}")
    if not differs:
        print(f"valid: the best design of {args.result} replays to the same reward ({info['reward']:.6f})")
        return 0
    changed = [f"{k}: {result.provenance.get(k)!r} then, {v!r} now" for k, v in now.items() if result.provenance.get(k) != v]
    print(f"INVALID: {', '.join(differs)} differ" + ("; conditions that changed: " + "; ".join(changed) if changed else
          "; every recorded condition is the same, so the evaluation is not repeatable here: please report it"))
    return 1


def _same(a, b, tolerance: float) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= tolerance
    return a == b


def _show(v) -> str:
    return f"{v:.6f}" if isinstance(v, float) else str(v)
