"""``train(config, run_dir)``: a reproducible, resumable training run in one folder.

The run folder holds: ``config.yaml`` (resolved), ``run.json`` (env id, algo, seed, command,
package and library versions, git revision), ``tb/`` (tensorboard events: SB3's ``rollout/``,
``train/`` and the project's ``qec/`` scalars), ``checkpoints/``, ``model.zip`` (final),
``best_model.zip`` and ``evaluations.jsonl`` (periodic validation), ``vecnormalize.pkl``.
Ctrl-C saves a checkpoint; ``resume=True`` continues from the newest one, with the same
tensorboard run and a monotone step axis, until ``total_timesteps``.

Example (a tiny run; real ones use the packaged hyperparameters)::

    from qec_gym.training import resolve_config, train
    cfg = resolve_config("qec_gym/SurfaceSwitch-v1", "ppo", overrides={"n_timesteps": 2048})
    train(cfg, "runs/ppo-surface")
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
from pathlib import Path

import yaml

from qec_gym.training.callbacks import QECEvalCallback, QECMetricsCallback, RolloutTracker
from qec_gym.training.config import TrainConfig, algo_class, parse_schedule

_CHECKPOINT = re.compile(r"model_(\d+)_steps\.zip$")


def make_vec_env(config: TrainConfig, *, seed: int):
    """The training VecEnv (Monitor-wrapped, optionally VecNormalize-d)."""
    import gymnasium as gym
    from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    import qec_gym  # noqa: F401

    cls = SubprocVecEnv if config.vec_env == "subproc" and config.n_envs > 1 else DummyVecEnv
    venv = sb3_make_vec_env(
        lambda: gym.make(config.env_id, **config.env_kwargs), n_envs=config.n_envs, seed=seed, vec_env_cls=cls
    )
    return venv


def _wrap_normalize(config: TrainConfig, venv, stats_path: Path | None):
    from stable_baselines3.common.vec_env import VecNormalize

    if not config.normalize:
        return venv
    if stats_path is not None and stats_path.exists():
        vn = VecNormalize.load(str(stats_path), venv)
        vn.training = True
        return vn
    return VecNormalize(venv, norm_obs=True, norm_reward=False)


def latest_checkpoint(run_dir: str | Path) -> tuple[Path, int] | None:
    """The newest checkpoint of a run and its step count (None if there is none)."""
    found = []
    for p in (Path(run_dir) / "checkpoints").glob("model_*_steps.zip"):
        m = _CHECKPOINT.search(p.name)
        if m:
            found.append((int(m.group(1)), p))
    if not found:
        return None
    steps, path = max(found)
    return path, steps


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress_bar: bool = False,
    callbacks=(),
    prepare_model=None,
):
    """Train ``config`` into ``run_dir``; returns the model.

    Args:
        config: The resolved run (see `resolve_config`).
        run_dir: Output folder (created).
        resume: Continue from the newest checkpoint in ``run_dir`` (the config must match).
        progress_bar: Show SB3's progress bar (rich/tqdm).
        callbacks: Extra SB3 callbacks.
        prepare_model: Called as ``prepare_model(model, venv)`` on a fresh model before learning
            (not on resume), e.g. to pre-train it (`qec_gym.training.hybrid`).

    Raises:
        ValueError: ``run_dir`` holds a run of another config (without ``resume``: any run).
        KeyboardInterrupt: after saving a checkpoint, so the caller can report it.
    """
    import gymnasium as gym
    from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback

    import torch

    # torch's default intra-op threading fights the env and SB3's Python loop on small MLPs:
    # measured 130 vs 2,523 PPO steps/s on 2 cores (qec_gym.bench). One thread unless asked.
    torch.set_num_threads(config.torch_threads)
    run = Path(run_dir)
    cls = algo_class(config.algo)
    ckpt = latest_checkpoint(run) if resume else None
    if (run / "run.json").exists():
        saved = yaml.safe_load((run / "config.yaml").read_text())
        if not resume:
            raise ValueError(f"{run} already holds a run: pass resume=True (--resume) or choose another folder.")
        if saved != _plain(config.to_dict()):
            raise ValueError(f"{run} holds a run of another config; resume needs the same config.")
    run.mkdir(parents=True, exist_ok=True)
    (run / "checkpoints").mkdir(exist_ok=True)
    (run / "config.yaml").write_text(yaml.safe_dump(_plain(config.to_dict()), sort_keys=True))
    if not (run / "run.json").exists():
        (run / "run.json").write_text(json.dumps(_run_metadata(config), indent=1))

    venv = make_vec_env(config, seed=config.seed + (ckpt[1] if ckpt else 0))
    vn_path = None if ckpt is None else ckpt[0].with_name(f"model_vecnormalize_{ckpt[1]}_steps.pkl")
    venv = _wrap_normalize(config, venv, vn_path)
    hp = {k: parse_schedule(v) for k, v in config.hyperparams.items()}
    if ckpt is None:
        model = cls(config.policy, venv, seed=config.seed, tensorboard_log=str(run / "tb"), verbose=0, **hp)
        done_steps = 0
        if prepare_model is not None:
            prepare_model(model, venv)
    else:
        model = cls.load(ckpt[0], env=venv, device="cpu", tensorboard_log=str(run / "tb"))
        done_steps = model.num_timesteps
        replay = ckpt[0].with_name(f"model_replay_buffer_{ckpt[1]}_steps.pkl")
        if replay.exists() and hasattr(model, "load_replay_buffer"):
            model.load_replay_buffer(str(replay))

    n_actions = venv.action_space.n
    eval_env_kwargs = {**config.env_kwargs, "scenarios": "train"}
    cbs = [
        QECMetricsCallback(n_actions),
        CheckpointCallback(
            save_freq=max(1, config.checkpoint_freq // config.n_envs), save_path=str(run / "checkpoints"),
            name_prefix="model", save_vecnormalize=True, save_replay_buffer=hasattr(model, "replay_buffer"),
        ),
    ]
    if config.eval_freq > 0:
        cbs.append(QECEvalCallback(
            lambda: gym.make(config.env_id, **eval_env_kwargs), eval_freq=config.eval_freq,
            episodes=config.eval_episodes, out_dir=run, seed=10_000 + config.seed,
        ))
    tracker = RolloutTracker(done_steps)
    cbs += [tracker, *callbacks]
    remaining = config.total_timesteps - done_steps
    try:
        if remaining > 0:
            model.learn(
                total_timesteps=remaining, callback=CallbackList(cbs), reset_num_timesteps=ckpt is None,
                tb_log_name=config.algo, progress_bar=progress_bar,
            )
    except KeyboardInterrupt:
        # The parameters are those of the last finished update: roll the step counter back to
        # it, so a resumed run collects the lost partial rollout again and ends on the same step.
        model.num_timesteps = tracker.completed
        _save_checkpoint(model, run)
        raise
    finally:
        venv.close()
    model.save(run / "model.zip")
    vn = model.get_vec_normalize_env()
    if vn is not None:
        vn.save(str(run / "vecnormalize.pkl"))
    return model


def _save_checkpoint(model, run: Path) -> None:
    steps = model.num_timesteps
    model.save(run / "checkpoints" / f"model_{steps}_steps.zip")
    vn = model.get_vec_normalize_env()
    if vn is not None:
        vn.save(str(run / "checkpoints" / f"model_vecnormalize_{steps}_steps.pkl"))
    if hasattr(model, "save_replay_buffer") and getattr(model, "replay_buffer", None) is not None:
        model.save_replay_buffer(str(run / "checkpoints" / f"model_replay_buffer_{steps}_steps.pkl"))


def _plain(value):
    """YAML-safe copy (tuples -> lists) so configs compare equal after a round trip."""
    return yaml.safe_load(yaml.safe_dump(json.loads(json.dumps(value, default=list))))


def _run_metadata(config: TrainConfig) -> dict:
    import gymnasium
    import stable_baselines3
    import stim

    import qec_gym

    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rev = "unknown"
    return {
        "env_id": config.env_id,
        "algo": config.algo,
        "seed": config.seed,
        "command": " ".join(sys.argv),
        "qec_gym": qec_gym.__version__,
        "git_revision": rev,
        "python": platform.python_version(),
        "stable_baselines3": stable_baselines3.__version__,
        "gymnasium": gymnasium.__version__,
        "stim": stim.__version__,
    }
