"""Hardware figures -> NoiseParams: formulas against hand values and independent derivations."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate

from qec_gym.noise import NoiseParams
from qec_gym.noise.physical import (
    HardwareParams,
    erasure_probability,
    idle_pauli_from_t1_t2,
    loss_db_to_probability,
    phase_noise_to_z_flip,
)

# --------------------------------------------------------------------------------------- loss


@pytest.mark.parametrize(
    ("db", "expected"),
    [
        (0.0, 0.0),
        (0.1, 0.02276277904),  # docs/reference-numbers.md: 0.1 dB = 2.3%
        (3.0, 0.49881276637),  # "3 dB = half the power"
        (10.0, 0.9),
        (20.0, 0.99),
    ],
)
def test_loss_db_to_probability_hand_values(db, expected):
    assert loss_db_to_probability(db) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_loss_db_tiny_loss_is_accurate():
    # 1e-6 dB: 1 - 10**(-1e-7) = ln(10) * 1e-7 to first order; naive 1 - 10**x loses digits.
    assert loss_db_to_probability(1e-6) == pytest.approx(math.log(10) * 1e-7, rel=1e-6)


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf])
def test_loss_db_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="db"):
        loss_db_to_probability(bad)


def test_erasure_components_in_series_multiply_transmissions():
    p_one = loss_db_to_probability(0.05)
    assert erasure_probability(0.05, 10) == pytest.approx(1 - (1 - p_one) ** 10, rel=1e-12)
    # n components of x dB == one component of n x dB.
    assert erasure_probability(0.01, 10) == pytest.approx(loss_db_to_probability(0.1), rel=1e-12)
    assert erasure_probability(0.3, 0) == 0.0


def test_erasure_detector_inefficiency_is_one_more_loss():
    p = erasure_probability(0.01, 10, detector_efficiency=0.9)
    assert p == pytest.approx(1 - (1 - 0.02276277904) * 0.9, rel=1e-9)
    assert erasure_probability(0.0, 0, detector_efficiency=0.98) == pytest.approx(0.02)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((-0.01, 3), {}, "loss_db_per_component"),
        ((math.nan, 3), {}, "loss_db_per_component"),
        ((0.01, -1), {}, "n_components"),
        ((0.01, 2.5), {}, "n_components"),
        ((0.01, 3), {"detector_efficiency": 0.0}, "detector_efficiency"),
        ((0.01, 3), {"detector_efficiency": 1.2}, "detector_efficiency"),
        ((0.01, 3), {"detector_efficiency": math.nan}, "detector_efficiency"),
    ],
)
def test_erasure_validation(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        erasure_probability(*args, **kwargs)


# ------------------------------------------------------------------------------------- T1/T2


def test_idle_pauli_hand_values():
    # T1 = 50 us, T2 = 70 us, t = 1 us: p_x = (1 - e^-0.02)/4, p_z = (1 - e^(-1/70))/2 - p_x.
    px, py, pz = idle_pauli_from_t1_t2(50e-6, 70e-6, duration=1e-6)
    assert px == pytest.approx(0.0049503316733, rel=1e-9)
    assert py == px
    assert pz == pytest.approx(0.0021417471505, rel=1e-9)


def _twirled_kraus_probabilities(t1: float, t2: float, t: float) -> np.ndarray:
    """Independent derivation: Pauli twirl of the actual Kraus maps.

    Amplitude damping gamma = 1 - e^(-t/T1) followed by pure dephasing that brings the total
    coherence decay to e^(-t/T2); the twirled probability of Pauli P is sum_k |Tr(P K_k)/2|^2.
    """
    gamma = 1 - math.exp(-t / t1)
    ad = [np.array([[1, 0], [0, math.sqrt(1 - gamma)]]), np.array([[0, math.sqrt(gamma)], [0, 0]])]
    # Pure dephasing with Z-probability q multiplies the coherence by (1 - 2q).
    remaining = math.exp(-t / t2) / math.sqrt(1 - gamma)
    q = (1 - remaining) / 2
    z = np.diag([1.0, -1.0])
    deph = [math.sqrt(1 - q) * np.eye(2), math.sqrt(q) * z]
    kraus = [d @ a for d in deph for a in ad]
    paulis = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), z]
    return np.array([sum(abs(np.trace(p @ k) / 2) ** 2 for k in kraus) for p in paulis])


@pytest.mark.parametrize(
    ("t1", "t2", "t"),
    [(50e-6, 70e-6, 1e-6), (68e-6, 89e-6, 660e-9), (100e-6, 20e-6, 5e-6), (30e-6, 60e-6, 3e-6)],
)
def test_idle_pauli_matches_twirled_kraus_channel(t1, t2, t):
    assert idle_pauli_from_t1_t2(t1, t2, duration=t) == pytest.approx(
        tuple(_twirled_kraus_probabilities(t1, t2, t)), rel=1e-9, abs=1e-15
    )


def test_idle_pauli_limits():
    assert idle_pauli_from_t1_t2(50e-6, 70e-6, duration=0.0) == (0.0, 0.0, 0.0)
    assert idle_pauli_from_t1_t2(math.inf, math.inf, duration=1.0) == (0.0, 0.0, 0.0)
    # Short idles: p_x ~ t / (4 T1).
    px, _, _ = idle_pauli_from_t1_t2(100e-6, 100e-6, duration=1e-9)
    assert px == pytest.approx(1e-9 / 4e-4, rel=1e-5)
    # Pure amplitude damping (T2 = 2 T1): p_z = (1 - gamma/2 - sqrt(1 - gamma))/2 ~ gamma^2 / 16.
    gamma = 1 - math.exp(-0.01)
    _, _, pz = idle_pauli_from_t1_t2(1.0, 2.0, duration=0.01)
    assert pz == pytest.approx((1 - gamma / 2 - math.sqrt(1 - gamma)) / 2, rel=1e-6)
    assert pz == pytest.approx(gamma**2 / 16, rel=2e-2)


def test_idle_pauli_rejects_t2_above_2t1():
    with pytest.raises(ValueError, match="T2 <= 2 T1"):
        idle_pauli_from_t1_t2(50e-6, 101e-6, duration=1e-6)
    with pytest.raises(ValueError, match="T2 <= 2 T1"):
        idle_pauli_from_t1_t2(50e-6, math.inf, duration=1e-6)


@pytest.mark.parametrize(
    ("t1", "t2", "duration"),
    [
        (0.0, 1.0, 1.0),
        (-1.0, 1.0, 1.0),
        (1.0, math.nan, 1.0),
        (1.0, 1.0, -1.0),
        (1.0, 1.0, math.inf),
    ],
)
def test_idle_pauli_validation(t1, t2, duration):
    with pytest.raises(ValueError):
        idle_pauli_from_t1_t2(t1, t2, duration=duration)


# ---------------------------------------------------------------------------------- phase noise


def test_phase_noise_hand_value_and_limits():
    assert phase_noise_to_z_flip(0.01) == pytest.approx(0.0024937604037, rel=1e-9)
    assert phase_noise_to_z_flip(0.0) == 0.0
    assert phase_noise_to_z_flip(1e-6) == pytest.approx(1e-6 / 4, rel=1e-5)
    assert phase_noise_to_z_flip(200.0) == pytest.approx(0.5)


@pytest.mark.parametrize("variance", [0.01, 0.3, 2.0])
def test_phase_noise_matches_gaussian_average(variance):
    # Independent: the coherence kept by a random phase kick is E[cos phi] (numerical
    # quadrature over the Gaussian), and a Z flip of probability p keeps 1 - 2p.
    sigma = math.sqrt(variance)
    def integrand(x: float) -> float:
        return math.cos(x) * math.exp(-x * x / (2 * variance)) / (sigma * math.sqrt(2 * math.pi))

    coherence, _ = integrate.quad(integrand, -12 * sigma, 12 * sigma)
    assert phase_noise_to_z_flip(variance) == pytest.approx((1 - coherence) / 2, rel=1e-7)


@pytest.mark.parametrize("bad", [-1e-3, math.nan, math.inf])
def test_phase_noise_validation(bad):
    with pytest.raises(ValueError, match="variance"):
        phase_noise_to_z_flip(bad)


# -------------------------------------------------------------------------------- HardwareParams


def _twirl_closed_form(t1: float, t2: float, t: float) -> tuple[float, float, float]:
    """Pauli twirl of amplitude damping + dephasing for time t, written out here independently."""
    px = (1 - math.exp(-t / t1)) / 4
    return px, px, (1 - math.exp(-t / t2)) / 2 - px


def test_superconducting_preset_maps_fields():
    hw = HardwareParams.superconducting()
    assert 50e-6 <= hw.t1 <= 100e-6 and hw.t2 <= 2 * hw.t1
    assert hw.bias_preserving is False  # transmons are two-level qubits
    noise = hw.to_noise()
    assert isinstance(noise, NoiseParams)
    assert (noise.p1, noise.p2, noise.p_meas, noise.p_reset) == (
        hw.gate_error_1q,
        hw.gate_error_2q,
        hw.measurement_error,
        hw.reset_error,
    )
    idle = _twirl_closed_form(hw.t1, hw.t2, hw.gate_time_2q)
    assert (noise.idle_x, noise.idle_y, noise.idle_z) == pytest.approx(idle, rel=1e-9)
    assert noise.p_loss == 0.0
    # Readout idle: the rest of measurement + reset (618 ns), the exact asymmetric twirl
    # (p_z < p_x here: the old code fell back to depolarising, X/Y -16%, Z +59%).
    readout = _twirl_closed_form(hw.t1, hw.t2, hw.measurement_time + hw.reset_time - hw.gate_time_2q)
    got = (noise.readout_idle_x, noise.readout_idle_y, noise.readout_idle_z)
    assert got == pytest.approx(readout, rel=1e-9)
    assert readout[2] < readout[0]
    # Nothing at the round start (the first round follows a reset, not a readout).
    assert (noise.p_data, noise.p_dephase) == (0.0, 0.0)
    # Every rate well below the ~1% threshold of the circuit-level surface code.
    assert noise.strength() < 1e-2


def test_readout_idle_is_exact_when_z_is_below_x():
    hw = HardwareParams(t1=100e-6, t2=190e-6, gate_time_2q=50e-9, measurement_time=1e-6)
    noise = hw.to_noise()
    px, _, pz = _twirl_closed_form(100e-6, 190e-6, 1e-6 - 50e-9)
    assert pz < px / 5
    assert (noise.readout_idle_x, noise.readout_idle_z) == pytest.approx((px, pz), rel=1e-9)
    # A readout shorter than a gate layer adds nothing (the layer's own idle covers it).
    assert HardwareParams(t1=1e-4, t2=1e-4, gate_time_2q=1e-6, measurement_time=1e-7).to_noise().readout_idle_x == 0


@pytest.mark.parametrize("family", ["rotated_surface", "repetition"])
def test_each_idle_is_counted_once_per_round(family):
    """Compose every channel a data qubit gets from the start through its first readout layer,
    and compare with the closed-form twirl of the total time it idles."""
    from qec_gym.codes import CodeSpec, build_circuit
    from qec_gym.codes.noise_model import compose_pauli1
    from qec_gym.codes.templates import data_qubits, template_circuit

    hw = HardwareParams.superconducting().replace(
        gate_error_1q=0.0, gate_error_2q=0.0, measurement_error=0.0, reset_error=0.0
    )
    spec = CodeSpec(family, 3, rounds=3)
    circuit = build_circuit(spec, hw.to_noise()).flattened()
    data = sorted(data_qubits(template_circuit(spec)))
    channels = {q: [] for q in data}
    idle_layers = {q: 0 for q in data}
    touched: set[int] = set()
    readout_seen = False
    for inst in list(circuit) + [stim_tick()]:
        if inst.name == "TICK":
            for q in data:
                idle_layers[q] += q not in touched
            touched = set()
            if readout_seen:
                break
            continue
        qs = [t.value for t in inst.targets_copy() if t.is_qubit_target]
        if inst.name == "PAULI_CHANNEL_1":
            for q in qs:
                if q in channels:
                    channels[q].append(tuple(inst.gate_args_copy()))
        elif inst.name in ("MR", "MRX"):
            readout_seen = True
            touched.update(qs)
        elif inst.name not in ("DETECTOR", "QUBIT_COORDS", "SHIFT_COORDS", "OBSERVABLE_INCLUDE") and not (
            inst.name == "I" and inst.tag == "round_data"
        ):
            touched.update(qs)
    assert readout_seen
    for q in data:
        # idle_layers counts the readout layer too: it lasts measurement + reset, the others a gate layer.
        t = (idle_layers[q] - 1) * hw.gate_time_2q + hw.measurement_time + hw.reset_time
        assert compose_pauli1(*channels[q]) == pytest.approx(_twirl_closed_form(hw.t1, hw.t2, t), rel=1e-9)


def stim_tick():
    import stim

    return stim.CircuitInstruction("TICK", [])


def test_hardware_gate_times_are_the_resource_model_defaults():
    from qec_gym.codes import GateTimes

    hw, times = HardwareParams.superconducting(), GateTimes()
    assert (times.single_qubit_ns, times.two_qubit_ns, times.measure_ns, times.reset_ns) == (
        pytest.approx(hw.gate_time_1q * 1e9),
        pytest.approx(hw.gate_time_2q * 1e9),
        pytest.approx(hw.measurement_time * 1e9),
        pytest.approx(hw.reset_time * 1e9),
    )
    assert GateTimes.from_hardware(HardwareParams.photonic()).two_qubit_ns == pytest.approx(1.0)


def test_photonic_preset_maps_loss_and_phase_noise():
    hw = HardwareParams.photonic()
    noise = hw.to_noise()
    assert noise.p_loss == pytest.approx(
        erasure_probability(
            hw.loss_db_per_component,
            hw.components_per_round,
            detector_efficiency=hw.detector_efficiency,
        ),
        rel=1e-12,
    )
    assert 0.01 < noise.p_loss < 0.03
    assert noise.p_dephase == pytest.approx(phase_noise_to_z_flip(hw.phase_noise_variance))
    # Photons do not decay: no T1/T2 idle noise.
    assert (noise.idle_x, noise.idle_y, noise.idle_z, noise.p_data, noise.readout_idle_x) == (0.0,) * 5
    assert noise.bias_preserving is False and hw.bias_preserving is False


def test_layer_duration_override_and_crosstalk():
    hw = HardwareParams.superconducting().replace(crosstalk_zz=1e-4, crosstalk_xx=2e-5)
    long = hw.to_noise(layer_duration=1e-6)
    assert long.idle_x == pytest.approx(idle_pauli_from_t1_t2(hw.t1, hw.t2, duration=1e-6)[0])
    assert long.idle_x > hw.to_noise().idle_x
    assert (long.crosstalk_zz, long.crosstalk_xx) == (1e-4, 2e-5)
    with pytest.raises(ValueError, match="layer_duration"):
        hw.to_noise(layer_duration=-1.0)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"t1": 10e-6, "t2": 30e-6}, "T2 <= 2 T1"),
        ({"t1": 0.0}, "t1"),
        ({"t2": math.nan}, "t2"),
        ({"gate_time_2q": -1e-9}, "gate_time_2q"),
        ({"gate_error_2q": 1.5}, "gate_error_2q"),
        ({"measurement_error": math.nan}, "measurement_error"),
        ({"loss_db_per_component": -0.1}, "loss_db_per_component"),
        ({"components_per_round": -1}, "components_per_round"),
        ({"components_per_round": 2.0}, "components_per_round"),
        ({"detector_efficiency": 0.0}, "detector_efficiency"),
        ({"phase_noise_variance": -1.0}, "phase_noise_variance"),
        ({"eta": 0.0}, "eta"),
        ({"crosstalk_zz": 0.6, "crosstalk_xx": 0.6}, "crosstalk"),
        ({"not_a_field": 1.0}, "unknown HardwareParams field"),
        ({"bias_preserving": 1}, "bias_preserving"),
    ],
)
def test_hardware_validation(changes, match):
    with pytest.raises((ValueError, TypeError), match=match):
        HardwareParams.superconducting().replace(**changes)


def test_hardware_is_frozen_and_hashable():
    hw = HardwareParams.photonic()
    with pytest.raises(dataclasses.FrozenInstanceError):
        hw.t1 = 1.0  # type: ignore[misc]
    assert hw == HardwareParams.photonic() and hash(hw) == hash(HardwareParams.photonic())


def test_quantized_keeps_probabilities_above_half_away_from_one():
    """A flip of 0.95 or 0.99 is decoded as one of 0.05 / 0.01: quantise that complement."""
    from qec_gym.noise.params import NoiseParams

    for bins in (20, 64):
        for p in (0.95, 0.99, 0.6):
            q = NoiseParams(p_meas=p).quantized(bins).p_meas
            assert q < 1 and abs((1 - q) / (1 - p) - 1) <= 10 ** (0.5 / bins) - 1 + 1e-9
    assert NoiseParams(p_meas=1.0).quantized().p_meas == 1.0
    assert NoiseParams(p_meas=3e-3).quantized().p_meas == pytest.approx(3e-3, rel=0.018)
