"""Nothing lost, nothing mixed: resume checks, an exact and validated cache, atomic files, clear errors."""

import copy
import json
import os
import pickle
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import coinfer_env.checkpoints
import coinfer_env.envs
from coinfer_env.data import ImageSet, Splits
from test_cli import COINFER, FAST, coinfer, error_line

TINY = "CoInfer-ResNet50-Tiny-v0"
ENV = dict(pretrained=False, dataset="synthetic", eval_images=64, finetune_steps=1, finetune_batch=16, split_point=1)


def play(env, ratio=0.5):
    env.reset(seed=0)
    done = False
    while not done:
        *_, done, _, info = env.step(np.array([ratio], dtype=np.float32))
    return info


# -- resume -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def resumable(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("resume") / "run"
    coinfer("search", "--agent", "ddpg", "--episodes", "2", "--buffer-episodes", "3", "--resume", "--out", out, "--env-kwargs", *FAST)
    return out


@pytest.mark.parametrize("change, named", [
    (["--seed", "1"], "seed=0 in the checkpoint, 1 now"),
    (["--env-kwargs", *FAST, "finetune_steps=2"], "finetune_steps=1 in the checkpoint, 2 now"),
    (["--env-kwargs", *FAST, "eval_images=16"], "eval_images=32 in the checkpoint, 16 now"),
    (["--env-kwargs", *FAST, "channel=quantize"], "channel='ideal' in the checkpoint, 'quantize' now"),
    (["--env-kwargs", *FAST, "split_point=2"], "split_point=1 in the checkpoint, 2 now"),
    (["--buffer-episodes", "4"], "buffer_episodes=3 in the checkpoint, 4 now"),
])
def test_resume_refuses_a_run_with_other_settings(resumable, change, named):
    args = ["search", "--agent", "ddpg", "--episodes", "3", "--buffer-episodes", "3", "--resume", "--out", resumable]
    if "--env-kwargs" not in change:
        args += ["--env-kwargs", *FAST]
    before = (resumable / "result.json").read_bytes()
    out = coinfer(*args, *change, check=False)
    assert named in error_line(out)
    assert (resumable / "result.json").read_bytes() == before  # nothing mixed in


def test_resume_with_the_same_settings_continues_and_clears_stale_temporaries(resumable, tmp_path):
    run = tmp_path / "run"
    import shutil

    shutil.copytree(resumable, run)
    (run / ".result.json.abc123.tmp").write_text("{half a fil")
    out = coinfer("search", "--agent", "ddpg", "--episodes", "3", "--buffer-episodes", "3", "--resume", "--out", run, "--env-kwargs", *FAST)
    assert "removed .result.json.abc123.tmp" in out.stdout
    assert len(json.loads((run / "result.json").read_text())["history"]) == 3
    assert not list(run.glob(".*.tmp"))


# -- the evaluation cache ------------------------------------------------------------------
def test_cache_key_holds_the_data_contents(tmp_path, monkeypatch):
    first = play(gym.make(TINY, cache_dir=tmp_path, **ENV))
    assert play(gym.make(TINY, cache_dir=tmp_path, **ENV))["cache_hit"]
    real = coinfer_env.envs.load

    def changed(*args, **kwargs):  # same name, other contents: the labels of the validation images
        d = real(*args, **kwargs)
        return Splits(d.train, ImageSet(d.val.images, (d.val.labels + 1) % 10), d.test)

    monkeypatch.setattr(coinfer_env.envs, "load", changed)
    other = play(gym.make(TINY, cache_dir=tmp_path, **ENV))
    assert not other["cache_hit"] and other["accuracy"] != first["accuracy"]


def test_source_digest_follows_every_python_file_and_nothing_else(tmp_path):
    """The code part of the cache key and of the trade-off's job files: an edit to any .py file is another version."""
    from coinfer_env.cache import code_digest, source_digest

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "m.py").write_text("x = 1\n")
    (b / "n.py").write_text("y = 2\n")
    before = source_digest(a, b)
    (a / "notes.txt").write_text("not code")
    assert source_digest(a, b) == before
    (b / "n.py").write_text("y = 3\n")
    assert source_digest(a, b) != before and source_digest(b, a) != source_digest(a, b)
    assert source_digest(a, salt="1.0") != source_digest(a)
    package = Path(coinfer_env.envs.__file__).parent
    assert code_digest().endswith("+" + source_digest(package, salt=code_digest().split("+")[0]))


def test_cache_key_holds_the_thread_count(tmp_path):
    env = gym.make(TINY, cache_dir=tmp_path, **ENV)
    play(env)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1 if before != 1 else 2)
        assert not play(env)["cache_hit"]
    finally:
        torch.set_num_threads(before)
    assert play(env)["cache_hit"]


def test_cache_key_and_provenance_name_the_cpu_kernels(tmp_path, monkeypatch):
    """Another CPU picks other vector kernels, whose rounding a fine-tune amplifies: "cpu" alone is not the device."""
    env = gym.make(TINY, cache_dir=tmp_path, **ENV)
    play(env)
    native = torch.backends.cpu.get_cpu_capability()
    assert env.unwrapped.provenance()["device"].endswith(f" ({native})")
    other = "AVX512" if native != "AVX512" else "AVX2"
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: other)
    elsewhere = gym.make(TINY, cache_dir=tmp_path, **ENV)
    assert not play(elsewhere)["cache_hit"]
    assert elsewhere.unwrapped.provenance()["device"].endswith(f" ({other})")


@pytest.mark.parametrize("row", ['{"accuracy": 7.5}', '{"accuracy": NaN}', '{"acc": 0.5}', "not json", '[0.5]'])
def test_an_invalid_cached_row_is_a_miss_with_one_warning(tmp_path, row):
    fresh = play(gym.make(TINY, cache_dir=tmp_path, **ENV))
    db = sqlite3.connect(tmp_path / "eval-cache.sqlite")
    db.execute("UPDATE results_v2 SET result = ?", (row,))
    db.commit()
    db.close()
    env = gym.make(TINY, cache_dir=tmp_path, **ENV)
    with pytest.warns(RuntimeWarning, match="invalid row"):
        again = play(env)
    assert not again["cache_hit"] and again["accuracy"] == fresh["accuracy"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once: the second bad read is silent
        play(env, 0.3)


@pytest.mark.parametrize("make_bad", ["garbage", "foreign", "directory"])
def test_an_unusable_cache_file_warns_and_the_env_still_works(tmp_path, make_bad):
    path = tmp_path / "eval-cache.sqlite"
    if make_bad == "garbage":
        path.write_bytes(b"this is not a database" * 100)
    elif make_bad == "foreign":
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE results_v2 (a INTEGER)")
        db.commit()
        db.close()
    else:
        path.mkdir()
    with pytest.warns(RuntimeWarning, match="eval-cache.sqlite"):
        info = play(gym.make(TINY, cache_dir=tmp_path, **ENV))
    assert 0 <= info["accuracy"] <= 1


def test_the_cache_lives_in_the_user_cache_directory_not_the_package(tmp_path, monkeypatch):
    package = coinfer_env.checkpoints.bundled_dir()
    before = sorted(p.name for p in package.iterdir())
    monkeypatch.setenv("COINFER_CACHE_DIR", str(tmp_path / "c"))
    play(gym.make(TINY, **{**ENV, "pretrained": True}))
    assert (tmp_path / "c" / "eval-cache.sqlite").exists()
    assert sorted(p.name for p in package.iterdir()) == before


def test_envs_survive_deepcopy_and_pickle_with_the_cache_on(tmp_path):
    env = gym.make(TINY, cache_dir=tmp_path, **ENV).unwrapped
    first = play(env)
    for twin in (copy.deepcopy(env), pickle.loads(pickle.dumps(env))):
        info = play(twin)
        assert info["cache_hit"] and info["accuracy"] == first["accuracy"]


# -- files ------------------------------------------------------------------------------------
WRITER = """
import sys
from agents.common import SearchResult
r = SearchResult(agent="x", env_id="CoInfer-ResNet50-Tiny-v0", seed=0)
info = {"reward": 0.5, "accuracy": 0.5, "flops": 1, "bits": 1, "cache_hit": False, "kept": list(range(400))}
for i in range(4000):
    r.record([0.5] * 400, {**info, "reward": i / 4000}, 0.0)
    r.save(sys.argv[1])
    if i == 5:
        print("started", flush=True)
"""


def test_result_files_are_whole_at_every_moment_even_when_killed(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    reads = 0
    deadline = time.time() + 4
    while time.time() < deadline and proc.poll() is None:  # a reader sees what a kill would leave
        json.loads((tmp_path / "result.json").read_text())
        lines = (tmp_path / "history.csv").read_text().splitlines()
        assert lines[0].startswith("episode,") and all(line.count(",") == 5 for line in lines)
        reads += 1
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert reads > 20
    assert json.loads((tmp_path / "result.json").read_text())["history"]


def test_a_search_writes_its_files_after_every_episode(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([COINFER, "search", "--agent", "random", "--episodes", "200", "--out", str(out),
                             "--env-kwargs", *FAST], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not (out / "result.json").exists():
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = json.loads((out / "result.json").read_text())["history"]
    assert 0 < len(done) < 200
    assert (out / "history.csv").read_text().count("\n") == len(done) + 1


def test_two_runs_with_the_same_seed_write_identical_results(tmp_path):
    for name in ("a", "b"):
        coinfer("search", "--agent", "random", "--episodes", "3", "--seed", "4", "--out", tmp_path / name, "--env-kwargs", *FAST)
    for f in ("result.json", "history.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    text = (tmp_path / "a" / "result.json").read_text()
    assert str(tmp_path) not in text and "seconds" not in text and "/" not in json.loads(text)["env_id"]
    assert (tmp_path / "a" / "timings.csv").read_text().startswith("episode,seconds,cache_hit")


def assert_device_part_is(directory: Path, model) -> None:
    """The exported TorchScript device part holds ``model``'s device weights and buffers."""
    exported = torch.jit.load(str(directory / "device.pt")).state_dict()
    want = model.device.state_dict()
    assert exported.keys() == want.keys()
    for name, value in want.items():
        torch.testing.assert_close(exported[name], value.contiguous(), rtol=1e-5, atol=1e-6, msg=name)


def test_export_replaces_its_directory_whole_and_epochs_zero_trains_nothing(tmp_path):
    """With 0 epochs the export is exactly its starting network: plain pruning by default, or with --start
    recovered the network the search's evaluation recovered and scored (the oracle for both: rebuilt here)."""
    from coinfer_env.pruning import prune_to

    run = tmp_path / "run"
    coinfer("search", "--agent", "random", "--episodes", "2", "--out", run, "--env-kwargs", *FAST)
    coinfer("export", run / "result.json", "--epochs", "0", "--out", tmp_path / "exp")
    report = json.loads((tmp_path / "exp" / "export.json").read_text())
    assert report["test_accuracy"] == report["test_accuracy_before_finetune"] and "seconds" not in report
    result = json.loads((run / "result.json").read_text())
    env = gym.make(result["env_id"], **result["env_kwargs"]).unwrapped
    kept = result["best_info"]["kept"]
    pruned, recovered = prune_to(env.trained, kept), env.evaluator.build(kept)[0]
    assert_device_part_is(tmp_path / "exp", pruned)
    assert report["start"] == "pruned"
    coinfer("export", run / "result.json", "--epochs", "0", "--start", "recovered", "--out", tmp_path / "rec")
    assert_device_part_is(tmp_path / "rec", recovered)
    assert json.loads((tmp_path / "rec" / "export.json").read_text())["start"] == env.eval_settings.method == "reconstruct"
    assert any(not torch.equal(v, recovered.device.state_dict()[n]) for n, v in pruned.device.state_dict().items())
    shutil.rmtree(tmp_path / "rec")
    first = (tmp_path / "exp" / "device.pt").read_bytes()
    coinfer("export", run / "result.json", "--epochs", "1", "--out", tmp_path / "exp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp", "run"]  # no staging directory left
    assert sorted(p.name for p in (tmp_path / "exp").iterdir()) == ["device.pt", "export.json", "server.pt"]
    assert (tmp_path / "exp" / "device.pt").read_bytes() != first
    assert json.loads((tmp_path / "exp" / "export.json").read_text())["finetune_epochs"] == 1


def test_an_export_with_the_same_seed_repeats_and_another_seed_does_not(tmp_path):
    """Same process, threads and kernels: the same seed gives the same export.json and the same weights
    (what export.py's report and benchmarks/deployed_best.py rely on); another seed moves them."""
    from coinfer_env.data import load_synthetic
    from coinfer_env.export import export
    from coinfer_env.architecture import SplitConfig, full_kept
    from coinfer_env.network import SplitNetwork

    config = SplitConfig(8, 3)
    trained = SplitNetwork(config).eval()
    data = load_synthetic(train_size=64, test_size=64)
    kept = [max(1, k // 2) for k in full_kept(config)]

    def run(name: str, seed: int) -> tuple[bytes, dict]:
        report = export(trained, kept, data, tmp_path / name, epochs=1, seed=seed)
        state = torch.jit.load(str(tmp_path / name / "device.pt")).state_dict()
        return (tmp_path / name / "export.json").read_bytes(), report | {"weights": state}

    first, second, other = run("a", 0), run("b", 0), run("c", 1)
    assert first[0] == second[0]
    for name, value in first[1]["weights"].items():
        assert torch.equal(value, second[1]["weights"][name]), name
    assert any(not torch.equal(v, other[1]["weights"][n]) for n, v in first[1]["weights"].items())


# -- one clear line -----------------------------------------------------------------------------
def test_bad_files_and_values_are_one_line_naming_them(tmp_path):
    (tmp_path / "afile").write_text("x")
    assert "afile is an existing file" in error_line(coinfer("search", "--out", tmp_path / "afile", check=False))
    assert "not writable" in error_line(coinfer("search", "--out", "/proc/coinfer-out", check=False))
    assert "no such keyword" in error_line(coinfer("search", "--out", tmp_path / "o", "--env-kwargs", "splitpoint=3", check=False))
    assert not (tmp_path / "o").exists()
    for content in ("", "{\"agent\": ", "[1, 2]", "{\"history\": 3}"):
        (tmp_path / "r.json").write_text(content)
        assert "r.json is not a search's result.json" in error_line(coinfer("export", tmp_path / "r.json", check=False))
    run = tmp_path / "run"
    run.mkdir()
    for content in (b"", b"PK\x03\x04 truncated"):
        (run / "agent_state.pt").write_bytes(content)
        line = error_line(coinfer("search", "--resume", "--episodes", "1", "--out", run, "--env-kwargs", *FAST, check=False))
        assert "agent_state.pt is not a usable DDPG checkpoint" in line


@pytest.mark.parametrize("args, named", [
    (["--device", "nan"], "'nan'"), (["--device", "-5"], "'-5'"), (["--device", "0"], "'0'"),
    (["--rate", "0KB/s"], "'0KB/s'"), (["--rate", "nanKB/s"], "'nanKB/s'"), (["--min-accuracy", "nan"], "'nan'"),
])
def test_select_requires_finite_positive_speeds_and_rates(args, named):
    assert named in error_line(coinfer("select", *args, check=False))


@pytest.mark.parametrize("csv_text, named", [
    ("", "holds no designs"),
    ("scheme,split_point\nx,1\n", "lacks the column"),
    ("scheme,split_point,device_flops,payload_bits,server_flops,test_accuracy\nx,1,nan,8,0,0.5\n", "line 2"),
])
def test_select_rejects_an_empty_or_malformed_results_csv(tmp_path, csv_text, named):
    (tmp_path / "t.csv").write_text(csv_text)
    assert named in error_line(coinfer("select", "--results", tmp_path / "t.csv", check=False))


def test_ignored_channel_settings_warn_once():
    with pytest.warns(UserWarning, match="bits=4 is ignored") as record:
        gym.make(TINY, **{**ENV, "cache": False, "bits": 4})
    assert len([w for w in record if "ignored" in str(w.message)]) == 1
    with pytest.warns(UserWarning, match="erasure_prob=0.3 is ignored"):
        gym.make(TINY, **{**ENV, "cache": False, "channel": "bsc", "erasure_prob": 0.3})


# -- the GPU ------------------------------------------------------------------------------------
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_cuda_evaluation_is_repeatable():
    env = gym.make(TINY, split_point=13, device="cuda", cache=False).unwrapped
    kept = [max(1, int(0.6 * c)) for c in env.full_kept]
    first, _ = env.evaluator.evaluate(kept)
    second, _ = env.evaluator.evaluate(kept)
    assert first.accuracy == second.accuracy
    assert os.environ.get("CUBLAS_WORKSPACE_CONFIG")
