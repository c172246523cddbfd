"""Baseline policies with stable-baselines3's ``predict`` interface, and a registry by name.

| name | policy | needs |
|---|---|---|
| ``random`` | `RandomAgent`: uniform actions, seeded | action space |
| ``fixed:<i>`` | `FixedAgent`: switch to ``menu[i]`` once, keep it | menu size |
| ``best_fixed`` | `FixedAgent` on `best_fixed_entry` (chosen on TRAINING scenarios) | env id (spec) |
| ``threshold`` | `ThresholdAgent`: the drift-tracking threshold policy: ladder of entries (by distance, or the oracle's order: nbar x d) on the noise estimate's moving average, hysteresis, dwell, periodic recalibration | fitted on training scenarios, or ``config=`` |
| ``periodic_recal`` | `periodic_recalibration`: best fixed entry, recalibrate every K windows (a one-rung `ThresholdAgent`) | fitted on training scenarios (`fit_periodic`), or ``config=``; a calibration-sensitive env |
| ``cusum_recal`` | `CusumRecalAgent`: best fixed entry, recalibrate when a CUSUM on the noise estimate since the last recalibration alarms (recurrent ``state``) | fitted on training scenarios, or ``config=``; a calibration-sensitive env |
| ``drift_recal`` | `DriftRecalAgent`: best fixed entry, recalibrate when the priors' noise and the current syndrome estimate differ by more than a threshold (calibration-state observation) | fitted on training scenarios (`fit_drift`), or ``config=``; ``calibration_state=True`` (DecoderCalibration-v3) |
| ``certainty_equivalent`` | `CertaintyEquivalentAgent`: model-based control: the action of least expected window cost (the env's characterisation table) at the syndrome estimate, switch / recalibration costs amortised over a horizon | fitted on training scenarios (`fit_certainty_equivalent`), or ``config=``; a single-patch qec_gym env (its table is the model; ``certainty_equivalent:decode=1.5``, ``:table_of=ENV_ID``, ...: a wrong model, `ModelError`) |
| ``tree:<path>`` | `DecisionTreeAgent` loaded from ``<path>`` | a saved tree for this env |
| ``oracle`` | `OracleAgent`: myopic oracle (EVALUATION ONLY, reads the true noise) | the env |
| ``clairvoyant`` | `ClairvoyantAgent`: DP over the true trajectory (EVALUATION ONLY) | the env |

Every policy has ``name`` and ``predict(observation, state=None, episode_start=None,
deterministic=True) -> (action, state)``; a batch of observations gives a batch of actions.
On a many-patch env (``qec_gym/MultiPatchSwitch-v1``) `make_baseline` gives the per-patch versions of
``random``, ``fixed:<i>``, ``best_fixed``, ``threshold`` and ``oracle`` (`make_patch_baseline`).

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
    PatchOracleAgent,
    PerPatchAgent,
    RandomAgent,
    best_fixed_entry,
    fixed_entry_scores,
    make_patch_baseline,
    patch_fixed_entry_scores,
)
from qec_gym.agents.certainty_equivalent import (
    CertaintyEquivalentAgent,
    CertaintyEquivalentConfig,
    ModelError,
    fit_certainty_equivalent,
)
from qec_gym.agents.dataset import generate_dataset, load_dataset
from qec_gym.agents.recalibration import (
    CusumRecalAgent,
    CusumRecalConfig,
    DriftRecalAgent,
    DriftRecalConfig,
    fit_drift,
    fit_periodic,
    periodic_recalibration,
    require_calibration,
)
from qec_gym.agents.rollout import episode_returns, make_env
from qec_gym.agents.threshold import ThresholdAgent, ThresholdConfig, candidate_ladders, ladder_for, oracle_ladder
from qec_gym.agents.tree import DecisionTreeAgent, fit_reference_tree

BASELINE_NAMES = ("random", "fixed:<i>", "best_fixed", "threshold", "periodic_recal", "cusum_recal", "drift_recal",
                  "certainty_equivalent", "certainty_equivalent:<model error>", "tree:<path>",
                  "oracle", "clairvoyant")
"""Names `make_baseline` accepts."""

_KWARGS = {
    "random": {"seed"},
    "fixed": {"name"},
    "best_fixed": {"episodes", "seed", "env_kwargs", "source"},
    "threshold": {"config", "episodes", "seed", "env_kwargs", "source", "features", "hysteresis", "dwell",
                  "recalibrate", "quantiles", "passes"},
    "periodic_recal": {"config", "episodes", "seed", "env_kwargs", "source", "periods", "entry"},
    "cusum_recal": {"config", "episodes", "seed", "env_kwargs", "source", "feature", "arl0s", "ks", "warmup", "entry"},
    "drift_recal": {"config", "episodes", "seed", "env_kwargs", "source", "thresholds", "min_ages", "entry"},
    "certainty_equivalent": {"config", "episodes", "seed", "env_kwargs", "source", "horizons", "estimates"},
    "tree": set(),
    "oracle": set(),
    "clairvoyant": set(),
}

FITTED_BASELINES = tuple(name for name, keys in _KWARGS.items() if {"episodes", "seed"} <= keys)
"""Baselines that `make_baseline` fits on training episodes (they take ``episodes`` and ``seed``)."""

_CONFIG_TYPES = {"threshold": ThresholdConfig, "periodic_recal": ThresholdConfig, "cusum_recal": CusumRecalConfig,
                 "drift_recal": DriftRecalConfig, "certainty_equivalent": CertaintyEquivalentConfig}


def fitted_parameters(name: str, agent: Policy) -> dict:
    """What a fit of baseline ``name`` chose, as plain JSON data (`from_fitted_parameters` rebuilds it).

    Example:
        >>> fitted_parameters("best_fixed", FixedAgent(2, 5, name="best_fixed"))
        {'entry': 2}
    """
    import dataclasses
    import json

    if name.partition(":")[0] not in FITTED_BASELINES:
        raise ValueError(f"{name!r} is not a fitted baseline; fitted ones: {', '.join(FITTED_BASELINES)}.")
    params = {"entry": agent.entry_index} if name == "best_fixed" else dataclasses.asdict(agent.config)
    return json.loads(json.dumps(params))


def from_fitted_parameters(name: str, env: Any, params: dict) -> Policy:
    """Baseline ``name`` for ``env`` with the parameters a fit chose (`fitted_parameters`), without refitting
    (``certainty_equivalent:<model error>`` keeps its model error)."""
    if name == "best_fixed":
        return FixedAgent(params["entry"], len(env.unwrapped.menu), name="best_fixed")
    kind = name.partition(":")[0]
    if kind not in _CONFIG_TYPES:
        raise ValueError(f"{name!r} is not a fitted baseline; fitted ones: {', '.join(FITTED_BASELINES)}.")
    return make_baseline(name, env, config=_CONFIG_TYPES[kind](**params))


def check_baseline_name(name: Any) -> str:
    """``name`` if it is a baseline `make_baseline` knows (``tree`` and ``fixed`` with their argument,
    ``certainty_equivalent`` with or without a `ModelError`).

    Raises:
        ValueError: anything else (the message lists the valid names); a model error it cannot parse.

    Example:
        >>> check_baseline_name("fixed:2")
        'fixed:2'
        >>> check_baseline_name("tree")
        Traceback (most recent call last):
        ...
        ValueError: unknown baseline 'tree'; valid names: random, fixed:<i>, best_fixed, threshold, periodic_recal, cusum_recal, drift_recal, certainty_equivalent, certainty_equivalent:<model error>, tree:<path>, oracle, clairvoyant.
        >>> check_baseline_name("certainty_equivalent:decode=1.5")
        'certainty_equivalent:decode=1.5'
    """
    if not isinstance(name, str):
        raise ValueError(f"baseline name must be a string, one of {list(BASELINE_NAMES)}; got {name!r}.")
    kind, sep, arg = name.partition(":")
    takes_arg = kind in ("fixed", "tree", "certainty_equivalent")
    if kind not in _KWARGS or (kind in ("fixed", "tree") and not arg) or (sep and not takes_arg):
        raise ValueError(f"unknown baseline {name!r}; valid names: {', '.join(BASELINE_NAMES)}.")
    if kind == "certainty_equivalent" and sep:
        ModelError.parse(arg)
    return name


def _model_error(arg: str) -> ModelError | None:
    """The `ModelError` of a ``certainty_equivalent:<options>`` spec's argument (None without one)."""
    return ModelError.parse(arg) if arg else None


def make_baseline(name: str, env: Any, /, **kw: Any) -> Policy:
    """Build a baseline by name for ``env`` (see the module table).

    Args:
        name: One of `BASELINE_NAMES` (``fixed:3``, ``tree:models/tree.joblib``, ...).
        env: The env the policy will act in (made by ``gym.make``; the privileged policies hold it).
        **kw: Options of that baseline: ``random``: ``seed``; ``best_fixed``: ``episodes``,
            ``seed``, ``env_kwargs``, ``source`` (env id or factory to fit on; default: ``env``'s
            id and make-kwargs with ``scenarios="train"``); ``threshold``: ``config`` (a
            `ThresholdConfig`: no fitting) or `ThresholdAgent.fit`'s options and ``source``;
            ``periodic_recal``: ``config`` (a one-rung `ThresholdConfig` with ``recalibrate_every``)
            or `fit_periodic`'s options; ``cusum_recal``: ``config`` (a `CusumRecalConfig`) or
            `CusumRecalAgent.fit`'s options; ``drift_recal``: ``config`` (a `DriftRecalConfig`) or
            `fit_drift`'s options; ``certainty_equivalent``: ``config`` (a `CertaintyEquivalentConfig`)
            or `fit_certainty_equivalent`'s options (fitted on ``source``, then acting with ``env``'s
            cost model; ``certainty_equivalent:<model error>`` plans on a wrong model, `ModelError`,
            in the fit too).

    Raises:
        ValueError: unknown name (the message lists the valid ones), options it does not take, an
            env that is not a qec_gym switching env, a threshold config or tree made for another
            menu or env, a privileged baseline on an AsyncVectorEnv, a recalibration baseline on an
            env where recalibrating never pays (`require_calibration`).
        TypeError: ``config`` is not a `ThresholdConfig` (`CusumRecalConfig` for ``cusum_recal``).
    """
    kind, _, arg = check_baseline_name(name).partition(":")
    extra = set(kw) - _KWARGS[kind]
    if extra:
        raise ValueError(f"baseline {kind!r} takes no option(s) {sorted(extra)}; it takes {sorted(_KWARGS[kind]) or 'none'}.")
    if getattr(getattr(env, "unwrapped", None), "n_patches", None) is not None:  # MultiPatchSwitchEnv
        return make_patch_baseline(name, env, **kw)
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
    if kind in ("periodic_recal", "cusum_recal", "drift_recal"):
        require_calibration(env, kind)
    if "config" in kw:
        if len(kw) > 1:
            raise ValueError(f"{kind}: pass either config= (hand-set parameters) or fitting options, not both.")
        cfg = kw["config"]
        want = _CONFIG_TYPES[kind]
        if not isinstance(cfg, want):
            raise TypeError(f"{kind}: config must be a {want.__name__}, got {type(cfg).__name__}.")
        if cfg.menu_size != menu_size:
            raise ValueError(f"{kind}: this config is for a menu of {cfg.menu_size} entries, but the env's menu has "
                             f"{menu_size}: it would name other configurations; fit one for this env.")
        if kind == "cusum_recal":
            return CusumRecalAgent(cfg)
        if kind == "drift_recal":
            return DriftRecalAgent(cfg)
        if kind == "certainty_equivalent":
            return CertaintyEquivalentAgent.from_env(env, cfg, name=name, model_error=_model_error(arg))
        if kind == "periodic_recal" and (len(cfg.ladder) != 1 or cfg.recalibrate_every < 1):
            raise ValueError("periodic_recal: config must have a one-entry ladder and recalibrate_every >= 1 "
                             "(make it with periodic_recalibration(entry, period, menu_size).config).")
        return ThresholdAgent(cfg, name=kind)
    source = kw.pop("source", env)
    if kind == "periodic_recal":
        return fit_periodic(source, **kw)
    if kind == "cusum_recal":
        return CusumRecalAgent.fit(source, **kw)
    if kind == "drift_recal":
        return fit_drift(source, **kw)
    if kind == "certainty_equivalent":
        error = _model_error(arg)
        fitted = fit_certainty_equivalent(source, **kw, name=name, model_error=error)
        # acts with env's own table (fitted on source), or the spec's wrong model of it
        agent = CertaintyEquivalentAgent.from_env(env, fitted.config, name=name, model_error=error)
        agent.fit_score = fitted.fit_score
        return agent
    return ThresholdAgent.fit(source, **kw)


__all__ = [
    "BASELINE_NAMES",
    "FITTED_BASELINES",
    "CertaintyEquivalentAgent",
    "CertaintyEquivalentConfig",
    "ClairvoyantAgent",
    "CusumRecalAgent",
    "CusumRecalConfig",
    "DecisionTreeAgent",
    "DriftRecalAgent",
    "DriftRecalConfig",
    "FixedAgent",
    "FixedEntryScores",
    "ModelError",
    "OracleAgent",
    "PatchOracleAgent",
    "PerPatchAgent",
    "Policy",
    "RandomAgent",
    "SupportsPredict",
    "ThresholdAgent",
    "ThresholdConfig",
    "best_fixed_entry",
    "candidate_ladders",
    "episode_returns",
    "fit_certainty_equivalent",
    "fitted_parameters",
    "from_fitted_parameters",
    "fit_drift",
    "fit_periodic",
    "fixed_entry_scores",
    "generate_dataset",
    "ladder_for",
    "load_dataset",
    "make_baseline",
    "make_env",
    "make_patch_baseline",
    "patch_fixed_entry_scores",
    "observation_feature_names",
    "oracle_ladder",
    "periodic_recalibration",
    "require_calibration",
    "running_entry",
    "fit_reference_tree",
    "check_baseline_name",
]
