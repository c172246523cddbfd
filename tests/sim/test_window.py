import dataclasses

import numpy as np
import pymatching
import pytest
import stim

from qec_gym.codes import CodeSpec
from qec_gym.noise import NoiseParams
from qec_gym.sim import SimulationCache, per_round, simulate_window
from qec_gym.sim.stats import difference_ci


def _window(seed, **kw):
    kw.setdefault("shots", 500)
    return simulate_window(
        CodeSpec("rotated_surface", 3), NoiseParams.uniform(4e-3), rng=np.random.default_rng(seed), **kw
    )


def test_same_seed_bit_identical():
    cache = SimulationCache()
    a, b = _window(5, cache=cache, keep_events=True), _window(5, keep_events=True)
    assert a == b
    assert np.array_equal(a.detection_events, b.detection_events)
    for f in dataclasses.fields(a):
        if f.compare:
            assert getattr(a, f.name) == getattr(b, f.name)
    assert _window(6, keep_events=True).detection_events.tobytes() != a.detection_events.tobytes()


def test_cache_hits_and_saves_compile_time():
    cache = SimulationCache()
    _window(1, cache=cache)
    first = cache.info()
    _window(2, cache=cache)
    second = cache.info()
    assert first.misses == 3  # circuit, compiled decoder, detector layout
    assert second.misses == first.misses and second.hits == first.hits + 3
    assert second.saved_seconds > 0


def test_nearby_noise_shares_the_cache_through_quantisation():
    cache = SimulationCache()
    spec = CodeSpec("repetition", 3)
    # Quantising is the caller's choice (the envs' circuit backend); the default is exact.
    simulate_window(spec, NoiseParams.uniform(1.0000e-3), shots=10, rng=np.random.default_rng(0), cache=cache,
                    bins_per_decade=64)
    misses = cache.info().misses
    simulate_window(spec, NoiseParams.uniform(1.0001e-3), shots=10, rng=np.random.default_rng(0), cache=cache,
                    bins_per_decade=64)
    assert cache.info().misses == misses


def test_statistics_are_consistent():
    w = _window(3, shots=2000, keep_events=True)
    dets = w.detection_events
    assert w.detection_rate == pytest.approx(dets.mean())
    assert len(w.detection_rate_by_round) == w.rounds + 1
    assert 0 < w.detection_rate_z and 0 < w.detection_rate_x
    assert w.resources.qubits == 17
    assert w.logical_error_per_round == pytest.approx(per_round(w.errors / 2000, 3))
    lo, hi = w.ci_per_round()
    assert lo <= w.logical_error_per_round <= hi


def test_mismatched_decoder_priors_cost_logical_errors():
    # MWPM is nearly blind to a uniform rescaling of all rates (weights shift together); what a
    # stale calibration costs is a wrong *mixture*: data-heavy noise decoded as measurement-heavy.
    cache = SimulationCache()
    spec = CodeSpec("rotated_surface", 5)
    true = NoiseParams(p_dephase=0.03, p_meas=0.002)
    stale = NoiseParams(p_dephase=0.002, p_meas=0.03)
    kw = dict(shots=4000, cache=cache)
    bad = simulate_window(spec, true, assumed_noise=stale, rng=np.random.default_rng(1), **kw)
    good = simulate_window(spec, true, rng=np.random.default_rng(1), **kw)
    assert good.ci(0.99)[1] < bad.ci(0.99)[0]


def test_logical_error_matches_stim_directly_small():
    """Same circuit and seed as stim+pymatching run by hand -> the same count."""
    spec = CodeSpec("rotated_surface", 3)
    w = simulate_window(spec, NoiseParams.uniform(5e-3), shots=5000, rng=np.random.default_rng(9), bins_per_decade=None)
    circuit = stim.Circuit.generated(
        "surface_code:rotated_memory_x", distance=3, rounds=3, after_clifford_depolarization=5e-3,
        after_reset_flip_probability=5e-3, before_measure_flip_probability=5e-3, before_round_data_depolarization=5e-3,
    )
    m = pymatching.Matching.from_detector_error_model(circuit.detector_error_model(decompose_errors=True))
    dets, obs = circuit.compile_detector_sampler(seed=123).sample(20000, separate_observables=True)
    direct = int(np.any(m.decode_batch(dets) != obs, axis=1).sum())
    lo, hi = difference_ci(w.errors, w.shots, direct, 20000, confidence=0.99)
    assert lo <= 0 <= hi


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(shots=0), ValueError, "shots"),
        (dict(shots=-5), ValueError, "shots"),
        (dict(shots=10, decoder="nope"), ValueError, "unknown decoder"),
        (dict(shots=10, rng=1), TypeError, "Generator"),
        (dict(shots=10, assumed_noise=0.1), TypeError, "assumed_noise"),
    ],
)
def test_bad_input(kwargs, exc, match):
    kwargs.setdefault("rng", np.random.default_rng(0))
    with pytest.raises(exc, match=match):
        simulate_window(CodeSpec("repetition", 3), NoiseParams.uniform(1e-3), **kwargs)


def test_matching_on_color_code_is_a_clear_error():
    with pytest.raises(ValueError, match="hypergraph decoder"):
        simulate_window(CodeSpec("color", 5), NoiseParams.uniform(1e-3), shots=10, rng=np.random.default_rng(0))


@pytest.mark.slow
@pytest.mark.parametrize("d", [3, 5])
def test_agreement_with_stim_generated_circuit(d):
    """Acceptance: simulate_window == stim's rotated_memory_x + pymatching, 10^5 shots each."""
    p, shots = 5e-3, 100_000
    w = simulate_window(CodeSpec("rotated_surface", d), NoiseParams.uniform(p), shots=shots,
                        rng=np.random.default_rng(2024), bins_per_decade=None)
    circuit = stim.Circuit.generated(
        "surface_code:rotated_memory_x", distance=d, rounds=d, after_clifford_depolarization=p,
        after_reset_flip_probability=p, before_measure_flip_probability=p, before_round_data_depolarization=p,
    )
    m = pymatching.Matching.from_detector_error_model(circuit.detector_error_model(decompose_errors=True))
    dets, obs = circuit.compile_detector_sampler(seed=77).sample(shots, separate_observables=True)
    direct = int(np.any(m.decode_batch(dets) != obs, axis=1).sum())
    # the 99% interval of the difference of two independent binomial rates contains 0
    lo, hi = difference_ci(w.errors, shots, direct, shots, confidence=0.99)
    assert lo <= 0 <= hi, (w.errors, direct)
