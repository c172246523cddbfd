"""Baseline policies with stable-baselines3's ``predict`` interface, and a registry by name.

| name | policy | needs |
|---|---|---|
| ``random`` | `RandomAgent`: uniform actions, seeded | action space |
| ``fixed:<i>`` | `FixedAgent`: switch to ``menu[i]`` once, keep it | menu size |
| ``best_fixed`` | `FixedAgent` on `best_fixed_entry` (chosen on TRAINING scenarios) | env id (spec) |
| ``threshold`` | `ThresholdAgent`: ladder of entries (by distance, or the oracle's order: nbar x d) on the noise estimate, hysteresis, dwell, periodic recalibration | fitted on training scenarios, or ``config=`` |
| ``tree:<path>`` | `DecisionTreeAgent` loaded from ``<path>`` | a saved tree for this env |
| ``oracle`` | `OracleAgent`: myopic oracle (EVALUATION ONLY, reads the true noise) | the env |
| ``clairvoyant`` | `ClairvoyantAgent`: DP over the true trajectory (EVALUATION ONLY) | the env |

Every policy has ``name`` and ``predict(observation, state=None, episode_start=None,
deterministic=True) -> (action, state)``; a batch of observations gives a batch of actions.

Example:
    >>> import gymnasium as gym, qec_gym
    >>> from qec_gym.agents import make_baseline
    >>> env = gym.make("qec_gym/SurfaceSwitch-v1", max_steps=5)
    >>> obs, _ = env.reset(seed=0)
    >>> [make_baseline(n, env).name for n in ("random", "fixed:3", "oracle", "clairvoyant")]
    ['random', 'fixed:3', 'oracle', 'clairvoyant']
"""

from __future__ import annotations

from typing import Any

from qec_gym.agents.base import Policy, SupportsPredict, observation_feature_names, running_entry
from qec_gym.agents.baselines import (
    ClairvoyantAgent,
    FixedAgent,
    FixedEntryScores,
    OracleAgent,
    RandomAgent,
    best_fixed_entry,
    fixed_entry_scores,
)
from qec_gym.agents.dataset import generate_dataset, load_dataset
from qec_gym.agents.rollout import episode_returns, make_env
from qec_gym.agents.threshold import ThresholdAgent, ThresholdConfig, candidate_ladders, ladder_for, oracle_ladder
from qec_gym.agents.tree import DecisionTreeAgent

BASELINE_NAMES = ("random", "fixed:<i>", "best_fixed", "threshold", "tree:<path>", "oracle", "clairvoyant")
"""Names `make_baseline` accepts."""

_KWARGS = {
    "random": {"seed"},
    "fixed": {"name"},
    "best_fixed": {"episodes", "seed", "env_kwargs", "source"},
    "threshold": {"config", "episodes", "seed", "env_kwargs", "source", "features", "hysteresis", "dwell",
                  "recalibrate", "quantiles", "passes"},
    "tree": set(),
    "oracle": set(),
    "clairvoyant": set(),
}


def make_baseline(name: str, env: Any, **kw: Any) -> Policy:
    """Build a baseline by name for ``env`` (see the module table).

    Args:
        name: One of `BASELINE_NAMES` (``fixed:3``, ``tree:models/tree.joblib``, ...).
        env: The env the policy will act in (made by ``gym.make``; the privileged policies hold it).
        **kw: Options of that baseline: ``random``: ``seed``; ``best_fixed``: ``episodes``,
            ``seed``, ``env_kwargs``, ``source`` (env id or factory to fit on; default: ``env``'s
            id and make-kwargs with ``scenarios="train"``); ``threshold``: ``config`` (a
            `ThresholdConfig`: no fitting) or `ThresholdAgent.fit`'s options and ``source``.

    Raises:
        ValueError: unknown name (the message lists the valid ones), options it does not take, an
            env that is not a qec_gym switching env, a threshold config or tree made for another
            menu or env, a privileged baseline on an AsyncVectorEnv.
        TypeError: ``config`` is not a `ThresholdConfig`.
    """
    if not isinstance(name, str):
        raise ValueError(f"baseline name must be a string, one of {list(BASELINE_NAMES)}; got {name!r}.")
    kind, _, arg = name.partition(":")
    if kind not in _KWARGS or (kind in ("fixed", "tree")) != bool(arg):
        raise ValueError(f"unknown baseline {name!r}; valid names: {', '.join(BASELINE_NAMES)}.")
    extra = set(kw) - _KWARGS[kind]
    if extra:
        raise ValueError(f"baseline {kind!r} takes no option(s) {sorted(extra)}; it takes {sorted(_KWARGS[kind]) or 'none'}.")
    if kind == "random":
        return RandomAgent(env.action_space, seed=kw.get("seed", 0))
    if kind == "tree":
        return DecisionTreeAgent.load(arg, env=env)
    if kind == "oracle":
        return OracleAgent(env)
    if kind == "clairvoyant":
        return ClairvoyantAgent(env)
    menu = getattr(getattr(env, "unwrapped", None), "menu", None)
    if menu is None:
        raise ValueError(f"baseline {kind!r} needs a qec_gym switching env (one of qec_gym.envs.ENV_IDS, with a menu); "
                         f"got {type(getattr(env, 'unwrapped', env)).__name__}.")
    menu_size = len(menu)
    if kind == "fixed":
        try:
            index = int(arg)
        except ValueError:
            raise ValueError(f"'fixed:<i>' needs an integer menu index, got {name!r}.") from None
        return FixedAgent(index, menu_size, name=kw.get("name"))
    if kind == "best_fixed":
        source = kw.pop("source", env)
        best = best_fixed_entry(source, **kw)
        return FixedAgent(best, menu_size, name="best_fixed")
    # kind == "threshold"
    if "config" in kw:
        if len(kw) > 1:
            raise ValueError("threshold: pass either config= (hand-set thresholds) or fitting options, not both.")
        cfg = kw["config"]
        if not isinstance(cfg, ThresholdConfig):
            raise TypeError(f"threshold: config must be a ThresholdConfig, got {type(cfg).__name__}.")
        if cfg.menu_size != menu_size:
            raise ValueError(f"threshold: this config is for a menu of {cfg.menu_size} entries, but the env's menu has "
                             f"{menu_size}: its ladder would name other configurations; fit one for this env.")
        return ThresholdAgent(cfg)
    source = kw.pop("source", env)
    return ThresholdAgent.fit(source, **kw)


__all__ = [
    "BASELINE_NAMES",
    "ClairvoyantAgent",
    "DecisionTreeAgent",
    "FixedAgent",
    "FixedEntryScores",
    "OracleAgent",
    "Policy",
    "RandomAgent",
    "SupportsPredict",
    "ThresholdAgent",
    "ThresholdConfig",
    "best_fixed_entry",
    "candidate_ladders",
    "episode_returns",
    "fixed_entry_scores",
    "generate_dataset",
    "ladder_for",
    "load_dataset",
    "make_baseline",
    "make_env",
    "observation_feature_names",
    "oracle_ladder",
    "running_entry",
]
