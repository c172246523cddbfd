"""Online anomaly detection on detection-event streams, one update per window, plus offline changepoints.

Three online detectors, each with a threshold set from a target false-alarm rate under
stationary noise (``false_alarms_per_window``, default 1e-5, i.e. 0.1 per 10^4 windows each):

* `AnomalyMonitor` CUSUM (Page 1954; two-sided, reference k = 0.5 sigma, threshold h from
  Siegmund's ARL approximation ARL0 = (exp(2k b) - 2k b - 1) / (2k^2), b = h + 1.166) on the
  window's mean detection fraction, standardised by its own sampling error (from the spread of
  per-shot detection counts). Flags ``"cusum_up"`` / ``"cusum_down"`` (drifts, steps, telegraph
  switches), then re-learns its baseline (a step is a new normal).
* Burst (cosmic-ray-like, McEwen et al. 2022): a one-window jump of the fraction by more than
  ``z_burst`` sampling errors *and* more than ``spread_fraction`` of detectors elevated at once
  (spatially correlated). Flags ``"burst"`` on the onset window and ``"burst_decay"`` until the
  excess falls below ``burst_release`` sampling errors; CUSUM and streaks are held meanwhile, so a
  decaying tail is not read as a step, and an excess that has not halved after
  ``burst_decay_windows`` windows is flagged ``"step_up"`` (the held windows, at the new level,
  start its baseline). During the hold, a one-window rise
  by more than sqrt(2) ``z_burst`` is a new burst (flagged ``"burst"``: overlapping impacts are
  not a step), and a one-window fall by more than ``z_burst`` to within ``learn_reject`` is an
  elevated level ending (``"step_down"``: a telegraph switching back; an exponential decay falls
  that far in one window only with a decay time under ~1 window). The ``burst_decay_windows``
  windows after a burst stay out of the baseline and out of the upward CUSUM (its tail: a
  large burst released at 1 sigma still runs 1-2 sigma high for ~10 windows, which summed to a
  ``cusum_up`` 20-30 windows after the burst); a rise then is still seen by the burst test.
* Streak (leakage-like: one check keeps firing in consecutive rounds): the lag-1 covariance
  <x(r) x(r+1)> - <x(r)><x(r+1)> of each check between consecutive rounds (pairs of detectors at
  the same spatial coordinates, next time coordinate), z-scored against its baseline with a
  Bonferroni threshold over the pairs. Flags ``"streak:D<i>"`` for a few pairs only; when more
  than ``spread_fraction`` of pairs rise together it is a burst, not a streak.

Baseline: learnt on ``warmup`` windows (``rewarm`` after a step), leaving out windows further than
``learn_reject`` of their sampling errors from the learning windows' median and the
``burst_decay_windows`` windows after a high one (bursts and their tails, which would inflate it
and later read as a ``cusum_down``); then every quiet monitored window (no flag, no burst hold
or its tail, within ``learn_reject``) joins it (self-starting CUSUM, Hawkins 1987; residuals
scaled by sqrt(1 + 1/m) for the error of an m-window baseline). While learning, a window more
than sqrt(2) ``z_burst`` above the learning windows' median is flagged ``"burst"`` (once per
learning; the fit keeps the majority level) and one as far below is flagged ``"step_down"`` and
restarts the learning at the new level: a change during the re-learning is not missed. A baseline frozen after 50 windows carries an error of 1/sqrt(50) = 0.14 sigma for good,
which alone puts the CUSUM's false-alarm rate one to two decades above its target; the growing
baseline shrinks that error as the run goes on. Measured rates: ``benchmarks/anomaly_detectors.py``.

Offline: `changepoints` runs PELT (Killick et al. 2012) via ``ruptures``.

Example:
    >>> import numpy as np, stim
    >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
    ...                            after_clifford_depolarization=2e-3, before_measure_flip_probability=2e-3)
    >>> mon = AnomalyMonitor.for_circuit(c, warmup=20)
    >>> s = c.compile_detector_sampler(seed=1)
    >>> flags = [mon.update(s.sample(2000)) for _ in range(40)]
    >>> sum(map(len, flags))
    0
    >>> hot = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
    ...                              after_clifford_depolarization=1e-2, before_measure_flip_probability=1e-2)
    >>> mon.update(hot.compile_detector_sampler(seed=2).sample(2000))
    ('burst',)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm


def cusum_threshold(arl0: float, k: float = 0.5) -> float:
    """Decision interval h of a one-sided CUSUM with in-control average run length ``arl0``
    (Siegmund 1985 approximation, standard-normal increments, reference value k).

    Example:
        >>> round(cusum_threshold(2e4), 2)
        8.05
    """
    if arl0 <= 1:
        raise ValueError(f"arl0 (windows between false alarms) must be > 1, got {arl0}.")

    def arl(h: float) -> float:
        b = h + 1.166
        return (math.exp(2 * k * b) - 2 * k * b - 1) / (2 * k * k) - arl0

    return float(brentq(arl, 1e-6, 200.0))


def time_pairs(coords: dict[int, list[float]]) -> np.ndarray:
    """Pairs (i, j) of detectors at the same spatial coordinates in consecutive time coordinates.

    Args:
        coords: ``circuit.get_detector_coordinates()`` (last coordinate = time, stim's convention).

    Returns:
        int64 (P, 2), possibly empty.
    """
    by_space: dict[tuple, list[tuple[float, int]]] = {}
    for det, c in coords.items():
        if len(c) >= 2:
            by_space.setdefault(tuple(c[:-1]), []).append((c[-1], det))
    pairs = []
    for items in by_space.values():
        items.sort()
        pairs += [(a[1], b[1]) for a, b in zip(items, items[1:])]
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def chain_layout(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A column order that puts every pair side by side, when the pairs form chains.

    `time_pairs` links each check to itself one round later, so its pairs form chains
    (a -> b -> c ...). Concatenating the chains gives an ``order`` of the detectors in which pair
    ``k`` is the adjacent columns ``pos[k], pos[k] + 1``: one gather of the window's columns then
    serves every pair, instead of one gather per pair end.

    Returns:
        ``(order, pos)`` (int64), or None when the pairs do not form chains (a detector in two
        pairs on the same side).

    Example:
        >>> order, pos = chain_layout(np.array([[0, 2], [2, 4], [1, 3]]))
        >>> order.tolist(), pos.tolist()
        ([0, 2, 4, 1, 3], [0, 1, 3])
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    nxt = dict(zip(pairs[:, 0].tolist(), pairs[:, 1].tolist()))
    if len(nxt) < len(pairs) or len(set(pairs[:, 1].tolist())) < len(pairs):
        return None
    heads = sorted(set(nxt) - set(pairs[:, 1].tolist()))
    order: list[int] = []
    for h in heads:
        order.append(h)
        while order[-1] in nxt:
            order.append(nxt[order[-1]])
    if len(order) != len(set(nxt) | set(pairs[:, 1].tolist())):  # a cycle: not chains
        return None
    where = {det: k for k, det in enumerate(order)}
    return np.array(order, dtype=np.int64), np.array([where[a] for a in pairs[:, 0].tolist()], dtype=np.int64)


def window_statistics(x: np.ndarray, pairs: np.ndarray, layout: tuple[np.ndarray, np.ndarray] | None = None
                      ) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Per-window statistics every detector reads, computed once.

    Sums over shots and over detectors are float32 matrix-vector products of 0/1 entries (BLAS;
    exact while counts stay below 2^24 shots); the pairs' coincidences need a gather of their columns, one gather in all with
    the pairs' `chain_layout` (the bulk of the cost: numpy gathers byte columns one by one).

    Args:
        x: bool (shots >= 2, num_detectors).
        pairs: int64 (P, 2) detector pairs (possibly empty).
        layout: ``chain_layout(pairs)`` (or None: two gathers).

    Returns:
        ``(f, se, rates, cov)``: mean detection fraction; its sampling error (from the spread of
        per-shot detection counts, floored at half a count); float64 (num_detectors,) rates;
        float64 (P,) covariances ``<x_i x_j> - <x_i><x_j>`` of the pairs.

    Example:
        >>> x = np.array([[1, 1, 0], [0, 1, 0], [1, 1, 1], [0, 0, 0]], dtype=bool)
        >>> f, se, rates, cov = window_statistics(x, np.array([[0, 1]]))
        >>> float(f), rates.tolist(), cov.tolist()
        (0.5, [0.5, 0.75, 0.25], [0.125])
    """
    n, d = x.shape
    u8 = x.view(np.uint8)
    xf = u8.astype(np.float32)
    counts = (xf @ np.ones(d, dtype=np.float32)).astype(np.float64)  # per-shot detection counts
    s1, s2 = float(counts.sum()), float(counts @ counts)  # exact integers in float64
    f = s1 / (n * d)
    se = max(math.sqrt(max(s2 - s1 * s1 / n, 0.0) / (n - 1) / n) / d, 0.5 / (n * d))
    ones = np.ones(n, dtype=np.float32)
    rates = (ones @ xf).astype(np.float64) / n
    if not len(pairs):
        return f, se, rates, np.zeros(0)
    if layout is None:
        both = ones @ (u8[:, pairs[:, 0]] & u8[:, pairs[:, 1]]).astype(np.float32)
    else:
        order, pos = layout
        y = u8[:, order]
        both = (ones @ (y[:, :-1] & y[:, 1:]).astype(np.float32))[pos]
    cov = both.astype(np.float64) / n - rates[pairs[:, 0]] * rates[pairs[:, 1]]
    return f, se, rates, cov


@dataclass(frozen=True)
class MonitorConfig:
    """Thresholds of `AnomalyMonitor`.

    Attributes:
        false_alarms_per_window: Target false-alarm rate of each detector under stationary noise.
        warmup: Windows used to learn the first baseline.
        rewarm: Windows used to re-learn it after a step/CUSUM alarm (only jumps beyond sqrt(2)
            z_burst are flagged meanwhile).
        k: CUSUM reference value (sigma units): tuned to shifts of ~2k sigma.
        spread_fraction: Fraction of detectors (pairs) that must rise together for a burst.
        streak_windows: Consecutive windows a pair must stay elevated to be a streak.
        burst_decay_windows: A burst whose excess has not halved after this many windows is
            re-flagged ``"step_up"`` (a persistent shift) and the baseline re-learnt; also the
            windows after a burst (or a high learning window) kept out of the baseline.
        burst_release: A burst ends (CUSUM and streaks re-arm) only once the excess falls below
            this many sampling errors: a decaying tail held to half the burst threshold would
            otherwise feed CUSUM a run of positive increments (a false ``cusum_up``).
        learn_reject: While (re-)learning, windows further than this many of their own sampling
            errors from the median of the learning windows (a burst or its tail) are left out
            of the baseline, so it is not inflated and later read as a ``cusum_down``.
    """

    false_alarms_per_window: float = 1e-5
    warmup: int = 50
    rewarm: int = 20
    k: float = 0.5
    spread_fraction: float = 0.25
    streak_windows: int = 2
    burst_decay_windows: int = 10
    burst_release: float = 1.0
    learn_reject: float = 3.0

    def __post_init__(self) -> None:
        if not 0 < self.false_alarms_per_window < 0.5:
            raise ValueError(f"false_alarms_per_window must be in (0, 0.5), got {self.false_alarms_per_window}.")
        if self.warmup < 2 or self.rewarm < 2:
            raise ValueError(f"warmup and rewarm must be >= 2 windows, got {self.warmup}, {self.rewarm}.")
        if not 0 < self.spread_fraction <= 1:
            raise ValueError(f"spread_fraction must be in (0, 1], got {self.spread_fraction}.")
        if self.streak_windows < 1:
            raise ValueError(f"streak_windows must be >= 1, got {self.streak_windows}.")
        if not (self.burst_release >= 0 and self.learn_reject > 0):
            raise ValueError(f"burst_release must be >= 0 and learn_reject > 0 (sigma units), got "
                             f"{self.burst_release}, {self.learn_reject}.")


class AnomalyMonitor:
    """CUSUM + burst + streak detectors over windows of detection events (see module docstring).

    Args:
        pairs: int64 (P, 2) consecutive-round detector pairs for the streak detector (`time_pairs`);
            empty disables it.
        config: Thresholds.
    """

    def __init__(self, pairs: np.ndarray | None = None, config: MonitorConfig | None = None):
        self.config = config or MonitorConfig()
        self.pairs = np.zeros((0, 2), dtype=np.int64) if pairs is None else np.asarray(pairs, dtype=np.int64)
        rate = self.config.false_alarms_per_window
        self.h_cusum = cusum_threshold(2.0 / rate, self.config.k)  # two sides share the rate
        self.z_burst = float(norm.isf(rate))
        self.z_streak = float(norm.isf(rate / max(1, len(self.pairs))))
        self._layout = chain_layout(self.pairs) if len(self.pairs) else None
        self.t = 0
        self._width: int | None = None
        self._reset_baseline(self.config.warmup)
        self._streak_run = np.zeros(len(self.pairs), dtype=np.int64)
        self._in_burst = False
        self._burst_len = 0
        self._burst_peak = 0.0

    @classmethod
    def for_circuit(cls, circuit, **config) -> "AnomalyMonitor":
        """A monitor whose streak pairs come from ``circuit``'s detector coordinates."""
        return cls(time_pairs(circuit.get_detector_coordinates()), MonitorConfig(**config))

    @property
    def learning(self) -> bool:
        """Whether the monitor is (re-)learning its baseline (only large jumps are flagged then)."""
        return self._learn is not None

    def _reset_baseline(self, warmup: int | None = None) -> None:
        self._warmup = self.config.rewarm if warmup is None else warmup
        self._learn: list | None = []
        self.s_up = self.s_down = 0.0
        self._last_z = 0.0
        self._cool = 0
        self._learn_burst = False  # a rise already flagged while learning

    def _fit_baseline(self) -> None:
        """Baseline from the learning windows, leaving out outliers (bursts, their tails)."""
        f, se, rates, cov = (np.array(v) for v in zip(*self._learn))
        dev = (f - np.median(f)) / se
        keep = np.abs(dev) <= self.config.learn_reject
        if keep.sum() < max(2, len(f) // 2):  # mostly outliers: a drift, not a few bursts; keep all
            keep[:] = True
        else:
            # a burst's tail decays through the reject band: the windows right after a high
            # outlier still run above the quiet level and would inflate the baseline (later a
            # cusum_down); left out too while at least 2 windows remain
            calm = keep.copy()
            for i in np.flatnonzero(dev > self.config.learn_reject):
                calm[i + 1: i + 1 + self.config.burst_decay_windows] = False
            if calm.sum() >= 2:
                keep = calm
        # running sums, so that quiet monitored windows keep refining the baseline (`_absorb`)
        self._base_n = int(keep.sum())
        self._base = [f[keep].sum(), rates[keep].sum(axis=0), cov[keep].sum(axis=0), (cov[keep] ** 2).sum(axis=0)]
        self._learn = None
        self._refresh()

    def _absorb(self, f: float, rates: np.ndarray, cov: np.ndarray) -> None:
        """Add a quiet window to the baseline (self-starting CUSUM, Hawkins 1987): the baseline's
        error then shrinks as 1/sqrt(windows seen) instead of staying at 1/sqrt(warmup), which
        alone would put the false-alarm rate far above target (a +0.14 sigma error of a 50-window
        baseline divides the CUSUM's ARL0 by ~20)."""
        self._base_n += 1
        self._base = [acc + v for acc, v in zip(self._base, (f, rates, cov, cov**2))]
        # one window moves a baseline of m windows by ~1/m of a sampling error: past 100 windows
        # refreshing every 8th costs nothing in accuracy and most of the per-window work
        if self._base_n < 100 or self._base_n % 8 == 0:
            self._refresh()

    def _refresh(self) -> None:
        m = self._base_n
        self._mu = float(self._base[0]) / m
        self._base_rates = self._base[1] / m
        self._cov_mean = self._base[2] / m
        self._cov_sd = np.sqrt(np.maximum(self._base[3] / m - self._cov_mean**2, 0) * m / max(m - 1, 1))
        self._rate_var = self._base_rates * (1 - self._base_rates)

    def update(self, detection_events: np.ndarray) -> tuple[str, ...]:
        """Feed one window: bool (shots, num_detectors). Returns the flags raised on it."""
        x = np.asarray(detection_events, dtype=bool)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"detection events must be (shots >= 2, num_detectors), got shape {x.shape}.")
        if self._width is None:
            if len(self.pairs) and self.pairs.max() >= x.shape[1]:
                raise ValueError(f"the streak pairs name detector {int(self.pairs.max())} but windows have "
                                 f"{x.shape[1]} detectors: build the monitor for this circuit (for_circuit).")
            self._width = x.shape[1]
        elif x.shape[1] != self._width:
            raise ValueError(f"this window has {x.shape[1]} detectors, earlier ones {self._width}: one monitor "
                             "watches one circuit; use a new AnomalyMonitor for the other.")
        n = len(x)
        f, se, rates, cov = window_statistics(x, self.pairs, self._layout)
        window = (f, se, rates, cov)
        self.t += 1
        cfg = self.config
        jump = self.z_burst * math.sqrt(2)  # a one-window change beyond the sampling noise of a difference
        if self._learn is not None:  # learning the baseline: only jumps against the learning windows
            flags = ()
            if self._learn:
                d = (f - float(np.median([w[0] for w in self._learn]))) / se
                if d > jump and not self._learn_burst:
                    # a rise (a burst or an elevated level): flagged once; the fit keeps the majority level
                    self._learn_burst, flags = True, ("burst",)
                elif d < -jump and not self._learn_burst:
                    # the level being learnt has ended (a telegraph switching back): learn the new one
                    self._learn = []
                    flags = ("step_down",)
            self._learn.append(window)
            if len(self._learn) >= self._warmup:
                self._fit_baseline()
            return flags
        flags: list[str] = []
        # the baseline's own error (m windows) adds se^2/m to the variance of f - mu (Hawkins
        # 1987's self-starting residuals): without it every re-learnt baseline runs hot for a while
        z = (f - self._mu) / (se * math.sqrt(1 + 1 / self._base_n))
        prev, self._last_z = self._last_z, z
        base = self._base_rates
        se_rates = np.sqrt(np.maximum(self._rate_var, 1.0 / n) / n)
        elevated = np.mean((rates - base) / se_rates > 2.0)
        if self._in_burst and z > cfg.burst_release and z - prev > jump:
            # a new impact on top of a decaying one: its own onset (else read as "no decay": a step)
            flags.append("burst")
            self._burst_len, self._burst_peak, self._held = 0, z, [window]
        elif self._in_burst and prev - z > self.z_burst and z < cfg.learn_reject:
            # the excess fell by more than the burst threshold to near the baseline in one window:
            # an elevated level ended (a telegraph-like switch back down). A decaying burst shrinks
            # by a factor e^(-1/decay) per window: it can fall that far only with decay < ~1 window
            self._in_burst = False
            flags.append("step_down")
        elif self._in_burst and z > cfg.burst_release:
            self._burst_len += 1
            self._held.append(window)
            if self._burst_len >= cfg.burst_decay_windows and z > self._burst_peak / 2:
                # no decay to half the peak: a persistent shift (a step), not a burst. The held
                # windows ran at the new level: they start its baseline (a shorter blind spot)
                self._reset_baseline()
                self._learn = self._held[-cfg.rewarm:]
                if len(self._learn) >= self._warmup:
                    self._fit_baseline()
                self._in_burst = False
                self._streak_run[:] = 0
                return ("step_up",)
            flags.append("burst_decay")
        elif z > self.z_burst and elevated > cfg.spread_fraction:
            flags.append("burst")
            self._in_burst, self._burst_len, self._burst_peak, self._held = True, 0, z, [window]
        else:
            self._in_burst = False
            if not self._cool:  # a burst's tail runs 1-2 sigma high for windows after its release
                self.s_up = max(0.0, self.s_up + z - cfg.k)
            self.s_down = max(0.0, self.s_down - z - cfg.k)
            if self.s_up > self.h_cusum or self.s_down > self.h_cusum:
                flags.append("cusum_up" if self.s_up > self.h_cusum else "cusum_down")
                self._reset_baseline()
                self._streak_run[:] = 0
                return tuple(flags)
        if len(self.pairs) and not self._in_burst:
            sd = np.maximum(self._cov_sd, 1.0 / n)
            hot = (cov - self._cov_mean) / sd > self.z_streak
            self._streak_run = np.where(hot, self._streak_run + 1, 0)
            lit = np.flatnonzero(self._streak_run >= cfg.streak_windows)
            if 0 < len(lit) <= max(1, int(cfg.spread_fraction * len(self.pairs))):
                flags += [f"streak:D{int(self.pairs[i, 0])}" for i in lit]
        if self._in_burst:
            self._cool = cfg.burst_decay_windows
        elif self._cool:
            # a released burst still decays below burst_release for a few windows: kept out of
            # the baseline (each absorbed tail window raises it; many bursts add up to a cusum_down)
            self._cool -= 1
        elif not flags and abs(z) <= cfg.learn_reject:
            self._absorb(f, rates, cov)
        return tuple(flags)


@dataclass(frozen=True)
class AlarmScore:
    """Flags matched to labelled events (`match_alarms`).

    Attributes:
        delays: Windows from each detected event to its first flag, in event order.
        first_flags: The flag that detected each detected event (same order as ``delays``).
        missed: Required events with no flag within the tolerance.
        false_alarms: ``(window, flag)`` of the flags attributed to no event.
    """

    delays: tuple[int, ...]
    first_flags: tuple[str, ...]
    missed: int
    false_alarms: tuple[tuple[int, str], ...]


def match_alarms(events, flags, *, tolerance: int, start: int = 0, minor=()) -> AlarmScore:
    """Match a monitor's flags to labelled events (the drift process knows when it changed).

    A flag at window t belongs to an event at window e (the first window at the new level) when
    ``e <= t <= e + tolerance``; an event's first such flag detects it. Flags that belong to no
    event are false alarms. ``minor`` events (too small to require, e.g. low bursts) excuse the
    flags they cause but are not counted as missed. An event before ``start`` (while the monitor
    was learning its first baseline) changed the level the monitor then watches: its flag can
    only come once monitoring starts, so it is treated as a minor event at ``start`` (a flag on
    the first monitored windows is the monitor seeing that change, not a false alarm). Flags
    before ``start`` are ignored.

    Args:
        events: Windows of the events that must be detected.
        flags: ``(window, flag)`` pairs in window order (``"burst_decay"`` continuation flags
            should be left out by the caller: they are not alarms).
        tolerance: Windows after an event within which its flags count.
        start: First monitored window.
        minor: Windows of events whose flags are excused but not required.

    Returns:
        `AlarmScore`.

    Example:
        >>> s = match_alarms([60, 100], [(50, "burst"), (61, "burst"), (75, "step_up"), (140, "cusum_down")],
        ...                  tolerance=20, start=50, minor=[10])
        >>> s.delays, s.first_flags, s.missed, s.false_alarms
        ((1,), ('burst',), 1, ((140, 'cusum_down'),))
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0 windows, got {tolerance}.")
    flags = [(int(t), str(f)) for t, f in flags if t >= start]
    required = sorted(int(e) for e in events if e >= start)
    excused = [max(int(e), start) for e in list(minor) + [e for e in events if e < start]]
    used = {i for i, (t, _) in enumerate(flags) for e in excused if e <= t <= e + tolerance}
    delays, first, missed = [], [], 0
    for e in required:
        hits = [i for i, (t, _) in enumerate(flags) if e <= t <= e + tolerance]
        if hits:
            delays.append(flags[hits[0]][0] - e)
            first.append(flags[hits[0]][1])
            used.update(hits)
        else:
            missed += 1
    false = tuple(fl for i, fl in enumerate(flags) if i not in used)
    return AlarmScore(tuple(delays), tuple(first), missed, false)


def changepoints(series, *, penalty: float | None = None, min_size: int = 3) -> list[int]:
    """Offline changepoints of a 1-D series (e.g. detection fractions per window) by PELT (``ruptures``, l2 cost).

    Args:
        series: 1-D array of window statistics.
        penalty: PELT penalty; default ``4 var log(n)`` (above the BIC 2 var log(n), which over-splits white noise) with var from the median
            absolute successive difference (robust to the changes themselves).
        min_size: Minimum segment length (windows).

    Returns:
        Indices where a new segment starts (sorted; excludes 0 and len(series)).

    Raises:
        ImportError: ruptures missing (``pip install 'qec-gym[monitor]'``).

    Example:
        >>> import numpy as np
        >>> x = np.r_[np.full(50, 0.02), np.full(50, 0.03)] + np.random.default_rng(0).normal(0, 1e-3, 100)
        >>> changepoints(x)
        [50]
    """
    try:
        import ruptures as rpt
    except ImportError as e:
        raise ImportError("changepoints needs ruptures: pip install 'qec-gym[monitor]'.") from e
    x = np.asarray(series, dtype=np.float64).reshape(-1)
    if len(x) < 2 * min_size:
        return []
    if penalty is None:
        sigma = 1.4826 * np.median(np.abs(np.diff(x))) / math.sqrt(2)
        penalty = 4 * max(sigma, 1e-12) ** 2 * math.log(len(x))
    bkps = rpt.Pelt(model="l2", min_size=min_size, jump=1).fit(x.reshape(-1, 1)).predict(pen=penalty)
    return [int(b) for b in bkps if b < len(x)]
