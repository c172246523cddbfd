"""Issue 11.7: the library's bad-input examples fail with messages that name the problem and the fix."""

import logging
import re

import gymnasium as gym
import numpy as np
import pytest

import qec_gym  # noqa: F401
from qec_gym.envs import MenuEntry, NoiseAxis, TableConfig, build_table
from qec_gym.noise import NoiseParams

ENV = "qec_gym/SurfaceSwitch-v1"
TINY = dict(axis=NoiseAxis(NoiseParams.uniform(1e-3), low=0.5, high=10.0, points=2), table_windows=2, shots=50,
            table_cache=None)


def test_unknown_env_id_lists_the_registered_ones():
    from qec_gym.agents.rollout import make_env
    from qec_gym.eval import EvalConfig

    for call in (lambda: make_env("qec_gym/NoSuchEnv-v0"), lambda: EvalConfig("NoSuchEnv-v0")):
        with pytest.raises(ValueError, match=r"unknown env id .*registered qec_gym ids: \[.*'qec_gym/SurfaceSwitch-v"):
            call()


def test_dataset_with_zero_steps_fails_before_writing(tmp_path):
    from qec_gym.agents import generate_dataset

    out = tmp_path / "d.csv"
    with pytest.raises(ValueError, match=r"max_steps must be an int >= 1 .* got 0"):
        generate_dataset(ENV, episodes=1, out_path=out, env_kwargs={"max_steps": 0})
    assert list(tmp_path.iterdir()) == []


def test_dataset_failing_in_its_first_episode_leaves_no_file(tmp_path, monkeypatch):
    from qec_gym.agents import dataset

    def boom(*args, **kwargs):
        raise RuntimeError("episode failed")

    monkeypatch.setattr(dataset, "_episode_frame", boom)
    with pytest.raises(RuntimeError):
        dataset.generate_dataset(ENV, episodes=1, out_path=tmp_path / "d.csv", env_kwargs={"max_steps": 3})
    # no dataset and no sidecar pinning these parameters (filelock's empty lock file may stay)
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".lock"] == []


def test_custom_menu_of_two_entries_starts_in_its_middle():
    menu = (MenuEntry("rotated_surface", 3), MenuEntry("rotated_surface", 5))
    env = gym.make(ENV, menu=menu, **TINY)
    assert env.unwrapped.initial_entry == 1
    obs, info = env.reset(seed=0)
    assert info["entry"] == 1 and obs[14:16].tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match=r"initial_entry must index the menu \(0\.\.1\), got 5"):
        gym.make(ENV, menu=menu, initial_entry=5, **TINY)


@pytest.mark.parametrize("value", [42, 3.5, [1, 2]])
def test_scenarios_of_the_wrong_type_are_named(value):
    with pytest.raises(TypeError, match="scenarios must be 'train', 'heldout', a scenario name, a Scenario or a list"
                                        "|a scenario must be a name or a Scenario object"):
        gym.make(ENV, scenarios=value)


@pytest.mark.parametrize("max_steps", [0, -3, 2.5, "10"])
def test_max_steps_is_checked(max_steps):
    with pytest.raises(ValueError, match="max_steps must be an int >= 1"):
        gym.make(ENV, max_steps=max_steps)


def test_trained_policy_names_expected_and_given_shapes():
    from stable_baselines3 import PPO

    from qec_gym.training import TrainedPolicy

    env = gym.make(ENV, max_steps=5)
    policy = TrainedPolicy(PPO("MlpPolicy", env, n_steps=8, batch_size=8, device="cpu"), name="ppo:test")
    obs, _ = env.reset(seed=0)
    action, _ = policy.predict(obs)
    assert env.action_space.contains(int(action))
    assert policy.predict(np.stack([obs, obs]))[0].shape == (2,)
    for bad in (obs[:5], np.zeros((2, 3, 24)), np.zeros(25)):
        with pytest.raises(ValueError, match=re.escape(f"ppo:test: observation has shape {np.shape(bad)}, but the "
                                                       "model takes (24,) (one observation) or (n, 24) (a batch)")):
            policy.predict(bad)


def test_table_build_is_announced_and_logs_progress(caplog):
    cfg = TableConfig(TINY["axis"], (MenuEntry("rotated_surface", 3),), window_shots=50, windows=3)
    with caplog.at_level(logging.INFO, logger="qec_gym"):
        build_table(cfg, cache_dir=None, progress=lambda done, total: None)
    assert "computing it once (1 menu entries x 2 noise points x 3 windows of 50 shots each)" in caplog.text
    progress = [r.progress for r in caplog.records if hasattr(r, "progress")]
    assert progress and progress[-1][1:] == (6, 6)  # windows done / total
