"""Noise parameters of a QEC round: the plain probabilities that circuits are built from.

`NoiseParams` is the one description of "how noisy is the hardware right now" that flows from
drift processes to circuit builders. Every field is a probability per event (per gate, per
layer, per round, per measurement) validated in [0, 1]; `eta` is the Z-bias of gate errors.

Where each error is inserted (see `qec_gym.codes.noise_model`):

| field | channel | where |
|---|---|---|
| ``p1`` | biased single-qubit Pauli channel of total probability p1 | after every 1-qubit Clifford |
| ``p2`` | biased two-qubit Pauli channel of total probability p2 | after every 2-qubit gate |
| ``eta`` | Z-bias: p_Z / (p_X + p_Y); 0.5 is unbiased (depolarising) | shapes p1 and p2 |
| ``idle_x/y/z`` | Pauli channel (T1/T2 decoherence, see `physical.py`) | each idle qubit, each layer |
| ``p_meas`` | classical flip of the outcome | every measurement |
| ``p_reset`` | reset into the wrong state | every reset |
| ``p_data`` | depolarising | each data qubit, start of each round |
| ``p_dephase`` | Z flip (phase noise) | each data qubit, start of each round |
| ``p_loss`` | erasure (photon loss); decoded as depolarising | each data qubit, start of each round |
| ``crosstalk_zz/xx`` | correlated ZZ / XX | each pair of neighbouring qubits busy in the same layer |

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
)


@dataclass(frozen=True)
class NoiseParams:
    """Error probabilities of one QEC round (all default to zero: a noiseless round).

    Args:
        p1: Total error probability after each single-qubit gate.
        p2: Total error probability after each two-qubit gate.
        eta: Z-bias of gate errors, p_Z / (p_X + p_Y) (Bonilla Ataides et al. 2021); 0.5 makes
            the gate channels depolarising, large eta makes them mostly Z.
        idle_x: X error probability per idle qubit per circuit layer.
        idle_y: Y error probability per idle qubit per circuit layer.
        idle_z: Z error probability per idle qubit per circuit layer.
        p_meas: Measurement outcome flip probability.
        p_reset: Reset flip probability.
        p_data: Depolarising probability per data qubit at the start of each round.
        p_dephase: Z-flip probability per data qubit at the start of each round (phase noise).
        p_loss: Erasure (photon loss) probability per data qubit per round.
        crosstalk_zz: Correlated ZZ probability per neighbouring pair busy in the same layer.
        crosstalk_xx: Correlated XX probability per neighbouring pair busy in the same layer.

    Raises:
        ValueError: a probability outside [0, 1] or NaN, or eta not positive and finite.
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

    def __post_init__(self) -> None:
        for name in _PROBABILITY_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f"NoiseParams.{name} must be a float probability, got {value!r}.")
            if math.isnan(value) or not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"NoiseParams.{name}={value!r} is not a probability: pass a value in [0, 1]."
                )
            object.__setattr__(self, name, float(value))
        if not isinstance(self.eta, (int, float)) or not (math.isfinite(self.eta) and self.eta > 0):
            raise ValueError(
                f"NoiseParams.eta={self.eta!r} must be a positive finite Z-bias "
                "(0.5 = depolarising, 100 = strongly Z-biased)."
            )
        object.__setattr__(self, "eta", float(self.eta))
        if self.idle_x + self.idle_y + self.idle_z > 1.0:
            raise ValueError("idle_x + idle_y + idle_z exceeds 1: they are exclusive Pauli errors.")
        if self.crosstalk_zz + self.crosstalk_xx > 1.0:
            raise ValueError("crosstalk_zz + crosstalk_xx exceeds 1: they are exclusive errors.")

    # ----------------------------------------------------------------- presets
    @classmethod
    def uniform(cls, p: float) -> NoiseParams:
        """stim's four uniform knobs at p (``docs/reference-numbers.md``: stim-uniform(p)).

        Gates, resets, measurements and round-start data depolarisation all at p; no idling.
        """
        return cls(p1=p, p2=p, p_meas=p, p_reset=p, p_data=p)

    @classmethod
    def sd6(cls, p: float) -> NoiseParams:
        """Standard depolarising (SD6, Gidney et al. 2021): every gate, idle, reset, measure at p."""
        return cls(p1=p, p2=p, p_meas=p, p_reset=p, idle_x=p / 3, idle_y=p / 3, idle_z=p / 3)

    @classmethod
    def si1000(cls, p: float) -> NoiseParams:
        """Superconducting-inspired SI1000 (Gidney et al. 2021), without the extra idle-during-
        measurement term (folded into the idle rate p/10 per layer)."""
        return cls(
            p1=p / 10,
            p2=p,
            p_meas=min(1.0, 5 * p),
            p_reset=min(1.0, 2 * p),
            idle_x=p / 30,
            idle_y=p / 30,
            idle_z=p / 30,
        )

    @classmethod
    def code_capacity(cls, p: float) -> NoiseParams:
        """Independent phase flips at p on data qubits only; use with ``rounds=1``.

        In an X-basis memory this is the bit-flip code-capacity model (MWPM threshold 10.3%).
        Z flips are invisible to a Z-basis memory (e.g. the bit-flip ``repetition`` code), which
        then reports no logical error: use an X-basis memory.
        """
        return cls(p_dephase=p)

    @classmethod
    def phenomenological(cls, p: float) -> NoiseParams:
        """Phase flips on data qubits each round and measurement flips, both at p (X-basis memories)."""
        return cls(p_dephase=p, p_meas=p)

    @classmethod
    def biased(cls, p: float, eta: float) -> NoiseParams:
        """stim-uniform(p) with Z-biased gate and round-start data errors of bias ``eta``.

        Data errors follow the same split as the gates, p_X = p_Y = p / (2 (eta + 1)) and
        p_Z = p - 2 p_X, written as depolarising ``p_data = 3 p_X`` plus ``p_dephase = p_Z - p_X``
        (exact to first order). ``eta = 0.5`` gives back ``uniform(p)``.
        """
        if not (math.isfinite(eta) and eta >= 0.5):
            raise ValueError(f"biased() needs eta >= 0.5 (0.5 = unbiased), got {eta!r}.")
        px = p / (2 * (eta + 1))
        return cls(
            p1=p, p2=p, eta=eta, p_meas=p, p_reset=p, p_data=3 * px, p_dephase=max(0.0, p - 3 * px)
        )

    # ------------------------------------------------------------ transforms
    def scaled(self, factor: float) -> NoiseParams:
        """All probabilities multiplied by ``factor`` (clipped to 1); eta unchanged.

        Raises:
            ValueError: if factor is negative or not finite.
        """
        if not (math.isfinite(factor) and factor >= 0):
            raise ValueError(f"scale factor must be finite and >= 0, got {factor!r}.")
        out = {n: min(1.0, getattr(self, n) * factor) for n in _PROBABILITY_FIELDS}
        # Exclusive Pauli groups must still sum to <= 1 after clipping: shrink them together.
        for group in (("idle_x", "idle_y", "idle_z"), ("crosstalk_zz", "crosstalk_xx")):
            total = sum(out[n] for n in group)
            if total > 1.0:
                out.update({n: out[n] / total for n in group})
        return self.replace(**out)

    def replace(self, **changes: float) -> NoiseParams:
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
        reused (relative error at most ``10**(0.5/bins_per_decade) - 1``, 1.8% at 64).
        """
        if bins_per_decade < 1:
            raise ValueError("bins_per_decade must be >= 1.")
        out = {}
        for name in _PROBABILITY_FIELDS:
            v = getattr(self, name)
            if v > 0:
                q = 10 ** (round(math.log10(v) * bins_per_decade) / bins_per_decade)
                v = min(1.0, float(f"{q:.6g}"))
            out[name] = v
        # eta is not quantised: it rarely drifts, and 0.5 must stay exactly depolarising.
        return NoiseParams(**out, eta=self.eta)

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
        xtalk = self.crosstalk_zz + self.crosstalk_xx
        return max(
            self.p1, self.p2, idle, self.p_meas, self.p_reset, self.p_data, self.p_dephase,
            self.p_loss, xtalk,
        )


PROBABILITY_FIELDS = _PROBABILITY_FIELDS
