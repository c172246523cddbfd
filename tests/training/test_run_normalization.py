"""A run trained on normalised observations is never evaluated without its statistics (issue 10 item 5)."""

import shutil

import gymnasium as gym
import pytest

from qec_gym.envs import ENV_IDS
from qec_gym.training import load_run, resolve_config, train

ENV_ID = ENV_IDS[0]
TINY = {"n_timesteps": 64, "n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 1, "env_kwargs": {"max_steps": 20}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for normalize in (True, False):
        cfg = resolve_config(ENV_ID, "ppo", overrides={**TINY, "normalize": normalize}, eval_freq=0)
        train(cfg, root / f"norm-{normalize}")
    return root


def test_normalised_run_without_its_statistics_is_refused(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs / "norm-True", run)
    env = gym.make(ENV_ID, max_steps=20)
    assert load_run(run, env=env).vec_normalize is not None  # intact: loads with its statistics
    (run / "vecnormalize.pkl").unlink()
    with pytest.raises(FileNotFoundError, match=r"normalize: true .*vecnormalize\.pkl are missing"):
        load_run(run, env=env)


def test_unnormalised_run_loads_without_statistics_and_refuses_foreign_ones(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs / "norm-False", run)
    assert load_run(run).vec_normalize is None
    shutil.copy(runs / "norm-True" / "vecnormalize.pkl", run / "vecnormalize.pkl")
    with pytest.raises(ValueError, match="normalize: false"):
        load_run(run)


def test_run_without_config_is_refused(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs / "norm-True", run)
    (run / "config.yaml").unlink()
    with pytest.raises(ValueError, match="no config.yaml"):
        load_run(run)
