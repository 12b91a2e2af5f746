"""A monotone map from an evaluation's cheap accuracy to the accuracy after deployment.

A short recovery (a few fine-tune steps, or only re-estimated BN statistics) reads
a pruned network's accuracy low, and lower the more it is pruned, so the reward
punishes pruning that the longer fine-tune of deployment forgives. Multi-fidelity
surrogates correct this by fitting the cheap score to the expensive one on a
calibration panel. Here the map is a straight line with a positive slope, fitted
by least squares on networks that no measurement panel contains
(benchmarks/reward_fidelity.py ``--calibration-out``); a line needs few networks,
never ties two accuracies, and so never changes the accuracy ranking.

File format (``calibration.json`` beside the weights)::

    {"fits": [{"width": 8, "split_point": 13, "weights_sha256": "...",
               "evaluation": {"method": ..., "steps": ..., "batch": ..., "lr": ..., "bn_batches": ...},
               "slope": 0.9, "intercept": 0.1, "networks": 16, "panel_seed": 1000,
               "ground_truth": "..."}]}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .checkpoints import atomic_write
from .evaluation import EvalSettings

FILE_NAME = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    slope: float
    intercept: float

    def __post_init__(self) -> None:
        if not self.slope > 0:
            raise ValueError(f"calibration slope {self.slope} must be positive, or the map would not be monotone")

    def __call__(self, accuracy: float) -> float:
        return min(1.0, max(0.0, self.slope * accuracy + self.intercept))


def settings_key(settings: EvalSettings) -> dict:
    """The parts of the evaluation a fit depends on (not the seed: a fit serves every seed)."""
    d = asdict(settings)
    d.pop("seed")
    return d


def fit(proxy: list[float], deployed: list[float]) -> Calibration:
    """Least-squares line from proxy to deployed accuracy; the slope is floored at 1e-3 to stay monotone."""
    import numpy as np

    if len(proxy) < 3 or len(set(proxy)) < 2:
        raise ValueError("a calibration needs at least 3 networks with different proxy accuracies")
    slope, intercept = np.polyfit(np.asarray(proxy, float), np.asarray(deployed, float), 1)
    return Calibration(max(float(slope), 1e-3), float(intercept))


def _entries(path: Path) -> list[dict]:
    return json.loads(path.read_text())["fits"] if path.exists() else []


def lookup(directory: Path, width: int, split_point: int, weights_sha256: str, settings: EvalSettings) -> Calibration:
    """The fit for these weights and settings, or a ValueError saying what exists and how to fit one."""
    path = Path(directory) / FILE_NAME
    want = settings_key(settings)
    entries = [e for e in _entries(path) if e["width"] == width and e["split_point"] == split_point]
    for e in entries:
        if e["evaluation"] == want and e["weights_sha256"] == weights_sha256:
            return Calibration(e["slope"], e["intercept"])
    have = ", ".join(sorted({e["evaluation"]["method"] for e in entries})) or "none"
    raise ValueError(
        f"calibrated=True but {path} has no fit for width {width}, split {split_point}, evaluation {want} and these "
        f"weights (fits there for this split: {have}). Fit one with benchmarks/reward_fidelity.py "
        f"--split {split_point} --calibration-out {path}, or pass calibrated=False"
    )


def save(directory: Path, width: int, split_point: int, weights_sha256: str, settings: EvalSettings,
         calibration: Calibration, **provenance) -> None:
    """Add or replace the fit for (width, split, weights, settings) in ``directory/calibration.json``, atomically."""
    path = Path(directory) / FILE_NAME
    key = settings_key(settings)
    keep = [e for e in _entries(path)
            if not (e["width"] == width and e["split_point"] == split_point and e["evaluation"] == key)]
    entry = {"width": width, "split_point": split_point, "weights_sha256": weights_sha256, "evaluation": key,
             "slope": calibration.slope, "intercept": calibration.intercept, **provenance}
    text = json.dumps({"fits": keep + [entry]}, indent=2) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))
