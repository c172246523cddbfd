"""Append-only CSV result files that several processes may share: lock, repair, one row per key.

Every results CSV of the package (evaluation results, decision-tree datasets, sinter sweeps)
goes through this module, so each has the same guarantees:

* **Lock.** Writers hold ``<file>.lock`` (the ``filelock`` package: an OS file lock, released
  when the process dies) while they read and append, so two processes never interleave lines.
* **Idempotent rows.** With a ``key``, `append_rows` skips rows whose key the file already holds
  (checked under the lock) and `read_rows` keeps the first row of each key, so two runs of the
  same command started together leave one row per episode, not two.
* **Repair.** A line that does not parse (a line cut off by a killed process, two lines
  interleaved by writers without a lock) is skipped with a `ResultsFileWarning` naming the file
  and line; writers drop such lines from the file before appending, so the next run resumes.

Lines are records: writers never put a newline inside a field (JSON is written compactly).

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> cols = {"name": str, "seed": int, "value": float}
    >>> append_rows(path, cols, [{"name": "a", "seed": 0, "value": 1.5}], key=("name", "seed"))
    1
    >>> append_rows(path, cols, [{"name": "a", "seed": 0, "value": 9.0}, {"name": "a", "seed": 1, "value": 2.0}],
    ...             key=("name", "seed"))
    1
    >>> [(r["seed"], r["value"]) for r in read_rows(path, cols, key=("name", "seed"))]
    [(0, 1.5), (1, 2.0)]
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Appender", "ResultsFileWarning", "append_rows", "json_field", "locked", "read_rows", "readable_text", "repair"]

log = logging.getLogger(__name__)

Converters = Mapping[str, Callable[[str], Any]]
"""Column name -> function turning the stored text into a value (raising on bad text)."""


class ResultsFileWarning(UserWarning):
    """A results file held lines that could not be read (skipped) or repeated keys (dropped)."""


def json_field(text: str) -> Any:
    """Converter of a JSON column (empty text reads as None)."""
    return json.loads(text) if text else None


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file of ``path`` (``<path>.lock``, next to it)."""
    return Path(str(path) + ".lock")


@contextmanager
def locked(path: str | os.PathLike, *, timeout: float = -1):
    """Hold the inter-process lock of ``path`` (waits for other writers; ``timeout`` in seconds, -1: forever).

    Not re-entrant across calls: do not nest two ``locked`` of the same path in one process.

    Raises:
        ImportError: the ``filelock`` package is missing (a core dependency).
        TimeoutError: the lock was not obtained within ``timeout`` (the message names the file).
    """
    try:
        from filelock import FileLock, Timeout
    except ImportError as e:  # pragma: no cover - filelock is a core dependency
        raise ImportError("qec-gym's result files need filelock: pip install filelock") from e
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(path)))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise TimeoutError(f"another process is writing {path} (lock {lock_path(path)}); wait for it or choose another file.") from None
    try:
        yield
    finally:
        lock.release()


def _scan(path: Path, converters: Converters | Callable[[dict[str, str]], Any]):
    """(header, [(line number, text, parsed row)], [(line number, reason)]) of ``path``."""
    with open(path, newline="") as f:
        text = f.read()
    lines = text.split("\n")
    complete = text.endswith("\n")
    if complete:
        lines.pop()  # the empty string after the final newline
    if not lines or not lines[0].strip():
        return None, [], []
    header = next(csv.reader([lines[0]]))
    if not callable(converters):
        missing = [c for c in converters if c not in header]
        if missing:
            raise ValueError(f"{path} lacks the column(s) {missing} (its header: {header}): it is another kind "
                             "of file or from an older version; move it away or choose another file.")
    good, bad = [], []
    for i, line in enumerate(lines[1:], start=2):
        if not complete and i == len(lines):
            bad.append((i, "cut off (no line end): a writer was interrupted"))
            continue
        if not line.strip():
            continue
        try:
            fields = next(csv.reader([line], strict=True))
            if len(fields) != len(header):
                raise ValueError(f"{len(fields)} fields, the header has {len(header)}")
            raw = dict(zip(header, fields))
            if callable(converters):
                row = converters(raw)
            else:
                row = dict(raw)
                for name, conv in converters.items():
                    row[name] = conv(raw[name])
        except (ValueError, KeyError, TypeError, csv.Error) as e:
            bad.append((i, f"{type(e).__name__}: {e}"))
            continue
        good.append((i, line, row))
    return header, good, bad


def _warn_bad(path: Path, bad: list[tuple[int, str]], action: str) -> None:
    shown = "; ".join(f"line {i}: {why}" for i, why in bad[:5]) + (f"; ... ({len(bad)} in all)" if len(bad) > 5 else "")
    msg = f"{path}: {len(bad)} unreadable line(s) {action} ({shown})."
    log.warning(msg)
    warnings.warn(msg, ResultsFileWarning, stacklevel=3)


def read_rows(
    path: str | os.PathLike,
    converters: Converters | Callable[[dict[str, str]], Any],
    *,
    key: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The readable rows of ``path`` (no lock needed: it only reads).

    Args:
        path: CSV with a header line.
        converters: Column -> converter (every listed column must be present and convert), or
            one function of the raw field dict returning the row (raising ValueError on bad rows).
        key: Columns that identify a row; later rows repeating a key are dropped (warned).

    Returns:
        Rows as dicts in file order; ``[]`` for a missing or empty file.

    Warns:
        ResultsFileWarning: unreadable lines skipped or repeated keys dropped (file and lines named).
    """
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return []
    _, good, bad = _scan(path, converters)
    if bad:
        _warn_bad(path, bad, "skipped")
    rows = [row for _, _, row in good]
    if key is None:
        return rows
    seen: set = set()
    out, repeated = [], []
    for (i, _, row) in good:
        k = tuple(row[c] for c in key)
        if k in seen:
            repeated.append(i)
            continue
        seen.add(k)
        out.append(row)
    if repeated:
        msg = (f"{path}: {len(repeated)} row(s) repeat the key {tuple(key)} of an earlier row (lines "
               f"{repeated[:10]}{' ...' if len(repeated) > 10 else ''}); the first of each is used.")
        log.warning(msg)
        warnings.warn(msg, ResultsFileWarning, stacklevel=2)
    return out


def readable_text(path: str | os.PathLike, converters: Converters | Callable[[dict[str, str]], Any]) -> str:
    """The header and the readable lines of ``path`` as text (for readers that take a file object).

    Warns:
        ResultsFileWarning: unreadable lines skipped (file and lines named).
    """
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return ""
    header, good, bad = _scan(path, converters)
    if bad:
        _warn_bad(path, bad, "skipped")
    return _text_of(header, good)


def _text_of(header, good) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(header)
    return buf.getvalue() + "".join(line + "\n" for _, line, _ in good)


def repair(path: str | os.PathLike, converters: Converters | Callable[[dict[str, str]], Any]) -> int:
    """Rewrite ``path`` without its unreadable lines (atomically); call it holding `locked`.

    Returns:
        The number of lines dropped (0 leaves the file untouched).

    Warns:
        ResultsFileWarning: naming the file and the dropped lines.
    """
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return 0
    header, good, bad = _scan(path, converters)
    if not bad:
        return 0
    _warn_bad(path, bad, "dropped from the file")
    text = _text_of(header, good)
    tmp = path.with_name(path.name + ".repair.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return len(bad)


def append_rows(
    path: str | os.PathLike,
    converters: Converters,
    rows: Iterable[Mapping[str, Any]],
    *,
    key: Sequence[str] | None = None,
) -> int:
    """Append ``rows`` to ``path`` under its lock, skipping rows whose key the file already holds.

    The file is repaired first (unreadable lines dropped, warned), and a header is written to a
    new or empty file. Values are written with ``str`` (floats round-trip), dicts and lists as
    compact sorted JSON. A writer that appends many times should keep one `Appender` instead:
    it reads only what other processes added since its last append.

    Args:
        path: CSV file (created with its folders).
        converters: The columns, in order, with their converters (see `read_rows`).
        rows: Rows with every column.
        key: Columns that identify a row (None: always append).

    Returns:
        The number of rows written.

    Raises:
        ValueError: the file's header is not ``converters``' columns (another kind of file).
    """
    return Appender(path, converters, key=key).append(rows)


class Appender:
    """Repeated `append_rows` to one file, reading only the lines added since its last append.

    Each `append` holds the file's lock. The first one repairs and scans the whole file; later
    ones scan only the bytes past the end of their previous write (rows other processes added
    meanwhile), unless the file shrank or the new bytes do not parse, which falls back to a full
    repair and scan. The guarantees are `append_rows`'; the cost per append no longer grows with
    the file (an evaluation appending one row per episode was quadratic in its episodes).
    """

    def __init__(self, path: str | os.PathLike, converters: Converters, *, key: Sequence[str] | None = None) -> None:
        self.path = Path(path)
        self.converters = converters
        self.columns = list(converters)
        self.key = None if key is None else tuple(key)
        self._seen: set = set()
        self._offset: int | None = None  # file size after our last write (None: never scanned)

    def _key(self, row: Mapping[str, Any]) -> tuple:
        return tuple(row[c] for c in self.key)

    def _full_scan(self) -> None:
        repair(self.path, self.converters)
        with open(self.path, newline="") as f:
            header = next(csv.reader([f.readline().rstrip("\n")]), [])
        if header != self.columns:
            raise ValueError(f"{self.path} has columns {header}, not {self.columns}: it is another kind of file; "
                             "choose another output file.")
        self._seen = {self._key(r) for r in read_rows(self.path, self.converters)} if self.key else set()

    def _tail_scan(self, size: int) -> bool:
        """Add the keys of the complete, readable lines in bytes [offset, size); False if any is not."""
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            text = f.read(size - self._offset).decode()
        if not text.endswith("\n"):
            return False
        for line in text[:-1].split("\n"):
            if not line.strip():
                continue
            try:
                fields = next(csv.reader([line], strict=True))
                if len(fields) != len(self.columns):
                    return False
                raw = dict(zip(self.columns, fields))
                if self.key:
                    self._seen.add(tuple(self.converters[c](raw[c]) for c in self.key))
            except (ValueError, KeyError, TypeError, csv.Error):
                return False
        return True

    def append(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Append ``rows`` (see `append_rows`); returns the number written."""
        rows = list(rows)
        with locked(self.path):
            size = self.path.stat().st_size if self.path.exists() else 0
            exists = size > 0
            if not exists:
                self._seen = set()
            elif self._offset is None or size < self._offset or (size > self._offset and not self._tail_scan(size)):
                self._full_scan()
            new = []
            for row in rows:
                if self.key is not None:
                    k = tuple(self.converters[c](_text(row[c])) for c in self.key)  # compare as read back
                    if k in self._seen:
                        continue
                    self._seen.add(k)
                new.append(row)
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            if not exists:
                w.writerow(self.columns)
            for row in new:
                w.writerow([_text(row[c]) for c in self.columns])
            if buf.getvalue():
                # flushed to the OS: a killed or interrupted process loses nothing; no fsync per
                # row (it cost ~5 ms per evaluation episode, and only guards against power loss)
                with open(self.path, "a", newline="") as f:
                    f.write(buf.getvalue())
            self._offset = self.path.stat().st_size
        return len(new)


def _text(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if value is None:
        return ""
    if isinstance(value, float):  # numpy's float64 too; repr round-trips
        return repr(float(value))
    return str(value)
