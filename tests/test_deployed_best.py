"""benchmarks/deployed_best.py: the best designs of benches, deployed, and paired run by run."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[1]
LEADERBOARD = REPO / "docs" / "results" / "leaderboard"


def deployed_best(*args, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "deployed_best.py"), *map(str, args)],
                          capture_output=True, text=True, check=check, cwd=REPO)


def rows(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_designs_are_deployed_once_resumed_and_paired_by_run(tmp_path):
    other = tmp_path / "other"
    (other / "ddpg").mkdir(parents=True)
    shutil.copy(LEADERBOARD / "ddpg" / "seed1.json", other / "ddpg" / "seed1.json")  # seed 1: the same design in both
    run = json.loads((LEADERBOARD / "ddpg" / "seed0.json").read_text())
    run["best_info"]["kept"] = json.loads((LEADERBOARD / "cmaes" / "seed0.json").read_text())["best_info"]["kept"]
    (other / "ddpg" / "seed0.json").write_text(json.dumps(run))  # seed 0: another design
    out = tmp_path / "out"
    common = ["--benches", LEADERBOARD, other, "--agents", "ddpg", "--seeds", 0, 1, "--epochs", 0, "--threads", 1, "--out", out]
    deployed_best(*common)
    first = rows(out / "deployed.csv")
    assert len(first) == 3  # three distinct designs among four runs
    deployed_best(*common)
    assert rows(out / "deployed.csv") == first  # resumed: nothing fine-tuned again

    from reward_fidelity import bundled_tiny, reward
    trained = bundled_tiny(13)
    acc = {r["kept"]: float(r["test_accuracy"]) for r in first}

    def deployed_reward(path: Path) -> float:
        kept = json.loads(path.read_text())["best_info"]["kept"]
        return reward(trained.config, kept, acc[json.dumps(kept)], trained.bits_per_symbol)

    diff = [deployed_reward(other / "ddpg" / f"seed{s}.json") - deployed_reward(LEADERBOARD / "ddpg" / f"seed{s}.json")
            for s in (0, 1)]
    assert diff[1] == 0
    table = (out / "deployed_best.md").read_text()
    assert f"| {other} | all | {sum(diff) / 2:+.4f} ± {abs(diff[0] - diff[1]) / 2:.4f} |" in table


def test_a_run_at_another_split_is_refused(tmp_path):
    bench = tmp_path / "bench"
    (bench / "ddpg").mkdir(parents=True)
    run = json.loads((LEADERBOARD / "ddpg" / "seed0.json").read_text())
    run["env_kwargs"]["split_point"] = 4
    (bench / "ddpg" / "seed0.json").write_text(json.dumps(run))
    bad = deployed_best("--benches", bench, "--agents", "ddpg", "--seeds", 0, "--out", tmp_path / "out", check=False)
    assert bad.returncode != 0 and "split 4, not 13: pass --split 4" in bad.stderr
    assert not (tmp_path / "out" / "deployed.csv").exists()



def test_the_fidelity_table_reads_each_runs_raw_accuracy_through_the_shipped_map():
    """The calibrated column is Kendall's tau (scipy) of the rewards of the mapped *raw* accuracies against the deployed
    rewards; the search's own readings, mapped, would give another tau here."""
    import argparse

    from scipy.stats import kendalltau

    from coinfer_env import calibration, checkpoints
    from coinfer_env.evaluation import EvalSettings

    from deployed_best import fidelity
    from reward_fidelity import bundled_tiny, reward
    trained = bundled_tiny(13)
    kept = [json.dumps(json.loads((LEADERBOARD / a / f"seed{s}.json").read_text())["best_info"]["kept"])
            for a in ("ddpg", "cmaes") for s in (0, 1, 2)]
    assert len(set(kept)) == 6
    deployed = dict(zip(kept, (0.70, 0.62, 0.66, 0.71, 0.58, 0.69)))
    raw = dict(zip(kept, (0.36, 0.20, 0.30, 0.40, 0.18, 0.33)))  # in the map's rising part
    searched = dict(zip(kept, (0.19, 0.35, 0.22, 0.18, 0.40, 0.25)))
    entry, _ = calibration.recorded(checkpoints.bundled_dir(), 8, 13,  # shipped, or kept by its withdrawal record
                                    checkpoints.split_digest(checkpoints.bundled_dir(), 8, 13),
                                    EvalSettings("reconstruct", bn_batches=8))
    fitted = calibration.from_entry(entry)

    def tau(accuracy: dict) -> float:
        def rewards(acc):
            return [reward(trained.config, json.loads(k), acc[k], trained.bits_per_symbol) for k in kept]
        return kendalltau(rewards({k: fitted(a) for k, a in accuracy.items()}), rewards(deployed)).statistic

    assert f"{tau(raw):.2f}" != f"{tau(searched):.2f}"  # the test can tell the two apart
    designs = {("b", "ddpg", i): {"kept": k, "raw_accuracy": raw[k], "search_accuracy": searched[k], "default_evaluation": True}
               for i, k in enumerate(kept)}
    args = argparse.Namespace(split=13, benches=["b"], truth_seeds=[0], calibration_dir=None)
    table = fidelity(args, designs, deployed, {0: deployed}, trained)
    row = next(line for line in table if line.startswith("| all | 6 | "))
    assert row.split(" | ")[2] == "n/a" and row.split(" | ")[4].startswith(f"{tau(raw):.2f} [")
    other = {**designs, ("b", "ddpg", 0): {**designs[("b", "ddpg", 0)], "default_evaluation": False}}
    assert "another evaluation" in fidelity(args, other, deployed, {0: deployed}, trained)[-1]

    # two truth seeds: the noise ceiling is scipy's tau of the second seed's deployed rewards against the first's
    second = dict(zip(kept, (0.66, 0.64, 0.70, 0.69, 0.57, 0.72)))
    table = fidelity(argparse.Namespace(split=13, benches=["b"], truth_seeds=[0, 1], calibration_dir=None), designs, deployed,
                     {0: deployed, 1: second}, trained)
    row = next(line for line in table if line.startswith("| all | 6 | "))
    rewards = {name: [reward(trained.config, json.loads(k), acc[k], trained.bits_per_symbol) for k in kept]
               for name, acc in (("first", deployed), ("second", second))}
    ceiling = kendalltau(rewards["second"], rewards["first"]).statistic
    assert ceiling < 0.99 and row.split(" | ")[2].startswith(f"{ceiling:.2f} [")


def test_a_candidate_map_is_judged_from_its_own_directory(tmp_path):
    """--calibration-dir: with the identity map there, the calibrated column must equal the raw one, and the
    header must name the directory and the map's digest."""
    import argparse

    from coinfer_env import calibration, checkpoints
    from coinfer_env.evaluation import EvalSettings

    from deployed_best import fidelity
    from reward_fidelity import bundled_tiny
    trained = bundled_tiny(13)
    identity = calibration.Calibration.line(1.0, 0.0)
    calibration.save(tmp_path, 8, 13, checkpoints.split_digest(checkpoints.bundled_dir(), 8, 13),
                     EvalSettings("reconstruct", bn_batches=8), identity)
    kept = [json.dumps(json.loads((LEADERBOARD / a / f"seed{s}.json").read_text())["best_info"]["kept"])
            for a in ("ddpg", "cmaes") for s in (0, 1, 2)]
    deployed = dict(zip(kept, (0.70, 0.62, 0.66, 0.71, 0.58, 0.69)))
    raw = dict(zip(kept, (0.36, 0.20, 0.30, 0.40, 0.18, 0.33)))
    designs = {("b", "ddpg", i): {"kept": k, "raw_accuracy": raw[k], "search_accuracy": raw[k], "default_evaluation": True}
               for i, k in enumerate(kept)}
    table = fidelity(argparse.Namespace(split=13, benches=["b"], truth_seeds=[0], calibration_dir=tmp_path), designs,
                     deployed, {0: deployed}, trained)
    assert f"the map in {tmp_path} of reconstruct-8 (line, digest {identity.digest()})" in table[1]
    cells = next(line for line in table if line.startswith("| all | 6 | ")).split(" | ")
    assert cells[3].split(" ")[0] == cells[4].split(" ")[0]  # raw tau == calibrated tau under the identity map


def test_another_methods_table_reads_its_measured_accuracy_through_its_own_map():
    """--methods distill-16: its table's calibrated column is scipy's tau of the rewards of the measured
    accuracies through split 13's distill map (not reconstruct's, which gives another tau here), and it
    needs no run to have searched with that evaluation."""
    import argparse

    from scipy.stats import kendalltau

    from coinfer_env import calibration, checkpoints

    from deployed_best import fidelity
    from reward_fidelity import PROXIES, bundled_tiny, reward
    trained = bundled_tiny(13)
    kept = [json.dumps(json.loads((LEADERBOARD / a / f"seed{s}.json").read_text())["best_info"]["kept"])
            for a in ("ddpg", "cmaes") for s in (0, 1, 2)]
    deployed = dict(zip(kept, (0.70, 0.62, 0.66, 0.71, 0.58, 0.69)))
    measured = dict(zip(kept, (0.30, 0.22, 0.26, 0.33, 0.18, 0.28)))
    digest = checkpoints.split_digest(checkpoints.bundled_dir(), 8, 13)

    def tau(method: str) -> float:
        fitted = calibration.from_entry(calibration.recorded(checkpoints.bundled_dir(), 8, 13, digest, PROXIES[method])[0])

        def rewards(acc):
            return [reward(trained.config, json.loads(k), acc[k], trained.bits_per_symbol) for k in kept]
        return kendalltau(rewards({k: fitted(a) for k, a in measured.items()}), rewards(deployed)).statistic

    assert f"{tau('distill-16'):.2f}" != f"{tau('reconstruct-8'):.2f}"  # the test tells the maps apart
    designs = {("b", "ddpg", i): {"kept": k, "raw_accuracy": 0.5, "search_accuracy": 0.5, "default_evaluation": False}
               for i, k in enumerate(kept)}
    table = fidelity(argparse.Namespace(split=13, benches=["b"], truth_seeds=[0], calibration_dir=None), designs,
                     deployed, {0: deployed}, trained, "distill-16", measured)
    assert "raw: each design's distill-16 accuracy, measured here" in table[1]
    row = next(line for line in table if line.startswith("| all | 6 | "))
    assert row.split(" | ")[4].startswith(f"{tau('distill-16'):.2f} [")


def test_another_method_is_measured_once_per_design_and_resumed(tmp_path):
    out = tmp_path / "out"
    common = ["--benches", LEADERBOARD, "--agents", "ddpg", "--seeds", 0, 1, "--epochs", 0, "--threads", 1,
              "--out", out, "--methods", "reconstruct-8", "adaptive-bn-8", "--report", "methods.md"]
    deployed_best(*common)
    first = rows(out / "proxies.csv")
    assert len(first) == 2 and {r["method"] for r in first} == {"adaptive-bn-8"}
    deployed_best(*common)
    assert rows(out / "proxies.csv") == first
    text = (out / "methods.md").read_text()
    assert "--methods reconstruct-8 adaptive-bn-8 --report methods.md`" in text
    assert "of reconstruct-8 (isotonic" in text and "of adaptive-bn-8 (isotonic" in text


def test_a_method_with_no_map_at_the_split_is_refused_before_any_compute(tmp_path):
    bad = deployed_best("--benches", LEADERBOARD, "--agents", "ddpg", "--seeds", 0, "--out", tmp_path / "out",
                        "--methods", "finetune-48", check=False)
    assert bad.returncode == 2 and "--methods finetune-48 has no map at split 13" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
