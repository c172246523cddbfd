"""Training configuration: rl-zoo-style hyperparameters keyed by env id, plus run settings.

Hyperparameters live in ``qec_gym/training/hyperparams/<algo>.yml`` (one block per env id and a
``default`` block); a user YAML overrides them. Keys that neither the algorithm nor the run
understand are an error that names them.

Example:
    >>> cfg = resolve_config("qec_gym/SurfaceSwitch-v1", "ppo", overrides={"n_timesteps": 1000})
    >>> cfg.total_timesteps, cfg.n_envs, cfg.hyperparams["gamma"]
    (1000, 4, 0.98)
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from qec_gym.validation import Range, check_env_id

HYPERPARAMS_DIR = Path(__file__).parent / "hyperparams"

ALGOS = ("ppo", "a2c", "dqn", "recurrentppo", "maskableppo")
"""Algorithm names (stable-baselines3 and sb3-contrib)."""

# Keys the run itself consumes (not passed to the algorithm's constructor).
RUN_KEYS = ("n_timesteps", "n_envs", "policy", "normalize", "env_kwargs", "warm_start")

# Constructor arguments that `train` sets itself: a user value would clash with its own.
_SET_BY_RUN = {
    "seed": "the run's seed (--seed, resolve_config(seed=...))",
    "tensorboard_log": "the run folder (<out>/tb)",
    "verbose": "the run (progress shows as a bar, metrics in tensorboard)",
    "_init_setup_model": "stable-baselines3 itself",
}


class _Check:
    """One hyperparameter's type and range; ``__call__(key, value)`` returns the normalised value.

    Numbers go through `qec_gym.validation.Range` (numeric strings such as YAML's ``1e4`` are
    converted; integers accept integral floats).
    """

    def __init__(self, kind: str, low: float | None = None, high: float | None = None, *,
                 low_open: bool = False, none: bool = False, schedule: bool = False, meaning: str = ""):
        self.kind = kind
        self.range = Range(kind, low, high, low_open=low_open) if kind in ("int", "float") else None
        self.none, self.schedule, self.meaning = none, schedule, meaning

    def expected(self) -> str:
        if self.range is not None:
            text = self.range.describe() + (" or a linear schedule 'lin_<start>'" if self.schedule else "")
        else:
            text = {"bool": "true or false", "mapping": "a mapping", "str": "a non-empty string"}[self.kind]
        return text + (" or null" if self.none else "")

    def fail(self, key: str, value: Any) -> ValueError:
        meaning = f" ({self.meaning})" if self.meaning else ""
        return ValueError(f"hyperparameter {key}{meaning} must be {self.expected()}, got {value!r}: "
                          f"fix {key} in the --config YAML / overrides.")

    def __call__(self, key: str, value: Any) -> Any:
        if value is None and self.none:
            return None
        if self.schedule and isinstance(value, str) and value.startswith("lin_"):
            self._number(key, value[4:], shown=value)
            return value
        if self.schedule and callable(value):  # a Python schedule: SB3 calls it with progress
            return value
        if self.kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise self.fail(key, value)
            return bool(value)
        if self.kind == "mapping":
            if not isinstance(value, Mapping):
                raise self.fail(key, value)
            return dict(value)
        if self.kind == "str":
            if not isinstance(value, str) or not value:
                raise self.fail(key, value)
            return value
        return self._number(key, value, shown=value)

    def _number(self, key: str, value: Any, *, shown: Any) -> int | float:
        try:
            return self.range.parse(value)
        except ValueError:
            raise self.fail(key, shown) from None


def _train_freq(key: str, value: Any) -> Any:
    """DQN's ``train_freq``: an int >= 1 or ``[n, "step" | "episode"]``."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or value[1] not in ("step", "episode"):
            raise ValueError(f"hyperparameter {key} must be an integer >= 1 or [n, 'step' | 'episode'], got {value!r}: "
                             f"fix {key} in the --config YAML / overrides.")
        return (_Check("int", 1)(key, value[0]), value[1])
    return _Check("int", 1, meaning="update every n steps")(key, value)


def _passthrough(key: str, value: Any) -> Any:
    return value


_UNIT = dict(low=0.0, high=1.0)
HYPERPARAM_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    # run keys
    "n_timesteps": _Check("int", 1, meaning="environment steps to train"),
    "n_envs": _Check("int", 1, meaning="parallel environments"),
    "policy": _Check("str", meaning="an SB3 policy name such as MlpPolicy"),
    "normalize": _Check("bool", meaning="VecNormalize the observations"),
    "env_kwargs": _Check("mapping", meaning="keyword arguments of gymnasium.make"),
    "warm_start": _Check("mapping", none=True, meaning="teacher warm start, qec_gym.training.hybrid.WarmStart"),
    # algorithm constructors (stable-baselines3 / sb3-contrib)
    "learning_rate": _Check("float", 0.0, low_open=True, schedule=True, meaning="optimiser step size"),
    "n_steps": _Check("int", 1, meaning="steps per env per rollout"),
    "batch_size": _Check("int", 1, meaning="minibatch size"),
    "n_epochs": _Check("int", 1, meaning="passes over each rollout"),
    "gamma": _Check("float", **_UNIT, meaning="discount factor"),
    "gae_lambda": _Check("float", **_UNIT, meaning="GAE lambda"),
    "clip_range": _Check("float", 0.0, low_open=True, schedule=True, meaning="PPO clip range"),
    "clip_range_vf": _Check("float", 0.0, low_open=True, schedule=True, none=True, meaning="value clip range"),
    "normalize_advantage": _Check("bool"),
    "ent_coef": _Check("float", 0.0, meaning="entropy coefficient"),
    "vf_coef": _Check("float", 0.0, meaning="value-loss coefficient"),
    "max_grad_norm": _Check("float", 0.0, low_open=True, meaning="gradient clipping norm"),
    "use_sde": _Check("bool"),
    "sde_sample_freq": _Check("int", -1),
    "target_kl": _Check("float", 0.0, low_open=True, none=True, meaning="early-stopping KL"),
    "stats_window_size": _Check("int", 1),
    "policy_kwargs": _Check("mapping", none=True, meaning="e.g. {net_arch: [64, 64]}"),
    "device": _Check("str", meaning="'cpu', 'cuda' or 'auto'"),
    "rms_prop_eps": _Check("float", 0.0, low_open=True),
    "use_rms_prop": _Check("bool"),
    "buffer_size": _Check("int", 1, meaning="replay buffer transitions"),
    "learning_starts": _Check("int", 0),
    "tau": _Check("float", **_UNIT, meaning="soft-update coefficient"),
    "train_freq": _train_freq,
    "gradient_steps": _Check("int", -1),
    "optimize_memory_usage": _Check("bool"),
    "target_update_interval": _Check("int", 1),
    "exploration_fraction": _Check("float", **_UNIT),
    "exploration_initial_eps": _Check("float", **_UNIT),
    "exploration_final_eps": _Check("float", **_UNIT),
    # Python objects (classes, their kwargs): only settable from Python, passed as they are
    "rollout_buffer_class": _passthrough,
    "rollout_buffer_kwargs": _Check("mapping", none=True),
    "replay_buffer_class": _passthrough,
    "replay_buffer_kwargs": _Check("mapping", none=True),
}
"""Type and range of every key `resolve_config` accepts (run keys and constructor arguments)."""


def validate_hyperparams(algo: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with every value type- and range-checked and normalised (``"1e4"`` -> 10000).

    Args:
        algo: One of `ALGOS` (cross-key rules depend on it).
        params: Hyperparameters and/or run keys.

    Raises:
        ValueError: a value of the wrong type or out of range, naming the key, the expected
            values and the fix; a key the run sets itself (``seed``, ``verbose``, ...).

    Example:
        >>> validate_hyperparams("ppo", {"n_timesteps": "1e4", "gamma": 0.99})
        {'n_timesteps': 10000, 'gamma': 0.99}
        >>> validate_hyperparams("ppo", {"gamma": 1.5})
        Traceback (most recent call last):
        ...
        ValueError: hyperparameter gamma (discount factor) must be a number in [0, 1], got 1.5: fix gamma in the --config YAML / overrides.
    """
    out = {}
    for key, value in params.items():
        if key in _SET_BY_RUN:
            raise ValueError(f"hyperparameter {key} is set by {_SET_BY_RUN[key]}: remove it from the config.")
        check = HYPERPARAM_CHECKS.get(key)
        out[key] = value if check is None else check(key, value)
    if algo in ("ppo", "recurrentppo", "maskableppo") and out.get("batch_size") == 1:
        raise ValueError("hyperparameter batch_size must be >= 2 for PPO (advantages are normalised over a "
                         "minibatch): fix batch_size in the --config YAML / overrides.")
    return out


@dataclass(frozen=True)
class TrainConfig:
    """A resolved training run.

    Args:
        env_id: Registered environment id.
        algo: One of `ALGOS`.
        total_timesteps: Environment steps to train for.
        seed: Seed of the model, the envs and the evaluation.
        n_envs: Parallel environments (``SubprocVecEnv`` when > 1 and ``vec_env="subproc"``).
        policy: SB3 policy name.
        normalize: Wrap the envs in ``VecNormalize`` (observations only).
        hyperparams: Constructor keyword arguments of the algorithm.
        env_kwargs: Keyword arguments of ``gymnasium.make`` (must not select held-out scenarios).
        eval_freq: Evaluate every this many steps (0: never).
        eval_episodes: Episodes per evaluation (validation: training scenarios, fresh seeds).
        checkpoint_freq: Save a checkpoint every this many steps.
        vec_env: ``"dummy"``, ``"subproc"`` or ``"native"`` (one batched `QECSwitchVectorEnv`, table backend).
        torch_threads: Threads torch may use (1 is fastest for these small networks).
        warm_start: Settings of a teacher warm start (`qec_gym.training.hybrid.WarmStart` fields,
            e.g. ``{"teacher": "threshold"}``) run before learning; None: none.
    """

    env_id: str
    algo: str
    total_timesteps: int
    seed: int = 0
    n_envs: int = 1
    policy: str = "MlpPolicy"
    normalize: bool = False
    hyperparams: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    eval_freq: int = 20_000
    eval_episodes: int = 5
    checkpoint_freq: int = 50_000
    vec_env: str = "dummy"
    torch_threads: int = 1
    warm_start: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"unknown algo {self.algo!r}; choose one of {list(ALGOS)}.")
        for name, low in (("total_timesteps", 1), ("n_envs", 1), ("seed", 0), ("eval_freq", 0),
                          ("eval_episodes", 1), ("checkpoint_freq", 1), ("torch_threads", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
        object.__setattr__(self, "hyperparams", validate_hyperparams(self.algo, self.hyperparams))
        if self.algo in ("ppo", "recurrentppo", "maskableppo"):
            rollout = self.hyperparams.get("n_steps", 2) * self.n_envs
            if rollout < 2:
                raise ValueError(f"a PPO rollout needs n_steps * n_envs >= 2 transitions, got {rollout}: "
                                 "raise n_steps or n_envs.")
        if self.vec_env not in ("dummy", "subproc", "native"):
            raise ValueError(f"vec_env must be 'dummy', 'subproc' or 'native', got {self.vec_env!r}.")
        if not isinstance(self.env_kwargs, dict):
            raise TypeError(f"env_kwargs must be a mapping of gymnasium.make arguments, got {self.env_kwargs!r}.")
        from qec_gym.envs import MULTI_PATCH_ENV_IDS

        if self.env_id in MULTI_PATCH_ENV_IDS:
            # Its MultiDiscrete per-patch actions and per-patch info need their own metrics,
            # validation and resume replay, which the training loop does not have yet.
            raise ValueError(f"{self.env_id} (many patches, MultiDiscrete actions) is not trainable with `qec-gym "
                             "train` yet: train a single-patch env (qec_gym.envs.ENV_IDS) and run it per patch, or "
                             "drive the many-patch env with SB3 directly (PPO supports MultiDiscrete).")
        check_training_scenarios(self.env_id, self.env_kwargs.get("scenarios", "train"),
                                 pool=self.env_kwargs.get("scenario_pool"))
        if self.warm_start is not None:
            from qec_gym.training.hybrid import WarmStart

            WarmStart.from_mapping(self.warm_start)
            if self.algo not in ("ppo", "a2c", "maskableppo"):
                raise ValueError(f"warm_start clones a teacher into a feed-forward actor-critic: use ppo, a2c or "
                                 f"maskableppo, not {self.algo}; or drop warm_start.")
            object.__setattr__(self, "warm_start", dict(self.warm_start))

    def to_dict(self) -> dict[str, Any]:
        """Plain data for YAML (``warm_start`` only when set, so runs from before it resume)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__
                if not (k == "warm_start" and self.warm_start is None)}


def check_training_scenarios(env_id: str, scenarios: Any, *, purpose: str = "training",
                             pool: Any = None) -> tuple[str, ...]:
    """The names of ``scenarios`` for ``env_id``; held-out ones refused (every naming form).

    Training and tuning both call this (via `TrainConfig`), so a held-out scenario cannot reach
    them as a string, a list (e.g. from a YAML file), a `Scenario` object or an overrides dict.
    ``pool`` (default: the env's, `pool_for_env`) is what ``"train"`` expands over and what the
    refusal suggests.

    Raises:
        ValueError: a held-out or unknown scenario, or an env id that is unregistered, retired or not a
            qec_gym env (`qec_gym.noise.scenarios.registry_for_env`).

    Example:
        >>> check_training_scenarios("qec_gym/SurfaceSwitch-v1", ["calm", "bursts"])
        ('calm', 'bursts')
    """
    from qec_gym.noise.scenarios import pool_for_env, registry_for_env, resolve_scenarios

    pool = pool_for_env(env_id) if pool is None else pool
    return resolve_scenarios(scenarios, registry=registry_for_env(env_id), pool=pool, allow_heldout=False,
                             purpose=purpose)


def algo_class(algo: str):
    """The stable-baselines3 / sb3-contrib class of ``algo`` (imported lazily)."""
    if algo not in ALGOS:
        raise ValueError(f"unknown algo {algo!r}; choose one of {list(ALGOS)}.")
    try:
        if algo in ("recurrentppo", "maskableppo"):
            import sb3_contrib

            return {"recurrentppo": sb3_contrib.RecurrentPPO, "maskableppo": sb3_contrib.MaskablePPO}[algo]
        import stable_baselines3 as sb3

        return {"ppo": sb3.PPO, "a2c": sb3.A2C, "dqn": sb3.DQN}[algo]
    except ImportError as e:  # pragma: no cover - only without the extra
        raise ImportError("training needs the rl extra: pip install 'qec-gym[rl]'") from e


def load_hyperparams(algo: str, env_id: str) -> dict[str, Any]:
    """The packaged hyperparameters of ``algo`` for ``env_id`` (falling back to ``default``)."""
    path = HYPERPARAMS_DIR / f"{algo}.yml"
    if not path.exists():
        raise ValueError(f"no hyperparameters for algo {algo!r} ({path} is missing); choose one of {list(ALGOS)}.")
    table = yaml.safe_load(path.read_text()) or {}
    return dict(table.get(env_id, table.get("default", {})))


def read_user_config(path: str | Path) -> dict[str, Any]:
    """A user YAML of overrides (a flat mapping, or rl-zoo style keyed by env id).

    Raises:
        FileNotFoundError: missing file.
        ValueError: not a mapping, or YAML syntax errors (with the file name).
    """
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"{p}: not valid YAML ({e}).") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a mapping of hyperparameters, got {type(data).__name__}.")
    return data


def resolve_config(
    env_id: str,
    algo: str,
    *,
    overrides: dict[str, Any] | None = None,
    seed: int = 0,
    **run_settings: Any,
) -> TrainConfig:
    """Packaged hyperparameters for (algo, env), then ``overrides``, validated into a `TrainConfig`.

    Overrides replace packaged keys, except ``warm_start``, which is merged key by key (a config
    that sets only ``warm_start: {bc_steps: 1000}`` keeps the packaged teacher and
    ``freeze_normalization``); ``warm_start: null`` drops the packaged warm start.

    Raises:
        ValueError: unknown algo, or keys that the algorithm does not accept (named).
    """
    check_env_id(env_id)
    cls = algo_class(algo)
    params = load_hyperparams(algo, env_id)
    overrides = dict(overrides or {})
    if env_id in overrides and isinstance(overrides[env_id], dict):  # rl-zoo layout
        overrides = {**{k: v for k, v in overrides.items() if k != env_id}, **overrides[env_id]}
    packaged_ws, new_ws = params.get("warm_start"), overrides.get("warm_start")
    if isinstance(packaged_ws, dict) and isinstance(new_ws, dict):
        overrides["warm_start"] = {**packaged_ws, **new_ws}
    params.update(overrides)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "env", "policy"}
    unknown = sorted(k for k in params if k not in accepted and k not in RUN_KEYS)
    if unknown:
        raise ValueError(
            f"unknown hyperparameter(s) {unknown} for {algo}; it accepts {sorted(accepted)} and the run keys {list(RUN_KEYS)}."
        )
    params = validate_hyperparams(algo, params)
    run = {k: params.pop(k) for k in RUN_KEYS if k in params}
    policy = run.get("policy", "MlpPolicy")
    aliases = getattr(cls, "policy_aliases", {})
    if aliases and policy not in aliases:
        raise ValueError(f"hyperparameter policy: {algo} has no policy {policy!r}; choose one of {sorted(aliases)}.")
    return TrainConfig(
        env_id=env_id,
        algo=algo,
        total_timesteps=run.get("n_timesteps", 100_000),
        seed=seed,
        n_envs=run.get("n_envs", 1),
        policy=policy,
        normalize=run.get("normalize", False),
        hyperparams=params,
        env_kwargs=dict(run.get("env_kwargs", {})),
        **({"warm_start": run["warm_start"]} if run.get("warm_start") is not None else {}),
        **run_settings,
    )


def parse_schedule(value: Any):
    """rl-zoo's ``lin_<x>``: a linear schedule from x to 0; other values pass through."""
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value[4:])
        return lambda progress_remaining: progress_remaining * start
    return value
