"""Noise conventions against independent constructions: channel limits (issue 11.3), SI1000's
readout idle, the two-qubit bias, non-bias-preserving gates and crosstalk on line layouts (issue 12)."""

from __future__ import annotations

import math

import numpy as np
import pymatching
import pytest
import stim

from qec_gym.codes import FAMILIES, CodeSpec, build_circuit
from qec_gym.codes.noise_model import add_noise, biased_pauli1, biased_pauli2, converted_pauli2, p2_for_z_type
from qec_gym.codes.templates import template_circuit
from qec_gym.noise import NoiseParams
from qec_gym.sim.stats import binomial_ci

PAIRS = [a + b for a in "IXYZ" for b in "IXYZ" if a + b != "II"]  # stim's PAULI_CHANNEL_2 order


def _dem_dict(dem: stim.DetectorErrorModel) -> dict[frozenset, float]:
    """Symptom -> probability, merging repeated symptoms as independent errors."""
    out: dict[frozenset, float] = {}
    for inst in dem.flattened():
        if inst.type == "error":
            key = frozenset(str(t) for t in inst.targets_copy())
            p, q = inst.args_copy()[0], out.get(key, 0.0)
            out[key] = q + p - 2 * q * p
    return out


# ------------------------------------------------------------------------------ 11.3 limits
@pytest.mark.parametrize("family", FAMILIES)
def test_scaled_noise_is_always_analysable_by_stim(family):
    spec = CodeSpec(family, 3, rounds=2)
    noise = NoiseParams.uniform(0.5).scaled(2.0)
    assert (noise.p1, noise.p2, noise.p_data, noise.p_meas, noise.p_reset) == (0.75, 15 / 16, 0.75, 1.0, 1.0)
    build_circuit(spec, noise).detector_error_model(approximate_disjoint_errors=True)
    for base in (NoiseParams.sd6(0.3), NoiseParams.si1000(0.1), NoiseParams.biased(0.4, 50.0),
                 NoiseParams(idle_x=0.2, idle_y=0.2, idle_z=0.2, readout_idle_z=0.9, crosstalk_zz=0.6,
                             crosstalk_xx=0.3, p_loss=0.5, p_dephase=0.7)):
        for factor in (3.0, 1e6):
            scaled = base.scaled(factor)
            build_circuit(spec, scaled).detector_error_model(approximate_disjoint_errors=True)
            assert scaled.quantized() is not None  # stays valid on the grid too


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"p1": 0.8}, r"p1=0\.8.*p1 <= 0\.75"),
        ({"p2": 0.95}, r"p2=0\.95.*p2 <= 0\.9375"),
        ({"p_data": 0.8}, r"p_data=0\.8.*p_data <= 0\.75"),
        ({"p_data": 0.8, "eta": 10.0}, r"p_data <= 0\.75"),
        ({"p_meas": 1.2}, r"p_meas <= 1"),
        ({"readout_idle_x": 0.6, "readout_idle_z": 0.6}, "readout_idle_x . readout_idle_y . readout_idle_z"),
        ({"idle_x": 0.5, "idle_y": 0.6}, "idle_x . idle_y . idle_z"),
        ({"p1": -0.1}, "p1"),
        ({"p2": math.nan}, "p2"),
    ],
)
def test_over_mixing_channels_are_refused_where_noise_is_built(fields, match):
    with pytest.raises(ValueError, match=match):
        NoiseParams(**fields)


def test_stims_limits_are_exactly_the_validated_ones():
    """The limits are stim's: it analyses the largest accepted value and refuses just above it."""
    for gate, limit, field in (("DEPOLARIZE1", 0.75, "p1"), ("DEPOLARIZE2", 15 / 16, "p2")):
        targets = [0] if gate == "DEPOLARIZE1" else [0, 1]
        for p, ok in ((limit, True), (limit + 1e-9, False)):
            circuit = stim.Circuit()
            circuit.append(gate, targets, p)
            circuit.append("M", targets)
            if ok:
                circuit.detector_error_model()
            else:
                with pytest.raises(ValueError, match="over-mixing"):
                    circuit.detector_error_model()
        NoiseParams(**{field: limit})
        with pytest.raises(ValueError, match=field):
            NoiseParams(**{field: limit + 1e-9})
    # A biased channel is a PAULI_CHANNEL, valid up to a total of 1.
    build_circuit(CodeSpec("xzzx", 3), NoiseParams(p1=1.0, p2=1.0, eta=10.0)).detector_error_model(
        approximate_disjoint_errors=True
    )


@pytest.mark.parametrize(("preset", "p", "limit"), [("uniform", 0.8, "0.75"), ("sd6", 0.76, "0.75"),
                                                    ("si1000", 0.25, "0.2"), ("code_capacity", 1.5, "1")])
def test_presets_name_the_largest_p(preset, p, limit):
    with pytest.raises(ValueError, match=rf"{preset}\(p={p}\).*\[0, {limit}\]"):
        getattr(NoiseParams, preset)(p)


def test_bias_preserving_must_be_a_bool():
    with pytest.raises(TypeError, match="bias_preserving"):
        NoiseParams(bias_preserving="no")


# --------------------------------------------------------------------------------- 12.2 SI1000
def _si1000_reference(circuit: stim.Circuit, p: float, *, readout_idle: bool) -> stim.Circuit:
    """SI1000 (Gidney et al. 2021, Table 2) inserted by hand into stim's noiseless circuit.

    Moments end at TICK and at REPEAT boundaries (a block's body is one unit, as in the paper's
    reference code). Per moment: DEPOLARIZE2(p) after CX, DEPOLARIZE1(p/10) after H and on
    untouched qubits, X/Z flip 5p before measurements and 2p after resets, and (the term under
    test) DEPOLARIZE1(2p) on every qubit not measured or reset in a moment that measures or resets.
    """
    all_qubits = set(range(circuit.num_qubits))
    out = stim.Circuit()
    moment: list[stim.CircuitInstruction] = []

    def flush() -> None:
        used, collapsed = set(), set()
        for op in moment:
            qs = [t.value for t in op.targets_copy() if t.is_qubit_target]
            flip = "Z_ERROR" if op.name.endswith("X") else "X_ERROR"
            if op.name in ("DETECTOR", "OBSERVABLE_INCLUDE", "SHIFT_COORDS", "QUBIT_COORDS"):
                out.append(op)
                continue
            if op.name in ("M", "MX", "MR", "MRX"):
                out.append(flip, qs, 5 * p)
            out.append(op)
            if op.name in ("R", "RX", "MR", "MRX"):
                out.append(flip, qs, 2 * p)
            if op.name == "H":
                out.append("DEPOLARIZE1", qs, p / 10)
            if op.name == "CX":
                out.append("DEPOLARIZE2", qs, p)
            used |= set(qs)
            if op.name in ("M", "MX", "MR", "MRX", "R", "RX"):
                collapsed |= set(qs)
        if used and all_qubits - used:
            out.append("DEPOLARIZE1", sorted(all_qubits - used), p / 10)
        if readout_idle and collapsed and all_qubits - collapsed:
            out.append("DEPOLARIZE1", sorted(all_qubits - collapsed), 2 * p)
        moment.clear()

    for op in circuit:
        if isinstance(op, stim.CircuitRepeatBlock):
            flush()
            out += _si1000_reference(op.body_copy(), p, readout_idle=readout_idle) * op.repeat_count
        elif op.name == "TICK":
            flush()
            out.append("TICK")
        else:
            moment.append(op)
    flush()
    return out


@pytest.mark.parametrize("d,basis", [(3, "x"), (3, "z"), (5, "x")])
def test_si1000_matches_an_independent_construction(d, basis):
    p = 2e-3
    noiseless = stim.Circuit.generated(f"surface_code:rotated_memory_{basis}", distance=d, rounds=d)
    ref = _dem_dict(_si1000_reference(noiseless, p, readout_idle=True).detector_error_model())
    ours = _dem_dict(build_circuit(CodeSpec("rotated_surface", d, basis=basis), NoiseParams.si1000(p)).detector_error_model())
    assert ref.keys() == ours.keys()
    assert max(abs(ref[k] - ours[k]) for k in ref) < 1e-12
    # Without the readout idle the two differ (the old preset): the term is not a no-op.
    old = _dem_dict(_si1000_reference(noiseless, p, readout_idle=False).detector_error_model())
    assert max(abs(old[k] - ours.get(k, 0.0)) for k in old) > 1e-3


@pytest.mark.slow
@pytest.mark.parametrize(("d", "with_term", "reference", "shots"), [
    (3, True, 3.82e-3, 200_000), (3, False, 2.17e-3, 200_000), (5, True, 9.5e-4, 200_000), (5, False, 3.9e-4, 200_000),
])
def test_si1000_logical_error_per_round(d, with_term, reference, shots):
    """Reference figures (reference numbers, "Added 2026-11-30"), rotated memory X, rounds = d, p = 2e-3."""
    noise = NoiseParams.si1000(2e-3)
    if not with_term:
        noise = noise.replace(readout_idle_x=0.0, readout_idle_y=0.0, readout_idle_z=0.0)
    circuit = build_circuit(CodeSpec("rotated_surface", d), noise)
    matching = pymatching.Matching.from_detector_error_model(circuit.detector_error_model(decompose_errors=True))
    dets, obs = circuit.compile_detector_sampler(seed=11 + d).sample(shots, separate_observables=True)
    errors = int(np.count_nonzero(matching.decode_batch(dets)[:, 0] != obs[:, 0]))
    lo, hi = binomial_ci(errors, shots, confidence=0.999)
    per_round = lambda q: (1 - (1 - 2 * q) ** (1 / d)) / 2  # noqa: E731
    assert per_round(lo) <= reference <= per_round(hi), (errors, per_round(errors / shots))


# ----------------------------------------------------------------------------- 12.3 two-qubit bias
@pytest.mark.parametrize("eta", [0.1, 0.5, 1.0, 3.0, 100.0, 1e6])
def test_two_qubit_channel_has_marginal_bias_eta(eta):
    p = 0.012
    probs = dict(zip(PAIRS, biased_pauli2(p, eta)))
    assert sum(probs.values()) == pytest.approx(p, rel=1e-12)
    for qubit in (0, 1):
        marginal = {a: sum(v for k, v in probs.items() if k[qubit] == a) for a in "XYZ"}
        assert marginal["X"] == pytest.approx(marginal["Y"], rel=1e-12)
        assert marginal["Z"] / (marginal["X"] + marginal["Y"]) == pytest.approx(eta, rel=1e-12)
    px, py, pz = biased_pauli1(p, eta)
    assert pz / (px + py) == pytest.approx(eta, rel=1e-12)
    # the three Z-type errors are equally likely; eta = 0.5 is depolarising
    assert probs["IZ"] == pytest.approx(probs["ZI"]) and probs["ZZ"] == pytest.approx(probs["IZ"])
    if eta == 0.5:
        assert np.allclose(list(probs.values()), p / 15, rtol=1e-12)
    assert biased_pauli2(p2_for_z_type(1e-4, eta), eta)[PAIRS.index("ZZ")] == pytest.approx(1e-4, rel=1e-12)


# ------------------------------------------------------------------- 12.4 bias-preserving gates
def _one(pauli: str) -> list[float]:
    return [1.0 if k == pauli else 0.0 for k in PAIRS]


@pytest.mark.parametrize(("gate", "error", "expected"), [
    # CX = exp(i pi |1><1| (x) |-><-|). A Z_t at remaining angle phi becomes Z_t exp(i phi P1 (x) X);
    # twirled: I cos^4(phi/2), Z_c sin^4(phi/2), X_t and Z_c X_t sin^2(phi)/4 each; averaged over
    # phi uniform on [0, pi]: 3/8, 3/8, 1/8, 1/8 (times Z_t: Z_t, Z_c Z_t, Y_t, Z_c Y_t).
    ("CX", "IZ", {"IZ": 3 / 8, "ZZ": 3 / 8, "IY": 1 / 8, "ZY": 1 / 8}),
    # X_c becomes X_c exp(i phi Z_c (x) |-><-|): X_c, X_c X_t, Y_c, Y_c X_t with 3/8, 3/8, 1/8, 1/8.
    ("CX", "XI", {"XI": 3 / 8, "XX": 3 / 8, "YI": 1 / 8, "YX": 1 / 8}),
    ("CX", "ZI", {"ZI": 1.0}),  # commutes with the generator
    ("CX", "IX", {"IX": 1.0}),
    ("CZ", "IZ", {"IZ": 1.0}),  # CZ is diagonal: Z errors keep their bias (Etxezarreta Martinez et al. 2025)
    ("CZ", "ZZ", {"ZZ": 1.0}),
    ("XCX", "ZI", {"ZI": 3 / 8, "ZX": 3 / 8, "YI": 1 / 8, "YX": 1 / 8}),
])
def test_non_bias_preserving_conversion_closed_forms(gate, error, expected):
    out = dict(zip(PAIRS, converted_pauli2(_one(error), gate)))
    assert out == pytest.approx({k: expected.get(k, 0.0) for k in PAIRS}, abs=1e-12)


def test_conversion_keeps_depolarising_noise_and_totals():
    for gate in ("CX", "CZ", "XCX"):
        assert converted_pauli2([1 / 15] * 15, gate) == pytest.approx([1 / 15] * 15, abs=1e-12)
        probs = biased_pauli2(0.01, 100.0)
        assert sum(converted_pauli2(probs, gate)) == pytest.approx(0.01, rel=1e-12)
    with pytest.raises(ValueError, match="SWAP"):
        converted_pauli2(biased_pauli2(0.01, 100.0), "SWAP")


def test_bias_preserving_option_in_circuits():
    spec = CodeSpec("xzzx", 3, rounds=2)
    preserving = build_circuit(spec, NoiseParams(p2=0.01, eta=100.0))
    two_level = build_circuit(spec, NoiseParams(p2=0.01, eta=100.0, bias_preserving=False))

    def x_type_share(circuit):
        total = xs = 0.0
        for inst in circuit.flattened():
            if inst.name == "PAULI_CHANNEL_2":
                probs = dict(zip(PAIRS, inst.gate_args_copy()))
                total += sum(probs.values())
                xs += sum(v for k, v in probs.items() if set(k) & {"X", "Y"})
        return xs / total

    # bias preserved: only the weights' non-Z-type share, 1 - 3 (2 eta)^2 / ((4 eta + 2)^2 - (2 eta)^2)
    eta = 100.0
    assert x_type_share(preserving) == pytest.approx(1 - 3 * (2 * eta) ** 2 / ((4 * eta + 2) ** 2 - (2 * eta) ** 2))
    assert x_type_share(two_level) > 0.1  # CX/XCX convert Z errors into X-type ones
    # At eta = 0.5 the option changes nothing (depolarising noise is invariant under the gate).
    a = build_circuit(spec, NoiseParams.uniform(1e-3)).detector_error_model()
    b = build_circuit(spec, NoiseParams.uniform(1e-3).replace(bias_preserving=False)).detector_error_model()
    assert a == b


# --------------------------------------------------------------------------- 12.8 crosstalk
@pytest.mark.parametrize("family", FAMILIES)
def test_crosstalk_applies_on_every_family(family):
    spec = CodeSpec(family, 3, rounds=2)
    circuit = build_circuit(spec, NoiseParams(crosstalk_zz=1e-3, crosstalk_xx=1e-3))
    coords = circuit.get_final_qubit_coordinates()
    pairs = []
    for inst in circuit.flattened():
        if inst.name == "PAULI_CHANNEL_2":  # only crosstalk here (p2 = 0)
            ts = [t.value for t in inst.targets_copy()]
            pairs += list(zip(ts[::2], ts[1::2]))
    assert pairs, f"{family}: crosstalk was dropped"
    if family.startswith(("repetition", "cat")):
        # a line: neighbours one unit apart (an ancilla and the next gate's data qubit)
        assert all(math.dist(coords[a], coords[b]) == 1.0 for a, b in pairs)
        assert circuit.detector_error_model(approximate_disjoint_errors=True).num_errors > 0


def test_crosstalk_without_coordinates_is_refused():
    template = template_circuit(CodeSpec("repetition", 3, rounds=2))
    bare = stim.Circuit()
    for inst in template.flattened():
        if inst.name != "QUBIT_COORDS":
            bare.append(inst)
    with pytest.raises(ValueError, match="crosstalk needs neighbouring qubits"):
        add_noise(bare, NoiseParams(crosstalk_xx=1e-3))
    add_noise(bare, NoiseParams(p2=1e-3))  # no crosstalk asked for: fine


def test_drift_keeps_the_gate_model_and_the_limits():
    from qec_gym.noise.drift import Constant, apply_multipliers, noise_trajectory

    base = NoiseParams.biased(0.01, 0.5, bias_preserving=False).replace(readout_idle_z=0.01)
    drifted = apply_multipliers(base, {"all": 1e3})
    assert drifted.bias_preserving is False
    assert (drifted.p1, drifted.p2, drifted.p_data) == (0.75, 15 / 16, 0.75)  # depolarising limits
    assert apply_multipliers(base, {"idle": 2.0}).readout_idle_z == pytest.approx(0.02)  # T1/T2 drive both idles
    biased = apply_multipliers(base, {"all": 1e3, "eta": 20.0})
    assert (biased.p1, biased.p2) == (1.0, 1.0)  # a biased channel is a PAULI_CHANNEL: limit 1
    traj = noise_trajectory(base, Constant(1e3), n_steps=2, rng=np.random.default_rng(0))
    assert traj[0] == base.scaled(1e3)
