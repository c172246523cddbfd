"""Drift processes: statistics against their definitions, reproducibility, composition, validation.

Statistical tolerances are 4-5 standard errors computed from the sample size (and, for correlated
series, the autocorrelation), so a correct implementation fails with probability < 1e-4; the seeds
are fixed anyway, so the tests are deterministic.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest

from qec_gym.noise import NoiseParams
from qec_gym.noise.drift import (
    DRIFT_KEYS,
    Bursts,
    Clip,
    Constant,
    DriftProcess,
    FieldDrift,
    Mixture,
    OrnsteinUhlenbeck,
    Product,
    RandomLevel,
    RandomTelegraph,
    Ramp,
    Replay,
    Sinusoid,
    Step,
    Sum,
    apply_multipliers,
    noise_trajectory,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


RANDOM_PROCESSES = [
    OrnsteinUhlenbeck(0.05, 0.1),
    Sinusoid(0.3, 20, random_phase=True),
    RandomTelegraph(1.0, 2.0, p_up=0.1, p_down=0.2),
    Bursts(0.05, 2.0, decay=4.0),
    Bursts(0.05, 2.0, decay=4.0, random_height=True),
    Replay([1.0, 2.0, 3.0], random_start=True),
    OrnsteinUhlenbeck(0.1, 0.2) * RandomTelegraph(1.0, 3.0, p_up=0.1, p_down=0.1),
    (OrnsteinUhlenbeck(0.1, 0.1) + Bursts(0.1, 1.0, decay=2.0, baseline=0.0)).clip(high=3.0),
    RandomLevel(0.5, 2.0),
    Mixture(OrnsteinUhlenbeck(0.05, 0.1), RandomTelegraph(1.0, 2.0, p_up=0.1, p_down=0.2), weights=(1.0, 2.0)),
]
DETERMINISTIC_PROCESSES = [
    Constant(1.5),
    Sinusoid(0.5, 10),
    Step(5, 2.0),
    Ramp(1.0, 3.0, duration=10, begin=2),
    Replay([1.0, 2.0], steps_per_value=3.0, mode="hold"),
]


# ----------------------------------------------------------------------------------- contract
@pytest.mark.parametrize("process", RANDOM_PROCESSES + DETERMINISTIC_PROCESSES, ids=repr)
def test_sample_contract(process):
    x = process.sample(200, rng(1))
    assert isinstance(x, np.ndarray) and x.dtype == np.float64 and x.shape == (200,)
    assert np.all(np.isfinite(x)) and x.min() > 0
    assert process.sample(0, rng(1)).shape == (0,)
    # Same Generator state -> identical array.
    np.testing.assert_array_equal(x, process.sample(200, rng(1)))
    # Hashable and equal by value (scenarios and caches key on them).
    twin = copy.deepcopy(process)
    assert twin == process and hash(twin) == hash(process)


@pytest.mark.parametrize("process", RANDOM_PROCESSES, ids=repr)
def test_different_seeds_differ(process):
    assert not np.array_equal(process.sample(200, rng(1)), process.sample(200, rng(2)))


def test_sample_argument_validation():
    ou = OrnsteinUhlenbeck(0.1, 0.1)
    with pytest.raises(ValueError, match="n_steps"):
        ou.sample(-1, rng())
    with pytest.raises(TypeError, match="n_steps"):
        ou.sample(2.5, rng())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Generator"):
        ou.sample(10, np.random.RandomState(0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Generator"):
        ou.sample(10, 0)  # type: ignore[arg-type]


# -------------------------------------------------------------------------- Ornstein-Uhlenbeck
def test_ou_stationary_log_mean_and_variance():
    ou = OrnsteinUhlenbeck.from_stationary(0.3, 25, median=2.0)
    assert ou.stationary_log_std == pytest.approx(0.3)
    assert ou.theta == pytest.approx(0.04)
    k = 4000
    gen = rng(3)
    logs = np.log(np.stack([ou.sample(40, gen) for _ in range(k)]))
    mu, s2 = math.log(2.0), 0.3**2
    # Stationary start: the law is the same at t = 0 and t = 39.
    for t in (0, 39):
        col = logs[:, t]
        assert abs(col.mean() - mu) < 4.5 * math.sqrt(s2 / k)
        # Var of the sample variance of a Gaussian: 2 s^4 / (k - 1).
        assert abs(col.var(ddof=1) - s2) < 4.5 * s2 * math.sqrt(2 / (k - 1))


def test_ou_autocorrelation_is_exp_minus_theta():
    theta = 0.05
    ou = OrnsteinUhlenbeck(theta, 0.2)
    x = np.log(ou.sample(200_000, rng(4)))
    x = x - x.mean()
    lag1 = float(np.dot(x[:-1], x[1:]) / np.dot(x, x))
    a = math.exp(-theta)
    # SE of the lag-1 autocorrelation estimate of an AR(1): sqrt((1 - a^2) / n).
    assert abs(lag1 - a) < 5 * math.sqrt((1 - a * a) / x.size) + 1e-3


def test_ou_zero_volatility_is_constant_median():
    np.testing.assert_array_equal(OrnsteinUhlenbeck(0.1, 0.0, median=1.5).sample(5, rng()), 1.5)


# ---------------------------------------------------------------------------------- telegraph
def _runs(x: np.ndarray) -> list[tuple[float, int]]:
    change = np.flatnonzero(np.diff(x)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [x.size]])
    return [(float(x[s]), int(e - s)) for s, e in zip(starts, ends)]


def test_telegraph_dwell_times_and_occupancy():
    tls = RandomTelegraph.from_dwell(1.0, 4.0, dwell_low=20, dwell_high=5)
    x = tls.sample(200_000, rng(5))
    assert set(np.unique(x).tolist()) == {1.0, 4.0}
    runs = _runs(x)[1:-1]  # the first and last runs are cut by the window
    for level, p in ((1.0, tls.p_up), (4.0, tls.p_down)):
        dwell = np.array([n for v, n in runs if v == level])
        mean, sd = 1 / p, math.sqrt(1 - p) / p  # geometric law
        assert abs(dwell.mean() - mean) < 4.5 * sd / math.sqrt(dwell.size)
    assert tls.stationary_high_fraction == pytest.approx(0.2)
    assert abs(np.mean(x == 4.0) - 0.2) < 0.02


def test_telegraph_start_states():
    tls = RandomTelegraph(1.0, 2.0, p_up=0.0, p_down=0.0, start="high")
    np.testing.assert_array_equal(tls.sample(10, rng()), 2.0)
    stuck_low = RandomTelegraph(1.0, 2.0, p_up=0.0, p_down=0.5, start="low")
    np.testing.assert_array_equal(stuck_low.sample(10, rng()), 1.0)
    # Stationary start: P(high at t=0) = p_up / (p_up + p_down) = 0.75.
    tls = RandomTelegraph(1.0, 2.0, p_up=0.3, p_down=0.1)
    gen = rng(6)
    first = np.array([tls.sample(1, gen)[0] for _ in range(4000)])
    assert abs(np.mean(first == 2.0) - 0.75) < 4.5 * math.sqrt(0.75 * 0.25 / 4000)


# ------------------------------------------------------------------------------------- bursts
def test_bursts_decay_exponentially_between_poisson_arrivals():
    b = Bursts(0.02, 3.0, decay=5.0, baseline=1.0)
    x = b.sample(50_000, rng(7))
    excess = x - 1.0
    a = math.exp(-1 / 5.0)
    assert b.decay_factor == pytest.approx(a)
    # excess[t+1] = a excess[t] + height * (arrivals at t+1): the innovations are whole bursts.
    arrivals = (excess[1:] - a * excess[:-1]) / 3.0
    np.testing.assert_allclose(arrivals, np.round(arrivals), atol=1e-9)
    counts = np.round(arrivals)
    assert counts.min() >= 0
    n = counts.size
    assert abs(counts.sum() - 0.02 * n) < 4.5 * math.sqrt(0.02 * n)  # Poisson count
    # A burst is followed by pure decay: look at one isolated burst.
    t0 = int(np.flatnonzero(counts)[0]) + 1
    if counts[t0 : t0 + 5].sum() == 0:
        np.testing.assert_allclose(excess[t0 : t0 + 5], excess[t0 - 1] * a ** np.arange(1, 6))


def test_bursts_stationary_start_and_mean():
    b = Bursts(0.1, 2.0, decay=5.0)
    a = b.decay_factor
    assert b.stationary_mean == pytest.approx(1 + 0.1 * 2.0 / (1 - a))
    var = 0.1 * 2.0**2 / (1 - a * a)  # shot noise with Poisson arrivals, fixed heights
    gen = rng(8)
    first = np.array([b.sample(1, gen)[0] for _ in range(4000)])
    assert abs(first.mean() - b.stationary_mean) < 4.5 * math.sqrt(var / first.size)
    assert abs(first.var() - var) < 0.15 * var


def test_bursts_random_heights_mean():
    b = Bursts(0.05, 2.0, decay=3.0, baseline=0.5, random_height=True)
    x = b.sample(100_000, rng(9))
    a = b.decay_factor
    var = 0.05 * 2 * 2.0**2 / (1 - a * a)  # E[h^2] = 2 h^2 for exponential heights
    se = math.sqrt(var / x.size * (1 + a) / (1 - a))
    assert abs(x.mean() - b.stationary_mean) < 4.5 * se
    assert np.unique(np.round(x, 9)).size > 100  # heights vary


def test_bursts_with_zero_rate_is_baseline():
    np.testing.assert_array_equal(Bursts(0.0, 5.0, decay=2.0, baseline=1.2).sample(7, rng()), 1.2)


# ------------------------------------------------------------------- deterministic processes
def test_sinusoid_values_and_random_phase():
    x = Sinusoid(0.5, 8, phase=0.3, offset=2.0).sample(16, rng())
    t = np.arange(16)
    np.testing.assert_allclose(x, 2.0 + 0.5 * np.sin(2 * np.pi * t / 8 + 0.3))
    y = Sinusoid(0.5, 8, random_phase=True).sample(16, rng(1))
    assert np.all(np.abs(y - 1.0) <= 0.5 + 1e-12)
    assert not np.allclose(y, Sinusoid(0.5, 8).sample(16, rng(1)))


def test_step_and_ramp_values():
    assert Step(2, 3.0, before=0.5).sample(4, rng()).tolist() == [0.5, 0.5, 3.0, 3.0]
    assert Step(0, 2.0).sample(2, rng()).tolist() == [2.0, 2.0]
    x = Ramp(2.0, 1.0, duration=4, begin=1).sample(7, rng())
    np.testing.assert_allclose(x, [2.0, 2.0, 1.75, 1.5, 1.25, 1.0, 1.0])


def test_replay_modes():
    trace = [1.0, 2.0, 4.0]
    assert Replay(trace).sample(7, rng()).tolist() == [1.0, 2.0, 4.0, 1.0, 2.0, 4.0, 1.0]
    assert Replay(trace, mode="hold").sample(5, rng()).tolist() == [1.0, 2.0, 4.0, 4.0, 4.0]
    np.testing.assert_allclose(
        Replay(trace, steps_per_value=2).sample(7, rng()), [1.0, 1.5, 2.0, 3.0, 4.0, 2.5, 1.0]
    )
    np.testing.assert_allclose(
        Replay(np.array(trace), steps_per_value=0.5).sample(3, rng()), [1.0, 4.0, 2.0]
    )
    shifted = Replay(trace, random_start=True).sample(30, rng(3))
    assert shifted.min() >= 1.0 and shifted.max() <= 4.0
    assert Replay(np.array([1.0, 2.0])).values == (1.0, 2.0)


# ---------------------------------------------------------------------------------- composition
def test_sum_and_product_equal_sequential_draws():
    ou = OrnsteinUhlenbeck(0.1, 0.3)
    b = Bursts(0.1, 1.0, decay=3.0)
    gen = rng(11)
    expected_sum = ou.sample(100, gen) + b.sample(100, gen)
    np.testing.assert_array_equal((ou + b).sample(100, rng(11)), expected_sum)
    gen = rng(12)
    expected_product = ou.sample(100, gen) * b.sample(100, gen)
    np.testing.assert_array_equal((ou * b).sample(100, rng(12)), expected_product)


def test_operators_with_numbers_and_flattening():
    step = Step(1, 2.0)
    assert (step + 1).sample(2, rng()).tolist() == [2.0, 3.0]
    assert (1 + step).sample(2, rng()).tolist() == [2.0, 3.0]
    assert (3 * step).sample(2, rng()).tolist() == [3.0, 6.0]
    assert (step * 0.5).sample(2, rng()).tolist() == [0.5, 1.0]
    assert len((step + step + step).terms) == 3
    assert len(Product(step, Product(step, step)).terms) == 3
    assert Sum(step, 1.0) == Sum(step, Constant(1.0))
    with pytest.raises(TypeError):
        _ = step + "x"  # type: ignore[operator]
    with pytest.raises(ValueError, match="at least one"):
        Sum()


def test_zero_based_term_is_fine_inside_a_sum_but_not_alone():
    # Without bursts (rate 0 here, or between rare bursts) a zero-based term is exactly 0.
    with pytest.raises(ValueError, match="multiplier <= 0"):
        Bursts(0.0, 2.0, decay=2.0, baseline=0.0).sample(100, rng())
    bursts = Bursts(0.05, 2.0, decay=2.0, baseline=0.0)
    x = (Constant(1.0) + bursts).sample(100, rng())
    assert x.min() >= 1.0 and x.max() > 2.0


def test_clip():
    x = OrnsteinUhlenbeck(0.1, 0.5).clip(0.8, 1.25).sample(5000, rng(13))
    assert x.min() == pytest.approx(0.8) and x.max() == pytest.approx(1.25)
    assert isinstance(Constant(2.0).clip(high=1.0), Clip)
    with pytest.raises(ValueError, match="low < high"):
        Clip(Constant(1.0), low=2.0, high=1.0)
    with pytest.raises(TypeError, match="DriftProcess"):
        Clip(1.0, low=0.5)  # type: ignore[arg-type]


def test_random_level_is_log_uniform_and_constant_per_trajectory():
    levels = np.array([RandomLevel(1.0, 4.0).sample(5, rng(s)) for s in range(4000)])
    assert np.all(levels == levels[:, :1])  # one level per trajectory
    x = np.log(levels[:, 0]) / math.log(4.0)  # uniform on [0, 1] under the law
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert abs(x.mean() - 0.5) < 5 * math.sqrt(1 / 12 / x.size)
    assert abs((x < 0.25).mean() - 0.25) < 5 * math.sqrt(0.25 * 0.75 / x.size)
    assert RandomLevel(2.0, 2.0).sample(3, rng()).tolist() == [2.0, 2.0, 2.0]


def test_mixture_draws_one_component_per_trajectory_by_weight():
    mix = Mixture(Constant(1.0), Constant(3.0), 5.0, weights=(1.0, 3.0, 4.0))
    draws = np.array([mix.sample(4, rng(s)) for s in range(4000)])
    assert np.all(draws == draws[:, :1])
    for value, p in ((1.0, 1 / 8), (3.0, 3 / 8), (5.0, 4 / 8)):
        assert abs((draws[:, 0] == value).mean() - p) < 5 * math.sqrt(p * (1 - p) / len(draws))
    assert Mixture(Constant(2.0)).weights == (1.0,)  # equal weights by default
    # the component's own draws follow the choice on the same Generator
    ou = OrnsteinUhlenbeck(0.05, 0.1)
    gen = rng(7)
    gen.choice(1, p=[1.0])
    np.testing.assert_array_equal(Mixture(ou).sample(50, rng(7)), ou.sample(50, gen))


# --------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: Constant(0.0), "value"),
        (lambda: Constant(math.nan), "value"),
        (lambda: OrnsteinUhlenbeck(0.0, 0.1), "theta"),
        (lambda: OrnsteinUhlenbeck(math.nan, 0.1), "theta"),
        (lambda: OrnsteinUhlenbeck(0.1, -0.1), "sigma"),
        (lambda: OrnsteinUhlenbeck(0.1, 0.1, median=0.0), "median"),
        (lambda: OrnsteinUhlenbeck.from_stationary(0.1, 0.0), "correlation_steps"),
        (lambda: Sinusoid(1.0, 10), "amplitude"),
        (lambda: Sinusoid(0.1, 0.0), "period"),
        (lambda: RandomTelegraph(1.0, 2.0, p_up=1.5, p_down=0.1), "p_up"),
        (lambda: RandomTelegraph(1.0, 2.0, p_up=-0.1, p_down=0.1), "p_up"),
        (lambda: RandomTelegraph(0.0, 2.0, p_up=0.1, p_down=0.1), "low"),
        (lambda: RandomTelegraph(1.0, 2.0, p_up=0.0, p_down=0.0), "stationary"),
        (lambda: RandomTelegraph(1.0, 2.0, p_up=0.1, p_down=0.1, start="up"), "start"),
        (lambda: RandomTelegraph.from_dwell(1.0, 2.0, dwell_low=0.5, dwell_high=3), "dwell"),
        (lambda: Bursts(-0.1, 1.0, decay=1.0), "rate"),
        (lambda: Bursts(0.1, math.nan, decay=1.0), "height"),
        (lambda: Bursts(0.1, 1.0, decay=0.0), "decay"),
        (lambda: Bursts(0.1, 1.0, decay=math.inf), "decay"),
        (lambda: Step(-1, 2.0), "at"),
        (lambda: Step(1, -2.0), "level"),
        (lambda: Ramp(1.0, 2.0, duration=0), "duration"),
        (lambda: Ramp(0.0, 2.0, duration=3), "start"),
        (lambda: Replay([]), "non-empty"),
        (lambda: Replay(np.array([])), "non-empty"),
        (lambda: Replay([1.0, 0.0]), "index 1"),
        (lambda: Replay([1.0, -2.0]), "> 0"),
        (lambda: Replay([1.0, math.nan]), "finite"),
        (lambda: Replay([[1.0, 2.0]]), "1-D"),
        (lambda: Replay([1.0], mode="loop"), "mode"),
        (lambda: Replay([1.0], steps_per_value=0.0), "steps_per_value"),
        (lambda: RandomLevel(0.0, 2.0), "low"),
        (lambda: RandomLevel(2.0, 1.0), "low <= high"),
        (lambda: Mixture(), "at least one"),
        (lambda: Mixture(Constant(1.0), Constant(2.0), weights=(1.0,)), r"2 component\(s\) but 1 weight\(s\)"),
        (lambda: Mixture(Constant(1.0), Constant(2.0), weights=(1.0, 0.0)), r"weights\[1\]=0.0 must be > 0"),
        (lambda: Mixture.of_families([Constant(1.0)], []), "each with at least one"),
    ],
)
def test_validation_errors(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_mixture_misuse_is_a_type_error_that_shows_the_call():
    with pytest.raises(TypeError, match=r"weights=\(1, 3\)"):
        Mixture(Constant(1.0), Constant(2.0), weights=1.0)
    with pytest.raises(TypeError, match=r"of_families\(\[ou_a, ou_b\], \[telegraph\]\)"):
        Mixture.of_families(Constant(1.0), Constant(2.0))


def test_non_numbers_are_type_errors():
    with pytest.raises(TypeError):
        Constant("1.0")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Step(1.5, 2.0)  # type: ignore[arg-type]


def test_processes_are_frozen():
    ou = OrnsteinUhlenbeck(0.1, 0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ou.theta = 0.2  # type: ignore[misc]
    assert isinstance(ou, DriftProcess)


# ---------------------------------------------------------------------------------- field drift
def test_all_drift_equals_scaled():
    baseline = NoiseParams.uniform(2e-3).replace(idle_z=1e-4, p_loss=1e-3)
    process = OrnsteinUhlenbeck(0.1, 0.3)
    m = process.sample(50, rng(14))
    traj = noise_trajectory(baseline, process, n_steps=50, rng=rng(14))
    assert len(traj) == 50
    for noise, factor in zip(traj, m):
        expected = baseline.scaled(float(factor))
        for name, value in expected.as_dict().items():
            assert getattr(noise, name) == pytest.approx(value, rel=1e-12, abs=0)


def test_field_drift_touches_only_its_fields_and_multiplies_with_all():
    baseline = NoiseParams.uniform(1e-3).replace(p_loss=0.01)
    traj = noise_trajectory(
        baseline,
        {"p_loss": Step(1, 3.0), "all": Constant(2.0), "eta": Constant(4.0)},
        n_steps=2,
        rng=rng(),
    )
    assert [n.p_loss for n in traj] == pytest.approx([0.02, 0.06])
    assert [n.p2 for n in traj] == pytest.approx([0.002, 0.002])
    assert traj[0].eta == pytest.approx(2.0)
    only_meas = noise_trajectory(baseline, {"p_meas": Constant(5.0)}, n_steps=1, rng=rng())[0]
    assert only_meas == baseline.replace(p_meas=5e-3)


def test_clipping_keeps_noise_valid():
    baseline = NoiseParams(p2=0.5, idle_x=0.3, idle_y=0.3, idle_z=0.3, crosstalk_zz=0.4)
    traj = noise_trajectory(
        baseline, {"all": Constant(3.0), "crosstalk_xx": Constant(9.0)}, n_steps=2, rng=rng()
    )
    noise = traj[0]
    assert noise.p2 == 15 / 16  # DEPOLARIZE2 saturates at the fully depolarising 15/16
    assert noise.idle_x + noise.idle_y + noise.idle_z <= 1.0
    assert noise.idle_x == pytest.approx(1 / 3)
    assert noise.crosstalk_zz == pytest.approx(1.0)


def test_field_drift_is_order_independent_and_validated():
    a = FieldDrift({"p2": OrnsteinUhlenbeck(0.1, 0.2), "p_meas": Bursts(0.1, 1.0, decay=2.0)})
    b = FieldDrift({"p_meas": Bursts(0.1, 1.0, decay=2.0), "p2": OrnsteinUhlenbeck(0.1, 0.2)})
    assert a == b and hash(a) == hash(b) and a.keys == ("p2", "p_meas")
    base = NoiseParams.uniform(1e-3)
    assert a.trajectory(base, n_steps=20, rng=rng(1)) == b.trajectory(base, n_steps=20, rng=rng(1))
    assert FieldDrift(Constant(2.0)).keys == ("all",)
    assert FieldDrift(gates=Constant(2.0)).as_dict() == {"gates": Constant(2.0)}
    assert "all" in DRIFT_KEYS and "p_loss" in DRIFT_KEYS and "eta" in DRIFT_KEYS
    with pytest.raises(ValueError, match="unknown drift key 'p_lost'.*p_loss"):
        FieldDrift({"p_lost": Constant(1.0)})
    with pytest.raises(TypeError, match="DriftProcess"):
        FieldDrift({"p2": 2.0})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="at least one"):
        FieldDrift({})
    with pytest.raises(ValueError, match="twice"):
        FieldDrift({"p2": Constant(1.0)}, p2=Constant(2.0))


def test_group_keys():
    base = NoiseParams.sd6(3e-3).replace(crosstalk_zz=1e-4)
    noise = apply_multipliers(base, {"idle": 2.0, "gates": 0.5, "crosstalk": 3.0})
    assert noise.idle_x == pytest.approx(2e-3)
    assert (noise.p1, noise.p2) == pytest.approx((1.5e-3, 1.5e-3))
    assert noise.crosstalk_zz == pytest.approx(3e-4)
    assert noise.p_meas == base.p_meas
    with pytest.raises(ValueError, match="unknown drift key"):
        apply_multipliers(base, {"bogus": 1.0})
    with pytest.raises(ValueError, match="finite"):
        apply_multipliers(base, {"all": math.nan})


def test_noise_trajectory_reproducible_and_type_checked():
    drifts = {
        "all": OrnsteinUhlenbeck(0.05, 0.2),
        "p_meas": RandomTelegraph(1, 2, p_up=0.1, p_down=0.1),
    }
    base = NoiseParams.uniform(2e-3)
    t1 = noise_trajectory(base, drifts, n_steps=30, rng=rng(5))
    assert t1 == noise_trajectory(base, drifts, n_steps=30, rng=rng(5))
    assert t1 != noise_trajectory(base, drifts, n_steps=30, rng=rng(6))
    assert noise_trajectory(base, drifts, n_steps=0, rng=rng()) == []
    with pytest.raises(TypeError, match="NoiseParams"):
        noise_trajectory({"p2": 0.1}, drifts, n_steps=3, rng=rng())  # type: ignore[arg-type]


# ------------------------------------------------------------------ per-episode draws (recorded)
def test_draws_record_the_component_and_level_that_made_the_trajectory():
    m = Mixture(Constant(1.0), Constant(3.0), weights=(1.0, 3.0))
    seen = set()
    for seed in range(20):
        drawn = []
        x = m.sample(4, rng(seed), draws=drawn)
        (d,) = drawn
        assert d == {"process": "Mixture", "component": d["component"], "family": "Constant"}
        assert x.tolist() == [(1.0, 3.0)[d["component"]]] * 4  # the recorded component made it
        seen.add(d["component"])
    assert seen == {0, 1}
    drawn = []
    x = RandomLevel(1.0, 2.0).sample(3, rng(5), draws=drawn)
    assert drawn == [{"process": "RandomLevel", "level": float(x[0])}] and isinstance(drawn[0]["level"], float)


def test_draws_of_nested_processes_come_in_draw_order_with_family_labels():
    ou = OrnsteinUhlenbeck.from_stationary(0.2, 20).clip(0.5, 2.0)
    burst = Bursts(0.1, 2.0, decay=3.0, baseline=0.0)
    inner = Mixture((ou + burst) * Sinusoid(0.2, 10), 2.0 + burst, 3.0 * RandomLevel(1.0, 2.0))
    process = (RandomLevel(1.5, 3.0) * inner).clip(0.1, 20.0)
    families = set()
    for seed in range(30):
        drawn = []
        process.sample(5, rng(seed), draws=drawn)
        assert drawn[0]["process"] == "RandomLevel" and 1.5 <= drawn[0]["level"] <= 3.0
        assert drawn[1]["process"] == "Mixture"
        family = ("(OrnsteinUhlenbeck + Bursts) * Sinusoid", "Bursts", "RandomLevel")[drawn[1]["component"]]
        assert drawn[1]["family"] == family
        assert len(drawn) == (3 if family == "RandomLevel" else 2)  # the chosen component's own draw last
        families.add(family)
    assert len(families) == 3


@pytest.mark.parametrize("process", [
    Mixture(OrnsteinUhlenbeck.from_stationary(0.3, 10), RandomLevel(1.0, 4.0) * Sinusoid(0.2, 7, random_phase=True)),
    (RandomLevel(1.5, 3.0) * Mixture(Step(2, 2.0), Bursts(0.2, 2.0, decay=2.0))).clip(0.5, 9.0),
])
def test_recording_draws_changes_neither_the_trajectory_nor_the_stream(process):
    a, b = rng(11), rng(11)
    plain = process.sample(30, a)
    recorded = process.sample(30, b, draws=[])
    np.testing.assert_array_equal(plain, recorded)
    assert a.random() == b.random()  # the same numbers were consumed


def test_draws_must_be_a_list_and_fielddrift_fills_a_dict_per_key():
    with pytest.raises(TypeError, match="draws must be a list"):
        RandomLevel(1.0, 2.0).sample(2, rng(), draws={})
    with pytest.raises(TypeError, match="draws must be a dict"):
        FieldDrift({"p2": RandomLevel(1.0, 2.0)}).sample(2, rng(), draws=[])
    drawn = {}
    out = FieldDrift({"p2": RandomLevel(1.0, 2.0), "p_meas": Step(1, 2.0)}).sample(2, rng(), draws=drawn)
    assert list(drawn) == ["p2"] and drawn["p2"][0]["level"] == out["p2"][0]  # keys that drew nothing are left out
    drawn = {}
    traj = noise_trajectory(NoiseParams.uniform(1e-3), RandomLevel(2.0, 2.0), n_steps=2, rng=rng(), draws=drawn)
    assert drawn == {"all": [{"process": "RandomLevel", "level": 2.0}]} and traj[0].p2 == pytest.approx(2e-3)
