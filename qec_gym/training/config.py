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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HYPERPARAMS_DIR = Path(__file__).parent / "hyperparams"

ALGOS = ("ppo", "a2c", "dqn", "recurrentppo", "maskableppo")
"""Algorithm names (stable-baselines3 and sb3-contrib)."""

# Keys the run itself consumes (not passed to the algorithm's constructor).
RUN_KEYS = ("n_timesteps", "n_envs", "policy", "normalize", "env_kwargs")


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

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"unknown algo {self.algo!r}; choose one of {list(ALGOS)}.")
        if self.total_timesteps <= 0 or self.n_envs <= 0:
            raise ValueError("total_timesteps and n_envs must be > 0.")
        if self.torch_threads < 1:
            raise ValueError(f"torch_threads must be >= 1, got {self.torch_threads}.")
        if self.vec_env not in ("dummy", "subproc", "native"):
            raise ValueError(f"vec_env must be 'dummy', 'subproc' or 'native', got {self.vec_env!r}.")
        if str(self.env_kwargs.get("scenarios", "")).startswith("heldout"):
            raise ValueError("training on held-out scenarios is not allowed: they are for evaluation only.")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for YAML."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


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

    Raises:
        ValueError: unknown algo, or keys that the algorithm does not accept (named).
    """
    import gymnasium as gym

    import qec_gym  # noqa: F401  (registers the ids)

    if env_id not in gym.registry:
        ids = sorted(i for i in gym.registry if i.startswith("qec_gym/"))
        raise ValueError(f"unknown env id {env_id!r}; registered qec_gym ids: {ids}.")
    cls = algo_class(algo)
    params = load_hyperparams(algo, env_id)
    overrides = dict(overrides or {})
    if env_id in overrides and isinstance(overrides[env_id], dict):  # rl-zoo layout
        overrides = {**{k: v for k, v in overrides.items() if k != env_id}, **overrides[env_id]}
    params.update(overrides)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "env", "policy"}
    unknown = sorted(k for k in params if k not in accepted and k not in RUN_KEYS)
    if unknown:
        raise ValueError(
            f"unknown hyperparameter(s) {unknown} for {algo}; it accepts {sorted(accepted)} and the run keys {list(RUN_KEYS)}."
        )
    run = {k: params.pop(k) for k in RUN_KEYS if k in params}
    return TrainConfig(
        env_id=env_id,
        algo=algo,
        total_timesteps=int(run.get("n_timesteps", 100_000)),
        seed=seed,
        n_envs=int(run.get("n_envs", 1)),
        policy=str(run.get("policy", "MlpPolicy")),
        normalize=bool(run.get("normalize", False)),
        hyperparams=params,
        env_kwargs=dict(run.get("env_kwargs", {})),
        **run_settings,
    )


def parse_schedule(value: Any):
    """rl-zoo's ``lin_<x>``: a linear schedule from x to 0; other values pass through."""
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value[4:])
        return lambda progress_remaining: progress_remaining * start
    return value
