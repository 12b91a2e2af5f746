"""The ``coinfer`` command, run as a user runs it: the installed console script, in a subprocess.

Every subcommand has a smoke test here that checks what it writes; bad input gives
one line naming the value, exit status 2, and leaves nothing behind.
"""

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import coinfer_env  # noqa: F401
from coinfer_cli.args import parse_env_kwargs
from coinfer_cli.main import COMMANDS
from coinfer_env import checkpoints as ckpt

COINFER = str(Path(sys.executable).with_name("coinfer"))
REPO = Path(__file__).resolve().parents[1]
TINY = "CoInfer-ResNet50-Tiny-v0"
FAST = ["split_point=1", "dataset=synthetic", "pretrained=false", "eval_images=32",
        "finetune_steps=1", "finetune_batch=8", "cache=false"]


def coinfer(*args, cwd=None, check=True, env=None) -> subprocess.CompletedProcess:
    out = subprocess.run([COINFER, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env)
    if check and out.returncode != 0:
        raise AssertionError(f"coinfer {' '.join(map(str, args))} exited {out.returncode}:\n{out.stderr[-3000:]}")
    return out


def error_line(out: subprocess.CompletedProcess) -> str:
    """The one error line a failed command printed; it must exit 2, with no traceback."""
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    errors = [line for line in out.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, out.stderr
    return errors[0]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_env_kwargs_parse_json_values():
    assert parse_env_kwargs(["split_point=13", "channel=awgn", "cache=false", "beta=0.25"]) == {
        "split_point": 13, "channel": "awgn", "cache": False, "beta": 0.25}
    with pytest.raises(ValueError, match="key=value"):
        parse_env_kwargs(["split_point"])


def test_help_lists_every_subcommand_and_every_default():
    top = " ".join(coinfer("--help").stdout.split())
    for name, command in COMMANDS.items():
        assert f"{name} {command.purpose}" in top
        sub = coinfer(name, "--help").stdout
        assert "developer" not in sub.lower()
    search = " ".join(coinfer("search", "--help").stdout.split())
    assert "(default: 1100)" in search and "(default: runs/search)" in search


def test_info_prints_sixteen_splits_and_the_user_directories():
    out = coinfer("info", "--width", "8").stdout
    assert len([line for line in out.splitlines() if line.startswith("| ") and line[2].isdigit()]) == 16
    assert "coinfer train writes to:" in out


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """Step 1 at the smallest real settings: width 2, synthetic data, split 1, one epoch of each phase."""
    out = tmp_path_factory.mktemp("train") / "ck"
    coinfer("train", "--width", "2", "--dataset", "synthetic", "--splits", "1", "--epochs", "1",
            "--codec-epochs", "1", "--joint-epochs", "1", "--out", out)
    return out


def test_train_writes_weights_that_the_env_loads_and_plays(trained):
    assert sorted(p.name for p in trained.iterdir()) == ["resnet50-w2-backbone.pt", "resnet50-w2-split01.pt", "resnet50-w2.json"]
    meta = json.loads((trained / "resnet50-w2.json").read_text())
    assert meta["backbone_sha256"] == sha(trained / "resnet50-w2-backbone.pt")
    assert meta["splits"]["1"]["backbone_sha256"] == meta["backbone_sha256"] and meta["stale_splits"] == []
    env = gym.make(TINY, width=2, split_point=1, dataset="synthetic", checkpoint_dir=str(trained),
                   eval_images=32, finetune_steps=1, finetune_batch=8, cache=False)
    saved = ckpt.load_state(trained / "resnet50-w2-split01.pt")
    loaded = env.unwrapped.trained.state_dict()
    assert all(torch.equal(saved[k].to(loaded[k].dtype), loaded[k].cpu()) for k in saved)  # the env really uses the file
    env.reset(seed=0)
    done = False
    while not done:
        _, reward, done, _, info = env.step(np.array([0.5], dtype=np.float32))
    assert info["kept"] and 0 <= info["accuracy"] <= 1


def test_train_more_splits_reuses_the_backbone_and_retrain_marks_others_stale(trained, tmp_path):
    out = tmp_path / "ck"
    shutil.copytree(trained, out)
    before = sha(out / "resnet50-w2-backbone.pt")
    run = coinfer("train", "--width", "2", "--dataset", "synthetic", "--splits", "2", "--epochs", "1",
                  "--codec-epochs", "1", "--joint-epochs", "0", "--codec-loss", "distill", "--out", out)
    assert "reusing the backbone" in run.stdout + run.stderr
    assert sha(out / "resnet50-w2-backbone.pt") == before
    assert sha(out / "resnet50-w2-split01.pt") == sha(trained / "resnet50-w2-split01.pt")
    meta = json.loads((out / "resnet50-w2.json").read_text())
    assert set(meta["splits"]) == {"1", "2"} and meta["stale_splits"] == []
    assert meta["splits"]["2"]["config"]["codec_loss"] == "distill" and meta["splits"]["1"]["config"]["codec_loss"] == "ce"
    coinfer("train", "--width", "2", "--dataset", "synthetic", "--splits", "2", "--epochs", "1", "--seed", "1",
            "--codec-epochs", "0", "--joint-epochs", "0", "--out", out, "--retrain-backbone")
    assert sha(out / "resnet50-w2-backbone.pt") != before
    assert json.loads((out / "resnet50-w2.json").read_text())["stale_splits"] == [1]


@pytest.mark.parametrize("args, named", [
    (["--channel", "wifi"], "channel='wifi'"),
    (["--splits", "0"], "'0'"),
    (["--splits", "1,99"], "'1,99'"),
    (["--epochs", "-1"], "-1"),
    (["--codec-epochs", "x"], "'x'"),
    (["--dataset", "imagenet"], "imagenet"),
    (["--env", "CoInfer-VGG-v0"], "CoInfer-VGG-v0"),
    (["--codec-loss", "l2"], "'l2'"),
])
def test_train_checks_every_argument_before_training(tmp_path, args, named):
    out = coinfer("train", "--width", "2", "--dataset", "synthetic", "--out", tmp_path / "ck", *args, check=False)
    assert named in error_line(out)
    assert not (tmp_path / "ck").exists()


def test_train_refuses_the_installed_package_directory(tmp_path):
    out = coinfer("train", "--width", "2", "--dataset", "synthetic", "--out", ckpt.bundled_dir(), check=False)
    assert "installed package" in error_line(out)


def test_search_writes_result_history_and_plot(tmp_path):
    out = tmp_path / "run"
    coinfer("search", "--agent", "ddpg", "--episodes", "3", "--buffer-episodes", "3", "--out", out, "--env-kwargs", *FAST)
    result = json.loads((out / "result.json").read_text())
    assert result["agent"] == "ddpg" and len(result["history"]) == 3 and result["env_kwargs"]["split_point"] == 1
    assert (out / "history.csv").read_text().count("\n") == 4
    assert (out / "reward.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("parallel", [["--jobs", "2"], ["--backend", "ray"]])
def test_bench_in_parallel_matches_the_serial_bench(tmp_path, parallel):
    if "ray" in parallel:
        pytest.importorskip("ray")
    args = ["bench", "--agents", "random,tpe", "--seeds", "2", "--episodes", "2", "--threads", "1", "--env-kwargs", *FAST, "cache=true"]
    coinfer(*args, "--out", tmp_path / "serial")
    coinfer(*args, *parallel, "--out", tmp_path / "parallel")
    for agent in ("random", "tpe"):
        for seed in (0, 1):
            a, b = (json.loads((tmp_path / d / agent / f"seed{seed}.json").read_text()) for d in ("serial", "parallel"))
            assert a["history"] == b["history"]
    assert {p.name for p in (tmp_path / "parallel" / ".cache").iterdir()} == {"random-seed0", "random-seed1", "tpe-seed0", "tpe-seed1"}


def test_search_plays_a_batch_on_ray_actors_as_it_does_here(tmp_path):
    """Ray actors play the batch in parallel; the run is the one the local batch gives (both at one thread)."""
    pytest.importorskip("ray")
    import os

    args = ["search", "--agent", "tpe", "--episodes", "4", "--batch", "2", "--env-kwargs", *FAST]
    coinfer(*args, "--out", tmp_path / "here", env={**os.environ, "OMP_NUM_THREADS": "1"})
    coinfer(*args, "--backend", "ray", "--out", tmp_path / "ray")
    here, ray = (json.loads((tmp_path / d / "result.json").read_text()) for d in ("here", "ray"))
    assert len(here["history"]) == 4 and here["history"] == ray["history"]


def test_bench_reuse_keeps_finished_runs_and_refuses_another_benchs(tmp_path):
    args = ["bench", "--agents", "random", "--seeds", "2", "--episodes", "2", "--env-kwargs", *FAST, "--out", tmp_path]
    coinfer(*args)
    kept = (tmp_path / "random" / "seed1.json").read_bytes()
    (tmp_path / "random" / "seed0.json").unlink()  # as if the bench had been killed before this run finished
    out = coinfer(*args, "--reuse")
    assert out.stdout.count("done: random") == 1 and (tmp_path / "random" / "seed0.json").exists()
    assert (tmp_path / "random" / "seed1.json").read_bytes() == kept
    other = coinfer("bench", "--agents", "random", "--seeds", "2", "--episodes", "3", "--env-kwargs", *FAST,
                    "--out", tmp_path, "--reuse", check=False)
    assert "seed0.json" in error_line(other) and "3 episodes" in error_line(other)


def test_validate_replays_the_best_design_and_names_what_differs(tmp_path):
    out = tmp_path / "run"
    coinfer("search", "--agent", "random", "--episodes", "2", "--out", out, "--env-kwargs", *FAST)
    ok = coinfer("validate", out / "result.json")
    assert "valid:" in ok.stdout and ok.returncode == 0
    result = json.loads((out / "result.json").read_text())
    assert result["provenance"]["threads"] >= 1 and "code" in result["provenance"]
    result["best_reward"] += 0.01  # a tampered (or no longer repeatable) result
    result["provenance"]["torch"] = "0.0"
    (out / "result.json").write_text(json.dumps(result))
    bad = coinfer("validate", out / "result.json", check=False)
    assert bad.returncode == 1 and "INVALID: reward differ" in bad.stdout and "torch: '0.0' then" in bad.stdout
    (tmp_path / "empty.json").write_text("{}")
    assert "holds no finished episode" in error_line(coinfer("validate", tmp_path / "empty.json", check=False))


def test_a_changed_calibration_map_is_named_by_validate_and_refused_by_a_bench_reuse(tmp_path):
    """The map is data beside the weights, outside the code digest: the run's provenance must name it."""
    from coinfer_env import calibration as calib
    from coinfer_env.evaluation import EvalSettings

    weights = tmp_path / "weights"
    weights.mkdir()
    for f in ("resnet50-w8-backbone.pt", "resnet50-w8-split01.pt"):
        shutil.copy(ckpt.bundled_dir() / f, weights / f)

    def ship(slope: float) -> None:
        calib.save(weights, 8, 1, ckpt.split_digest(weights, 8, 1), EvalSettings("adaptive-bn", bn_batches=1),
                   calib.Calibration.line(slope, 0.2))

    ship(0.5)
    kw = ["split_point=1", f"checkpoint_dir={weights}", "evaluation=adaptive-bn", "bn_batches=1", "eval_images=32",
          "calibrated=true", "cache=false"]
    coinfer("search", "--agent", "random", "--episodes", "1", "--out", tmp_path / "run", "--env-kwargs", *kw)
    bench = ["bench", "--agents", "random", "--seeds", "1", "--episodes", "1", "--out", tmp_path / "bench", "--env-kwargs", *kw]
    coinfer(*bench)
    assert "valid:" in coinfer("validate", tmp_path / "run" / "result.json").stdout
    assert "done: random" not in coinfer(*bench, "--reuse").stdout  # same map: the finished run is kept
    ship(0.6)
    bad = coinfer("validate", tmp_path / "run" / "result.json", check=False)
    assert bad.returncode == 1 and "calibration: '" in bad.stdout and "please report it" not in bad.stdout
    assert "calibration map" in error_line(coinfer(*bench, "--reuse", check=False))


def test_bench_writes_table_json_and_plot(tmp_path):
    coinfer("bench", "--agents", "random,uniform-sweep", "--seeds", "2", "--episodes", "2", "--out", tmp_path, "--env-kwargs", *FAST)
    table = (tmp_path / "bench.md").read_text()
    assert "| random |" in table and "| uniform-sweep |" in table and "25% (1 ep.)" in table
    assert "coinfer bench" in table  # the exact command is recorded
    summary = json.loads((tmp_path / "bench.json").read_text())["random"]
    assert len(summary["reward"]["100%"]["values"]) == 2 and len(summary["hypervolume"]["100%"]["values"]) == 2
    assert "hypervolume" in table and (tmp_path / "random" / "seed1.timings.csv").exists()
    run = json.loads((tmp_path / "random" / "seed1.json").read_text())["best_info"]  # recomputed from the run itself
    assert summary["best_design"]["device FLOPs cut"]["values"][1] == pytest.approx(1 - run["flops"] / run["flops_original"])
    assert summary["best_design"]["bits cut"]["values"][1] == pytest.approx(1 - run["bits"] / run["bits_original"])
    assert "| random | " in table.split("The best design of each run")[1]
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"


def test_export_writes_torchscript_that_runs_without_the_package(tmp_path):
    run = tmp_path / "run"
    coinfer("search", "--agent", "random", "--episodes", "2", "--out", run, "--env-kwargs", *FAST)
    coinfer("export", run / "result.json", "--epochs", "1")
    exp = run / "export"  # the default: beside the result
    report = json.loads((exp / "export.json").read_text())
    code = (
        "import sys, torch; sys.modules['coinfer_env'] = None; "
        f"d = torch.jit.load({str(exp / 'device.pt')!r}); s = torch.jit.load({str(exp / 'server.pt')!r}); "
        "z = d(torch.zeros(2, 3, 32, 32)); print(z.shape[1], s(z).shape[1])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    symbols, classes = map(int, out.stdout.split())
    assert symbols * 32 == report["bits"] and classes == 10


def test_select_reads_the_shipped_results():
    out = coinfer("select", "--device", "rpi3", "--rate", "40KB/s").stdout
    assert "results tradeoff.csv" in out and "choose " in out


def test_select_works_from_a_wheel_install(tmp_path):
    """Package data, not the source tree: build the wheel, install it alone, run select from elsewhere."""
    src = tmp_path / "src"  # a copy, so that the build leaves nothing in the checkout
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "build", "*.egg-info", "__pycache__", "tests", "docs"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "whl", src],
                   check=True, capture_output=True)
    wheel = next((tmp_path / "whl").glob("coinfer_env-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", tmp_path / "site", wheel],
                   check=True, capture_output=True)
    code = "import coinfer_cli, sys; from coinfer_cli.main import main; print(coinfer_cli.__file__); sys.exit(main(['select']))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].startswith(str(tmp_path / "site")) and "choose " in out.stdout


@pytest.mark.parametrize("args, named", [
    (["search", "--env", "CoInfer-VGG-v0"], "CoInfer-VGG-v0"),
    (["search", "--env-kwargs", "split_point=40"], "split_point=40"),
    (["search", "--episodes", "0"], "0"),
    (["search", "--agent", "random", "--resume"], "--resume"),
    (["search", "--agent", "ddpg", "--batch", "2"], "--batch"),
    (["search", "--agent", "tpe", "--batch", "0"], "0"),
    (["bench", "--agents", ""], "''"),
    (["bench", "--seeds", "0"], "0"),
    (["bench", "--agents", "ddpg,alphazero"], "alphazero"),
])
def test_bad_input_is_one_clear_line_and_writes_nothing(tmp_path, args, named):
    out = coinfer(*args, "--out", tmp_path / "o", check=False)
    assert named in error_line(out)
    assert not (tmp_path / "o").exists()


def test_train_defaults_are_the_training_configs():
    """The parser cannot import torch (fast --help), so it restates TrainConfig's defaults: keep them equal."""
    from coinfer_cli.main import build_parser
    from coinfer_env.training import TrainConfig

    args = build_parser().parse_args(["train"])
    cfg = TrainConfig()
    for name in ("epochs", "codec_epochs", "joint_epochs", "augment", "mix_alpha", "ema_decay", "joint", "codec_loss", "seed", "channel"):
        assert getattr(args, name) == getattr(cfg, name), name


def test_a_withdrawn_shipped_map_is_refused_with_its_reason_and_nothing_is_written(tmp_path):
    """The bundled calibration.json records each withdrawn map; ``calibrated=true`` with one of them is one error line
    that quotes the withdrawal's reason (read from the file itself, so the test follows whatever is withdrawn), exits 2
    and writes no run directory."""
    from coinfer_env import calibration as calib
    from coinfer_env import checkpoints as ckpt

    withdrawn = json.loads((ckpt.bundled_dir() / calib.FILE_NAME).read_text()).get("withdrawn", [])
    if not withdrawn:
        pytest.skip("no shipped map is withdrawn")
    w = withdrawn[0]
    evaluation = w["evaluation"]
    kw = [f"split_point={w['split_point']}", f"evaluation={evaluation['method']}", "calibrated=true", "cache=false",
          *(f"{name}={evaluation[key]}" for name, key in (("finetune_steps", "steps"), ("bn_batches", "bn_batches"),
                                                          ("finetune_batch", "batch"), ("finetune_lr", "lr")))]
    line = error_line(coinfer("search", "--agent", "random", "--episodes", "1", "--out", tmp_path / "run",
                              "--env-kwargs", *kw, check=False))
    assert f"Its fit was withdrawn: {w['reason']}." in line
    assert not (tmp_path / "run").exists()
