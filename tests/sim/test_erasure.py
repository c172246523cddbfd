"""Heralded erasure: record rewriting, per-shot erasure decoding, and its gain (qec_gym.sim.erasure)."""

import numpy as np
import pymatching
import pytest
import stim

from qec_gym.codes import CodeSpec, build_circuit
from qec_gym.noise import NoiseParams
from qec_gym.noise.physical import HardwareParams
from qec_gym.sim.erasure import HeraldedMatching, heralded_circuit, simulate_heralded

NOISE = HardwareParams.photonic().to_noise().replace(p_loss=0.06)


def _symptoms(dem, keep=None):
    out = set()
    for inst in dem.flattened():
        if inst.type == "error":
            dets = frozenset(t.val for t in inst.targets_copy() if t.is_relative_detector_id() and (keep is None or t.val in keep))
            obs = frozenset(t.val for t in inst.targets_copy() if t.is_logical_observable_id())
            if keep is not None:
                dets = frozenset(keep[d] for d in dets)
            if dets or obs:
                out.add((dets, obs))
    return out


@pytest.mark.parametrize("family,d", [("rotated_surface", 3), ("xzzx", 3), ("repetition", 4), ("color", 3)])
def test_heralds_keep_every_detector_and_observable_intact(family, d):
    spec = CodeSpec(family, d)
    plain = build_circuit(spec, NOISE)
    h = heralded_circuit(spec, NOISE)
    assert len(h.syndrome_detectors) == plain.num_detectors
    assert len(h.herald_detectors) == len(h.locations) == spec.rounds * len({q for _, q in h.locations})
    coords, new_coords = plain.get_detector_coordinates(), h.circuit.get_detector_coordinates()
    assert [coords[i] for i in range(plain.num_detectors)] == [new_coords[int(j)] for j in h.syndrome_detectors]
    # same error mechanisms once the herald detectors are marginalised out
    keep = {int(j): i for i, j in enumerate(h.syndrome_detectors)}
    a = _symptoms(plain.detector_error_model(approximate_disjoint_errors=True))
    b = _symptoms(h.circuit.detector_error_model(approximate_disjoint_errors=True), keep)
    assert a == b


def test_heralds_fire_at_the_loss_rate():
    spec = CodeSpec("rotated_surface", 3)
    h = heralded_circuit(spec, NOISE)
    dets = h.circuit.compile_detector_sampler(seed=1).sample(4000)
    rate = dets[:, h.herald_detectors].mean()
    assert rate == pytest.approx(NOISE.p_loss, rel=0.1)
    with pytest.raises(ValueError, match="p_loss"):
        heralded_circuit(spec, NOISE.replace(p_loss=0.0))


def test_per_shot_weights_are_restored():
    spec = CodeSpec("rotated_surface", 3)
    h = heralded_circuit(spec, NOISE)
    dem = build_circuit(spec, NOISE).detector_error_model(decompose_errors=True, approximate_disjoint_errors=True)
    m = HeraldedMatching(h, dem)
    assert m.added_edges == 0  # every erasure edge is an edge of the unheralded graph
    before = sorted(m._matching.edges(), key=str)
    dets = h.circuit.compile_detector_sampler(seed=2).sample(300)
    syn, her = dets[:, h.syndrome_detectors], dets[:, h.herald_detectors]
    m.decode_batch(syn, her)
    assert sorted(m._matching.edges(), key=str) == before
    fresh = pymatching.Matching.from_detector_error_model(dem)
    assert np.array_equal(m._matching.decode_batch(syn), fresh.decode_batch(syn))


def test_heralding_lowers_the_logical_error():
    r = simulate_heralded(CodeSpec("rotated_surface", 3), NOISE, shots=6000, rng=np.random.default_rng(3))
    assert r.errors_heralded * 2 < r.errors_unheralded
    lo, hi = r.ci_per_round(True)
    assert lo <= r.per_round(True) <= hi < r.ci_per_round(False)[0]
    assert r.mean_losses == pytest.approx(9 * 3 * NOISE.p_loss, rel=0.1)


def test_unheralded_decoding_matches_the_plain_simulation():
    """Decoding the heralded samples without heralds is the project's usual loss model."""
    from qec_gym.sim import simulate_window

    spec, noise = CodeSpec("rotated_surface", 3), NoiseParams.uniform(2e-3).replace(p_loss=0.04)
    r = simulate_heralded(spec, noise, shots=20_000, rng=np.random.default_rng(4))
    w = simulate_window(spec, noise, shots=20_000, rng=np.random.default_rng(5), bins_per_decade=None)
    # two independent binomial samples of the same rate
    diff = abs(r.errors_unheralded - w.errors)
    assert diff < 4 * np.sqrt(r.errors_unheralded + w.errors), (r.errors_unheralded, w.errors)


def _fully_depolarised_at(spec, noise, location):
    """The unheralded circuit (losses off) with DEPOLARIZE1(3/4), a fully depolarised qubit, inserted
    by hand at one round start: an independent construction of an erased location's edges."""
    from qec_gym.codes.templates import ROUND_DATA_TAG

    target_round, target_qubit = location
    out, seen = stim.Circuit(), -1
    for inst in build_circuit(spec, noise.replace(p_loss=0.0)).flattened():
        out.append(inst)
        if inst.name == "I" and inst.tag == ROUND_DATA_TAG:
            seen += 1
            if seen == target_round:
                out.append("DEPOLARIZE1", [target_qubit], 0.75)
    return out


@pytest.mark.parametrize("family,d", [("rotated_surface", 3), ("xzzx", 3), ("repetition", 4), ("rotated_surface", 5)])
def test_erased_edges_match_a_fully_depolarised_qubit(family, d):
    """Every edge of an erased qubit gets probability exactly 1/2 (weight 0): the X, Y, Z of a
    fully depolarised qubit are exclusive (the old code gave 0.375 or 0.25)."""
    spec = CodeSpec(family, d, rounds=3)
    noise = NoiseParams(p_loss=0.05, p_meas=1e-3, p2=1e-3)
    h = heralded_circuit(spec, noise)
    dem = build_circuit(spec, noise).detector_error_model(decompose_errors=True, approximate_disjoint_errors=True)
    m = HeraldedMatching(h, dem)
    rng = np.random.default_rng(0)
    for k in rng.choice(len(h.locations), size=6, replace=False):
        loc = h.locations[k]
        lone = pymatching.Matching.from_detector_error_model(
            _fully_depolarised_at(spec, NoiseParams(), loc).detector_error_model(decompose_errors=True)
        )
        expected = {}
        for a, b, data in lone.edges():
            if data["error_probability"] > 0:
                assert data["error_probability"] == pytest.approx(0.5, abs=1e-12)
                key = (a, None) if b is None else (min(a, b), max(a, b))
                expected[key] = frozenset(data["fault_ids"])
        got = {key: obs for key, obs, q in m._edges[k]}
        assert got == expected, loc
        assert all(q == 0.5 for _, _, q in m._edges[k])
