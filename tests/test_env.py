"""The Gymnasium environments: registration, MDP contract, reward, determinism, cache."""

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import coinfer_env
from coinfer_env.envs import harmonic

TINY = "CoInfer-ResNet50-Tiny-v0"
FAST = dict(pretrained=False, dataset="synthetic", eval_images=64, finetune_steps=1, finetune_batch=16, cache=False)
INFO_KEYS = {
    "accuracy", "accuracy_raw", "flops", "flops_original", "bits", "bits_original", "nu", "rho", "R1", "R2", "R3",
    "reward", "preserved_ratios", "kept", "eval_seconds", "cache_hit",
}


def run_episode(env, actions, seed=0):
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for a in actions:
        obs, r, terminated, truncated, info = env.step(np.array([a], dtype=np.float32))
        observations.append(obs)
        rewards.append(r)
        assert not truncated
    assert terminated
    return observations, rewards, info


def test_both_ids_registered_on_import():
    assert {coinfer_env.FULL_ID, TINY} <= set(gym.registry)


def test_module_prefixed_make_works_without_import():
    code = (
        "import gymnasium as gym; "
        f"env = gym.make('coinfer_env:{TINY}', pretrained=False, dataset='synthetic', cache=False); "
        "print(env.unwrapped.config.width)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "8"


def test_full_id_without_data_fails_at_once_with_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        gym.make("CoInfer-ResNet50-v0", data_root=tmp_path)
    with pytest.raises(FileNotFoundError, match="coinfer train --env CoInfer-ResNet50-v0"):
        gym.make("CoInfer-ResNet50-v0", dataset="synthetic", checkpoint_dir=tmp_path)


@pytest.mark.parametrize("k", [1, 4, 13])
def test_episode_contract(k):
    env = gym.make(TINY, split_point=k, **FAST)
    L = 2 * k + 2
    observations, rewards, info = run_episode(env, [0.6] * L)
    assert len(rewards) == L and rewards[:-1] == [0.0] * (L - 1)
    assert all(env.observation_space.contains(o) for o in observations)
    assert set(info) == INFO_KEYS
    assert info["preserved_ratios"] == pytest.approx([0.6] * L)
    assert len(info["kept"]) == L


def test_observation_features():
    env = gym.make(TINY, split_point=2, **FAST)
    obs, _ = env.reset(seed=0)
    assert obs[0] == 0 and obs[1] == 0 and obs[11] == 1.0 and obs[8] == 0.0 and obs[10] == 0.0
    obs1, *_ = env.step(np.array([0.25], dtype=np.float32))
    assert obs1[0] == pytest.approx(1 / 5) and obs1[11] == pytest.approx(0.25)
    assert obs1[8] > 0  # FLOPs already removed by the first action
    assert obs1[9] < obs[9]  # less FLOPs left to decide on
    for _ in range(4):
        last, *_ = env.step(np.array([1.0], dtype=np.float32))
    u = env.unwrapped
    assert last[1] == 1.0  # the encoder FC is an fc layer
    assert last[10] == pytest.approx(u._unpruned.bits / u._unpruned.bits_original)


def test_reward_is_the_papers_formula():
    env = gym.make(TINY, split_point=3, beta=0.3, **FAST)
    _, rewards, info = run_episode(env, np.linspace(0.2, 0.9, 8))
    kappa = info["accuracy"]
    nu = min(1, max(0, 1 - info["flops"] / info["flops_original"]))
    rho = min(1, max(0, 1 - info["bits"] / info["bits_original"]))
    H = lambda x, y: 0 if x + y == 0 else 2 * x * y / (x + y)
    expected = (H(kappa, nu) + H(kappa, rho) + 0.3 * H(nu, rho)) / 3
    assert rewards[-1] == pytest.approx(expected) == pytest.approx(info["reward"])
    assert harmonic(0, 0) == 0


def test_last_model_matches_reported_flops_and_bits():
    env = gym.make(TINY, split_point=5, channel="quantize", bits=6, **FAST)
    _, _, info = run_episode(env, [0.5] * 12)
    model = env.unwrapped.last_model
    x = torch.randn(1, 3, 32, 32, device=next(model.parameters()).device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        symbols = model.device(x)
    assert counter.get_total_flops() == info["flops"]
    assert symbols.shape[1] * 6 == info["bits"]


def test_same_seed_same_episode_bit_for_bit():
    kw = dict(eval_images=200, finetune_steps=3, cache=False)
    infos = []
    for _ in range(2):
        env = gym.make(TINY, split_point=4, **kw)
        infos.append(run_episode(env, np.linspace(0.3, 1.0, 10), seed=7)[2])
    for info in infos:
        info.pop("eval_seconds")
    assert infos[0] == infos[1]
    assert 0.1 < infos[0]["accuracy"] <= 1.0  # trained weights: better than chance


def test_cache_hit_memory_and_disk(tmp_path):
    kw = {**FAST, "cache": True, "cache_dir": tmp_path}
    env = gym.make(TINY, split_point=3, **kw)
    _, _, first = run_episode(env, [0.5] * 8)
    _, _, second = run_episode(env, [0.501] * 8)  # rounds to the same kept channels
    assert not first["cache_hit"] and second["cache_hit"]
    assert second["reward"] == first["reward"] and second["kept"] == first["kept"]
    model = env.unwrapped.last_model  # rebuilt on demand after a hit
    assert model is not None and model.kept == tuple(first["kept"])
    env2 = gym.make(TINY, split_point=3, **kw)
    assert run_episode(env2, [0.5] * 8)[2]["cache_hit"]
    assert (tmp_path / "eval-cache.sqlite").exists()


def test_actions_are_checked():
    env = gym.make(TINY, split_point=1, **FAST)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="nan"):
        env.step(np.array([np.nan], dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.array([0.5, 0.5], dtype=np.float32))
    env.step(np.array([1.7], dtype=np.float32))
    env.step(np.array([-0.2], dtype=np.float32))
    env.step(np.array([0.5], dtype=np.float32))
    *_, info = env.step(np.array([0.5], dtype=np.float32))
    assert info["preserved_ratios"][:2] == [1.0, 0.0]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.array([0.5], dtype=np.float32))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"split_point": 17}, "split_point"),
        ({"beta": 1.5}, "beta"),
        ({"channel": "lte"}, "channel"),
        ({"bits": 0}, "bits"),
        ({"flip_prob": 2}, "flip_prob"),
        ({"finetune_steps": -1}, "finetune_steps"),
        ({"finetune_lr": 0}, "finetune_lr"),
        ({"eval_images": 5000}, "eval_images"),
        ({"dataset": "imagenet"}, "dataset"),
        ({"device": "tpu"}, "device"),
        ({"cache": "yes"}, "cache"),
        ({"evaluation": "prune-only"}, "evaluation"),
        ({"bn_batches": 0}, "bn_batches"),
        ({"calibrated": 1}, "calibrated"),
    ],
)
def test_bad_kwargs_name_the_value(kwargs, name):
    with pytest.raises(ValueError, match=name):
        gym.make(TINY, **{**FAST, **kwargs})


def test_gymnasium_check_env():
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make(TINY, split_point=1, eval_images=50, finetune_steps=1, cache=False).unwrapped, skip_render_check=True)


def test_sb3_check_env():
    from stable_baselines3.common.env_checker import check_env

    check_env(gym.make(TINY, split_point=1, eval_images=50, finetune_steps=1, cache=False).unwrapped, warn=True)


def test_numpy_scalars_are_valid_wherever_python_numbers_are():
    env = gym.make(TINY, **{**FAST, "split_point": np.int64(2), "bits": np.int32(6), "beta": np.float32(0.5),
                            "channel": "quantize", "finetune_steps": np.int64(1), "cache": np.bool_(False)})
    assert env.unwrapped.config.split_point == 2 and type(env.unwrapped.config.split_point) is int
    assert len(run_episode(env, [0.5] * 6)[1]) == 6


@pytest.mark.parametrize("kwargs, named", [
    ({"cache": 0}, "cache=0"),
    ({"pretrained": 1}, "pretrained=1"),
    ({"download": "false"}, "download='false'"),
    ({"split_point": 13.0}, "split_point=13.0"),
    ({"split_point": True}, "split_point=True"),
    ({"checkpoint_dir": ""}, "checkpoint_dir=''"),
])
def test_bools_must_be_bools_and_an_empty_checkpoint_dir_is_an_error(kwargs, named):
    with pytest.raises(ValueError, match=named.replace("(", r"\(").replace(".", r"\.")):
        gym.make(TINY, **{**FAST, **kwargs})


def test_the_env_leaves_the_callers_random_state_alone():
    torch.manual_seed(123)
    np.random.seed(123)
    expected_torch, expected_np = torch.rand(3), np.random.rand(3)
    torch.manual_seed(123)
    np.random.seed(123)
    env = gym.make(TINY, split_point=1, **FAST)
    run_episode(env, [0.5] * 4)
    assert torch.equal(torch.rand(3), expected_torch) and np.array_equal(np.random.rand(3), expected_np)


def test_a_cached_result_equals_a_fresh_evaluation(tmp_path):
    kw = {**FAST, "cache": True, "cache_dir": tmp_path, "finetune_steps": 2}
    run_episode(gym.make(TINY, split_point=2, **kw), [0.4] * 6)  # fills the cache
    hit = run_episode(gym.make(TINY, split_point=2, **kw), [0.4] * 6)[2]
    fresh = run_episode(gym.make(TINY, split_point=2, **{**kw, "cache": False}), [0.4] * 6)[2]
    assert hit["cache_hit"] and not fresh["cache_hit"]
    for key in ("accuracy", "reward", "flops", "bits", "kept"):
        assert hit[key] == fresh[key]


def test_the_fine_tune_leaves_the_server_and_the_trained_network_untouched():
    env = gym.make(TINY, split_point=3, eval_images=64, finetune_steps=4, evaluation="finetune", cache=False)
    trained = env.unwrapped.trained
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    run_episode(env, [0.6] * 8)
    model = env.unwrapped.last_model
    after = trained.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the env's trained copy
    server = {k: v for k, v in model.state_dict().items() if k.startswith("server.") and not k.startswith("server.decoder.")}
    assert server and all(torch.equal(v, before[k]) for k, v in server.items())  # weights and BN statistics
    device = [k for k in model.state_dict() if k.startswith("device.blocks.0.bn1.running_mean")]
    assert not torch.equal(model.state_dict()[device[0]], before[device[0]][: len(model.state_dict()[device[0]])])


def test_evaluate_scores_a_whole_vector_as_an_episode_does(tmp_path):
    kw = {**FAST, "cache": True, "cache_dir": tmp_path, "split_point": 2}
    env = gym.make(TINY, **kw)
    ratios = list(np.linspace(0.3, 1.0, 6))
    assert env.unwrapped.num_layers == 6 == len(env.unwrapped.layers)
    played = run_episode(env, ratios)[2]
    fresh = gym.make(TINY, **{**kw, "cache": False}).unwrapped.evaluate(ratios)
    for key in ("accuracy", "reward", "flops", "bits", "kept"):
        assert fresh[key] == played[key]
    assert fresh["preserved_ratios"] == pytest.approx(played["preserved_ratios"])  # the episode's actions were float32
    assert env.unwrapped.evaluate(ratios)["cache_hit"]  # through the same cache
    with pytest.raises(ValueError, match="has 5 entries"):
        env.unwrapped.evaluate(ratios[:5])
