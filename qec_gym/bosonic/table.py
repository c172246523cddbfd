"""Tabulated cat-qubit channel: rates solved once over a grid, cached on disk, interpolated fast.

qutip never runs inside an environment step. `CatChannelTable.build` solves the cat qubit's
Liouvillian (`qec_gym.bosonic.solve_rates`) at every point of a `CatTableGrid` over
``(nbar, kappa_1 / kappa_2, kappa_phi / kappa_2)`` and stores the *rates* ``Gamma_X``,
``Gamma_Z``; probabilities for any round duration ``T`` follow analytically
(``p = (1 - exp(-2 Gamma T)) / 2``), so ``T`` needs no grid axis.

Cache. One ``.npz`` file per grid in ``cache_dir`` (default ``$QEC_GYM_CACHE/bosonic`` if that
environment variable is set, else ``~/.cache/qec_gym/bosonic``), named by a SHA-256 key of the
grid, `MODEL_VERSION`, the file format and the precision floor. The file also stores that key
and a SHA-256 checksum of its contents. A file that cannot be read, whose checksum fails or whose
key, model version or grid differ is never used: `CatChannelTable.build` rebuilds it (logging a
warning) or, with ``on_invalid="raise"``, raises `TableCacheError`. Points are saved as they are
computed (atomic replace), so an interrupted build resumes where it stopped.

Interpolation. Log space: bilinear in ``(nbar, log kappa_1)`` of ``log(Gamma / Gamma_analytic)``,
where ``Gamma_analytic`` is `qec_gym.bosonic.analytic_rates`. Dividing out the scaling law
(``exp(-2 nbar)``, the ``kappa_1 -> kappa_1^2`` crossover) leaves a smooth ratio that a coarse
grid interpolates to ~1%, where plain log-rates are off by ~20% between decades of kappa_1. Along
``kappa_phi`` (which may be 0, so no log axis) the *rates* are interpolated linearly: dephasing
adds a rate, so ``Gamma`` is affine in ``kappa_phi``. Queries outside the grid raise `ValueError`
(no extrapolation). Bit-flip rates below the solver's precision floor are stored as the floor (an
upper bound; see `CatChannelTable.below_floor`) and interpolated results are never below it.

Example:
    >>> import tempfile
    >>> grid = CatTableGrid((3.0, 3.5), (1e-3, 1e-2))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     table = CatChannelTable.build(grid, cache_dir=tmp)
    >>> p_x, p_z = table.probabilities(3.2, 5e-3, t_round=5.0)
    >>> p_x < 1e-6 < p_z < 0.1
    True
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qec_gym.bosonic.cat import (
    MODEL_VERSION,
    CatParams,
    _analytic,
    _analytic_array,
    precision_floor,
    solve_rates,
)

__all__ = [
    "TABLE_FORMAT",
    "MAX_KAPPA1_OVER_KAPPA2",
    "CatChannelTable",
    "CatTableGrid",
    "TableCacheError",
    "default_cache_dir",
    "table_path",
]

_log = logging.getLogger(__name__)

#: Version of the on-disk layout; part of every table's key.
TABLE_FORMAT = 1
#: Largest kappa_1 / kappa_2 a table may hold (see `CatTableGrid`).
MAX_KAPPA1_OVER_KAPPA2 = 0.1

_AXIS_NAMES = ("nbar", "kappa1_over_kappa2", "kappaphi_over_kappa2")
_ARRAY_NAMES = (*_AXIS_NAMES, "gamma_x", "gamma_z", "gamma_x_raw", "n_fock", "done")


class TableCacheError(ValueError):
    """A cached table file is corrupt, incomplete or belongs to another grid / model version."""


def default_cache_dir() -> Path:
    """Folder of cached bosonic tables: ``$QEC_GYM_CACHE/bosonic`` or ``~/.cache/qec_gym/bosonic``.

    Example:
        >>> default_cache_dir().name
        'bosonic'
    """
    root = os.environ.get("QEC_GYM_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "qec_gym"
    return base / "bosonic"


def _as_axis(name: str, values: Any) -> tuple[float, ...]:
    try:
        axis = tuple(float(v) for v in np.atleast_1d(np.asarray(values, dtype=float)))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}") from exc
    if not axis:
        raise ValueError(f"{name} must have at least one value")
    if not all(math.isfinite(v) for v in axis):
        raise ValueError(f"{name} must be finite, got {axis}")
    if any(b <= a for a, b in zip(axis, axis[1:])):
        raise ValueError(f"{name} must be strictly increasing, got {axis}; sort it and drop duplicates")
    return axis


@dataclass(frozen=True)
class CatTableGrid:
    """The grid a `CatChannelTable` is solved on (rates in units of kappa_2).

    Args:
        nbar: Mean photon numbers, strictly increasing, > 0, at least 2.
        kappa1_over_kappa2: Single-photon loss ratios, strictly increasing, in (0, 0.1], at least
            2 (interpolated in log space). Above 0.1 the cat manifold is no longer well separated
            from the rest of the spectrum and the solved rates are not validated.
        kappaphi_over_kappa2: Dephasing ratios, strictly increasing, >= 0 (one value fixes it).
        n_th: Thermal photon number, fixed for the table.
        truncation_rtol: Passed to `qec_gym.bosonic.solve_rates`.

    Raises:
        ValueError: an axis not strictly increasing, too short, non-finite or out of range.

    Example:
        >>> g = CatTableGrid([2, 3, 4], [1e-3, 1e-2], kappaphi_over_kappa2=[0, 1e-3])
        >>> g.shape, len(g.key())
        ((3, 2, 2), 64)
        >>> CatTableGrid([3, 2], [1e-3, 1e-2])
        Traceback (most recent call last):
            ...
        ValueError: nbar must be strictly increasing, got (3.0, 2.0); sort it and drop duplicates
    """

    nbar: tuple[float, ...]
    kappa1_over_kappa2: tuple[float, ...]
    _: KW_ONLY
    kappaphi_over_kappa2: tuple[float, ...] = (0.0,)
    n_th: float = 0.0
    truncation_rtol: float = 1e-3

    def __post_init__(self) -> None:
        for name in _AXIS_NAMES:
            object.__setattr__(self, name, _as_axis(name, getattr(self, name)))
        if len(self.nbar) < 2 or self.nbar[0] <= 0.0:
            raise ValueError(f"nbar needs >= 2 values, all > 0, got {self.nbar}")
        if len(self.kappa1_over_kappa2) < 2 or self.kappa1_over_kappa2[0] <= 0.0:
            raise ValueError(f"kappa1_over_kappa2 needs >= 2 values, all > 0, got {self.kappa1_over_kappa2}")
        if self.kappa1_over_kappa2[-1] > MAX_KAPPA1_OVER_KAPPA2:
            raise ValueError(
                f"kappa1_over_kappa2 must be <= {MAX_KAPPA1_OVER_KAPPA2} (beyond it a cat qubit is no "
                f"two-level system), got {self.kappa1_over_kappa2[-1]}; drop the larger values"
            )
        if self.kappaphi_over_kappa2[0] < 0.0:
            raise ValueError(f"kappaphi_over_kappa2 must be >= 0, got {self.kappaphi_over_kappa2}")
        if not (math.isfinite(self.n_th) and self.n_th >= 0.0):
            raise ValueError(f"n_th must be finite and >= 0, got {self.n_th}")
        if not 0.0 < self.truncation_rtol < 1.0:
            raise ValueError(f"truncation_rtol must be in (0, 1), got {self.truncation_rtol}")
        object.__setattr__(self, "n_th", float(self.n_th))
        object.__setattr__(self, "truncation_rtol", float(self.truncation_rtol))

    @classmethod
    def default(cls) -> CatTableGrid:
        """nbar 1..8 in steps of 0.5, kappa_1/kappa_2 in {1e-4, 1e-3, 1e-2, 3e-2}, kappa_phi in {0, 1e-3}.

        120 points, about 10 s on one core.

        Example:
            >>> CatTableGrid.default().shape
            (15, 4, 2)
        """
        return cls(
            tuple(1.0 + 0.5 * i for i in range(15)),
            (1e-4, 1e-3, 1e-2, 3e-2),
            kappaphi_over_kappa2=(0.0, 1e-3),
        )

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(len(nbar), len(kappa1_over_kappa2), len(kappaphi_over_kappa2))``."""
        return (len(self.nbar), len(self.kappa1_over_kappa2), len(self.kappaphi_over_kappa2))

    def key(self) -> str:
        """SHA-256 hex key of the grid, `MODEL_VERSION`, `TABLE_FORMAT` and the precision floor."""
        payload = {
            "model_version": MODEL_VERSION,
            "table_format": TABLE_FORMAT,
            "precision_floor": precision_floor(),
            # repr() of floats round-trips exactly, so equal grids give equal keys.
            "nbar": [repr(v) for v in self.nbar],
            "kappa1_over_kappa2": [repr(v) for v in self.kappa1_over_kappa2],
            "kappaphi_over_kappa2": [repr(v) for v in self.kappaphi_over_kappa2],
            "n_th": repr(self.n_th),
            "truncation_rtol": repr(self.truncation_rtol),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def params_at(self, index: tuple[int, int, int]) -> CatParams:
        """The `CatParams` of grid point ``index = (i_nbar, i_kappa1, i_kappaphi)``."""
        i, j, k = index
        return CatParams(
            self.nbar[i],
            self.kappa1_over_kappa2[j],
            kappaphi_over_kappa2=self.kappaphi_over_kappa2[k],
            n_th=self.n_th,
        )


def table_path(grid: CatTableGrid, *, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of the cache file of ``grid`` (whether or not it exists).

    Example:
        >>> table_path(CatTableGrid((2, 3), (1e-3, 1e-2)), cache_dir="/tmp/x").name[:10]
        'cat_rates_'
    """
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return folder / f"cat_rates_{grid.key()[:24]}.npz"


def _checksum(meta: str, arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(meta.encode())
    for name in _ARRAY_NAMES:
        arr = np.ascontiguousarray(arrays[name])
        digest.update(name.encode())
        digest.update(str(arr.dtype).encode())
        digest.update(repr(arr.shape).encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def _meta(grid: CatTableGrid) -> str:
    return json.dumps(
        {
            "key": grid.key(),
            "model_version": MODEL_VERSION,
            "table_format": TABLE_FORMAT,
            "precision_floor": precision_floor(),
            "n_th": grid.n_th,
            "truncation_rtol": grid.truncation_rtol,
        },
        sort_keys=True,
    )


def _empty_arrays(grid: CatTableGrid) -> dict[str, np.ndarray]:
    shape = grid.shape
    return {
        "nbar": np.asarray(grid.nbar, dtype=float),
        "kappa1_over_kappa2": np.asarray(grid.kappa1_over_kappa2, dtype=float),
        "kappaphi_over_kappa2": np.asarray(grid.kappaphi_over_kappa2, dtype=float),
        "gamma_x": np.full(shape, np.nan),
        "gamma_z": np.full(shape, np.nan),
        "gamma_x_raw": np.full(shape, np.nan),
        "n_fock": np.zeros(shape, dtype=np.int64),
        "done": np.zeros(shape, dtype=bool),
    }


def _write(path: Path, grid: CatTableGrid, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically (temp file + rename) so a crash never leaves a half-written table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = _meta(grid)
    fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, meta=np.array(meta), checksum=np.array(_checksum(meta, arrays)), **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path, grid: CatTableGrid) -> dict[str, np.ndarray]:
    """Read and verify a cache file; raise `TableCacheError` on any doubt."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = str(data["meta"][()])
            stored_checksum = str(data["checksum"][()])
            arrays = {name: np.array(data[name]) for name in _ARRAY_NAMES}
    except Exception as exc:  # zip/npz/format errors all mean "unreadable"
        raise TableCacheError(f"cached table {path} is unreadable ({type(exc).__name__}: {exc})") from exc
    if _checksum(meta, arrays) != stored_checksum:
        raise TableCacheError(f"cached table {path} failed its checksum: the file is corrupt")
    try:
        info = json.loads(meta)
    except json.JSONDecodeError as exc:  # pragma: no cover - guarded by the checksum
        raise TableCacheError(f"cached table {path} has unreadable metadata") from exc
    expected = json.loads(_meta(grid))
    if info != expected:
        diff = sorted(k for k in set(info) | set(expected) if info.get(k) != expected.get(k))
        raise TableCacheError(
            f"cached table {path} belongs to another grid or model version (differs in {diff})"
        )
    empty = _empty_arrays(grid)
    for name in _AXIS_NAMES:
        if arrays[name].shape != empty[name].shape or not np.array_equal(arrays[name], empty[name]):
            raise TableCacheError(f"cached table {path} has a different {name} axis than the requested grid")
    for name in ("gamma_x", "gamma_z", "gamma_x_raw", "n_fock", "done"):
        if arrays[name].shape != grid.shape:
            raise TableCacheError(
                f"cached table {path} has {name} of shape {arrays[name].shape}, expected {grid.shape}"
            )
    done = arrays["done"]
    if done.any() and not (
        np.all(np.isfinite(arrays["gamma_x"][done]))
        and np.all(arrays["gamma_x"][done] > 0)
        and np.all(arrays["gamma_z"][done] > 0)
    ):
        raise TableCacheError(f"cached table {path} holds non-positive or non-finite rates")
    return arrays


_Index = tuple[int, int, int]
_PointResult = tuple[_Index, float, float, float, int]


def _solve_point(grid: CatTableGrid, index: _Index) -> _PointResult:
    """Solve one grid point (module level so that worker processes can pickle it)."""
    rates = solve_rates(grid.params_at(index), truncation_rtol=grid.truncation_rtol)
    return index, rates.gamma_x, rates.gamma_z, rates.gamma_x_raw, rates.n_fock


ProgressCallback = Callable[[int, int], None]


class CatChannelTable:
    """Interpolated cat-qubit flip rates and probabilities over a solved grid.

    Build or load one with `CatChannelTable.build` (cached on disk) or `CatChannelTable.load`.
    Lookups are pure Python arithmetic (a few microseconds, `rates` / `probabilities`); the
    ``*_batch`` methods vectorise with scipy's ``RegularGridInterpolator`` (same interpolant).

    Args:
        grid: The grid.
        gamma_x: Bit-flip rates (units of kappa_2), shape ``grid.shape``, > 0 (floored values).
        gamma_z: Phase-flip rates (units of kappa_2), shape ``grid.shape``, > 0.
        gamma_x_raw: Bit-flip rates before flooring, shape ``grid.shape``.
        n_fock: Fock dimensions used, shape ``grid.shape``.

    Raises:
        ValueError: shapes that do not match the grid, or non-positive rates.

    Example:
        >>> grid = CatTableGrid((2.0, 3.0), (1e-3, 1e-2))
        >>> shape = grid.shape
        >>> table = CatChannelTable(grid, gamma_x=np.full(shape, 1e-6), gamma_z=np.full(shape, 1e-3),
        ...                         gamma_x_raw=np.full(shape, 1e-6), n_fock=np.full(shape, 30))
        >>> table.rates(2.5, 3e-3)[1] > 0
        True
    """

    def __init__(
        self,
        grid: CatTableGrid,
        *,
        gamma_x: np.ndarray,
        gamma_z: np.ndarray,
        gamma_x_raw: np.ndarray,
        n_fock: np.ndarray,
    ) -> None:
        arrays = {
            "gamma_x": np.array(gamma_x, dtype=float),
            "gamma_z": np.array(gamma_z, dtype=float),
            "gamma_x_raw": np.array(gamma_x_raw, dtype=float),
            "n_fock": np.array(n_fock, dtype=np.int64),
        }
        for name, arr in arrays.items():
            if arr.shape != grid.shape:
                raise ValueError(f"{name} has shape {arr.shape}, expected the grid's {grid.shape}")
            arr.setflags(write=False)
        for name in ("gamma_x", "gamma_z"):
            if not (np.all(np.isfinite(arrays[name])) and np.all(arrays[name] > 0)):
                raise ValueError(f"{name} must be finite and > 0 everywhere; rebuild the table")
        self._grid = grid
        self._gamma_x = arrays["gamma_x"]
        self._gamma_z = arrays["gamma_z"]
        self._gamma_x_raw = arrays["gamma_x_raw"]
        self._n_fock = arrays["n_fock"]
        self._floor = precision_floor()
        self._n_th = grid.n_th

        # Interpolated quantity: log(Gamma / Gamma_analytic) on axes (nbar, log k1, kphi).
        nb = np.asarray(grid.nbar)[:, None, None]
        k1 = np.asarray(grid.kappa1_over_kappa2)[None, :, None]
        kp = np.asarray(grid.kappaphi_over_kappa2)[None, None, :]
        ax, az = _analytic_array(nb, k1, kp, grid.n_th)
        log_ratio_x = np.log(self._gamma_x) - np.log(ax)
        log_ratio_z = np.log(self._gamma_z) - np.log(az)
        self._axes = (
            tuple(grid.nbar),
            tuple(math.log(v) for v in grid.kappa1_over_kappa2),
            tuple(grid.kappaphi_over_kappa2),
        )
        # Flat Python lists: indexing them is far cheaper than numpy scalar access (fast path).
        self._flat_x = log_ratio_x.ravel().tolist()
        self._flat_z = log_ratio_z.ravel().tolist()
        self._strides = (grid.shape[1] * grid.shape[2], grid.shape[2], 1)
        self._values = np.stack([log_ratio_x, log_ratio_z], axis=-1)  # (n_nbar, n_k1, n_kphi, 2)
        self._interpolator: Any = None  # built on first batch call (scipy import is not free)

    # ----------------------------------------------------------------------------- properties
    @property
    def grid(self) -> CatTableGrid:
        """The grid the table was solved on."""
        return self._grid

    @property
    def gamma_x(self) -> np.ndarray:
        """Bit-flip rates at the grid points (read-only, units of kappa_2, floored)."""
        return self._gamma_x

    @property
    def gamma_z(self) -> np.ndarray:
        """Phase-flip rates at the grid points (read-only, units of kappa_2)."""
        return self._gamma_z

    @property
    def n_fock(self) -> np.ndarray:
        """Fock dimension used at each grid point (read-only)."""
        return self._n_fock

    @property
    def below_floor(self) -> np.ndarray:
        """Grid points whose ``Gamma_X`` fell below the precision floor (stored as the floor)."""
        return self._gamma_x_raw < self._floor

    @property
    def precision_floor(self) -> float:
        """Smallest resolvable ``Gamma_X`` (units of kappa_2); interpolated values never go below."""
        return self._floor

    # ----------------------------------------------------------------------- build / load
    @classmethod
    def build(
        cls,
        grid: CatTableGrid | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        workers: int = 1,
        progress: bool | ProgressCallback = False,
        on_invalid: str = "rebuild",
    ) -> CatChannelTable:
        """Load the grid's table from the cache, computing (and saving) whatever is missing.

        Args:
            grid: The grid; default `CatTableGrid.default`.
            cache_dir: Cache folder; default `default_cache_dir`.
            workers: Processes solving points in parallel (``concurrent.futures``); 1 solves in
                this process. Each worker imports qutip (~1 s), so use > 1 for large grids only.
            progress: ``True`` shows a tqdm bar (for CLIs and notebooks); a callable is called
                as ``progress(done, total)`` after each point; ``False`` is silent.
            on_invalid: What to do with a cache file that is corrupt or belongs to another
                grid / model version: ``"rebuild"`` (log a warning, recompute, overwrite) or
                ``"raise"`` (`TableCacheError`).

        Returns:
            The complete table.

        Raises:
            TableCacheError: an invalid cache file and ``on_invalid="raise"``.
            ValueError: bad ``workers`` or ``on_invalid``.
            FockTruncationError: a point failed the truncation check (see ``solve_rates``).

        Example:
            >>> import tempfile
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     t = CatChannelTable.build(CatTableGrid((4.0, 4.5), (1e-3, 1e-2)), cache_dir=tmp)
            ...     again = CatChannelTable.build(t.grid, cache_dir=tmp)  # read from the cache
            >>> bool(np.array_equal(t.gamma_x, again.gamma_x))
            True
        """
        if on_invalid not in ("rebuild", "raise"):
            raise ValueError(f"on_invalid must be 'rebuild' or 'raise', got {on_invalid!r}")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be an int >= 1, got {workers!r}")
        grid = CatTableGrid.default() if grid is None else grid
        path = table_path(grid, cache_dir=cache_dir)
        arrays = _empty_arrays(grid)
        if path.exists():
            try:
                arrays = _read(path, grid)
            except TableCacheError as exc:
                if on_invalid == "raise":
                    raise TableCacheError(
                        f"{exc}; delete the file or call build(..., on_invalid='rebuild')"
                    ) from exc
                _log.warning("%s; rebuilding it", exc)
                arrays = _empty_arrays(grid)
        todo = [tuple(int(i) for i in idx) for idx in zip(*np.nonzero(~arrays["done"]))]
        if todo:
            cls._compute(grid, arrays, todo, path=path, workers=workers, progress=progress)
        return cls._from_arrays(grid, arrays)

    @classmethod
    def load(
        cls, grid: CatTableGrid | None = None, *, cache_dir: str | os.PathLike[str] | None = None
    ) -> CatChannelTable:
        """Load a complete table from the cache without computing anything (qutip not needed).

        Args:
            grid: The grid; default `CatTableGrid.default`.
            cache_dir: Cache folder; default `default_cache_dir`.

        Returns:
            The table.

        Raises:
            FileNotFoundError: no cache file for this grid (build it with `build`).
            TableCacheError: the file is corrupt, mismatched or incomplete.

        Example:
            >>> import tempfile
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     CatChannelTable.load(CatTableGrid((4.0, 4.5), (1e-3, 1e-2)), cache_dir=tmp)
            Traceback (most recent call last):
                ...
            FileNotFoundError: no cached cat table ...; build it with CatChannelTable.build(...)
        """
        grid = CatTableGrid.default() if grid is None else grid
        path = table_path(grid, cache_dir=cache_dir)
        if not path.exists():
            raise FileNotFoundError(
                f"no cached cat table {path}; build it with CatChannelTable.build(grid, cache_dir=...)"
            )
        arrays = _read(path, grid)
        if not arrays["done"].all():
            missing = int((~arrays["done"]).sum())
            raise TableCacheError(
                f"cached table {path} is incomplete ({missing} points missing); resume with build()"
            )
        return cls._from_arrays(grid, arrays)

    @classmethod
    def _from_arrays(cls, grid: CatTableGrid, arrays: dict[str, np.ndarray]) -> CatChannelTable:
        return cls(
            grid,
            gamma_x=arrays["gamma_x"],
            gamma_z=arrays["gamma_z"],
            gamma_x_raw=arrays["gamma_x_raw"],
            n_fock=arrays["n_fock"],
        )

    @staticmethod
    def _compute(
        grid: CatTableGrid,
        arrays: dict[str, np.ndarray],
        todo: Sequence[tuple[int, int, int]],
        *,
        path: Path,
        workers: int,
        progress: bool | ProgressCallback,
    ) -> None:
        total = int(arrays["done"].size)
        bar = None
        callback: ProgressCallback | None = None
        if progress is True:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=total - len(todo), desc="cat rate table", unit="pt")
        elif callable(progress):
            callback = progress

        def record(result: tuple[tuple[int, int, int], float, float, float, int]) -> None:
            index, gx, gz, raw, n = result
            arrays["gamma_x"][index] = gx
            arrays["gamma_z"][index] = gz
            arrays["gamma_x_raw"][index] = raw
            arrays["n_fock"][index] = n
            arrays["done"][index] = True
            # Save after every point: files are a few kB, and a crash then loses one point.
            _write(path, grid, arrays)
            done = int(arrays["done"].sum())
            if bar is not None:
                bar.update(1)
            if callback is not None:
                callback(done, total)

        try:
            if workers == 1:
                for index in todo:
                    record(_solve_point(grid, index))
            else:
                with ProcessPoolExecutor(max_workers=workers) as pool:
                    futures = [pool.submit(_solve_point, grid, index) for index in todo]
                    try:
                        for future in as_completed(futures):
                            record(future.result())
                    except BaseException:
                        # Do not keep solving points nobody will record (saved ones stay saved).
                        pool.shutdown(wait=False, cancel_futures=True)
                        raise
        finally:
            if bar is not None:
                bar.close()

    # ------------------------------------------------------------------------------ lookups
    def _locate(self, axis: int, value: float, name: str) -> tuple[int, float]:
        """Lower cell index and weight of ``value`` on one axis; ValueError outside the grid."""
        points = self._axes[axis]
        if len(points) == 1:
            if value != points[0]:
                raise ValueError(
                    f"{name}={value!r} is not the table's only value {points[0]!r}; build a table whose "
                    f"grid spans it (CatTableGrid(..., {name}=[...]))"
                )
            return 0, 0.0
        lo, hi = points[0], points[-1]
        if not lo <= value <= hi:  # also rejects NaN
            shown = math.exp(value) if axis == 1 else value
            span = (math.exp(lo), math.exp(hi)) if axis == 1 else (lo, hi)
            raise ValueError(
                f"{name}={shown!r} is outside the table's grid [{span[0]!r}, {span[1]!r}]; no extrapolation: "
                f"build a table whose grid covers it"
            )
        i = min(bisect.bisect_right(points, value) - 1, len(points) - 2)
        return i, (value - points[i]) / (points[i + 1] - points[i])

    def _interpolate(self, nbar: float, k1: float, kphi: float) -> tuple[float, float]:
        if not k1 > 0.0:
            raise ValueError(f"kappa1_over_kappa2 must be > 0, got {k1!r}")
        i, u = self._locate(0, nbar, "nbar")
        j, v = self._locate(1, math.log(k1), "kappa1_over_kappa2")
        k, w = self._locate(2, kphi, "kappaphi_over_kappa2")
        s0, s1, _ = self._strides
        fx, fz = self._flat_x, self._flat_z
        w00, w01, w10, w11 = (1.0 - u) * (1.0 - v), (1.0 - u) * v, u * (1.0 - v), u * v
        gamma_x = gamma_z = 0.0
        # Bilinear log-ratio in (nbar, log k1) at the one or two kphi nodes around kphi, then
        # linear in kphi *of the rates*: dephasing adds a rate, so Gamma is affine in kphi.
        for dk, wk in ((0, 1.0 - w), (1, w)):
            if wk == 0.0:
                continue
            b = i * s0 + j * s1 + k + dk
            rx = w00 * fx[b] + w01 * fx[b + s1] + w10 * fx[b + s0] + w11 * fx[b + s0 + s1]
            rz = w00 * fz[b] + w01 * fz[b + s1] + w10 * fz[b + s0] + w11 * fz[b + s0 + s1]
            ax, az = _analytic(nbar, k1, self._axes[2][k + dk], self._n_th)
            gamma_x += wk * ax * math.exp(rx)
            gamma_z += wk * az * math.exp(rz)
        return gamma_x, gamma_z

    def rates(
        self, nbar: float, kappa1_over_kappa2: float, *, kappaphi_over_kappa2: float = 0.0
    ) -> tuple[float, float]:
        """Interpolated ``(Gamma_X, Gamma_Z)`` in units of kappa_2 (a few microseconds).

        Args:
            nbar: Mean photon number, inside the grid.
            kappa1_over_kappa2: Single-photon loss ratio, inside the grid.
            kappaphi_over_kappa2: Dephasing ratio, inside the grid (default 0).

        Returns:
            ``(gamma_x, gamma_z)``; ``gamma_x`` is never below `precision_floor`.

        Raises:
            ValueError: a value outside the grid (no extrapolation) or NaN.

        Example:
            >>> import tempfile
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     t = CatChannelTable.build(CatTableGrid((4.0, 4.5), (1e-3, 1e-2)), cache_dir=tmp)
            >>> gx, gz = t.rates(4.2, 1e-2)
            >>> round(gz / (1e-2 * 4.2), 2)
            1.0
            >>> t.rates(5.0, 1e-2)
            Traceback (most recent call last):
                ...
            ValueError: nbar=5.0 is outside the table's grid [4.0, 4.5]; no extrapolation: ...
        """
        nbar = float(nbar)
        k1 = float(kappa1_over_kappa2)
        kphi = float(kappaphi_over_kappa2)
        gamma_x, gamma_z = self._interpolate(nbar, k1, kphi)
        return (gamma_x if gamma_x > self._floor else self._floor), gamma_z

    def probabilities(
        self, nbar: float, kappa1_over_kappa2: float, *, kappaphi_over_kappa2: float = 0.0, t_round: float
    ) -> tuple[float, float]:
        """Bit- and phase-flip probabilities ``(p_x, p_z)`` of one round of ``t_round / kappa_2``.

        ``p = (1 - exp(-2 Gamma t_round)) / 2`` with the interpolated rates (`rates`).

        Args:
            nbar: Mean photon number, inside the grid.
            kappa1_over_kappa2: Single-photon loss ratio, inside the grid.
            kappaphi_over_kappa2: Dephasing ratio, inside the grid (default 0).
            t_round: Round duration in units of ``1 / kappa_2`` (>= 0).

        Returns:
            ``(p_x, p_z)``.

        Raises:
            ValueError: a value outside the grid, or a negative or non-finite ``t_round``.

        Example:
            >>> import tempfile
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     t = CatChannelTable.build(CatTableGrid((4.0, 4.5), (1e-3, 1e-2)), cache_dir=tmp)
            >>> p_x, p_z = t.probabilities(4.2, 1e-2, t_round=5.0)
            >>> round(p_z, 3)
            0.171
        """
        t = float(t_round)
        if not (t >= 0.0 and math.isfinite(t)):
            raise ValueError(f"t_round must be finite and >= 0 (units of 1/kappa_2), got {t_round!r}")
        gamma_x, gamma_z = self.rates(nbar, kappa1_over_kappa2, kappaphi_over_kappa2=kappaphi_over_kappa2)
        return -0.5 * math.expm1(-2.0 * gamma_x * t), -0.5 * math.expm1(-2.0 * gamma_z * t)

    def rates_batch(
        self, nbar: Any, kappa1_over_kappa2: Any, *, kappaphi_over_kappa2: Any = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised `rates`: arguments broadcast together; returns two float64 arrays.

        Example:
            >>> import tempfile
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     t = CatChannelTable.build(CatTableGrid((4.0, 4.5), (1e-3, 1e-2)), cache_dir=tmp)
            >>> gx, gz = t.rates_batch([4.1, 4.3], 1e-2)
            >>> gx.shape, bool(np.isclose(gx[0], t.rates(4.1, 1e-2)[0], rtol=1e-12))
            ((2,), True)
        """
        nb, k1, kp = np.broadcast_arrays(
            np.asarray(nbar, dtype=float),
            np.asarray(kappa1_over_kappa2, dtype=float),
            np.asarray(kappaphi_over_kappa2, dtype=float),
        )
        if np.any(k1 <= 0.0) or np.any(np.isnan(k1)):
            raise ValueError("kappa1_over_kappa2 must be > 0 everywhere")
        log_k1 = np.log(k1)
        coords = [nb, log_k1, kp]
        names = ("nbar", "kappa1_over_kappa2", "kappaphi_over_kappa2")
        for axis, (values, name) in enumerate(zip(coords, names)):
            points = self._axes[axis]
            bad = ~((values >= points[0]) & (values <= points[-1]))
            if bad.any():
                first = float(values[bad].flat[0])
                self._locate(axis, first, name)  # raises with the standard message
        if self._interpolator is None:
            from scipy.interpolate import RegularGridInterpolator

            # Values (n_nbar, n_k1, n_kphi, 2): one bilinear interpolant serves every kphi node.
            self._interpolator = RegularGridInterpolator(
                (np.asarray(self._axes[0]), np.asarray(self._axes[1])),
                self._values,
                method="linear",
                bounds_error=True,
            )
        flat = [c.ravel() for c in coords]
        ratios = self._interpolator(np.stack(flat[:2], axis=-1))  # (M, n_kphi, 2)
        nodes = np.asarray(self._axes[2])
        if len(nodes) == 1:
            k = np.zeros(flat[2].shape, dtype=np.intp)
            w = np.zeros(flat[2].shape)
            upper = k
        else:
            k = np.clip(np.searchsorted(nodes, flat[2], side="right") - 1, 0, len(nodes) - 2)
            w = (flat[2] - nodes[k]) / (nodes[k + 1] - nodes[k])
            upper = k + 1
        rows = np.arange(flat[0].size)
        gammas = []
        for node_index, weight in ((k, 1.0 - w), (upper, w)):
            ax, az = _analytic_array(flat[0], k1.ravel(), nodes[node_index], self._n_th)
            gamma_x_node = weight * ax * np.exp(ratios[rows, node_index, 0])
            gammas.append((gamma_x_node, weight * az * np.exp(ratios[rows, node_index, 1])))
        gamma_x = np.maximum(gammas[0][0] + gammas[1][0], self._floor).reshape(nb.shape)
        gamma_z = (gammas[0][1] + gammas[1][1]).reshape(nb.shape)
        return gamma_x, gamma_z

    def probabilities_batch(
        self, nbar: Any, kappa1_over_kappa2: Any, *, kappaphi_over_kappa2: Any = 0.0, t_round: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised `probabilities` (all arguments broadcast, ``t_round`` too).

        Example:
            >>> import tempfile
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     t = CatChannelTable.build(CatTableGrid((4.0, 4.5), (1e-3, 1e-2)), cache_dir=tmp)
            >>> p_x, p_z = t.probabilities_batch(4.2, 1e-2, t_round=[1.0, 5.0])
            >>> p_z.shape, bool(p_z[1] > p_z[0])
            ((2,), True)
        """
        t = np.asarray(t_round, dtype=float)
        if not np.all(np.isfinite(t) & (t >= 0.0)):
            raise ValueError("t_round must be finite and >= 0 (units of 1/kappa_2)")
        gamma_x, gamma_z = self.rates_batch(
            nbar, kappa1_over_kappa2, kappaphi_over_kappa2=kappaphi_over_kappa2
        )
        return -0.5 * np.expm1(-2.0 * gamma_x * t), -0.5 * np.expm1(-2.0 * gamma_z * t)

    def __repr__(self) -> str:
        g = self._grid
        return (
            f"CatChannelTable(nbar=[{g.nbar[0]}..{g.nbar[-1]}] x{len(g.nbar)}, "
            f"kappa1_over_kappa2=[{g.kappa1_over_kappa2[0]}..{g.kappa1_over_kappa2[-1]}] "
            f"x{len(g.kappa1_over_kappa2)}, "
            f"kappaphi_over_kappa2={list(g.kappaphi_over_kappa2)}, n_th={g.n_th}, "
            f"below_floor={int(self.below_floor.sum())})"
        )
