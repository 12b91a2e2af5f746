"""benchmarks/transfer_calibration.py: a shared shift map plus each split's own uniform networks, on committed rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coinfer_env import calibration as calib
from coinfer_env.architecture import full_kept, kept_count

REPO = Path(__file__).parents[1]
SCRIPT = REPO / "benchmarks" / "transfer_calibration.py"


@pytest.fixture(scope="module")
def tc():
    import transfer_calibration
    return transfer_calibration


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)  # the scripts read docs/results relative to the repository root, as when run from it
        yield mp


@pytest.fixture(scope="module")
def split7(tc, monkeypatch_module):
    return tc.with_search_raws(tc.load(7))


def test_the_own_networks_are_the_uniformly_pruned_ones_midway_between_the_sweeps(tc, split7):
    sweep = np.linspace(0.1, 1, 8)
    by_hand = [json.dumps([kept_count(float(r), c) for c in full_kept(split7.config)])
               for r in (sweep[:-1] + sweep[1:]) / 2]
    assert tc.uniform(split7) == by_hand
    held = tc.held_out(split7)
    fitted = set(by_hand)
    assert all(not fitted & set(kept) for kept in held.values())  # nothing judged was fitted
    assert len(held["calibration, the other 16"]) == 16 and len(held["search-like"]) == 12


def test_a_shipped_map_reads_in_the_env_what_the_report_judged(tc, split7, monkeypatch_module, tmp_path):
    """The map in calibration.json is stored in raw accuracy (knots moved back by the anchor); lookup must return a
    map that reads every held-out network exactly as the check read it in the shift space."""
    splits = [tc.with_search_raws(tc.load(s)) if s != 7 else split7 for s in tc.SPLITS]
    g = tc.fit(splits, split7)
    tc.ship(tmp_path, split7, g)
    shipped = calib.lookup(tmp_path, 8, 7, json.loads((tmp_path / calib.FILE_NAME).read_text())["fits"][0]
                           ["weights_sha256"], tc.PROXIES[tc.DEFAULT])
    for kept in tc.held_out(split7).values():
        assert [shipped(split7.raw[k]) for k in kept] == pytest.approx(tc.predict(g, tc.SHIFT, split7, kept), abs=1e-12)
    entry = json.loads((tmp_path / calib.FILE_NAME).read_text())["fits"][0]
    assert entry["transfer"]["from_splits"] == [4, 13, 16] and entry["networks"] == 76


def test_the_own_networks_weigh_as_much_as_the_other_splits(tc, monkeypatch_module):
    """Planted on 7 shared x values of the shift space: the other splits' 69 networks at y = x, split 7's own 7 at
    y = x + 0.1. Equal x values are pooled by weight, so by hand g(x_j) = x_j + 0.1 w / (n_j + w), with w = 69/7
    and n_j the other networks at x_j (23 a split, dealt round the 7 values: 12, 12, 9, 9, 9, 9, 9)."""
    splits = [tc.load(s) for s in tc.SPLITS]
    s7 = next(o for o in splits if o.split == 7)
    xs = [-0.6, -0.5, -0.4, -0.3, -0.2, -0.1, 0.0]
    for o in splits:
        if o.split != 7:
            for i, k in enumerate(o.panels["calibration"]):
                o.raw[k] = o.truth[k] = o.anchor + xs[i % 7]
    for x, k in zip(xs, tc.uniform(s7)):
        s7.raw[k], s7.truth[k] = s7.anchor + x, s7.anchor + x + 0.1
    w, n = 69 / 7, [12, 12, 9, 9, 9, 9, 9]
    g = tc.fit(splits, s7)
    assert [x for x, _ in g.knots] == pytest.approx(xs)
    assert [y for _, y in g.knots] == pytest.approx([x + 0.1 * w / (nj + w) for x, nj in zip(xs, n)])


def test_the_committed_report_is_rederived_from_the_committed_rows(tmp_path):
    out = tmp_path / "transfer.md"
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == (REPO / "docs" / "results" / "calibration" / "transfer.md").read_text()
