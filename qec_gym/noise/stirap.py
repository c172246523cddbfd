"""STIRAP-based control: pulse figures -> transfer infidelity -> `HardwareParams` of a register.

Stimulated Raman adiabatic passage moves population |1> -> |3> of a Lambda system through an
intermediate state |2> that decays at rate ``decay`` (Gamma), with a Stokes pulse (2-3) that
precedes a pump pulse (1-2): the counterintuitive order keeps the system in the dark state
``cos(theta)|1> - sin(theta)|3>``, ``tan(theta) = Omega_P / Omega_S``. Convention and model:
Vitanov, Rangelov, Shore and Bergmann, Rev. Mod. Phys. 89, 015006 (2017), Eqs. (1)-(3): in the
rotating-wave approximation

``H(t) = 1/2 [[0, Omega_P, 0], [Omega_P, 2 Delta - i Gamma, Omega_S], [0, Omega_S, 0]]``

(hbar = 1; the non-Hermitian ``-i Gamma / 2`` removes the population that decays out of |2>;
every such decay counts as a failed transfer, the conservative choice), with Gaussian pulses

``Omega_P(t) = Omega_0 exp(-((t - tau/2) / T)^2)``, ``Omega_S(t) = Omega_0 exp(-((t + tau/2) / T)^2)``.

The pulses are cut at three widths beyond their centres, so the transfer lasts ``tau + 6 T``.

Two error mechanisms pull against the register's decoherence (the trade-off this preset exists for):

* **non-adiabatic** loss (``Gamma = 0``): falls quickly as the pulse area ``Omega_0 T`` grows;
* **spontaneous emission** from |2>: in the adiabatic limit (first-order adiabatic elimination of the
  bright states) the intermediate population is ``4 theta'^2 / Omega^2``, so the loss is
  ``Gamma * int 4 theta'(t)^2 / Omega(t)^2 dt``, which falls as ``1 / (Omega_0^2 T)``;
* meanwhile every other qubit of the register idles for the gate's duration, and its T1/T2 error
  grows linearly with ``T``: at a fixed peak Rabi frequency, logical error against pulse width has an
  optimum (see `qec_gym.eval.qec_report`).

A STIRAP gate is mapped to `HardwareParams`: a single-qubit gate uses ``transfers_per_1q`` transfers and
a two-qubit gate ``transfers_per_2q`` (default 1 and 2: population out to an auxiliary level and back,
as in STIRAP-based geometric gates); a failed transfer is twirled into a depolarising error
(leakage treated as a Pauli error, the usual approximation for circuit-level simulation).

Example:
    >>> pulse = StirapPulse(rabi_peak=2 * 3.14159e6 * 10, width=1e-6, decay=2 * 3.14159e6 * 1)
    >>> err = pulse.infidelity()
    >>> err.total < 0.05, round(pulse.duration * 1e6, 3)
    (True, 7.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qec_gym.noise.physical import HardwareParams

__all__ = ["StirapInfidelity", "StirapPulse", "StirapRegime", "stirap_hardware", "stirap_regimes"]

_CUT = 3.0  # pulse cut, in widths beyond each centre


@dataclass(frozen=True)
class StirapInfidelity:
    """Transfer failure probabilities of one STIRAP transfer.

    Attributes:
        non_adiabatic: ``1 - P_3`` with no decay (the adiabatic-following error).
        spontaneous_emission: The extra failure the decay of |2> causes (``total - non_adiabatic``).
        total: ``1 - P_3`` with decay.
    """

    non_adiabatic: float
    spontaneous_emission: float
    total: float


@dataclass(frozen=True)
class StirapPulse:
    """Figures of a STIRAP transfer (angular frequencies in rad/s, times in s).

    Args:
        rabi_peak: Peak Rabi frequency ``Omega_0`` of pump and Stokes (rad/s), > 0.
        width: Gaussian width ``T`` (s), > 0.
        delay: Stokes-before-pump delay ``tau`` (s), >= 0; default ``width`` (near the optimum
            delay for Gaussian pulses, Vitanov et al. 2017, Sec. III).
        decay: Decay rate ``Gamma`` of the intermediate state's population (1/s), >= 0.
        detuning: One-photon detuning ``Delta`` (rad/s); two-photon resonance is assumed.

    Raises:
        ValueError: a figure outside its range, or not finite.
    """

    rabi_peak: float
    width: float
    decay: float = 0.0
    detuning: float = 0.0
    delay: float | None = None

    def __post_init__(self) -> None:
        for name, lo, strict in (("rabi_peak", 0.0, True), ("width", 0.0, True), ("decay", 0.0, False)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (
                    v <= lo if strict else v < lo):
                raise ValueError(f"StirapPulse.{name}={v!r} must be a finite number {'>' if strict else '>='} {lo}.")
        if isinstance(self.detuning, bool) or not math.isfinite(self.detuning):
            raise ValueError(f"StirapPulse.detuning={self.detuning!r} must be a finite number (rad/s).")
        delay = self.width if self.delay is None else self.delay
        if isinstance(delay, bool) or not math.isfinite(delay) or delay < 0:
            raise ValueError(f"StirapPulse.delay={self.delay!r} must be a finite number >= 0 (s), or None for the width.")
        object.__setattr__(self, "delay", float(delay))

    @property
    def area(self) -> float:
        """Dimensionless pulse area ``Omega_0 T`` (adiabatic when >> 1)."""
        return self.rabi_peak * self.width

    @property
    def duration(self) -> float:
        """Duration of one transfer in s: ``delay + 6 width`` (pulses cut at 3 widths)."""
        return self.delay + 2 * _CUT * self.width

    def rabi(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pump and Stokes Rabi frequencies (rad/s) at times ``t`` (s; 0 = midpoint of the transfer)."""
        t = np.asarray(t, dtype=np.float64)
        half = self.delay / 2
        return (self.rabi_peak * np.exp(-(((t - half) / self.width) ** 2)),
                self.rabi_peak * np.exp(-(((t + half) / self.width) ** 2)))

    def infidelity(self) -> StirapInfidelity:
        """Failure probabilities of the transfer, from the three-level Schrodinger equation.

        Integrated with scipy's DOP853 (rtol 1e-10) in units of the width, twice: without decay
        (non-adiabatic part) and with it.
        """
        na = 1.0 - self._transfer(decay=0.0)
        total = 1.0 - self._transfer(decay=self.decay) if self.decay > 0 else na
        return StirapInfidelity(non_adiabatic=max(na, 0.0), spontaneous_emission=max(total - na, 0.0), total=max(total, 0.0))

    def _transfer(self, *, decay: float) -> float:
        from scipy.integrate import solve_ivp

        w = self.width
        a, d, g = self.rabi_peak * w, self.detuning * w, decay * w  # dimensionless (time in widths)
        half = self.delay / (2 * w)

        def rhs(s, y):
            c = y[:3] + 1j * y[3:]
            op = a * math.exp(-((s - half) ** 2))
            os_ = a * math.exp(-((s + half) ** 2))
            # i dc/ds = H c
            dc = -0.5j * np.array([op * c[1], op * c[0] + (2 * d - 1j * g) * c[1] + os_ * c[2], os_ * c[1]])
            return np.concatenate([dc.real, dc.imag])

        s_end = half + _CUT
        sol = solve_ivp(rhs, (-s_end, s_end), np.array([1.0, 0, 0, 0, 0, 0]), method="DOP853", rtol=1e-10, atol=1e-12)
        if not sol.success:  # pragma: no cover - DOP853 on a smooth 3-level system
            raise RuntimeError(f"STIRAP integration failed: {sol.message}")
        c3 = sol.y[2, -1] + 1j * sol.y[5, -1]
        return float(abs(c3) ** 2)


def stirap_hardware(
    pulse: StirapPulse,
    *,
    t1: float,
    t2: float,
    transfers_per_1q: int = 1,
    transfers_per_2q: int = 2,
    measurement_time: float = 0.0,
    measurement_error: float = 0.0,
    reset_time: float = 0.0,
    reset_error: float = 0.0,
) -> HardwareParams:
    """`HardwareParams` of a register whose gates are STIRAP transfers.

    Gate error ``1 - (1 - eps)^k`` and gate time ``k * duration`` for ``k`` transfers per gate
    (``eps`` = `StirapPulse.infidelity` total); the other qubits idle for that long with T1/T2
    (applied by `HardwareParams.to_noise`).

    Raises:
        ValueError: a transfer count below 1, or invalid hardware figures (from `HardwareParams`).

    Example:
        >>> p = StirapPulse(rabi_peak=2 * 3.14159e7, width=1e-6, decay=6.28e6)
        >>> hw = stirap_hardware(p, t1=1e-3, t2=1e-3)
        >>> round(hw.gate_time_2q * 1e6, 1)
        14.0
    """
    for name, k in (("transfers_per_1q", transfers_per_1q), ("transfers_per_2q", transfers_per_2q)):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"{name}={k!r} must be an integer >= 1.")
    eps = pulse.infidelity().total
    return HardwareParams(
        t1=t1, t2=t2,
        gate_time_1q=transfers_per_1q * pulse.duration, gate_time_2q=transfers_per_2q * pulse.duration,
        gate_error_1q=1 - (1 - eps) ** transfers_per_1q, gate_error_2q=1 - (1 - eps) ** transfers_per_2q,
        measurement_time=measurement_time, measurement_error=measurement_error,
        reset_time=reset_time, reset_error=reset_error,
        bias_preserving=False,  # two-level qubits: CX converts Z errors (moot while gate errors are depolarising)
    )


@dataclass(frozen=True)
class StirapRegime:
    """An illustrative operating regime of STIRAP-controlled hardware (not one device's datasheet).

    Attributes:
        name: Short label.
        rabi_peak: Peak Rabi frequency (rad/s).
        decay: Intermediate-state decay rate (1/s).
        t1, t2: Coherence of the idling register (s).
        measurement_error: Readout flip probability (reset error equal).
        note: What the regime stands for.
    """

    name: str
    rabi_peak: float
    decay: float
    t1: float
    t2: float
    measurement_error: float
    note: str

    def hardware(self, width: float) -> HardwareParams:
        """`HardwareParams` at Gaussian pulse width ``width`` (s), delay = width."""
        pulse = StirapPulse(rabi_peak=self.rabi_peak, width=width, decay=self.decay)
        return stirap_hardware(pulse, t1=self.t1, t2=self.t2, measurement_error=self.measurement_error,
                               reset_error=self.measurement_error)


def stirap_regimes() -> dict[str, StirapRegime]:
    """Two regimes that bracket STIRAP-controlled registers (figures chosen to show the trade-off).

    * ``dephasing_limited``: Omega_0 = 2 pi x 200 MHz, Gamma = 2 pi x 2 MHz (an optical excited
      state), T1 = 10 ms, T2 = 0.5 ms: idling noise is mostly Z (a biased register).
    * ``relaxation_limited``: same pulses, T1 = 0.5 ms, T2 = 2 T1: unbiased idling noise.

    Readout and reset errors 1e-3. Excited-state widths of a few MHz and Rabi frequencies of tens of
    MHz are typical of optical Lambda systems (Vitanov et al. 2017, Sec. VII); the coherence times
    are illustrative.

    Example:
        >>> sorted(stirap_regimes())
        ['dephasing_limited', 'relaxation_limited']
    """
    two_pi = 2 * math.pi
    common = dict(rabi_peak=two_pi * 200e6, decay=two_pi * 2e6, measurement_error=1e-3)
    return {
        "dephasing_limited": StirapRegime("dephasing_limited", t1=10e-3, t2=0.5e-3,
                                          note="T2 << T1: Z-biased idling", **common),
        "relaxation_limited": StirapRegime("relaxation_limited", t1=0.5e-3, t2=1e-3,
                                           note="T2 = 2 T1: unbiased idling", **common),
    }
