"""Two-point-correlation DEM estimation against the true DEM (independently built by stim)."""

from __future__ import annotations

import numpy as np
import pytest
import stim

from qec_gym.codes import CodeSpec, build_circuit
from qec_gym.decoders import get_decoder
from qec_gym.monitor.estimate import SyndromeEstimator, dem_edges, edge_functional
from qec_gym.noise import NoiseParams
from qec_gym.sim.cache import detector_error_model
from qec_gym.sim.stats import binomial_ci

DEC = get_decoder("pymatching")


def _dem(spec, noise):
    circuit = build_circuit(spec, noise)
    return circuit, detector_error_model(circuit, DEC, spec)


def _errors(dem, dets, obs) -> int:
    return int(np.count_nonzero(np.any(DEC.compile(dem).decode_batch(dets) != obs, axis=1)))


def _check(distance: int, shots: int, seed: int) -> None:
    spec = CodeSpec("rotated_surface", distance)
    base = NoiseParams.sd6(3e-3)
    circuit, true_dem = _dem(spec, base.replace(p_meas=1e-2))  # measurement-error excess
    _, nominal_dem = _dem(spec, base)  # the structure and nominal priors the control system has
    dets, _ = circuit.compile_detector_sampler(seed=seed).sample(shots, separate_observables=True)
    est = SyndromeEstimator(nominal_dem, window_shots=shots)
    est.update(dets)
    e = est.estimate()
    truth = edge_functional(true_dem, e.edges)
    large = truth > 1e-3
    z = (e.probability[large] - truth[large]) / e.stderr[large]
    # 99% intervals: coverage near 99% (binomial slack for ~100-500 edges), no gross outlier
    assert np.mean(np.abs(z) < 2.576) >= 0.95, np.sort(np.abs(z))[-10:]
    assert np.abs(z).max() < 5.5
    # decoding: estimated priors within the CI of the true priors; both beat the nominal priors
    test_dets, test_obs = circuit.compile_detector_sampler(seed=seed + 1).sample(shots, separate_observables=True)
    n_true = _errors(true_dem, test_dets, test_obs)
    n_est = _errors(est.reweighted_dem(), test_dets, test_obs)
    lo, hi = binomial_ci(n_true, shots)
    assert lo * shots <= n_est <= hi * shots, (n_true, n_est)

    # a drift: measurement errors grow 10x (readout degradation); priors from before it are stale
    drifted, drifted_dem = _dem(spec, base.replace(p_meas=1e-1))
    d2, _ = drifted.compile_detector_sampler(seed=seed + 2).sample(shots, separate_observables=True)
    est.update(d2)  # the window slides onto the drifted shots only
    assert est.shots == shots
    t2, o2 = drifted.compile_detector_sampler(seed=seed + 3).sample(shots, separate_observables=True)
    n_stale = _errors(true_dem, t2, o2)
    n_fresh = _errors(est.reweighted_dem(), t2, o2)
    n_oracle = _errors(drifted_dem, t2, o2)
    stale_lo, _ = binomial_ci(n_stale, shots)
    _, fresh_hi = binomial_ci(n_fresh, shots)
    assert fresh_hi < stale_lo, (n_fresh, n_stale, n_oracle)
    lo, hi = binomial_ci(n_oracle, shots)
    assert lo * shots <= n_fresh <= hi * shots, (n_fresh, n_oracle)


def test_estimation_small():
    _check(distance=3, shots=40_000, seed=11)


@pytest.mark.slow
def test_estimation_d5_1e5_shots():
    _check(distance=5, shots=100_000, seed=21)


def test_pair_formula_is_exact_on_a_hand_built_dem():
    # three independent mechanisms: D0 alone (a), D1 alone (b), D0 D1 together (c)
    dem = stim.DetectorErrorModel("error(0.1) D0\nerror(0.2) D1\nerror(0.05) D0 D1 L0")
    e = dem_edges(dem)
    assert e.edges.tolist() == [[0, -1], [1, -1], [0, 1]]
    np.testing.assert_allclose(edge_functional(dem, e.edges), [0.1, 0.2, 0.05])
    est = SyndromeEstimator(dem, window_shots=400_000, groups=10)
    est.update(dem.compile_sampler(seed=3).sample(400_000)[0])
    got = est.estimate()
    assert np.all(np.abs(got.probability - [0.1, 0.2, 0.05]) < 4 * got.stderr)
    assert np.all(got.stderr < 2e-3)


def test_bad_input():
    dem = stim.DetectorErrorModel("error(0.1) D0 D1 D2")
    with pytest.raises(ValueError, match="decompose_errors=True"):
        SyndromeEstimator(dem, window_shots=10)
    est = SyndromeEstimator(stim.DetectorErrorModel("error(0.1) D0 D1"), window_shots=10)
    with pytest.raises(ValueError, match=r"shape \(shots, 2\)"):
        est.update(np.zeros((5, 3), dtype=bool))
    with pytest.raises(ValueError, match="at least 2 x block_shots"):
        est.estimate()
    with pytest.raises(ValueError, match="window_shots"):
        SyndromeEstimator(dem, window_shots=0)


def test_optimal_window_minimises_the_error_of_a_drifting_rate():
    """Monte Carlo, independent of the formula: the sliding-window estimate of a drifting rate has
    least mean squared error near `optimal_window_shots`, and longer/shorter windows do worse."""
    import numpy as np

    from qec_gym.monitor.estimate import optimal_window_shots

    p_now, r = 0.05, 2e-5  # p(t) = p_now * exp(r (t - now)): the window looks back in time
    n_star = optimal_window_shots(p_now, r)
    assert abs(n_star - (2 / (p_now * r**2)) ** (1 / 3)) <= 500
    rng = np.random.default_rng(0)
    reps, blocks = 20_000, 64

    def mse(n):
        ages = (np.arange(blocks) + 0.5) * n / blocks  # shots before now, per block
        counts = rng.binomial(n // blocks, p_now * np.exp(-r * ages), size=(reps, blocks)).sum(axis=1)
        return np.mean((counts / (n // blocks * blocks) - p_now) ** 2)

    grid = [n_star // 4, n_star // 2, n_star, 2 * n_star, 4 * n_star]
    errors = [mse(n) for n in grid]
    assert int(np.argmin(errors)) in (1, 2, 3)
    assert errors[0] > 1.3 * errors[2] and errors[4] > 1.3 * errors[2]
    with pytest.raises(ValueError, match="drift_per_shot"):
        optimal_window_shots(0.01, 0.0)
