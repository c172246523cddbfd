"""STIRAP preset: the transfer model against an independent qutip construction and closed-form limits."""

import math

import numpy as np
import pytest

from qec_gym.noise.physical import HardwareParams
from qec_gym.noise.stirap import StirapPulse, stirap_hardware, stirap_regimes

TWO_PI = 2 * math.pi


def _qutip_transfer(omega0, width, delay, decay, detuning=0.0):
    """1 - P_3 from a Lindblad master equation: |2> decays into a fourth, dark level (qutip)."""
    qutip = pytest.importorskip("qutip")
    b = [qutip.basis(4, k) for k in range(4)]
    p12 = b[0] * b[1].dag() + b[1] * b[0].dag()
    p23 = b[1] * b[2].dag() + b[2] * b[1].dag()
    # time in widths; H = 1/2 [Omega_P (|1><2| + h.c.) + Omega_S (|2><3| + h.c.)] + Delta |2><2|
    a, d, g, h = omega0 * width, detuning * width, decay * width, delay / (2 * width)
    H = [d * b[1] * b[1].dag(),
         [0.5 * a * p12, lambda t: math.exp(-((t - h) ** 2))],
         [0.5 * a * p23, lambda t: math.exp(-((t + h) ** 2))]]
    c_ops = [math.sqrt(g) * b[3] * b[1].dag()] if g > 0 else []
    times = np.linspace(-(h + 3), h + 3, 401)
    opts = {"atol": 1e-12, "rtol": 1e-10, "nsteps": 100000}
    res = qutip.mesolve(H, b[0] * b[0].dag(), times, c_ops, e_ops=[b[2] * b[2].dag()], options=opts)
    return 1 - float(np.real(res.expect[0][-1]))


@pytest.mark.parametrize("area,gamma_ratio,detuning_ratio", [(8.0, 0.0, 0.0), (20.0, 0.05, 0.0), (15.0, 0.02, 0.3)])
def test_transfer_matches_an_independent_master_equation(area, gamma_ratio, detuning_ratio):
    width = 1e-6
    omega0 = area / width
    pulse = StirapPulse(rabi_peak=omega0, width=width, decay=gamma_ratio * omega0, detuning=detuning_ratio * omega0)
    ref = _qutip_transfer(omega0, width, width, gamma_ratio * omega0, detuning_ratio * omega0)
    assert pulse.infidelity().total == pytest.approx(ref, abs=1e-6)
    if gamma_ratio == 0:
        assert pulse.infidelity().spontaneous_emission == 0.0


def test_adiabatic_limit_transfers_completely():
    # Gamma = 0: the adiabatic-following error falls by decades as the pulse area grows
    err = StirapPulse(rabi_peak=1000.0, width=1.0).infidelity()
    assert err.total < 1e-4 and err.spontaneous_emission == 0.0
    assert StirapPulse(rabi_peak=20.0, width=1.0).infidelity().total > 10 * err.total
    # a pulse area of 1 is far from adiabatic: most population stays behind
    assert StirapPulse(rabi_peak=1.0, width=1.0).infidelity().total > 0.3


def test_spontaneous_emission_is_linear_in_a_weak_decay():
    # first order in Gamma (the loss is Gamma times the time spent in |2>)
    base = dict(rabi_peak=TWO_PI * 200e6, width=50e-9)
    se1 = StirapPulse(decay=TWO_PI * 0.5e6, **base).infidelity().spontaneous_emission
    se2 = StirapPulse(decay=TWO_PI * 1.0e6, **base).infidelity().spontaneous_emission
    assert se2 / se1 == pytest.approx(2.0, rel=0.02)


def test_error_budget_has_an_interior_optimum_in_pulse_width():
    # gate error falls with the width, the idle error of the waiting register grows with it
    regime = stirap_regimes()["relaxation_limited"]
    widths = np.geomspace(5e-9, 1e-6, 12)
    budget = []
    for w in widths:
        n = regime.hardware(float(w)).to_noise()
        budget.append(n.p2 + n.idle_x + n.idle_y + n.idle_z)
    k = int(np.argmin(budget))
    assert 0 < k < len(widths) - 1
    assert budget[0] > 3 * budget[k] and budget[-1] > 3 * budget[k]


def test_hardware_mapping():
    pulse = StirapPulse(rabi_peak=TWO_PI * 200e6, width=50e-9, decay=TWO_PI * 2e6)
    eps = pulse.infidelity().total
    hw = stirap_hardware(pulse, t1=1e-3, t2=1e-3, transfers_per_2q=3)
    assert isinstance(hw, HardwareParams)
    assert hw.gate_error_2q == pytest.approx(1 - (1 - eps) ** 3)
    assert hw.gate_time_2q == pytest.approx(3 * pulse.duration) and pulse.duration == pytest.approx(7 * 50e-9)


@pytest.mark.parametrize("kwargs,match", [
    (dict(rabi_peak=0.0, width=1.0), "rabi_peak"),
    (dict(rabi_peak=1.0, width=-1.0), "width"),
    (dict(rabi_peak=1.0, width=1.0, decay=math.nan), "decay"),
    (dict(rabi_peak=1.0, width=1.0, delay=-1.0), "delay"),
    (dict(rabi_peak=1.0, width=1.0, detuning=math.inf), "detuning"),
])
def test_bad_pulses_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StirapPulse(**kwargs)


def test_bad_transfer_counts_are_refused():
    with pytest.raises(ValueError, match="transfers_per_2q"):
        stirap_hardware(StirapPulse(rabi_peak=10.0, width=1.0), t1=1.0, t2=1.0, transfers_per_2q=0)
