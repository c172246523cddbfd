"""Certainty-equivalent control (`qec_gym.agents.certainty_equivalent`) and the window cost model it reads."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import qec_gym  # noqa: F401
from qec_gym.agents import (
    CertaintyEquivalentAgent,
    CertaintyEquivalentConfig,
    fit_certainty_equivalent,
    make_baseline,
)
from qec_gym.agents.base import IDX_LOG_NOISE_EMA, N_BASE_FEATURES

CALIB = "qec_gym/DecoderCalibration-v3"


@pytest.fixture(scope="module")
def calib_env():
    env = gym.make(CALIB)
    yield env
    env.close()


def test_cost_model_matches_the_reward_formula_by_hand(calib_env):
    """The window cost at (true, assumed) multipliers, recomputed from the table and v3's reward formula."""
    u = calib_env.unwrapped
    model = u.cost_model()
    cfg = u.reward_config
    for entry, m, a in ((0, 10.0, 1.0), (1, 3.0, 3.0), (2, 25.0, 2.0)):
        ex = u.table.expected(entry, m, a)
        rounds = u.menu[entry].distance
        p_round = (1 - (1 - 2 * ex.p_shot) ** (1 / rounds)) / 2  # independent flips compose by parity
        decades = max(math.log10(p_round / cfg.target), -cfg.floor_decades)  # v3: two-sided, hinge=False
        latency = cfg.latency_weight * max(0.0, ex.decode_s_per_round / cfg.latency_budget_s - 1)
        want = cfg.error_weight * decades + cfg.qubit_weight * u.menu[entry].qubits / cfg.reference_qubits + latency
        assert model.cost(entry, m, a) == pytest.approx(want, rel=1e-3, abs=1e-3)
    assert model.cost(0, 10.0, 1.0) > model.cost(0, 10.0, 10.0)  # stale priors cost error


@pytest.mark.parametrize("env_id", ["qec_gym/CatSwitch-v4", "qec_gym/SurfaceSwitch-v2"])
def test_cost_model_at_the_true_noise_is_the_rewards_expected_cost(env_id):
    """At the true multiplier the model prices every entry as the env's own expected reward does
    (CatSwitch: the table's phase flips plus the analytic bit flips of each entry's photon number)."""
    env = gym.make(env_id)
    env.reset(seed=1)
    u = env.unwrapped
    model = u.cost_model()
    for t in (0, 17, 230):
        np.testing.assert_allclose(model.costs(u.m_true[t]), u._error_cost[:, t] + u._static_cost[:, t],
                                   rtol=1e-6, atol=1e-9)  # cat: the bit-flip law interpolated (next test)


def test_cat_bit_flip_law_interpolates_the_exact_law():
    law = gym.make("qec_gym/CatSwitch-v4").unwrapped.cost_model().extra_failure
    lo, hi = law.m_range
    for m in np.geomspace(lo, hi, 37)[1:-1] * 1.0137:
        np.testing.assert_allclose(law(m), law.exact(m), rtol=1e-6)
    np.testing.assert_allclose(law(hi * 10), law.exact(hi), rtol=1e-12)  # clamped to the characterised range


@pytest.mark.parametrize("env_id", [CALIB, "qec_gym/CatSwitch-v4", "qec_gym/DecoderCalibration-v1"])
def test_a_scaled_model_changes_only_the_named_characterisation(env_id):
    """``scaled`` (model-error studies): per-shot error, decode time and extra failures multiply by
    their factors at every (true, assumed) point, and the env's own model is left as it was."""
    model = gym.make(env_id).unwrapped.cost_model()
    before = model.costs(2.0)
    worse = model.scaled(p_shot=1.5, decode=2.0, extra_failure=3.0)
    for entry, m, a in ((0, 2.0, 1.0), (1, 5.0, 5.0), (2, 1.3, None)):
        ex, ex2 = model.table.expected(entry, m, a), worse.table.expected(entry, m, a)
        assert ex2.p_shot == pytest.approx(1.5 * ex.p_shot, rel=1e-9)
        assert ex2.decode_s_per_round == pytest.approx(2.0 * ex.decode_s_per_round, rel=1e-12)
    if model.extra_failure is not None:
        np.testing.assert_allclose(worse.extra_failure(4.0), np.minimum(3.0 * model.extra_failure(4.0), 1.0))
    np.testing.assert_array_equal(model.costs(2.0), before)
    assert model.scaled().costs(2.0) == pytest.approx(before, rel=1e-12)  # factors of 1: the same model
    with pytest.raises(ValueError, match="decode must be a finite factor > 0"):
        model.scaled(decode=0)


def test_cost_model_refused_without_a_law_for_failures_outside_the_table():
    from qec_gym.envs.cat_env import CatSwitchEnv

    class NoLaw(CatSwitchEnv):
        def _extra_failure_model(self):
            return None

    with pytest.raises(ValueError, match="gives no law for them"):
        NoLaw(max_steps=5).cost_model()


def test_with_the_true_noise_and_no_transition_cost_it_is_the_myopic_oracle(calib_env):
    """Fed the true multiplier (a privileged test input) with an infinite horizon, certainty
    equivalence is the myopic oracle: the same costs, minimised at the same point."""
    u = calib_env.unwrapped
    agent = CertaintyEquivalentAgent.from_env(calib_env, CertaintyEquivalentConfig(menu_size=len(u.menu), horizon=1e12))
    obs, info = calib_env.reset(seed=3, options={"scenario": u.scenario_names[0]})
    rng = np.random.default_rng(0)
    agree = steps = 0
    for _ in range(120):
        fed = obs.copy()
        fed[IDX_LOG_NOISE_EMA] = math.log10(u.m_true[u._t])
        oracle = u.oracle_action()
        agree += int(agent.predict(fed)[0]) == oracle
        steps += 1
        obs, *_ = calib_env.step(int(rng.integers(calib_env.action_space.n)))  # visit varied calibration states
    assert agree == steps


def test_acts_on_the_estimate_not_the_truth_surface():
    """SurfaceSwitch (1-D table): a high estimate picks a larger distance than a low one; the action
    is a function of the observation alone (no env reference)."""
    env = gym.make("qec_gym/SurfaceSwitch-v1")
    u = env.unwrapped
    n = len(u.menu)
    agent = CertaintyEquivalentAgent.from_env(env, CertaintyEquivalentConfig(menu_size=n, horizon=20))
    assert not hasattr(agent, "env")
    obs = np.zeros(N_BASE_FEATURES + n, dtype=np.float32)
    obs[N_BASE_FEATURES + n // 2] = 1.0
    distance = {}
    for level in (-0.3, 0.9):
        obs[IDX_LOG_NOISE_EMA] = level
        a = int(agent.predict(obs)[0])
        chosen = n // 2 if a == 0 else a - 2
        assert a != 1  # recalibration never pays on a 1-D table
        costs = [agent.model.cost(j, 10 ** level) + (0 if j == n // 2 else u.reward_config.switch_cost / 20)
                 for j in range(n)]
        assert math.isclose(costs[chosen], min(costs), rel_tol=1e-12)
        distance[level] = u.menu[chosen].distance
    assert distance[0.9] > distance[-0.3]


def test_horizon_trades_recalibration_cost(calib_env):
    """A mildly stale calibration: a short horizon (recalibration cost counted in full) keeps, a long one recalibrates."""
    u = calib_env.unwrapped
    n = len(u.menu)
    obs = np.zeros(N_BASE_FEATURES + n + 3, dtype=np.float32)
    obs[N_BASE_FEATURES + 1] = 1.0
    cal = N_BASE_FEATURES + n
    model = u.cost_model()
    m = 10 ** 0.6
    obs[IDX_LOG_NOISE_EMA], obs[cal], obs[cal + 1] = 0.6, 0.0, 0.6
    gain = model.cost(1, m, 1.0) - model.cost(1, m, m)
    assert 0 < gain < u.reward_config.recalibration_cost  # pays back over a few windows, not in one
    short = CertaintyEquivalentAgent.from_env(calib_env, CertaintyEquivalentConfig(menu_size=n, horizon=1))
    long = CertaintyEquivalentAgent.from_env(calib_env, CertaintyEquivalentConfig(menu_size=n, horizon=1e6))
    assert int(short.predict(obs)[0]) != 1
    assert int(long.predict(obs)[0]) == 1


def test_fit_and_registry(calib_env):
    agent = fit_certainty_equivalent(CALIB, episodes=1, horizons=(5, 40), estimates=("ema",), env_kwargs={"max_steps": 30})
    assert agent.config.horizon in (5.0, 40.0) and agent.fit_score is not None
    via = make_baseline("certainty_equivalent", calib_env, episodes=1, horizons=(5, 40), estimates=("ema",),
                        env_kwargs={"max_steps": 30})
    assert via.config == agent.config and via.name == "certainty_equivalent"
    obs = calib_env.observation_space.sample()
    assert make_baseline("certainty_equivalent", calib_env, config=agent.config).predict(obs)[0] == via.predict(obs)[0]


@pytest.mark.parametrize("kwargs, match", [
    ({"horizon": 0.5}, "horizon must be"),
    ({"horizon": float("nan")}, "horizon must be"),
    ({"horizon": 5, "estimate": "mean"}, "estimate must be one of"),
    ({"horizon": 5, "menu_size": 0}, "menu_size must be"),
])
def test_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CertaintyEquivalentConfig(**{"menu_size": 3, **kwargs})


def test_refuses_a_menu_or_an_observation_it_cannot_read(calib_env):
    with pytest.raises(ValueError, match="menu of 5 entries"):
        CertaintyEquivalentAgent.from_env(calib_env, CertaintyEquivalentConfig(menu_size=5, horizon=5))
    v2 = gym.make("qec_gym/DecoderCalibration-v2")
    with pytest.raises(ValueError, match="calibration_state=True"):
        CertaintyEquivalentAgent.from_env(v2, CertaintyEquivalentConfig(menu_size=3, horizon=5))
    agent = CertaintyEquivalentAgent.from_env(calib_env, CertaintyEquivalentConfig(menu_size=3, horizon=5))
    with pytest.raises(ValueError, match="calibration state at observation"):
        agent.predict(np.zeros(N_BASE_FEATURES + 3, dtype=np.float32))


def test_estimates_beyond_the_table_are_priced_at_its_edge(calib_env):
    """A window's estimate can leave the characterised range (x530 here): priced at the edge, no error."""
    model = calib_env.unwrapped.cost_model()
    lo, hi = model.table.grid[0], model.table.grid[-1]
    assert model.cost(1, 530.1, 0.01) == model.cost(1, hi, lo)
    agent = CertaintyEquivalentAgent.from_env(calib_env, CertaintyEquivalentConfig(menu_size=3, horizon=5))
    obs = np.zeros((2, N_BASE_FEATURES + 6), dtype=np.float32)
    obs[:, N_BASE_FEATURES] = 1.0
    obs[0, IDX_LOG_NOISE_EMA], obs[1, IDX_LOG_NOISE_EMA] = 2.72, -3.0
    assert agent.predict(obs)[0].shape == (2,)


# --- certainty_equivalent:<model error>: the controller plans on a wrong model (session 13) ---------------------

@pytest.mark.parametrize("text, expected", [
    ("decode=1.5", dict(decode=1.5)),
    ("p_shot=0.67, bit_flips=2", dict(p_shot=0.67, bit_flips=2.0)),
    ("table_of=qec_gym/DecoderCalibration-v1,decode=2", dict(decode=2.0, table_of="qec_gym/DecoderCalibration-v1")),
])
def test_model_error_parses_and_prints_back(text, expected):
    from qec_gym.agents import ModelError

    error = ModelError.parse(text)
    assert error == ModelError(**expected)
    assert ModelError.parse(str(error)) == error


@pytest.mark.parametrize("spec, match", [
    ("certainty_equivalent:decode", "not an option"),
    ("certainty_equivalent:", "not an option"),
    ("certainty_equivalent:latency=2", "not an option"),
    ("certainty_equivalent:decode=1.5,decode=2", "given twice"),
    ("certainty_equivalent:decode=fast", "not a number"),
    ("certainty_equivalent:p_shot=0", "finite factor > 0"),
    ("certainty_equivalent:p_shot=nan", "finite factor > 0"),
    ("certainty_equivalent:decode=-1", "finite factor > 0"),
    ("certainty_equivalent:table_of=qec_gym/NoSuchEnv-v0", "not a registered env id"),
    ("certainty_equivalent:table_of=qec_gym/DecoderCalibration-v1=x", "not a registered env id"),
    ("best_fixed:decode=1.5", "unknown baseline"),
])
def test_a_bad_model_error_is_refused_by_name(spec, match):
    from qec_gym.agents import check_baseline_name

    with pytest.raises(ValueError, match=match):
        check_baseline_name(spec)


def test_a_model_error_that_does_not_fit_the_env_is_refused(calib_env):
    cfg = CertaintyEquivalentConfig(menu_size=3, horizon=5)
    with pytest.raises(ValueError, match="no bit-flip law"):
        make_baseline("certainty_equivalent:bit_flips=2", calib_env, config=cfg)
    with pytest.raises(ValueError, match="menu differs"):
        make_baseline("certainty_equivalent:table_of=qec_gym/SurfaceSwitch-v1", calib_env, config=cfg)


def test_the_wrong_model_is_the_one_planned_on_and_the_env_keeps_its_own(calib_env):
    """Scaled decode times, and another build's table, priced at the same (true, assumed) points as the
    models made directly; the env's own model is untouched."""
    cfg = CertaintyEquivalentConfig(menu_size=3, horizon=5)
    exact = calib_env.unwrapped.cost_model()
    before = exact.costs(8.0, 2.0).copy()  # taken before any wrong model is made: none may alter the env's table
    slow = make_baseline("certainty_equivalent:decode=1.5", calib_env, config=cfg)
    other_env = gym.make("qec_gym/DecoderCalibration-v1")
    other = other_env.unwrapped.cost_model()
    other_env.close()
    v1 = make_baseline("certainty_equivalent:table_of=qec_gym/DecoderCalibration-v1", calib_env, config=cfg)
    for m, a in ((1.0, 1.0), (8.0, 2.0), (30.0, 30.0)):
        np.testing.assert_array_equal(slow.model.costs(m, a), exact.scaled(decode=1.5).costs(m, a))
        np.testing.assert_array_equal(v1.model.costs(m, a), other.costs(m, a))
    assert not np.array_equal(slow.model.costs(30.0, 30.0), exact.costs(30.0, 30.0))  # past the latency budget
    np.testing.assert_array_equal(calib_env.unwrapped.cost_model().costs(8.0, 2.0), before)
    assert slow.name == "certainty_equivalent:decode=1.5"


def test_a_fitted_wrong_model_controller_is_rebuilt_with_its_error(calib_env):
    """The fit cache's path (`fitted_parameters` -> `from_fitted_parameters`) keeps the model error: a
    rebuilt teacher or harness baseline must not silently plan on the exact model."""
    from qec_gym.agents import fitted_parameters, from_fitted_parameters

    spec = "certainty_equivalent:decode=1.5"
    fitted = make_baseline(spec, calib_env, episodes=1, horizons=(5,), estimates=("ema",),
                           env_kwargs={"max_steps": 20})
    again = from_fitted_parameters(spec, calib_env, fitted_parameters(spec, fitted))
    assert again.config == fitted.config and again.name == spec
    np.testing.assert_array_equal(again.model.costs(8.0, 2.0), fitted.model.costs(8.0, 2.0))
    exact = calib_env.unwrapped.cost_model()
    assert not np.array_equal(again.model.costs(20.0, 20.0), exact.costs(20.0, 20.0))
