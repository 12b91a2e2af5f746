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


class RecordingPlayer:
    """A batch player that plays on its own fake env, one design after another, and remembers each batch."""

    def __init__(self):
        from agents.common import play_design

        self.env, self.batches = FakePruneEnv(), []
        self._play = lambda design: play_design(self.env, design)

    def __call__(self, designs):
        self.batches.append([list(d) for d in designs])
        return [self._play(d) for d in designs]


@pytest.mark.parametrize("name", ["random", "uniform-sweep", "tpe", "cmaes", "nsga2"])
def test_batched_searchers_give_the_same_run_on_a_player_as_on_the_env(name):
    """A batch player changes where designs are played, never which designs or in what order results are told."""
    player = RecordingPlayer()
    here = make_searcher(name, batch=4).run(FakePruneEnv(), episodes=10, seed=2)
    there = make_searcher(name, batch=4, player=player).run(FakePruneEnv(), episodes=10, seed=2)
    assert [len(b) for b in player.batches] == [4, 4, 2]
    assert here.history == there.history
    played = [d for b in player.batches for d in b]
    assert here.best_actions == pytest.approx(played[int(np.argmax([h["reward"] for h in here.history]))])


def test_random_search_draws_the_same_designs_whatever_the_batch():
    one = make_searcher("random").run(FakePruneEnv(), episodes=6, seed=4)
    four = make_searcher("random", batch=4).run(FakePruneEnv(), episodes=6, seed=4)
    assert one.history == four.history


def test_batch_one_tpe_tells_each_trial_before_the_next_ask():
    """batch=1 is plain sequential TPE: every trial but the running one is complete when the next is asked."""
    import optuna

    seen = []
    real_ask = optuna.Study.ask

    def ask(study, *a, **k):
        seen.append(sum(t.state == optuna.trial.TrialState.RUNNING for t in study.trials))
        return real_ask(study, *a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(optuna.Study, "ask", ask)
        make_searcher("tpe").run(FakePruneEnv(), episodes=5, seed=0)
        assert seen == [0] * 5
        seen.clear()
        make_searcher("tpe", batch=3).run(FakePruneEnv(), episodes=5, seed=0)
        assert seen == [0, 1, 2, 0, 1]


def test_batches_are_refused_for_searchers_that_learn_each_step():
    with pytest.raises(ValueError, match="'ddpg' plays one episode at a time"):
        make_searcher("ddpg", batch=2)
    with pytest.raises(ValueError, match="batch=0"):
        make_searcher("tpe", batch=0)


def test_versus_random_is_the_difference_of_means_in_units_of_its_standard_error():
    from agents.harness import versus

    def cell(mean, se):
        return {"100%": {"mean": mean, "se": se}}

    summary = {"random": {"reward": cell(0.40, 0.003), "hypervolume": cell(0.50, 0.01)},
               "tpe": {"reward": cell(0.42, 0.004), "hypervolume": cell(0.49, 0.0)}}
    row = versus(summary)[-1]
    assert row == "| tpe | +0.0200 ± 0.0050 | +4.0 * | -0.0100 ± 0.0100 | -1.0 |"
