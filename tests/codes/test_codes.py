import math

import numpy as np
import pytest
import stim

from qec_gym.codes import FAMILIES, CodeSpec, build_circuit, resources
from qec_gym.codes.noise_model import biased_pauli1, biased_pauli2, compose_pauli1
from qec_gym.noise import NoiseParams
from qec_gym.sim.cache import detector_layout

P = 5e-3
STIM_UNIFORM = dict(
    after_clifford_depolarization=P,
    after_reset_flip_probability=P,
    before_measure_flip_probability=P,
    before_round_data_depolarization=P,
)


@pytest.mark.parametrize(
    "task,family,basis",
    [
        ("surface_code:rotated_memory_x", "rotated_surface", "x"),
        ("surface_code:rotated_memory_z", "rotated_surface", "z"),
        ("surface_code:unrotated_memory_x", "unrotated_surface", "x"),
        ("surface_code:unrotated_memory_z", "unrotated_surface", "z"),
        ("repetition_code:memory", "repetition", "z"),
        ("color_code:memory_xyz", "color", "xyz"),
    ],
)
@pytest.mark.parametrize("distance,rounds", [(3, 2), (5, 4)])
def test_uniform_noise_reproduces_stims_own_circuits(task, family, basis, distance, rounds):
    ref = stim.Circuit.generated(task, distance=distance, rounds=rounds, **STIM_UNIFORM)
    ours = build_circuit(CodeSpec(family, distance, rounds=rounds, basis=basis), NoiseParams.uniform(P))
    assert ref.detector_error_model().approx_equals(ours.detector_error_model(), atol=1e-12)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("distance", [3, 5])
def test_noiseless_circuits_are_deterministic(family, distance):
    spec = CodeSpec(family, distance, rounds=3)
    circuit = build_circuit(spec, NoiseParams())
    samples = circuit.compile_detector_sampler(seed=1).sample(64, append_observables=True)
    assert circuit.num_observables == 1
    assert circuit.num_detectors > 0
    assert not samples.any()
    circuit_distance = len(build_circuit(spec, NoiseParams.uniform(1e-3)).search_for_undetectable_logical_errors(
        dont_explore_detection_event_sets_with_size_above=4,
        dont_explore_edges_with_degree_above=4,
        dont_explore_edges_increasing_symptom_degree=False,
    ))
    # stim's colour-code circuit has hook errors that halve its distance
    assert circuit_distance == (distance + 1) // 2 if family == "color" else circuit_distance == distance


def test_xzzx_stabilisers_see_both_error_types():
    layout = detector_layout(CodeSpec("xzzx", 5, rounds=3))
    bulk = layout.round_index > 0
    # XZZX checks mix X and Z, so every check after the first round sees X and Z data errors;
    # the CSS code's checks see one type each.
    assert (layout.detects_x[bulk] & layout.detects_z[bulk]).all()
    css = detector_layout(CodeSpec("rotated_surface", 5, rounds=3))
    assert not (css.detects_x & css.detects_z).any()


def test_phase_repetition_detects_only_z_errors():
    layout = detector_layout(CodeSpec("repetition_phase", 5))
    assert layout.detects_z.all() and not layout.detects_x.any()
    layout = detector_layout(CodeSpec("repetition", 5))
    assert layout.detects_x.all() and not layout.detects_z.any()


def test_biased_channels():
    assert biased_pauli1(0.03, 0.5) == (0.01, 0.01, 0.01)
    px, py, pz = biased_pauli1(0.01, 100)
    assert math.isclose(pz / (px + py), 100)
    assert math.isclose(px + py + pz, 0.01)
    p2 = biased_pauli2(0.015, 0.5)
    assert np.allclose(p2, 0.001)
    p2 = biased_pauli2(0.01, 100)
    assert math.isclose(sum(p2), 0.01)
    zz = p2[14]
    assert math.isclose(zz / p2[0], 200)  # ZZ : IX = (2 eta)^2 : 2 eta (per-qubit weights 2 eta for I, Z; 1 for X, Y)


def test_compose_pauli1_matches_direct_product():
    a, b = (0.01, 0.02, 0.03), (0.04, 0.0, 0.05)
    px, py, pz = compose_pauli1(a, b)
    pia, pib = 1 - sum(a), 1 - sum(b)
    # X results from X*I, I*X, Y*Z, Z*Y
    assert math.isclose(px, a[0] * pib + pia * b[0] + a[1] * b[2] + a[2] * b[1])
    assert math.isclose(pz, a[2] * pib + pia * b[2] + a[0] * b[1] + a[1] * b[0])
    assert math.isclose(py, a[1] * pib + pia * b[1] + a[0] * b[2] + a[2] * b[0])


def test_crosstalk_acts_on_coupled_pairs_of_simultaneous_gates():
    spec = CodeSpec("rotated_surface", 3, rounds=2)
    circuit = build_circuit(spec, NoiseParams(crosstalk_zz=1e-3))
    coords = circuit.get_final_qubit_coordinates()
    pairs = []
    for inst in circuit.flattened():
        if inst.name == "PAULI_CHANNEL_2":
            ts = [t.value for t in inst.targets_copy()]
            pairs += list(zip(ts[::2], ts[1::2]))
    assert pairs
    assert all(math.isclose(math.dist(coords[a], coords[b]), math.sqrt(2)) for a, b in pairs)
    # crosstalk alone is detectable noise
    assert circuit.detector_error_model(approximate_disjoint_errors=True).num_errors > 0


def test_idle_noise_only_on_idle_qubits():
    spec = CodeSpec("rotated_surface", 3, rounds=2)
    circuit = build_circuit(spec, NoiseParams(idle_z=1e-3))
    layer_busy: set[int] = set()
    for inst in circuit.flattened():
        if inst.name == "TICK":
            layer_busy = set()
        elif inst.name == "Z_ERROR":
            idle = {t.value for t in inst.targets_copy()}
            assert not idle & layer_busy
        elif inst.name not in ("DETECTOR", "OBSERVABLE_INCLUDE", "QUBIT_COORDS", "SHIFT_COORDS", "I"):
            layer_busy |= {t.value for t in inst.targets_copy() if t.is_qubit_target}


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(family="toric", distance=3), "unknown code family"),
        (dict(family="rotated_surface", distance=4), "odd distance"),
        (dict(family="color", distance=1), "odd distance"),
        (dict(family="repetition", distance=1), "distance >= 2"),
        (dict(family="rotated_surface", distance=3, rounds=0), "rounds"),
        (dict(family="color", distance=3, rounds=1), "rounds >= 2"),
        (dict(family="repetition", distance=3, basis="x"), "basis"),
        (dict(family="rotated_surface", distance=99), "maximum"),
    ],
)
def test_bad_specs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CodeSpec(**kwargs)


def test_build_circuit_type_errors():
    with pytest.raises(TypeError, match="CodeSpec"):
        build_circuit("rotated_surface", NoiseParams())
    with pytest.raises(TypeError, match="NoiseParams"):
        build_circuit(CodeSpec("repetition", 3), 0.01)


@pytest.mark.parametrize("d", [3, 5, 7])
def test_rotated_surface_resources(d):
    r = resources(CodeSpec("rotated_surface", d))
    assert (r.data_qubits, r.ancilla_qubits) == (d * d, d * d - 1)
    assert r.two_qubit_gates_per_round == 4 * d * (d - 1)
    assert r.round_duration_ns > 0
