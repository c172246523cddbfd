import dataclasses
import json
import os
import signal

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from qec_gym.cli import main
from qec_gym.noise.scenarios import SCENARIOS
from qec_gym.training import latest_checkpoint, load_run, resolve_config, run_episode, train
from qec_gym.training.train import TrainingInterrupted

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
    """Ctrl-C at step ``at``: a real SIGINT (``hard``: a KeyboardInterrupt raised mid-step)."""

    def __init__(self, at, hard=False):
        super().__init__()
        self.at, self.hard, self.sent = at, hard, False

    def _on_step(self):
        if self.num_timesteps >= self.at and not self.sent:
            self.sent = True
            if self.hard:
                raise KeyboardInterrupt
            os.kill(os.getpid(), signal.SIGINT)
        return True


# constant learning rate: an extended run then equals one planned that long (lin_ schedules do not)
EXACT = {**TINY, "learning_rate": 3e-4}


def _params(model):
    return {k: v.clone() for k, v in model.policy.state_dict().items()}


def _tb_without_wallclock(run):
    return {k: v for k, v in _scalars(run).items() if not k.startswith("time/")}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run = tmp_path_factory.mktemp("straight") / "run"
    cfg = resolve_config("qec_gym/SurfaceSwitch-v1", "ppo", overrides=EXACT, eval_freq=256, eval_episodes=1)
    model = train(cfg, run)
    return cfg, run, _params(model)


def _assert_same_run(run, model, reference):
    ref_cfg, ref_run, ref_params = reference
    params = _params(model)
    assert params.keys() == ref_params.keys()
    assert all(torch.equal(params[k], ref_params[k]) for k in params), "parameters differ"
    assert (run / "evaluations.jsonl").read_text() == (ref_run / "evaluations.jsonl").read_text()
    assert _tb_without_wallclock(run) == _tb_without_wallclock(ref_run)


def test_ctrl_c_then_resume_equals_the_uninterrupted_run(tmp_path, uninterrupted):
    cfg, _, _ = uninterrupted
    run = tmp_path / "run"
    with pytest.raises(TrainingInterrupted) as info:
        train(cfg, run, callbacks=[_Interrupt(200)])  # mid-rollout: stops at the 256-step boundary
    assert info.value.steps == 256 and info.value.checkpoint == latest_checkpoint(run)[0]
    model = train(cfg, run, resume=True)
    assert model.num_timesteps == 512
    _assert_same_run(run, model, uninterrupted)
    assert "train/approx_kl" in _scalars(run)  # every update's train/* scalars, the interrupted one's too
    assert len(list((run / "tb").iterdir())) == 1  # one tensorboard run, continued


def test_hard_abort_resumes_from_the_last_checkpoint(tmp_path, uninterrupted):
    cfg, _, _ = uninterrupted
    cfg = dataclasses.replace(cfg, checkpoint_freq=128)
    run = tmp_path / "run"
    with pytest.raises(TrainingInterrupted) as info:
        train(cfg, run, callbacks=[_Interrupt(300, hard=True)])
    assert info.value.steps == 256  # the newest checkpoint before the abort
    model = train(cfg, run, resume=True)
    assert all(torch.equal(a, b) for a, b in zip(_params(model).values(), uninterrupted[2].values()))
    with pytest.raises(TrainingInterrupted) as info:  # before any checkpoint: none to name
        train(cfg, tmp_path / "early", callbacks=[_Interrupt(10, hard=True)])
    assert info.value.checkpoint is None and info.value.steps == 0
    train(dataclasses.replace(cfg, total_timesteps=128), tmp_path / "early")  # nothing to resume: starts over


def test_extending_a_finished_run_equals_the_longer_run(tmp_path, uninterrupted):
    cfg, _, _ = uninterrupted
    run = tmp_path / "run"
    train(dataclasses.replace(cfg, total_timesteps=256), run)
    model = train(cfg, run, resume=True)  # 256 -> 512
    _assert_same_run(run, model, uninterrupted)
    with pytest.raises(ValueError, match=r"another config \(eval_episodes: 1 -> 2; hyperparams.learning_rate: "
                                         r"0.0003 -> 0.001\)"):
        train(dataclasses.replace(cfg, eval_episodes=2, hyperparams={**cfg.hyperparams, "learning_rate": 1e-3}),
              run, resume=True)
    with pytest.raises(ValueError, match="has trained 512 steps.*above 512"):
        train(dataclasses.replace(cfg, total_timesteps=256), run, resume=True)


def test_a_run_whose_set_up_failed_can_be_retried(tmp_path):
    cfg = resolve_config("qec_gym/SurfaceSwitch-v1", "ppo", overrides={**TINY, "n_timesteps": 128}, eval_freq=0)
    bad = dataclasses.replace(cfg, env_kwargs={**cfg.env_kwargs, "shots": -1})
    with pytest.raises(ValueError, match="shots must be a positive int"):
        train(bad, tmp_path / "run")

    def broken(model, venv):
        raise RuntimeError("pre-training failed")

    with pytest.raises(RuntimeError, match="pre-training failed"):
        train(cfg, tmp_path / "run", prepare_model=broken)
    assert train(cfg, tmp_path / "run").num_timesteps == 128  # neither attempt blocks the folder


def test_cli_interrupt_message_names_the_checkpoint(tmp_path, capsys, monkeypatch):
    import qec_gym.training as training

    def fake_train(cfg, out, **kwargs):
        raise TrainingInterrupted(None, 0)

    monkeypatch.setattr(training, "train", fake_train)
    assert main(["train", "--timesteps", "64", "--out", str(tmp_path / "r")]) == 130
    assert "before any checkpoint was saved: nothing to resume" in capsys.readouterr().err


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
        (dict(env_id="qec_gym/NoSuch-v1", algo="ppo"), "unknown env id"),
        (dict(env_id="qec_gym/SurfaceSwitch-v1", algo="sac"), "unknown algo"),
        (dict(env_id="qec_gym/SurfaceSwitch-v1", algo="ppo", overrides={"n_stepz": 3, "gama": 1}), r"\['gama', 'n_stepz'\]"),
        (dict(env_id="qec_gym/SurfaceSwitch-v1", algo="ppo", overrides={"env_kwargs": {"scenarios": "heldout"}}), "held-out"),
        (dict(env_id="qec_gym/MultiPatchSwitch-v1", algo="ppo"), "not trainable with `qec-gym train` yet"),
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
    with pytest.raises(ValueError, match="trained on qec_gym/SurfaceSwitch-v1, not qec_gym/PhotonicSwitch-v1"):
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


class _PerPatchActions(gym.ActionWrapper):
    """SurfaceSwitch with a MultiDiscrete action (as a user's many-patch env would have)."""

    def __init__(self, env):
        super().__init__(env)
        self.action_space = gym.spaces.MultiDiscrete([env.action_space.n, 2])

    def action(self, action):
        return int(action[0])


def test_an_env_without_discrete_actions_is_refused_before_the_run_folder_is_written(tmp_path):
    env_id = "qec_gym_test/PerPatchActions-v0"
    if env_id not in gym.registry:
        def per_patch(**kw):
            return _PerPatchActions(gym.make("qec_gym/SurfaceSwitch-v1", **kw))

        per_patch.scenario_registry = SCENARIOS  # a wrapper declares the scenarios of the env it wraps
        gym.register(id=env_id, entry_point=per_patch)
    cfg = resolve_config(env_id, "ppo", overrides=TINY, eval_freq=0)
    with pytest.raises(ValueError, match="MultiDiscrete action space; `qec-gym train` trains envs with Discrete"):
        train(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())

