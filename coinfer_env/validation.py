"""The checks of user-given values, written once: each returns the value normalised or raises
a ValueError naming the keyword, the bad value and what to give instead.

numpy scalars are accepted wherever Python numbers are (they come out of gymnasium
spaces and numpy arrays), and returned as Python numbers; a bool is never taken for
a number, nor 0/1 for a bool.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def integer(name: str, value: Any, lo: int, hi: int | None = None, hint: str = "") -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < lo or (hi is not None and value > hi):
        span = f"in {lo}..{hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"{name}={value!r} is invalid: use an integer {span}{hint}")
    return int(value)


def number(name: str, value: Any, lo: float, hi: float, closed_lo: bool = True) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
    if not ok or not ((value >= lo) if closed_lo else (value > lo)) or value > hi:
        raise ValueError(f"{name}={value!r} is invalid: use a number in {'[' if closed_lo else '('}{lo}, {hi}]")
    return float(value)


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={value!r} is invalid: use True or False")
    return bool(value)


def choice(name: str, value: Any, options: tuple) -> Any:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name}={value!r} is invalid: choose one of {', '.join(map(str, options))}")
    return value


def path_or_none(name: str, value: Any) -> Any:
    """None (the default) or a non-empty path; '' would silently mean the current directory."""
    from pathlib import Path

    if value is None:
        return None
    if not isinstance(value, (str, Path)) or str(value) == "":
        raise ValueError(f"{name}={value!r} is invalid: give a directory path, or leave it out for the default")
    return Path(value).expanduser()
