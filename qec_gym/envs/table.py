"""Tabulated window statistics over a noise axis: the fast ``backend="table"`` of the environments.

A `NoiseAxis` is a one-parameter family of noise, ``apply_multipliers(baseline, {key: m})`` for
multipliers m on a log grid. `build_table` runs `simulate_window` (real stim sampling and
decoding) for every menu entry at every grid point, with the decoder calibrated either to the
true noise or, for a 2-D table, to every assumed grid point, and caches the result on disk (the
key hashes the configuration; a corrupt or mismatched file is rebuilt, never used).
`WindowTable` interpolates in log m and samples windows binomially, so an env step costs
microseconds instead of milliseconds. It is validated against the circuit backend (tests).

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
"""Where the registered environments' tables ship (``qec-gym table build --packaged`` writes them)."""

TABLE_VERSION = 1
"""Bump when the meaning of stored arrays changes: old cache files are then rebuilt."""

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
    """

    axis: NoiseAxis
    menu: tuple[MenuEntry, ...]
    window_shots: int = 1000
    windows: int = 20
    assumed: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "menu", tuple(self.menu))
        if not self.menu:
            raise ValueError("the menu is empty: give at least one MenuEntry.")
        if self.window_shots <= 0 or self.windows <= 0:
            raise ValueError(f"window_shots and windows must be > 0, got {self.window_shots}, {self.windows}.")

    @property
    def total_shots(self) -> int:
        """Shots per grid point (per basis)."""
        return self.window_shots * self.windows

    def key(self) -> str:
        """Hash of everything that determines the table's contents."""
        payload = {"version": TABLE_VERSION, "config": asdict(self)}
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
    """Tabulated statistics: errors[e, t, a], features and their window-to-window spread
    [e, t, a, f], decode time per round [e, t, a].

    ``a`` indexes the assumed-noise axis (size 1 when decoders are calibrated to the truth).
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
        if self.errors.shape[2] == 1:
            raise ValueError("p_shot_grid needs a 2-D table (TableConfig(assumed=True)).")

        def weights(m):
            lm = np.log(np.asarray(m, dtype=np.float64))
            for v in (float(np.exp(lm.min())), float(np.exp(lm.max()))):
                self._weights(v)  # range check with a clear error
            i = np.clip(np.searchsorted(self._log_grid, lm) - 1, 0, len(self.grid) - 2)
            w = np.clip((lm - self._log_grid[i]) / (self._log_grid[i + 1] - self._log_grid[i]), 0.0, 1.0)
            return i, w

        (i, wi), (j, wj) = weights(m_true), weights(m_assumed)
        lp = self._log_p
        out = 0.0
        for ti, tw in ((i, 1 - wi), (i + 1, wi)):
            for aj, aw in ((j, 1 - wj), (j + 1, wj)):
                out = out + tw[None, :, None] * aw[None, None, :] * lp[:, ti][:, :, aj]
        return np.exp(out)

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


def _save(path: Path, table: WindowTable) -> None:
    arrays = {name: getattr(table, name) for name in _ARRAYS}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, key=table.config.key(), checksum=_checksum(arrays), **arrays)
    os.replace(tmp, path)  # atomic: an interrupted save never leaves a half-written table


def _load(path: Path, config: TableConfig) -> WindowTable | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in _ARRAYS}
            key, checksum = str(data["key"]), str(data["checksum"])
    except Exception as e:  # any unreadable file is rebuilt, never trusted
        log.warning("table cache %s is unreadable (%s); rebuilding it", path, e)
        return None
    if key != config.key() or checksum != _checksum(arrays):
        log.warning("table cache %s does not match its key or checksum; rebuilding it", path)
        return None
    return WindowTable(config, arrays)
