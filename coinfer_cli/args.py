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
