"""A monotone map from an evaluation's cheap accuracy to the accuracy after deployment.

A short recovery (a few fine-tune steps, or only re-estimated BN statistics) reads
a pruned network's accuracy low, and lower the more it is pruned, so the reward
punishes pruning that the longer fine-tune of deployment forgives. Multi-fidelity
surrogates correct this by fitting the cheap score to the expensive one on a
calibration panel, here networks that no measurement panel contains
(benchmarks/fit_calibration.py at any split point; ground_truth_check.py also judges
them on measurement panels). Two monotone maps are fitted:

- ``line``: least squares with a positive slope; it never ties two accuracies, so it
  keeps the accuracy ranking and changes only the balance against FLOPs and bits;
- ``isotonic``: the non-decreasing least-squares fit (pool adjacent violators),
  joined linearly between the calibration networks and flat beyond them. Where the
  deployed accuracy does not rise with the proxy (among lightly pruned networks,
  whose differences are below what the test images resolve) it is flat, so it ties
  those networks' accuracies and leaves their ranking to the FLOPs and bits.

Both are a :class:`Calibration`: knots of a non-decreasing piecewise-linear map.

File format (``calibration.json`` beside the weights)::

    {"fits": [{"width": 8, "split_point": 13, "weights_sha256": "...",
               "evaluation": {"method": ..., "steps": ..., "batch": ..., "lr": ..., "bn_batches": ...},
               "kind": "isotonic", "knots": [[0.45, 0.52], ...], "networks": 55, "panel_size": 16,
               "panel_seed": 1000, "search_networks": 32, "search_seed": 3000,
               "loo_error": {"line": 0.019, "isotonic": 0.017}, "ground_truth": "..."}],
     "withdrawn": [{"width": 8, "split_point": 16, "evaluation": {...}, "reason": "..."}]}

``networks`` counts the calibration panel drawn by benchmarks/reward_fidelity.py's
``panels(config, panel_size, panel_seed - 1000)`` plus, where ``search_seed`` is
present, the first ``search_networks`` designs of its ``calibration_search``. A
``withdrawn`` record (optional) names a fit that a held-out check took out
(fit_calibration.py ``--check``, search_proxies.py ``--withdraw``), and why; ``lookup``'s
refusal quotes it. Where a fit was shipped when it was withdrawn, the record keeps that
entry whole under ``"fit"``: ``lookup`` never applies it, but the figures that withdrew
it can be recomputed (:func:`withdrawn_entry`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .checkpoints import atomic_write
from .evaluation import EvalSettings

FILE_NAME = "calibration.json"
KINDS = ("line", "isotonic")


@dataclass(frozen=True)
class Calibration:
    """A non-decreasing piecewise-linear map through ``knots`` (x, y), flat beyond them, clipped to [0, 1]."""

    knots: tuple[tuple[float, float], ...]
    kind: str = "line"

    def __post_init__(self) -> None:
        xs, ys = zip(*self.knots) if self.knots else ((), ())
        if len(xs) < 2 or any(b <= a for a, b in zip(xs, xs[1:])):
            raise ValueError(f"calibration knots {self.knots} need at least 2 points with increasing x")
        if any(b < a for a, b in zip(ys, ys[1:])):
            raise ValueError(f"calibration knots {self.knots} fall somewhere, so the map would not be monotone")

    @classmethod
    def line(cls, slope: float, intercept: float) -> Calibration:
        """``slope * accuracy + intercept`` on [0, 1]; the slope must be positive."""
        if not slope > 0:
            raise ValueError(f"calibration slope {slope} must be positive, or the map would not be monotone")
        return cls(((0.0, intercept), (1.0, intercept + slope)), "line")

    def digest(self) -> str:
        """sha256 (16 hex digits) of the kind and knots: a result's provenance names the map its rewards went through."""
        return hashlib.sha256(json.dumps([self.kind, self.knots]).encode()).hexdigest()[:16]

    def __call__(self, accuracy: float) -> float:
        xs, ys = zip(*self.knots)
        return min(1.0, max(0.0, float(np.interp(accuracy, xs, ys))))


def settings_key(settings: EvalSettings) -> dict:
    """The parts of the evaluation a fit depends on (not the seed: a fit serves every seed)."""
    d = asdict(settings)
    d.pop("seed")
    return d


def fit(proxy: list[float], deployed: list[float], kind: str = "line", weights: list[float] | None = None) -> Calibration:
    """The (weighted) least-squares map of ``kind`` from proxy to deployed accuracy.

    A line's slope is floored at 1e-3 so that a falling fit stays monotone. The
    isotonic fit pools networks with equal proxy accuracy first, by their total
    weight. A network of weight 2 counts as two networks of weight 1.
    """
    if kind not in KINDS:
        raise ValueError(f"calibration kind {kind!r} is invalid: use one of {', '.join(KINDS)}")
    if len(proxy) < 3 or len(set(proxy)) < 2:
        raise ValueError("a calibration needs at least 3 networks with different proxy accuracies")
    x, y = np.asarray(proxy, float), np.asarray(deployed, float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, float)
    if w.shape != x.shape or not (w > 0).all():
        raise ValueError(f"calibration weights {weights} must be positive, one per network")
    if kind == "line":
        slope, intercept = np.polyfit(x, y, 1, w=np.sqrt(w))  # polyfit weights the unsquared residuals
        return Calibration.line(max(float(slope), 1e-3), float(intercept))
    from scipy.optimize import isotonic_regression  # scipy is needed only to fit, not to apply

    xs, inverse = np.unique(x, return_inverse=True)
    total = np.bincount(inverse, weights=w)
    ys = isotonic_regression(np.bincount(inverse, weights=w * y) / total, weights=total).x
    return Calibration(tuple(zip(xs.tolist(), ys.tolist())), "isotonic")


def loo_error(proxy: list[float], deployed: list[float], kind: str) -> float:
    """Mean absolute leave-one-out error of ``kind`` on the calibration panel: how it would do on a new network."""
    errors = [abs(fit(proxy[:i] + proxy[i + 1:], deployed[:i] + deployed[i + 1:], kind)(proxy[i]) - deployed[i])
              for i in range(len(proxy))]
    return float(np.mean(errors))


def _read(path: Path) -> tuple[list[dict], list[dict]]:
    """The file's fits, and its withdrawn records (a fit taken out after a held-out check, with the reason)."""
    if not path.exists():
        return [], []
    data = json.loads(path.read_text())
    return data["fits"], data.get("withdrawn", [])


def _same(e: dict, width: int, split_point: int, key: dict) -> bool:
    return e["width"] == width and e["split_point"] == split_point and e["evaluation"] == key


def from_entry(e: dict) -> Calibration:
    """The map of a stored entry (as :func:`stored` returns it)."""
    if "knots" not in e:  # written before the isotonic kind: a line
        return Calibration.line(e["slope"], e["intercept"])
    return Calibration(tuple(map(tuple, e["knots"])), e["kind"])


def stored(directory: Path, width: int, split_point: int, weights_sha256: str, settings: EvalSettings) -> dict | None:
    """The stored entry of the fit for these weights and settings (its map and provenance: how many networks, the
    panel's seed, how many search-like designs, the ground truth), or None."""
    fits, _ = _read(Path(directory) / FILE_NAME)
    want = settings_key(settings)
    return next((e for e in fits if _same(e, width, split_point, want) and e["weights_sha256"] == weights_sha256), None)


def withdrawn_entry(directory: Path, width: int, split_point: int, weights_sha256: str,
                    settings: EvalSettings) -> dict | None:
    """The entry a withdrawal took out of the fits for these weights and settings (as :func:`stored` returned it while
    it shipped), or None. For judging it again only: ``lookup`` refuses a withdrawn fit."""
    _, withdrawn = _read(Path(directory) / FILE_NAME)
    want = settings_key(settings)
    return next((w["fit"] for w in withdrawn if _same(w, width, split_point, want) and "fit" in w
                 and w["fit"]["weights_sha256"] == weights_sha256), None)


def recorded(directory: Path, width: int, split_point: int, weights_sha256: str,
             settings: EvalSettings) -> tuple[dict, bool] | None:
    """The entry of the fit for these weights and settings, shipped or else kept by its withdrawal record, and whether
    it was withdrawn; None if neither. For judging a map, including one ``lookup`` refuses."""
    if (e := stored(directory, width, split_point, weights_sha256, settings)) is not None:
        return e, False
    e = withdrawn_entry(directory, width, split_point, weights_sha256, settings)
    return None if e is None else (e, True)


def lookup(directory: Path, width: int, split_point: int, weights_sha256: str, settings: EvalSettings) -> Calibration:
    """The fit for these weights and settings, or a ValueError saying what exists, why a fit was withdrawn, and how
    to fit one."""
    if (e := stored(directory, width, split_point, weights_sha256, settings)) is not None:
        return from_entry(e)
    path = Path(directory) / FILE_NAME
    want = settings_key(settings)
    fits, withdrawn = _read(path)
    entries = [e for e in fits if e["width"] == width and e["split_point"] == split_point]
    have = ", ".join(sorted({e["evaluation"]["method"] for e in entries})) or "none"
    why = "".join(f" Its fit was withdrawn: {w['reason']}." for w in withdrawn if _same(w, width, split_point, want))
    raise ValueError(
        f"calibrated=True but {path} has no fit for width {width}, split {split_point}, evaluation {want} and these "
        f"weights (fits there for this split: {have}).{why} Fit one with benchmarks/fit_calibration.py "
        f"--splits {split_point} --calibration-search 12 --calibration-out {directory} --check narrow=0,1 sweep=0 "
        "search=0 (its --methods names the evaluations it fits; it ships only a map that meets the rule for keeping "
        "one), or pass another evaluation with a fit here, or calibrated=False"
    )


def entry(width: int, split_point: int, weights_sha256: str, settings: EvalSettings, calibration: Calibration,
          **provenance) -> dict:
    """The stored form of a fit (what :func:`save` ships and a withdrawal record keeps)."""
    return {"width": width, "split_point": split_point, "weights_sha256": weights_sha256,
            "evaluation": settings_key(settings), "kind": calibration.kind,
            "knots": [list(k) for k in calibration.knots], **provenance}


def save(directory: Path, width: int, split_point: int, weights_sha256: str, settings: EvalSettings,
         calibration: Calibration, **provenance) -> None:
    """Add or replace the fit for (width, split, weights, settings) in ``directory/calibration.json``, atomically;
    a record that such a fit was withdrawn goes."""
    save_entry(directory, entry(width, split_point, weights_sha256, settings, calibration, **provenance))


def save_entry(directory: Path, new: dict) -> None:
    """:func:`save`, for a fit already in its stored form (an :func:`entry`)."""
    path = Path(directory) / FILE_NAME
    width, split_point, key = new["width"], new["split_point"], new["evaluation"]
    fits, withdrawn = _read(path)
    _write(path, [e for e in fits if not _same(e, width, split_point, key)] + [new],
           [w for w in withdrawn if not _same(w, width, split_point, key)])


def withdraw(directory: Path, width: int, split_point: int, settings: EvalSettings, reason: str,
             fit: dict | None = None) -> None:
    """Take the fit for (width, split, settings) out of ``directory/calibration.json``, atomically, and record
    ``reason``, which ``lookup``'s refusal then quotes. The record keeps ``fit`` (an :func:`entry`: the fit that
    ``reason`` judged, where that is a new one that never shipped), or else the fit it takes out, or, where none
    ships, the one an earlier record kept; so the map the reason speaks of can be judged again."""
    path = Path(directory) / FILE_NAME
    key = settings_key(settings)
    fits, withdrawn = _read(path)
    taken = [fit] if fit is not None else []
    taken += [e for e in fits if _same(e, width, split_point, key)]
    taken += [w["fit"] for w in withdrawn if _same(w, width, split_point, key) and "fit" in w]
    record = {"width": width, "split_point": split_point, "evaluation": key, "reason": reason,
              **({"fit": taken[0]} if taken else {})}
    _write(path, [e for e in fits if not _same(e, width, split_point, key)],
           [w for w in withdrawn if not _same(w, width, split_point, key)] + [record])


def _write(path: Path, fits: list[dict], withdrawn: list[dict]) -> None:
    # sorted, so refitting one split rewrites only that split's lines of the committed file
    def order(e: dict) -> tuple:
        return e["width"], e["split_point"], json.dumps(e["evaluation"], sort_keys=True)

    data = {"fits": sorted(fits, key=order), **({"withdrawn": sorted(withdrawn, key=order)} if withdrawn else {})}
    text = json.dumps(data, indent=2) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))
