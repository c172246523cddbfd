"""Threshold estimation: where logical-error-per-round curves of consecutive distances cross.

Method. For two distances d < d', let g(p) = ln eps_d(p) - ln eps_d'(p) (eps: logical error per
round). Below threshold the larger code is better (g > 0), above it worse (g < 0); the threshold
estimate of the pair is the root of g in ln p. With one sign change in the sampled p values the
root is interpolated linearly in (ln p, g) between the bracketing points, which is exact when both
curves are power laws in p (the scaling form eps_d = A (p / p_th)^((d+1)/2)). Noisy data near the
crossing can change sign more than once; then a least-squares line through g over the span of
sign changes gives the root.

Uncertainty. A parametric bootstrap: each point's error count is redrawn from
Binomial(shots, errors / shots) (seeded ``numpy.random.Generator``), every pair crossing is
recomputed, and percentiles of the replicates give each pair's interval. The combined estimate is
the mean of the pair crossings; its interval is the bootstrap interval of that mean, widened to
contain every pair's own estimate, because the drift of crossings with distance (finite-size
effects) is a systematic error of the same size as the statistical one at small d.

Partial results. A pair that does not cross in the sampled range (or lacks common points with
errors) does not void the others: the estimate combines the pairs that cross and lists the
others in ``ThresholdEstimate.skipped`` with the reason (e.g. which way to extend p). Only when
no pair crosses is there no estimate.

Example:
    >>> import numpy as np
    >>> p = np.array([0.004, 0.008, 0.016])
    >>> eps = lambda d: 0.1 * (p / 0.01) ** ((d + 1) / 2)   # threshold exactly 1%
    >>> round(find_crossing(p, eps(3), eps(5)), 12)
    0.01
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from qec_gym.sim.stats import binomial_ci


class NoCrossingError(ValueError):
    """The curves do not cross inside the sampled p range (the message says which way to extend).

    Attributes:
        direction: ``"up"`` (crossing lies above the sampled p), ``"down"`` (below), or
            ``""`` (the curves cross the wrong way).
    """

    def __init__(self, message: str, direction: str = "") -> None:
        super().__init__(message)
        self.direction = direction


@dataclass(frozen=True)
class Curve:
    """Logical-error statistics of one distance at several physical error rates.

    Args:
        distance: Code distance.
        p: Physical error rates, strictly increasing.
        shots: Kept shots per point.
        errors: Logical errors per point.
        rounds: Rounds per shot at each point (converts per-shot to per-round rates).

    Raises:
        ValueError: lengths differ, p not increasing, or counts out of range.

    Example:
        >>> c = Curve(3, p=(0.01, 0.02), shots=(1000, 1000), errors=(10, 40), rounds=(1, 1))
        >>> c.per_round().tolist()
        [0.01, 0.04]
    """

    distance: int
    p: tuple[float, ...]
    shots: tuple[int, ...]
    errors: tuple[int, ...]
    rounds: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ("p", "shots", "errors", "rounds"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        n = len(self.p)
        if not (len(self.shots) == len(self.errors) == len(self.rounds) == n) or n == 0:
            raise ValueError(
                f"Curve d={self.distance}: p, shots, errors and rounds need the same non-zero length, "
                f"got {n}, {len(self.shots)}, {len(self.errors)}, {len(self.rounds)}."
            )
        if any(b <= a for a, b in zip(self.p, self.p[1:])) or any(not 0 < x < 1 for x in self.p):
            raise ValueError(f"Curve d={self.distance}: p must be strictly increasing in (0, 1), got {self.p}.")
        for s, e, r in zip(self.shots, self.errors, self.rounds):
            if s < 1 or not 0 <= e <= s or r < 1:
                raise ValueError(
                    f"Curve d={self.distance}: need shots >= 1, 0 <= errors <= shots, rounds >= 1; "
                    f"got shots={s}, errors={e}, rounds={r}."
                )

    def per_round(self) -> np.ndarray:
        """Logical error per round at each p (float64)."""
        return per_round_array(np.asarray(self.errors) / np.asarray(self.shots), np.asarray(self.rounds))


def per_round_array(p_shot: np.ndarray, rounds: np.ndarray | int) -> np.ndarray:
    """Vectorised per-shot -> per-round conversion: sinter's
    ``shot_error_rate_to_piece_error_rate(p_shot, pieces=rounds)`` (same formula, rates above 1/2
    reflected), evaluated with expm1/log1p so tiny rates keep their precision.

    Example:
        >>> per_round_array(np.array([0.1, 0.9]), 10).round(6).tolist()
        [0.011034, 0.988966]
    """
    p_shot = np.asarray(p_shot, dtype=np.float64)
    rounds = np.asarray(rounds, dtype=np.float64)
    low = np.minimum(p_shot, 1 - p_shot)
    with np.errstate(divide="ignore"):  # low = 1/2 gives log1p(-1) = -inf, i.e. per-round 1/2
        out = -np.expm1(np.log1p(-2 * low) / rounds) / 2
    out = np.where(p_shot > 0.5, 1 - out, out)
    return np.where(rounds == 1, p_shot, out)  # one round: the shot rate itself, exactly


def find_crossing(p: Sequence[float], eps_small: Sequence[float], eps_large: Sequence[float]) -> float:
    """The physical error rate where the per-round curves of a smaller and a larger code cross.

    Args:
        p: Physical error rates, strictly increasing, > 0.
        eps_small: Logical error per round of the smaller distance at each p (> 0).
        eps_large: Same for the larger distance.

    Returns:
        The crossing p (see the module docstring for the interpolation rule).

    Raises:
        NoCrossingError: no sign change of ln eps_small - ln eps_large; the message says
            whether to extend p upwards or downwards.
        ValueError: fewer than two points, non-positive rates, or mismatched lengths.

    Example:
        >>> try:
        ...     find_crossing([0.01, 0.02], [0.1, 0.2], [0.05, 0.1])
        ... except NoCrossingError as e:
        ...     print(e.direction, "|", str(e).split("; ")[-1])
        up | extend the p range upwards.
    """
    x = np.log(np.asarray(p, dtype=np.float64))
    a = np.asarray(eps_small, dtype=np.float64)
    b = np.asarray(eps_large, dtype=np.float64)
    if not (x.shape == a.shape == b.shape) or x.ndim != 1:
        raise ValueError(
            f"p, eps_small and eps_large need equal 1-D lengths, got {x.shape}, {a.shape}, {b.shape}."
        )
    if len(x) < 2:
        raise ValueError("a crossing needs at least two p values common to both distances; sample more p values.")
    if np.any(np.diff(x) <= 0):
        raise ValueError("p must be strictly increasing.")
    if np.any(a <= 0) or np.any(b <= 0):
        raise ValueError("logical error rates must be > 0 (points with no errors have no log): sample more shots.")
    g = np.log(a) - np.log(b)
    if np.all(g > 0):
        raise NoCrossingError(
            f"no crossing: the larger code is better at every sampled p (max p={math.exp(x[-1]):.4g} "
            "is still below threshold); extend the p range upwards.",
            "up",
        )
    if np.all(g < 0):
        raise NoCrossingError(
            f"no crossing: the larger code is worse at every sampled p (min p={math.exp(x[0]):.4g} "
            "is already above threshold); extend the p range downwards.",
            "down",
        )
    if np.all(g >= 0) or np.all(g <= 0):
        zeros = np.flatnonzero(g == 0)  # curves touch without crossing: the touching point
        return float(math.exp(x[zeros].mean()))
    if g[0] < 0 and g[-1] > 0:
        raise NoCrossingError(
            f"no crossing: at p={math.exp(x[0]):.4g} the larger code is worse but at "
            f"p={math.exp(x[-1]):.4g} better (the curves cross the wrong way); check the data or "
            "extend the p range."
        )
    changes = np.flatnonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0)
    on_zero = np.flatnonzero(g == 0)
    if len(changes) + len(on_zero) == 1:
        if len(on_zero):
            return float(math.exp(x[on_zero[0]]))
        i = changes[0]
        t = g[i] / (g[i] - g[i + 1])
        return float(math.exp(x[i] + t * (x[i + 1] - x[i])))
    # Several sign changes (statistical noise near the crossing): fit a line to g over the span.
    idx = np.concatenate([changes, changes + 1, on_zero])
    lo, hi = idx.min(), idx.max()
    slope, intercept = np.polyfit(x[lo : hi + 1], g[lo : hi + 1], 1)
    if slope < 0:
        root = -intercept / slope
        if x[lo] <= root <= x[hi]:
            return float(math.exp(root))
    # The fit is flat or leaves the span: average the individual interpolated crossings.
    roots = [x[i] + g[i] / (g[i] - g[i + 1]) * (x[i + 1] - x[i]) for i in changes] + list(x[on_zero])
    return float(math.exp(np.mean(roots)))


@dataclass(frozen=True)
class PairCrossing:
    """The crossing of two consecutive distances, with its bootstrap interval.

    Attributes:
        d_small, d_large: The two distances.
        value: Crossing p from the measured counts.
        low, high: Bootstrap percentile interval (at the estimate's confidence).
        failures: Bootstrap replicates in which the resampled curves did not cross in the
            sampled range; they enter the percentiles as 0 or infinity, so when more than
            (1 - confidence) / 2 of them leave on one side, that bound is 0 or ``inf``
            (extend the p range).
    """

    d_small: int
    d_large: int
    value: float
    low: float
    high: float
    failures: int = 0


@dataclass(frozen=True)
class SkippedPair:
    """A consecutive distance pair left out of a threshold estimate, and why.

    Attributes:
        d_small, d_large: The two distances.
        reason: The message of the `NoCrossingError` / `ValueError` the pair raised.
        direction: ``"up"`` / ``"down"`` (extend p that way), or ``""`` (see ``reason``).
    """

    d_small: int
    d_large: int
    reason: str
    direction: str = ""


@dataclass(frozen=True)
class ThresholdEstimate:
    """A threshold: the mean of the pair crossings and an interval.

    Attributes:
        value: Mean of the pair crossings.
        low, high: Bootstrap interval of that mean at ``confidence``, widened to contain every
            pair's estimate (spread across distance pairs = finite-size systematic).
        confidence: Confidence of the bootstrap percentiles.
        pairs: One `PairCrossing` per consecutive distance pair that crosses.
        n_bootstrap: Replicates drawn.
        metric: ``"per_round"`` or ``"per_shot"`` (what was crossed).
        skipped: The consecutive pairs that gave no crossing (`SkippedPair`, with the reason);
            ``value`` and the interval come from ``pairs`` only.

    Example:
        >>> t = ThresholdEstimate(0.0105, 0.0100, 0.0110, 0.95, (), 0)
        >>> str(t)
        '1.050% [1.000%, 1.100%] (95% CI)'
    """

    value: float
    low: float
    high: float
    confidence: float
    pairs: tuple[PairCrossing, ...]
    n_bootstrap: int
    metric: str = "per_round"
    skipped: tuple[SkippedPair, ...] = ()

    def __str__(self) -> str:
        text = f"{self.value:.3%} [{self.low:.3%}, {self.high:.3%}] ({self.confidence:.0%} CI)"
        if self.pairs:
            text += "; pairs " + ", ".join(
                f"d{c.d_small}/d{c.d_large}: {c.value:.3%} [{c.low:.3%}, {c.high:.3%}]" for c in self.pairs
            )
        if self.skipped:
            text += "; no crossing for " + ", ".join(f"d{c.d_small}/d{c.d_large} ({c.reason})" for c in self.skipped)
        return text


def estimate_threshold(
    curves: Mapping[int, Curve] | Iterable[Curve],
    *,
    confidence: float = 0.95,
    n_bootstrap: int = 1000,
    seed: int | np.random.Generator = 0,
    metric: str = "per_round",
    saturation: float | None = 0.4,
) -> ThresholdEstimate:
    """Threshold from curves of two or more distances (see the module docstring for the method).

    Args:
        curves: One `Curve` per distance (a mapping distance -> Curve, or an iterable).
        confidence: Two-sided confidence of the bootstrap percentile intervals.
        n_bootstrap: Bootstrap replicates (0 skips the bootstrap: intervals are the pair spread).
        seed: Seed or Generator of the bootstrap resampling.
        metric: ``"per_round"`` (default) crosses the logical error per round; ``"per_shot"``
            the error per shot. They agree when every point has the same rounds (e.g. 1). With
            rounds = d they differ at small d, and reporting both shows the finite-size
            systematic: near a high threshold the per-shot rates are large and the per-round
            conversion stretches them, which pushes per-round crossings up (measured here:
            phenomenological repetition code, per-shot crossings 10.6-11.0% vs. the known 10.3%,
            per-round ones above 13%), while per-shot crossings penalise the larger code for
            its extra rounds (circuit-level rotated surface code: per-round 1.16% -> 0.97%,
            per-shot 0.61% -> 0.73% from d3/d5 to d7/d9, converging towards each other).
        saturation: Leave out the p values where either curve's per-shot error exceeds this:
            near 1/2 a decoder is no better than a coin, the curves' order there is noise, and
            it would add spurious crossings. ``None`` keeps every point.

    Returns:
        The estimate from the pairs that cross; pairs that do not (or lack two common p values
        with errors) are listed in ``skipped`` with the reason.

    Raises:
        ValueError: fewer than two distances, or no pair with two common p values with errors.
        NoCrossingError: no pair crosses in the sampled range (the message gives each pair's
            reason; ``direction`` is set when all agree on which way to extend p).

    Example:
        >>> p = (0.005, 0.01, 0.02)
        >>> c3 = Curve(3, p, shots=(10**4,) * 3, errors=(200, 700, 2000), rounds=(1,) * 3)
        >>> c5 = Curve(5, p, shots=(10**4,) * 3, errors=(60, 500, 2600), rounds=(1,) * 3)
        >>> t = estimate_threshold([c3, c5], n_bootstrap=200, seed=1)
        >>> t.low < t.value < t.high, 0.01 < t.value < 0.02
        (True, True)
    """
    if isinstance(curves, Mapping):
        curves = list(curves.values())
    by_d: dict[int, Curve] = {}
    for c in curves:
        if not isinstance(c, Curve):
            raise TypeError(f"curves must be Curve objects, got {type(c).__name__}.")
        if c.distance in by_d:
            raise ValueError(f"two curves for distance {c.distance}: merge them or select one group of rows.")
        by_d[c.distance] = c
    if len(by_d) < 2:
        raise ValueError(f"a threshold needs curves at >= 2 distances, got {sorted(by_d)}; add a distance.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}.")
    if n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be >= 0, got {n_bootstrap}.")
    if saturation is not None and not 0 < saturation <= 0.5:
        raise ValueError(f"saturation must lie in (0, 0.5] or be None, got {saturation!r}.")
    if metric not in ("per_round", "per_shot"):
        raise ValueError(f"metric must be 'per_round' or 'per_shot', got {metric!r}.")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    ds = sorted(by_d)
    alpha = (1 - confidence) / 2
    pairs: list[PairCrossing] = []
    skipped: list[SkippedPair] = []
    all_no_crossing = True  # every skipped pair raised NoCrossingError (not a data shortage)
    replicates = []
    for d_small, d_large in zip(ds, ds[1:]):
        try:
            p, (sh_a, er_a, r_a), (sh_b, er_b, r_b) = _common_points(by_d[d_small], by_d[d_large], saturation)
            if metric == "per_shot":  # one "round" per shot: per_round_array is then the identity
                r_a, r_b = np.ones_like(r_a), np.ones_like(r_b)
            value = find_crossing(p, per_round_array(er_a / sh_a, r_a), per_round_array(er_b / sh_b, r_b))
        except ValueError as e:  # NoCrossingError included
            skipped.append(SkippedPair(d_small, d_large, str(e), getattr(e, "direction", "")))
            all_no_crossing &= isinstance(e, NoCrossingError)
            continue
        boot = np.full(n_bootstrap, np.nan)
        for k in range(n_bootstrap):
            ea = rng.binomial(sh_a, er_a / sh_a)
            eb = rng.binomial(sh_b, er_b / sh_b)
            keep = (ea > 0) & (eb > 0)
            if keep.sum() < 2:
                continue
            try:
                boot[k] = find_crossing(
                    p[keep],
                    per_round_array(ea[keep] / sh_a[keep], r_a[keep]),
                    per_round_array(eb[keep] / sh_b[keep], r_b[keep]),
                )
            except NoCrossingError as e:
                # A replicate whose crossing left the sampled range counts as +-inf, so that an
                # interval reaching past the range shows as unbounded instead of being cut off.
                boot[k] = {"up": math.inf, "down": 0.0}.get(e.direction, math.nan)
        failures = int(np.sum(~np.isfinite(boot) | (boot == 0)))
        if n_bootstrap and np.any(~np.isnan(boot)):
            # "lower"/"higher" never interpolate towards an infinite replicate (inf * 0 = nan).
            lo = np.nanquantile(boot, alpha, method="lower")
            hi = np.nanquantile(boot, 1 - alpha, method="higher")
        else:
            lo = hi = value
        pairs.append(PairCrossing(d_small, d_large, value, float(min(lo, value)), float(max(hi, value)), failures))
        replicates.append(boot)
    if not pairs:
        reasons = "; ".join(f"distances {c.d_small} and {c.d_large}: {c.reason}" for c in skipped)
        if all_no_crossing:
            directions = {c.direction for c in skipped}
            raise NoCrossingError(reasons, directions.pop() if len(directions) == 1 else "")
        raise ValueError(reasons)
    values = np.array([c.value for c in pairs])
    value = float(values.mean())
    low, high = float(values.min()), float(values.max())
    if n_bootstrap:
        stacked = np.vstack(replicates)
        with np.errstate(invalid="ignore"):  # inf + 0 from opposite failures: undetermined
            combined = stacked.mean(axis=0)
        combined = combined[~np.isnan(combined)]
        if combined.size:
            blo = np.quantile(combined, alpha, method="lower")
            bhi = np.quantile(combined, 1 - alpha, method="higher")
            low, high = min(low, float(blo)), max(high, float(bhi))
    return ThresholdEstimate(
        value, min(low, value), max(high, value), confidence, tuple(pairs), n_bootstrap, metric, tuple(skipped)
    )


def _common_points(a: Curve, b: Curve, saturation: float | None = None):
    """p values both curves sampled with errors (and unsaturated), and their counts as arrays."""
    cap = 1.0 if saturation is None else saturation

    def usable(c: Curve) -> dict[float, int]:
        return {p: i for i, p in enumerate(c.p) if 0 < c.errors[i] and c.errors[i] / c.shots[i] <= cap}

    ia, ib = usable(a), usable(b)
    common = sorted(set(ia) & set(ib))
    if len(common) < 2:
        raise ValueError(
            f"the curves share {len(common)} p value(s) with errors at both"
            + ("" if saturation is None else f" and per-shot error <= {saturation}")
            + "; a crossing needs >= 2: sample the same p values for every distance, with more shots"
            + ("." if saturation is None else ", lower p, or pass saturation=None.")
        )

    def arrays(c: Curve, index: dict[float, int]):
        rows = [index[p] for p in common]
        return (
            np.array([c.shots[i] for i in rows], dtype=np.int64),
            np.array([c.errors[i] for i in rows], dtype=np.int64),
            np.array([c.rounds[i] for i in rows], dtype=np.int64),
        )

    return np.array(common), arrays(a, ia), arrays(b, ib)


def curves_from_rows(rows: Iterable, **select) -> dict[int, Curve]:
    """Group sweep rows (`qec_gym.sim.sweep.SweepRow`) into one `Curve` per distance.

    Args:
        rows: Rows with ``distance, p, shots, errors, discards, rounds`` attributes.
        **select: Keep only rows whose attributes equal these values (e.g. ``family="xzzx"``,
            ``decoder="pymatching"``, ``source="stim"``).

    Raises:
        ValueError: the selected rows mix several groups (family, decoder, noise, eta, basis,
            source) or repeat a (distance, p) point; nothing selected; an unknown attribute.

    Example:
        >>> from qec_gym.sim.sweep import SweepRow
        >>> rows = [SweepRow("repetition", 3, 3, "z", p, "uniform", None, "pymatching", "qec_gym", 100, 5)
        ...         for p in (0.02, 0.01)]
        >>> curves_from_rows(rows, family="repetition")[3].p
        (0.01, 0.02)
    """
    rows = list(rows)
    for key in select:
        if rows and not hasattr(rows[0], key):
            raise ValueError(f"rows have no attribute {key!r} to select on.")
    chosen = [r for r in rows if all(getattr(r, k) == v for k, v in select.items())]
    if not chosen:
        raise ValueError(f"no rows match {select}; check the family/decoder/noise names in the results.")
    group_keys = ("family", "decoder", "noise", "eta", "basis", "source")
    groups = {tuple(getattr(r, k, None) for k in group_keys) for r in chosen}
    if len(groups) > 1:
        raise ValueError(
            f"rows mix {len(groups)} groups {sorted(groups, key=str)}; select one with keywords such as "
            "family=..., decoder=..., source=..."
        )
    by_d: dict[int, dict[float, object]] = {}
    for r in chosen:
        points = by_d.setdefault(r.distance, {})
        if r.p in points:
            raise ValueError(f"two rows for d={r.distance}, p={r.p}: select a single rounds/basis group.")
        points[r.p] = r
    out = {}
    for d, points in sorted(by_d.items()):
        ps = sorted(points)
        out[d] = Curve(
            d,
            p=tuple(ps),
            shots=tuple(points[p].shots - points[p].discards for p in ps),
            errors=tuple(points[p].errors for p in ps),
            rounds=tuple(points[p].rounds for p in ps),
        )
    return out


@dataclass(frozen=True)
class SuppressionFactor:
    """Lambda = eps_d / eps_d' (logical error per round) at one p, with a conservative interval.

    Attributes:
        p: Physical error rate.
        d_small, d_large: The distances (usually d and d + 2).
        value: The ratio of measured per-round rates.
        low, high: Ratio of the per-round Clopper-Pearson bounds (low_d / high_d',
            high_d / low_d'), each at ``confidence``: conservative.
    """

    p: float
    d_small: int
    d_large: int
    value: float
    low: float
    high: float


def suppression_factors(
    curves: Mapping[int, Curve], p: float, *, confidence: float = 0.95
) -> tuple[SuppressionFactor, ...]:
    """Error suppression factors Lambda between consecutive distances at physical error rate ``p``.

    Below threshold eps_d ~ A (p / p_th)^((d+1)/2), so Lambda = eps_d / eps_{d+2} ~ p_th / p.

    Raises:
        ValueError: fewer than two distances sampled at ``p``, or zero errors at the larger one.

    Example:
        >>> cs = {d: Curve(d, (0.001,), (10**5,), (e,), (1,)) for d, e in ((3, 400), (5, 100))}
        >>> f = suppression_factors(cs, 0.001)[0]
        >>> (f.d_small, f.d_large, f.value), f.low < 4 < f.high
        ((3, 5, 4.0), True)
    """
    at_p = {}
    for d, c in sorted(curves.items()):
        hits = [i for i, q in enumerate(c.p) if math.isclose(q, p, rel_tol=1e-9)]
        if hits:
            at_p[d] = (c.shots[hits[0]], c.errors[hits[0]], c.rounds[hits[0]])
    if len(at_p) < 2:
        raise ValueError(f"p={p} was sampled at {sorted(at_p)} only; Lambda needs two distances there.")
    out = []
    ds = sorted(at_p)
    for d_small, d_large in zip(ds, ds[1:]):
        (sa, ea, ra), (sb, eb, rb) = at_p[d_small], at_p[d_large]
        if eb == 0:
            raise ValueError(f"no logical errors at d={d_large}, p={p}: sample more shots for Lambda.")
        va = float(per_round_array(ea / sa, ra))
        vb = float(per_round_array(eb / sb, rb))
        la, ha = (float(per_round_array(x, ra)) for x in binomial_ci(ea, sa, confidence=confidence))
        lb, hb = (float(per_round_array(x, rb)) for x in binomial_ci(eb, sb, confidence=confidence))
        out.append(SuppressionFactor(p, d_small, d_large, va / vb, la / hb, ha / lb))
    return tuple(out)
