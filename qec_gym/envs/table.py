"""Tabulated window statistics over a noise axis: the fast ``backend="table"`` of the environments.

A `NoiseAxis` is a one-parameter family of noise, ``apply_multipliers(baseline, {key: m})`` for
multipliers m on a log grid. `build_table` runs `simulate_window` (real stim sampling and
decoding) for every menu entry at every grid point, with the decoder calibrated either to the
true noise or, for a 2-D table, to every assumed grid point, and caches the result on disk (the
key hashes the configuration; a corrupt or mismatched file is rebuilt, never used).
`WindowTable` interpolates in log m and samples windows binomially, so an env step costs
microseconds instead of milliseconds. It is validated against the circuit backend (tests).

Two formats. v1 (`TABLE_VERSION`, the v1 envs' packaged tables, unchanged so their results
reproduce): a fixed ``windows x window_shots`` per cell at noise quantised to 64 bins per decade,
rate ``(errors + 0.5) / (shots + 1)`` (floored at 1/(2 shots); not monotone where counts are
small). Fitted (`FIT_TABLE_VERSION`, ``TableConfig(target_errors=..., max_shots=...)``): each cell
at exactly its labelled noise, sampled until ``target_errors`` logical errors or its shot cap
(shots stored per cell), cells of one true noise on common samples, and the rate a monotone
log-log fit (`fit_monotone_log_rate`) with a 95% interval (`WindowTable.p_shot_interval`).
``scripts/build_tables.py`` rebuilds the packaged tables.

Example:
    >>> import numpy as np
    >>> from qec_gym.noise import NoiseParams
    >>> from qec_gym.envs.menu import MenuEntry
    >>> axis = NoiseAxis(NoiseParams.uniform(1e-3), low=1.0, high=4.0, points=3)
    >>> cfg = TableConfig(axis, (MenuEntry("rotated_surface", 3),), window_shots=200, windows=3)
    >>> t = build_table(cfg, cache_dir=None)
    >>> rate = lambda m: t.expected(0, m).features[0]  # mean detection rate
    >>> bool(rate(1.0) < rate(2.0) < rate(4.0)), round(t.estimate_multiplier(0, rate(2.0)), 3)
    (True, 2.0)
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qec_gym.codes.noise_model import LOSS_MODEL_VERSION
from qec_gym.envs.menu import MenuEntry
from qec_gym.noise.drift import FIELD_GROUPS, apply_multipliers
from qec_gym.noise.params import PROBABILITY_FIELDS, NoiseParams
from qec_gym.sim import SimulationCache, simulate_window
from qec_gym.sim.window import DEFAULT_BINS_PER_DECADE
from qec_gym.sim.stats import per_round

log = logging.getLogger(__name__)

PACKAGED_TABLES = Path(__file__).parent / "data"
"""Where the registered environments' tables ship (``scripts/build_tables.py`` writes them)."""

TABLE_VERSION = 1
"""Version of the fixed-shot table format (``TableConfig(target_errors=None)``: the v1 envs' packaged
tables and the cat tables, whose keys include it). Bump when the meaning of those arrays changes."""

FIT_TABLE_VERSION = 2
"""Version of the adaptive-shot, fitted table format (``TableConfig(target_errors=...)``): cells
simulated at exactly their labelled noise until a target error count, shots stored per cell, a
monotone log-log fit of the logical error rate with its interval. Bump when its meaning changes."""

FEATURES = ("rate", "rate_z", "rate_x", "rate_first", "rate_bulk", "rate_last", "spread", "effort")
"""Window features stored per grid point (means over the table's shots)."""


@dataclass(frozen=True)
class NoiseAxis:
    """A one-parameter noise family: ``baseline`` with drift key ``key`` multiplied by m.

    Args:
        baseline: Noise at m = 1.
        key: Drift key (``"all"``, a field group or one probability field; see
            `qec_gym.noise.drift.FIELD_GROUPS`).
        low: Smallest multiplier on the grid (> 0).
        high: Largest multiplier on the grid.
        points: Grid points, log-spaced (>= 2).
    """

    baseline: NoiseParams
    key: str = "all"
    low: float = 0.25
    high: float = 8.0
    points: int = 16

    def __post_init__(self) -> None:
        if self.key not in FIELD_GROUPS:
            raise ValueError(f"unknown drift key {self.key!r}; choose one of {sorted(FIELD_GROUPS)}.")
        if not (0 < self.low < self.high and math.isfinite(self.high)):
            raise ValueError(f"need 0 < low < high, got low={self.low}, high={self.high}.")
        if self.points < 2:
            raise ValueError("a NoiseAxis needs at least 2 points.")
        if all(getattr(self.baseline, f) == 0 for f in FIELD_GROUPS[self.key]):
            raise ValueError(f"the baseline has no noise in {self.key!r}: multiplying it changes nothing.")

    @property
    def grid(self) -> np.ndarray:
        """The multipliers, log-spaced from low to high."""
        return np.geomspace(self.low, self.high, self.points)

    def noise(self, m: float) -> NoiseParams:
        """The noise at multiplier m."""
        return apply_multipliers(self.baseline, {self.key: float(m)})

    def coordinate(self, noise: NoiseParams, *, rtol: float = 1e-6) -> float:
        """The multiplier m with ``self.noise(m) == noise``.

        Raises:
            ValueError: ``noise`` is not on this axis (another field differs), so a table over
                this axis cannot represent it; use ``backend="circuit"``.
        """
        fields = [f for f in FIELD_GROUPS[self.key] if getattr(self.baseline, f) > 0]
        ref = fields[0]
        m = getattr(noise, ref) / getattr(self.baseline, ref)
        expected = self.noise(m)
        for f in PROBABILITY_FIELDS:
            a, b = getattr(noise, f), getattr(expected, f)
            if not math.isclose(a, b, rel_tol=rtol, abs_tol=1e-15):
                raise ValueError(
                    f"noise is not on the table's axis ({self.key!r} x baseline): field {f} is {a:g}, "
                    f"the axis gives {b:g}. Use backend='circuit' for this scenario, or a table whose "
                    "axis covers it."
                )
        return m


@dataclass(frozen=True)
class TableConfig:
    """What to tabulate.

    Args:
        axis: The true-noise axis.
        menu: Entries to tabulate.
        window_shots: Shots of one env window (per basis); the table measures the spread of
            window features at exactly this size, so that sampled windows are as noisy as real ones.
        windows: Windows simulated per grid point (total shots = window_shots * windows).
        assumed: If True, a 2-D table over (true, assumed) noise for decoder-calibration studies;
            else decoders are calibrated to the true noise.
        seed: Seed of the sampling.
        target_errors: ``None`` (the v1 format): every cell holds ``windows`` windows, simulated at
            noise quantised to 64 bins per decade, and its rate is ``(errors + 0.5) / (shots + 1)``.
            An int (the fitted format, `FIT_TABLE_VERSION`): every cell is simulated at exactly its
            labelled noise, first ``windows`` windows (features and their spread), then batches
            doubling in size until it has seen ``target_errors`` logical errors or ``max_shots``
            shots (sinter's ``max_errors`` / ``max_shots``); the rate is a monotone log-log fit
            (`fit_monotone_log_rate`) with a 95% interval.
        max_shots: Shot cap per cell of the fitted format: one int, or one per menu entry (slow
            decoders get fewer). Required with ``target_errors``.
        smoothing: Weight of the fit's curvature penalty (see `fit_monotone_log_rate`).
        posterior_draws: Draws behind the fit's interval.
    """

    axis: NoiseAxis
    menu: tuple[MenuEntry, ...]
    window_shots: int = 1000
    windows: int = 20
    assumed: bool = False
    seed: int = 0
    target_errors: int | None = None
    max_shots: int | tuple[int, ...] | None = None
    smoothing: float = 1.0
    posterior_draws: int = 200

    def __post_init__(self) -> None:
        object.__setattr__(self, "menu", tuple(self.menu))
        if not self.menu:
            raise ValueError("the menu is empty: give at least one MenuEntry.")
        if self.window_shots <= 0 or self.windows <= 0:
            raise ValueError(f"window_shots and windows must be > 0, got {self.window_shots}, {self.windows}.")
        if isinstance(self.max_shots, list):
            object.__setattr__(self, "max_shots", tuple(self.max_shots))
        if self.target_errors is None:
            if self.max_shots is not None:
                raise ValueError("max_shots caps the adaptive sampling: give target_errors too (or drop max_shots).")
            return
        if isinstance(self.target_errors, bool) or not isinstance(self.target_errors, int) or self.target_errors < 1:
            raise ValueError(f"target_errors must be an int >= 1 (or None for fixed shots), got {self.target_errors!r}.")
        caps = self.max_shots if isinstance(self.max_shots, tuple) else (self.max_shots,) * len(self.menu)
        if len(caps) != len(self.menu) or not all(
                isinstance(c, int) and not isinstance(c, bool) and c >= self.window_shots * self.windows for c in caps):
            raise ValueError(
                f"max_shots must be an int (or one int per menu entry, {len(self.menu)}) >= window_shots * windows "
                f"= {self.window_shots * self.windows}, got {self.max_shots!r}."
            )
        if not (math.isfinite(self.smoothing) and self.smoothing >= 0) or self.posterior_draws < 2:
            raise ValueError("smoothing must be finite and >= 0 and posterior_draws >= 2.")

    @property
    def fitted(self) -> bool:
        """True for the adaptive-shot, fitted format (``target_errors`` given)."""
        return self.target_errors is not None

    def shot_cap(self, entry: int) -> int:
        """Most shots per cell of ``menu[entry]`` (fitted format)."""
        return self.max_shots[entry] if isinstance(self.max_shots, tuple) else int(self.max_shots)

    @property
    def total_shots(self) -> int:
        """Shots per grid point (per basis) of the fixed-shot format; the fitted format stores them per cell."""
        return self.window_shots * self.windows

    def key(self) -> str:
        """Hash of everything that determines the table's contents."""
        config = asdict(self)
        if self.fitted:
            payload = {"version": FIT_TABLE_VERSION, "config": config}
        else:  # the v1 format's key is unchanged, so its packaged tables still load
            for name in ("target_errors", "max_shots", "smoothing", "posterior_draws"):
                del config[name]
            payload = {"version": TABLE_VERSION, "config": config}
        if self.axis.baseline.p_loss > 0:  # tables with loss follow the loss model (tables without keep their keys)
            payload["loss_model"] = LOSS_MODEL_VERSION
        blob = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Expected:
    """Interpolated expectation of one window's statistics."""

    p_shot: float
    """Logical error per shot (any counted basis)."""
    p_round: float
    """Logical error per round."""
    features: np.ndarray
    """float64 (len(FEATURES),): means over windows."""
    features_std: np.ndarray
    """float64 (len(FEATURES),): standard deviation of one window's features."""
    decode_s_per_round: float
    """Decoding time per shot per round, measured when the table was built."""


class WindowTable:
    """Tabulated statistics: errors[e, t, a] (of shots[e, t, a]), features and their window-to-window
    spread [e, t, a, f], decode time per round [e, t, a]; fitted format also log_p_fit, log_p_lo,
    log_p_hi [e, t, a] (natural log of the per-shot logical error, fit and 95% interval).

    ``a`` indexes the assumed-noise axis (size 1 when decoders are calibrated to the truth).
    The per-shot logical error every lookup uses (`expected`, `along`, `p_shot_grid`, the vector
    env) is the fit in the fitted format, and ``(errors + 0.5) / (shots + 1)`` in the v1 format.
    """

    def __init__(self, config: TableConfig, arrays: dict[str, np.ndarray]):
        self.config = config
        self.errors = arrays["errors"]
        self.features = arrays["features"]
        self.features_std = arrays["features_std"]
        self.decode_s = arrays["decode_s"]
        self.num_detectors = arrays["num_detectors"]
        self.grid = config.axis.grid
        self._log_grid = np.log(self.grid)
        self._log_grid_list = self._log_grid.tolist()
        self.rounds = np.array([e.distance for e in config.menu], dtype=np.float64)
        if getattr(config, "fitted", False):
            self.shots = arrays["shots"]
            self.log_p_fit, self.log_p_lo, self.log_p_hi = arrays["log_p_fit"], arrays["log_p_lo"], arrays["log_p_hi"]
            self._log_p = self.log_p_fit
        else:
            self.shots = np.full(self.errors.shape, config.total_shots, dtype=np.int64)
            # Per-shot failure of any counted basis (union bound over bases); smoothing keeps the
            # log-interpolation finite where a point saw no error.
            self._log_p = np.log((self.errors + 0.5) / (config.total_shots + 1.0))
        # np.interp needs increasing x: the rate curve rises with noise up to sampling noise.
        self._monotone_rates = [np.maximum.accumulate(self.rate_curve(e)) for e in range(len(config.menu))]

    @property
    def menu(self) -> tuple[MenuEntry, ...]:
        return self.config.menu

    def _weights(self, m: float) -> tuple[int, float]:
        # Scalar hot path of every env step: plain Python (bisect) beats numpy calls here.
        lm = math.log(m)
        g = self._log_grid_list
        if not (g[0] - 1e-9 <= lm <= g[-1] + 1e-9):
            raise ValueError(
                f"noise multiplier {m:.4g} is outside the table's grid [{self.grid[0]:.4g}, {self.grid[-1]:.4g}]; "
                "widen the NoiseAxis (low/high) rather than extrapolate."
            )
        i = min(max(bisect.bisect_left(g, lm) - 1, 0), len(g) - 2)
        w = (lm - g[i]) / (g[i + 1] - g[i])
        return i, min(max(w, 0.0), 1.0)

    def _interp(self, arr: np.ndarray, entry: int, wt: tuple[int, float], wa: tuple[int, float] | None) -> np.ndarray:
        """Interpolate ``arr[entry]`` with weights of the true (``wt``) and assumed (``wa``) multipliers."""
        i, wi = wt
        if arr.shape[2] == 1:  # 1-D table: decoders calibrated to the truth, m_assumed ignored
            return (1 - wi) * arr[entry, i, 0] + wi * arr[entry, i + 1, 0]
        if wa is None:  # calibrated: walk the diagonal
            return (1 - wi) * arr[entry, i, i] + wi * arr[entry, i + 1, i + 1]
        j, wj = wa
        return sum(
            tw * aw * arr[entry, ti, aj]
            for ti, tw in ((i, 1 - wi), (i + 1, wi))
            for aj, aw in ((j, 1 - wj), (j + 1, wj))
        )

    def expected(self, entry: int, m_true: float, m_assumed: float | None = None) -> Expected:
        """Expected statistics of ``menu[entry]`` at true multiplier ``m_true``.

        Args:
            entry: Menu index.
            m_true: True-noise multiplier.
            m_assumed: Multiplier the decoder was calibrated at (2-D tables only; ``None``:
                calibrated to the truth).
        """
        wt = self._weights(m_true)
        wa = None if m_assumed is None or self.errors.shape[2] == 1 else self._weights(m_assumed)
        p_shot = math.exp(float(self._interp(self._log_p, entry, wt, wa)))
        return Expected(
            p_shot=p_shot,
            p_round=per_round(min(p_shot, 0.5), int(self.rounds[entry])),
            features=np.asarray(self._interp(self.features, entry, wt, wa), dtype=np.float64),
            features_std=np.asarray(self._interp(self.features_std, entry, wt, wa), dtype=np.float64),
            decode_s_per_round=float(self._interp(self.decode_s, entry, wt, wa)),
        )

    def p_shot_interval(self, entry: int, m_true: float, m_assumed: float | None = None) -> tuple[float, float]:
        """95% interval of the per-shot logical error of the fitted format, interpolated as `expected`.

        Raises:
            ValueError: a v1 (fixed-shot) table, which stores no interval.
        """
        if not getattr(self.config, "fitted", False):
            raise ValueError("this is a v1 (fixed-shot) table without a fitted interval: build it with "
                             "TableConfig(target_errors=..., max_shots=...).")
        wt = self._weights(m_true)
        wa = None if m_assumed is None or self.errors.shape[2] == 1 else self._weights(m_assumed)
        return (math.exp(float(self._interp(self.log_p_lo, entry, wt, wa))),
                math.exp(float(self._interp(self.log_p_hi, entry, wt, wa))))

    def along(self, m_true: np.ndarray) -> dict[str, np.ndarray]:
        """Expected statistics of every entry at each multiplier of ``m_true`` (calibrated decoders).

        Vectorised `expected` for a whole episode: ``p_shot``, ``p_round`` and ``decode_s`` have
        shape (entries, steps); ``features`` and ``features_std`` (entries, steps, features).
        """
        m_true = np.asarray(m_true, dtype=np.float64)
        for m in (m_true.min(), m_true.max()):
            self._weights(float(m))  # range check with a clear error
        lm = np.log(m_true)
        i = np.clip(np.searchsorted(self._log_grid, lm) - 1, 0, len(self.grid) - 2)
        w = np.clip((lm - self._log_grid[i]) / (self._log_grid[i + 1] - self._log_grid[i]), 0.0, 1.0)

        def lerp(arr: np.ndarray) -> np.ndarray:
            diag = arr[:, :, 0] if arr.shape[2] == 1 else np.stack([arr[:, k, k] for k in range(arr.shape[1])], axis=1)
            ww = w.reshape((1, -1) + (1,) * (diag.ndim - 2))
            return (1 - ww) * diag[:, i] + ww * diag[:, i + 1]

        p_shot = np.exp(lerp(self._log_p))
        ps = np.minimum(p_shot, 0.5)
        p_round = (1 - (1 - 2 * ps) ** (1 / self.rounds[:, None])) / 2
        return {
            "p_shot": p_shot,
            "p_round": p_round,
            "features": lerp(self.features),
            "features_std": lerp(self.features_std),
            "decode_s": lerp(self.decode_s),
        }

    def p_shot_grid(self, m_true: np.ndarray, m_assumed: np.ndarray) -> np.ndarray:
        """Per-shot logical error of every entry for every (true, assumed) pair: (entries, T, A).

        Bilinear in log multipliers, as `expected`; needs a 2-D (calibration) table.
        """
        return np.exp(self._grid_2d(self._log_p, m_true, m_assumed, "p_shot_grid"))

    def decode_s_grid(self, m_true: np.ndarray, m_assumed: np.ndarray) -> np.ndarray:
        """Decode time per round (s) of every entry for every (true, assumed) pair: (entries, T, A), as `expected`."""
        return self._grid_2d(self.decode_s, m_true, m_assumed, "decode_s_grid")

    def _grid_2d(self, values: np.ndarray, m_true: np.ndarray, m_assumed: np.ndarray, who: str) -> np.ndarray:
        """``values`` (entries, grid, grid) bilinear in log multipliers at every (true, assumed) pair."""
        if self.errors.shape[2] == 1:
            raise ValueError(f"{who} needs a 2-D table (TableConfig(assumed=True)).")

        def weights(m):
            lm = np.log(np.asarray(m, dtype=np.float64))
            for v in (float(np.exp(lm.min())), float(np.exp(lm.max()))):
                self._weights(v)  # range check with a clear error
            i = np.clip(np.searchsorted(self._log_grid, lm) - 1, 0, len(self.grid) - 2)
            w = np.clip((lm - self._log_grid[i]) / (self._log_grid[i + 1] - self._log_grid[i]), 0.0, 1.0)
            return i, w

        (i, wi), (j, wj) = weights(m_true), weights(m_assumed)
        out = 0.0
        for ti, tw in ((i, 1 - wi), (i + 1, wi)):
            for aj, aw in ((j, 1 - wj), (j + 1, wj)):
                out = out + tw[None, :, None] * aw[None, None, :] * values[:, ti][:, :, aj]
        return out

    def rate_curve(self, entry: int) -> np.ndarray:
        """Mean detection rate along the grid (calibrated decoder), for inverting rate -> m."""
        f = self.features[entry, :, :, 0]
        return f[:, 0] if f.shape[1] == 1 else np.diagonal(f)

    def estimate_multiplier(self, entry: int, rate: float) -> float:
        """Invert the detection-rate curve of ``entry``: the syndrome-derived noise estimate."""
        curve = self._monotone_rates[entry]
        return float(np.exp(np.interp(rate, curve, self._log_grid)))


def build_table(
    config: TableConfig,
    *,
    cache_dir: str | Path | None = "default",
    progress: Callable[[int, int], None] | None = None,
) -> WindowTable:
    """Build (or load from the disk cache) the table for ``config``.

    Args:
        config: What to tabulate.
        cache_dir: Folder of cached tables; ``"default"`` uses ``$QEC_GYM_CACHE/tables`` or
            ``~/.cache/qec_gym/tables``; ``None`` disables the disk cache.
        progress: Called with (done, total) after each simulated window (``total`` = menu
            entries x grid points (x assumed points) x ``config.windows``).

    A table that is neither packaged nor cached is computed, which can take minutes for a
    custom menu: it is announced with a logging INFO record (logger ``qec_gym.envs.table``)
    and its progress logged at least every `PROGRESS_LOG_SECONDS` (records carry
    ``extra={"progress": (label, done, total)}``; the ``qec-gym`` command draws them as a bar).
    """
    return cached_table(config, _compute, cache_dir=cache_dir, progress=progress)


def cached_table(config, compute, *, cache_dir: str | Path | None = "default", progress=None) -> WindowTable:
    """The table of ``config`` from the package, else the cache folder, else ``compute(config, progress)``.

    Shared by every kind of table config (anything with ``key()``): packaged tables of the
    registered envs come first (small; rebuilt if their key changes), then the disk cache (a
    corrupt or mismatched file is recomputed, never used), then a fresh computation, saved
    atomically.
    """
    name = f"table-{config.key()}.npz"
    packaged = _load(PACKAGED_TABLES / name, config)
    if packaged is not None:
        return packaged
    path = None
    if cache_dir is not None:
        folder = default_cache_dir() / "tables" if cache_dir == "default" else Path(cache_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        loaded = _load(path, config)
        if loaded is not None:
            return loaded
    label = f"building table {name}"
    log.info("%s: not packaged%s; computing it once (%s)%s", label, "" if path is None else " nor cached",
             _describe(config), "" if path is None else f", then cached at {path}")
    table = compute(config, _logged_progress(label, progress))
    if path is not None:
        _save(path, table)
    return table


PROGRESS_LOG_SECONDS = 1.0
"""Most seconds between two progress records of a table build."""


def _describe(config) -> str:
    menu = getattr(config, "menu", ())
    points = getattr(getattr(config, "axis", None), "points", None)
    parts = [f"{len(menu)} menu entries"] if menu else []
    if points:
        parts.append(f"{points} noise points")
    if hasattr(config, "windows") and hasattr(config, "window_shots"):
        parts.append(f"{config.windows} windows of {config.window_shots} shots each")
    return " x ".join(parts) or type(config).__name__


def _logged_progress(label: str, progress: Callable[[int, int], None] | None) -> Callable[[int, int], None]:
    """``progress`` that also logs (rate-limited) so a long build is never silent."""
    start = time.monotonic()
    last = [-math.inf]

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        now = time.monotonic()
        if done >= total or now - last[0] >= PROGRESS_LOG_SECONDS:
            last[0] = now
            log.info("%s: %d/%d (%.0f s)", label, done, total, now - start, extra={"progress": (label, done, total)})

    return report


def default_cache_dir() -> Path:
    """``$QEC_GYM_CACHE`` or ``~/.cache/qec_gym``."""
    return Path(os.environ.get("QEC_GYM_CACHE", Path.home() / ".cache" / "qec_gym"))


def _compute(config: TableConfig, progress: Callable[[int, int], None] | None) -> WindowTable:
    if config.fitted:
        return _compute_fitted(config, progress)
    axis, menu = config.axis, config.menu
    grid = axis.grid
    n_a = len(grid) if config.assumed else 1
    shape = (len(menu), len(grid), n_a)
    errors = np.zeros(shape, dtype=np.int64)
    features = np.zeros(shape + (len(FEATURES),))
    features_std = np.zeros(shape + (len(FEATURES),))
    decode_s = np.zeros(shape)
    num_detectors = np.zeros(len(menu), dtype=np.int64)
    cache = SimulationCache()
    total, done = int(np.prod(shape)) * config.windows, 0
    for e, entry in enumerate(menu):
        for t, m in enumerate(grid):
            for a in range(n_a):
                true = axis.noise(m)
                assumed = axis.noise(grid[a]) if config.assumed else true
                # one independent stream per grid point: rebuilding part of a table reproduces it
                rng = np.random.default_rng([config.seed, e, t, a])
                rows, seconds = [], 0.0
                for _ in range(config.windows):
                    stats = [
                        # The stored tables were built on the quantised grid (<= 1.8% from the grid
                        # point's label); kept so that rebuilt tables equal the packaged ones.
                        simulate_window(spec, true, decoder=entry.decoder, assumed_noise=assumed,
                                        shots=config.window_shots, rng=rng, cache=cache,
                                        bins_per_decade=DEFAULT_BINS_PER_DECADE)
                        for spec in entry.specs()
                    ]
                    errors[e, t, a] += sum(s.errors for s in stats)
                    rows.append(np.mean([window_features(s) for s in stats], axis=0))
                    seconds += sum(s.decode_seconds_per_round for s in stats) / len(stats)
                    num_detectors[e] = sum(cache.circuit(s.spec, true).num_detectors for s in stats)
                    done += 1
                    if progress is not None:
                        progress(done, total)
                features[e, t, a] = np.mean(rows, axis=0)
                features_std[e, t, a] = np.std(rows, axis=0, ddof=1) if len(rows) > 1 else 0.0
                decode_s[e, t, a] = seconds / config.windows
    arrays = dict(errors=errors, features=features, features_std=features_std, decode_s=decode_s,
                  num_detectors=num_detectors)
    return WindowTable(config, arrays)


BATCH_SHOTS_CAP = 1 << 16
"""Largest batch of the fitted format's error-counting phase (bounds memory: shots x detectors bits)."""


def _batch_shots(config: TableConfig, k: int) -> int:
    """Shots of batch ``k`` of a cell: ``windows`` windows, then doubling batches (capped)."""
    if k < config.windows:
        return config.window_shots
    return min(config.window_shots << (k - config.windows + 1), max(config.window_shots, BATCH_SHOTS_CAP))


def _compute_fitted(
    config: TableConfig,
    progress: Callable[[int, int], None] | None,
    noise: Callable[[int, float], NoiseParams] | None = None,
) -> WindowTable:
    """The fitted format (see `TableConfig`): adaptive shots per cell at exact noise, then the fit.

    Batch ``k`` of true grid point ``t`` is sampled from the seed ``[seed, t, k]`` for every
    (entry, assumed) cell of that point: cells of one true noise are decoded on the same samples
    (common random numbers), so differences along the assumed axis and between decoders of the
    same code are paired, not buried in independent sampling noise.

    ``noise(entry, m)`` gives the noise of ``menu[entry]`` at multiplier ``m`` where it depends on
    the entry (cat codes: each entry's photon number; 1-D tables only); default ``axis.noise(m)``.
    """
    axis, menu = config.axis, config.menu
    if noise is None:
        noise = lambda _e, m: axis.noise(m)  # noqa: E731
    grid = axis.grid
    n_a = len(grid) if config.assumed else 1
    shape = (len(menu), len(grid), n_a)
    errors = np.zeros(shape, dtype=np.int64)
    shots = np.zeros(shape, dtype=np.int64)
    features = np.zeros(shape + (len(FEATURES),))
    features_std = np.zeros(shape + (len(FEATURES),))
    decode_s = np.zeros(shape)
    num_detectors = np.zeros(len(menu), dtype=np.int64)
    cache = SimulationCache()
    total, done = int(np.prod(shape)), 0
    for t, m in enumerate(grid):
        for e, entry in enumerate(menu):
            true = noise(e, m)
            for a in range(n_a):
                assumed = axis.noise(grid[a]) if config.assumed else true
                rows, seconds, k = [], 0.0, 0
                while k < config.windows or (errors[e, t, a] < config.target_errors
                                             and shots[e, t, a] < config.shot_cap(e)):
                    n = _batch_shots(config, k)
                    stats = [
                        simulate_window(spec, true, decoder=entry.decoder, assumed_noise=assumed, shots=n,
                                        rng=np.random.default_rng([config.seed, t, k]), cache=cache)
                        for spec in entry.specs()
                    ]
                    errors[e, t, a] += sum(s.errors for s in stats)
                    shots[e, t, a] += n
                    if k < config.windows:
                        rows.append(np.mean([window_features(s) for s in stats], axis=0))
                        seconds += sum(s.decode_seconds_per_round for s in stats) / len(stats)
                    k += 1
                num_detectors[e] = sum(cache.circuit(spec, true).num_detectors for spec in entry.specs())
                features[e, t, a] = np.mean(rows, axis=0)
                features_std[e, t, a] = np.std(rows, axis=0, ddof=1) if len(rows) > 1 else 0.0
                decode_s[e, t, a] = seconds / config.windows
                done += 1
                if progress is not None:
                    progress(done, total)
    log_grid = np.log(grid)
    fit = np.zeros((3,) + shape)
    for e in range(len(menu)):
        for a in range(n_a):
            fit[:, e, :, a] = fit_monotone_log_rate(
                errors[e, :, a], shots[e, :, a], log_grid, smoothing=config.smoothing,
                draws=config.posterior_draws, rng=np.random.default_rng([config.seed, e, a, 1]),
            )
    arrays = dict(errors=errors, features=features, features_std=features_std, decode_s=decode_s,
                  num_detectors=num_detectors, shots=shots, log_p_fit=fit[0], log_p_lo=fit[1], log_p_hi=fit[2])
    return WindowTable(config, arrays)


_LOG_P_MIN = math.log(1e-15)


def fit_monotone_log_rate(
    errors: np.ndarray,
    shots: np.ndarray,
    log_m: np.ndarray,
    *,
    smoothing: float = 1.0,
    draws: int = 200,
    rng: np.random.Generator,
    confidence: float = 0.95,
) -> np.ndarray:
    """Monotone, smooth fit of a logical error rate in log-log space, with its interval.

    Model: ``log p_i = c + sum_{j<i} softplus(b_j)`` (nondecreasing in the noise ``log_m``), fitted
    by maximising the binomial log-likelihood of ``errors`` of ``shots`` minus ``smoothing`` times
    the sum of squared second differences of ``log p`` per grid step squared
    (``(Delta^2 log p / Delta(log m)^2)^2``, scaled by the mean squared grid step, squared). The
    penalty is negligible where cells hold tens of errors (its pull ~ smoothing / errors) and,
    where they hold few or none, continues the log-log slope of the neighbours (the
    below-threshold power law ``p ~ m^((d+1)/2)``) instead of flooring the rate.

    Interval: the same fit applied to ``draws`` posterior draws of every cell's rate (Jeffreys,
    ``Beta(errors + 1/2, shots - errors + 1/2)``, as fractional counts), its central ``confidence``
    percentiles, widened to contain the fit. It covers the cells' sampling error propagated
    through the fit, not a model error of the smooth shape (tested for coverage on synthetic
    power laws).

    Args:
        errors: int (n,) logical errors per cell, along increasing noise.
        shots: int (n,) shots per cell (> 0).
        log_m: float (n,) natural log of the noise multipliers, increasing.
        smoothing: Weight of the curvature penalty (>= 0).
        draws: Posterior draws for the interval (>= 2).
        rng: Source of the draws.
        confidence: Interval level in (0, 1).

    Returns:
        float64 (3, n): natural log of the fitted per-shot rate, of the interval's low and high ends.

    Raises:
        ValueError: mismatched shapes, shots <= 0, errors outside [0, shots], or unsorted ``log_m``.

    Example:
        >>> import numpy as np
        >>> lm = np.log([1.0, 2.0, 4.0, 8.0])
        >>> fit = fit_monotone_log_rate(np.array([3, 1, 40, 300]), np.array([10**5] * 4), lm, rng=np.random.default_rng(0))
        >>> bool(np.all(np.diff(fit[0]) >= 0)), bool(np.all(fit[1] <= fit[0])), bool(np.all(fit[0] <= fit[2]))
        (True, True, True)
    """
    errors = np.asarray(errors, dtype=np.float64)
    shots = np.asarray(shots, dtype=np.float64)
    log_m = np.asarray(log_m, dtype=np.float64)
    n = len(log_m)
    if errors.shape != (n,) or shots.shape != (n,) or n < 2:
        raise ValueError(f"errors, shots and log_m must be 1-D of one length >= 2, got {errors.shape}, {shots.shape}, "
                         f"{log_m.shape}.")
    if np.any(shots <= 0) or np.any(errors < 0) or np.any(errors > shots):
        raise ValueError("need shots > 0 and 0 <= errors <= shots in every cell.")
    if np.any(np.diff(log_m) <= 0):
        raise ValueError("log_m must be strictly increasing (the grid's order).")
    if not 0 < confidence < 1 or draws < 2:
        raise ValueError("confidence must lie in (0, 1) and draws must be >= 2.")
    h2 = float(np.mean(np.diff(log_m) ** 2))
    # Second differences divided by the local steps: the penalty means the same on any grid density.
    steps = np.diff(log_m)
    curvature = np.zeros((max(n - 2, 0), n))
    for i in range(n - 2):
        curvature[i, i] = 1 / steps[i]
        curvature[i, i + 1] = -1 / steps[i] - 1 / steps[i + 1]
        curvature[i, i + 2] = 1 / steps[i + 1]
        curvature[i] *= 2 / (steps[i] + steps[i + 1])
    penalty = smoothing * h2 * h2 * curvature.T @ curvature  # (n, n), symmetric PSD

    point = _fit_batch(errors[None], shots, penalty)[0]
    samples = rng.beta(errors[None, :] + 0.5, shots[None, :] - errors[None, :] + 0.5, size=(draws, n))
    fits = _fit_batch(samples * shots, shots, penalty)
    alpha = (1 - confidence) / 2
    lo = np.minimum(np.quantile(fits, alpha, axis=0), point)
    hi = np.maximum(np.quantile(fits, 1 - alpha, axis=0), point)
    return np.stack([point, lo, hi])


def _fit_batch(k: np.ndarray, n: np.ndarray, penalty: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Penalised binomial MLE of `fit_monotone_log_rate` for B count vectors ``k`` (B, m) of ``n`` (m,).

    Levenberg-Marquardt on ``x = (c, b_1..b_{m-1})`` (``log p = L (c, softplus(b))``, L the
    lower-triangular ones), batched over B: one fit costs a few dozen (m x m) solves. The objective
    is convex in log p, the softplus only enforces monotonicity.
    """
    from scipy.special import expit

    b_, m = k.shape
    tri = np.tril(np.ones((m, m)))

    def parts(x):
        u = np.concatenate([x[:, :1], np.logaddexp(0.0, x[:, 1:])], axis=1)
        lp = u @ tri.T
        lpc = np.minimum(lp, -1e-12)
        p = np.exp(lpc)
        f = -np.sum(k * lpc + (n - k) * np.log1p(-p), axis=1) + np.einsum("bi,ij,bj->b", lp, penalty, lp)
        return lp, p, f

    lp0 = np.maximum.accumulate(np.log((k + 0.5) / (n + 1.0)), axis=1)
    inc0 = np.maximum(np.diff(lp0, axis=1), 1e-3)
    x = np.concatenate([lp0[:, :1], inc0 + np.log(-np.expm1(-inc0))], axis=1)  # inverse softplus
    lp, p, f = parts(x)
    mu = np.ones(b_)
    eye = np.eye(m)
    for _ in range(iterations):
        g_lp = -k + (n - k) * p / (1 - p) + 2 * lp @ penalty
        h_lp = (n - k) * p / (1 - p) ** 2
        sig = np.concatenate([np.ones((b_, 1)), expit(x[:, 1:])], axis=1)
        g_u = g_lp @ tri  # L^T g
        grad = g_u * sig
        jl = tri[None, :, :] * sig[:, None, :]  # d lp / d x: (B, m, m)
        jlt = jl.transpose(0, 2, 1)
        hess = jlt @ (h_lp[:, :, None] * jl + (2 * penalty) @ jl)
        curv = np.concatenate([np.zeros((b_, 1)), g_u[:, 1:] * sig[:, 1:] * (1 - sig[:, 1:])], axis=1)
        hess = hess + np.maximum(curv, 0.0)[:, :, None] * eye
        diag = np.einsum("bii->bi", hess)
        step = -np.linalg.solve(hess + (mu[:, None] * (diag + 1e-9))[:, :, None] * eye, grad[:, :, None])[:, :, 0]
        x_new = x + np.clip(step, -5.0, 5.0)
        x_new[:, 0] = np.clip(x_new[:, 0], _LOG_P_MIN, 0.0)
        lp_new, p_new, f_new = parts(x_new)
        better = f_new <= f
        x = np.where(better[:, None], x_new, x)
        lp = np.where(better[:, None], lp_new, lp)
        p = np.where(better[:, None], p_new, p)
        small = np.abs(f - f_new) <= 1e-10 * (1 + np.abs(f))
        f = np.where(better, f_new, f)
        mu = np.where(better, mu * 0.3, mu * 10.0)
        if np.all(small & better) or np.all(mu > 1e12):
            break
    return np.maximum(lp, _LOG_P_MIN)

def window_features(stats) -> np.ndarray:
    """The `FEATURES` of one `WindowStats`."""
    by_round = stats.detection_rate_by_round
    bulk = by_round[1:-1] if len(by_round) > 2 else by_round
    return np.array([
        stats.detection_rate,
        stats.detection_rate_z,
        stats.detection_rate_x,
        by_round[0],
        float(np.mean(bulk)),
        by_round[-1],
        stats.detection_rate_spread,
        stats.decoder_effort,
    ])


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        h.update(name.encode())
        h.update(np.ascontiguousarray(arrays[name]).tobytes())
    return h.hexdigest()


_ARRAYS = ("errors", "features", "features_std", "decode_s", "num_detectors")
_FIT_ARRAYS = ("shots", "log_p_fit", "log_p_lo", "log_p_hi")


def _array_names(config) -> tuple[str, ...]:
    return _ARRAYS + _FIT_ARRAYS if getattr(config, "fitted", False) else _ARRAYS


def _save(path: Path, table: WindowTable) -> None:
    arrays = {name: getattr(table, name) for name in _array_names(table.config)}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, key=table.config.key(), checksum=_checksum(arrays), **arrays)
    os.replace(tmp, path)  # atomic: an interrupted save never leaves a half-written table


def _load(path: Path, config: TableConfig) -> WindowTable | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in _array_names(config)}
            key, checksum = str(data["key"]), str(data["checksum"])
    except Exception as e:  # any unreadable file is rebuilt, never trusted
        log.warning("table cache %s is unreadable (%s); rebuilding it", path, e)
        return None
    if key != config.key() or checksum != _checksum(arrays):
        log.warning("table cache %s does not match its key or checksum; rebuilding it", path)
        return None
    return WindowTable(config, arrays)
