"""Seeded randomness that leaves the caller's global state alone."""

from __future__ import annotations

from contextlib import contextmanager
import random
from typing import Iterator

import numpy as np
import torch


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's global CPU generator inside the block and restore the caller's state after.

    Module constructors (``nn.Linear``, ``nn.Conv2d``) draw their initial weights from
    the global generator; this makes that draw repeatable without changing what the
    caller's own ``torch.rand`` returns next. Weights are built on the CPU and moved
    afterwards, so the CUDA generators are not touched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextmanager
def global_state_restored() -> Iterator[None]:
    """Let a library that seeds the global generators (SB3's ``set_random_seed``) run inside,
    and give the caller back Python's, numpy's and torch's CPU generators as they were."""
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
