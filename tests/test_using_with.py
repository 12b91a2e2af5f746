"""The settings docs/using-with.md gives for Stable-Baselines3 work as written."""

import warnings

import gymnasium as gym

import coinfer_env  # noqa: F401

FAST = dict(pretrained=False, dataset="synthetic", eval_images=32, finetune_steps=1, finetune_batch=8, cache=False)


def test_ppo_settings_from_the_docs_update_within_a_few_episodes():
    from stable_baselines3 import PPO

    env = gym.make("CoInfer-ResNet50-Tiny-v0", split_point=1, **FAST)
    L = env.unwrapped.num_layers
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SB3 warns about a batch size that does not divide the rollout
        ppo = PPO("MlpPolicy", env, n_steps=4 * L, batch_size=2 * L, gamma=1.0, seed=0, device="cpu")
        ppo.learn(total_timesteps=8 * L)
    assert ppo._n_updates >= 2 * ppo.n_epochs  # two rollouts of four episodes, each trained on
