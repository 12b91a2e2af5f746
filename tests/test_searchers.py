"""The searcher registry, the black-box searchers, SB3 TD3 and the benchmark metrics (issue 13)."""

import numpy as np
import pytest
import torch

from agents.common import SearchResult
from agents.metrics import REFERENCE, hypervolume, hypervolume_at
from agents.registry import SEARCHERS, make_searcher
from fake_env import FakePruneEnv


def small(name):
    return make_searcher(name, buffer_episodes=3) if name.startswith(("ddpg", "sb3")) else make_searcher(name)


@pytest.mark.parametrize("name", list(SEARCHERS))
def test_every_registered_searcher_runs_and_repeats_itself_for_a_seed(name):
    a = small(name).run(FakePruneEnv(), episodes=6, seed=3)
    b = small(name).run(FakePruneEnv(), episodes=6, seed=3)
    assert len(a.history) == 6 and a.history == b.history
    assert all(0 <= x <= 1 for x in a.best_actions) and len(a.best_actions) == 6


def test_the_cli_offers_exactly_the_registry():
    from coinfer_cli.main import AGENTS

    assert AGENTS == tuple(SEARCHERS)
    with pytest.raises(ValueError, match="alphazero"):
        make_searcher("alphazero")


@pytest.mark.parametrize("name", ["tpe", "cmaes"])
def test_black_box_searchers_find_better_designs_than_chance(name):
    """On the fake env the reward peaks at 0.7 on every layer; 60 trials should beat random search's best."""
    env = FakePruneEnv(steps=4)
    found = make_searcher(name).run(env, episodes=60, seed=0).best_reward
    chance = make_searcher("random").run(env, episodes=60, seed=0).best_reward
    assert found > chance


def test_nsga2_is_told_the_three_objectives():
    r = make_searcher("nsga2").run(FakePruneEnv(), episodes=20, seed=0)
    assert len(r.history) == 20 and r.best_reward == max(h["reward"] for h in r.history)


def test_black_box_searchers_leave_the_callers_random_state_and_optuna_logging_alone():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.INFO)
    torch.manual_seed(5)
    np.random.seed(5)
    expected = torch.rand(2), np.random.rand(2)
    torch.manual_seed(5)
    np.random.seed(5)
    for name in ("tpe", "cmaes", "nsga2"):
        make_searcher(name).run(FakePruneEnv(), episodes=4, seed=0)
    assert torch.equal(torch.rand(2), expected[0]) and np.array_equal(np.random.rand(2), expected[1])
    assert optuna.logging.get_verbosity() == optuna.logging.INFO


def test_sb3_td3_is_td3():
    from stable_baselines3 import TD3

    agent = make_searcher("sb3-td3", buffer_episodes=3)
    model = agent.build(FakePruneEnv(), seed=0)
    assert isinstance(model, TD3) and model.policy_delay == 2 and model.target_policy_noise > 0


def test_hypervolume_matches_a_hand_computed_two_dimensional_case():
    # boxes [0.2,1]x[0.6,1] (0.32) and [0.5,1]x[0.3,1] (0.35) overlap in [0.5,1]x[0.6,1] (0.20)
    assert hypervolume(np.array([[0.2, 0.6], [0.5, 0.3]]), (1, 1)) == pytest.approx(0.47)
    # a dominated point adds nothing; a point outside the reference box counts for nothing
    assert hypervolume(np.array([[0.2, 0.6], [0.5, 0.3], [0.6, 0.7], [1.2, 0.1]]), (1, 1)) == pytest.approx(0.47)
    assert hypervolume(np.zeros((0, 2)), (1, 1)) == 0


def test_hypervolume_of_a_search_uses_scaled_accuracy_flops_and_bits():
    r = SearchResult(best_info={"flops_original": 200, "bits_original": 1000})
    r.history = [{"reward": 0.1, "accuracy": 0.5, "flops": 100, "bits": 250, "best_reward": 0.1}]
    assert REFERENCE == (1.0, 1.0, 1.0)
    assert hypervolume_at(r, 1) == pytest.approx(0.5 * 0.5 * 0.75)  # (1 - 0.5) x (1 - 100/200) x (1 - 250/1000)


def test_pareto_mask_keeps_exactly_the_undominated_designs():
    from agents.harness import pareto_mask

    acc = np.array([0.5, 0.6, 0.55, 0.7, 0.4])
    cost = np.array([0.2, 0.5, 0.6, 0.9, 0.1])
    # (0.55, 0.6) is beaten by (0.6, 0.5); every other design trades accuracy for cost
    assert pareto_mask(acc, cost).tolist() == [True, True, False, True, True]
