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

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from reward_fidelity import bundled_tiny, reward
    finally:
        sys.path.pop(0)
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

