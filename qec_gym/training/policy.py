"""Trained models as policies: the same ``predict`` as the baselines, loaded from run folders.

Example:
    >>> from qec_gym.training.policy import load_run
    >>> load_run("no/such/run")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no run folder at no/such/run: train one with `qec-gym train --env ID --algo ppo --out DIR`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class TrainedPolicy:
    """An SB3 model (and its ``VecNormalize`` statistics) behind the baselines' ``predict``.

    Args:
        model: A stable-baselines3 / sb3-contrib model.
        vec_normalize: The ``VecNormalize`` wrapper whose observation statistics the model was
            trained with (or None).
        env: For MaskablePPO: the env whose ``action_masks()`` are passed to ``predict``.
        name: Label in tables.
    """

    def __init__(self, model, *, vec_normalize=None, env=None, name: str = "rl"):
        self.model = model
        self.vec_normalize = vec_normalize
        self.env = env
        self.name = name
        self.masked = type(model).__name__ == "MaskablePPO"

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = True):
        """SB3's ``predict`` (see `qec_gym.agents.base.Policy.predict`).

        Raises:
            ValueError: ``observation`` does not have the shape of the model's observation space
                (one observation or a batch of them); the message names expected and given shapes.
        """
        self._check_observation(observation)
        obs = observation
        if self.vec_normalize is not None:
            obs = self.vec_normalize.normalize_obs(obs)
        kwargs = {}
        if self.masked and self.env is not None:
            kwargs["action_masks"] = self.env.unwrapped.action_masks()
        if episode_start is not None:
            kwargs["episode_start"] = np.atleast_1d(np.asarray(episode_start, dtype=bool))
        action, state = self.model.predict(obs, state=state, deterministic=deterministic, **kwargs)
        return action, state


    def _check_observation(self, observation) -> None:
        space = self.model.observation_space
        subspaces = getattr(space, "spaces", None)
        if isinstance(subspaces, dict):  # gymnasium Dict
            if not isinstance(observation, dict) or set(observation) != set(subspaces):
                got = sorted(observation) if isinstance(observation, dict) else type(observation).__name__
                raise ValueError(f"{self.name}: expected a Dict observation with keys {sorted(subspaces)}, got {got}.")
            for key, sub in subspaces.items():
                _check_shape(observation[key], sub.shape, f"{self.name}: observation[{key!r}]")
        else:
            _check_shape(observation, space.shape, f"{self.name}: observation")


def _check_shape(value, shape: tuple[int, ...], what: str) -> None:
    got = np.shape(value)
    if got != tuple(shape) and got[1:] != tuple(shape):
        raise ValueError(f"{what} has shape {got}, but the model takes {tuple(shape)} (one observation) or "
                         f"(n, {', '.join(map(str, shape))}) (a batch): was it trained on another env or menu?")


def run_episode(env, policy, *, seed: int) -> tuple[float, list[dict]]:
    """Run one episode of ``policy`` on ``env`` from ``reset(seed=seed)``; returns (return, infos)."""
    obs, info = env.reset(seed=seed)
    if hasattr(policy, "env") and policy.env is None and getattr(policy, "masked", False):
        policy.env = env
    state, start, total, infos, done = None, True, 0.0, [info], False
    while not done:
        action, state = policy.predict(obs, state=state, episode_start=start, deterministic=True)
        obs, reward, term, trunc, info = env.step(int(np.asarray(action).reshape(-1)[0]))
        total += float(reward)
        infos.append(info)
        start, done = False, term or trunc
    return total, infos


def load_run(run_dir: str | Path, *, which: str = "final", env=None) -> TrainedPolicy:
    """Load the model of a training run folder as a `TrainedPolicy`.

    Args:
        run_dir: A folder written by `qec_gym.training.train`.
        which: ``"final"`` (``model.zip``) or ``"best"`` (``best_model.zip``).
        env: The env to bind for masked policies (MaskablePPO).

    Raises:
        FileNotFoundError: no run folder, no model in it, or a run trained with ``normalize: true``
            whose observation statistics (``vecnormalize.pkl`` / ``best_vecnormalize.pkl``) are
            missing: the model would be fed raw observations it never saw, and score garbage.
        ValueError: the run is corrupt, was trained on another environment version, has no
            ``config.yaml``, or holds statistics its config says it was not trained with.
    """
    from qec_gym.training.config import algo_class

    run = Path(run_dir)
    if not run.is_dir():
        raise FileNotFoundError(f"no run folder at {run}: train one with `qec-gym train --env ID --algo ppo --out DIR`.")
    meta_path = run / "run.json"
    if not meta_path.exists():
        raise ValueError(f"{run} is not a qec-gym run folder (run.json is missing).")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{meta_path} is corrupt ({e}).") from None
    name = {"final": "model.zip", "best": "best_model.zip"}[which]
    model_path = run / name
    if not model_path.exists():
        raise FileNotFoundError(
            f"{run} has no {name} (training unfinished?): resume it with `qec-gym train --resume --out {run}`."
        )
    cls = algo_class(meta["algo"])
    try:
        model = cls.load(model_path, device="cpu")
    except Exception as e:  # zip/pickle errors: one clear message
        raise ValueError(f"cannot load {model_path}: {e}. The file is corrupt or from another SB3 version.") from None
    vn = None
    vn_path = run / ("vecnormalize.pkl" if which == "final" else "best_vecnormalize.pkl")
    if _trained_with_normalization(run, vn_path):
        from stable_baselines3.common.vec_env import VecNormalize

        vn = _load_vecnormalize(VecNormalize, vn_path)
    if env is not None:
        check_compatible(model, env, run)
    return TrainedPolicy(model, vec_normalize=vn, env=env, name=f"{meta['algo']}:{run.name}")


def _trained_with_normalization(run: Path, vn_path: Path) -> bool:
    """Whether the model needs ``vn_path``'s statistics, per the run's ``config.yaml`` (``normalize``).

    The config decides, never the presence of the file: a model trained on normalised
    observations and fed raw ones still acts, silently and badly (issue 10 item 5).
    """
    import yaml

    config_path = run / "config.yaml"
    if not config_path.exists():
        raise ValueError(f"{run} has no config.yaml, so whether its model expects normalised observations is "
                         "unknown: re-create the run with `qec-gym train`.")
    try:
        config = yaml.safe_load(config_path.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"{config_path} is corrupt ({e}).") from None
    normalize = config.get("normalize", False) if isinstance(config, dict) else None
    if not isinstance(normalize, bool):
        raise ValueError(f"{config_path} has no boolean 'normalize' entry (got {normalize!r}): re-create the run.")
    if normalize and not vn_path.exists():
        raise FileNotFoundError(
            f"{run} was trained with normalize: true but its observation statistics {vn_path.name} are missing; "
            f"the model cannot be evaluated on raw observations. Restore {vn_path} (or retrain the run)."
        )
    if not normalize and vn_path.exists():
        raise ValueError(f"{run} holds {vn_path.name} but its config.yaml says normalize: false: the folder mixes "
                         "two runs; re-create it with `qec-gym train`.")
    return normalize


def check_compatible(model, env, where) -> None:
    """Raise ValueError when ``model`` was trained on another observation or action space."""
    if model.observation_space != env.observation_space or model.action_space != env.action_space:
        meta = Path(where) / "run.json"
        try:
            trained_on = json.loads(meta.read_text()).get("env_id") if meta.exists() else None
        except (OSError, ValueError):
            trained_on = None
        here = getattr(getattr(env, "spec", None), "id", None)
        if trained_on and here and trained_on != here:
            raise ValueError(f"the model in {where} was trained on {trained_on}, not {here}: evaluate it on "
                             f"{trained_on} (or train a run on {here}).")
        raise ValueError(
            f"the model in {where} was trained on another environment (observation {model.observation_space}, "
            f"action {model.action_space}); this env has {env.observation_space}, {env.action_space}."
        )


def _load_vecnormalize(cls, path: Path):
    import pickle

    with open(path, "rb") as f:
        vn = pickle.load(f)
    vn.training = False
    vn.norm_reward = False
    return vn
