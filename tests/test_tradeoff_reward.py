"""benchmarks/tradeoff_reward.py: the paper's reward of trade-off points with their exported accuracy."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]
FIELDS = ["scheme", "split_point", "device_flops", "payload_bits", "test_accuracy", "server_flops", "notes", "seed",
          "epochs", "seconds"]
FLOPS0, BITS0 = 32_686_080, 262_144  # the Tiny weights' unpruned device part and feature at split 13 (the report prints them)


def tradeoff_reward(*args, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "tradeoff_reward.py"), *map(str, args)],
                          capture_output=True, text=True, check=check, cwd=REPO)


def write_run(directory: Path, points: list[tuple[int, int, float, int]]) -> None:
    """tradeoff.csv rows of proposed-ddpg at split 13: (device FLOPs, bits, accuracy, seed), plus a row of another scheme."""
    directory.mkdir()
    with (directory / "tradeoff.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for flops, bits, acc, seed in points:
            w.writerow({"scheme": "proposed-ddpg", "split_point": 13, "device_flops": flops, "payload_bits": bits,
                        "test_accuracy": acc, "server_flops": 1, "notes": "search_reward=0.5;episodes=40;epochs=12",
                        "seed": seed, "epochs": 12, "seconds": 1})
        w.writerow({"scheme": "2-step", "split_point": 13, "device_flops": 1, "payload_bits": 1, "test_accuracy": 0.1,
                    "server_flops": 1, "notes": "", "seed": 0, "epochs": 12, "seconds": 1})


def paper_reward(acc: float, flops: int, bits: int) -> float:
    """(H(acc, nu) + H(acc, rho) + 0.5 H(nu, rho)) / 3, H the harmonic mean, written out by hand."""
    nu, rho = 1 - flops / FLOPS0, 1 - bits / BITS0
    h = lambda a, b: 2 * a * b / (a + b)  # noqa: E731
    return (h(acc, nu) + h(acc, rho) + 0.5 * h(nu, rho)) / 3


def test_rewards_and_paired_differences_follow_the_paper_formula(tmp_path):
    a = [(20_000_000, 256, 0.70, 0), (16_000_000, 300, 0.66, 1)]
    b = [(12_000_000, 320, 0.64, 0), (13_000_000, 288, 0.61, 1)]
    write_run(tmp_path / "a", a)
    write_run(tmp_path / "b", b)
    out = tmp_path / "report.md"
    text = tradeoff_reward("--runs", tmp_path / "a", tmp_path / "b", "--out", out).stdout
    assert out.read_text() == text and f"{FLOPS0:,} device FLOPs, {BITS0:,} bits of raw feature" in text
    mean_a = (paper_reward(0.70, 20_000_000, 256) + paper_reward(0.66, 16_000_000, 300)) / 2
    row_a = next(line for line in text.splitlines() if line.startswith(f"| {tmp_path / 'a'} | 2 |"))
    assert f"| {mean_a:.4f} ± " in row_a
    diffs = [paper_reward(q[2], q[0], q[1]) - paper_reward(p[2], p[0], p[1]) for p, q in zip(a, b)]
    line = re.search(rf"\| {re.escape(str(tmp_path / 'b'))} \| 2 \| ([+-]\d\.\d{{4}}) ±", text)
    assert float(line.group(1)) == pytest.approx(sum(diffs) / 2, abs=1e-4)


def test_a_run_without_the_scheme_is_one_line_naming_it(tmp_path):
    write_run(tmp_path / "a", [(20_000_000, 256, 0.70, 0)])
    done = tradeoff_reward("--runs", tmp_path / "a", "--scheme", "proposed-random", check=False)
    assert done.returncode == 1 and "no row of scheme proposed-random at split 13" in done.stderr
    missing = tradeoff_reward("--runs", tmp_path / "nowhere", check=False)
    assert "tradeoff.csv does not exist" in missing.stderr
