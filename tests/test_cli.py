"""The coinfer command: search, bench and export write their files; bad input is one clear line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from agents.cli import main, parse_env_kwargs

FAST = ["split_point=1", "dataset=synthetic", "pretrained=false", "eval_images=32",
        "finetune_steps=1", "finetune_batch=8", "cache=false"]


def test_env_kwargs_parse_json_values():
    assert parse_env_kwargs(["split_point=13", "channel=awgn", "cache=false", "beta=0.25"]) == {
        "split_point": 13, "channel": "awgn", "cache": False, "beta": 0.25}
    with pytest.raises(ValueError, match="key=value"):
        parse_env_kwargs(["split_point"])


@pytest.mark.parametrize("agent", ["random", "ddpg"])
def test_search_writes_result_history_and_plot(tmp_path, agent):
    out = tmp_path / agent
    rc = main(["search", "--agent", agent, "--episodes", "3", "--seed", "0", "--out", str(out),
               "--buffer-episodes", "3", "--env-kwargs", *FAST])
    assert rc == 0
    result = json.loads((out / "result.json").read_text())
    assert result["agent"] == agent and len(result["history"]) == 3
    assert result["env_kwargs"]["split_point"] == 1
    assert (out / "history.csv").read_text().count("\n") == 4
    assert (out / "reward.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_writes_table_and_plot(tmp_path):
    rc = main(["bench", "--agents", "random,uniform-sweep", "--seeds", "2", "--episodes", "4",
               "--out", str(tmp_path), "--env-kwargs", *FAST])
    assert rc == 0
    table = (tmp_path / "bench.md").read_text()
    assert "| random |" in table and "| uniform-sweep |" in table and "25% (1 ep.)" in table
    assert (tmp_path / "bench.png").exists()
    summary = json.loads((tmp_path / "bench.json").read_text())
    assert len(summary["random"]["100%"]["values"]) == 2


def test_export_writes_torchscript_that_runs_without_the_package(tmp_path):
    run = tmp_path / "run"
    assert main(["search", "--agent", "random", "--episodes", "2", "--out", str(run), "--env-kwargs", *FAST]) == 0
    assert main(["export", str(run / "result.json"), "--out", str(tmp_path / "exp"), "--epochs", "1"]) == 0
    report = json.loads((tmp_path / "exp" / "export.json").read_text())
    code = (
        "import sys, torch; sys.modules['coinfer_env'] = None; "
        f"d = torch.jit.load({str(tmp_path / 'exp' / 'device.pt')!r}); s = torch.jit.load({str(tmp_path / 'exp' / 'server.pt')!r}); "
        "z = d(torch.zeros(2, 3, 32, 32)); print(z.shape[1], s(z).shape[1])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    symbols, classes = map(int, out.stdout.split())
    assert symbols * 32 == report["bits"] and classes == 10


def test_bad_input_is_one_clear_line(tmp_path, capsys):
    assert main(["search", "--agent", "random", "--episodes", "1", "--out", str(tmp_path),
                 "--env-kwargs", "split_point=40"]) == 2
    assert "split_point=40" in capsys.readouterr().err
    assert main(["search", "--agent", "random", "--resume", "--episodes", "1", "--out", str(tmp_path)]) == 2
