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


# ----------------------------------------------------------------- drift draws reported in info
def _digest(arrays) -> str:
    """sha256 of the values rounded to 1e-6: a changed trajectory changes it, while the last-bit differences
    of libm / SIMD builds between machines do not (bit-exact digests failed on a fresh CI machine)."""
    import hashlib

    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(np.round(np.asarray(a, dtype=np.float64), 6) + 0.0).tobytes())
    return h.hexdigest()[:16]


# Digests of seeded trajectories computed with the code before draws were recorded (commit 4fe5f08's
# parent, numpy 2.4.6): recording them must not change any episode (nor the observations drawn after
# the trajectory); the bit-for-bit check is the same-process comparison below.
_SCENARIO_DIGESTS = {"randomised_surface_drift": "912a0f1f80ceeb84", "randomised_readout_drift": "57395f2fc4849a66",
                     "cat_randomised_drift": "d8b3e30b5ee7c7f2"}
_ENV_DIGESTS = {"qec_gym/SurfaceSwitch-v3": "c252b069b6397d4e", "qec_gym/DecoderCalibration-v4": "e63dba817838bed3",
                "qec_gym/CatSwitch-v5": "a951815265f72040"}
_VECTOR_DIGESTS = {"qec_gym/SurfaceSwitch-v3": "7efaeefa25b50014", "qec_gym/CatSwitch-v5": "19139c56bac3f9ca"}
_FAMILIES = {
    "randomised_surface_drift": {"OrnsteinUhlenbeck", "RandomTelegraph * OrnsteinUhlenbeck",
                                 "OrnsteinUhlenbeck + Bursts", "Sinusoid * OrnsteinUhlenbeck"},
    "randomised_readout_drift": {"OrnsteinUhlenbeck", "RandomTelegraph * OrnsteinUhlenbeck", "Bursts"},
    "cat_randomised_drift": {"OrnsteinUhlenbeck", "RandomTelegraph * OrnsteinUhlenbeck", "OrnsteinUhlenbeck + Bursts"},
}


def _scenario(name):
    from qec_gym.noise.scenarios import SCENARIOS

    return SCENARIOS[name] if name in SCENARIOS else CatSwitchEnv.scenario_registry[name]


@pytest.mark.parametrize("name", list(_SCENARIO_DIGESTS))
def test_randomised_scenarios_report_their_draw_and_keep_their_trajectories(name):
    import json

    scenario = _scenario(name)
    key = {"randomised_surface_drift": "all", "randomised_readout_drift": "p_meas"}.get(name, "kappa1_over_kappa2")

    def flat(m):
        return [m[k] for k in sorted(m)] if isinstance(m, dict) else [m]

    plain = [a for seed in range(8) for a in flat(scenario.multipliers(np.random.default_rng(seed), n_steps=300))]
    assert _digest(plain) == _SCENARIO_DIGESTS[name]
    recorded, families = [], set()
    for seed in range(8):
        drawn = {}
        recorded += flat(scenario.multipliers(np.random.default_rng(seed), n_steps=300, draws=drawn))
        assert list(drawn) == [key] and json.loads(json.dumps(drawn)) == drawn  # plain JSON data
    np.testing.assert_array_equal(np.concatenate(recorded), np.concatenate(plain))  # bit for bit
    for seed in range(60):
        drawn = {}
        scenario.multipliers(np.random.default_rng(seed), n_steps=2, draws=drawn)
        *levels, mixture = drawn[key]
        assert mixture["process"] == "Mixture"
        if name == "randomised_surface_drift":  # the level is drawn before the family
            assert [d["process"] for d in levels] == ["RandomLevel"] and 1.5 <= levels[0]["level"] <= 3.0
        else:
            assert levels == []
        families.add(mixture["family"])
    assert families == _FAMILIES[name]


@pytest.mark.parametrize("env_id", list(_ENV_DIGESTS))
def test_envs_report_the_episode_draw_at_reset_only(env_id):
    env = gym.make(env_id)
    arrays = []
    for seed in range(4):
        obs, info = env.reset(seed=seed)
        arrays += [env.unwrapped.m_true, obs]
        drawn = {}
        env.unwrapped.scenario.trajectory(np.random.default_rng(0), n_steps=1, draws=drawn)  # the key it uses
        (key,) = drawn
        assert list(info["drift_draw"]) == [key] and info["drift_draw"][key][-1]["family"] in _FAMILIES[env.unwrapped.scenario.name]
    assert _digest(arrays) == _ENV_DIGESTS[env_id]  # observations and trajectories unchanged
    assert "drift_draw" not in env.step(0)[4]
    _, info = env.reset(seed=0, options={"scenario": env.unwrapped.scenario_pool[1]})  # a held-out, unrandomised one
    assert info["drift_draw"] == {}


@pytest.mark.parametrize("env_id", list(_VECTOR_DIGESTS))
def test_the_native_vector_env_reports_the_draw_of_each_new_episode(env_id):
    envs = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point", max_steps=5)
    obs, info = envs.reset(seed=0)
    arrays = [obs, envs.unwrapped._m]
    assert info["_drift_draw"].all() and all(d and isinstance(d, dict) for d in info["drift_draw"])
    first = info["drift_draw"].copy()
    for k in range(12):
        obs, r, _, trunc, info = envs.step(np.zeros(3, dtype=np.int64))
        arrays += [obs, r]
        if k % 6 == 5:  # NEXT_STEP: the step after the 5th resets every copy and reports the new draws
            assert info["_drift_draw"].all() and list(info["drift_draw"]) != list(first)
        else:
            assert "drift_draw" not in info
    assert _digest(arrays) == _VECTOR_DIGESTS[env_id]
    single = gym.make(env_id, max_steps=5).unwrapped
    _, s_info = single.reset(seed=0)
    assert set(first[0]) == set(s_info["drift_draw"])  # the same layout as the single env's
    same = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", max_steps=1,
                        autoreset_mode="SameStep")
    same.reset(seed=1)
    _, _, _, trunc, info = same.step(np.zeros(2, dtype=np.int64))
    assert trunc.all() and info["_drift_draw"].all() and "drift_draw" not in info["final_info"]
