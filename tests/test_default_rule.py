"""benchmarks/default_rule.py: its taus are scipy's on the committed rows, and its rule picks what the rule says."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

REPO = Path(__file__).parents[1]


def _rewards(kept: list[str], acc: list[float]) -> list[float]:
    from reward_fidelity import bundled_tiny

    from coinfer_env.accounting import cost
    from coinfer_env.envs import reward_terms

    trained = bundled_tiny(13)
    out = []
    for k, a in zip(kept, acc):
        c = cost(trained.config, json.loads(k), trained.bits_per_symbol)
        out.append(reward_terms(a, c.flops, c.flops_original, c.bits, c.bits_original, 0.5)["reward"])
    return out


def test_the_committed_report_is_rebuilt_and_its_taus_are_scipys(tmp_path):
    """In a copy of the results the script writes the committed report again (all but its command line, which
    carries the seconds), and reconstruct-8's broad and narrow reward taus are scipy's Kendall tau of the rewards of
    its accuracies against those of the two export seeds' mean."""
    from reward_fidelity import read_rows

    shutil.copytree(REPO / "docs" / "results", tmp_path / "docs" / "results")
    report = tmp_path / "docs" / "results" / "reward_fidelity" / "default-rule.md"
    committed = report.read_text()
    report.unlink()
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "default_rule.py")], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    strip = lambda text: [line for line in text.splitlines() if not line.startswith("Command:")]  # noqa: E731
    assert strip(report.read_text()) == strip(committed)
    seeds: dict[str, dict[str, float]] = {}
    for r in read_rows(REPO / "docs" / "results" / "reward_fidelity" / "ground_truth_check.csv"):
        if r["start"] == "pruned" and r["epochs"] == "10" and r["seed"] in ("0", "1"):
            seeds.setdefault(r["kept"], {})[r["seed"]] = float(r["test_accuracy"])
    networks = read_rows(REPO / "docs" / "results" / "reward_fidelity" / "networks.csv")
    row = next(line for line in committed.splitlines() if line.startswith("| reconstruct-8 |")).split(" | ")
    for cell, panel in zip(row[1:3], ("broad", "narrow")):
        mine = sorted((r for r in networks if r["panel"] == panel and r["method"] == "reconstruct-8"),
                      key=lambda r: r["kept"])
        kept = [r["kept"] for r in mine]
        truth = _rewards(kept, [np.mean([seeds[k]["0"], seeds[k]["1"]]) for k in kept])
        proxy = _rewards(kept, [float(r["proxy_accuracy"]) for r in mine])
        assert cell.startswith(f"{kendalltau(proxy, truth).statistic:.2f} [")


def test_the_rule_picks_a_method_only_when_it_is_fast_enough_and_leads_by_the_margin():
    """A made-up method that reads the truth exactly scores 1.0: the rule picks it when it is fast enough, and keeps
    the default when it is too slow or when its accuracies are the default's own (a tie)."""
    from default_rule import report, truths
    from reward_fidelity import read_rows

    networks = [r for r in read_rows(REPO / "docs" / "results" / "reward_fidelity" / "networks.csv")
                if r["panel"] in ("broad", "narrow", "sweep") and r["method"] == "reconstruct-8"]
    seeds = {k: {int(s): a for s, a in v.items()} for k, v in truths().items()}
    exact = [{**r, "method": "oracle", "proxy_accuracy": str(np.mean([seeds[r["kept"]][0], seeds[r["kept"]][1]]))}
             for r in networks]
    same = [{**r, "method": "twin"} for r in networks]
    verdict = lambda text: text.split("So: ")[1].strip()  # noqa: E731
    assert verdict(report(networks + exact, seeds, {"reconstruct-8": 3.0, "oracle": 4.0}, 0.0)) == "the rule picks oracle."
    assert verdict(report(networks + exact, seeds, {"reconstruct-8": 3.0, "oracle": 4.6}, 0.0)) == \
        "reconstruct-8 stays the default."
    assert verdict(report(networks + same, seeds, {"reconstruct-8": 3.0, "twin": 1.0}, 0.0)) == \
        "reconstruct-8 stays the default."
