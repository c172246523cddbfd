"""Heralded erasure: record rewriting, per-shot erasure decoding, and its gain (qec_gym.sim.erasure)."""

import numpy as np
import pymatching
import pytest
import stim

from qec_gym.codes import CodeSpec, build_circuit
from qec_gym.noise import NoiseParams
from qec_gym.noise.physical import HardwareParams
from qec_gym.sim.erasure import HeraldedMatching, background_dem, heralded_circuit, simulate_heralded

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
    # every photon once per round it lives through, and each data photon once more at its readout
    qubits = {q for _, q, _ in h.locations}
    data = {q for _, q, where in h.locations if where == "data"}
    assert len(h.herald_detectors) == len(h.locations) == spec.rounds * len(qubits) + len(data)
    assert {(r, q) for r, q, w in h.locations if w == "measure" and q in data} == {(spec.rounds, q) for q in data}
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
    dem = background_dem(spec, NOISE)
    m = HeraldedMatching(h, dem)
    assert m.added_edges == 0  # every erasure edge is an edge of the background graph
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
    # 9 data photons x (3 rounds + readout) and 8 ancilla photons x 3 rounds
    assert r.mean_losses == pytest.approx((9 * 4 + 8 * 3) * NOISE.p_loss, rel=0.1)


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
    by hand at one location: after round ``r``'s start marker on a data qubit, or just before the
    measurement of qubit ``q`` in round ``r`` (``r = rounds``: the final data readout). An
    independent construction of an erased location's edges."""
    from qec_gym.codes.templates import ROUND_DATA_TAG, data_qubits

    target_round, target_qubit, where = location
    flat = build_circuit(spec, noise.replace(p_loss=0.0)).flattened()
    data = data_qubits(flat)
    out, seen = stim.Circuit(), -1
    for inst in flat:
        measured = [t.value for t in inst.targets_copy()] if stim.gate_data(inst.name).produces_measurements else []
        if where == "measure" and target_qubit in measured:
            if (seen + 1 if target_qubit in data else seen) == target_round:
                out.append("DEPOLARIZE1", [target_qubit], 0.75)
        out.append(inst)
        if inst.name == "I" and inst.tag == ROUND_DATA_TAG:
            seen += 1
            if where == "data" and seen == target_round:
                out.append("DEPOLARIZE1", [target_qubit], 0.75)
    return out


@pytest.mark.parametrize("family,d", [("rotated_surface", 3), ("xzzx", 3), ("repetition", 4), ("rotated_surface", 5)])
def test_erased_edges_match_a_fully_depolarised_qubit(family, d):
    """Every edge of an erased qubit gets probability exactly 1/2 (weight 0): the X, Y, Z of a
    fully depolarised qubit are exclusive (the old code gave 0.375 or 0.25)."""
    spec = CodeSpec(family, d, rounds=3)
    noise = NoiseParams(p_loss=0.05, p_meas=1e-3, p2=1e-3)
    h = heralded_circuit(spec, noise)
    m = HeraldedMatching(h, background_dem(spec, noise))
    rng = np.random.default_rng(0)
    kinds = np.array([w for _, _, w in h.locations])
    picks = [*rng.choice(np.flatnonzero(kinds == "data"), size=3, replace=False),
             *rng.choice(np.flatnonzero(kinds == "measure"), size=4, replace=False)]
    for k in picks:
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


def test_loss_insertion_matches_a_hand_written_circuit():
    """Independent construction: the d=3 bit-flip repetition memory (2 rounds) written by hand with
    loss on every photon (data at each round start, ancillas and the data readout just before
    measurement), unheralded (twirl) and heralded (HERALDED_ERASE), against the library's."""
    p = 0.08
    spec, noise = CodeSpec("repetition", 3, rounds=2), NoiseParams(p_loss=p)

    def hand(loss):
        c, n = stim.Circuit(), [0]  # n[0]: measurement records so far (heralds included)
        rec = lambda k: stim.target_rec(k - n[0])  # noqa: E731 (absolute record k)

        def measure(name, qs):
            c.append(name, qs)
            n[0] += len(qs)
            return list(range(n[0] - len(qs), n[0]))

        c.append("R", [0, 1, 2, 3, 4])
        c.append("TICK")
        prev = None
        for _ in range(2):
            n[0] += loss(c, [0, 2, 4])
            c.append("CX", [0, 1, 2, 3])
            c.append("TICK")
            c.append("CX", [2, 1, 4, 3])
            c.append("TICK")
            n[0] += loss(c, [1, 3])
            a = measure("MR", [1, 3])
            for j in range(2):
                c.append("DETECTOR", [rec(a[j])] + ([rec(prev[j])] if prev else []))
            prev = a
        n[0] += loss(c, [0, 2, 4])
        d = measure("M", [0, 2, 4])
        c.append("DETECTOR", [rec(d[0]), rec(d[1]), rec(prev[0])])
        c.append("DETECTOR", [rec(d[1]), rec(d[2]), rec(prev[1])])
        c.append("OBSERVABLE_INCLUDE", [rec(d[2])], 0)
        return c

    twirl = hand(lambda c, qs: c.append("PAULI_CHANNEL_1", qs, [p / 4] * 3) or 0)

    def erase(c, qs):  # returns the records it adds
        c.append("HERALDED_ERASE", qs, p)
        for k in range(len(qs)):
            c.append("DETECTOR", [stim.target_rec(k - len(qs))], [-1])
        return len(qs)

    mine = heralded_circuit(spec, noise)
    by_hand = hand(erase)
    # same syndrome/herald structure: marginalise each DEM onto (syndrome symptoms, herald count)
    def shape(circuit, herald_ids):
        out = {}
        for inst in circuit.detector_error_model(approximate_disjoint_errors=True).flattened():
            if inst.type != "error":
                continue
            ts = inst.targets_copy()
            key = (frozenset(t.val for t in ts if t.is_relative_detector_id() and t.val not in herald_ids),
                   frozenset(t.val for t in ts if t.is_logical_observable_id()),
                   sum(t.is_relative_detector_id() and t.val in herald_ids for t in ts))
            out[key] = out.get(key, 0) + inst.args_copy()[0]
        return out

    # unheralded: the same error mechanisms with the same probabilities
    want, got = shape(twirl, set()), shape(build_circuit(spec, noise), set())
    assert got.keys() == want.keys() and len(want) == 13
    assert all(got[k] == pytest.approx(want[k], abs=1e-12) for k in want)

    hand_heralds = {i for i, c in by_hand.get_detector_coordinates().items() if c and c[0] == -1}
    hand_syndrome = sorted(set(range(by_hand.num_detectors)) - hand_heralds)
    relabel = dict(zip(hand_syndrome, range(len(hand_syndrome))))
    got = shape(mine.circuit, set(mine.herald_detectors.tolist()))
    got = {(frozenset(int(np.flatnonzero(mine.syndrome_detectors == d)[0]) for d in k[0]), k[1], k[2]): v for k, v in got.items()}
    want = {(frozenset(relabel[d] for d in k[0]), k[1], k[2]): v for k, v in shape(by_hand, hand_heralds).items()}
    assert got.keys() == want.keys()
    assert all(got[k] == pytest.approx(want[k], abs=1e-12) for k in want)
    assert len(mine.herald_detectors) == len(hand_heralds) == 2 * 5 + 3


def _without_heralded_erasures(h):
    """The heralded circuit with every HERALDED_ERASE deleted (its herald detectors then never fire):
    the process conditioned on no loss anywhere, built by circuit surgery, not by `build_circuit`."""
    out = stim.Circuit()
    for inst in h.circuit:
        if inst.name == "HERALDED_ERASE":
            out.append("MPAD", [0] * len(inst.targets_copy()))  # keep the herald records in place
        else:
            out.append(inst)
    return out


@pytest.mark.parametrize("family,d", [("rotated_surface", 3), ("xzzx", 3), ("repetition", 5)])
def test_background_priors_are_the_noise_given_no_herald(family, d):
    """Without heralds in a shot the decoder's graph must be the DEM of everything but the losses
    (an unerased location was not lost); the old code used the loss-twirled DEM."""
    spec = CodeSpec(family, d)
    h = heralded_circuit(spec, NOISE)
    m = HeraldedMatching(h, background_dem(spec, NOISE))
    to_base = {int(d): i for i, d in enumerate(h.syndrome_detectors)}
    ref = pymatching.Matching.from_detector_error_model(
        _without_heralded_erasures(h).detector_error_model(decompose_errors=True, approximate_disjoint_errors=True))
    expected = {}
    for a, b, data in ref.edges():
        if data["error_probability"] > 0:
            a = to_base[a]
            b = None if b is None else to_base[b]
            expected[(a, None) if b is None else (min(a, b), max(a, b))] = data["error_probability"]
    got = {}
    for a, b, data in m._matching.edges():
        if data["error_probability"] > 1e-8:
            got[(a, None) if b is None else (min(a, b), max(a, b))] = data["error_probability"]
    assert got.keys() == expected.keys()
    for key, q in expected.items():
        assert got[key] == pytest.approx(q, rel=1e-9), key


def test_loss_free_background_beats_the_loss_inflated_one():
    """The example that found the fault: photonic preset, d = 3, 10% loss per round, paired shots.
    Priors that still count the loss at unerased locations fail far more often."""
    spec, noise = CodeSpec("rotated_surface", 3), HardwareParams.photonic().to_noise().replace(p_loss=0.10)
    h = heralded_circuit(spec, noise)
    right = HeraldedMatching(h, background_dem(spec, noise))
    inflated = HeraldedMatching(h, build_circuit(spec, noise).detector_error_model(
        decompose_errors=True, approximate_disjoint_errors=True))
    dets, obs = h.circuit.compile_detector_sampler(seed=1).sample(10_000, separate_observables=True)
    syn, her = dets[:, h.syndrome_detectors], dets[:, h.herald_detectors]
    fail_right = np.any(right.decode_batch(syn, her) != obs, axis=1)
    fail_inflated = np.any(inflated.decode_batch(syn, her) != obs, axis=1)
    only_inflated = int(np.count_nonzero(fail_inflated & ~fail_right))
    only_right = int(np.count_nonzero(fail_right & ~fail_inflated))
    # sign test on the discordant shots (one-sided p < 1e-4)
    from scipy.stats import binomtest

    assert binomtest(only_inflated, only_inflated + only_right, 0.5, alternative="greater").pvalue < 1e-4, (
        only_inflated, only_right)


def test_background_dem_must_fit_the_circuit():
    h = heralded_circuit(CodeSpec("rotated_surface", 3), NOISE)
    with pytest.raises(ValueError, match="same code"):
        HeraldedMatching(h, background_dem(CodeSpec("rotated_surface", 5), NOISE))
