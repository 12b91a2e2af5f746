"""What a benchmark reports of a search: best reward and Pareto hypervolume after a given budget.

Hypervolume is pymoo's (``pymoo.indicators.hv.HV``). The three objectives are all
minimised and scaled to [0, 1]: ``1 - accuracy``, device FLOPs / unpruned device
FLOPs, and bits sent / unpruned bits. The reference point is fixed at (1, 1, 1):
the worst each objective can be (a network that classifies nothing and prunes
nothing), so every design a search can find counts, and hypervolumes are
comparable across searchers, seeds and budgets on one env. The largest possible
value is 1.
"""

from __future__ import annotations

import numpy as np

from .common import SearchResult

REFERENCE = (1.0, 1.0, 1.0)
"""The hypervolume reference point in the scaled, minimised objective space."""


def objectives(result: SearchResult, episodes: int | None = None) -> np.ndarray:
    """(1 - accuracy, FLOPs fraction, bits fraction) of the first ``episodes`` episodes, one row each."""
    rows = result.history[:episodes]
    if not rows:
        return np.zeros((0, 3))
    f0, b0 = result.best_info["flops_original"], result.best_info["bits_original"]
    return np.array([[1 - r["accuracy"], r["flops"] / f0, r["bits"] / b0] for r in rows], dtype=float)


def hypervolume(points: np.ndarray, reference=REFERENCE) -> float:
    """Hypervolume dominated by ``points`` (minimised objectives) up to ``reference``."""
    from pymoo.indicators.hv import HV

    points = np.asarray(points, dtype=float)
    ref = np.asarray(reference, dtype=float)
    inside = points[(points < ref).all(1)] if len(points) else points
    return float(HV(ref_point=ref)(inside)) if len(inside) else 0.0


def best_at(result: SearchResult, episodes: int) -> float:
    """Best reward within the first ``episodes`` episodes."""
    curve = result.best_so_far()
    return float(curve[min(len(curve), episodes) - 1])


def hypervolume_at(result: SearchResult, episodes: int) -> float:
    """Hypervolume of the designs found within the first ``episodes`` episodes."""
    return hypervolume(objectives(result, episodes))


def mean_se(values) -> tuple[float, float]:
    """Mean and standard error (0 for one value)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0


def mean_se_text(values, signed: bool = False) -> str:
    """``mean ± s.e.`` to four decimals, as the benchmark reports print a cell (``signed``: with the mean's sign)."""
    mean, se = mean_se(values)
    return f"{mean:{'+' if signed else ''}.4f} ± {se:.4f}"


def paired_text(differences) -> str:
    """Two table cells for paired differences: ``mean ± s.e. | z`` (z = mean / s.e.; nan when the s.e. is 0)."""
    mean, se = mean_se(differences)
    return f"{mean_se_text(differences, signed=True)} | {mean / se if se > 0 else float('nan'):+.1f}"
