"""Binomial statistics: confidence intervals and per-round rates.

Example:
    >>> lo, hi = binomial_ci(5, 1000, confidence=0.95)
    >>> round(lo, 5), round(hi, 5)
    (0.00163, 0.01163)
    >>> round(per_round(0.1, 10), 6)
    0.011034
    >>> lo, hi = difference_ci(250, 5000, 150, 5000)
    >>> lo > 0  # 5% vs 3% at 5000 shots each: separated at 99%
    True
"""

from __future__ import annotations

import math

from scipy.stats import beta, norm


def binomial_ci(errors: int, shots: int, *, confidence: float = 0.99) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval for a binomial rate ``errors / shots``.

    Raises:
        ValueError: shots <= 0, errors outside [0, shots], confidence outside (0, 1).
    """
    if shots <= 0:
        raise ValueError(f"shots must be > 0, got {shots}.")
    if not 0 <= errors <= shots:
        raise ValueError(f"errors must lie in [0, shots={shots}], got {errors}.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}.")
    a = 1 - confidence
    lo = 0.0 if errors == 0 else float(beta.ppf(a / 2, errors, shots - errors + 1))
    hi = 1.0 if errors == shots else float(beta.ppf(1 - a / 2, errors + 1, shots - errors))
    return lo, hi


def wilson_ci(errors: int, shots: int, *, confidence: float = 0.99) -> tuple[float, float]:
    """Wilson score interval for ``errors / shots`` (the building block of `difference_ci`)."""
    if shots <= 0 or not 0 <= errors <= shots:
        raise ValueError(f"need shots > 0 and 0 <= errors <= shots, got {errors}/{shots}.")
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    p = errors / shots
    denom = 1 + z * z / shots
    centre = (p + z * z / (2 * shots)) / denom
    half = z * math.sqrt(p * (1 - p) / shots + z * z / (4 * shots * shots)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_ci(
    errors_a: int, shots_a: int, errors_b: int, shots_b: int, *, confidence: float = 0.99
) -> tuple[float, float]:
    """Newcombe's hybrid-score interval for ``rate_a - rate_b`` of two independent binomials.

    The right test for "do two simulators agree": 0 lies inside the interval. (Checking that
    each estimate lies inside the other's interval is too strict by a factor sqrt(2).)
    """
    pa, pb = errors_a / shots_a, errors_b / shots_b
    la, ua = wilson_ci(errors_a, shots_a, confidence=confidence)
    lb, ub = wilson_ci(errors_b, shots_b, confidence=confidence)
    d = pa - pb
    return d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2), d + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)


def per_round(p_shot: float, rounds: int) -> float:
    """Logical error per round from the error of a ``rounds``-round memory experiment.

    Uses ``p_shot = (1 - (1 - 2 p_round)^rounds) / 2`` (independent flips compose by parity), as
    sinter's `shot_error_rate_to_piece_error_rate`. Rates above 1/2 are reflected (a decoder
    that is wrong more often than not has a flipped output).
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}.")
    if not 0 <= p_shot <= 1:
        raise ValueError(f"p_shot must lie in [0, 1], got {p_shot}.")
    if p_shot > 0.5:
        return 1 - per_round(1 - p_shot, rounds)
    return (1 - (1 - 2 * p_shot) ** (1 / rounds)) / 2


def log10_or_floor(p: float, floor: float = 1e-12) -> float:
    """log10(max(p, floor)): for log-scale rewards and plots where p can be 0."""
    return math.log10(max(p, floor))
