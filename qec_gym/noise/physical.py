"""Hardware figures -> the plain probabilities of `NoiseParams`.

Each conversion states its formula and where it comes from. Times are in seconds (any unit works as
long as all times of one call share it); losses in dB; phase-noise variances in rad^2.

| hardware figure | formula | `NoiseParams` field |
|---|---|---|
| loss of ``dB`` decibels | ``1 - 10**(-dB/10)`` | ``p_loss`` |
| n components + detector | ``1 - 10**(-n dB/10) * eff`` | ``p_loss`` |
| T1, T2, idle time t | ``p_x = p_y = (1-e^{-t/T1})/4``, ``p_z = (1-e^{-t/T2})/2 - p_x`` | ``idle_*`` |
| phase noise sigma^2 | ``(1 - e^{-sigma^2/2})/2`` | ``p_dephase`` |

(The T1/T2 twirl also gives ``readout_idle_*``, the idle of qubits waiting while others are
measured and reset, see `HardwareParams.to_noise`.)

Example:
    >>> from qec_gym.noise.physical import HardwareParams, loss_db_to_probability
    >>> round(loss_db_to_probability(0.1), 4)
    0.0228
    >>> noise = HardwareParams.superconducting().to_noise()
    >>> noise.p2
    0.0033
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from qec_gym.noise.params import NoiseParams

__all__ = [
    "HardwareParams",
    "erasure_probability",
    "idle_pauli_from_t1_t2",
    "loss_db_to_probability",
    "phase_noise_to_z_flip",
]


# ------------------------------------------------------------------------------------- helpers
def _check_real(name: str, value: float, *, allow_inf: bool = False) -> float:
    """``value`` as a float, or a ValueError naming ``name`` if it is not a real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise ValueError(f"{name}={value!r} must be a finite number; pass a real value.")
    return value


def _check_nonnegative(name: str, value: float, *, allow_inf: bool = False) -> float:
    value = _check_real(name, value, allow_inf=allow_inf)
    if value < 0:
        raise ValueError(f"{name}={value!r} is negative; pass a value >= 0.")
    return value


def _check_positive(name: str, value: float, *, allow_inf: bool = False) -> float:
    value = _check_real(name, value, allow_inf=allow_inf)
    if value <= 0:
        raise ValueError(f"{name}={value!r} must be > 0.")
    return value


def _check_probability(name: str, value: float) -> float:
    value = _check_real(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}={value!r} is not a probability; pass a value in [0, 1].")
    return value


# --------------------------------------------------------------------------------- conversions
def loss_db_to_probability(db: float) -> float:
    """Fraction of photons lost by a component of ``db`` decibels of loss.

    Formula: the transmission of a loss of L dB is ``T = 10**(-L/10)`` (definition of the decibel
    for power ratios), so the loss probability per photon is ``1 - 10**(-L/10)``
    (``docs/reference-numbers.md``: 0.1 dB = 2.3%).

    Args:
        db: Loss in dB, >= 0 and finite.

    Returns:
        The probability in [0, 1) that a photon is lost.

    Raises:
        ValueError: if ``db`` is negative, NaN or infinite.

    Example:
        >>> round(loss_db_to_probability(0.1), 5)
        0.02276
        >>> loss_db_to_probability(0.0)
        0.0
    """
    db = _check_nonnegative("db", db)
    # -expm1(x) = 1 - e^x without cancellation for tiny losses (0.001 dB -> 2.3e-4 exactly).
    return 0.0 - math.expm1(-db * math.log(10) / 10)


def erasure_probability(
    loss_db_per_component: float,
    n_components: int,
    *,
    detector_efficiency: float = 1.0,
) -> float:
    """Per-round loss (erasure) probability of a photon through ``n_components`` lossy parts.

    Formula: transmissions of components in series multiply, and an inefficient detector is one
    more loss of transmission ``detector_efficiency``:
    ``p_loss = 1 - 10**(-n * dB / 10) * detector_efficiency``.

    Args:
        loss_db_per_component: Loss of each component in dB (>= 0).
        n_components: Number of components a photon passes per QEC round (>= 0).
        detector_efficiency: Probability in (0, 1] that a photon reaching the detector clicks.

    Returns:
        The probability in [0, 1) that the photon is lost within the round.

    Raises:
        ValueError: negative or non-finite loss, negative component count, or efficiency
            outside (0, 1].

    Example:
        >>> round(erasure_probability(0.01, 10), 5)  # 0.1 dB in total
        0.02276
        >>> round(erasure_probability(0.0, 0, detector_efficiency=0.98), 3)
        0.02
    """
    db = _check_nonnegative("loss_db_per_component", loss_db_per_component)
    if isinstance(n_components, bool) or not isinstance(n_components, int) or n_components < 0:
        raise ValueError(f"n_components={n_components!r} must be an integer >= 0.")
    eff = _check_real("detector_efficiency", detector_efficiency)
    if not 0.0 < eff <= 1.0:
        raise ValueError(
            f"detector_efficiency={eff!r} must be in (0, 1]; 1.0 means a perfect detector."
        )
    log_transmission = -n_components * db * math.log(10) / 10 + math.log(eff)
    return 0.0 - math.expm1(log_transmission)


def idle_pauli_from_t1_t2(t1: float, t2: float, *, duration: float) -> tuple[float, float, float]:
    """Pauli-twirled amplitude damping + dephasing of a qubit idling for ``duration``.

    Formula (Pauli twirling approximation; Ghosh, Fowler & Geller, PRA 86, 062318 (2012);
    Tomita & Svore, PRA 90, 062320 (2014)):
    ``p_x = p_y = (1 - exp(-t/T1)) / 4`` and ``p_z = (1 - exp(-t/T2)) / 2 - (1 - exp(-t/T1)) / 4``.
    Physical qubits obey ``T2 <= 2 T1``, which keeps ``p_z >= 0``.

    Args:
        t1: Energy-relaxation time T1 (> 0; ``math.inf`` for none).
        t2: Coherence time T2 (> 0, at most 2 T1; ``math.inf`` only if T1 is infinite too).
        duration: Idle time t (>= 0), in the same unit as t1 and t2.

    Returns:
        ``(p_x, p_y, p_z)``, the Pauli error probabilities of the idle.

    Raises:
        ValueError: non-positive or NaN times, negative duration, or ``T2 > 2 T1``.

    Example:
        >>> px, py, pz = idle_pauli_from_t1_t2(50e-6, 70e-6, duration=40e-9)
        >>> round(px * 1e4, 3), round(pz * 1e4, 3)
        (1.999, 0.857)
    """
    t1 = _check_positive("t1", t1, allow_inf=True)
    t2 = _check_positive("t2", t2, allow_inf=True)
    duration = _check_nonnegative("duration", duration)
    # Allow a relative 1e-12 of slack so that t2 = 2 * t1 computed in floats is accepted.
    if t2 > 2 * t1 * (1 + 1e-12):
        raise ValueError(
            f"t2={t2!r} exceeds 2 * t1 = {2 * t1!r}: physical qubits have T2 <= 2 T1. "
            "Check the units, or pass T2 (echo/CPMG or Ramsey) no larger than 2 T1."
        )
    decay1 = -math.expm1(-duration / t1)  # 1 - exp(-t/T1), accurate for t << T1
    decay2 = -math.expm1(-duration / t2)
    p_xy = decay1 / 4
    # max(): rounding can give -1e-20 at T2 = 2 T1; the exact value is >= 0.
    p_z = max(0.0, decay2 / 2 - decay1 / 4)
    return (p_xy, p_xy, p_z)


def phase_noise_to_z_flip(variance: float) -> float:
    """Z-flip probability of a random phase kick phi ~ N(0, sigma^2).

    Formula: a phase kick ``exp(-i phi Z / 2)`` averaged over phi is a dephasing channel that keeps
    the coherence ``E[cos phi] = exp(-sigma^2 / 2)`` (the Gaussian characteristic function), i.e.
    a Z flip with probability ``p_z = (1 - exp(-sigma^2 / 2)) / 2``; for small sigma
    ``p_z ~ sigma^2 / 4``.

    Args:
        variance: Phase variance sigma^2 in rad^2 per round (>= 0, finite).

    Returns:
        The Z-flip probability in [0, 0.5).

    Raises:
        ValueError: negative, NaN or infinite variance.

    Example:
        >>> round(phase_noise_to_z_flip(0.01), 6)
        0.002494
    """
    variance = _check_nonnegative("variance", variance)
    return (0.0 - math.expm1(-variance / 2)) / 2


# ------------------------------------------------------------------------------ HardwareParams
@dataclass(frozen=True)
class HardwareParams:
    """Hardware figures of a qubit platform, turned into `NoiseParams` by `to_noise`.

    Times are in seconds. Error rates are probabilities per operation (e.g. from randomised
    benchmarking); they include the decoherence during the gate itself, so `to_noise` adds T1/T2
    noise only to qubits that *idle*.

    Args:
        t1: Energy-relaxation time T1 in s (``math.inf`` for none, e.g. photons).
        t2: Coherence time T2 in s, at most 2 T1 (``math.inf`` only with infinite T1).
        gate_time_1q: Duration of a single-qubit gate in s.
        gate_time_2q: Duration of a two-qubit gate in s.
        measurement_time: Duration of a measurement in s.
        reset_time: Duration of a reset in s.
        gate_error_1q: Error probability per single-qubit gate.
        gate_error_2q: Error probability per two-qubit gate.
        measurement_error: Probability that a measurement outcome is flipped.
        reset_error: Probability that a reset prepares the wrong state.
        eta: Z-bias of gate errors, p_Z / (p_X + p_Y) (0.5 = depolarising).
        loss_db_per_component: Photon loss per optical component in dB.
        components_per_round: Optical components a photon passes through per QEC round.
        detector_efficiency: Probability in (0, 1] that a photon reaching the detector clicks.
        phase_noise_variance: Variance in rad^2 of the random phase a qubit picks up per round.
        crosstalk_zz: Correlated ZZ probability per neighbouring pair busy in the same layer.
        crosstalk_xx: Correlated XX probability per neighbouring pair busy in the same layer.
        bias_preserving: Whether two-qubit gates preserve the bias of their errors (True: cat
            qubits; False: two-level qubits, whose CX converts Z errors; see
            `NoiseParams.bias_preserving`). Matters only when ``eta != 0.5``.

    Raises:
        ValueError: a time not positive, T2 > 2 T1, a probability outside [0, 1], a negative loss,
            a negative component count, or an efficiency outside (0, 1].

    Example:
        >>> hw = HardwareParams.photonic()
        >>> round(hw.to_noise().p_loss, 4)
        0.0164
    """

    t1: float = math.inf
    t2: float = math.inf
    gate_time_1q: float = 0.0
    gate_time_2q: float = 0.0
    measurement_time: float = 0.0
    reset_time: float = 0.0
    gate_error_1q: float = 0.0
    gate_error_2q: float = 0.0
    measurement_error: float = 0.0
    reset_error: float = 0.0
    eta: float = 0.5
    loss_db_per_component: float = 0.0
    components_per_round: int = 0
    detector_efficiency: float = 1.0
    phase_noise_variance: float = 0.0
    crosstalk_zz: float = 0.0
    crosstalk_xx: float = 0.0
    bias_preserving: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.bias_preserving, bool):
            raise TypeError(
                f"HardwareParams.bias_preserving must be True or False, got {self.bias_preserving!r}."
            )
        set_ = lambda name, v: object.__setattr__(self, name, v)  # noqa: E731 (frozen dataclass)
        set_("t1", _check_positive("HardwareParams.t1", self.t1, allow_inf=True))
        set_("t2", _check_positive("HardwareParams.t2", self.t2, allow_inf=True))
        if self.t2 > 2 * self.t1 * (1 + 1e-12):
            raise ValueError(
                f"HardwareParams.t2={self.t2!r} exceeds 2 * t1 = {2 * self.t1!r}: physical qubits "
                "have T2 <= 2 T1. Check the units (seconds) or lower t2."
            )
        for name in ("gate_time_1q", "gate_time_2q", "measurement_time", "reset_time"):
            set_(name, _check_nonnegative(f"HardwareParams.{name}", getattr(self, name)))
        for name in (
            "gate_error_1q",
            "gate_error_2q",
            "measurement_error",
            "reset_error",
            "crosstalk_zz",
            "crosstalk_xx",
        ):
            set_(name, _check_probability(f"HardwareParams.{name}", getattr(self, name)))
        set_("eta", _check_positive("HardwareParams.eta", self.eta))
        set_(
            "loss_db_per_component",
            _check_nonnegative("HardwareParams.loss_db_per_component", self.loss_db_per_component),
        )
        n = self.components_per_round
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(
                f"HardwareParams.components_per_round={n!r} must be an integer >= 0."
            )
        eff = _check_real("HardwareParams.detector_efficiency", self.detector_efficiency)
        if not 0.0 < eff <= 1.0:
            raise ValueError(
                f"HardwareParams.detector_efficiency={eff!r} must be in (0, 1] (1 = perfect)."
            )
        set_("detector_efficiency", eff)
        set_(
            "phase_noise_variance",
            _check_nonnegative("HardwareParams.phase_noise_variance", self.phase_noise_variance),
        )
        if self.crosstalk_zz + self.crosstalk_xx > 1.0:
            raise ValueError("crosstalk_zz + crosstalk_xx exceeds 1: they are exclusive errors.")

    # ----------------------------------------------------------------------------- presets
    @classmethod
    def superconducting(cls) -> HardwareParams:
        """A transmon processor of the 2023-2024 generation.

        Sources: T1 = 68 us, T2 (CPMG) = 89 us, CZ error 0.33%, readout error 0.77% and a 1.1 us
        QEC cycle are the means reported for Google's Willow chip (Google Quantum AI,
        arXiv:2408.13687); T1 ~ 50 us also matches Burnett et al. 2019 (mean T1 49 us). The
        single-qubit error (0.1%), gate times (25 ns, 42 ns), measurement (500 ns) and reset
        (160 ns) durations and the reset error are typical figures recalled from the same line of
        work, not quoted values: refine them before using them as tight references. With
        `qec_gym.codes.build_circuit` and pymatching (rotated memory, rounds = d, 2x10^4 shots)
        the logical error per shot is 1.5/0.88/0.55% at d=3/5/7 (each idle counted once, see
        `to_noise`; 1.5/1.0/0.56% with the former double-counted readout idle): below threshold.
        Transmons are two-level qubits, so ``bias_preserving=False`` (no effect at eta = 0.5).
        These gate times are the default `qec_gym.codes.GateTimes` (one source of truth).

        Example:
            >>> hw = HardwareParams.superconducting()
            >>> hw.t1, hw.gate_error_2q
            (6.8e-05, 0.0033)
        """
        return cls(
            t1=68e-6,
            t2=89e-6,
            gate_time_1q=25e-9,
            gate_time_2q=42e-9,
            measurement_time=500e-9,
            reset_time=160e-9,
            gate_error_1q=1e-3,
            gate_error_2q=3.3e-3,
            measurement_error=7.7e-3,
            reset_error=2e-3,
            bias_preserving=False,
        )

    @classmethod
    def photonic(cls) -> HardwareParams:
        """A photonic platform whose dominant error is photon loss.

        Photons do not decay (T1 = T2 = inf); a photon passes ``components_per_round = 10`` optical
        components per round at 0.005 dB each (0.05 dB, 1.1% loss) and is detected with
        efficiency 0.995, giving ``p_loss`` = 1.6% per round. These are *target* figures in the
        range that fusion-based architectures need (Bartolucci et al. 2023 tolerate 2.7% loss per
        photon; Melkozerov et al. 2024, arXiv:2403.14811, a total efficiency above 0.973), chosen
        so that the surface code sits below threshold. Loss acts on every photon once per round
        it lives through (data photons at each round start; ancillas and the final data readout
        as measurement erasures, see `qec_gym.codes.noise_model`): with
        `qec_gym.codes.build_circuit` (losses twirled, no heralds) and pymatching, rotated memory,
        rounds = d, 2x10^4 shots, the logical error per shot is 1.48/0.76/0.28% at d=3/5/7 at
        this preset (0.84/0.43/0.14% when only data photons were lost), still falls with d at
        4.2% loss (7.1/6.5/5.5%) and rises at 5.5% (9.9/10.8/11.3%): the threshold lies between.
        Present-day components are lossier: 0.05 dB each would give 11% per round. The phase
        noise (1e-3 rad^2 per round, p_z = 2.5e-4) and the gate, measurement and reset errors
        (1e-4, 1e-3, 1e-3, 1e-3) are illustrative. Photonic qubits' two-qubit gates do not preserve a
        Z bias, so ``bias_preserving=False`` (no effect at eta = 0.5).

        Example:
            >>> hw = HardwareParams.photonic()
            >>> hw.components_per_round, hw.loss_db_per_component
            (10, 0.005)
        """
        return cls(
            gate_time_1q=1e-9,
            gate_time_2q=1e-9,
            measurement_time=1e-9,
            reset_time=1e-9,
            gate_error_1q=1e-4,
            gate_error_2q=1e-3,
            measurement_error=1e-3,
            reset_error=1e-3,
            loss_db_per_component=0.005,
            components_per_round=10,
            detector_efficiency=0.995,
            phase_noise_variance=1e-3,
            bias_preserving=False,
        )

    # -------------------------------------------------------------------------- transforms
    def replace(self, **changes: float) -> HardwareParams:
        """A copy with some fields changed (validated again).

        Example:
            >>> HardwareParams.photonic().replace(components_per_round=20).components_per_round
            20
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(
                f"unknown HardwareParams field(s) {sorted(unknown)}; valid: {sorted(names)}."
            )
        return dataclasses.replace(self, **changes)

    @property
    def layer_duration(self) -> float:
        """Default duration of one circuit layer: the longer of the 1q and 2q gate times (s)."""
        return max(self.gate_time_1q, self.gate_time_2q)

    def to_noise(self, *, layer_duration: float | None = None) -> NoiseParams:
        """The `NoiseParams` of one QEC round on this hardware.

        Mapping:

        | field | from |
        |---|---|
        | ``p1``, ``p2``, ``eta``, ``bias_preserving`` | ``gate_error_1q``, ``gate_error_2q``, ``eta``, ``bias_preserving`` |
        | ``idle_x/y/z`` | `idle_pauli_from_t1_t2` over ``layer_duration`` |
        | ``readout_idle_x/y/z`` | `idle_pauli_from_t1_t2` over ``measurement_time + reset_time - layer_duration`` |
        | ``p_meas``, ``p_reset`` | ``measurement_error``, ``reset_error`` |
        | ``p_loss`` | `erasure_probability` (components in series, detector efficiency) |
        | ``p_dephase`` | `phase_noise_to_z_flip` |
        | ``crosstalk_zz/xx`` | as given |

        Idle accounting (each idle counted once): a qubit untouched by a layer idles for
        ``layer_duration`` (``idle_*``). In a layer that measures and resets the ancillas (the
        templates' ``MR``, lasting ``measurement_time + reset_time``), every other qubit (the data)
        also gets ``readout_idle_*`` for the rest of that time, so it idles
        ``measurement_time + reset_time`` in total. This is exact: the twirled T1/T2 channels of
        two idles compose into the one of their total time (the Pauli-twirled amplitude damping +
        dephasing has transfer-matrix diagonal ``(1, e^{-t/T2}, e^{-t/T2}, e^{-t/T1})``, and
        diagonals of these triangular transfer matrices multiply). Nothing is added at the round
        start, so the first round (which follows a reset, not a readout) has no readout idle. The
        channel is the exact asymmetric twirl (p_x = p_y, any p_z >= 0), never a depolarising
        stand-in. If the readout is shorter than a gate layer, the readout idle is 0 and that
        layer's idle (``layer_duration``) over-counts it.

        Args:
            layer_duration: Time of one circuit layer in s; defaults to `layer_duration`.

        Returns:
            The validated `NoiseParams`.

        Raises:
            ValueError: negative or non-finite ``layer_duration``.

        Example:
            >>> n = HardwareParams.superconducting().to_noise()
            >>> round(n.idle_x, 7), round(n.readout_idle_x, 6), round(n.readout_idle_z, 6)
            (0.0001544, 0.002262, 0.001198)
        """
        if layer_duration is None:
            layer_duration = self.layer_duration
        layer_duration = _check_nonnegative("layer_duration", layer_duration)
        idle_x, idle_y, idle_z = idle_pauli_from_t1_t2(self.t1, self.t2, duration=layer_duration)
        readout = max(0.0, self.measurement_time + self.reset_time - layer_duration)
        ro_x, ro_y, ro_z = idle_pauli_from_t1_t2(self.t1, self.t2, duration=readout)
        return NoiseParams(
            p1=self.gate_error_1q,
            p2=self.gate_error_2q,
            eta=self.eta,
            bias_preserving=self.bias_preserving,
            idle_x=idle_x,
            idle_y=idle_y,
            idle_z=idle_z,
            readout_idle_x=ro_x,
            readout_idle_y=ro_y,
            readout_idle_z=ro_z,
            p_meas=self.measurement_error,
            p_reset=self.reset_error,
            p_dephase=phase_noise_to_z_flip(self.phase_noise_variance),
            p_loss=erasure_probability(
                self.loss_db_per_component,
                self.components_per_round,
                detector_efficiency=self.detector_efficiency,
            ),
            crosstalk_zz=self.crosstalk_zz,
            crosstalk_xx=self.crosstalk_xx,
        )
