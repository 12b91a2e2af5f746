"""benchmarks/ground_truth_check.py --panels: the fixed panels judged against the export recipe's truth."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

REPO = Path(__file__).parents[1]
COMMITTED = REPO / "docs" / "results" / "reward_fidelity"


def rows(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_a_fixed_panel_is_judged_against_its_own_truth_without_fine_tuning_what_is_recorded(tmp_path):
    """Truth rows are planted for the first 3 broad networks (their 1-epoch accuracy + 0.1), so nothing is trained:
    the 1-epoch row must read exactly 10 points low, and the raw proxy's tau must be scipy's on the rewards."""
    out = tmp_path / "rf"
    shutil.copytree(COMMITTED, out)
    networks = [r for r in rows(out / "networks.csv") if r["panel"] == "broad" and r["method"] == "reconstruct-8"]
    first = sorted(networks, key=lambda r: r["kept"])[:3]
    short = {r["kept"]: (float(r["gt_accuracy_0"]) + float(r["gt_accuracy_1"])) / 2 for r in first}
    with (out / "ground_truth_check.csv").open("a", newline="") as f:
        for k, acc in short.items():
            csv.writer(f).writerow([k, "pruned", 10, 0, acc + 0.1, 1.0])
    before = (out / "ground_truth_check.csv").read_text()
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "ground_truth_check.py"), "--out", out, "--calibration-seeds",
                           "0", "--recovered-full", "2", "--panels", "broad", "--panel-limit", "3"],
                          capture_output=True, text=True, check=True, cwd=REPO)
    assert (out / "ground_truth_check.csv").read_text() == before  # everything was recorded: nothing fine-tuned
    report = (out / "ground_truth_check.md").read_text()
    assert report == done.stdout.rstrip("\n") + "\n" and "--panels broad --panel-truth-seeds 0 --panel-limit 3" in report
    section = report[report.index("## The broad panel (3 networks"):]
    assert "| 1 epoch, pruned start (reward_fidelity's ground truth, 2 seeds) | " in section
    one_epoch = next(line for line in section.splitlines() if line.startswith("| 1 epoch, pruned"))
    assert one_epoch.split(" | ")[3:6] == ["+10.0", "0.0", "10.0"]

    from reward_fidelity import bundled_tiny, reward
    trained = bundled_tiny(13)

    def rewards(acc) -> list[float]:
        return [reward(trained.config, json.loads(r["kept"]), a, trained.bits_per_symbol) for r, a in zip(first, acc)]

    proxy = [float(r["proxy_accuracy"]) for r in first]
    tau = kendalltau(rewards(proxy), rewards([short[r["kept"]] + 0.1 for r in first])).statistic
    raw_row = next(line for line in section.splitlines() if line.startswith("| proxy reconstruct-8 |"))
    point, interval = raw_row.split(" | ")[1].split(" ", 1)
    assert point == f"{tau:.2f}"
    lo, hi = (float(x) for x in interval.strip("[]").split(", "))
    assert -1 <= lo <= tau + 0.005 and tau - 0.005 <= hi <= 1
    error = 100 * np.mean([short[r["kept"]] + 0.1 - a for r, a in zip(first, proxy)])
    assert raw_row.split(" | ")[3] == f"{error:+.1f}"


def test_panels_need_the_calibration_fits(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "ground_truth_check.py"), "--out", COMMITTED,
                           "--panels", "broad"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode != 0 and "--panels needs --calibration-seeds" in done.stderr


def test_search_like_designs_join_only_the_default_proxys_calibration(tmp_path):
    """Truth and raw accuracies are planted for the first 3 search-like designs, so nothing is trained or evaluated:
    the default's shipped map must be coinfer_env.calibration's fit on the fixed-panel networks plus these 3, the other
    proxies' maps must ignore them, and the held-out section must read them with the fixed-panel fit alone."""
    out, maps = tmp_path / "rf", tmp_path / "maps"
    shutil.copytree(COMMITTED, out)
    maps.mkdir()
    from reward_fidelity import PROXIES, bundled_tiny, calibration_search
    from coinfer_env import calibration

    config = bundled_tiny(13).config
    searched = [json.dumps(list(k)) for k in calibration_search(config, 3, 0)]
    planted = {k: (0.3 + 0.05 * i, 0.6 + 0.02 * i) for i, k in enumerate(searched)}  # kept -> (raw, truth)
    with (out / "ground_truth_check.csv").open("a", newline="") as f:
        csv.writer(f).writerows([k, "pruned", 10, 0, t, 1.0] for k, (_, t) in planted.items())
    with (out / "calibration_search.csv").open("a", newline="") as f:
        if f.tell() == 0:
            csv.writer(f).writerow(["kept", "method", "proxy_accuracy", "seconds"])
        csv.writer(f).writerows([k, "reconstruct-8", raw, 1.0] for k, (raw, _) in planted.items())
    before = (out / "ground_truth_check.csv").read_text()
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "ground_truth_check.py"), "--out", out, "--calibration-seeds",
                    "0", "--recovered-full", "2", "--calibration-search", "3", "--calibration-out", maps],
                   capture_output=True, text=True, check=True, cwd=REPO)
    assert (out / "ground_truth_check.csv").read_text() == before

    networks = rows(out / "networks.csv")
    truth = {}
    for r in rows(out / "ground_truth_check.csv"):
        if (r["start"], r["epochs"], r["seed"]) == ("pruned", "10", "0"):
            truth[r["kept"]] = float(r["test_accuracy"])  # the last row of a network wins, as in the script
    by_settings = {json.dumps(e["evaluation"], sort_keys=True): e
                   for e in json.loads((maps / calibration.FILE_NAME).read_text())["fits"]}
    fits = {name: by_settings[json.dumps(calibration.settings_key(PROXIES[name]), sort_keys=True)]
            for name in ("reconstruct-8", "finetune-16")}

    def expected(name: str, extra: dict) -> tuple[calibration.Calibration, int]:
        cal = [r for r in networks if r["panel"] == "calibration" and r["method"] == name]
        x = [float(r["proxy_accuracy"]) for r in cal] + [raw for raw, _ in extra.values()]
        y = [truth[r["kept"]] for r in cal] + [t for _, t in extra.values()]
        kind = min(calibration.KINDS, key=lambda kd: calibration.loo_error(x, y, kd))
        return calibration.fit(x, y, kind), len(x)

    for name, extra in (("reconstruct-8", planted), ("finetune-16", {})):
        want, n = expected(name, extra)
        entry = fits[name]
        assert [tuple(k) for k in entry["knots"]] == [tuple(k) for k in want.knots] and entry["networks"] == n
        assert entry["search_networks"] == len(extra) and ("search_seed" in entry) == bool(extra)

    report = (out / "ground_truth_check.md").read_text()
    section = report[report.index("## The 3 search-like calibration designs"):]
    alone, _ = expected("reconstruct-8", {})
    error = 100 * np.mean([abs(alone(raw) - t) for raw, t in planted.values()])
    row = next(line for line in section.splitlines() if line.startswith("| proxy reconstruct-8 + "))
    assert row.split(" | ")[5] == f"{error:.1f}"


def test_a_second_calibration_seed_is_fitted_as_the_mean_and_its_agreement_reported(tmp_path):
    """Seed-1 truths are planted on the calibration panel (seed 0's, shifted by +2, 0 and -2 points in turn), so
    nothing is trained: the shipped fit must be coinfer_env.calibration's fit to the two seeds' mean, the report
    must go to --report, and its noise line must read the planted differences."""
    out, maps = tmp_path / "rf", tmp_path / "maps"
    shutil.copytree(COMMITTED, out)
    maps.mkdir()
    from coinfer_env import calibration

    networks = rows(out / "networks.csv")
    cal = sorted({r["kept"] for r in networks if r["panel"] == "calibration"})
    seed0 = {r["kept"]: float(r["test_accuracy"]) for r in rows(out / "ground_truth_check.csv")
             if (r["start"], r["epochs"], r["seed"]) == ("pruned", "10", "0")}
    shift = {k: (0.02, 0.0, -0.02)[i % 3] for i, k in enumerate(cal)}
    with (out / "ground_truth_check.csv").open("a", newline="") as f:
        csv.writer(f).writerows([k, "pruned", 10, 1, seed0[k] + shift[k], 1.0] for k in cal)
    before = (out / "ground_truth_check.csv").read_text()
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "ground_truth_check.py"), "--out", out, "--calibration-seeds",
                    "0", "1", "--recovered-full", "2", "--calibration-out", maps, "--report", "two-seeds.md"],
                   capture_output=True, text=True, check=True, cwd=REPO)
    assert (out / "ground_truth_check.csv").read_text() == before
    assert (out / "ground_truth_check.md").read_text() == (COMMITTED / "ground_truth_check.md").read_text()

    default = [r for r in networks if r["panel"] == "calibration" and r["method"] == "reconstruct-8"]
    x = [float(r["proxy_accuracy"]) for r in default]
    y = [seed0[r["kept"]] + shift[r["kept"]] / 2 for r in default]
    kind = min(calibration.KINDS, key=lambda kd: calibration.loo_error(x, y, kd))
    entry = next(e for e in json.loads((maps / calibration.FILE_NAME).read_text())["fits"]
                 if e["evaluation"]["method"] == "reconstruct")
    assert np.allclose(entry["knots"], calibration.fit(x, y, kind).knots) and "seeds [0, 1]" in entry["ground_truth"]

    report = (out / "two-seeds.md").read_text()
    assert "--report two-seeds.md" in report
    noise = report[report.index("## The calibration panel's two truth seeds"):]
    mean = 100 * np.mean(list(shift.values()))
    assert f"mean absolute difference {100 * np.mean(np.abs(list(shift.values()))):.1f} points (largest 2.0)" in noise
    assert f"mean difference {mean:+.1f} points" in noise
