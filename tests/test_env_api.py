"""The problem API for search researchers (issue 13): budgets, vector reward, rendering, vector envs."""

import gymnasium as gym
import numpy as np
import pytest

import coinfer_env  # noqa: F401
from coinfer_env.accounting import cost

TINY = "CoInfer-ResNet50-Tiny-v0"
FAST = dict(pretrained=False, dataset="synthetic", eval_images=32, finetune_steps=1, finetune_batch=8, cache=False)


def play(env, actions, seed=0):
    env.reset(seed=seed)
    for a in actions:
        obs, r, term, trunc, info = env.step(np.array([a], dtype=np.float32))
    assert term
    return r, info


@pytest.mark.parametrize("flops_budget, bits_budget", [(0.5, None), (None, 0.02), (0.3, 0.05)])
def test_budgets_are_always_met_and_the_reward_is_the_accuracy(flops_budget, bits_budget):
    env = gym.make(TINY, split_point=3, flops_budget=flops_budget, bits_budget=bits_budget, **FAST).unwrapped
    rng = np.random.default_rng(0)
    for actions in [np.ones(env.num_layers), *rng.uniform(0, 1, (4, env.num_layers))]:
        r, info = play(env, actions)
        c = cost(env.config, info["kept"], env.trained.bits_per_symbol)  # the accounting, not the wall's own model
        assert c.flops == info["flops"] and c.bits == info["bits"]
        if flops_budget:
            assert info["flops"] <= flops_budget * info["flops_original"]
        if bits_budget:
            assert info["bits"] <= bits_budget * info["bits_original"]
        assert r == info["accuracy"] == info["reward"] and "paper_reward" in info
    # the wall is no tighter than it must be: all-ones actions spend most of the FLOPs budget
    if flops_budget:
        _, info = play(env, np.ones(env.num_layers))
        assert info["flops"] > 0.8 * flops_budget * info["flops_original"]


def test_evaluate_applies_the_same_action_wall_as_step():
    env = gym.make(TINY, split_point=2, flops_budget=0.4, **FAST).unwrapped
    _, stepped = play(env, [1.0] * env.num_layers)
    assert env.evaluate([1.0] * env.num_layers)["kept"] == stepped["kept"]


def test_an_infeasible_budget_is_refused_with_the_least_feasible_value():
    with pytest.raises(ValueError, match="flops_budget=0.0001 is infeasible.*give at least"):
        gym.make(TINY, split_point=3, flops_budget=0.0001, **FAST)
    with pytest.raises(ValueError, match="bits_budget"):
        gym.make(TINY, split_point=3, bits_budget=1.5, **FAST)


def test_vector_reward_follows_mo_gymnasium():
    env = gym.make(TINY, split_point=1, vector_reward=True, disable_env_checker=True, **FAST)
    r, info = play(env, [0.5] * 4)
    assert env.unwrapped.reward_space.shape == (3,) and r.shape == (3,) and r.dtype == np.float32
    assert np.allclose(r, [info["accuracy"], info["nu"], info["rho"]])
    env.reset(seed=0)
    assert np.array_equal(env.step(np.array([0.5], np.float32))[1], np.zeros(3, np.float32))


def test_mo_gymnasium_scalarises_the_vector_reward():
    mo = pytest.importorskip("mo_gymnasium")
    env = mo.wrappers.LinearReward(gym.make(TINY, split_point=1, vector_reward=True, disable_env_checker=True, **FAST), weight=np.array([0.5, 0.25, 0.25]))
    r, info = play(env, [0.5] * 4)
    assert r == pytest.approx(0.5 * info["accuracy"] + 0.25 * info["nu"] + 0.25 * info["rho"])


def test_render_modes():
    env = gym.make(TINY, split_point=1, render_mode="ansi", **FAST)
    env.reset(seed=0)
    env.step(np.array([0.5], np.float32))
    text = env.render()
    assert "blocks.0.conv1" in text.splitlines()[1] and text.splitlines()[2].split()[-1] == "-"  # not decided yet
    _, info = play(env, [0.5] * 4)
    text = env.render()
    assert f"accuracy {info['accuracy']:.3f}" in text
    assert [int(line.split()[-2]) for line in text.splitlines()[1:5]] == info["kept"]
    picture = gym.make(TINY, split_point=1, render_mode="rgb_array", **FAST)
    play(picture, [0.5] * 4)
    frame = picture.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 0
    from coinfer_env.envs import CoInferEnv

    with pytest.raises(ValueError, match="render_mode"):
        CoInferEnv(render_mode="video", **FAST)


def test_async_vector_envs_play_whole_episodes():
    # "spawn": a forked child of a process whose OpenMP threads already ran can deadlock (docs/using-with.md)
    envs = gym.make_vec(TINY, num_envs=2, vectorization_mode="async", vector_kwargs={"context": "spawn"}, split_point=1, **FAST)
    try:
        assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
        envs.reset(seed=0)
        for _ in range(4):
            obs, rewards, terminated, truncated, infos = envs.step(np.full((2, 1), 0.5, np.float32))
        assert terminated.all() and rewards.shape == (2,) and (rewards > 0).all()
        assert rewards[0] == rewards[1]  # same kept vector, same evaluation
    finally:
        envs.close()


def test_gymnasium_env_checker_with_rendering():
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make(TINY, split_point=1, render_mode="ansi", **FAST).unwrapped)
