import json

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from qec_gym.cli import main
from qec_gym.training import latest_checkpoint, load_run, resolve_config, run_episode, train

TINY = {"n_timesteps": 512, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 2, "env_kwargs": {"max_steps": 50}}


def _scalars(run_dir):
    tb = next((run_dir / "tb").iterdir())
    acc = EventAccumulator(str(tb))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_tiny_ppo_run_writes_folder_and_qec_scalars(tmp_path):
    cfg = resolve_config("qec_gym/SurfaceSwitch-v1", "ppo", overrides=TINY, eval_freq=256, eval_episodes=1)
    train(cfg, tmp_path / "run")
    run = tmp_path / "run"
    for name in ("config.yaml", "run.json", "model.zip", "best_model.zip", "evaluations.jsonl", "vecnormalize.pkl"):
        assert (run / name).exists(), name
    meta = json.loads((run / "run.json").read_text())
    assert meta["env_id"] == "qec_gym/SurfaceSwitch-v1" and meta["algo"] == "ppo"
    scalars = _scalars(run)
    for tag in ("qec/log10_p_round", "qec/qubits", "qec/oracle_agreement", "qec/eval_regret", "rollout/ep_rew_mean"):
        assert tag in scalars, sorted(scalars)
    assert all(np.isfinite(v) for _, v in scalars["qec/log10_p_round"])
    policy = load_run(run, env=gym.make("qec_gym/SurfaceSwitch-v1", max_steps=20))
    ret, infos = run_episode(gym.make("qec_gym/SurfaceSwitch-v1", max_steps=20), policy, seed=0)
    assert np.isfinite(ret) and len(infos) == 21


class _Interrupt(BaseCallback):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def _on_step(self):
        if self.num_timesteps >= self.at:
            raise KeyboardInterrupt
        return True


def test_interrupt_and_resume_reach_the_same_timesteps(tmp_path):
    cfg = resolve_config("qec_gym/SurfaceSwitch-v1", "ppo", overrides=TINY, eval_freq=0)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, run, callbacks=[_Interrupt(300)])
    path, steps = latest_checkpoint(run)
    assert 0 < steps < 512
    model = train(cfg, run, resume=True)
    assert model.num_timesteps == 512
    steps_axis = [s for s, _ in _scalars(run)["qec/qubits"]]
    assert steps_axis == sorted(steps_axis) and steps_axis[-1] == 512
    assert len(list((run / "tb").iterdir())) == 1  # one tensorboard run, continued


@pytest.mark.parametrize("algo", ["a2c", "dqn", "recurrentppo", "maskableppo"])
def test_other_algorithms_train(tmp_path, algo):
    over = {"n_timesteps": 128, "env_kwargs": {"max_steps": 30}}
    if algo == "dqn":
        over.update(learning_starts=32, buffer_size=1000)
    else:
        over.update(n_envs=2, n_steps=32)
        if algo != "a2c":
            over.update(batch_size=32, n_epochs=1)
    cfg = resolve_config("qec_gym/SurfaceSwitch-v1", algo, overrides=over, eval_freq=0)
    train(cfg, tmp_path / algo)
    env = gym.make("qec_gym/SurfaceSwitch-v1", max_steps=10)
    ret, _ = run_episode(env, load_run(tmp_path / algo, env=env), seed=1)
    assert np.isfinite(ret)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(env_id="qec_gym/NoSuch-v0", algo="ppo"), "unknown env id"),
        (dict(env_id="qec_gym/SurfaceSwitch-v1", algo="sac"), "unknown algo"),
        (dict(env_id="qec_gym/SurfaceSwitch-v1", algo="ppo", overrides={"n_stepz": 3, "gama": 1}), r"\['gama', 'n_stepz'\]"),
        (dict(env_id="qec_gym/SurfaceSwitch-v1", algo="ppo", overrides={"env_kwargs": {"scenarios": "heldout"}}), "held-out"),
    ],
)
def test_bad_configs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        resolve_config(kwargs.pop("env_id"), kwargs.pop("algo"), **kwargs)


def test_loading_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no run folder"):
        load_run(tmp_path / "missing")
    cfg = resolve_config("qec_gym/SurfaceSwitch-v1", "ppo", overrides=TINY, eval_freq=0)
    train(cfg, tmp_path / "run")
    with pytest.raises(ValueError, match="another environment"):
        load_run(tmp_path / "run", env=gym.make("qec_gym/PhotonicSwitch-v1"))
    (tmp_path / "run" / "model.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="corrupt"):
        load_run(tmp_path / "run")
    with pytest.raises(ValueError, match="already holds a run"):
        train(cfg, tmp_path / "run")


def test_cli_train_and_bad_yaml(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("n_timesteps: 64\nlearning_rat: 0.1\n")
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert "learning_rat" in capsys.readouterr().err


def test_recurrent_ppo_runs_on_the_raw_syndrome_variant(tmp_path):
    over = {"n_timesteps": 128, "n_steps": 32, "batch_size": 32, "n_epochs": 1, "env_kwargs": {"max_steps": 20}}
    cfg = resolve_config("qec_gym/SurfaceSwitchRaw-v1", "recurrentppo", overrides=over, eval_freq=0)
    assert cfg.policy == "MultiInputLstmPolicy"
    train(cfg, tmp_path / "raw")
    env = gym.make("qec_gym/SurfaceSwitchRaw-v1", max_steps=8)
    ret, infos = run_episode(env, load_run(tmp_path / "raw", env=env), seed=2)
    assert np.isfinite(ret) and len(infos) == 9
