"""Argument types shared by the subcommands: each rejects bad text with a message naming it."""

from __future__ import annotations

import argparse
import json
from typing import Sequence

NUM_SPLITS = 16  # the residual blocks of ResNet-50; architecture.NUM_BLOCKS, kept import-free here


def positive_int(text: str) -> int:
    return _int_at_least(text, 1)


def nonnegative_int(text: str) -> int:
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{value} is below {low}: use an integer >= {low}")
    return value


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction in [0, 1]")
    return value


def parse_splits(text: str) -> list[int]:
    """'all' or a comma list of split points in 1..16."""
    if text == "all":
        return list(range(1, NUM_SPLITS + 1))
    try:
        splits = sorted({int(s) for s in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use 'all' or a comma list such as 1,5,13") from None
    if not all(1 <= s <= NUM_SPLITS for s in splits):
        raise argparse.ArgumentTypeError(f"{text!r}: split points lie in 1..{NUM_SPLITS}")
    return splits


def agent_list(text: str) -> list[str]:
    from .main import AGENTS

    agents = [a.strip() for a in text.split(",") if a.strip()]
    if not agents:
        raise argparse.ArgumentTypeError(f"{text!r} names no agent: give a comma list of {', '.join(AGENTS)}")
    unknown = [a for a in agents if a not in AGENTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"{unknown[0]!r} is unknown: choose from {', '.join(AGENTS)}")
    return agents


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


def make_env(env_id: str, kwargs: dict):
    """``gym.make`` after checking the id and the keyword names, so a typo is one line naming it."""
    import inspect

    import gymnasium as gym

    import coinfer_env
    from coinfer_env.envs import CoInferEnv

    coinfer_env.preset(env_id)  # an unknown id: ValueError naming it and the known ones
    known = [p for p in inspect.signature(CoInferEnv.__init__).parameters if p != "self"]
    unknown = [k for k in kwargs if k not in known]
    if unknown:
        raise ValueError(f"--env-kwargs {unknown[0]}: no such keyword; the env takes {', '.join(known)}")
    return gym.make(env_id, **kwargs)
