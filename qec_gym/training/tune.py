"""Hyperparameter tuning with optuna on the validation split only (rl-baselines3-zoo style).

Each trial samples PPO's ``learning_rate``, ``n_steps``, ``ent_coef`` and ``gamma`` (TPE, seeded),
trains a run on the training scenarios into ``<out>/trial<k>`` (`qec_gym.training.train`), and is
scored by the mean return of the final model on validation episodes: the training scenarios with
the validation seeds of `QECEvalCallback` (`validation_seed`), never a held-out scenario
(`TrainConfig` refuses them in every naming form, `check_training_scenarios`). The study lives in
``<out>/study.db`` (optuna's SQLite storage): re-running the same call continues it until
``trials`` trials are complete. Trial folders that have since been evaluated on held-out
scenarios stop the study (`qec_gym.training.splits.require_unseen_heldout`).

The search space (log-uniform where the scale matters) follows rl-zoo's ``sample_ppo_params``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

STUDY_NAME = "qec-gym-tune"
N_STEPS = (64, 128, 256, 512, 1024, 2048)
GAMMAS = (0.9, 0.95, 0.98, 0.99, 0.995, 0.999)


@dataclass(frozen=True)
class TuneResult:
    """A finished study.

    Attributes:
        best_params: Sampled hyperparameters of the best trial.
        best_value: Its validation mean return.
        trials: Complete trials in the study.
        storage: optuna storage URL (``sqlite:///<out>/study.db``).
        env_id: The tuned env.
    """

    best_params: dict[str, Any]
    best_value: float
    trials: int
    storage: str
    env_id: str

    def yaml(self) -> str:
        """The best parameters as an rl-zoo style YAML snippet (``qec-gym train --config`` reads it)."""
        import yaml

        return yaml.safe_dump({self.env_id: dict(self.best_params)}, sort_keys=True)


def sample_ppo_params(trial) -> dict[str, Any]:
    """PPO's learning rate, rollout length, entropy coefficient and discount for one trial."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True),
        "n_steps": trial.suggest_categorical("n_steps", list(N_STEPS)),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 1e-1, log=True),
        "gamma": trial.suggest_categorical("gamma", list(GAMMAS)),
    }


def validation_return(model, config) -> float:
    """Mean return of ``model`` over ``config.eval_episodes`` validation episodes (deterministic)."""
    import gymnasium as gym

    from qec_gym.training.policy import TrainedPolicy, run_episode
    from qec_gym.training.train import validation_env_kwargs, validation_seed

    env = gym.make(config.env_id, **validation_env_kwargs(config))
    try:
        policy = TrainedPolicy(model, vec_normalize=model.get_vec_normalize_env())
        first = validation_seed(config)
        return float(np.mean([run_episode(env, policy, seed=first + k)[0] for k in range(config.eval_episodes)]))
    finally:
        env.close()


def tune(
    env_id: str,
    algo: str = "ppo",
    *,
    trials: int,
    timesteps: int,
    out: str | Path,
    overrides: Mapping[str, Any] | None = None,
    seed: int = 0,
    eval_episodes: int = 5,
) -> TuneResult:
    """Run (or continue) the study in ``out`` until ``trials`` trials are complete.

    Args:
        env_id: Registered env id.
        algo: ``"ppo"`` (the sampled keys are PPO's).
        trials: Complete trials wanted in the study.
        timesteps: Training steps per trial.
        out: Study folder (``study.db``, ``trial<k>/`` run folders).
        overrides: Fixed hyperparameters / run keys (as ``qec-gym train --config``), applied
            under the sampled ones; ``env_kwargs`` may not name held-out scenarios.
        seed: Sampler seed and every trial's training seed.
        eval_episodes: Validation episodes per trial score.

    Raises:
        ValueError: another algo, bad counts, a held-out scenario in ``overrides``, or a trial
            folder that has been evaluated on held-out scenarios.
    """
    import optuna

    from qec_gym.training.config import resolve_config
    from qec_gym.training.splits import record_splits, require_unseen_heldout
    from qec_gym.training.train import train

    if algo != "ppo":
        raise ValueError(f"tune samples PPO hyperparameters; got algo {algo!r}: use algo='ppo'.")
    for name, value in (("trials", trials), ("timesteps", timesteps), ("eval_episodes", eval_episodes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    base = dict(overrides or {})
    if env_id in base and isinstance(base[env_id], dict):  # rl-zoo layout, as resolve_config reads it
        base = {**{k: v for k, v in base.items() if k != env_id}, **base[env_id]}
    base["n_timesteps"] = timesteps

    fixed = resolve_config(env_id, algo, overrides=base, seed=seed)  # bad overrides fail before any study

    def configure(params: Mapping[str, Any]):
        # a minibatch no larger than the rollout (SB3 would otherwise train on one truncated batch)
        batch = min(int(fixed.hyperparams.get("batch_size", 64)), params["n_steps"] * fixed.n_envs)
        over = {**base, **params, "batch_size": max(2, batch)}
        return resolve_config(env_id, algo, overrides=over, seed=seed, eval_freq=0, eval_episodes=eval_episodes)

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(p for p in folder.glob("trial*") if (p / "splits.json").exists())
    require_unseen_heldout(existing, purpose="tuning")
    storage = f"sqlite:///{folder.resolve() / 'study.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=STUDY_NAME, storage=storage, load_if_exists=True, direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))

    def objective(trial) -> float:
        config = configure(sample_ppo_params(trial))
        run = folder / f"trial{trial.number}"
        model = train(config, run)
        record_splits(run, ["validation"])
        value = validation_return(model, config)
        log.info("trial %d: validation return %.3f with %s", trial.number, value, trial.params,
                 extra={"progress": ("trials", _complete(study) + 1, trials)})
        return value

    missing = trials - _complete(study)
    if missing > 0:
        study.optimize(objective, n_trials=missing)
    return TuneResult(best_params=dict(study.best_params), best_value=float(study.best_value),
                      trials=_complete(study), storage=storage, env_id=env_id)


def _complete(study) -> int:
    import optuna

    return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
