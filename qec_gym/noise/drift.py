"""Drift processes: how noise strength changes from one env step (window) to the next.

A `DriftProcess` produces a trajectory of strictly positive *multipliers*, one per step. The
environment draws a whole episode's trajectory at reset (`DriftProcess.sample`) and multiplies a
baseline `NoiseParams` by it, either as a whole (key ``"all"``, like `NoiseParams.scaled`) or field
by field (`FieldDrift`). Every random draw comes from the ``numpy.random.Generator`` passed in, so
a trajectory is reproduced exactly by the same Generator state.

| process | models |
|---|---|
| `Constant` | no drift |
| `OrnsteinUhlenbeck` | mean-reverting random walk of the log (calibration drift, T1 wander) |
| `Sinusoid` | periodic drift (e.g. daily temperature cycles) |
| `RandomTelegraph` | two-level-system defects switching a qubit between two noise levels |
| `Bursts` | Poisson arrivals of jumps that decay exponentially (cosmic-ray-like) |
| `Step`, `Ramp` | sudden change, slow degradation |
| `RandomLevel` | a constant drawn once per episode (domain randomisation of a baseline) |
| `Replay` | a recorded trace |
| `Sum`, `Product`, `Clip` | composition (``a + b``, ``a * b``, ``a.clip(low, high)``) |
| `Mixture` | one of several processes, drawn per episode (domain randomisation over drift families) |

Time is counted in steps: rates are per step, decay and dwell times in steps. How many QEC rounds
a step stands for is the environment's choice.

What a trajectory drew once for the whole episode (a `Mixture`'s component, a `RandomLevel`'s
level) is recorded when ``sample`` is given a ``draws`` list, so domain-randomised results can be
split by drift family; recording draws no random numbers (the trajectory is the same either way).

Example:
    >>> import numpy as np
    >>> from qec_gym.noise.drift import Bursts, OrnsteinUhlenbeck
    >>> ou = OrnsteinUhlenbeck.from_stationary(0.2, 50)
    >>> drift = ou + Bursts(0.02, 3.0, decay=5.0, baseline=0.0)
    >>> x = drift.sample(100, np.random.default_rng(1))
    >>> x.shape, x.dtype, bool(x.min() > 0)
    ((100,), dtype('float64'), True)
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from dataclasses import KW_ONLY, dataclass, fields
from typing import Literal

import numpy as np
from scipy.signal import lfilter

from qec_gym.noise.params import EXCLUSIVE_GROUPS, PROBABILITY_FIELDS, NoiseParams, probability_limit

__all__ = [
    "DRIFT_KEYS",
    "FIELD_GROUPS",
    "Bursts",
    "Clip",
    "Constant",
    "DriftProcess",
    "FieldDrift",
    "Mixture",
    "OrnsteinUhlenbeck",
    "Product",
    "RandomTelegraph",
    "Ramp",
    "RandomLevel",
    "Replay",
    "Sinusoid",
    "Step",
    "Sum",
    "apply_multipliers",
    "noise_trajectory",
]


# ------------------------------------------------------------------------------------- checks
def _real(owner: str, name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}.{name} must be a real number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{owner}.{name}={value!r} must be finite; pass a real number.")
    return value


def _positive(owner: str, name: str, value: float) -> float:
    value = _real(owner, name, value)
    if value <= 0:
        raise ValueError(f"{owner}.{name}={value!r} must be > 0.")
    return value


def _nonnegative(owner: str, name: str, value: float) -> float:
    value = _real(owner, name, value)
    if value < 0:
        raise ValueError(f"{owner}.{name}={value!r} is negative; pass a value >= 0.")
    return value


def _probability(owner: str, name: str, value: float) -> float:
    value = _real(owner, name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{owner}.{name}={value!r} is not a probability; pass a value in [0, 1].")
    return value


def _integer(owner: str, name: str, value: int, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}.{name} must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{owner}.{name}={value!r} must be >= {minimum}.")
    return int(value)


def _set(obj: object, name: str, value: object) -> None:
    # Frozen dataclasses forbid normal assignment; normalising a validated field is the exception.
    object.__setattr__(obj, name, value)


def _as_process(value: DriftProcess | float) -> DriftProcess:
    if isinstance(value, DriftProcess):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return Constant(float(value))
    raise TypeError(f"expected a DriftProcess or a number, got {value!r}.")


# --------------------------------------------------------------------------------------- base
class DriftProcess(abc.ABC):
    """A random (or deterministic) trajectory of strictly positive multipliers, one per step.

    Subclasses implement ``_sample(n_steps, rng)``; `sample` validates inputs and outputs. The
    operators ``+`` and ``*`` build `Sum` and `Product` (numbers become `Constant`), and
    ``clip(low, high)`` builds `Clip`.

    Example:
        >>> import numpy as np
        >>> (Constant(2.0) * Step(3, 1.5)).sample(5, np.random.default_rng(0)).tolist()
        [2.0, 2.0, 2.0, 3.0, 3.0]
    """

    __slots__ = ()

    def sample(self, n_steps: int, rng: np.random.Generator, *, draws: list | None = None) -> np.ndarray:
        """A trajectory of ``n_steps`` multipliers.

        Args:
            n_steps: Number of steps (>= 0).
            rng: The only source of randomness; the same Generator state gives the same array.
            draws: A list to which what the trajectory drew once per episode is appended, in draw
                order, as JSON-ready dicts: ``{"process": "Mixture", "component": i, "family":
                label}`` (`Mixture`) and ``{"process": "RandomLevel", "level": x}`` (`RandomLevel`),
                from every such process inside this one. None: nothing recorded. Recording draws
                no random numbers: the array is the same either way.

        Returns:
            float64 array of shape ``(n_steps,)``, every entry finite and > 0.

        Raises:
            ValueError: negative ``n_steps``, or a process (e.g. a `Sum` with zero-baseline terms
                only) that produced a multiplier <= 0.
            TypeError: ``rng`` is not a ``numpy.random.Generator``, or ``draws`` is not a list.

        Example:
            >>> import numpy as np
            >>> drawn = []
            >>> x = Mixture(Constant(1.0), RandomLevel(2.0, 4.0)).sample(2, np.random.default_rng(0), draws=drawn)
            >>> drawn  # doctest: +ELLIPSIS
            [{'process': 'Mixture', 'component': 1, 'family': 'RandomLevel'}, {'process': 'RandomLevel', 'level': 2.41...}]
            >>> bool(x[1] == drawn[1]["level"])
            True
        """
        n = _integer(type(self).__name__, "sample(n_steps)", n_steps, minimum=0)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {rng!r}."
            )
        if draws is not None and not isinstance(draws, list):
            raise TypeError(f"draws must be a list to append the episode's draws to (or None), got {draws!r}.")
        values = np.asarray(self._draw(n, rng, draws), dtype=np.float64)
        if values.shape != (n,):  # a subclass bug, not a user error
            raise RuntimeError(f"{type(self).__name__} returned shape {values.shape}, not ({n},).")
        if n and not (np.all(np.isfinite(values)) and values.min() > 0):
            raise ValueError(
                f"{self!r} produced a multiplier <= 0 or non-finite (min {values.min()!r}); "
                "multipliers must be > 0: give it a positive baseline/offset or wrap it in "
                ".clip(low=...)."
            )
        return values

    @abc.abstractmethod
    def _sample(self, n_steps: int, rng: np.random.Generator) -> np.ndarray:
        """Unchecked trajectory; terms of a `Sum` may be zero (e.g. bursts above nothing)."""

    def _draw(self, n_steps: int, rng: np.random.Generator, draws: list | None) -> np.ndarray:
        """`_sample`, appending to ``draws`` (unless None) what it drew once per episode (`sample`).

        Processes that draw nothing per episode, and contain no process that does, keep this default.
        """
        return self._sample(n_steps, rng)

    def walk(self):
        """This process and every process inside it, depth first (terms, a clipped process, mixture
        components): what a check of a composite scenario needs, e.g. that no held-out process hides
        in a training mixture.

        Example:
            >>> [type(p).__name__ for p in (Step(1, 2.0) * 3.0).clip(high=5.0).walk()]
            ['Clip', 'Product', 'Step', 'Constant']
        """
        yield self
        for field in fields(self):
            value = getattr(self, field.name)
            for child in value if isinstance(value, tuple) else (value,):
                if isinstance(child, DriftProcess):
                    yield from child.walk()

    # ------------------------------------------------------------------------ composition
    def __add__(self, other: DriftProcess | float) -> Sum:
        try:
            return Sum(self, _as_process(other))
        except TypeError:
            return NotImplemented

    def __radd__(self, other: DriftProcess | float) -> Sum:
        try:
            return Sum(_as_process(other), self)
        except TypeError:
            return NotImplemented

    def __mul__(self, other: DriftProcess | float) -> Product:
        try:
            return Product(self, _as_process(other))
        except TypeError:
            return NotImplemented

    def __rmul__(self, other: DriftProcess | float) -> Product:
        try:
            return Product(_as_process(other), self)
        except TypeError:
            return NotImplemented

    def clip(self, low: float = 0.0, high: float = math.inf) -> Clip:
        """This process with its values clipped to ``[low, high]`` (see `Clip`)."""
        return Clip(self, low=low, high=high)


class _Drawing(DriftProcess):
    """A process that records per-episode draws, its own or its children's: `_draw` is its sampler."""

    __slots__ = ()

    def _sample(self, n_steps: int, rng: np.random.Generator) -> np.ndarray:
        return self._draw(n_steps, rng, None)

    @abc.abstractmethod
    def _draw(self, n_steps: int, rng: np.random.Generator, draws: list | None) -> np.ndarray:
        """The trajectory; children are sampled through their own ``_draw`` so their draws are recorded."""


# ---------------------------------------------------------------------------------- processes
@dataclass(frozen=True)
class Constant(DriftProcess):
    """The same multiplier at every step.

    Args:
        value: The multiplier (> 0).

    Example:
        >>> import numpy as np
        >>> Constant(1.5).sample(3, np.random.default_rng(0)).tolist()
        [1.5, 1.5, 1.5]
    """

    value: float = 1.0

    def __post_init__(self) -> None:
        _set(self, "value", _positive("Constant", "value", self.value))

    def _sample(self, n_steps: int, rng: np.random.Generator) -> np.ndarray:
        return np.full(n_steps, self.value)


@dataclass(frozen=True)
class OrnsteinUhlenbeck(DriftProcess):
    """Mean-reverting random walk of the log-multiplier, started from its stationary law.

    ``x = log(multiplier / median)`` follows ``dx = -theta x dt + sigma dW`` with one step as the
    time unit, sampled exactly: ``x[t+1] = a x[t] + s sqrt(1 - a^2) N(0, 1)`` with
    ``a = exp(-theta)`` and stationary standard deviation ``s = sigma / sqrt(2 theta)``;
    ``x[0] ~ N(0, s^2)``. Working in log space keeps the multiplier positive and makes up and down
    excursions symmetric in ratio (x2 as likely as x0.5), as observed for T1 fluctuations.

    Args:
        theta: Reversion rate per step (> 0); the correlation time is ``1/theta`` steps.
        sigma: Volatility of the log-multiplier per sqrt(step) (>= 0).
        median: The multiplier's median, ``exp(E[log multiplier])`` (> 0).

    Example:
        >>> import numpy as np
        >>> ou = OrnsteinUhlenbeck.from_stationary(0.3, 100)
        >>> round(ou.stationary_log_std, 6), round(ou.theta, 3)
        (0.3, 0.01)
        >>> x = ou.sample(4, np.random.default_rng(0))
        >>> bool((x > 0).all()), bool((x == ou.sample(4, np.random.default_rng(0))).all())
        (True, True)
    """

    theta: float
    sigma: float
    _: KW_ONLY
    median: float = 1.0

    def __post_init__(self) -> None:
        _set(self, "theta", _positive("OrnsteinUhlenbeck", "theta", self.theta))
        _set(self, "sigma", _nonnegative("OrnsteinUhlenbeck", "sigma", self.sigma))
        _set(self, "median", _positive("OrnsteinUhlenbeck", "median", self.median))

    @classmethod
    def from_stationary(
        cls, log_std: float, correlation_steps: float, *, median: float = 1.0
    ) -> OrnsteinUhlenbeck:
        """The OU process with stationary ``std(log multiplier) = log_std`` and the given
        correlation time (``theta = 1 / correlation_steps``)."""
        log_std = _nonnegative("OrnsteinUhlenbeck", "log_std", log_std)
        correlation_steps = _positive("OrnsteinUhlenbeck", "correlation_steps", correlation_steps)
        theta = 1.0 / correlation_steps
        return cls(theta, log_std * math.sqrt(2 * theta), median=median)

    @property
    def stationary_log_std(self) -> float:
        """Standard deviation of the log-multiplier in the stationary state."""
        return self.sigma / math.sqrt(2 * self.theta)

    def _sample(self, n_steps: int, rng: np.random.Generator) -> np.ndarray:
        a = math.exp(-self.theta)
        s = self.stationary_log_std
        # 1 - a^2 = -expm1(-2 theta) without cancellation for slow processes (theta << 1).
        innovation = s * math.sqrt(-math.expm1(-2 * self.theta))
        e = rng.standard_normal(n_steps)
        e[:1] *= s  # stationary start
        e[1:] *= innovation
        # The AR(1) recursion x[t] = a x[t-1] + e[t] as a linear filter: no Python loop.
        x = lfilter([1.0], [1.0, -a], e) if n_steps else e
        return self.median * np.exp(x)


@dataclass(frozen=True)
class Sinusoid(DriftProcess):
    """``offset + amplitude * sin(2 pi t / period + phase)``.

    Args:
        amplitude: Peak deviation from ``offset``; ``|amplitude| < offset`` keeps it positive.
        period: Period in steps (> 0).
        phase: Phase in rad at t = 0.
        offset: Mean value (> 0).
        random_phase: If True, add a phase drawn uniformly in [0, 2 pi) from ``rng`` at each
            `sample`, so episodes start at different points of the cycle.

    Example:
        >>> import numpy as np
        >>> Sinusoid(0.5, 4).sample(4, np.random.default_rng(0)).round(6).tolist()
        [1.0, 1.5, 1.0, 0.5]
    """

    amplitude: float
    period: float
    _: KW_ONLY
    phase: float = 0.0
    offset: float = 1.0
    random_phase: bool = False

    def __post_init__(self) -> None:
        _set(self, "amplitude", _real("Sinusoid", "amplitude", self.amplitude))
        _set(self, "period", _positive("Sinusoid", "period", self.period))
        _set(self, "phase", _real("Sinusoid", "phase", self.phase))
        _set(self, "offset", _positive("Sinusoid", "offset", self.offset))
        if abs(self.amplitude) >= self.offset:
            raise ValueError(
                f"Sinusoid amplitude {self.amplitude!r} must be smaller than offset "
                f"{self.offset!r} in magnitude so the multiplier stays > 0; lower the amplitude."
            )
        _set(self, "random_phase", bool(self.random_phase))

    def _sample(self, n_steps: int, rng: np.random.Generator) -> np.ndarray:
        phase = self.phase + (rng.uniform(0.0, 2 * math.pi) if self.random_phase else 0.0)
        t = np.arange(n_steps, dtype=np.float64)
        return self.offset + self.amplitude * np.sin(2 * math.pi * t / self.period + phase)


@dataclass(frozen=True)
class RandomTelegraph(DriftProcess):
    """Two-level random telegraph noise: a Markov chain between ``low`` and ``high``.

    Each step the process leaves ``low`` with probability ``p_up`` and ``high`` with probability
    ``p_down``, so dwell times are geometric with means ``1/p_up`` and ``1/p_down`` steps. This is
    the signature of a two-level-system defect coupling to a qubit (Burnett et al. 2019: T1 switches
    between levels at rates below 1 mHz).

    Args:
        low: Multiplier in the low state (> 0).
        high: Multiplier in the high state (> 0).
        p_up: Probability per step of switching low -> high, in [0, 1].
        p_down: Probability per step of switching high -> low, in [0, 1].
        start: ``"stationary"`` (high with probability ``p_up / (p_up + p_down)``), ``"low"`` or
            ``"high"``.

    Example:
        >>> import numpy as np
        >>> tls = RandomTelegraph.from_dwell(1.0, 3.0, dwell_low=50, dwell_high=10)
        >>> round(tls.p_up, 3), round(tls.stationary_high_fraction, 3)
        (0.02, 0.167)
        >>> sorted(set(tls.sample(500, np.random.default_rng(2)).tolist()))
        [1.0, 3.0]
    """

    low: float
    high: float
    _: KW_ONLY
    p_up: float
    p_down: float
    start: Literal["stationary", "low", "high"] = "stationary"

    def __post_init__(self) -> None:
        _set(self, "low", _positive("RandomTelegraph", "low", self.low))
        _set(self, "high", _positive("RandomTelegraph", "high", self.high))
        _set(self, "p_up", _probability("RandomTelegraph", "p_up", self.p_up))
        _set(self, "p_down", _probability("RandomTelegraph", "p_down", self.p_down))
        if self.start not in ("stationary", "low", "high"):
            raise ValueError(
                f"RandomTelegraph.start={self.start!r}; use 'stationary', 'low' or 'high'."
            )
        if self.start == "stationary" and self.p_up + self.p_down == 0:
            raise ValueError(
                "RandomTelegraph with p_up = p_down = 0 has no stationary state; "
                "give a switching probability > 0 or start='low'/'high'."
            )

    @classmethod
    def from_dwell(
        cls,
        low: float,
        high: float,
        *,
        dwell_low: float,
        dwell_high: float,
        start: Literal["stationary", "low", "high"] = "stationary",
    ) -> RandomTelegraph:
        """The telegraph with mean dwell times (in steps, >= 1) in each state."""
        dwell_low = _real("RandomTelegraph", "dwell_low", dwell_low)
        dwell_high = _real("RandomTelegraph", "dwell_high", dwell_high)
        if dwell_low < 1 or dwell_high < 1:
            raise ValueError(
                f"mean dwell times must be >= 1 step (a state lasts at least one step), got "
                f"dwell_low={dwell_low!r}, dwell_high={dwell_high!r}."
            )
        return cls(low, high, p_up=1.0 / dwell_low, p_down=1.0 / dwell_high, start=start)

    @property
    def stationary_high_fraction(self) -> float:
        """Long-run fraction of steps spent in the high state."""
        return self.p_up / (self.p_up + self.p_down)

    def _sample(self, n_steps: int, rng: np.random.Generator) -> np.ndarray:
        if self.start == "stationary":
            high = bool(rng.random() < self.stationary_high_fraction)
        else:
            high = self.start == "high"
        out = np.empty(n_steps)
        t = 0
        # Memorylessness: a geometric dwell from t = 0 is exact for a chain started at t = 0, so
        # we draw one dwell per visit (O(number of switches) work, not O(n_steps)).
        while t < n_steps:
            p_leave = self.p_down if high else self.p_up
            dwell = int(rng.geometric(p_leave)) if p_leave > 0 else n_steps - t
            out[t : t + dwell] = self.high if high else self.low
            t += dwell
            high = not high
        return out


@dataclass(frozen=True)
class Bursts(DriftProcess):
    """Poisson bursts that decay exponentially: ``baseline + sum_k h_k exp(-(t - t_k)/decay)``.

    The number of new bursts per step is Poisson(``rate``); a burst adds ``height`` at its step
    and decays by ``exp(-1/decay)`` each step after (cosmic-ray impacts: chip-wide jumps of the
    error rate that decay over ~25 ms, McEwen et al. 2022). Overlapping bursts add. Bursts from
    before t = 0 are included, so the process starts in its stationary state.

    Args:
        rate: Expected number of bursts per step (>= 0).
        height: Jump of the multiplier at a burst (>= 0); its mean if ``random_height``.
        decay: Exponential decay time constant in steps (> 0).
        baseline: Value without bursts (>= 0; use 0 for the bursts term of a `Sum`).
        random_height: If True, heights are exponential with mean ``height`` (impact energies
            vary) instead of fixed.

    Example:
        >>> import numpy as np
        >>> b = Bursts(0.05, 4.0, decay=3.0)
        >>> round(b.stationary_mean, 3)
        1.706
        >>> x = b.sample(1000, np.random.default_rng(0))
        >>> bool(x.min() >= 1.0 and x.max() > 4.0)
        True
    """

    rate: float
    height: float
    _: KW_ONLY
    decay: float
    baseline: float = 1.0
    random_height: bool = False

    def __post_init__(self) -> None:
        _set(self, "rate", _nonnegative("Bursts", "rate", self.rate))
        _set(self, "height", _nonnegative("Bursts", "height", self.height))
        _set(self, "decay", _positive("Bursts", "decay", self.decay))
        _set(self, "baseline", _nonnegative("Bursts", "baseline", self.baseline))
        _set(self, "random_height", bool(self.random_height))

    @property
    def decay_factor(self) -> float:
        """Factor by which a burst shrinks per step, ``exp(-1/decay)``."""
        return math.exp(-1.0 / self.decay)

    @property
    def stationary_mean(self) -> float:
        """Long-run mean: ``baseline + rate * height / (1 - exp(-1/decay))``."""
        return self.baseline + self.rate * self.height / -math.expm1(-1.0 / self.decay)

    def _heights(self, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.random_height:
            # A sum of k exponentials of mean h is Gamma(k, h) (and 0 for k = 0).
            return rng.gamma(counts, self.height)
        return counts * self.height

    def _sample(self, n_steps: int, rng: np.random.Generator) -> np.ndarray:
        a = self.decay_factor
        # Pre-history: bursts within 40 decay times before t = 0 (older ones have shrunk by
        # e^-40). Drawn as a Poisson count with uniform ages, so the cost is O(bursts).
        horizon = math.ceil(40 * self.decay)
        n_past = rng.poisson(self.rate * horizon)
        ages = rng.integers(1, horizon + 1, size=n_past)
        past = float(np.sum(self._heights(np.ones(n_past), rng) * a**ages))
        counts = rng.poisson(self.rate, size=n_steps)
        impulses = self._heights(counts, rng)
        if n_steps == 0:
            return impulses
        excess, _ = lfilter([1.0], [1.0, -a], impulses, zi=[past])
        return self.baseline + excess


@dataclass(frozen=True)
class Step(DriftProcess):
    """``before`` until step ``at`` (exclusive), then ``level``.

    Args:
        at: First step at the new level (>= 0).
        level: Multiplier from step ``at`` on (> 0).
        before: Multiplier before step ``at`` (> 0).

    Example:
        >>> import numpy as np
        >>> Step(2, 3.0).sample(4, np.random.default_rng(0)).tolist()
        [1.0, 1.0, 3.0, 3.0]
    """

    at: int
    level: float
    _: KW_ONLY
    before: float = 1.0

    def __post_init__(self) -> None:
        _set(self, "at", _integer("Step", "at", self.at, minimum=0))
        _set(self, "level", _positive("Step", "level", self.level))
        _set(self, "before", _positive("Step", "before", self.before))

    def _sample(self, n_steps: int, rng: np.random.Generator) -> np.ndarray:
        return np.where(np.arange(n_steps) < self.at, self.before, self.level)


@dataclass(frozen=True)
class Ramp(DriftProcess):
    """Linear from ``start`` (at step ``begin``) to ``stop`` (at step ``begin + duration``).

    Constant at ``start`` before and at ``stop`` after (slow degradation or heating).

    Args:
        start: Multiplier at and before step ``begin`` (> 0).
        stop: Multiplier at and after step ``begin + duration`` (> 0).
        duration: Length of the ramp in steps (>= 1).
        begin: First step of the ramp (>= 0).

    Example:
        >>> import numpy as np
        >>> Ramp(1.0, 2.0, duration=4).sample(6, np.random.default_rng(0)).tolist()
        [1.0, 1.25, 1.5, 1.75, 2.0, 2.0]
    """

    start: float
    stop: float
    _: KW_ONLY
    duration: int
    begin: int = 0

    def __post_init__(self) -> None:
        _set(self, "start", _positive("Ramp", "start", self.start))
        _set(self, "stop", _positive("Ramp", "stop", self.stop))
        _set(self, "duration", _integer("Ramp", "duration", self.duration, minimum=1))
        _set(self, "begin", _integer("Ramp", "begin", self.begin, minimum=0))

    def _sample(self, n_steps: int, rng: np.random.Generator) -> np.ndarray:
        frac = np.clip((np.arange(n_steps) - self.begin) / self.duration, 0.0, 1.0)
        return self.start + (self.stop - self.start) * frac


@dataclass(frozen=True)
class RandomLevel(_Drawing):
    """A constant multiplier drawn once per trajectory, log-uniformly in ``[low, high]``.

    Domain randomisation of a scenario's baseline (Tobin et al. 2017): multiplied into another
    process, each episode runs at its own noise level. `DriftProcess.sample` with ``draws``
    records ``{"process": "RandomLevel", "level": x}``.

    Args:
        low: Smallest level (> 0).
        high: Largest level (>= low).

    Example:
        >>> import numpy as np
        >>> x = RandomLevel(1.0, 2.0).sample(3, np.random.default_rng(0))
        >>> bool(x[0] == x[2] and 1.0 <= x[0] <= 2.0)
        True
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        _set(self, "low", _positive("RandomLevel", "low", self.low))
        _set(self, "high", _positive("RandomLevel", "high", self.high))
        if self.high < self.low:
            raise ValueError(f"RandomLevel needs low <= high, got low={self.low!r}, high={self.high!r}.")

    def _draw(self, n_steps: int, rng: np.random.Generator, draws: list | None) -> np.ndarray:
        level = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        if draws is not None:
            draws.append({"process": "RandomLevel", "level": level})
        return np.full(n_steps, level)


@dataclass(frozen=True)
class Replay(DriftProcess):
    """A recorded trace of multipliers, resampled to steps by linear interpolation.

    Step t reads the trace at position ``u = offset + t / steps_per_value`` (values at integer
    positions, linear in between). Past the end the trace repeats (``mode="repeat"``, wrapping
    from the last value back to the first) or holds its last value (``mode="hold"``).

    Args:
        values: The trace (1-D, at least one value, all finite and > 0); stored as a tuple.
        steps_per_value: Env steps per trace sample (> 0): 2 plays a trace at half speed.
        mode: ``"repeat"`` or ``"hold"``.
        random_start: If True, ``offset`` is drawn uniformly in [0, len(values)) from ``rng``;
            otherwise 0.

    Raises:
        ValueError: an empty trace, a value <= 0 or non-finite, or an unknown mode.

    Example:
        >>> import numpy as np
        >>> Replay([1.0, 2.0, 4.0]).sample(5, np.random.default_rng(0)).tolist()
        [1.0, 2.0, 4.0, 1.0, 2.0]
        >>> slow = Replay([1.0, 2.0], steps_per_value=2, mode="hold")
        >>> slow.sample(4, np.random.default_rng(0)).tolist()
        [1.0, 1.5, 2.0, 2.0]
    """

    values: tuple[float, ...]
    _: KW_ONLY
    steps_per_value: float = 1.0
    mode: Literal["repeat", "hold"] = "repeat"
    random_start: bool = False

    def __post_init__(self) -> None:
        try:
            arr = np.asarray(self.values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Replay values must be numbers: {exc}") from None
        if arr.ndim != 1:
            raise ValueError(
                f"Replay values must be a 1-D trace, got shape {arr.shape}; flatten it."
            )
        if arr.size == 0:
            raise ValueError("Replay needs a non-empty trace; pass at least one multiplier.")
        bad = np.flatnonzero(~(np.isfinite(arr) & (arr > 0)))
        if bad.size:
            raise ValueError(
                f"Replay values must be finite and > 0 (multipliers); value {arr[bad[0]]!r} at "
                f"index {int(bad[0])} is not: rescale the trace or drop bad samples."
            )
        _set(self, "values", tuple(arr.tolist()))
        _set(self, "steps_per_value", _positive("Replay", "steps_per_value", self.steps_per_value))
        if self.mode not in ("repeat", "hold"):
            raise ValueError(f"Replay.mode={self.mode!r}; use 'repeat' or 'hold'.")
        _set(self, "random_start", bool(self.random_start))

    def _sample(self, n_steps: int, rng: np.random.Generator) -> np.ndarray:
        trace = np.asarray(self.values)
        length = trace.size
        offset = rng.uniform(0.0, length) if self.random_start else 0.0
        u = offset + np.arange(n_steps) / self.steps_per_value
        if self.mode == "hold":
            u = np.minimum(u, length - 1)
        i0 = np.floor(u).astype(np.int64)
        frac = u - i0
        if self.mode == "repeat":
            i0 %= length
            i1 = (i0 + 1) % length
        else:
            i1 = np.minimum(i0 + 1, length - 1)
        return (1.0 - frac) * trace[i0] + frac * trace[i1]


# -------------------------------------------------------------------------------- composition
def _flatten(kind: type, items: Iterable[DriftProcess | float]) -> tuple[DriftProcess, ...]:
    out: list[DriftProcess] = []
    for item in items:
        process = _as_process(item)
        out.extend(process.terms if isinstance(process, kind) else (process,))
    if not out:
        raise ValueError(f"{kind.__name__} needs at least one process.")
    return tuple(out)


@dataclass(frozen=True, init=False)
class Sum(_Drawing):
    """Element-wise sum of processes (``a + b``); numbers become `Constant`.

    Terms may be zero-based (e.g. ``Bursts(..., baseline=0.0)`` on top of an OU walk); only the
    total has to be positive. Terms draw from ``rng`` in order.

    Example:
        >>> import numpy as np
        >>> (Step(1, 2.0) + 0.5).sample(3, np.random.default_rng(0)).tolist()
        [1.5, 2.5, 2.5]
    """

    terms: tuple[DriftProcess, ...]

    def __init__(self, *terms: DriftProcess | float) -> None:
        _set(self, "terms", _flatten(Sum, terms))

    def _draw(self, n_steps: int, rng: np.random.Generator, draws: list | None) -> np.ndarray:
        total = np.zeros(n_steps)
        for term in self.terms:
            total += term._draw(n_steps, rng, draws)
        return total


@dataclass(frozen=True, init=False)
class Product(_Drawing):
    """Element-wise product of processes (``a * b``); numbers become `Constant`.

    Example:
        >>> import numpy as np
        >>> (2.0 * Ramp(1.0, 2.0, duration=2)).sample(3, np.random.default_rng(0)).tolist()
        [2.0, 3.0, 4.0]
    """

    terms: tuple[DriftProcess, ...]

    def __init__(self, *terms: DriftProcess | float) -> None:
        _set(self, "terms", _flatten(Product, terms))

    def _draw(self, n_steps: int, rng: np.random.Generator, draws: list | None) -> np.ndarray:
        total = np.ones(n_steps)
        for term in self.terms:
            total *= term._draw(n_steps, rng, draws)
        return total


@dataclass(frozen=True, init=False)
class Mixture(_Drawing):
    """One of several processes, chosen at random for each trajectory (each episode).

    Domain randomisation over drift families: an episode draws its component first (one
    ``rng.choice`` with ``weights``), then that component's trajectory from the same ``rng``.
    `DriftProcess.sample` with ``draws`` records ``{"process": "Mixture", "component": i,
    "family": label}``: ``i`` indexes ``components``; ``label`` names the component's drifting
    processes as composed, constants and clipping left out (e.g. ``"RandomTelegraph *
    OrnsteinUhlenbeck"``, ``"OrnsteinUhlenbeck + Bursts"``), the same for every member of a family.

    Args:
        *components: The processes (numbers become `Constant`).
        weights: Relative probabilities (> 0, one per component); None for equal weights.

    Example:
        >>> import numpy as np
        >>> m = Mixture(Constant(1.0), Constant(3.0), weights=(1.0, 3.0))
        >>> sorted({float(m.sample(1, np.random.default_rng(s))[0]) for s in range(20)})
        [1.0, 3.0]
    """

    components: tuple[DriftProcess, ...]
    weights: tuple[float, ...]

    def __init__(self, *components: DriftProcess | float, weights: Iterable[float] | None = None) -> None:
        if not components:
            raise ValueError("Mixture needs at least one process, e.g. Mixture(OrnsteinUhlenbeck(...), Step(...)).")
        _set(self, "components", tuple(_as_process(c) for c in components))
        if weights is None:
            weights = (1.0,) * len(self.components)
        if isinstance(weights, (str, bytes)) or not isinstance(weights, Iterable):
            raise TypeError(f"Mixture weights must be a sequence with one number per component (e.g. weights=(1, 3)), "
                            f"got {weights!r}.")
        weights = tuple(_positive("Mixture", f"weights[{i}]", w) for i, w in enumerate(weights))
        if len(weights) != len(self.components):
            raise ValueError(
                f"Mixture has {len(self.components)} component(s) but {len(weights)} weight(s); pass one weight "
                "per component or weights=None for equal weights."
            )
        _set(self, "weights", weights)

    @classmethod
    def of_families(cls, *families: Iterable[DriftProcess | float]) -> Mixture:
        """Equal odds for each family (a group of processes), then equal odds within it.

        Example:
            >>> Mixture.of_families([Constant(1.0)], [Constant(2.0), Constant(3.0)]).weights
            (1.0, 0.5, 0.5)
        """
        if any(isinstance(f, DriftProcess) or not isinstance(f, Iterable) for f in families):
            raise TypeError("Mixture.of_families takes families, each a list of processes: "
                            "of_families([ou_a, ou_b], [telegraph]), not of_families(ou_a, telegraph).")
        groups = [tuple(f) for f in families]
        if not groups or not all(groups):
            raise ValueError("Mixture.of_families needs at least one family, each with at least one process.")
        return cls(*(c for g in groups for c in g), weights=[1.0 / len(g) for g in groups for _ in g])

    def _draw(self, n_steps: int, rng: np.random.Generator, draws: list | None) -> np.ndarray:
        p = np.asarray(self.weights) / sum(self.weights)
        i = int(rng.choice(len(self.components), p=p))
        if draws is not None:
            draws.append({"process": "Mixture", "component": i, "family": _family(self.components[i])})
        return self.components[i]._draw(n_steps, rng, draws)


@dataclass(frozen=True)
class Clip(_Drawing):
    """A process with its values clipped to ``[low, high]``.

    Bounds a heavy-tailed process (an OU walk in log space) so that a scenario's noise provably
    stays in a range, e.g. below threshold or below probability 1.

    Args:
        process: The process to clip.
        low: Lower bound (>= 0).
        high: Upper bound (> low; ``math.inf`` for none).

    Example:
        >>> import numpy as np
        >>> Ramp(1.0, 5.0, duration=4).clip(high=2.0).sample(5, np.random.default_rng(0)).tolist()
        [1.0, 2.0, 2.0, 2.0, 2.0]
    """

    process: DriftProcess
    _: KW_ONLY
    low: float = 0.0
    high: float = math.inf

    def __post_init__(self) -> None:
        if not isinstance(self.process, DriftProcess):
            raise TypeError(f"Clip.process must be a DriftProcess, got {self.process!r}.")
        _set(self, "low", _nonnegative("Clip", "low", self.low))
        high = self.high
        if isinstance(high, (int, float)) and not isinstance(high, bool) and high == math.inf:
            _set(self, "high", math.inf)
        else:
            _set(self, "high", _positive("Clip", "high", high))
        if self.high <= self.low:
            raise ValueError(f"Clip needs low < high, got low={self.low!r}, high={self.high!r}.")

    def _draw(self, n_steps: int, rng: np.random.Generator, draws: list | None) -> np.ndarray:
        return np.clip(self.process._draw(n_steps, rng, draws), self.low, self.high)


def _family(process: DriftProcess) -> str:
    """`Mixture`'s label of a component: its drifting processes' class names as composed."""
    if isinstance(process, Clip):
        return _family(process.process)
    if isinstance(process, (Sum, Product)):
        parts = [_family(t) for t in process.terms if not isinstance(t, Constant)]
        if len(parts) > 1:
            parts = [f"({p})" if " " in p else p for p in parts]
        return (" + " if isinstance(process, Sum) else " * ").join(parts) or "Constant"
    return type(process).__name__


# ------------------------------------------------------------------------- field-wise drift
FIELD_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "all": tuple(PROBABILITY_FIELDS),
        "gates": ("p1", "p2"),
        "idle": ("idle_x", "idle_y", "idle_z", "readout_idle_x", "readout_idle_y", "readout_idle_z"),
        "crosstalk": ("crosstalk_zz", "crosstalk_xx"),
        **{name: (name,) for name in PROBABILITY_FIELDS},
    }
)
"""Drift key -> the probability fields it multiplies."""

DRIFT_KEYS: tuple[str, ...] = (*FIELD_GROUPS, "eta")
"""Every key a `FieldDrift` accepts: groups, single probability fields, and ``eta``."""

# Fields whose probabilities are exclusive and must sum to at most 1 (see NoiseParams).
@dataclass(frozen=True, init=False)
class FieldDrift:
    """Which `NoiseParams` fields each drift process drives.

    Keys (see `DRIFT_KEYS`): ``"all"`` (every probability, like `NoiseParams.scaled`), the groups
    ``"gates"`` (p1, p2), ``"idle"`` (idle_x/y/z and readout_idle_x/y/z: both are T1/T2 idling)
    and ``"crosstalk"``, any single probability field (``"p_loss"``, ``"p2"``, ...), and ``"eta"``
    (the Z-bias). A field's value at step t is its baseline times the product of the multipliers
    of every key that covers it, clipped as `NoiseParams.scaled` clips (each field to its
    channel's limit; exclusive groups such as idle_x/y/z shrunk to sum to at most 1).

    Processes are sampled in sorted key order, so the same Generator state gives the same
    trajectory whatever order the mapping was written in.

    Args:
        drifts: A mapping key -> `DriftProcess`, or one process (meaning ``{"all": process}``).
        **kwargs: More key -> process pairs.

    Raises:
        ValueError: an unknown key, or no drift at all.
        TypeError: a value that is not a `DriftProcess`.

    Example:
        >>> import numpy as np
        >>> fd = FieldDrift({"p_loss": Step(1, 2.0)}, p2=Constant(3.0))
        >>> fd.keys
        ('p2', 'p_loss')
        >>> base = NoiseParams(p2=0.001, p_loss=0.01)
        >>> traj = fd.trajectory(base, n_steps=2, rng=np.random.default_rng(0))
        >>> [(round(n.p2, 6), n.p_loss) for n in traj]
        [(0.003, 0.01), (0.003, 0.02)]
    """

    drifts: tuple[tuple[str, DriftProcess], ...]

    def __init__(
        self,
        drifts: Mapping[str, DriftProcess] | DriftProcess | None = None,
        /,
        **kwargs: DriftProcess,
    ) -> None:
        if isinstance(drifts, DriftProcess):
            items = {"all": drifts}
        elif drifts is None:
            items = {}
        elif isinstance(drifts, Mapping):
            items = dict(drifts)
        else:
            raise TypeError(
                "FieldDrift takes a mapping key -> DriftProcess or one DriftProcess, "
                f"got {drifts!r}."
            )
        for key, process in kwargs.items():
            if key in items:
                raise ValueError(f"FieldDrift key {key!r} given twice.")
            items[key] = process
        if not items:
            raise ValueError("FieldDrift needs at least one drift, e.g. {'all': Constant(1.0)}.")
        for key, process in items.items():
            if key not in DRIFT_KEYS:
                raise ValueError(f"unknown drift key {key!r}; valid keys: {list(DRIFT_KEYS)}.")
            if not isinstance(process, DriftProcess):
                raise TypeError(f"FieldDrift[{key!r}] must be a DriftProcess, got {process!r}.")
        _set(self, "drifts", tuple(sorted(items.items())))

    @classmethod
    def coerce(cls, drifts: FieldDrift | Mapping[str, DriftProcess] | DriftProcess) -> FieldDrift:
        """``drifts`` as a `FieldDrift` (a bare process drives ``"all"``)."""
        return drifts if isinstance(drifts, FieldDrift) else cls(drifts)

    @property
    def keys(self) -> tuple[str, ...]:
        """The drift keys, sorted."""
        return tuple(key for key, _ in self.drifts)

    def as_dict(self) -> dict[str, DriftProcess]:
        """Key -> process."""
        return dict(self.drifts)

    def sample(
        self, n_steps: int, rng: np.random.Generator, *, draws: dict | None = None
    ) -> dict[str, np.ndarray]:
        """Key -> multiplier trajectory (float64, shape ``(n_steps,)``), drawn in key order.

        ``draws`` (a dict, or None): filled with key -> the list of that key's per-episode draws
        (`DriftProcess.sample`), for the keys that drew any; the arrays do not depend on it.
        """
        if draws is not None and not isinstance(draws, dict):
            raise TypeError(f"draws must be a dict to fill with each key's draws (or None), got {draws!r}.")
        out = {}
        for key, process in self.drifts:
            drawn: list = []
            out[key] = process.sample(n_steps, rng, draws=drawn)
            if drawn and draws is not None:
                draws[key] = drawn
        return out

    def trajectory(
        self, baseline: NoiseParams, *, n_steps: int, rng: np.random.Generator, draws: dict | None = None
    ) -> list[NoiseParams]:
        """The noise at each of ``n_steps`` steps (see `noise_trajectory`)."""
        return _apply_arrays(baseline, self.sample(n_steps, rng, draws=draws), n_steps)


def _apply_arrays(
    baseline: NoiseParams, multipliers: Mapping[str, np.ndarray], n_steps: int
) -> list[NoiseParams]:
    fields = list(PROBABILITY_FIELDS)
    index = {name: i for i, name in enumerate(fields)}
    base = np.array([getattr(baseline, name) for name in fields])
    values = np.repeat(base[:, None], n_steps, axis=1)
    eta = np.full(n_steps, baseline.eta)
    for key, m in multipliers.items():
        m = np.asarray(m, dtype=np.float64)
        if m.shape != (n_steps,):
            raise ValueError(f"multiplier {key!r} has shape {m.shape}, expected ({n_steps},).")
        if not (np.all(np.isfinite(m)) and np.all(m >= 0)):
            raise ValueError(f"multiplier {key!r} must be finite and >= 0.")
        if key == "eta":
            eta = eta * m
            continue
        if key not in FIELD_GROUPS:
            raise ValueError(f"unknown drift key {key!r}; valid keys: {list(DRIFT_KEYS)}.")
        rows = [index[name] for name in FIELD_GROUPS[key]]
        values[rows] *= m
    # Each field's limit depends on eta (depolarising gate channels stop at 3/4 and 15/16).
    limits = np.array([[probability_limit(name, e) for e in (0.5, 1.0)] for name in fields])
    np.clip(values, 0.0, np.where(eta == 0.5, limits[:, :1], limits[:, 1:]), out=values)
    for group in EXCLUSIVE_GROUPS:
        rows = [index[name] for name in group]
        total = values[rows].sum(axis=0)
        over = total > 1.0
        if np.any(over):
            # Exclusive Pauli errors cannot exceed probability 1 together: keep their ratios and
            # scale them to (just under) 1; the tiny margin absorbs float rounding of the sum.
            values[np.ix_(rows, np.flatnonzero(over))] *= (1 - 1e-12) / total[over]
    columns = values.T.tolist()
    etas = eta.tolist()
    return [
        NoiseParams(**dict(zip(fields, column)), eta=e, bias_preserving=baseline.bias_preserving)
        for column, e in zip(columns, etas)
    ]


def apply_multipliers(baseline: NoiseParams, multipliers: Mapping[str, float]) -> NoiseParams:
    """``baseline`` with drift multipliers applied (one step; keys as in `FieldDrift`).

    Args:
        baseline: The noise at multiplier 1.
        multipliers: Key -> multiplier (finite, >= 0).

    Returns:
        The drifted, validated `NoiseParams` (probabilities clipped to their channels' limits).

    Example:
        >>> apply_multipliers(NoiseParams.uniform(0.001), {"all": 2.0, "p_meas": 1.5}).p_meas
        0.003
    """
    arrays = {key: np.array([float(value)]) for key, value in multipliers.items()}
    return _apply_arrays(baseline, arrays, 1)[0]


def noise_trajectory(
    baseline: NoiseParams,
    drifts: FieldDrift | Mapping[str, DriftProcess] | DriftProcess,
    *,
    n_steps: int,
    rng: np.random.Generator,
    draws: dict | None = None,
) -> list[NoiseParams]:
    """The noise at each step of an episode: ``baseline`` driven by ``drifts``.

    Field f at step t is ``baseline.f * prod(multiplier[key][t] for key covering f)``, clipped to
    its channel's limit; with only ``"all"`` this equals ``baseline.scaled(multiplier[t])`` (up to
    a 1e-12 margin on a saturated exclusive group).

    Args:
        baseline: The noise at multiplier 1.
        drifts: A `FieldDrift`, a mapping key -> process, or one process (drives ``"all"``).
        n_steps: Number of steps (>= 0).
        rng: The only source of randomness.
        draws: A dict to fill with drift key -> what it drew once per episode (`FieldDrift.sample`);
            None: nothing recorded. The trajectory does not depend on it.

    Returns:
        ``n_steps`` validated `NoiseParams`.

    Example:
        >>> import numpy as np
        >>> traj = noise_trajectory(NoiseParams.uniform(0.002), Step(1, 3.0), n_steps=2,
        ...                         rng=np.random.default_rng(0))
        >>> [round(n.p2, 6) for n in traj]
        [0.002, 0.006]
    """
    if not isinstance(baseline, NoiseParams):
        raise TypeError(f"baseline must be a NoiseParams, got {baseline!r}.")
    return FieldDrift.coerce(drifts).trajectory(baseline, n_steps=n_steps, rng=rng, draws=draws)
