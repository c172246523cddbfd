"""Aggregate RL metrics: values against closed forms and rliable's definitions."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from qec_gym.eval import aggregate


def test_iqm_is_the_trimmed_mean_of_all_scores():
    x = np.arange(40, dtype=float).reshape(2, 5, 4)
    # 25% trimmed mean of 0..39 drops 10 on each side: mean of 10..29
    assert aggregate.iqm(x, reps=50).mean == pytest.approx(19.5)
    assert aggregate.iqm(x, reps=50).mean == pytest.approx(sps.trim_mean(x.ravel(), 0.25))


def test_probability_of_improvement_values():
    x = np.ones((3, 2, 2))
    assert aggregate.probability_of_improvement(x, x, reps=50).mean == 0.5
    assert aggregate.probability_of_improvement(x, x - 1, reps=50).mean == 1.0
    # one task where X always wins, one where it always loses: 0.5 on average
    y = np.stack([np.zeros((3, 2)), 2 * np.ones((3, 2))], axis=-1)
    assert aggregate.probability_of_improvement(x, y, reps=50).mean == 0.5


def test_bootstrap_interval_covers_the_true_mean_at_its_level():
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(100):
        x = rng.normal(0.0, 1.0, size=(5, 8, 1))
        ci = aggregate.mean(x, reps=300, rng=rng)
        hits += ci.low <= 0.0 <= ci.high
    # 95% nominal; the percentile bootstrap undercovers slightly at n=40 (binomial 99% band of 100 trials)
    assert 85 <= hits <= 100


def test_no_interval_without_anything_to_resample():
    ci = aggregate.mean(np.ones((1, 1, 3)))
    assert ci.mean == 1.0 and math.isnan(ci.low) and math.isnan(ci.high)


def test_two_stage_resampling_keeps_tasks_apart():
    # each task holds one constant: any resample keeps the per-task values, so the mean is fixed
    x = np.broadcast_to(np.array([0.0, 10.0]), (4, 3, 2)).copy()
    ci = aggregate.mean(x, reps=100)
    assert (ci.mean, ci.low, ci.high) == (5.0, 5.0, 5.0)


def test_bad_scores_are_refused():
    with pytest.raises(ValueError, match="shape"):
        aggregate.mean(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        aggregate.mean(np.array([[[np.nan]]]))
    with pytest.raises(ValueError, match="same scenarios"):
        aggregate.probability_of_improvement(np.ones((2, 2, 2)), np.ones((2, 2, 3)))


def _tidy():
    rows = []
    for run in range(3):
        for scenario, base in (("a", 0.0), ("b", 10.0)):
            for seed in range(2):
                rows.append({"policy": "ppo", "train_seed": run, "scenario": scenario, "seed": seed,
                             "return": base + run + 0.1 * seed})
    for scenario, base in (("a", 0.0), ("b", 10.0)):
        for seed in range(2):
            rows.append({"policy": "fixed", "train_seed": np.nan, "scenario": scenario, "seed": seed, "return": base})
            rows.append({"policy": "oracle", "train_seed": np.nan, "scenario": scenario, "seed": seed, "return": base + 4})
    return pd.DataFrame(rows)


def test_score_array_layout_and_normalisation():
    df = _tidy()
    x = aggregate.score_array(df, policy="ppo", scenarios=["a", "b"])
    assert x.shape == (3, 2, 2)
    assert x[2, 1, 1] == pytest.approx(12.1)
    assert aggregate.score_array(df, policy="fixed", scenarios=["a", "b"]).shape == (1, 2, 2)
    n = aggregate.normalize(df, low="fixed", high="oracle")
    ppo = aggregate.score_array(n, policy="ppo", scenarios=["a", "b"], metric="normalized")
    assert ppo[1, 0, 0] == pytest.approx(0.25) and ppo[1, 0, 1] == pytest.approx(0.25)


def test_score_array_refuses_missing_episodes():
    df = _tidy().iloc[1:]
    with pytest.raises(ValueError, match="lacks some"):
        aggregate.score_array(df, policy="ppo", scenarios=["a", "b"])
    with pytest.raises(ValueError, match="no results"):
        aggregate.score_array(df, policy="nope", scenarios=["a"])


def test_aggregate_table_groups_runs_and_compares():
    df = _tidy()
    df = df.assign(policy=np.where(df.policy == "ppo", "ppo@" + df.train_seed.astype("Int64").astype(str), df.policy))
    table = aggregate.aggregate_table(
        df, {"ppo": ["ppo@0", "ppo@1", "ppo@2"], "fixed": ["fixed"], "oracle": ["oracle"]},
        low="fixed", high="oracle", compare_to=["fixed"], reps=200)
    row = table.set_index("group").loc["ppo"]
    assert row.runs == 3 and row.episodes == 12
    # normalised (run + 0.1 seed) / 4, twice: the middle six of the twelve scores
    assert row.iqm == pytest.approx(np.mean([0.025, 0.25, 0.25, 0.275, 0.275, 0.5]))
    assert row.poi_vs_fixed > 0.8
    assert table.set_index("group").loc["oracle"].iqm == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not in groups"):
        aggregate.aggregate_table(df, {"fixed": ["fixed"]}, low="fixed", high="oracle", compare_to=["ppo"])


def test_normalisation_survives_a_scenario_where_the_references_tie():
    df = pd.DataFrame({"policy": ["lo", "hi", "x"] * 2, "scenario": ["calm"] * 3 + ["drift"] * 3,
                       "seed": [0] * 6, "return": [-5.0, -5.0, -5.0, -20.0, -10.0, -12.0]})
    n = aggregate.normalize(df, low="lo", high="hi").set_index(["policy", "scenario"]).normalized
    # pooled scale: mean gap (0 + 10) / 2 = 5
    assert n[("x", "calm")] == 0.0 and n[("x", "drift")] == pytest.approx(8 / 5)
    with pytest.raises(ValueError, match="same on average"):
        aggregate.normalize(df[df.scenario == "calm"], low="lo", high="hi")


def test_probability_of_improvement_compares_runs_by_their_episode_means():
    # rliable / Agarwal et al. eq. 2: a run's score is its mean over episodes. X's runs average
    # 1.5 and 3, Y's one run averages 2: X beats Y in one of two run pairs on each task.
    x = np.array([[0.0, 3.0], [2.0, 4.0]])[:, :, None]  # (2 runs, 2 episodes, 1 task)
    y = np.array([[[2.0], [2.0]]])
    assert aggregate.probability_of_improvement(x, y, reps=50).mean == 0.5
    # episode by episode X would win 2 of 4 and tie 1 (0.625): the run definition is not the episode one
    ep_level = np.mean([(a > b) + 0.5 * (a == b) for a in x.ravel() for b in y.ravel()])
    assert ep_level == pytest.approx(0.625)


def test_paired_interval_keeps_common_random_numbers_together():
    # Episodes differ by far more than the policies do, but X beats Y by 1 on every shared episode.
    rng = np.random.default_rng(3)
    episode = rng.normal(0.0, 10.0, size=(1, 15, 3))
    x = episode + 1.0 + rng.normal(0.0, 0.05, size=(5, 15, 3))
    paired = aggregate.probability_of_improvement(x, episode, reps=300)
    assert (paired.mean, paired.low, paired.high) == (1.0, 1.0, 1.0)
    # resampled as independent samples the episode spread swamps the same difference
    unpaired = aggregate.probability_of_improvement(x, episode, paired=False, reps=300)
    assert unpaired.mean == 1.0 and unpaired.low < 0.5


def test_paired_comparison_needs_the_same_episodes():
    with pytest.raises(ValueError, match="paired=False"):
        aggregate.probability_of_improvement(np.ones((2, 3, 1)), np.ones((1, 4, 1)))
    df = _tidy()
    df = df[~((df.policy == "fixed") & (df.seed == 1))]
    df = pd.concat([df, df[df.policy == "fixed"].assign(seed=7)])
    with pytest.raises(ValueError, match="different \\(scenario, seed\\) episodes"):
        aggregate.aggregate_table(df.assign(policy=df.policy.where(df.policy != "ppo", "ppo")),
                                  {"ppo": ["ppo"], "fixed": ["fixed"], "oracle": ["oracle"]},
                                  low="fixed", high="oracle", compare_to=["fixed"], reps=20)
