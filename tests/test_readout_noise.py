"""benchmarks/readout_noise.py: its attenuation arithmetic against a simulation, and its committed report."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def test_the_attenuation_predicts_what_more_images_and_noise_free_images_give_in_a_simulation():
    """Simulated designs: a noise-free accuracy p, a truth correlated with it, and readouts of p on 1,000 and on
    3,000 binomially sampled images. From the 1,000-image readout alone, the formulas predict the correlation of the
    3,000-image readout and of p itself with the truth."""
    from readout_noise import attenuated, noise_share

    rng = np.random.default_rng(0)
    p = rng.uniform(0.15, 0.19, 50000)
    truth = p + rng.normal(0, 0.005, p.size)
    seen, more = rng.binomial(1000, p) / 1000, rng.binomial(3000, p) / 3000
    r = np.corrcoef(seen, truth)[0, 1]
    share = noise_share(seen, 1000)
    assert 0.4 < share < 0.8  # a case where the noise matters
    assert attenuated(r, share, 3) == pytest.approx(np.corrcoef(more, truth)[0, 1], abs=0.01)
    assert attenuated(r, share, np.inf) == pytest.approx(np.corrcoef(p, truth)[0, 1], abs=0.01)
    assert attenuated(r, share, 1) == pytest.approx(r)


def test_the_committed_report_is_what_the_committed_rows_give(tmp_path):
    repo = Path(__file__).parents[1]
    shutil.copytree(repo / "docs" / "results" / "calibration", tmp_path / "docs" / "results" / "calibration")
    report = tmp_path / "docs" / "results" / "calibration" / "readout-noise.md"
    report.unlink()
    done = subprocess.run([sys.executable, str(repo / "benchmarks" / "readout_noise.py")], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    strip = lambda text: [line for line in text.splitlines() if not line.startswith("Command:")]  # noqa: E731
    assert strip(report.read_text()) == strip((repo / "docs" / "results" / "calibration" / "readout-noise.md").read_text())
