"""Black-box optimisers over the whole ratio vector, from Optuna: TPE, NSGA-II and CMA-ES.

Each episode is one trial: the sampler proposes a preserved ratio for every layer
at once, the vector is played as an episode through the shared loop
(:func:`agents.common.design_loop`, so wrappers and the budget mode's action limits
apply as they do to any agent), and the final info is told back. With ``batch`` > 1,
that many trials are asked before any is told (Optuna's ask-and-tell allows it), and
a ``player`` may evaluate them in parallel. TPE and CMA-ES
maximise the env's scalar reward; NSGA-II maximises the objectives
(accuracy, nu, rho) as a vector and the best-so-far scalar reward is recorded
beside it, so every searcher is compared on the same curve.

Optuna is an optional extra: ``pip install 'coinfer-env[optuna]'``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import gymnasium as gym

from .common import Callback, Player, SearchResult, design_loop, new_result

SAMPLERS = ("tpe", "nsga2", "cmaes")


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna logs every trial at INFO; silence it for the run and give the caller its verbosity back."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


@dataclass
class OptunaSearch:
    """An Optuna sampler proposing whole ratio vectors; seeded, so a seed gives the same run."""

    sampler: str = "tpe"
    """``tpe`` (TPESampler), ``nsga2`` (NSGAIISampler, multi-objective) or ``cmaes`` (CmaEsSampler)."""
    population: int = 16
    """NSGA-II population size (smaller than Optuna's 50, to breed within short budgets)."""
    name: str = ""
    batch: int = 1
    """Trials asked before any is told; the run differs with the batch size (fewer results inform each ask)."""
    player: Player | None = None
    """Plays a batch at once (:class:`agents.players.RayPlayer`); None plays on the env, one after another."""

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler={self.sampler!r} is invalid: choose one of {', '.join(SAMPLERS)}")
        self.name = self.name or self.sampler

    def _study(self, seed: int):
        import optuna

        s = optuna.samplers
        if self.sampler == "tpe":
            return optuna.create_study(direction="maximize", sampler=s.TPESampler(seed=seed))
        if self.sampler == "cmaes":  # Optuna's defaults: mean at the centre of the cube (0.5), step size 1/6
            return optuna.create_study(direction="maximize", sampler=s.CmaEsSampler(seed=seed))
        return optuna.create_study(directions=["maximize"] * 3, sampler=s.NSGAIISampler(population_size=self.population, seed=seed))

    def run(self, env: gym.Env, episodes: int, seed: int, callback: Callback | None = None) -> SearchResult:
        layers = env.unwrapped.num_layers
        result = new_result(self.name, env, seed)
        with _quiet_optuna():
            study = self._study(seed)
            asked = []

            def propose(n: int) -> list[list[float]]:
                asked.extend(study.ask() for _ in range(n))
                return [[t.suggest_float(f"a{i:02d}", 0.0, 1.0) for i in range(layers)] for t in asked[-n:]]

            def tell(info: dict) -> None:
                values = [info["accuracy"], info["nu"], info["rho"]] if self.sampler == "nsga2" else info["reward"]
                study.tell(asked.pop(0), values)

            return design_loop(env, episodes, seed, result, propose, tell, callback, self.batch, self.player)
