"""Telemetry: one frozen, versioned record per window, stored in SQLite (WAL mode) in the run folder.

Every producer (the `TelemetryWrapper` around an env, the `TelemetryCallback` of SB3 training, the
evaluation harness, the replay of recorded syndrome data) writes `TelemetryRecord` rows through one
`TelemetryWriter`; readers (`read_telemetry`, the dashboard) poll the same file incrementally by
row id. SQLite in WAL mode gives one writer and any number of concurrent readers that never block
it (https://www.sqlite.org/wal.html).

Conventions (as `qec_gym.sim.WindowStats`): ``detection_fraction_x`` is the mean detection-event
rate of the detectors that see X data errors (Z-type stabilisers), ``detection_fraction_z`` of those
that see Z data errors (X-type stabilisers). Unknown values are ``None`` (SQL ``NULL``, NaN in the
DataFrame). Per-detector rates are stored as zlib-compressed float16 (relative precision 2^-11,
ample for rates estimated from at most ~10^6 shots); see `encode_rates`.

Durability: a record is on disk once its batch is committed. Commits happen on `append` once
``batch_size`` records are pending or ``max_delay_s`` has passed since the last commit, and on
`flush`/`close`. There is no background thread, so an idle writer keeps its pending records until
the next append or flush: producers flush at episode ends (the wrapper does). A process killed
mid-run (SIGKILL) leaves a readable database holding every committed record (WAL recovery).

Example:
    >>> import tempfile, os
    >>> from qec_gym.monitor.telemetry import TelemetryRecord, TelemetryWriter, read_telemetry
    >>> path = os.path.join(tempfile.mkdtemp(), "telemetry.sqlite")
    >>> with TelemetryWriter(path) as w:
    ...     w.append(TelemetryRecord(run_id="demo", t=0, shots=1000, detection_fraction=0.02,
    ...                              detection_fraction_by_round=(0.01, 0.02), anomaly=("burst",)))
    >>> df = read_telemetry(path)
    >>> int(df["id"].iloc[0]), df["run_id"].iloc[0], float(df["detection_fraction"].iloc[0])
    (1, 'demo', 0.02)
    >>> [round(float(x), 4) for x in df["detection_fraction_by_round"].iloc[0]], df["anomaly"].iloc[0]
    ([0.01, 0.02], 'burst')
    >>> len(read_telemetry(path, since_id=1))
    0
"""

from __future__ import annotations

import logging
import math
import operator
import sqlite3
import struct
import time
import zlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterable

import numpy as np

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Version of the record layout and table schema; bump on any change (readers refuse newer ones)."""

TELEMETRY_FILENAME = "telemetry.sqlite"
"""Default file name of the store inside a run folder."""


_SMALL = 64
"""Up to this many values a blob is a zlib stream of one stored (uncompressed) block."""


def _zlib_stored(data: bytes) -> bytes:
    """``data`` as a zlib stream (RFC 1950) holding one stored deflate block (RFC 1951 3.2.4).

    Any zlib decoder reads it; it skips the compressor's setup, which costs more than a few
    values gain from compression (``zlib.compress`` allocates ~256 KiB of state per call).
    """
    n = len(data)
    return b"\x78\x01\x01" + struct.pack("<HH", n, n ^ 0xFFFF) + data + struct.pack(">I", zlib.adler32(data))


def encode_rates(rates: Iterable[float] | np.ndarray | None) -> bytes | None:
    """Compress a 1-D array of rates (per detector or per round) to zlib'd little-endian float16.

    Up to 64 values (per-round fractions) are stored in a zlib stream without compression
    (`_zlib_stored`: the same format, no compressor setup); longer arrays (per detector) are
    deflated at level 1. `decode_rates` reads both.

    Example:
        >>> b = encode_rates([0.0, 0.5, 0.001])
        >>> decode_rates(b).tolist()
        [0.0, 0.5, 0.0010004043579101562]
    """
    if rates is None:
        return None
    if isinstance(rates, (tuple, list)) and len(rates) <= _SMALL:
        try:  # struct's "e" is IEEE binary16 rounded to nearest even, as numpy's float16 cast
            return _zlib_stored(struct.pack(f"<{len(rates)}e", *rates))
        except (OverflowError, struct.error, TypeError):  # > 65504, or not floats: numpy's cast decides
            pass
    arr = np.asarray(rates, dtype="<f2").reshape(-1)
    if arr.size <= _SMALL:
        return _zlib_stored(arr.tobytes())
    return zlib.compress(arr.tobytes(), 1)


def decode_rates(blob: bytes | None) -> np.ndarray | None:
    """Inverse of `encode_rates`: float32 array of shape (n,), or ``None`` for ``None``."""
    if blob is None:
        return None
    return np.frombuffer(zlib.decompress(blob), dtype="<f2").astype(np.float32)


@dataclass(frozen=True, slots=True)
class TelemetryRecord:
    """What one window of one run produced, as a control system could log it.

    Attributes:
        run_id: Identifies the run (one writer may hold several runs).
        t: Window index within the run (>= 0).
        wall_time: Unix time (s) the window was recorded; defaults to now.
        env_id: Registered env id or source name ("replay:<file>"), "" if none.
        code: Code family (e.g. "rotated_surface"), "" if unknown.
        distance: Code distance.
        decoder: Decoder name.
        nbar: Mean photon number (cat codes), else None.
        config_label: Human-readable label of the running configuration.
        shots: Shots (memory experiments) in the window.
        detection_fraction: Mean detection-event rate over detectors and shots.
        detection_fraction_x: Mean over detectors that see X data errors (Z-type checks).
        detection_fraction_z: Mean over detectors that see Z data errors (X-type checks).
        detection_fraction_by_round: Mean per round (last: final data-measurement detectors).
        detector_rates: Per-detector rates, compressed by `encode_rates` (bytes) or None.
        noise_estimate: Syndrome-derived noise multiplier (what a control system measures).
        true_noise: True noise multiplier: simulated runs only (never shown to a policy).
        logical_errors: Logical failures among ``shots`` (when observables are known).
        logical_error_per_round: Per-round logical error estimate.
        logical_error_per_round_lo: Lower end of its interval (99% Clopper-Pearson mapped per round).
        logical_error_per_round_hi: Upper end.
        decode_latency_s_per_round: Decode time per shot per round (s).
        action: Action taken after this window (env runs), or the action a policy recommends
            (replays with a policy: `qec_gym.monitor.advise`; index into the env's actions).
        reward: Reward of this window (env runs).
        qubits: Physical qubits (or modes) in use.
        anomaly: Anomaly flags raised on this window (e.g. ("burst", "cusum_up")).

    Raises:
        ValueError: empty run_id, negative t or shots, rates outside [0, 1], lo > hi.
    """

    run_id: str
    t: int
    wall_time: float = 0.0
    env_id: str = ""
    code: str = ""
    distance: int | None = None
    decoder: str = ""
    nbar: float | None = None
    config_label: str = ""
    shots: int = 0
    detection_fraction: float | None = None
    detection_fraction_x: float | None = None
    detection_fraction_z: float | None = None
    detection_fraction_by_round: tuple[float, ...] = ()
    detector_rates: bytes | None = None
    noise_estimate: float | None = None
    true_noise: float | None = None
    logical_errors: int | None = None
    logical_error_per_round: float | None = None
    logical_error_per_round_lo: float | None = None
    logical_error_per_round_hi: float | None = None
    decode_latency_s_per_round: float | None = None
    action: int | None = None
    reward: float | None = None
    qubits: int | None = None
    anomaly: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.run_id, str) or not self.run_id:
            raise ValueError(f"run_id must be a non-empty str, got {self.run_id!r}.")
        if isinstance(self.t, bool) or not isinstance(self.t, (int, np.integer)) or self.t < 0:
            raise ValueError(f"t (window index) must be an int >= 0, got {self.t!r}.")
        if self.shots < 0:
            raise ValueError(f"shots must be >= 0, got {self.shots}.")
        if not self.wall_time:
            object.__setattr__(self, "wall_time", time.time())
        for k, v in enumerate((self.detection_fraction, self.detection_fraction_x, self.detection_fraction_z)):
            if v is not None and not 0.0 <= v <= 1.0:
                name = ("detection_fraction", "detection_fraction_x", "detection_fraction_z")[k]
                raise ValueError(f"{name} is a rate in [0, 1], got {v!r}.")
        lo, hi = self.logical_error_per_round_lo, self.logical_error_per_round_hi
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"logical error interval must have lo <= hi, got ({lo}, {hi}).")
        if isinstance(self.anomaly, str):  # a bare string would be split into characters
            raise ValueError(f"anomaly must be a tuple of flag names, e.g. ({self.anomaly!r},), not a str.")
        if self.detector_rates is not None and not isinstance(self.detector_rates, bytes):
            raise ValueError("detector_rates must be bytes from encode_rates(rates), not a raw array.")

    @property
    def rates(self) -> np.ndarray | None:
        """Decoded per-detector rates (float32, shape (num_detectors,)) or None."""
        return decode_rates(self.detector_rates)


_FIELDS = tuple(f.name for f in fields(TelemetryRecord))
_SQL_TYPES = {
    "run_id": "TEXT NOT NULL", "t": "INTEGER NOT NULL", "wall_time": "REAL NOT NULL", "env_id": "TEXT",
    "code": "TEXT", "distance": "INTEGER", "decoder": "TEXT", "nbar": "REAL", "config_label": "TEXT",
    "shots": "INTEGER", "detection_fraction_by_round": "BLOB", "detector_rates": "BLOB",
    "logical_errors": "INTEGER", "action": "INTEGER", "qubits": "INTEGER", "anomaly": "TEXT",
}
_COLUMNS_SQL = ", ".join(f"{n} {_SQL_TYPES.get(n, 'REAL')}" for n in _FIELDS)
_INSERT = f"INSERT INTO telemetry ({', '.join(_FIELDS)}) VALUES ({', '.join('?' * len(_FIELDS))})"
_BY_ROUND = _FIELDS.index("detection_fraction_by_round")
_ANOMALY = _FIELDS.index("anomaly")
_RATES = _FIELDS.index("detector_rates")


_GET_ALL = operator.attrgetter(*_FIELDS)


# None -> NaN, which SQLite stores as NULL in any column (sqlite3VdbeMemSetDouble in vdbemem.c;
# pinned by tests/monitor/test_telemetry.py). Python's sqlite3 binds only exact int, float, str and
# bytearray directly: None and bytes first go through its adapter protocol (a registry miss, two
# attribute look-ups and an exception per value), which made binding a record's empty fields
# the largest cost of an append.
_NAN = math.nan


def _row(r: TelemetryRecord) -> list:
    # one C-level attrgetter over the slots; dataclasses.astuple deep-copies and is ~10x slower
    row = [_NAN if v is None else v for v in _GET_ALL(r)]
    by_round = row[_BY_ROUND]
    row[_BY_ROUND] = bytearray(encode_rates(by_round)) if by_round else _NAN
    if r.detector_rates is not None:
        row[_RATES] = bytearray(r.detector_rates)
    row[_ANOMALY] = ",".join(r.anomaly)
    return row


class TelemetryWriter:
    """Append `TelemetryRecord` rows to an SQLite store in WAL mode, committing in batches.

    Args:
        path: The database file, or a run folder (then ``<folder>/telemetry.sqlite``). Created
            with its schema if absent; an existing store must have this `SCHEMA_VERSION`.
        batch_size: Commit once this many records are pending (>= 1).
        max_delay_s: Commit on append once this long has passed since the last commit (> 0).

    Raises:
        ValueError: bad batch_size/max_delay_s, or a store with another schema version.
        sqlite3.DatabaseError: the file is not an SQLite database.
    """

    def __init__(self, path: str | Path, *, batch_size: int = 4096, max_delay_s: float = 0.1):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}.")
        if not (isinstance(max_delay_s, (int, float)) and max_delay_s > 0):
            raise ValueError(f"max_delay_s must be > 0 seconds, got {max_delay_s!r}.")
        self.path = _resolve(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.batch_size = batch_size
        self.max_delay_s = float(max_delay_s)
        self._pending: list[list] = []
        self._last_commit = time.monotonic()
        self.committed = 0
        self._conn: sqlite3.Connection | None = sqlite3.connect(str(self.path), isolation_level=None)
        # WAL: readers never block the writer. synchronous=NORMAL keeps every committed
        # transaction across a process crash (only an OS crash/power loss may drop the last ones).
        mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise ValueError(f"{self.path}: could not enable WAL mode (got {mode!r}); use a local filesystem.")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        try:
            self._create_schema()
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    def _create_schema(self) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise ValueError(
                    f"{self.path} holds telemetry schema v{row[0]}, this qec-gym writes v{SCHEMA_VERSION}: "
                    "write to a new run folder (or install the qec-gym version that matches the store)."
                )
            conn.execute(f"CREATE TABLE IF NOT EXISTS telemetry (id INTEGER PRIMARY KEY, {_COLUMNS_SQL})")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def append(self, record: TelemetryRecord) -> None:
        """Queue one record; commits the batch when it is full or ``max_delay_s`` has passed."""
        if not isinstance(record, TelemetryRecord):
            raise TypeError(f"append takes a TelemetryRecord, got {type(record).__name__}.")
        self._pending.append(_row(record))
        if len(self._pending) >= self.batch_size or time.monotonic() - self._last_commit >= self.max_delay_s:
            self.flush()

    def extend(self, records: Iterable[TelemetryRecord]) -> None:
        """`append` each record."""
        for r in records:
            self.append(r)

    def flush(self) -> None:
        """Commit every pending record (one transaction)."""
        if self._conn is None:
            raise ValueError(f"TelemetryWriter({self.path}) is closed; open a new writer to append.")
        if self._pending:
            self._conn.execute("BEGIN")
            self._conn.executemany(_INSERT, self._pending)
            self._conn.execute("COMMIT")
            self.committed += len(self._pending)
            self._pending.clear()
        self._last_commit = time.monotonic()

    @property
    def pending(self) -> int:
        """Records appended but not yet committed."""
        return len(self._pending)

    def close(self) -> None:
        """Flush and close (idempotent)."""
        if self._conn is not None:
            self.flush()
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "TelemetryWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # best effort; an interpreter shutting down may have dropped sqlite3
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def _resolve(path: str | Path) -> Path:
    """A folder (existing, or a new path without a ``.sqlite``/``.db`` suffix) -> its store file."""
    p = Path(path)
    is_file = p.is_file() or (not p.exists() and p.suffix in (".sqlite", ".sqlite3", ".db"))
    return p if is_file else p / TELEMETRY_FILENAME


def schema_version(path: str | Path) -> int:
    """The schema version of a telemetry store.

    Raises:
        FileNotFoundError: no store at ``path``.
        ValueError: the file is not a qec-gym telemetry store.
    """
    p = _resolve(path)
    if not p.exists():
        raise FileNotFoundError(f"no telemetry store at {p}: pass the run folder or its {TELEMETRY_FILENAME}.")
    conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.DatabaseError as e:
        raise ValueError(f"{p} is not a qec-gym telemetry store ({e}).") from e
    finally:
        conn.close()
    if row is None:
        raise ValueError(f"{p} has an empty schema_version table: not a complete qec-gym telemetry store.")
    return int(row[0])


def read_telemetry(path: str | Path, since_id: int | None = None, *, decode: bool = True):
    """Read telemetry rows as a pandas DataFrame, oldest first; safe while a writer appends.

    Args:
        path: Store file or run folder.
        since_id: Return only rows with ``id > since_id`` (incremental polling: pass the last
            ``id`` you saw). ``None`` returns all rows.
        decode: Decode ``detection_fraction_by_round`` and ``detector_rates`` into float32
            arrays (object columns); ``False`` leaves the compressed bytes.

    Returns:
        DataFrame with column ``id`` (int, increasing) and one column per `TelemetryRecord`
        field; ``anomaly`` is a comma-separated string ("" when none); NULL -> NaN/None.

    Raises:
        FileNotFoundError: no store at ``path``.
        ValueError: the store's schema is newer (or older) than this qec-gym reads.
    """
    import pandas as pd

    p = _resolve(path)
    version = schema_version(p)
    if version != SCHEMA_VERSION:
        newer = version > SCHEMA_VERSION
        raise ValueError(
            f"{p} holds telemetry schema v{version}; this qec-gym reads v{SCHEMA_VERSION}: "
            + ("upgrade qec-gym (pip install -U qec-gym) to read it." if newer else "read it with the older qec-gym that wrote it.")
        )
    if since_id is not None and (isinstance(since_id, bool) or not isinstance(since_id, (int, np.integer))):
        raise TypeError(f"since_id must be an int row id or None, got {since_id!r}.")
    conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
    try:
        cur = conn.execute(
            f"SELECT id, {', '.join(_FIELDS)} FROM telemetry WHERE id > ? ORDER BY id",
            (-1 if since_id is None else int(since_id),),
        )
        rows = cur.fetchall()
    finally:
        conn.close()
    df = pd.DataFrame.from_records(rows, columns=["id", *_FIELDS])
    if decode and len(df):
        for col in ("detection_fraction_by_round", "detector_rates"):
            df[col] = [decode_rates(b) for b in df[col]]
    return df


def export_parquet(path: str | Path, out: str | Path) -> Path:
    """Write the whole store to a Parquet file (compressed columns kept as bytes) for DuckDB/pandas.

    Returns the written path. Raises ImportError with an install hint when pyarrow is missing.
    """
    try:
        import pyarrow  # noqa: F401
    except ImportError as e:
        raise ImportError("export_parquet needs pyarrow: pip install 'qec-gym[monitor]'.") from e
    df = read_telemetry(path, decode=False)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(out, engine="pyarrow", index=False)
    return out


# ---------------------------------------------------------------------------- producers
def record_from_step(
    env, obs: Any, reward: float | None, info: dict, *, run_id: str, t: int, action: int | None = None,
    env_id: str = "",
) -> TelemetryRecord:
    """A `TelemetryRecord` from one env step (or reset) of a qec-gym switch env.

    Reads only ``obs``/``info`` and the env's static menu; never calls into the env's dynamics.
    The detection fractions and noise estimate come from the observation's named features
    (`qec_gym.envs.table.FEATURES`, then the log10 noise estimate at
    `qec_gym.agents.base.IDX_LOG_NOISE`); the true multiplier from ``info`` (simulated only).
    """
    from qec_gym.agents.base import IDX_LOG_NOISE
    from qec_gym.envs.table import FEATURES

    base = env.unwrapped
    feats = np.asarray(obs["features"] if isinstance(obs, dict) else obs, dtype=np.float64).reshape(-1)
    entry_idx = info.get("entry")
    entry = base.menu[entry_idx] if entry_idx is not None and hasattr(base, "menu") else None
    distance = info.get("distance", getattr(entry, "distance", None))
    errors, shots = info.get("logical_errors"), int(info.get("shots", 0))
    lo = hi = None
    if errors is not None and distance and 0 < shots and 0 <= errors <= shots:
        from qec_gym.sim.stats import binomial_ci, per_round

        a, b = binomial_ci(int(errors), shots)
        lo, hi = per_round(min(a, 0.5), int(distance)), per_round(min(b, 0.5), int(distance))
    latency = info.get("latency_s")

    def feat(name: str) -> float | None:
        i = FEATURES.index(name)
        return float(np.clip(feats[i], 0.0, 1.0)) if feats.size > i else None

    return TelemetryRecord(
        run_id=run_id, t=int(t), env_id=env_id,
        code=str(getattr(entry, "family", "")), distance=None if distance is None else int(distance),
        decoder=str(getattr(entry, "decoder", "")), nbar=info.get("nbar", getattr(entry, "nbar", None)),
        config_label=str(info.get("entry_label", "")), shots=shots,
        detection_fraction=feat("rate"), detection_fraction_x=feat("rate_x"), detection_fraction_z=feat("rate_z"),
        detection_fraction_by_round=tuple(
            v for v in (feat("rate_first"), feat("rate_bulk"), feat("rate_last")) if v is not None
        ),
        noise_estimate=float(10 ** feats[IDX_LOG_NOISE]) if feats.size > IDX_LOG_NOISE else None,
        true_noise=_float_or_none(info.get("true_multiplier")),
        logical_errors=None if errors is None else int(errors),
        logical_error_per_round=_float_or_none(info.get("p_round")),
        logical_error_per_round_lo=lo, logical_error_per_round_hi=hi,
        decode_latency_s_per_round=_float_or_none(latency),
        action=action, reward=_float_or_none(reward),
        qubits=None if info.get("qubits") is None else int(info["qubits"]),
    )


def _float_or_none(v) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


try:  # gymnasium is a core dependency, so this import is cheap and always available
    import gymnasium as _gym
except ImportError:  # pragma: no cover
    _gym = None


class TelemetryWrapper(_gym.Wrapper):
    """Write one `TelemetryRecord` per window of a qec-gym env; the env's results are untouched.

    The record of window t holds that window's statistics (from the observation/info the step
    returns) and the action that produced it. Reset records window 0 with ``action=None``.
    Each ``reset`` starts a new episode ``run_id`` = ``f"{run_id}/ep{k}"``; the writer is flushed
    at episode ends and on ``close`` (the writer itself is closed by its owner).

    Args:
        env: A qec-gym switch env (`QECSwitchEnv`, `CatSwitchEnv`) or a wrapper of one.
        writer: The `TelemetryWriter` to append to.
        run_id: Prefix of the episode run ids.
        env_id: Defaults to ``env.spec.id``.

    Example:
        >>> import gymnasium as gym, tempfile, qec_gym
        >>> from qec_gym.envs import ENV_IDS
        >>> from qec_gym.monitor.telemetry import TelemetryWrapper, TelemetryWriter, read_telemetry
        >>> d = tempfile.mkdtemp()
        >>> with TelemetryWriter(d) as w:
        ...     env = TelemetryWrapper(gym.make(ENV_IDS[0]), w, run_id="r")
        ...     _ = env.reset(seed=1)
        ...     _ = env.step(0)
        >>> df = read_telemetry(d)
        >>> df["t"].tolist(), df["run_id"].tolist(), df["action"].tolist()[1]
        ([0, 1], ['r/ep0', 'r/ep0'], 0.0)
    """

    def __init__(self, env, writer: TelemetryWriter, *, run_id: str = "run", env_id: str | None = None):
        super().__init__(env)
        if not isinstance(writer, TelemetryWriter):
            raise TypeError(f"writer must be a TelemetryWriter, got {type(writer).__name__}.")
        self.writer = writer
        self.run_id = run_id
        self.env_id = env_id if env_id is not None else (env.spec.id if env.spec is not None else "")
        self._episode = -1
        self._t = 0

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        if self._episode >= 0:
            self.writer.flush()
        self._episode += 1
        self._t = 0
        self._write(obs, None, info, None)
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._t += 1
        self._write(obs, reward, info, int(np.asarray(action).reshape(-1)[0]))
        if terminated or truncated:
            self.writer.flush()
        return obs, reward, terminated, truncated, info

    def _write(self, obs, reward, info, action) -> None:
        self.writer.append(record_from_step(
            self.env, obs, reward, info, run_id=f"{self.run_id}/ep{self._episode}", t=self._t,
            action=action, env_id=self.env_id,
        ))

    def close(self):
        self.writer.flush()
        return super().close()


def telemetry_callback(writer: TelemetryWriter, *, run_id: str = "train"):
    """An SB3 callback that records every training env step (vector envs: one run id per env).

    Uses SB3's ``locals`` (``new_obs``, ``rewards``, ``infos``, ``actions``) only: training is
    unchanged. Note SB3 auto-resets vector envs, so the observation at an episode's last step is
    ``infos[i]["terminal_observation"]``, which is what is recorded then.

    Raises ImportError with an install hint when stable-baselines3 is missing.
    """
    try:
        from stable_baselines3.common.callbacks import BaseCallback
    except ImportError as e:
        raise ImportError("telemetry_callback needs stable-baselines3: pip install 'qec-gym[rl]'.") from e

    class TelemetryCallback(BaseCallback):
        """Writes one `TelemetryRecord` per env per step; flushes at rollout ends and training end."""

        def __init__(self):
            super().__init__(verbose=0)
            self._episodes: list[int] = []

        def _on_step(self) -> bool:
            obs, rewards, infos = self.locals["new_obs"], self.locals["rewards"], self.locals["infos"]
            actions, dones = self.locals["actions"], self.locals["dones"]
            env0 = self.training_env.envs[0] if hasattr(self.training_env, "envs") else None
            if len(self._episodes) < len(infos):
                self._episodes = [0] * len(infos)
            for i, info in enumerate(infos):
                o = info.get("terminal_observation") if dones[i] else None
                o = _index_obs(obs, i) if o is None else o
                env = self.training_env.envs[i] if hasattr(self.training_env, "envs") else env0
                if env is None or "step" not in info:
                    continue
                writer.append(record_from_step(
                    env, o, float(rewards[i]), info, run_id=f"{run_id}/env{i}/ep{self._episodes[i]}",
                    t=int(info["step"]) + 1, action=int(np.asarray(actions[i]).reshape(-1)[0]),
                ))
                if dones[i]:
                    self._episodes[i] += 1
            return True

        def _on_rollout_end(self) -> None:
            writer.flush()

        def _on_training_end(self) -> None:
            writer.flush()

    return TelemetryCallback()


def _index_obs(obs, i: int):
    if isinstance(obs, dict):
        return {k: v[i] for k, v in obs.items()}
    return obs[i]


class PrometheusExporter:
    """Serve the latest record's gauges on an HTTP ``/metrics`` endpoint for Prometheus/Grafana.

    Binds to ``addr`` (localhost by default; expose it deliberately). Gauges carry the label
    ``run_id``: ``qec_detection_fraction``, ``qec_noise_estimate``, ``qec_logical_error_per_round``,
    ``qec_decode_latency_s_per_round``, ``qec_windows_total`` (counter) and ``qec_anomalies_total``.

    Args:
        port: TCP port (0 picks a free one; see ``self.port``), or ``None`` to not serve
            (the metrics still go to ``self.registry``).
        addr: Address to bind.

    Raises ImportError with an install hint when prometheus_client is missing.
    """

    def __init__(self, port: int | None = 9464, *, addr: str = "127.0.0.1"):
        try:
            import prometheus_client as pc
        except ImportError as e:
            raise ImportError("PrometheusExporter needs prometheus_client: pip install 'qec-gym[monitor]'.") from e
        self.registry = pc.CollectorRegistry()
        g = lambda n, d: pc.Gauge(n, d, ["run_id"], registry=self.registry)  # noqa: E731
        self._gauges = {
            "detection_fraction": g("qec_detection_fraction", "Mean detection-event rate of the last window"),
            "noise_estimate": g("qec_noise_estimate", "Syndrome-derived noise multiplier"),
            "logical_error_per_round": g("qec_logical_error_per_round", "Logical error per round"),
            "decode_latency_s_per_round": g("qec_decode_latency_s_per_round", "Decode latency per round (s)"),
        }
        self._windows = pc.Counter("qec_windows", "Windows recorded", ["run_id"], registry=self.registry)
        self._anomalies = pc.Counter("qec_anomalies", "Anomaly flags raised", ["run_id", "kind"], registry=self.registry)
        self.port = None
        self._server = None
        if port is not None:
            self._server, _thread = pc.start_http_server(port, addr=addr, registry=self.registry)
            self.port = self._server.server_port

    def observe(self, record: TelemetryRecord) -> None:
        """Update the gauges from one record."""
        for name, gauge in self._gauges.items():
            v = getattr(record, name)
            if v is not None:
                gauge.labels(run_id=record.run_id).set(v)
        self._windows.labels(run_id=record.run_id).inc()
        for kind in record.anomaly:
            self._anomalies.labels(run_id=record.run_id, kind=kind).inc()

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
