"""Agents: DDPG update and exploration, determinism, resume after SIGKILL, SB3, random search."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.common import SearchResult
from agents.ddpg import DDPG, DDPGConfig, sigma_at, truncated_normal
from agents.random_search import RandomSearch, UniformSweep
from fake_env import FakePruneEnv

SMALL = DDPGConfig(buffer_episodes=6, batch_size=16, hidden=32)
REPO = Path(__file__).resolve().parents[1]


def test_truncated_normal_stays_in_bounds_and_centres_on_mean():
    rng = np.random.default_rng(0)
    for mean, sigma in [(0.0, 0.5), (1.0, 0.5), (0.5, 2.0), (0.3, 1e-4), (0.9, 0.0)]:
        draws = np.array([truncated_normal(mean, sigma, rng) for _ in range(2000)])
        assert draws.min() >= 0.0 and draws.max() <= 1.0
    draws = np.array([truncated_normal(0.5, 0.05, rng) for _ in range(4000)])
    assert abs(draws.mean() - 0.5) < 0.005 and abs(draws.std() - 0.05) < 0.005
    # truncated at 0 with mean 0: the half-normal's mean is sigma * sqrt(2 / pi)
    draws = np.array([truncated_normal(0.0, 0.1, rng) for _ in range(4000)])
    assert abs(draws.mean() - 0.1 * np.sqrt(2 / np.pi)) < 0.005


def test_sigma_schedule():
    cfg = DDPGConfig()
    assert sigma_at(10, 67, cfg) == 0.5
    assert sigma_at(67, 67, cfg) == 0.5
    assert sigma_at(68, 67, cfg) == pytest.approx(0.5 * 0.95)
    assert sigma_at(77, 67, cfg) == pytest.approx(0.5 * 0.95**10)


def test_critic_loss_falls_on_fake_env():
    agent = DDPG(SMALL)
    agent.run(FakePruneEnv(), episodes=40, seed=0)
    losses = agent.critic_losses
    assert len(losses) > 100
    assert np.mean(losses[-30:]) < np.mean(losses[:30])


def test_warmup_acts_randomly_and_no_updates_before_buffer_two_thirds_full():
    agent = DDPG(SMALL)  # 6-episode buffer -> 4 warm-up episodes
    agent.run(FakePruneEnv(), episodes=3, seed=0)
    assert agent.critic_losses == []
    agent = DDPG(SMALL)
    agent.run(FakePruneEnv(), episodes=4, seed=0)
    assert len(agent.critic_losses) == 6  # one update per transition of the 4th episode


def test_ddpg_same_seed_same_search():
    a = DDPG(SMALL).run(FakePruneEnv(), episodes=12, seed=3)
    b = DDPG(SMALL).run(FakePruneEnv(), episodes=12, seed=3)
    c = DDPG(SMALL).run(FakePruneEnv(), episodes=12, seed=4)
    assert [h["reward"] for h in a.history] == [h["reward"] for h in b.history]
    assert a.best_actions == b.best_actions
    assert [h["reward"] for h in a.history] != [h["reward"] for h in c.history]


def test_ddpg_tracks_best_and_result_is_json(tmp_path):
    result = DDPG(SMALL).run(FakePruneEnv(), episodes=10, seed=0)
    assert result.best_reward == max(h["reward"] for h in result.history)
    result.to_json(tmp_path / "r.json")
    again = SearchResult.from_json(tmp_path / "r.json")
    assert again.best_actions == result.best_actions and len(again.history) == 10


RESUME_SCRIPT = """
import sys, time
sys.path.insert(0, {tests!r})
from agents.ddpg import DDPG, DDPGConfig
from fake_env import FakePruneEnv

class Slow(FakePruneEnv):
    played = 0  # episodes this process played

    def step(self, a):
        time.sleep(0.01)
        out = super().step(a)
        Slow.played += out[2]
        return out

cfg = DDPGConfig(buffer_episodes=6, batch_size=16, hidden=32)
result = DDPG(cfg, checkpoint={ckpt!r}).run(Slow(), episodes=30, seed=1)
print(len(result.history), Slow.played, repr([h["reward"] for h in result.history]))
"""


def test_resume_after_sigkill(tmp_path):
    ckpt = tmp_path / "state.pt"
    script = RESUME_SCRIPT.format(tests=str(REPO / "tests"), ckpt=str(ckpt))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not ckpt.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.4)  # let a few more episodes finish
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(torch.load(ckpt, weights_only=True)["result"]["history"])
    assert 0 < done_before < 30
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    n, played, rewards = out.stdout.strip().split(" ", 2)
    assert int(n) == 30
    assert int(played) == 30 - done_before  # it resumed: only the remaining episodes were played
    uninterrupted = DDPG(DDPGConfig(buffer_episodes=6, batch_size=16, hidden=32)).run(FakePruneEnv(), episodes=30, seed=1)
    assert eval(rewards) == [h["reward"] for h in uninterrupted.history]


def test_random_search_and_sweep():
    r = RandomSearch().run(FakePruneEnv(), episodes=20, seed=0)
    assert len(r.history) == 20 and r.best_reward == max(h["reward"] for h in r.history)
    assert r.history[-1]["best_reward"] == r.best_reward
    s = UniformSweep(low=0.1, high=1.0).run(FakePruneEnv(steps=4), episodes=10, seed=0)
    assert s.best_actions == pytest.approx([0.7] * 4)


def test_callback_can_stop_a_search():
    r = RandomSearch().run(FakePruneEnv(), episodes=50, seed=0, callback=lambda res: len(res.history) < 5)
    assert len(r.history) == 5


def test_sb3_ddpg_two_short_episodes_on_tiny_env(tmp_path):
    import coinfer_env  # noqa: F401
    from agents.sb3 import SB3DDPG, SB3DDPGConfig

    env = gym.make("CoInfer-ResNet50-Tiny-v0", split_point=1, dataset="synthetic", pretrained=False,
                   eval_images=32, finetune_steps=1, finetune_batch=8, cache=False)
    agent = SB3DDPG(SB3DDPGConfig(buffer_episodes=2, batch_size=4, hidden=16), log_dir=tmp_path)
    result = agent.run(env, episodes=2, seed=0)
    assert len(result.history) == 2
    assert all(0 <= a <= 1 for a in result.best_actions) and len(result.best_actions) == 4
    # relabelled buffer: every stored transition of episode 1 carries its final reward
    rewards = agent.model.replay_buffer.rewards[:4, 0]
    assert np.allclose(rewards, result.history[0]["reward"])
    assert (tmp_path / "monitor.monitor.csv").exists()
    assert "accuracy" in (tmp_path / "monitor.monitor.csv").read_text()


def test_sb3_exploration_is_truncated_normal_after_warmup():
    from agents.sb3 import SB3DDPG, SB3DDPGConfig

    agent = SB3DDPG(SB3DDPGConfig(buffer_episodes=3, batch_size=4, hidden=16))
    model = agent.build(FakePruneEnv(), seed=0)
    model._last_obs = np.zeros((1, 12), np.float32)
    model.num_timesteps, model._episode_num = 1000, 2  # past warm-up (2 episodes)
    draws = np.array([model._sample_action(learning_starts=12)[0][0, 0] for _ in range(400)])
    mu = model.predict(model._last_obs, deterministic=True)[0][0, 0]
    assert draws.min() >= 0 and draws.max() <= 1
    assert 0.2 < draws.std() < 0.35  # sigma 0.5 truncated to [0, 1]
    model._episode_num = 60
    draws = np.array([model._sample_action(learning_starts=12)[0][0, 0] for _ in range(2000)])
    sigma = 0.5 * 0.95**58  # 58 episodes after warm-up; far from the bounds, so barely truncated
    assert model.sigma() == pytest.approx(sigma)
    assert abs(draws.std() - sigma) < 0.1 * sigma and abs(draws.mean() - mu) < 0.003


def test_documented_custom_searcher_example_runs():
    sys.path.insert(0, str(REPO / "examples"))
    try:
        from custom_searcher import OnePlusOneES
    finally:
        sys.path.pop(0)
    result = OnePlusOneES(step=0.05).run(FakePruneEnv(), episodes=40, seed=0)
    assert len(result.history) == 40
    assert result.best_reward > result.history[0]["reward"]  # it moved towards the optimum at 0.7


@pytest.mark.parametrize("make", [lambda: DDPG(SMALL), lambda: RandomSearch()])
def test_searchers_leave_the_callers_random_state_alone(make):
    torch.manual_seed(5)
    np.random.seed(5)
    expected = torch.rand(2), np.random.rand(2)
    torch.manual_seed(5)
    np.random.seed(5)
    make().run(FakePruneEnv(), episodes=8, seed=0)
    assert torch.equal(torch.rand(2), expected[0]) and np.array_equal(np.random.rand(2), expected[1])


def test_sb3_leaves_the_callers_random_state_alone():
    from agents.sb3 import SB3DDPG, SB3DDPGConfig

    torch.manual_seed(5)
    np.random.seed(5)
    expected = torch.rand(2), np.random.rand(2)
    torch.manual_seed(5)
    np.random.seed(5)
    SB3DDPG(SB3DDPGConfig(buffer_episodes=2, batch_size=4, hidden=16)).run(FakePruneEnv(), episodes=3, seed=0)
    assert torch.equal(torch.rand(2), expected[0]) and np.array_equal(np.random.rand(2), expected[1])
