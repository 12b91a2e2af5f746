"""A tiny stand-in for CoInferEnv with the same spaces: reward peaks at ratio 0.7 everywhere."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class FakePruneEnv(gym.Env):
    def __init__(self, steps: int = 6, target: float = 0.7) -> None:
        self.layers = list(range(steps))
        self.target = target
        self.action_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        self.observation_space = spaces.Box(0.0, 1.0, (12,), np.float32)
        self._i, self._acts = 0, []

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def _obs(self):
        obs = np.zeros(12, np.float32)
        obs[0] = self._i / (len(self.layers) - 1)
        obs[11] = self._acts[-1] if self._acts else 1.0
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._i, self._acts = 0, []
        return self._obs(), {}

    def step(self, action):
        self._acts.append(float(np.asarray(action).reshape(-1)[0]))
        self._i += 1
        if self._i < len(self.layers):
            return self._obs(), 0.0, False, False, {}
        self._i = len(self.layers) - 1
        r = 1.0 - float(np.mean((np.array(self._acts) - self.target) ** 2)) * 4
        acts = np.array(self._acts)
        info = {"reward": r, "accuracy": r, "nu": 1 - float(acts.mean()), "rho": 1 - float(acts[-1]), "flops": int(100 * acts.mean()),
                "bits": int(100 * acts[-1]), "flops_original": 100, "bits_original": 100, "eval_seconds": 0.0, "cache_hit": False}
        return self._obs(), r, True, False, info
