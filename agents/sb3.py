"""Stable-Baselines3 DDPG and TD3 on a CoInfer environment, with the paper's exploration.

SB3 adds ``ActionNoise`` in the scaled [-1, 1] space around the policy's action,
which cannot express a normal truncated to the action bounds. So
:class:`TruncatedNormalExploration` overrides ``_sample_action`` (for DDPG and TD3 alike): uniform actions during
warm-up, then a ~ TN(mu(s), sigma^2, 0, 1) with sigma decayed per episode.
:class:`EpisodeRewardReplayBuffer` relabels every transition of an episode with its
final reward, as the paper does (discount 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
from stable_baselines3 import DDPG, TD3
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.monitor import Monitor

from coinfer_env.rng import global_state_restored

from .common import Callback, SearchResult, new_result
from .ddpg import truncated_normal


class TruncatedNormalExploration:
    """Mixed into an SB3 off-policy algorithm: exploration is a truncated normal centred on the actor's action."""

    def __init__(self, *args, sigma_start: float = 0.5, sigma_decay: float = 0.95, warmup_episodes: int = 0,
                 lr_critic: float | None = None, **kwargs) -> None:
        self.sigma_start, self.sigma_decay, self.warmup_episodes = sigma_start, sigma_decay, warmup_episodes
        self.lr_critic = lr_critic
        super().__init__(*args, **kwargs)
        self.noise_rng = np.random.default_rng(self.seed)

    def sigma(self) -> float:
        return self.sigma_start * self.sigma_decay ** max(0, self._episode_num - self.warmup_episodes)

    def _sample_action(self, learning_starts: int, action_noise=None, n_envs: int = 1) -> tuple[np.ndarray, np.ndarray]:
        low, high = self.action_space.low, self.action_space.high
        if self.num_timesteps < learning_starts:
            action = self.noise_rng.uniform(low, high, (n_envs, *self.action_space.shape))
        else:
            mu, _ = self.predict(self._last_obs, deterministic=True)
            s = self.sigma()
            action = np.array(
                [[truncated_normal(m, s, self.noise_rng, lo, hi) for m, lo, hi in zip(row, low, high)] for row in mu]
            )
        action = action.astype(np.float32)
        return action, self.policy.scale_action(action)

    def _update_learning_rate(self, optimizers) -> None:
        super()._update_learning_rate(optimizers)
        if self.lr_critic is not None:  # the paper's critic learns 10x slower than the actor
            for group in self.critic.optimizer.param_groups:
                group["lr"] = self.lr_critic


class TruncatedNormalDDPG(TruncatedNormalExploration, DDPG):
    """SB3 DDPG with the paper's exploration."""


class TruncatedNormalTD3(TruncatedNormalExploration, TD3):
    """SB3 TD3 (twin critics, delayed actor updates, target smoothing) with the paper's exploration."""


class EpisodeRewardReplayBuffer(ReplayBuffer):
    """Rewrites the rewards of an episode's transitions with its final reward when it ends (one env)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._episode_positions: list[int] = []

    def add(self, obs, next_obs, action, reward, done, infos) -> None:
        self._episode_positions.append(self.pos)
        super().add(obs, next_obs, action, reward, done, infos)
        if bool(np.asarray(done).reshape(-1)[0]):
            self.rewards[self._episode_positions, 0] = np.asarray(reward).reshape(-1)[0]
            self._episode_positions = []


class _Recorder(BaseCallback):
    """Feeds finished episodes into a SearchResult and the user's callback."""

    def __init__(self, result: SearchResult, callback: Callback | None) -> None:
        super().__init__()
        self.result, self.user_callback, self.actions = result, callback, []

    def _on_step(self) -> bool:
        self.actions.append(float(np.asarray(self.locals["actions"]).reshape(-1)[0]))
        if not self.locals["dones"][0]:
            return True
        info = self.locals["infos"][0]
        self.result.record(self.actions, info, info.get("eval_seconds", 0.0))
        self.actions = []
        return self.user_callback is None or self.user_callback(self.result) is not False


@dataclass
class SB3DDPGConfig:
    """Settings of the SB3 agent; defaults mirror :class:`agents.ddpg.DDPGConfig`."""

    lr_actor: float = 1e-3
    """Actor learning rate (SB3's ``learning_rate``)."""
    lr_critic: float = 1e-4
    """Critic learning rate, set on the critic's optimiser."""
    tau: float = 0.01
    """Soft target update rate."""
    batch_size: int = 64
    """Transitions per gradient step."""
    buffer_episodes: int = 100
    """Replay capacity in episodes."""
    warmup_fraction: float = 2 / 3
    """``learning_starts`` = this fraction of the buffer, in steps."""
    sigma_start: float = 0.5
    """Truncated-normal std at the end of warm-up."""
    sigma_decay: float = 0.95
    """Per-episode decay of sigma after warm-up."""
    hidden: int = 300
    """Units of each of the two hidden layers (net_arch [hidden, hidden])."""
    relabel: bool = True
    """Give every transition its episode's final reward (the paper); False keeps the env's per-step rewards."""


class SB3DDPG:
    """The common searcher interface around :class:`TruncatedNormalDDPG`.

    Args:
        config: settings.
        log_dir: where SB3's csv log and the Monitor's csv go (none if None).
    """

    name = "sb3-ddpg"
    algorithm: type = TruncatedNormalDDPG

    def __init__(self, config: SB3DDPGConfig | None = None, log_dir: str | Path | None = None) -> None:
        self.cfg = config or SB3DDPGConfig()
        self.log_dir = Path(log_dir) if log_dir else None

    def build(self, env: gym.Env, seed: int) -> TruncatedNormalDDPG:
        cfg, steps = self.cfg, len(env.unwrapped.layers)
        warmup = math.ceil(cfg.warmup_fraction * cfg.buffer_episodes)
        monitor_file = str(self.log_dir / "monitor") if self.log_dir else None
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        model = self.algorithm(
            "MlpPolicy",
            Monitor(env, monitor_file, info_keywords=("accuracy", "flops", "bits")),
            learning_rate=cfg.lr_actor,
            lr_critic=cfg.lr_critic,
            buffer_size=cfg.buffer_episodes * steps,
            learning_starts=warmup * steps,
            batch_size=cfg.batch_size,
            tau=cfg.tau,
            gamma=1.0,
            train_freq=(1, "episode"),
            gradient_steps=-1,
            replay_buffer_class=EpisodeRewardReplayBuffer if cfg.relabel else None,
            policy_kwargs={"net_arch": [cfg.hidden, cfg.hidden]},
            sigma_start=cfg.sigma_start,
            sigma_decay=cfg.sigma_decay,
            warmup_episodes=warmup,
            seed=seed,
            device="cpu",
        )
        if self.log_dir:
            model.set_logger(configure(str(self.log_dir), ["csv"]))
        return model

    def run(self, env: gym.Env, episodes: int, seed: int, callback: Callback | None = None) -> SearchResult:
        result = new_result(self.name, env, seed)
        with global_state_restored():  # SB3 seeds the global generators; the caller's are given back
            model = self.build(env, seed)
            model.learn(total_timesteps=episodes * len(env.unwrapped.layers), callback=_Recorder(result, callback))
        self.model = model
        return result


class SB3TD3(SB3DDPG):
    """SB3's TD3 behind the searcher interface, with :class:`SB3DDPGConfig`'s settings and TD3's own defaults
    (policy delay 2, target policy noise 0.2 and clip 0.5, in SB3's scaled action space)."""

    name = "sb3-td3"
    algorithm = TruncatedNormalTD3
