"""Seeded randomness that leaves the caller's global state alone."""

from __future__ import annotations

from contextlib import contextmanager
import random
from typing import Iterator

import numpy as np
import torch
import torch.utils.deterministic


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


@contextmanager
def deterministic_kernels() -> Iterator[None]:
    """Deterministic CUDA kernels inside the block (cuDNN's deterministic algorithms, no
    autotuning, torch's deterministic mode), and the caller's settings restored after.

    cuBLAS also needs ``CUBLAS_WORKSPACE_CONFIG`` set before its first use in the
    process: :func:`require_deterministic_cublas` does that. On the CPU these settings
    change no result: CPU kernels are deterministic for a fixed thread count.

    Torch's deterministic mode also fills every new tensor with NaN by default, a
    debugging aid against reading uninitialised memory; no correct kernel's result
    depends on it, and on a 2-core CPU it made the evaluation of a Tiny design a median
    1.11 times slower (benchmarks/nan_fill.py), so it is off inside the block.
    """
    det = torch.utils.deterministic
    saved = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark, det.fill_uninitialized_memory)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    det.fill_uninitialized_memory = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[2], saved[3]
        det.fill_uninitialized_memory = saved[4]


def require_deterministic_cublas() -> None:
    """Set ``CUBLAS_WORKSPACE_CONFIG`` as torch's reproducibility notes require (unless the
    user set it); it takes effect only if cuBLAS has not yet been used in this process."""
    import os

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
