"""The native vector env (`QECSwitchVectorEnv`) against the single env, its reference.

Component checks pin exact values (table interpolation, noise estimate, drift -> axis multiplier,
cat bit flips, reward) against the single env's own code; statistical checks compare whole
episodes of fixed policies (keep, a fixed entry, a threshold ladder, random) between N copies of
the vector env and N single-env episodes with a two-sample z-test at 99%.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import qec_gym  # noqa: F401  (registers the ids)
from qec_gym.agents.baselines import FixedAgent, RandomAgent
from qec_gym.agents.threshold import ThresholdAgent, ThresholdConfig, ladder_for
from qec_gym.envs import VECTOR_ENV_IDS, QECSwitchVectorEnv
from qec_gym.envs.reward import RewardConfig, step_reward, step_rewards

SURFACE = "qec_gym/SurfaceSwitch-v1"
Z99 = 2.5758  # two-sided 99% normal quantile


def make_vec(env_id, n, **kwargs):
    return gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)


@pytest.mark.parametrize("env_id", VECTOR_ENV_IDS)
def test_spaces_match_single_env(env_id):
    single = gym.make(env_id, max_steps=5)
    venv = make_vec(env_id, 3, max_steps=5)
    assert isinstance(venv, QECSwitchVectorEnv)
    assert venv.single_observation_space == single.observation_space
    assert venv.single_action_space == single.action_space
    obs, info = venv.reset(seed=0)
    assert obs.shape == (3,) + single.observation_space.shape and obs.dtype == np.float32
    for _ in range(6):
        obs, *_ = venv.step(np.asarray(venv.action_space.sample()))
        assert all(single.observation_space.contains(o) for o in obs)
    # Deterministic observation columns equal the single env's (nominal latency, qubits, one-hot).
    s_obs, _ = single.reset(seed=0)
    v_obs, _ = venv.reset(seed=0)
    np.testing.assert_array_equal(v_obs[0, 10:12], s_obs[10:12])
    n_menu = len(single.unwrapped.menu)  # later columns (calibration state, ...) hold drawn noise
    np.testing.assert_array_equal(v_obs[0, 14:14 + n_menu], s_obs[14:14 + n_menu])


def test_refuses_circuit_backend_and_raw():
    with pytest.raises(ValueError, match="backend='table'"):
        make_vec(SURFACE, 2, backend="circuit")
    with pytest.raises(TypeError, match="QECSwitchVectorEnv"):
        QECSwitchVectorEnv(object(), 2)
    with pytest.raises(ValueError, match="num_envs"):
        QECSwitchVectorEnv(gym.make(SURFACE), 0)
    venv = make_vec(SURFACE, 2)
    with pytest.raises(RuntimeError, match="reset"):
        venv.step(np.zeros(2, dtype=np.int64))
    venv.reset(seed=0)
    with pytest.raises(ValueError, match="outside|lie in"):
        venv.step(np.array([0, 99]))
    with pytest.raises(ValueError, match="shape"):
        venv.step(np.zeros(3, dtype=np.int64))


@pytest.mark.parametrize("env_id", ["qec_gym/SurfaceSwitch-v1", "qec_gym/DecoderCalibration-v1",
                                    "qec_gym/DecoderCalibration-v2", "qec_gym/DecoderCalibration-v3",
                                    "qec_gym/SurfaceSwitch-v2",
                                    "qec_gym/PhotonicSwitch-v2"])
def test_table_lookup_equals_single_env(env_id):
    venv = make_vec(env_id, 1)
    table = venv.env.table
    rng = np.random.default_rng(1)
    m = np.exp(rng.uniform(np.log(table.grid[0]), np.log(table.grid[-1]), 40))
    m[:2] = table.grid[[0, -1]]
    m_a = np.exp(rng.uniform(np.log(table.grid[0]), np.log(table.grid[-1]), 40))
    for e in range(len(table.menu)):
        ee = np.full(len(m), e)
        i, w = venv._grid_weights(m)
        lp, mean, std, dec = venv._lookup(ee, i, w, m_a)
        for k in range(len(m)):
            ref = table.expected(e, float(m[k]), float(m_a[k]))
            np.testing.assert_allclose(np.exp(lp[k]), ref.p_shot, rtol=1e-12)
            np.testing.assert_allclose(mean[k], ref.features, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(std[k], ref.features_std, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(dec[k], ref.decode_s_per_round, rtol=1e-12)
        # the noise estimate of obs[8]: np.interp of the monotone rate curve, incl. outside and flat parts
        curve = table._monotone_rates[e]
        rates = np.concatenate([rng.uniform(curve[0] * 0.5, curve[-1] * 1.5, 30), curve, [0.0, 1.0]])
        got = np.exp(venv._estimate_log_m(np.full(len(rates), e), rates))
        want = [table.estimate_multiplier(e, float(r)) for r in rates]
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("env_id", VECTOR_ENV_IDS)
def test_drift_to_axis_multiplier_equals_single_env(env_id):
    single = gym.make(env_id).unwrapped
    venv = make_vec(env_id, 1)
    for c, scenario in enumerate(venv._scenarios):
        m = venv._scale[c](scenario.multipliers(np.random.default_rng(7), n_steps=60))
        single.scenario = scenario
        ref = single._coordinates(scenario.trajectory(np.random.default_rng(7), n_steps=60))
        np.testing.assert_allclose(m, ref, rtol=1e-12)


@pytest.mark.parametrize("env_id", ["qec_gym/CatSwitch-v1", "qec_gym/CatSwitch-v2", "qec_gym/CatSwitch-v3"])
def test_cat_bit_flips_equal_channel(env_id):
    """v1: Gouzien's CX law (no kappa_1 dependence); v2 and v3: the simulated CX table, interpolated per copy."""
    from qec_gym.bosonic.channel import bit_flip_per_round_array

    venv = make_vec(env_id, 1)
    point = venv.env.kappa_axis.point
    rng = np.random.default_rng(0)
    e = rng.integers(len(venv.env.menu), size=50)
    k1 = point.kappa1_over_kappa2 * np.exp(rng.uniform(np.log(0.25), np.log(8.0), 50))
    got = venv._bit_flips(e, k1)
    for k in range(50):
        x = venv.env.menu[e[k]]
        want = bit_flip_per_round_array(x.distance, point.replace(nbar=x.nbar), k1[k:k + 1])[0]
        np.testing.assert_allclose(got[k], want, rtol=1e-12)


@pytest.mark.parametrize("hinge", [True, False])
def test_step_rewards_equal_step_reward(hinge):
    cfg = RewardConfig(target=1e-4, latency_weight=0.3, hinge=hinge)
    rng = np.random.default_rng(0)
    p = 10 ** rng.uniform(-9, -1, 64)
    q = rng.integers(9, 500, 64)
    lat = 10 ** rng.uniform(-8, -5, 64)
    sw, rc = rng.random(64) < 0.5, rng.random(64) < 0.5
    got = step_rewards(cfg, p_round=p, qubits=q, latency_s=lat, switched=sw, recalibrated=rc)
    want = [step_reward(cfg, p_round=p[k], qubits=int(q[k]), latency_s=lat[k], switched=bool(sw[k]),
                        recalibrated=bool(rc[k])) for k in range(64)]
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_next_step_autoreset():
    venv = make_vec(SURFACE, 3, max_steps=3)
    obs, info = venv.reset(seed=0)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert info["step"].tolist() == [0, 0, 0] and (obs[:, 12] == 0).all()
    a = np.array([0, 4, 1])
    for k in range(3):
        obs, r, term, trunc, info = venv.step(a)
        assert info["step"].tolist() == [k] * 3
        assert trunc.tolist() == [k == 2] * 3 and not term.any()
    # the single env's clock: windows at t = 0 (reset), 0, 1, 2
    assert info["step"].tolist() == [2, 2, 2]
    assert info["entry"].tolist() == [2, 2, 2]
    obs, r, term, trunc, info = venv.step(np.array([5, 5, 1]))  # ignored: these copies reset
    assert r.tolist() == [0.0, 0.0, 0.0] and not trunc.any() and not term.any()
    assert info["step"].tolist() == [0, 0, 0] and info["entry"].tolist() == [2, 2, 2]
    assert not info["switched"].any() and not info["recalibrated"].any()
    assert (obs[:, 12] == 0).all() and (obs[:, 14 + 2] == 1).all()
    obs, r, term, trunc, info = venv.step(np.array([5, 0, 1]))  # acts again
    assert info["switched"].tolist() == [True, False, False] and info["recalibrated"].tolist() == [False, False, True]
    assert info["entry"].tolist() == [3, 2, 2] and info["step"].tolist() == [0, 0, 0]


def test_same_step_autoreset():
    venv = make_vec(SURFACE, 2, max_steps=2, autoreset_mode="SameStep")
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    venv.reset(seed=0)
    obs, r, term, trunc, info = venv.step(np.array([3, 0]))
    assert not trunc.any() and "final_obs" not in info
    obs, r, term, trunc, info = venv.step(np.array([0, 0]))
    assert trunc.all() and info["_final_obs"].all()
    assert info["final_info"]["step"].tolist() == [1, 1] and info["final_info"]["entry"].tolist() == [1, 2]
    assert info["step"].tolist() == [0, 0] and info["entry"].tolist() == [2, 2]  # already reset
    assert r.dtype == np.float64 and (r < 0).all()  # the truncating step's reward, not 0
    assert info["final_obs"][0][14 + 1] == 1 and obs[0][14 + 2] == 1


def test_seeding_reproducible():
    def run(seed):
        venv = make_vec(SURFACE, 4, max_steps=4)
        out = [venv.reset(seed=seed)[0]]
        acts = np.random.default_rng(3).integers(12, size=(10, 4))
        for a in acts:
            obs, r, _, _, info = venv.step(a)
            out += [obs, r, info["logical_errors"], info["true_multiplier"]]
        return out

    a, b, c = run(5), run(5), run(6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_estimated_recalibration_equals_single_env_rule():
    """Copies recalibrate to 10 ** mean of their last K observed estimates (obs[8]), as the single env."""
    k = 3
    venv = make_vec("qec_gym/DecoderCalibration-v2", 4, recalibration_windows=k)
    obs, _ = venv.reset(seed=3)
    seen = [obs[:, 8].astype(np.float64)]
    for _ in range(5):
        obs, *_ = venv.step(np.zeros(4, dtype=np.int64))
        seen.append(obs[:, 8].astype(np.float64))
    _, _, _, _, info = venv.step(np.ones(4, dtype=np.int64))
    want = 10 ** np.mean(np.stack(seen[-k:]), axis=0)
    np.testing.assert_allclose(info["assumed_multiplier"], want, rtol=1e-5)
    assert np.all(info["assumed_multiplier"] != info["true_multiplier"])


def test_state_round_trip():
    venv = make_vec(SURFACE, 3, max_steps=5)
    venv.reset(seed=1)
    venv.step(np.array([3, 1, 0]))
    state = venv.get_state()
    a = [venv.step(np.array([0, 4, 1]))[0] for _ in range(7)]
    venv.set_state(state)
    b = [venv.step(np.array([0, 4, 1]))[0] for _ in range(7)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


# ------------------------------------------------------------------------------ statistics
def _episode_stats_single(env_id, policy_factory, n, steps, seed):
    env = gym.make(env_id, max_steps=steps)
    policy = policy_factory(env)
    rows = []
    for ep in range(n):
        obs, info = env.reset(seed=seed + ep)
        ret, switches, errors, done = 0.0, 0, 0, False
        while not done:
            (a,), _ = policy.predict(obs[None])
            obs, r, term, trunc, info = env.step(int(a))
            ret += r
            switches += info["switched"]
            errors += info["logical_errors"]
            done = term or trunc
        rows.append((ret, switches, errors / steps))
    return np.array(rows)


def _episode_stats_vector(env_id, policy_factory, n, steps, seed):
    venv = make_vec(env_id, n, max_steps=steps)
    policy = policy_factory(venv)
    obs, _ = venv.reset(seed=seed)
    ret, switches, errors = np.zeros(n), np.zeros(n), np.zeros(n)
    for k in range(steps):
        a, _ = policy.predict(obs)
        obs, r, term, trunc, info = venv.step(a)
        ret += r
        switches += info["switched"]
        errors += info["logical_errors"]
    assert trunc.all()
    return np.stack([ret, switches, errors / steps], axis=1)


def _threshold(env):
    menu = env.unwrapped.menu if hasattr(env, "unwrapped") and hasattr(env.unwrapped, "menu") else env.env.menu
    ladder = ladder_for(menu, decoder="pymatching")
    up = tuple(np.linspace(0.0, 0.6, len(ladder) - 1))
    return ThresholdAgent(ThresholdConfig(ladder=ladder, up=up, down=tuple(u - 0.1 for u in up), menu_size=len(menu),
                                          min_dwell=2))


def _n_actions(env):
    return env.single_action_space if hasattr(env, "single_action_space") else env.action_space


class _PeriodicRecal:
    """Recalibrates every 4th step, keeps otherwise (exercises the recalibration dynamics)."""

    def __init__(self):
        self.calls = 0

    def predict(self, obs, state=None, deterministic=True):
        self.calls += 1
        return np.full(len(obs), 1 if self.calls % 4 == 0 else 0, dtype=np.int64), state


POLICIES = {
    "keep": lambda env: FixedAgent(2, 10),
    "periodic_recal": lambda env: _PeriodicRecal(),
    "fixed": lambda env: FixedAgent(6, 10),
    "threshold": _threshold,
    "random": lambda env: RandomAgent(_n_actions(env), seed=11),
}
CASES = [(SURFACE, p) for p in POLICIES] + [
    ("qec_gym/PhotonicSwitch-v1", "random"),
    ("qec_gym/SurfaceSwitch-v2", "random"),
    ("qec_gym/PhotonicSwitch-v2", "random"),
    ("qec_gym/DecoderCalibration-v1", "random"),
    ("qec_gym/DecoderCalibration-v2", "random"),
    ("qec_gym/DecoderCalibration-v2", "periodic_recal"),
    ("qec_gym/DecoderCalibration-v3", "random"),
    ("qec_gym/DecoderCalibration-v3", "periodic_recal"),
    ("qec_gym/CatSwitch-v1", "random"),
    ("qec_gym/CatSwitch-v2", "random"),
]


@pytest.mark.parametrize("env_id,policy", CASES)
def test_vector_matches_single_env_statistically(env_id, policy):
    """Mean return, switches and logical errors per episode agree (two-sample z, 99%)."""
    n, steps = (120, 30) if env_id == SURFACE else (60, 20)
    single = _episode_stats_single(env_id, POLICIES[policy], n, steps, seed=1000)
    vector = _episode_stats_vector(env_id, POLICIES[policy], n, steps, seed=2000)
    for col, name in enumerate(("return", "switches", "errors/step")):
        a, b = single[:, col], vector[:, col]
        se = np.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n)
        if se == 0:
            assert a.mean() == b.mean(), name
            continue
        z = (a.mean() - b.mean()) / se
        assert abs(z) < Z99, f"{env_id} {policy} {name}: single {a.mean():.4g} vs vector {b.mean():.4g} (z = {z:.2f})"
