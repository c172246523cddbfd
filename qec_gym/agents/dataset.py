"""Datasets of (observation, myopic-oracle action) pairs for the decision tree.

Rollouts run on TRAINING scenarios only. At every step the label is the myopic oracle's action
(`QECSwitchEnv.oracle_action`: true noise now, cheapest window); the action actually taken is
the oracle's with probability ``1 - epsilon`` and a uniformly random valid action otherwise, so
the dataset also holds the off-oracle states a learned tree will wander into (DAgger's point:
trained only on the oracle's own states, a tree never learns to recover from its mistakes).

Columns: one per observation feature (`observation_feature_names`), ``label`` (the oracle's
action), ``label_entry`` (the menu entry running after that action), ``action`` (taken),
``scenario``, ``episode``, ``step``.

With ``out_path`` the data is appended to a CSV one finished episode at a time and a JSON
sidecar (``<out_path>.meta.json``) records the finished episodes and the file's byte length;
re-running with the same path and parameters skips them, and a chunk cut off by Ctrl-C is
truncated away. Writes hold the file's lock (`qec_gym.sim.csvstore.locked`) and skip episodes
another process recorded meanwhile, so concurrent runs into one file store each episode once. Episode ``k`` depends only on ``(seed, k)``, so resumed data equals a single run's.

Example:
    >>> df = generate_dataset("qec_gym/SurfaceSwitch-v1", episodes=2, seed=0, epsilon=0.2,
    ...                       env_kwargs={"max_steps": 5})
    >>> len(df), df["episode"].unique().tolist(), df.columns[0], "label" in df
    (10, [0, 1], 'rate', True)
"""

from __future__ import annotations

import io
import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from qec_gym.agents.base import observation_feature_names
from qec_gym.agents.rollout import EnvSource, env_id_of, make_env
from qec_gym.sim.csvstore import ResultsFileWarning, locked

META_COLUMNS = ("label", "label_entry", "action", "scenario", "episode", "step")
"""Non-feature columns of a dataset."""
_FORMAT = "qec_gym.dataset/1"


def _pandas():
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise ImportError("datasets need pandas: pip install pandas (or qec-gym[rl]).") from e
    return pd


def meta_path(out_path: str | os.PathLike) -> Path:
    """The JSON sidecar of a dataset CSV."""
    return Path(str(out_path) + ".meta.json")


def generate_dataset(
    env_id: EnvSource,
    *,
    episodes: int,
    seed: int = 0,
    epsilon: float = 0.2,
    out_path: str | os.PathLike | None = None,
    progress: bool = False,
    env_kwargs: Mapping[str, Any] | None = None,
):
    """Roll out an epsilon-noisy myopic oracle on training scenarios and record its labels.

    Args:
        env_id: Env id (or factory / env made by ``gym.make``).
        episodes: Episodes to have in the dataset (scenarios cycled in order).
        seed: Base seed; episode ``k`` uses reset seed and action RNG derived from ``(seed, k)``.
        epsilon: Probability of a random valid action instead of the oracle's, in [0, 1].
        out_path: CSV to append to and resume from; ``None`` keeps everything in memory.
        progress: Show a tqdm bar over episodes.
        env_kwargs: Extra env keyword arguments (e.g. ``{"max_steps": 100}``); held-out
            scenarios are refused.

    Returns:
        A pandas DataFrame of episodes ``0..episodes-1`` (``df.attrs`` holds the metadata).

    Raises:
        ValueError: bad arguments, or ``out_path`` holds a dataset made with other parameters.
    """
    pd = _pandas()
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise ValueError(f"episodes must be an int >= 1, got {episodes!r}.")
    if not 0.0 <= float(epsilon) <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon}.")
    env_kwargs = dict(env_kwargs or {})
    env = make_env(env_id, scenarios=env_kwargs.pop("scenarios", "train"), env_kwargs=env_kwargs,
                   purpose="dataset generation")
    try:
        names = observation_feature_names(env)
        columns = (*names, *META_COLUMNS)
        meta = {
            "format": _FORMAT,
            "env_id": env_id_of(env_id),
            "env_kwargs": _jsonable(env_kwargs),
            "scenarios": list(env.unwrapped.scenario_names),
            "seed": int(seed),
            "epsilon": float(epsilon),
            "feature_names": list(names),
            "observation_shape": [len(names)],
            "menu_size": len(env.unwrapped.menu),
        }
        if out_path is None:
            frames = [_episode_frame(env, k, seed=seed, epsilon=epsilon, columns=columns)
                      for k in _progress(range(episodes), progress)]
            df = pd.concat(frames, ignore_index=True)
        else:
            df = _generate_to_csv(env, Path(out_path), meta, episodes=episodes, columns=columns, progress=progress)
    finally:
        env.close()
    df.attrs.update(meta)
    return df


def load_dataset(path: str | os.PathLike):
    """Read a dataset CSV written by `generate_dataset` (metadata in ``df.attrs``).

    Only finished episodes are returned (a chunk cut off mid-write is ignored).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a dataset (no label column or unreadable).
    """
    pd = _pandas()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no dataset at {path}: create one with `qec-gym dataset --out {path}`.")
    meta = _read_meta(path)
    try:
        if meta is not None:
            with open(path, "rb") as f:  # read only the finished chunks
                df = pd.read_csv(io.BytesIO(f.read(int(meta["bytes"]))))
        else:
            df = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError, KeyError) as e:
        raise ValueError(f"{path} is not a readable dataset CSV ({e}); regenerate it with `qec-gym dataset`.") from None
    if "label" not in df.columns:
        raise ValueError(f"{path} has no 'label' column: it is not a dataset from `qec-gym dataset`.")
    if {"episode", "step"} <= set(df.columns):
        repeated = df.duplicated(["episode", "step"])
        if repeated.any():  # left by two writers before datasets were locked: keep the first
            warnings.warn(f"{path}: {int(repeated.sum())} row(s) repeat an (episode, step) of an earlier row; the "
                          "first of each is used.", ResultsFileWarning, stacklevel=2)
            df = df[~repeated].reset_index(drop=True)
    if meta is not None:
        df.attrs.update({k: v for k, v in meta.items() if k not in ("completed", "bytes")})
    return df


def refuse_heldout_rows(df, *, purpose: str) -> None:
    """Refuse a dataset holding rows of held-out scenarios before anything is fitted on it.

    Names the env's registry does not know (a user's own scenarios) carry no split here; their
    dataset was checked when `generate_dataset` made it.

    Raises:
        ValueError: a held-out scenario's rows (named), with the fix.
    """
    from qec_gym.noise.scenarios import SCENARIOS, pool_for_env, registry_for_env, resolve_scenarios

    if "scenario" not in df.columns:
        return
    env_id = df.attrs.get("env_id")
    registry = registry_for_env(env_id) if env_id else SCENARIOS
    known = [n for n in dict.fromkeys(df["scenario"].astype(str)) if n in registry]
    if known:
        resolve_scenarios(known, registry=registry, pool=pool_for_env(env_id) if env_id else None,
                          allow_heldout=False, purpose=purpose)


def feature_columns(df) -> list[str]:
    """The observation-feature columns of a dataset, in order."""
    names = df.attrs.get("feature_names")
    if names:
        return list(names)
    return [c for c in df.columns if c not in META_COLUMNS]


# ---------------------------------------------------------------------------- internals
def _episode_frame(env, k: int, *, seed: int, epsilon: float, columns):
    pd = _pandas()
    u = env.unwrapped
    ss = np.random.SeedSequence([int(seed), int(k)])
    reset_seed = int(ss.generate_state(1)[0])
    rng = np.random.default_rng(ss)
    scenario = u.scenario_names[k % len(u.scenario_names)]
    obs, _ = env.reset(seed=reset_seed, options={"scenario": scenario})
    feats, labels, entries, taken = [], [], [], []
    done = False
    while not done:
        label = int(u.oracle_action())
        action = label
        if rng.random() < epsilon:
            action = int(rng.choice(np.flatnonzero(u.action_masks())))
        feats.append(np.asarray(obs["features"] if isinstance(obs, dict) else obs, dtype=np.float32))
        labels.append(label)
        entries.append(label - 2 if label >= 2 else int(u.entry))
        taken.append(action)
        obs, _, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
    n = len(labels)
    df = pd.DataFrame(np.stack(feats), columns=list(columns[: -len(META_COLUMNS)]))
    df["label"] = labels
    df["label_entry"] = entries
    df["action"] = taken
    df["scenario"] = [scenario] * n
    df["episode"] = k
    df["step"] = np.arange(n)
    return df


def _generate_to_csv(env, path: Path, meta: dict, *, episodes: int, columns, progress: bool):
    # Several processes may fill one dataset: each episode is written under the file's lock and
    # only if no one has recorded it yet, so every episode appears once (`qec_gym.sim.csvstore`).
    with locked(path):
        done = set(_open_dataset(path, meta, columns)["completed"])
    todo = [k for k in range(episodes) if k not in done]
    for k in _progress(todo, progress):
        try:
            chunk = _episode_frame(env, k, seed=meta["seed"], epsilon=meta["epsilon"], columns=columns)
        except Exception:
            with locked(path):
                state = _read_meta(path)
                if state is not None and not state["completed"]:
                    # nothing worth resuming: leave no header-only file that pins these parameters
                    path.unlink(missing_ok=True)
                    meta_path(path).unlink(missing_ok=True)
            raise
        # %.9g round-trips float32 exactly, so a resumed/reloaded tree sees identical inputs.
        text = chunk.to_csv(header=False, index=False, float_format="%.9g", lineterminator="\n").encode()
        with locked(path):
            state = _read_meta(path)
            if k in state["completed"]:  # another process wrote it meanwhile
                continue
            with open(path, "r+b") as f:
                f.truncate(state["bytes"])  # drop a chunk cut off mid-write (Ctrl-C, crash)
                f.seek(0, os.SEEK_END)
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
                size = f.tell()
            state["completed"] = sorted(set(state["completed"]) | {k})
            state["bytes"] = size
            _write_meta(meta_path(path), state)  # after the data: a crash in between only redoes this episode
    df = load_dataset(path)
    return df[df["episode"] < episodes].sort_values(["episode", "step"], kind="stable").reset_index(drop=True)


def _open_dataset(path: Path, meta: dict, columns) -> dict:
    """The sidecar state of the dataset at ``path`` (created with its header if new); call it locked."""
    mpath = meta_path(path)
    state = _read_meta(path) if path.exists() else None
    if path.exists() and state is None:
        raise ValueError(f"{path} exists but has no {mpath.name}: it was not written by generate_dataset; "
                         "choose another out_path or delete it.")
    if state is not None:
        mismatch = [k for k in meta if state.get(k) != meta[k]]
        if mismatch:
            raise ValueError(f"{path} was generated with other parameters ({', '.join(mismatch)} differ): "
                             "re-run with the same ones to resume, or choose another out_path.")
        return state
    header = ",".join(_csv_field(c) for c in columns) + "\n"
    with open(path, "wb") as f:
        f.write(header.encode())
        f.flush()
        os.fsync(f.fileno())
    state = {**meta, "completed": [], "bytes": len(header.encode())}
    _write_meta(mpath, state)
    return state


def _read_meta(path: Path) -> dict | None:
    mpath = meta_path(path)
    if not mpath.exists():
        return None
    try:
        state = json.loads(mpath.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{mpath} is corrupt ({e}): delete it and {path} and regenerate.") from None
    if not isinstance(state, dict) or state.get("format") != _FORMAT or "bytes" not in state:
        raise ValueError(f"{mpath} is not a qec_gym dataset sidecar: delete it and {path} and regenerate.")
    return state


def _write_meta(mpath: Path, state: dict) -> None:
    tmp = mpath.with_name(mpath.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, mpath)  # atomic: the sidecar is always a complete JSON


def _jsonable(obj: Any) -> Any:
    # Env kwargs may hold dataclasses (RewardConfig, MenuEntry): compare them by repr.
    try:
        return json.loads(json.dumps(obj))
    except TypeError:
        return json.loads(json.dumps(obj, default=repr))


def _csv_field(name: str) -> str:
    return f'"{name}"' if any(c in name for c in ',"\n') else name


def _progress(items, progress: bool):
    if not progress:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="dataset episodes", unit="ep")

