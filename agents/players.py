"""Play a batch of whole designs in parallel: Ray actors, each holding its own env.

Population searchers (random, TPE, CMA-ES, NSGA-II) propose several designs before
they need any result back, so a batch can be evaluated at once. ``RayPlayer`` keeps
``workers`` actors alive for the whole search (building an env loads the network and
the data, which costs more than a Tiny episode's recovery step), hands each design
to the next free actor, and returns the outcomes in the order the designs came, so
a seed and a batch size give the same run however the batch is played (tested
against playing it here, on a local Ray instance; a remote cluster is not tested).

Every actor builds its env from the caller's ``env.spec`` (the id, the keywords and
any wrappers ``gym.make`` applied) and runs torch with ``threads`` threads. The
evaluation cache key holds the thread count, and results are only bit-identical
between runs with the same count. Ray is an optional extra: ``pip install 'coinfer-env[ray]'``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from .common import Outcome, play_design


class _Worker:
    """One env in one Ray actor process."""

    def __init__(self, spec: Any, threads: int) -> None:
        import torch

        import coinfer_env  # noqa: F401  (registers the ids in the actor's process)

        torch.set_num_threads(threads)
        self.env = gym.make(spec)

    def play(self, design: list[float]) -> Outcome:
        return play_design(self.env, design)


class RayPlayer:
    """A pool of ``workers`` Ray actors playing designs on copies of ``env``; a :data:`agents.common.Player`.

    Starts a local Ray instance unless one is running or ``address`` names a cluster,
    and shuts down only what it started (``close()``, or use it as a context manager).
    """

    def __init__(self, env: gym.Env, workers: int, threads: int = 1, address: str | None = None) -> None:
        import ray
        from ray.util import ActorPool

        if workers < 1 or threads < 1:
            raise ValueError(f"workers={workers}, threads={threads}: both must be at least 1")
        if env.spec is None:
            raise ValueError("the env has no spec: build it with gym.make so that the workers can rebuild it")
        self._started = not ray.is_initialized()
        if self._started:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        actor = ray.remote(num_cpus=threads)(_Worker)
        self._pool = ActorPool([actor.remote(env.spec, threads) for _ in range(workers)])

    def __call__(self, designs: list[list[float]]) -> list[Outcome]:
        return list(self._pool.map(lambda worker, design: worker.play.remote(design), designs))

    def close(self) -> None:
        import ray

        if self._started and ray.is_initialized():
            ray.shutdown()
        self._started = False

    def __enter__(self) -> "RayPlayer":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
