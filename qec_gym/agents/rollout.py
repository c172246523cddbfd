"""Small rollout helpers shared by the fitted baselines (best fixed entry, threshold, dataset).

These are for *fitting* on training scenarios; the evaluation harness (`qec_gym.eval`) owns
evaluation. Episodes are paired: episode ``k`` always uses reset seed ``seed + k`` and (with
``balanced=True``) scenario ``scenario_names[k % n]``, whatever the policy.

Example:
    >>> from qec_gym.agents import FixedAgent
    >>> env = make_env("qec_gym/SurfaceSwitch-v1", env_kwargs={"max_steps": 5})
    >>> episode_returns(env, FixedAgent(2, menu_size=10), episodes=2, seed=0).shape
    (2,)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from qec_gym.noise.scenarios import SCENARIOS, pool_for_env, registry_for_env, resolve_scenarios
from qec_gym.validation import check_env_id

EnvSource = str | Callable[..., gym.Env] | gym.Env
"""An env id, a factory taking env keyword arguments, or an env made by ``gym.make``."""


def make_env(source: EnvSource, *, scenarios: Any = "train", env_kwargs: Mapping[str, Any] | None = None,
             table_twin: bool = False, purpose: str = "fitting a baseline") -> gym.Env:
    """A fresh env on ``scenarios`` (training by default), refusing held-out scenarios.

    Held-out scenarios are for evaluation only: every fitted baseline (best fixed entry,
    threshold, decision tree) goes through this function, so none can be tuned on them.

    Args:
        source: Env id, factory (called with keyword arguments) or an env made by ``gym.make``
            (its id and make-kwargs are reused, with ``scenarios`` replaced).
        scenarios: ``"train"`` or training scenarios in any form `resolve_scenarios` accepts.
        env_kwargs: Extra keyword arguments (e.g. ``{"max_steps": 50}``); a ``"scenarios"``
            entry replaces ``scenarios``.
        table_twin: If the env runs the circuit backend by default (``SurfaceSwitchRaw-v1``) and
            ``env_kwargs`` names no ``backend``, give its table-backend twin instead: the same
            menu, noise, table and observation features (without the raw events, which a
            features-only fit never reads), thousands of times faster. Fits that roll out
            hundreds of episodes (best fixed entry, threshold) use it; the table is validated
            against the circuit backend.
        purpose: What the env is for, named when a held-out scenario is refused.

    Raises:
        ValueError: a held-out scenario was asked for, ``source`` is an env without a spec, or an id
            that is not a qec_gym env (`qec_gym.noise.scenarios.registry_for_env`).
    """
    # A "scenarios" inside env_kwargs wins (it is still checked against the held-out split).
    kwargs = {"scenarios": scenarios, **(env_kwargs or {})}

    def check(registry: Mapping[str, Any], pool: Any = None) -> None:
        # the one resolver of scenario sets refuses held-out ones under any spelling
        resolve_scenarios(kwargs["scenarios"], registry=registry, pool=pool, allow_heldout=False, purpose=purpose)

    if isinstance(source, str):
        env_id = check_env_id(source)  # checked before building the env (and its table)
        check(registry_for_env(env_id), kwargs.get("scenario_pool", pool_for_env(env_id)))
    elif isinstance(source, gym.Env):
        u = source.unwrapped
        check(getattr(u, "scenario_registry", SCENARIOS), getattr(u, "scenario_pool", None))
    env = _make(source, kwargs)
    if not isinstance(source, (str, gym.Env)):  # a factory: check what it built
        u = env.unwrapped
        try:
            check(getattr(u, "scenario_registry", SCENARIOS), getattr(u, "scenario_pool", None))
        except (ValueError, TypeError):
            env.close()
            raise
    asked = {**(getattr(getattr(source, "spec", None), "kwargs", None) or {}), **kwargs}  # a backend the caller chose
    if table_twin and "backend" not in asked and getattr(env.unwrapped, "backend", "table") == "circuit":
        env.close()
        env = _make(source, {**kwargs, "backend": "table", "raw_syndrome": False})
    return env


def _make(source: EnvSource, kwargs: dict[str, Any]) -> gym.Env:
    if isinstance(source, str):
        return gym.make(source, **kwargs)
    if isinstance(source, gym.Env):
        spec = source.spec
        if spec is None:
            raise ValueError("this env has no spec (it was not made by gym.make): pass its env id or a factory instead.")
        return gym.make(spec.id, **{**spec.kwargs, **kwargs})
    if callable(source):
        return source(**kwargs)
    raise TypeError(f"expected an env id, a factory or an env, got {type(source).__name__}.")


def env_id_of(source: EnvSource) -> str | None:
    """The registered id of an env source, when it has one."""
    if isinstance(source, str):
        return source
    spec = getattr(source, "spec", None)
    return None if spec is None else spec.id


def episode_returns(
    env: gym.Env,
    policy: Any,
    *,
    episodes: int,
    seed: int = 0,
    balanced: bool = True,
) -> np.ndarray:
    """Undiscounted returns of ``policy`` on ``episodes`` paired episodes.

    Args:
        env: A single (not vector) env.
        policy: Anything with SB3's ``predict``; privileged policies must be bound to ``env``.
        episodes: Number of episodes (>= 1).
        seed: Episode ``k`` resets with ``seed + k``.
        balanced: Cycle through ``env.unwrapped.scenario_names`` (``options={"scenario": ...}``)
            instead of drawing scenarios at random, so few episodes still cover every scenario.

    Returns:
        float64 array of shape ``(episodes,)``.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}.")
    names = tuple(getattr(env.unwrapped, "scenario_names", ())) if balanced else ()
    out = np.zeros(episodes)
    for k in range(episodes):
        options = {"scenario": names[k % len(names)]} if names else None
        obs, _ = env.reset(seed=seed + k, options=options)
        state, start, total, done = None, True, 0.0, False
        while not done:  # recurrent state passed back (SB3 convention): baselines with memory need it
            action, state = policy.predict(obs, state=state, episode_start=np.array([start]), deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            start, done = False, terminated or truncated
        out[k] = total
    return out
