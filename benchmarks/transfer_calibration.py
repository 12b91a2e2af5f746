"""Judge a shared shift map plus each split's own 7 uniformly pruned calibration networks, split by split.

    .venv/bin/python benchmarks/transfer_calibration.py [--out docs/results/calibration/transfer.md] \
        [--calibration-out coinfer_env/checkpoints]

The rule it applies was written in docs/environment.md ("A shared map plus the split's own uniform networks")
before this script ran. general_calibration.py found that one shift map (deployed = a + g(raw - a), ``a`` the raw
accuracy of the split's unpruned network) reads the lightly pruned networks of a split it never saw, but not its
deep cuts. Here, at split s, g is fitted on the other three splits' 23 calibration networks each and on split s's own
7 uniformly pruned calibration networks (the last 7 that ``panels`` draws), each of those weighted 69/7, so that the
split's own evidence weighs as much as the other splits together. The map is judged at split s, by
fit_calibration.keep_rule, on every held-out set with committed truths: the split's other 16 calibration networks,
its narrow and sweep panels, its broad panel (splits 7 and 13) and its search-like designs (12 at split 7, 32 at
split 13). With ``--calibration-out``, a split with no map of its own (7, 16) gets this map in calibration.json if
every check there passes.

It computes nothing new: it reads the committed rows general_calibration.py reads, and at split 13 the search-like
designs' raw accuracies (results/reward_fidelity/calibration_search.csv).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fit_calibration import keep_rule
from general_calibration import CANDIDATES, RESULTS, SPLITS, Split, load, predict
from ground_truth_check import compare
from reward_fidelity import DEFAULT, PROXIES, calibration_search, panels, read_rows

from coinfer_env import calibration as calib
from coinfer_env import checkpoints as ckpt

SHIFT = CANDIDATES["shift"]
OWN = 7  # the uniformly pruned networks that close reward_fidelity.panels' calibration panel
SEARCH = {7: 12, 13: 32}  # search-like designs with committed truths when transfer.md was judged; search_proxies.CALIBRATION_SEARCH lists every split's now
NO_OWN_MAP = (7, 16)  # the splits where this map may ship: no map of their own ships
TRUTH = "10-epoch whole-network fine-tune from the pruned network (the export recipe), seeds [0], test accuracy"


def uniform(s: Split) -> list[str]:
    """Split ``s``'s 7 uniformly pruned calibration networks, as JSON kept vectors."""
    return [json.dumps(list(k)) for k in panels(s.config, 16, 0)["calibration"][-OWN:]]


def held_out(s: Split) -> dict[str, list[str]]:
    """The sets the map is judged on at ``s``, none of them in its fit."""
    own = set(uniform(s))
    sets = {"calibration, the other 16": [k for k in s.panels["calibration"] if k not in own],
            "narrow": s.panels["narrow"], "sweep": s.panels["sweep"]}
    if s.split in SEARCH:
        sets["broad"] = s.panels["broad"]
        sets["search-like"] = sorted({json.dumps(list(k)) for k in calibration_search(s.config, SEARCH[s.split], 0)})
    return sets


def with_search_raws(s: Split) -> Split:
    """Split 13's search-like designs were measured by ground_truth_check.py into their own file."""
    if s.split == 13:
        rows = read_rows(RESULTS / "reward_fidelity/calibration_search.csv")
        s.raw.update({r["kept"]: float(r["proxy_accuracy"]) for r in rows if r["method"] == DEFAULT})
    if missing := [k for kept in held_out(s).values() for k in kept if k not in s.raw or k not in s.truth]:
        raise SystemExit(f"split {s.split}: {len(missing)} held-out networks lack a committed raw accuracy or truth")
    return s


def fit(splits: list[Split], s: Split) -> calib.Calibration:
    """g at split ``s``, in the shift space: the other splits' calibration networks, weight 1 each, and ``s``'s own
    uniform networks, weighted so that they weigh as much as all the others."""
    others = [(o, k) for o in splits if o.split != s.split for k in o.panels["calibration"]]
    own = [(s, k) for k in uniform(s)]
    pairs = others + own
    weights = [1.0] * len(others) + [len(others) / len(own)] * len(own)
    # raw accuracies are counts over the validation images: rounding their differences to 1e-9 pools the equal ones
    # across splits, which float subtraction leaves apart by 1e-16 (and which the move back to raw space would merge)
    return calib.fit([round(SHIFT.to_x(o.raw[k], o.anchor), 9) for o, k in pairs],
                     [SHIFT.to_y(o.truth[k], o.anchor) for o, k in pairs], "isotonic", weights)


def in_raw_space(g: calib.Calibration, a: float) -> calib.Calibration:
    """The same map as the env applies it: knots moved back by the anchor (np.interp is flat beyond them either way,
    and Calibration clips to [0, 1] as predict does)."""
    return calib.Calibration(tuple((SHIFT.back(x, a), SHIFT.back(y, a)) for x, y in g.knots), "isotonic")


def section(splits: list[Split], s: Split) -> tuple[bool, list[str]]:
    """Split ``s``'s checks: one table per held-out set, and whether every one keeps the rule."""
    g = fit(splits, s)
    own_map = calib.fit([s.raw[k] for k in s.panels["calibration"]], [s.truth[k] for k in s.panels["calibration"]],
                        "isotonic")
    lines, verdicts = [f"## Split {s.split} (anchor a = {s.anchor:.3f})", ""], []
    for name, kept in held_out(s).items():
        raw = [s.raw[k] for k in kept]
        mapped = predict(g, SHIFT, s, kept)
        keeps, figures = keep_rule(kept, s.truth, raw, mapped, s.config, s.bps)
        verdicts.append(keeps)
        acc = [s.truth[k] for k in kept]
        lines += [f"### Split {s.split}, {name} ({len(kept)} networks; deployed accuracy "
                  f"{100 * min(acc):.1f}-{100 * max(acc):.1f}%)", "",
                  "| stand-in for the truth | reward tau [95% bootstrap] | accuracy tau | mean accuracy below the truth, "
                  "points | its spread (sd) | calibration error, points | top-pick regret |",
                  "|---|---:|---:|---:|---:|---:|---:|",
                  compare(f"proxy {DEFAULT}", kept, s.truth, raw, s.config, s.bps)]
        if not name.startswith("calibration"):  # the split's own map was fitted on those
            lines.append(compare(f"+ split {s.split}'s own isotonic map (its 23 calibration networks)", kept, s.truth,
                                 [own_map(x) for x in raw], s.config, s.bps))
        lines += [compare("+ the shared shift map with the split's 7 uniform networks", kept, s.truth, mapped,
                          s.config, s.bps), "", f"The map: {figures}: it {'meets' if keeps else 'misses'} the rule.", ""]
    return all(verdicts), lines


def report(splits: list[Split], verdicts: dict[int, bool], sections: list[str]) -> str:
    lines = ["# A shared shift map plus each split's own uniform networks (Tiny id, raw `reconstruct-8`)", "",
             "Command: `.venv/bin/python benchmarks/transfer_calibration.py --calibration-out coinfer_env/checkpoints`. "
             "It computes no accuracy: it reads the committed rows general_calibration.py reads, and split 13's "
             "search-like designs' (results/reward_fidelity). The truth: the export recipe (10 epochs from the pruned "
             "network), seed 0. The rule: docs/environment.md, \"A shared map plus the split's own uniform networks\", "
             "written before this script ran. At split s the map is fitted on the other three splits' 69 calibration "
             f"networks and on split s's own {OWN} uniformly pruned ones (weighted 69/{OWN}); every set below is held "
             "out from it.", "",
             "| split | every check passes | ships |", "|---|---|---|"]
    for s in splits:
        ships = ("yes" if verdicts[s.split] else "no") if s.split in NO_OWN_MAP else "no: its own map ships"
        lines.append(f"| {s.split} | {'yes' if verdicts[s.split] else 'no'} | {ships} |")
    return "\n".join(lines + ["", *sections]) + "\n"


def ship(directory: Path, s: Split, g: calib.Calibration) -> None:
    calib.save(directory, 8, s.split, ckpt.split_digest(ckpt.bundled_dir(), 8, s.split), PROXIES[DEFAULT],
               in_raw_space(g, s.anchor), networks=69 + OWN, panel_size=16, panel_seed=1000,
               transfer={"from_splits": [o for o in SPLITS if o != s.split], "anchor": s.anchor, "own_uniform": OWN,
                         "own_weight": 69 / OWN, "rule": "docs/environment.md, \"A shared map plus the split's own "
                         "uniform networks\"; benchmarks/transfer_calibration.py"},
               ground_truth=TRUTH)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=RESULTS / "calibration/transfer.md")
    p.add_argument("--calibration-out", type=Path, help="directory whose calibration.json receives the maps that ship")
    args = p.parse_args()
    splits = [with_search_raws(load(s)) for s in SPLITS]
    verdicts, sections = {}, []
    for s in splits:
        verdicts[s.split], lines = section(splits, s)
        sections.append("\n".join(lines))
    if args.calibration_out:
        for s in splits:
            if s.split in NO_OWN_MAP and verdicts[s.split]:
                ship(args.calibration_out, s, fit(splits, s))
    text = report(splits, verdicts, sections)
    ckpt.atomic_write(args.out, lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
