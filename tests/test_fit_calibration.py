"""benchmarks/fit_calibration.py: the calibrated=True maps of any split point, aimed at the export recipe."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]
SCRIPT = REPO / "benchmarks" / "fit_calibration.py"
COMMITTED = REPO / "docs" / "results" / "reward_fidelity"
SHIPPED = REPO / "coinfer_env" / "checkpoints" / "calibration.json"


def rows(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


def plant(path: Path, fields: list[str], planted: list[dict]) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(planted)


def fit(out: Path, maps: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--calibration-out", str(maps), *extra],
                          capture_output=True, text=True, cwd=REPO)


def entry(path: Path, split: int, method: str) -> dict:
    return next(e for e in json.loads(path.read_text())["fits"]
                if e["split_point"] == split and e["evaluation"]["method"] == method)


def test_split_13s_shipped_map_is_rebuilt_exactly_from_the_rows_it_was_fitted_to(tmp_path):
    """The oracle is the shipped map, which ground_truth_check.py fitted: planted with the same truths (its committed
    10-epoch seed-0 rows) and raw accuracies (networks.csv), the script must draw the same 23 networks and ship an
    identical entry, training nothing."""
    cal = {r["kept"]: r for r in rows(COMMITTED / "networks.csv") if r["panel"] == "calibration" and r["method"] == "reconstruct-8"}
    truth = [{"split": 13, "kept": r["kept"], "epochs": 10, "seed": 0, "test_accuracy": r["test_accuracy"], "seconds": 1}
             for r in rows(COMMITTED / "ground_truth_check.csv")
             if r["kept"] in cal and r["start"] == "pruned" and r["epochs"] == "10" and r["seed"] == "0"]
    assert len(cal) == len(truth) == 23
    out = tmp_path / "cal"
    out.mkdir()
    plant(out / "truth.csv", ["split", "kept", "epochs", "seed", "test_accuracy", "seconds"], truth)
    plant(out / "proxies.csv", ["split", "method", "kept", "proxy_accuracy", "seconds"],
          [{"split": 13, "method": "reconstruct-8", "kept": k, "proxy_accuracy": r["proxy_accuracy"], "seconds": 1}
           for k, r in cal.items()])
    before = {p.name: p.read_text() for p in out.iterdir()}
    done = fit(out, tmp_path / "maps", "--splits", "13")
    assert done.returncode == 0, done.stderr
    assert {p.name: p.read_text() for p in out.iterdir() if p.suffix == ".csv"} == before  # nothing computed
    rebuilt = entry(tmp_path / "maps" / "calibration.json", 13, "reconstruct")
    assert rebuilt.pop("search_networks") == 0  # a field newer than the shipped entry, which has no search part either
    assert rebuilt == entry(SHIPPED, 13, "reconstruct")  # knots, kind, leave-one-out errors, provenance
    text = (out / "split-13.md").read_text()
    assert text == done.stdout.rstrip("\n") + "\n" and "on 23 calibration networks" in text
    assert "| reconstruct-8 | " in text and "| isotonic |" in text
    # Read off the shipped knots and the committed rows by hand: the widest stretch where the map rises by under 0.5
    # points runs from the knot at raw 0.600 (74.25%) to 0.665 (74.73%); its 16 networks deploy at 73.06% to 75.71%.
    assert ("rises by under 0.5 points (74.3% to 74.7%) from a raw 0.600 to 0.665, where 16 of the 23 networks lie; "
            "they deploy at 73.1% to 75.7%") in text


def test_a_split_without_a_map_gets_one_the_env_then_applies(tmp_path):
    """A small panel (4 networks) at split 4: three truths planted, the fourth fine-tuned for 1 epoch, the proxies
    measured; the fit lands where calibrated=True finds it, and the env maps the raw accuracy through it."""
    import gymnasium as gym

    import coinfer_env  # noqa: F401  (registers the ids)
    from coinfer_env import calibration as calib
    from coinfer_env.checkpoints import bundled_dir, split_file

    maps = tmp_path / "maps"
    maps.mkdir()
    for f in ("resnet50-w8-backbone.pt", split_file(bundled_dir(), 8, 4).name):
        shutil.copy(bundled_dir() / f, maps)
    with pytest.raises(ValueError, match="fit_calibration.py --splits 4"):
        gym.make("CoInfer-ResNet50-Tiny-v0", split_point=4, calibrated=True, checkpoint_dir=maps)
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from reward_fidelity import bundled_tiny, panels
    finally:
        sys.path.pop(0)
    cal = sorted({json.dumps(list(k)) for k in panels(bundled_tiny(4).config, 3, 0)["calibration"]})
    assert len(cal) == 4
    out = tmp_path / "cal"
    out.mkdir()
    plant(out / "truth.csv", ["split", "kept", "epochs", "seed", "test_accuracy", "seconds"],
          [{"split": 4, "kept": k, "epochs": 1, "seed": 0, "test_accuracy": a, "seconds": 1} for k, a in zip(cal, (0.3, 0.6, 0.5))])
    done = fit(out, maps, "--splits", "4", "--epochs", "1", "--panel-networks", "3", "--threads", "1")
    assert done.returncode == 0, done.stderr
    truth = rows(out / "truth.csv")
    assert len(truth) == 4 and truth[3]["kept"] == cal[3] and truth[3]["hardware"]  # the one it lacked, with its host
    raw = {r["kept"]: float(r["proxy_accuracy"]) for r in rows(out / "proxies.csv")}
    assert set(raw) == set(cal)
    shipped = entry(maps / "calibration.json", 4, "reconstruct")
    assert shipped["networks"] == 4 and "1-epoch" in shipped["ground_truth"]
    x = [raw[k] for k in cal]
    y = [0.3, 0.6, 0.5, float(truth[3]["test_accuracy"])]
    expected = calib.fit(x, y, shipped["kind"])
    env = gym.make("CoInfer-ResNet50-Tiny-v0", split_point=4, calibrated=True, checkpoint_dir=maps, cache=False,
                   eval_images=200).unwrapped
    assert env.calibration.knots == expected.knots
    info = env.evaluate([0.5] * env.num_layers)
    assert info["accuracy"] == pytest.approx(expected(info["accuracy_raw"]))
