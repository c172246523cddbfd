"""``train(config, run_dir)``: a reproducible, resumable training run in one folder.

The run folder holds: ``config.yaml`` (resolved), ``run.json`` (env id, algo, seed, command,
package and library versions, git revision), ``tb/`` (tensorboard events: SB3's ``rollout/``,
``train/`` and the project's ``qec/`` scalars), ``checkpoints/``, ``model.zip`` (final),
``best_model.zip`` and ``evaluations.jsonl`` (periodic validation), ``vecnormalize.pkl``, and
``splits.json``: the scenario splits the run has seen (`qec_gym.training.splits`; ``train``, plus
``validation`` when it evaluates periodically; the harness adds ``heldout`` entries).

Interrupting and resuming. Checkpoints are taken at update boundaries with every state the next
step depends on (`qec_gym.training.callbacks.ResumableCheckpoints`: RNGs, env states rebuilt by
replaying the episode so far, SB3's last observations, VecNormalize statistics, pending logger
values, callback states), every ``checkpoint_freq`` steps and at the end. Ctrl-C (SIGINT) asks
for a stop: training continues to the end of the current rollout and update, writes a
checkpoint there and raises `TrainingInterrupted`; ``resume=True`` then continues, and the
result is bit for bit the uninterrupted run's (parameters, evaluations, tensorboard scalars;
only wall-clock ``time/fps`` differs). A second Ctrl-C aborts at once: the run then resumes from
the newest checkpoint before it, and tensorboard / ``evaluations.jsonl`` rows written after that
checkpoint are repeated by the resumed run (``evaluations.jsonl`` rows are trimmed on resume).

Extending. ``resume=True`` with a larger ``total_timesteps`` continues a finished run. With
constant hyperparameters this equals a run trained that long from the start; rl-zoo
``lin_<x>`` schedules decay over ``total_timesteps``, so an extended run follows the new horizon
from the resume point on and differs from a run planned that long.

A run whose set-up failed, or that stopped before its first checkpoint, left nothing to resume:
its folder can be reused as if empty.

Example (a tiny run; real ones use the packaged hyperparameters)::

    from qec_gym.training import resolve_config, train
    cfg = resolve_config("qec_gym/SurfaceSwitch-v1", "ppo", overrides={"n_timesteps": 2048})
    train(cfg, "runs/ppo-surface")
"""

from __future__ import annotations

import json
import logging
import pickle
import platform
import re
import signal
import sys
import threading
from pathlib import Path

import yaml

from qec_gym.training.callbacks import QECEvalCallback, QECMetricsCallback, ReplayRecorder, ResumableCheckpoints
from qec_gym.training.config import TrainConfig, algo_class, parse_schedule
from qec_gym.training.splits import record_splits

log = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"model_(\d+)_steps\.zip$")


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped by Ctrl-C.

    Attributes:
        checkpoint: The checkpoint to resume from (``None``: the run has none yet).
        steps: Its step count (0 without one).
    """

    def __init__(self, checkpoint: Path | None, steps: int):
        where = f"checkpoint at step {steps}: {checkpoint}" if checkpoint else "no checkpoint was saved"
        super().__init__(f"training interrupted; {where}")
        self.checkpoint = checkpoint
        self.steps = steps


def validation_env_kwargs(config: TrainConfig) -> dict:
    """``gymnasium.make`` arguments of the validation env: the training scenarios (fresh seeds)."""
    return {**config.env_kwargs, "scenarios": "train"}


def validation_seed(config: TrainConfig) -> int:
    """First episode seed of the validation split (episode k uses this + k): apart from the
    harness's episode seeds (0, 1, ...) and, for training seeds well below 10,000, from the
    training envs' (``config.seed`` + env index)."""
    return 10_000 + config.seed


def make_vec_env(config: TrainConfig, *, seed: int):
    """The training VecEnv (Monitor-wrapped, then `ReplayRecorder`-wrapped; not normalised).

    ``vec_env="native"``: a `qec_gym.training.native_vec.NativeVecEnv` (batched numpy) instead.
    """
    import gymnasium as gym
    from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    import qec_gym  # noqa: F401

    if config.vec_env == "native":  # one batched numpy env for all copies (table backend)
        from qec_gym.training.native_vec import NativeVecEnv

        return NativeVecEnv(config.env_id, config.n_envs, seed=seed, env_kwargs=config.env_kwargs)
    subproc = config.vec_env == "subproc" and config.n_envs > 1

    def make():
        if subproc:  # Ctrl-C reaches the whole process group: only the trainer may act on it
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        return gym.make(config.env_id, **config.env_kwargs)

    return sb3_make_vec_env(make, n_envs=config.n_envs, seed=seed, wrapper_class=ReplayRecorder,
                            vec_env_cls=SubprocVecEnv if subproc else DummyVecEnv)


def _wrap_normalize(config: TrainConfig, venv, stats_path: Path | None):
    from stable_baselines3.common.vec_env import VecNormalize

    if not config.normalize:
        return venv
    if stats_path is not None:
        vn = VecNormalize.load(str(stats_path), venv)
        # a warm start that froze the statistics (hybrid.WarmStart.freeze_normalization) keeps them frozen on resume
        vn.training = not (config.warm_start or {}).get("freeze_normalization", False)
        return vn
    return VecNormalize(venv, norm_obs=True, norm_reward=False)


def latest_checkpoint(run_dir: str | Path) -> tuple[Path, int] | None:
    """The newest complete checkpoint of a run (model and state file) and its step count, or None."""
    found = []
    for p in (Path(run_dir) / "checkpoints").glob("model_*_steps.zip"):
        m = _CHECKPOINT.search(p.name)
        if m and _state_path(p.parent, int(m.group(1))).exists():
            found.append((int(m.group(1)), p))
    if not found:
        return None
    steps, path = max(found)
    return path, steps


def _state_path(folder: Path, steps: int) -> Path:
    return folder / f"model_state_{steps}_steps.pkl"


def config_differences(saved: dict, new: dict, prefix: str = "") -> list[str]:
    """``key: old -> new`` for every (nested, dotted) key that differs between two config dicts.

    Example:
        >>> config_differences({"a": 1, "h": {"lr": 0.1}}, {"a": 1, "h": {"lr": 0.2}, "b": 2})
        ['b: (unset) -> 2', 'h.lr: 0.1 -> 0.2']
    """
    out = []
    for key in sorted(set(saved) | set(new)):
        old, cur = saved.get(key, "(unset)"), new.get(key, "(unset)")
        if isinstance(old, dict) and isinstance(cur, dict):
            out += config_differences(old, cur, f"{prefix}{key}.")
        elif old != cur:
            out.append(f"{prefix}{key}: {old} -> {cur}")
    return out


def run_is_complete(config: TrainConfig, run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a finished run of exactly ``config`` (all of its timesteps trained).

    ``model.zip`` alone does not say so: an extension interrupted half way leaves the shorter
    run's model beside the longer config. Finished = the newest checkpoint reached
    ``total_timesteps`` and ``model.zip`` was saved after it.
    """
    run = Path(run_dir)
    ckpt = latest_checkpoint(run)
    if ckpt is None or ckpt[1] < config.total_timesteps or not (run / "model.zip").exists():
        return False
    if (run / "model.zip").stat().st_mtime_ns < ckpt[0].stat().st_mtime_ns:
        return False
    saved = yaml.safe_load((run / "config.yaml").read_text())
    return not config_differences(saved, _plain(config.to_dict()))


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
        resume: Continue from the newest checkpoint in ``run_dir`` (the config must match, except
            ``total_timesteps``, which may grow to extend the run).
        progress_bar: Show SB3's progress bar (rich/tqdm).
        callbacks: Extra SB3 callbacks.
        prepare_model: Called as ``prepare_model(model, venv)`` on a fresh model before learning
            (not on resume), e.g. to pre-train it (`qec_gym.training.hybrid`). A config with
            ``warm_start`` gets `qec_gym.training.hybrid.warm_start` here (its record goes to
            ``run.json["warm_start"]``; the fitted teacher is cached in ``warm_start_teachers.json``
            beside ``run_dir``); it cannot be combined with another ``prepare_model``.

    Raises:
        ValueError: ``run_dir`` holds a run (without ``resume``), or one of another config (the
            message lists each differing key), or more steps than ``total_timesteps``.
        TrainingInterrupted: Ctrl-C; its ``checkpoint`` is where ``resume=True`` continues.
    """
    import gymnasium as gym
    import torch
    from stable_baselines3.common.callbacks import CallbackList

    # torch's default intra-op threading fights the env and SB3's Python loop on small MLPs:
    # measured 130 vs 2,523 PPO steps/s on 2 cores (qec_gym.bench). One thread unless asked.
    torch.set_num_threads(config.torch_threads)
    run = Path(run_dir)
    cls = algo_class(config.algo)
    ckpt = latest_checkpoint(run)
    new_config = _plain(config.to_dict())
    if ckpt is not None or (run / "model.zip").exists():  # a run that got somewhere
        if not resume:
            raise ValueError(f"{run} already holds a run: pass resume=True (--resume) or choose another folder.")
        saved = yaml.safe_load((run / "config.yaml").read_text())
        diff = [d for d in config_differences(saved, new_config) if not d.startswith("total_timesteps:")]
        if diff:
            raise ValueError(f"{run} holds a run of another config ({'; '.join(diff)}); resume needs the same "
                             "config: only total_timesteps (--timesteps) may change, to extend the run.")
    if ckpt is not None and ckpt[1] > config.total_timesteps:
        raise ValueError(f"{run} has trained {ckpt[1]} steps, more than total_timesteps={config.total_timesteps}: "
                         f"pass a total above {ckpt[1]} to extend it.")

    warm_record: dict = {}
    if config.warm_start is not None:
        if prepare_model is not None:
            raise ValueError("a config with warm_start prepares its model itself: drop warm_start or prepare_model.")
        from qec_gym.training.hybrid import warm_start

        # the teacher's fit is shared by the runs beside this one (the seeds of `--seeds`, release_eval)
        prepare_model = warm_start(config, config.warm_start, warm_record,
                                   teacher_cache=run.resolve().parent / "warm_start_teachers.json")
    venv = make_vec_env(config, seed=config.seed)
    if not isinstance(venv.action_space, gym.spaces.Discrete):
        venv.close()  # before the run folder holds anything: the loop's metrics and resume count Discrete actions
        raise ValueError(f"{config.env_id} has a {type(venv.action_space).__name__} action space; `qec-gym train` "
                         "trains envs with Discrete actions (qec_gym.envs.ENV_IDS): use one of those, or drive this "
                         "env with SB3 directly.")
    try:
        model, state = _build_model(config, cls, venv, run, ckpt, prepare_model)
    except BaseException:
        venv.close()
        raise
    venv = model.get_env()
    # Set-up succeeded: from here on the folder holds this run.
    (run / "checkpoints").mkdir(parents=True, exist_ok=True)
    (run / "config.yaml").write_text(yaml.safe_dump(new_config, sort_keys=True))
    if ckpt is None or not (run / "run.json").exists():
        meta = _run_metadata(config)
        if warm_record:
            meta["warm_start"] = warm_record
        (run / "run.json").write_text(json.dumps(meta, indent=1))
    record_splits(run, ["train", "validation"] if config.eval_freq > 0 else ["train"])
    _trim_evaluations(run / "evaluations.jsonl", ckpt[1] if ckpt else 0)

    n_actions = venv.action_space.n
    metrics = QECMetricsCallback(n_actions)
    stateful = {"metrics": metrics}
    cbs = [metrics]
    if config.eval_freq > 0:
        stateful["eval"] = QECEvalCallback(
            lambda: gym.make(config.env_id, **validation_env_kwargs(config)), eval_freq=config.eval_freq,
            episodes=config.eval_episodes, out_dir=run, seed=validation_seed(config),
        )
        cbs.append(stateful["eval"])
    stop = threading.Event()
    checkpoints = ResumableCheckpoints(
        lambda m, steps, st: _save_checkpoint(m, run, steps, st), checkpoint_freq=config.checkpoint_freq,
        stop_requested=stop.is_set, stateful=stateful, restore=state,
    )
    cbs += [*callbacks, checkpoints]  # last: a stop ends the step after every other callback saw it
    remaining = config.total_timesteps - model.num_timesteps
    try:
        with _sigint_requests_stop(stop):
            if remaining > 0:
                model.learn(
                    total_timesteps=remaining, callback=CallbackList(cbs), reset_num_timesteps=ckpt is None,
                    tb_log_name=config.algo, progress_bar=progress_bar,
                )
    except KeyboardInterrupt:  # a second Ctrl-C, or one raised inside learn: the state is mid-step
        newest = latest_checkpoint(run)
        raise TrainingInterrupted(*(newest or (None, 0))) from None
    finally:
        venv.close()
    if checkpoints.stopped_at is not None:
        raise TrainingInterrupted(*checkpoints.stopped_at)
    model.save(run / "model.zip")
    vn = model.get_vec_normalize_env()
    if vn is not None:
        vn.save(str(run / "vecnormalize.pkl"))
    return model


def _build_model(config: TrainConfig, cls, venv, run: Path, ckpt, prepare_model):
    """A fresh model, or the checkpoint's with its envs replayed; returns (model, state or None)."""
    hp = {k: parse_schedule(v) for k, v in config.hyperparams.items()}
    if ckpt is None:
        venv = _wrap_normalize(config, venv, None)
        model = cls(config.policy, venv, seed=config.seed, tensorboard_log=str(run / "tb"), verbose=0, **hp)
        if prepare_model is not None:
            prepare_model(model, venv)
        return model, None
    path, steps = ckpt
    state = pickle.loads(_state_path(path.parent, steps).read_bytes())
    venv = _wrap_normalize(config, venv, path.with_name(f"model_vecnormalize_{steps}_steps.pkl"))
    # force_reset=False: SB3 must not reset the envs, whose state the replay below restores.
    model = cls.load(path, env=venv, device=hp.get("device", "auto"), force_reset=False,
                     tensorboard_log=str(run / "tb"))
    replay = path.with_name(f"model_replay_buffer_{steps}_steps.pkl")
    if replay.exists():
        model.load_replay_buffer(str(replay))
    for i, record in enumerate(state["envs"]):
        (same,) = venv.env_method("replay", record, indices=[i])
        if not same:
            log.warning("env %d did not replay to its checkpointed observation (an env that draws from "
                        "outside its np_random?): the resumed run will differ from an uninterrupted one.", i)
    for name, value in state["model_attrs"].items():
        setattr(model, name, value)
    return model, state


def _save_checkpoint(model, run: Path, steps: int, state: dict) -> Path:
    folder = run / "checkpoints"
    path = folder / f"model_{steps}_steps.zip"
    model.save(path)
    vn = model.get_vec_normalize_env()
    if vn is not None:
        vn.save(str(folder / f"model_vecnormalize_{steps}_steps.pkl"))
    if getattr(model, "replay_buffer", None) is not None:
        model.save_replay_buffer(str(folder / f"model_replay_buffer_{steps}_steps.pkl"))
    # written last and atomically: `latest_checkpoint` only sees checkpoints whose state exists
    tmp = _state_path(folder, steps).with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(state))
    tmp.replace(_state_path(folder, steps))
    return path


class _sigint_requests_stop:
    """While active (main thread only): the first Ctrl-C sets ``stop``; a second one aborts."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.previous = None

    def _handler(self, signum, frame):
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.stop.set()
        log.warning("Ctrl-C: stopping after the current rollout and update to save a resumable checkpoint "
                    "(Ctrl-C again to abort now and lose the steps since the last checkpoint).")

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _trim_evaluations(path: Path, steps: int) -> None:
    """Drop evaluation rows after ``steps`` (written by a session that ended past its last checkpoint)."""
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if line.strip() and json.loads(line)["timesteps"] <= steps]
    if len(kept) != len(lines):
        path.write_text("".join(kept))


def _plain(value):
    """YAML-safe copy (tuples -> lists) so configs compare equal after a round trip."""
    return yaml.safe_load(yaml.safe_dump(json.loads(json.dumps(value, default=list))))


def _run_metadata(config: TrainConfig) -> dict:
    import gymnasium
    import stable_baselines3
    import stim

    import qec_gym

    from qec_gym.provenance import git_revision

    rev = git_revision() or "unknown"
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
