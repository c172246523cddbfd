"""Noise parameters of a QEC round: the plain probabilities that circuits are built from.

`NoiseParams` is the one description of "how noisy is the hardware right now" that flows from
drift processes to circuit builders. Every field is a probability per event (per gate, per
layer, per round, per measurement) validated in [0, 1]; `eta` is the Z-bias of gate errors.

Where each error is inserted (see `qec_gym.codes.noise_model`):

| field | channel | where |
|---|---|---|
| ``p1`` | biased single-qubit Pauli channel of total probability p1 | after every 1-qubit Clifford |
| ``p2`` | biased two-qubit Pauli channel of total probability p2 | after every 2-qubit gate |
| ``eta`` | Z-bias: p_Z / (p_X + p_Y) of each qubit's marginal; 0.5 is unbiased (depolarising) | shapes p1 and p2 |
| ``bias_preserving`` | True: gate errors keep their bias; False: two-level-qubit gates convert it | shapes p2 |
| ``idle_x/y/z`` | Pauli channel (T1/T2 decoherence, see `physical.py`) | each idle qubit, each layer |
| ``readout_idle_x/y/z`` | extra Pauli channel (SI1000's resonator idle; readout T1/T2) | each qubit not measured or reset, in each layer that measures or resets |
| ``p_meas`` | classical flip of the outcome | every measurement |
| ``p_reset`` | reset into the wrong state | every reset |
| ``p_data`` | depolarising | each data qubit, start of each round |
| ``p_dephase`` | Z flip (phase noise) | each data qubit, start of each round |
| ``p_loss`` | erasure (photon loss), a random outcome on measured photons; decoded as depolarising unless heralded (`qec_gym.sim.erasure`) | every photon once per round: data at the round start, ancillas and the final readout just before measurement |
| ``crosstalk_zz/xx`` | correlated ZZ / XX | each pair of neighbouring qubits busy in the same layer |

Limits: each field is checked against the channel stim builds from it (``ValueError`` naming the
field and the fix otherwise): ``p1`` <= 3/4 and ``p2`` <= 15/16 when ``eta = 0.5`` (stim's
DEPOLARIZE1/DEPOLARIZE2; more than that "over-mixes": 3/4 and 15/16 are the fully depolarising
channels), <= 1 for a biased channel (PAULI_CHANNEL_1/2); ``p_data`` <= 3/4 (depolarising); every
other field <= 1, and the exclusive Pauli groups (``idle_*``, ``readout_idle_*``, ``crosstalk_*``)
sum to <= 1. `NoiseParams.scaled` clips to these limits, so it never returns unusable noise.

Bias-preserving gates, by preset (see `NoiseParams.bias_preserving`): every preset here keeps the
default ``bias_preserving=True``; ``uniform``, ``sd6``, ``si1000``, ``code_capacity`` and
``phenomenological`` are unbiased (``eta = 0.5``), where the option changes nothing, and
``biased(p, eta)`` takes ``bias_preserving`` as an argument (True, the XZZX literature's
assumption, Bonilla Ataides et al. 2021). Hardware presets set it in `qec_gym.noise.physical`
(``superconducting`` and ``photonic``: False, two-level qubits). Registered envs: SurfaceSwitch,
SurfaceSwitchRaw and DecoderCalibration use ``uniform`` (unbiased: the option is moot);
PhotonicSwitch uses ``HardwareParams.photonic`` (False, unbiased); CatSwitch uses the cat channel
(True: the cat CX preserves the bias, Puri et al. 2020, Guillaud & Mirrahimi 2019).

Example:
    >>> from qec_gym.noise import NoiseParams
    >>> n = NoiseParams.uniform(1e-3)
    >>> n.p2, n.p_meas
    (0.001, 0.001)
    >>> n.scaled(2.0).p2
    0.002
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields

_PROBABILITY_FIELDS = (
    "p1",
    "p2",
    "idle_x",
    "idle_y",
    "idle_z",
    "p_meas",
    "p_reset",
    "p_data",
    "p_dephase",
    "p_loss",
    "crosstalk_zz",
    "crosstalk_xx",
    "readout_idle_x",
    "readout_idle_y",
    "readout_idle_z",
)

# Largest probability stim accepts for the channel each field becomes; the gate channels are
# depolarising (DEPOLARIZE1/2) at eta = 0.5 and Pauli channels otherwise (see `_limit`).
_DEPOLARISING_LIMIT = {"p1": 0.75, "p2": 15 / 16, "p_data": 0.75}
_EXCLUSIVE_GROUPS = (
    ("idle_x", "idle_y", "idle_z"),
    ("readout_idle_x", "readout_idle_y", "readout_idle_z"),
    ("crosstalk_zz", "crosstalk_xx"),
)


@dataclass(frozen=True)
class NoiseParams:
    """Error probabilities of one QEC round (all default to zero: a noiseless round).

    Args:
        p1: Total error probability after each single-qubit gate (<= 3/4 at eta = 0.5, else <= 1).
        p2: Total error probability after each two-qubit gate (<= 15/16 at eta = 0.5, else <= 1).
        eta: Z-bias of gate errors, p_Z / (p_X + p_Y) of every qubit's marginal channel
            (Bonilla Ataides et al. 2021), for one- and two-qubit gates alike (see
            `qec_gym.codes.noise_model.biased_pauli2` for how the two-qubit channel is built);
            0.5 makes the gate channels depolarising, large eta makes them mostly Z.
        idle_x: X error probability per idle qubit per circuit layer.
        idle_y: Y error probability per idle qubit per circuit layer.
        idle_z: Z error probability per idle qubit per circuit layer.
        p_meas: Measurement outcome flip probability.
        p_reset: Reset flip probability.
        p_data: Depolarising probability per data qubit at the start of each round.
        p_dephase: Z-flip probability per data qubit at the start of each round (phase noise).
        p_loss: Erasure (photon loss) probability per photon per round: data qubits at each round
            start, every measured qubit just before its measurement (`qec_gym.codes.noise_model`).
        crosstalk_zz: Correlated ZZ probability per neighbouring pair busy in the same layer.
        crosstalk_xx: Correlated XX probability per neighbouring pair busy in the same layer.
        readout_idle_x: X error probability, added to ``idle_x``, on each qubit that is not
            measured or reset in a layer that measures or resets others (SI1000's "resonator
            idle", Gidney et al. 2021; the readout part of T1/T2 idling in `physical.py`).
        readout_idle_y: Y error probability of the same readout idle.
        readout_idle_z: Z error probability of the same readout idle.
        bias_preserving: Whether two-qubit gates preserve the bias of their errors. True (the
            default; cat and Kerr-cat qubits, Puri et al. 2020): the biased channel acts after
            the gate as it is. False (two-level qubits, whose CX cannot preserve bias, Puri et al.
            2020, Sci. Adv. 6, eaay5901): each error happens at a uniformly random time during the
            gate and the rest of the gate acts on it, e.g. a Z on a CX's target becomes Z_t, Z_c Z_t,
            Y_t or Z_c Y_t with probabilities 3/8, 3/8, 1/8, 1/8 (see
            `qec_gym.codes.noise_model.converted_pauli2`). No effect at ``eta = 0.5``.

    Raises:
        ValueError: a probability outside its channel's limits (see the module docstring) or NaN,
            an exclusive group summing above 1, or eta not positive and finite.
        TypeError: a probability that is not a real number, or ``bias_preserving`` not a bool.
    """

    p1: float = 0.0
    p2: float = 0.0
    eta: float = 0.5
    idle_x: float = 0.0
    idle_y: float = 0.0
    idle_z: float = 0.0
    p_meas: float = 0.0
    p_reset: float = 0.0
    p_data: float = 0.0
    p_dephase: float = 0.0
    p_loss: float = 0.0
    crosstalk_zz: float = 0.0
    crosstalk_xx: float = 0.0
    readout_idle_x: float = 0.0
    readout_idle_y: float = 0.0
    readout_idle_z: float = 0.0
    bias_preserving: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.eta, bool) or not isinstance(self.eta, (int, float)) or not (
            math.isfinite(self.eta) and self.eta > 0
        ):
            raise ValueError(
                f"NoiseParams.eta={self.eta!r} must be a positive finite Z-bias "
                "(0.5 = depolarising, 100 = strongly Z-biased)."
            )
        object.__setattr__(self, "eta", float(self.eta))
        if not isinstance(self.bias_preserving, bool):
            raise TypeError(
                f"NoiseParams.bias_preserving must be True or False, got {self.bias_preserving!r}."
            )
        for name in _PROBABILITY_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f"NoiseParams.{name} must be a float probability, got {value!r}.")
            if math.isnan(value) or value < 0.0:
                raise ValueError(
                    f"NoiseParams.{name}={value!r} is not a probability: pass a value in [0, 1]."
                )
            limit = _limit(name, self.eta)
            if value > limit:
                why = (
                    f"{limit:g} is the fully depolarising limit of its depolarising channel "
                    "(stim refuses more: it over-mixes)"
                    if limit < 1.0
                    else "a probability is at most 1"
                )
                raise ValueError(f"NoiseParams.{name}={value!r} is too large: {why}; pass {name} <= {limit:g}.")
            object.__setattr__(self, name, float(value))
        for group in _EXCLUSIVE_GROUPS:
            if sum(getattr(self, n) for n in group) > 1.0:
                raise ValueError(
                    f"{' + '.join(group)} exceeds 1: they are exclusive Pauli errors; lower them."
                )

    # ----------------------------------------------------------------- presets
    @classmethod
    def uniform(cls, p: float) -> NoiseParams:
        """stim's four uniform knobs at p (``docs/reference-numbers.md``: stim-uniform(p)).

        Gates, resets, measurements and round-start data depolarisation all at p; no idling.

        Raises:
            ValueError: p outside [0, 3/4] (stim's depolarising channels over-mix above 3/4).
        """
        _check_preset_p("uniform", p, 0.75)
        return cls(p1=p, p2=p, p_meas=p, p_reset=p, p_data=p)

    @classmethod
    def sd6(cls, p: float) -> NoiseParams:
        """Standard depolarising (SD6, Gidney et al. 2021): every gate, idle, reset, measure at p.

        Raises:
            ValueError: p outside [0, 3/4].
        """
        _check_preset_p("sd6", p, 0.75)
        return cls(p1=p, p2=p, p_meas=p, p_reset=p, idle_x=p / 3, idle_y=p / 3, idle_z=p / 3)

    @classmethod
    def si1000(cls, p: float) -> NoiseParams:
        """Superconducting-inspired SI1000 (Gidney et al. 2021, arXiv:2108.10457, Table 2).

        DEPOLARIZE2(p) after two-qubit gates, DEPOLARIZE1(p/10) after one-qubit gates and on
        idle qubits, reset flips 2p, measurement flips 5p, and DEPOLARIZE1(2p) on every qubit
        that idles while others are measured or reset (``readout_idle_*``, on top of the p/10
        idle, as in the paper's reference code). Rotated surface d=3, rounds = 3, p = 2e-3:
        3.8e-3 logical error per round (2.2e-3 without the readout idle).

        Raises:
            ValueError: p outside [0, 1/5] (the measurement flip 5p would exceed 1).

        Example:
            >>> n = NoiseParams.si1000(1e-3)
            >>> round(n.readout_idle_x * 3, 6), n.p_meas
            (0.002, 0.005)
        """
        _check_preset_p("si1000", p, 0.2)
        return cls(
            p1=p / 10,
            p2=p,
            p_meas=5 * p,
            p_reset=2 * p,
            idle_x=p / 30,
            idle_y=p / 30,
            idle_z=p / 30,
            readout_idle_x=2 * p / 3,
            readout_idle_y=2 * p / 3,
            readout_idle_z=2 * p / 3,
        )

    @classmethod
    def code_capacity(cls, p: float) -> NoiseParams:
        """Independent phase flips at p on data qubits only; use with ``rounds=1``.

        In an X-basis memory this is the bit-flip code-capacity model (MWPM threshold 10.3%).
        Z flips are invisible to a Z-basis memory (e.g. the bit-flip ``repetition`` code), which
        then reports no logical error: use an X-basis memory.
        """
        _check_preset_p("code_capacity", p, 1.0)
        return cls(p_dephase=p)

    @classmethod
    def phenomenological(cls, p: float) -> NoiseParams:
        """Phase flips on data qubits each round and measurement flips, both at p (X-basis memories)."""
        _check_preset_p("phenomenological", p, 1.0)
        return cls(p_dephase=p, p_meas=p)

    @classmethod
    def biased(cls, p: float, eta: float, *, bias_preserving: bool = True) -> NoiseParams:
        """stim-uniform(p) with Z-biased gate and round-start data errors of bias ``eta``.

        Data errors follow the same split as the gates, p_X = p_Y = p / (2 (eta + 1)) and
        p_Z = p - 2 p_X, written as depolarising ``p_data = 3 p_X`` plus ``p_dephase = p_Z - p_X``
        (exact to first order). ``eta = 0.5`` gives back ``uniform(p)``. ``bias_preserving``
        chooses bias-preserving two-qubit gates (True: cat qubits, the XZZX literature's
        assumption) or two-level-qubit gates that convert Z errors (False).
        """
        if not (math.isfinite(eta) and eta >= 0.5):
            raise ValueError(f"biased() needs eta >= 0.5 (0.5 = unbiased), got {eta!r}.")
        _check_preset_p("biased", p, 0.75 if eta == 0.5 else 1.0)
        px = p / (2 * (eta + 1))
        return cls(
            p1=p, p2=p, eta=eta, p_meas=p, p_reset=p, p_data=3 * px, p_dephase=max(0.0, p - 3 * px),
            bias_preserving=bias_preserving,
        )

    # ------------------------------------------------------------ transforms
    def scaled(self, factor: float) -> NoiseParams:
        """All probabilities multiplied by ``factor``, clipped to their limits; eta unchanged.

        Clipping rule: each field saturates at its channel's limit (3/4 for ``p1`` and
        ``p_data``, 15/16 for ``p2`` when depolarising, 1 otherwise; see the module docstring),
        and an exclusive Pauli group whose sum would exceed 1 is shrunk by one common factor
        (keeping its shape). So a scaled noise is always usable, however large ``factor`` is.

        Raises:
            ValueError: if factor is negative or not finite.

        Example:
            >>> n = NoiseParams.uniform(0.5).scaled(2.0)
            >>> n.p1, n.p2, n.p_meas
            (0.75, 0.9375, 1.0)
        """
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not (
            math.isfinite(factor) and factor >= 0
        ):
            raise ValueError(f"scale factor must be finite and >= 0, got {factor!r}.")
        out = {n: min(_limit(n, self.eta), getattr(self, n) * factor) for n in _PROBABILITY_FIELDS}
        return self.replace(**_shrink_groups(out))

    def replace(self, **changes: float | bool) -> NoiseParams:
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(
                f"unknown NoiseParams field(s) {sorted(unknown)}; valid: {[f.name for f in fields(self)]}."
            )
        return dataclasses.replace(self, **changes)

    def quantized(self, bins_per_decade: int = 64) -> NoiseParams:
        """Each probability rounded to a log grid (``bins_per_decade`` points per factor 10).

        Drifting noise changes every window; quantising lets compiled circuits and decoders be
        reused (relative error at most ``10**(0.5/bins_per_decade) - 1``, 1.8% at 64). A
        probability above 1/2 is quantised through its complement ``1 - p`` (the flip a decoder
        sees), so 0.99 stays 0.99 instead of rounding to a deterministic 1.

        Example:
            >>> NoiseParams(p_meas=0.99).quantized(20).p_meas
            0.99
        """
        if bins_per_decade < 1:
            raise ValueError("bins_per_decade must be >= 1.")
        out = {}
        for name in _PROBABILITY_FIELDS:
            v = getattr(self, name)
            if 0 < v < 1:
                c = min(v, 1 - v)
                q = 10 ** (round(math.log10(c) * bins_per_decade) / bins_per_decade)
                q = q if v <= 0.5 else 1 - q
                v = min(_limit(name, self.eta), float(f"{q:.6g}"))
            out[name] = v
        out = _shrink_groups(out)  # rounding up can push a full group past 1
        # eta is not quantised: it rarely drifts, and 0.5 must stay exactly depolarising.
        return NoiseParams(**out, eta=self.eta, bias_preserving=self.bias_preserving)

    def as_dict(self) -> dict[str, float]:
        """Field name -> value, for logging and CSV rows."""
        return dataclasses.asdict(self)

    @property
    def is_noiseless(self) -> bool:
        """True when every probability is zero."""
        return all(getattr(self, n) == 0.0 for n in _PROBABILITY_FIELDS)

    def strength(self) -> float:
        """A scalar summary: the largest of the per-operation probabilities.

        Used for plotting and grids; not a substitute for the full parameter set.
        """
        idle = self.idle_x + self.idle_y + self.idle_z
        readout_idle = self.readout_idle_x + self.readout_idle_y + self.readout_idle_z
        xtalk = self.crosstalk_zz + self.crosstalk_xx
        return max(
            self.p1, self.p2, idle, readout_idle, self.p_meas, self.p_reset, self.p_data,
            self.p_dephase, self.p_loss, xtalk,
        )


def _shrink_groups(values: dict[str, float]) -> dict[str, float]:
    """``values`` with each exclusive group summing above 1 scaled (keeping its ratios) to just
    under 1; the 1e-12 margin absorbs the rounding of the sum."""
    for group in _EXCLUSIVE_GROUPS:
        total = sum(values[n] for n in group)
        if total > 1.0:
            values.update({n: values[n] * (1 - 1e-12) / total for n in group})
    return values


def _check_preset_p(preset: str, p: float, limit: float) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or math.isnan(p) or not 0.0 <= p <= limit:
        raise ValueError(
            f"NoiseParams.{preset}(p={p!r}): p must be in [0, {limit:g}] "
            f"(larger p makes a channel of this preset invalid in stim); pass a smaller p."
        )


def probability_limit(name: str, eta: float) -> float:
    """Largest value of probability field ``name`` that stim accepts for its channel at bias ``eta``.

    Example:
        >>> probability_limit("p2", 0.5), probability_limit("p2", 10.0), probability_limit("p_meas", 0.5)
        (0.9375, 1.0, 1.0)
    """
    if name == "p_data" or (name in _DEPOLARISING_LIMIT and eta == 0.5):
        return _DEPOLARISING_LIMIT[name]
    return 1.0


_limit = probability_limit


PROBABILITY_FIELDS = _PROBABILITY_FIELDS
EXCLUSIVE_GROUPS = _EXCLUSIVE_GROUPS
"""Groups of fields that are exclusive errors of one channel (their sum is at most 1)."""
