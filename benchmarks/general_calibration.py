"""Judge one ``calibrated=True`` map for every split point, anchored on each split's unpruned network.

    .venv/bin/python benchmarks/general_calibration.py [--out docs/results/calibration/general.md]

The rule it applies was written in docs/environment.md ("One map for every split point") before any map across
splits was fitted. A per-split map needs about an hour of export fine-tunes per split on a 2-core CPU; this asks
whether the splits that have truths can serve the others. The anchor ``a`` is the raw accuracy of the split's
unpruned network under the same evaluation, which the env can measure at any split. Three isotonic candidates, each
fitted to the pooled calibration networks of the splits it is given:

  - pooled: deployed = g(raw)
  - shift:  deployed = a + g(raw - a)
  - scale:  deployed = a * g(raw / a)

The candidate is chosen on calibration panels alone (leave one split out: fit on the other splits' calibration
networks, predict the held-out split's); the chosen one is then judged, at each split, on that split's narrow and
sweep panels with the map fitted on the other splits' calibration panels only, by fit_calibration.keep_rule.

It computes nothing new: it reads the committed rows (raw ``reconstruct-8`` and the export recipe's seed 0) of
fit_calibration.py (splits 4, 7, 16: results/calibration) and of reward_fidelity.py and ground_truth_check.py
(split 13: results/reward_fidelity), and draws the panels as those scripts did (``panels(config, 16, 0)``).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from fit_calibration import keep_rule
from ground_truth_check import compare
from reward_fidelity import DEFAULT, bundled_tiny, hosts_text, panels, read_rows

from coinfer_env import calibration as calib
from coinfer_env import checkpoints as ckpt
from coinfer_env.architecture import full_kept

SPLITS = (4, 7, 13, 16)
CHECKED = ("narrow", "sweep")  # the rule's panels; split 13's broad panel is reported beside them


def judged(split: int) -> tuple[str, ...]:
    """The held-out panels the report shows at ``split``: the rule's, and at split 13 also the broad panel, whose
    truths existed before the rule was written (reported, not counted)."""
    return CHECKED + (("broad",) if split == 13 else ())


RESULTS = Path("docs/results")


@dataclass(frozen=True)
class Anchor:
    """How a candidate moves (raw, deployed) into the space where g is fitted, and back, given the anchor ``a``."""

    to_x: Callable[[float, float], float]
    to_y: Callable[[float, float], float]
    back: Callable[[float, float], float]


CANDIDATES = {
    "pooled": Anchor(lambda r, a: r, lambda d, a: d, lambda y, a: y),
    "shift": Anchor(lambda r, a: r - a, lambda d, a: d - a, lambda y, a: a + y),
    "scale": Anchor(lambda r, a: r / a, lambda d, a: d / a, lambda y, a: a * y),
}


@dataclass
class Split:
    """One split's committed rows: the raw accuracy and the truth (seed 0) of each network, by kept vector as JSON."""

    split: int
    config: object
    bps: int
    panels: dict[str, list[str]]
    raw: dict[str, float]
    truth: dict[str, float]
    hosts: str

    @property
    def anchor(self) -> float:
        return self.raw[json.dumps(full_kept(self.config))]


def load(split: int) -> Split:
    """The rows at ``split``; every network of the calibration and checked panels must have both."""
    trained = bundled_tiny(split)
    drawn = {name: sorted({json.dumps(list(k)) for k in kept}) for name, kept in panels(trained.config, 16, 0).items()}
    if split == 13:
        proxies = read_rows(RESULTS / "reward_fidelity/proxies.csv")
        truths = [r for r in read_rows(RESULTS / "reward_fidelity/ground_truth_check.csv") if r["start"] == "pruned"]
    else:
        proxies = [r for r in read_rows(RESULTS / "calibration/proxies.csv") if int(r["split"]) == split]
        truths = [r for r in read_rows(RESULTS / "calibration/truth.csv") if int(r["split"]) == split]
    proxies = [r for r in proxies if r["method"] == DEFAULT]
    truths = [r for r in truths if int(r["epochs"]) == 10 and int(r["seed"]) == 0]
    raw = {r["kept"]: float(r["proxy_accuracy"]) for r in proxies}
    truth = {r["kept"]: float(r["test_accuracy"]) for r in truths}
    needed = [k for name in ("calibration", *CHECKED) for k in drawn[name]]
    if missing := [k for k in needed if k not in raw or k not in truth]:
        raise SystemExit(f"split {split}: {len(missing)} networks lack a committed raw accuracy or truth")
    if json.dumps(full_kept(trained.config)) not in drawn["sweep"]:
        raise SystemExit(f"split {split}: the sweep panel has no unpruned network to anchor on")
    read = {k for name in ("calibration", *judged(split)) for k in drawn[name]}  # the rows used, not all the split's
    return Split(split, trained.config, trained.bits_per_symbol, drawn, raw, truth,
                 hosts_text([r for r in proxies + truths if r["kept"] in read]))


def fit(splits: list[Split], anchor: Anchor) -> calib.Calibration:
    """g, the isotonic map in the candidate's space, on the pooled calibration networks of ``splits``."""
    x = [anchor.to_x(s.raw[k], s.anchor) for s in splits for k in s.panels["calibration"]]
    y = [anchor.to_y(s.truth[k], s.anchor) for s in splits for k in s.panels["calibration"]]
    return calib.fit(x, y, "isotonic")


def predict(g: calib.Calibration, anchor: Anchor, s: Split, kept: list[str]) -> list[float]:
    """The deployed accuracies the map reads for ``kept`` at split ``s`` (g is applied unclipped: in the shift
    space it is negative; the result is clipped to [0, 1] as the env's maps are)."""
    xs, ys = zip(*g.knots)
    return [min(1.0, max(0.0, anchor.back(float(np.interp(anchor.to_x(s.raw[k], s.anchor), xs, ys)), s.anchor)))
            for k in kept]


def others(splits: list[Split], s: Split) -> list[Split]:
    return [o for o in splits if o.split != s.split]


def choice_table(splits: list[Split]) -> tuple[str, list[str]]:
    """The candidate with the smallest leave-one-split-out error on the calibration panels, and its table."""
    lines = ["| candidate | " + " | ".join(f"split {s.split} held out" for s in splits) + " | all 92 |",
             "|---|" + "---:|" * (len(splits) + 1)]
    errors = {}
    for name, anchor in CANDIDATES.items():
        per = [[abs(p - s.truth[k]) for p, k in zip(predict(fit(others(splits, s), anchor), anchor, s,
                                                            s.panels["calibration"]), s.panels["calibration"])]
               for s in splits]
        errors[name] = float(np.mean(np.concatenate(per)))
        lines.append(f"| {name} | " + " | ".join(f"{100 * np.mean(e):.1f}" for e in per) + f" | {100 * errors[name]:.1f} |")
    return min(errors, key=errors.get), lines


def check(splits: list[Split], name: str, s: Split, panel: str) -> tuple[bool, list[str]]:
    """How the raw proxy, the split's own map and the chosen map fitted without this split read one held-out panel."""
    kept = s.panels[panel]
    anchor = CANDIDATES[name]
    general = predict(fit(others(splits, s), anchor), anchor, s, kept)
    own = calib.fit([s.raw[k] for k in s.panels["calibration"]], [s.truth[k] for k in s.panels["calibration"]], "isotonic")
    raw = [s.raw[k] for k in kept]
    keeps, figures = keep_rule(kept, s.truth, raw, general, s.config, s.bps)
    acc = [s.truth[k] for k in kept]
    return keeps, [
        f"### Split {s.split}, the {panel} panel ({len(kept)} networks; deployed accuracy "
        f"{100 * min(acc):.1f}-{100 * max(acc):.1f}%)", "",
        "| stand-in for the truth | reward tau [95% bootstrap] | accuracy tau | mean accuracy below the truth, points "
        "| its spread (sd) | calibration error, points | top-pick regret |", "|---|---:|---:|---:|---:|---:|---:|",
        compare(f"proxy {DEFAULT}", kept, s.truth, raw, s.config, s.bps),
        compare(f"+ split {s.split}'s own isotonic map (its 23 calibration networks)", kept, s.truth,
                [own(x) for x in raw], s.config, s.bps),
        compare(f"+ the {name} map fitted without split {s.split}", kept, s.truth, general, s.config, s.bps), "",
        f"The {name} map: {figures}: it {'meets' if keeps else 'misses'} the rule.", ""]


def report(splits: list[Split]) -> str:
    chosen, table = choice_table(splits)
    lines = ["# One calibration map for every split point (Tiny id, raw `reconstruct-8`)", "",
             "Command: `.venv/bin/python benchmarks/general_calibration.py`. It computes no accuracy: it reads the "
             "committed rows of fit_calibration.py (splits 4, 7, 16: results/calibration) and of reward_fidelity.py "
             "and ground_truth_check.py (split 13: results/reward_fidelity). The truth: the export recipe "
             "(10 epochs from the pruned network), seed 0. The rule: docs/environment.md, \"One map for every split "
             "point\", written before this script ran.", "",
             "| split | anchor a (raw, unpruned) | the unpruned network deploys at | calibration panel: raw / deployed "
             "| rows read here, where computed |", "|---|---:|---:|---|---|"]
    for s in splits:
        cal = s.panels["calibration"]
        lines.append(f"| {s.split} | {s.anchor:.3f} | {s.truth[json.dumps(full_kept(s.config))]:.3f} "
                     f"| {min(s.raw[k] for k in cal):.3f}-{max(s.raw[k] for k in cal):.3f} / "
                     f"{min(s.truth[k] for k in cal):.3f}-{max(s.truth[k] for k in cal):.3f} | {s.hosts} |")
    lines += ["", "## The choice: leave one split out, calibration panels only", "",
              "Mean absolute error, points, predicting the held-out split's 23 calibration networks from the other "
              "three splits' 69:", "", *table, "", f"Chosen: **{chosen}**.", "",
              "## The verdict: each split's narrow and sweep panels, with the map fitted without that split", ""]
    verdicts = []
    for s in splits:
        for panel in judged(s.split):
            keeps, section = check(splits, chosen, s, panel)
            lines += section
            if panel in CHECKED:
                verdicts.append(keeps)
    lines.append(f"**{sum(verdicts)} of {len(verdicts)} checks pass** (split 13's broad panel is reported, not "
                 f"counted): the {chosen} map {'ships' if all(verdicts) else 'does not ship'} by the rule.")
    g = fit(splits, CANDIDATES[chosen])
    xs, ys = zip(*g.knots)
    lines += ["", f"Fitted on all four splits' 92 calibration networks, the {chosen} map's g has {len(xs)} knots, from "
              f"({xs[0]:.3f}, {ys[0]:.3f}) to ({xs[-1]:.3f}, {ys[-1]:.3f}) in its space, and takes "
              f"{len(set(np.round(ys, 6)))} distinct values."]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=RESULTS / "calibration/general.md")
    args = p.parse_args()
    text = report([load(s) for s in SPLITS])
    ckpt.atomic_write(args.out, lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
