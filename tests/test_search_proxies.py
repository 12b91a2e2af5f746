"""benchmarks/search_proxies.py: raw proxies on the search-like designs that have export truths."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

from scipy.stats import kendalltau

REPO = Path(__file__).parents[1]
SCRIPT = REPO / "benchmarks" / "search_proxies.py"


def rows(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_the_report_reads_the_committed_rows_and_computes_nothing_new(tmp_path):
    """In a copy of the results, ``--methods reconstruct-8`` at split 7 finds every raw accuracy committed: nothing is
    appended, the report covers the 28 designs with seed-0 export truths (12 calibration-search, 16 fresh), and its
    accuracy tau is scipy's on those rows, read here straight from the CSVs."""
    for part in ("calibration", "reward_fidelity"):
        shutil.copytree(REPO / "docs" / "results" / part, tmp_path / "docs" / "results" / part)
    results = tmp_path / "docs" / "results" / "calibration"
    before = (results / "proxies.csv").read_text()
    done = subprocess.run([sys.executable, str(SCRIPT), "--split", "7", "--methods", "reconstruct-8", "--threads", "1"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (results / "proxies.csv").read_text() == before
    from reward_fidelity import bundled_tiny, calibration_search, search_designs

    config = bundled_tiny(7).config
    designs = {json.dumps(list(k)) for k in list(calibration_search(config, 12, 0)) + list(search_designs(config, 16, 4000))}
    truth = {r["kept"]: float(r["test_accuracy"]) for r in rows(results / "truth.csv")
             if r["split"] == "7" and r["epochs"] == "10" and r["seed"] == "0" and r["kept"] in designs}
    raw = {r["kept"]: float(r["proxy_accuracy"]) for r in rows(results / "proxies.csv")
           if r["split"] == "7" and r["method"] == "reconstruct-8" and r["kept"] in designs}
    assert len(designs) == len(truth) == len(raw) == 28
    tau = kendalltau([raw[k] for k in designs], [truth[k] for k in designs]).statistic
    text = (results / "search-proxies-split-07.md").read_text()
    assert "28 search-like designs" in text
    row = next(line for line in text.splitlines() if line.startswith("| raw reconstruct-8 |"))
    assert row.split(" | ")[2] == f"{tau:.2f}"
