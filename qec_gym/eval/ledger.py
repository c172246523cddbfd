"""The held-out draw ledger: which drawn held-out sets have been used, by which env, when.

A drawn held-out set (`qec_gym.noise.draws.draw_scenarios` with ``split="heldout"``) is a one-time
test: once its results have been seen, a design changed afterwards is no longer tested by it.
``benchmarks/release_eval.py --draw SEED`` records each use here *before* its episodes run (a run
that crashed half way has still been looked at) and refuses a (family, seed, env id) already in the
ledger, unless ``--reuse-draw`` says the run repeats or resumes that test. The ledger is a JSON-lines
file kept in the repository (``docs/heldout_draws.jsonl``), so every clone knows which draws are spent.

Each line: ``{"family", "seed", "env_id", "at" (UTC, ISO 8601), "out" (the run folder),
"git_revision", "reuse" (bool)}``. Writers hold ``<ledger>.lock`` (``filelock``) and append.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "draws.jsonl"
    >>> record_draw(path, family="surface", seed=1, env_id="qec_gym/SurfaceSwitch-v2", out="runs/x")
    >>> [u["seed"] for u in draw_uses(path, "surface", 1)], next_free_seed(path, "surface")
    ([1], 2)
    >>> check_fresh(path, family="surface", seed=1, env_id="qec_gym/SurfaceSwitch-v2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the held-out draw surface/1 was already used for qec_gym/SurfaceSwitch-v2 ...
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from qec_gym.provenance import git_revision

__all__ = ["DEFAULT_LEDGER", "check_fresh", "draw_uses", "next_free_seed", "record_draw"]

DEFAULT_LEDGER = Path("docs") / "heldout_draws.jsonl"
"""The repository's ledger, relative to the repository root (where the release evaluation runs)."""


def _entries(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{n} is not a JSON line ({err.msg}); the ledger is append-only: restore it "
                                 "from git (git checkout -- <ledger>).") from None
    return out


def draw_uses(path: str | Path, family: str, seed: int) -> list[dict]:
    """Every recorded use of the held-out draw (``family``, ``seed``), oldest first."""
    return [e for e in _entries(path) if e.get("family") == family and e.get("seed") == int(seed)]


def next_free_seed(path: str | Path, family: str) -> int:
    """The smallest held-out draw seed of ``family`` above every recorded one (0 for a fresh ledger)."""
    seeds = [int(e["seed"]) for e in _entries(path) if e.get("family") == family]
    return max(seeds, default=-1) + 1


def check_fresh(path: str | Path, *, family: str, seed: int, env_id: str) -> None:
    """Refuse a held-out draw already used for ``env_id``.

    Raises:
        ValueError: the ledger holds (``family``, ``seed``, ``env_id``); the message says when and
            where it was used, and the fixes (a fresh seed, or ``--reuse-draw`` to repeat that test).
    """
    used = [e for e in draw_uses(path, family, seed) if e.get("env_id") == env_id]
    if used:
        first = used[0]
        raise ValueError(
            f"the held-out draw {family}/{seed} was already used for {env_id} (first at {first.get('at')}, "
            f"{first.get('out')}): its results have been seen, so it no longer tests a design changed since. "
            f"Draw a fresh set (--draw {next_free_seed(path, family)}), or pass --reuse-draw to repeat or resume that "
            "same test (the report then says so).")


def record_draw(path: str | Path, *, family: str, seed: int, env_id: str, out: str | Path,
                reuse: bool = False) -> None:
    """Append one use of a held-out draw to the ledger at ``path`` (created with its folder if missing)."""
    from filelock import FileLock

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"family": family, "seed": int(seed), "env_id": env_id,
             "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
             "out": str(out), "git_revision": git_revision() or "unknown", "reuse": bool(reuse)}
    with FileLock(str(path) + ".lock"):
        with path.open("a") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")
