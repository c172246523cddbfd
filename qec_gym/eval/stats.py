"""Statistics of harness results: means with t confidence intervals, paired differences, regret.

Episodes are paired by (scenario, seed): every policy faced the same noise trajectory, so
differences between policies are computed per episode and their interval is the paired t
interval (far tighter than comparing two independent means).

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"policy": ["a"] * 3 + ["b"] * 3, "scenario": ["s"] * 6,
    ...                    "seed": [0, 1, 2] * 2, "return": [1.0, 2.0, 3.0, 1.5, 2.5, 3.5]})
    >>> d = paired_difference(df, "b", "a")
    >>> d.mean, d.low, d.high
    (0.5, 0.5, 0.5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Interval:
    """A mean and its two-sided confidence interval (``low``/``high`` NaN: no interval exists)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def exists(self) -> bool:
        """False when the data cannot bound the mean (fewer than two values)."""
        return not (math.isnan(self.low) or math.isnan(self.high))

    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of zero (never without an interval)."""
        return self.exists and (self.low > 0 or self.high < 0)

    def __str__(self) -> str:
        if not self.exists:
            return f"{self.mean:.2f} [n/a: n={self.n}]"
        return f"{self.mean:.2f} [{self.low:.2f}, {self.high:.2f}]"


def mean_ci(values, confidence: float = 0.95) -> Interval:
    """Student-t interval of the mean of ``values``.

    One value says nothing about its spread, so its interval does not exist: ``low`` and
    ``high`` are NaN (printed ``n/a``), never a zero-width interval. Values that are all equal
    (n >= 2) do give a zero-width t interval.

    Raises:
        ValueError: no values.

    Example:
        >>> str(mean_ci([3.0])), mean_ci([3.0]).excludes_zero()
        ('3.00 [n/a: n=1]', False)
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("no values to summarise.")
    m = float(x.mean())
    if x.size == 1:
        return Interval(m, math.nan, math.nan, 1)
    if np.all(x == x[0]):
        return Interval(m, m, m, int(x.size))
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return Interval(m, m - half, m + half, int(x.size))


def paired_difference(df, policy: str, reference: str, *, metric: str = "return", confidence: float = 0.95) -> Interval:
    """Interval of ``metric(policy) - metric(reference)`` over the episodes both ran.

    Raises:
        ValueError: a policy is missing, or the two share no episode.
    """
    a = _by_episode(df, policy, metric)
    b = _by_episode(df, reference, metric)
    common = a.index.intersection(b.index)
    if len(common) == 0:
        raise ValueError(f"{policy!r} and {reference!r} share no (scenario, seed) episode: they cannot be paired.")
    return mean_ci((a.loc[common] - b.loc[common]).to_numpy(), confidence)


def summarize(df, *, reference: str | None = None, oracle: str | None = "clairvoyant", confidence: float = 0.95):
    """One row per policy: mean return with CI, paired difference to ``reference`` and regret
    to ``oracle`` (oracle's return minus the policy's, paired), budget violations, qubit-rounds,
    switches. Returns a DataFrame sorted by mean return (best first)."""
    import pandas as pd

    rows = []
    for policy in df.policy.unique():
        sub = df[df.policy == policy]
        ret = mean_ci(sub["return"], confidence)
        row = {
            "policy": policy, "episodes": ret.n, "return": ret.mean, "return_low": ret.low, "return_high": ret.high,
            "log10_p_round": float(sub.mean_log10_p_round.mean()),
            "budget_violation_frac": float(sub.budget_violation_frac.mean()),
            "qubit_rounds": float(sub.qubit_rounds.mean()), "switches": float(sub.switches.mean()),
        }
        if reference is not None and reference in set(df.policy) and policy != reference:
            d = paired_difference(df, policy, reference, confidence=confidence)
            row.update(diff_vs_reference=d.mean, diff_low=d.low, diff_high=d.high)
        if oracle is not None and oracle in set(df.policy):
            r = paired_difference(df, oracle, policy, confidence=confidence)
            row.update(regret=r.mean, regret_low=r.low, regret_high=r.high)
        rows.append(row)
    return pd.DataFrame(rows).sort_values("return", ascending=False).reset_index(drop=True)


def by_scenario(df, *, confidence: float = 0.95):
    """Mean return with CI per (scenario, policy)."""
    import pandas as pd

    rows = []
    for (scenario, policy), sub in df.groupby(["scenario", "policy"], sort=True):
        ci = mean_ci(sub["return"], confidence)
        rows.append({"scenario": scenario, "policy": policy, "return": ci.mean, "low": ci.low, "high": ci.high, "n": ci.n})
    return pd.DataFrame(rows)


def _by_episode(df, policy: str, metric: str):
    sub = df[df.policy == policy]
    if sub.empty:
        raise ValueError(f"no results for policy {policy!r}; have {sorted(df.policy.unique())}.")
    return sub.set_index(["scenario", "seed"])[metric]
