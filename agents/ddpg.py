"""DDPG with truncated-normal exploration: Algorithm 1 of Zhang, Shao, Mao, Zhang (2021).

Read top to bottom: hyper-parameters, networks, replay buffer, exploration, the
update, then the search loop (with per-episode atomic checkpoints for resume).
Where the paper is silent we follow AMC (He et al. 2018), and say so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.special import ndtr, ndtri

from coinfer_env.checkpoints import atomic_write
from coinfer_env.rng import seeded

from .common import Callback, SearchResult, effective_settings, new_result, search_loop


@dataclass
class DDPGConfig:
    """Hyper-parameters. Defaults are the paper's unless marked AMC."""

    hidden: int = 300
    """Units in each of the two hidden layers of actor and critic."""
    lr_actor: float = 1e-3
    """Adam learning rate of the actor."""
    lr_critic: float = 1e-4
    """Adam learning rate of the critic."""
    tau: float = 0.01
    """Soft target update rate: theta' <- tau theta + (1 - tau) theta'."""
    batch_size: int = 64
    """Transitions per update."""
    episodes: int = 1100
    """MaxEpisode; the search length when ``run`` is not told otherwise."""
    buffer_episodes: int = 100
    """Replay capacity, in episodes' worth of transitions (2k + 2 per episode)."""
    warmup_fraction: float = 2 / 3
    """No updates until the buffer is this full (the paper); the actions meanwhile are uniform at random (AMC)."""
    sigma_start: float = 0.5
    """(AMC) Exploration std of the truncated normal at the end of warm-up (the paper gives no value)."""
    sigma_decay: float = 0.95
    """(AMC) sigma is multiplied by this after every post-warm-up episode."""
    discount: float = 1.0
    """(AMC) Every transition stores the episode's reward; no discounting."""
    baseline_alpha: float = 0.5
    """(AMC) EMA rate of the reward baseline b subtracted in the critic target."""
    updates_per_episode: int = 0
    """(AMC) Gradient updates after each episode; 0 means one per transition (2k + 2)."""


class Actor(nn.Module):
    """mu(s): state -> preserved ratio in (0, 1)."""

    def __init__(self, obs_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1), nn.Sigmoid())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


class Critic(nn.Module):
    """Q(s, a)."""

    def __init__(self, obs_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(obs_dim + 1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, action], 1))


class ReplayBuffer:
    """A ring of (s, a, r, s', done) transitions, as torch tensors (checkpointable with weights_only)."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.obs = torch.zeros(capacity, obs_dim)
        self.next_obs = torch.zeros(capacity, obs_dim)
        self.actions = torch.zeros(capacity, 1)
        self.rewards = torch.zeros(capacity, 1)
        self.dones = torch.zeros(capacity, 1)
        self.capacity, self.size, self.pos = capacity, 0, 0

    def add(self, obs, action: float, reward: float, next_obs, done: bool) -> None:
        i = self.pos
        self.obs[i], self.next_obs[i] = torch.as_tensor(obs), torch.as_tensor(next_obs)
        self.actions[i, 0], self.rewards[i, 0], self.dones[i, 0] = action, reward, float(done)
        self.pos, self.size = (i + 1) % self.capacity, min(self.size + 1, self.capacity)

    def sample(self, batch: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        idx = torch.from_numpy(rng.integers(0, self.size, batch))
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.dones[idx]

    def state(self) -> dict:
        return {"obs": self.obs, "next_obs": self.next_obs, "actions": self.actions, "rewards": self.rewards, "dones": self.dones, "size": self.size, "pos": self.pos}

    def load(self, state: dict) -> None:
        for key in ("obs", "next_obs", "actions", "rewards", "dones"):
            getattr(self, key).copy_(state[key])
        self.size, self.pos = state["size"], state["pos"]


def truncated_normal(mean: float, sigma: float, rng: np.random.Generator, low: float = 0.0, high: float = 1.0) -> float:
    """One draw of N(mean, sigma^2) truncated to [low, high], by inverting the CDF."""
    if sigma <= 0:
        return float(np.clip(mean, low, high))
    m, s = torch.tensor(mean, dtype=torch.float64), torch.tensor(sigma, dtype=torch.float64)
    a, b = ndtr((low - m) / s), ndtr((high - m) / s)
    u = a + (b - a) * rng.uniform()
    return float(np.clip((m + s * ndtri(u.clamp(1e-300, 1 - 1e-16))).item(), low, high))


def sigma_at(episode: int, warmup_episodes: int, cfg: DDPGConfig) -> float:
    """Exploration std for ``episode`` (0-based); warm-up episodes act uniformly at random."""
    return cfg.sigma_start * cfg.sigma_decay ** max(0, episode - warmup_episodes)


class DDPG:
    """The searcher. ``run(env, episodes, seed)`` returns a :class:`SearchResult`.

    Args:
        config: hyper-parameters.
        checkpoint: if given, everything is saved there atomically after every
            episode, and a search finding it resumes from it.
    """

    name = "ddpg"

    def __init__(self, config: DDPGConfig | None = None, checkpoint: str | Path | None = None) -> None:
        self.cfg = config or DDPGConfig()
        self.checkpoint = Path(checkpoint) if checkpoint else None

    # -- set-up -----------------------------------------------------------------------
    def _setup(self, env: gym.Env, seed: int) -> None:
        cfg = self.cfg
        obs_dim = env.observation_space.shape[0]
        self.steps_per_episode = len(env.unwrapped.layers)
        with seeded(seed):  # repeatable initial weights, and the caller's torch RNG left as it was
            self.actor, self.critic = Actor(obs_dim, cfg.hidden), Critic(obs_dim, cfg.hidden)
            self.actor_target, self.critic_target = Actor(obs_dim, cfg.hidden), Critic(obs_dim, cfg.hidden)
        self.actor_target.load_state_dict(self.actor.state_dict())
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.lr_actor)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr_critic)
        self.buffer = ReplayBuffer(cfg.buffer_episodes * self.steps_per_episode, obs_dim)
        self.warmup_episodes = math.ceil(cfg.warmup_fraction * cfg.buffer_episodes)
        self.rng = np.random.default_rng(seed)  # exploration and replay sampling
        # what a resumed search must share with the one it continues
        self._identity = {"env_id": env.spec.id if env.spec else "", "env_settings": effective_settings(env), "seed": seed}
        self.baseline: float | None = None
        self.critic_losses: list[float] = []

    # -- acting -------------------------------------------------------------------------
    def act(self, obs: np.ndarray, episode: int) -> float:
        if episode < self.warmup_episodes:
            return float(self.rng.uniform())
        with torch.no_grad():
            mu = self.actor(torch.as_tensor(obs).unsqueeze(0)).item()
        return truncated_normal(mu, sigma_at(episode, self.warmup_episodes, self.cfg), self.rng)

    # -- learning -----------------------------------------------------------------------
    def update(self) -> float:
        """One DDPG update from a replay batch; returns the critic loss."""
        cfg = self.cfg
        obs, actions, rewards, next_obs, dones = self.buffer.sample(cfg.batch_size, self.rng)
        batch_mean = rewards.mean().item()
        # (AMC) b: EMA of the mean reward of previous batches; the first batch uses its own mean.
        b = batch_mean if self.baseline is None else self.baseline
        self.baseline = b + cfg.baseline_alpha * (batch_mean - b)
        with torch.no_grad():
            next_q = self.critic_target(next_obs, self.actor_target(next_obs))
            target = rewards - b + cfg.discount * (1 - dones) * next_q  # no bootstrap from the terminal state
        critic_loss = nn.functional.mse_loss(self.critic(obs, actions), target)
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()

        actor_loss = -self.critic(obs, self.actor(obs)).mean()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()

        for net, target_net in ((self.actor, self.actor_target), (self.critic, self.critic_target)):
            for p, tp in zip(net.parameters(), target_net.parameters()):
                tp.data.mul_(1 - cfg.tau).add_(cfg.tau * p.data)
        return critic_loss.item()

    # -- the search ---------------------------------------------------------------------
    def run(self, env: gym.Env, episodes: int | None, seed: int, callback: Callback | None = None) -> SearchResult:
        episodes = self.cfg.episodes if episodes is None else episodes
        self._setup(env, seed)
        result = new_result(self.name, env, seed)
        if self.checkpoint is not None and self.checkpoint.exists():
            result = self._load(result)
        def learn(observations: list, actions: list, info: dict) -> None:
            # Discount 1: every transition carries the episode's final reward.
            last = len(actions) - 1
            for i, a in enumerate(actions):
                self.buffer.add(observations[i], a, info["reward"], observations[i + 1], i == last)
            if len(result.history) >= self.warmup_episodes and self.buffer.size >= self.cfg.batch_size:
                for _ in range(self.cfg.updates_per_episode or len(actions)):
                    self.critic_losses.append(self.update())
            if self.checkpoint is not None:
                self._save(result)

        search_loop(env, episodes, seed, result, lambda e: lambda obs: self.act(obs, e), learn, callback)
        return result

    # -- resume ---------------------------------------------------------------------------
    def _save(self, result: SearchResult) -> None:
        state = {
            "nets": {k: getattr(self, k).state_dict() for k in ("actor", "critic", "actor_target", "critic_target")},
            "opts": {"actor": self.actor_opt.state_dict(), "critic": self.critic_opt.state_dict()},
            "buffer": self.buffer.state(),
            "rng": self.rng.bit_generator.state,
            "baseline": self.baseline,
            "critic_losses": self.critic_losses,
            "config": asdict(self.cfg),
            "run": self._identity,
            "result": {**asdict(result), "best_reward": float(result.best_reward)},
        }
        # atomic: a kill leaves the previous episode's state
        atomic_write(self.checkpoint, lambda tmp: torch.save(state, tmp))

    def _load(self, fresh: SearchResult) -> SearchResult:
        try:
            state = torch.load(self.checkpoint, weights_only=True)
            missing = {"nets", "opts", "buffer", "rng", "result", "config", "run"} - set(state)
            if missing:
                raise KeyError(f"no {sorted(missing)}")
            saved = {**state["config"], **state["run"]}
        except Exception as err:  # truncated, empty, foreign: torch raises many types
            raise ValueError(f"{self.checkpoint} is not a usable DDPG checkpoint ({type(err).__name__}: {str(err)[:80]}); "
                             "remove it to start afresh") from None
        now = {**asdict(self.cfg), **self._identity}
        differs = _differences(saved, now)
        if differs:
            raise ValueError(f"{self.checkpoint} belongs to another run: {differs[0]}; "
                             "resume with the same settings, or use another --out")
        for k, sd in state["nets"].items():
            getattr(self, k).load_state_dict(sd)
        self.actor_opt.load_state_dict(state["opts"]["actor"])
        self.critic_opt.load_state_dict(state["opts"]["critic"])
        self.buffer.load(state["buffer"])
        self.rng.bit_generator.state = state["rng"]
        self.baseline, self.critic_losses = state["baseline"], list(state["critic_losses"])
        return SearchResult(**state["result"])


def _differences(saved: dict, now: dict, prefix: str = "") -> list[str]:
    """'name=old in the checkpoint, new now' for each setting that differs (env kwargs one by one)."""
    out = []
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{key}.")
        elif a != b:
            out.append(f"{prefix}{key}={a!r} in the checkpoint, {b!r} now")
    return out
