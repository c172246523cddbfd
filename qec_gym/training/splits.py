"""Which scenario splits a run folder has seen: the record that enforces the held-out discipline.

The protocol (``docs/protocol.md``) has three splits: *train* (the scenarios a model is fitted
on), *validation* (training scenarios with fresh episode seeds: every tuning decision) and
*held-out* (release evaluation only). Each run folder keeps ``splits.json``::

    {"splits_seen": ["train", "validation"],
     "heldout": [{"at": "2025-01-01T12:00:00+00:00", "env_id": "...", "scenarios": ["heldout_ramp"]}]}

`qec_gym.training.train` writes it when a run starts (``validation`` when it evaluates
periodically), `qec_gym.training.tune` adds ``validation`` for the trials it scores, and the
evaluation harness appends a timestamped ``heldout`` entry every time it evaluates the run on a
held-out scenario (before the episodes run: a run that crashed half way has still seen them).
A tuning step refuses a run that has seen held-out scenarios (`require_unseen_heldout`).

The record lives beside ``run.json``, not in it: ``run.json`` is part of the harness's policy
identity (a hash of its bytes), and appending to it would change the identity of a run each time
it is evaluated, so a results file could no longer be resumed. Writers hold ``splits.json.lock``
(``filelock``) and replace the file atomically.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as run:
    ...     record_splits(run, ["train", "validation"])
    ...     record_heldout(run, env_id="qec_gym/SurfaceSwitch-v1", scenarios=["heldout_ramp"])
    ...     splits_seen(run)
    ('train', 'validation', 'heldout')
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

SPLITS = ("train", "validation", "heldout")
"""The protocol's splits, in the order a run meets them."""

FILE = "splits.json"


def _path(run_dir: str | Path) -> Path:
    return Path(run_dir) / FILE


def read_splits(run_dir: str | Path) -> dict[str, Any]:
    """The run's record (``{"splits_seen": [...], "heldout": [...]}``).

    Raises:
        FileNotFoundError: the folder has no ``splits.json`` (not a run folder of this version);
            the message names the fix.
    """
    path = _path(run_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: {run_dir} is not a run folder written by `qec-gym train` "
                                "(or was trained before splits were recorded): retrain it.")
    return json.loads(path.read_text())


def splits_seen(run_dir: str | Path) -> tuple[str, ...]:
    """The splits the run has seen, in `SPLITS` order (see `read_splits` for errors)."""
    seen = set(read_splits(run_dir)["splits_seen"])
    return tuple(s for s in SPLITS if s in seen)


def _update(run_dir: str | Path, change) -> None:
    from filelock import FileLock

    path = _path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        record = json.loads(path.read_text()) if path.exists() else {"splits_seen": [], "heldout": []}
        change(record)
        record["splits_seen"] = [s for s in SPLITS if s in set(record["splits_seen"])]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1))
        tmp.replace(path)


def record_splits(run_dir: str | Path, splits: Iterable[str]) -> None:
    """Add ``splits`` (``"train"`` / ``"validation"``) to the run's record (created if absent).

    Raises:
        ValueError: an unknown split, or ``"heldout"`` (use `record_heldout`, which says where and when).
    """
    splits = list(splits)
    bad = [s for s in splits if s not in SPLITS[:2]]
    if bad:
        raise ValueError(f"record_splits takes 'train' and 'validation', got {bad}: held-out evaluations are "
                         "recorded by record_heldout (with the scenarios and a timestamp).")
    _update(run_dir, lambda r: r["splits_seen"].extend(splits))


def record_heldout(run_dir: str | Path, *, env_id: str, scenarios: Iterable[str]) -> None:
    """Append a timestamped held-out evaluation (UTC, ISO 8601) to the run's record."""
    entry = {"at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
             "env_id": env_id, "scenarios": list(scenarios)}

    def change(record):
        record["splits_seen"].append("heldout")
        record["heldout"].append(entry)

    _update(run_dir, change)


def heldout_names(scenarios: Any, names: Iterable[str], registry: Mapping[str, Any], *,
                  split: str = "heldout") -> tuple[str, ...]:
    """The held-out ones among ``names``, the scenarios an env resolved from ``scenarios``
    (``split="validation"``: the validation ones, e.g. drawn validation sets of `qec_gym.noise.draws`).

    A name's split is its own object's ``split`` when ``scenarios`` passed a `Scenario`
    object, else ``registry``'s.

    Example:
        >>> from qec_gym.noise.scenarios import SCENARIOS
        >>> heldout_names("heldout", ["calm", "heldout_ramp"], SCENARIOS)
        ('heldout_ramp',)
    """
    items = [scenarios] if isinstance(scenarios, str) or hasattr(scenarios, "split") else list(scenarios)
    objects = {str(s.name): s for s in items if hasattr(s, "split") and hasattr(s, "name")}
    found = {n: (objects[n] if n in objects else registry.get(n)) for n in names}
    return tuple(n for n, s in found.items() if getattr(s, "split", None) == split)


def require_unseen_heldout(run_dirs: Iterable[str | Path], *, purpose: str = "tuning") -> None:
    """Refuse runs that have seen held-out scenarios (they cannot inform ``purpose`` any more).

    Raises:
        ValueError: naming each such run and when it was evaluated on held-out scenarios.
        FileNotFoundError: a run without a record (`read_splits`).
    """
    seen = []
    for run in run_dirs:
        record = read_splits(run)
        if "heldout" in record["splits_seen"]:
            first = record["heldout"][0]["at"] if record["heldout"] else "unknown time"
            seen.append(f"{run} (first at {first})")
    if seen:
        raise ValueError(f"runs {seen} have been evaluated on held-out scenarios and may not be used for {purpose}: "
                         "held-out results are for the release evaluation only (docs/protocol.md); start "
                         "from runs that have seen train and validation splits only.")
