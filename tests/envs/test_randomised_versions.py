"""SurfaceSwitch-v3, DecoderCalibration-v4 and CatSwitch-v5: their predecessors with a domain-randomised training split."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import qec_gym  # noqa: F401  (registers the ids)
from qec_gym.envs import CALIBRATION_POOL, SURFACE_POOL
from qec_gym.envs.cat_env import CAT_POOL, CatSwitchEnv


@pytest.mark.parametrize(
    ("new", "old", "training", "old_training"),
    [
        ("qec_gym/SurfaceSwitch-v3", "qec_gym/SurfaceSwitch-v2", ("randomised_surface_drift",),
         ("calm", "ou_drift", "telegraph_tls", "bursts", "sinusoid_day")),
        ("qec_gym/DecoderCalibration-v4", "qec_gym/DecoderCalibration-v3", ("randomised_readout_drift",),
         ("readout_drift",)),
        ("qec_gym/CatSwitch-v5", "qec_gym/CatSwitch-v4", ("cat_randomised_drift",),
         ("cat_calm", "cat_ou_drift", "cat_telegraph_tls", "cat_bursts")),
    ],
)
def test_only_the_training_split_changes(new, old, training, old_training):
    env_new, env_old = gym.make(new).unwrapped, gym.make(old).unwrapped
    try:
        assert env_new.scenario_names == training
        assert env_old.scenario_names == old_training  # the earlier versions keep their scenarios
        held_new = gym.make(new, scenarios="heldout").unwrapped
        held_old = gym.make(old, scenarios="heldout").unwrapped
        assert held_new.scenario_names == held_old.scenario_names and held_new.scenario_names
        assert env_new.observation_space == env_old.observation_space
        assert env_new.action_space == env_old.action_space
        # same table, menu and reward: a held-out episode is the same episode in both versions
        rng = np.random.default_rng(0)
        actions = rng.integers(0, env_new.action_space.n, size=40)
        for env in (held_new, held_old):
            env.reset(seed=3)
        for a in actions:
            out_new, out_old = held_new.step(int(a)), held_old.step(int(a))
            np.testing.assert_array_equal(out_new[0], out_old[0])
            assert out_new[1] == out_old[1]
    finally:
        for env in (env_new, env_old):
            env.close()


def test_earlier_pools_exclude_the_randomised_scenarios():
    assert not any("randomised" in name for name in SURFACE_POOL + CALIBRATION_POOL + CAT_POOL)
    assert CatSwitchEnv(max_steps=2).scenario_pool == CAT_POOL  # the class's default too


def test_a_randomised_episode_differs_by_seed_and_repeats_by_seed():
    env = gym.make("qec_gym/SurfaceSwitch-v3").unwrapped
    levels = []
    for seed in (0, 0, 1):
        env.reset(seed=seed)
        levels.append([env.step(0)[4]["true_multiplier"] for _ in range(5)])
    assert levels[0] == levels[1] and levels[0] != levels[2]


def test_an_unknown_scenario_is_answered_with_the_env_s_own_scenarios():
    with pytest.raises(ValueError) as e:
        gym.make("qec_gym/SurfaceSwitch-v3", scenarios=["cat_calm"])
    assert str(e.value).startswith("unknown scenario 'cat_calm'; this env's scenarios: ['randomised_surface_drift', "
                                   "'heldout_ou_fast', 'heldout_telegraph_bursts', 'heldout_ramp']")
