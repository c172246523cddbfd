"""The ecosystem's standard entry points on every registered env (issue 11.6).

SB3's ``make_vec_env`` asks for ``render_mode="rgb_array"`` (falling back only on TypeError), so
every env renders an image; gymnasium's ``make_vec`` in both modes; rl-zoo3's train command; and
the render modes a user would pass. Ids come from `qec_gym.envs.ENV_IDS`.
"""

from __future__ import annotations

import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import yaml

import qec_gym  # noqa: F401  (registers the ids)
from qec_gym.envs import ENV_IDS


def _features(obs):
    return obs["features"] if isinstance(obs, dict) else obs


def _assert_frame(frame):
    assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[0] > 0 and frame.shape[1] > 0
    assert frame.any()  # the state is drawn, not a blank canvas


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_make_vec_env(env_id):
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(env_id, n_envs=2, seed=0)
    try:
        assert venv.render_mode == "rgb_array"  # what SB3 asks for when the user says nothing
        obs = venv.reset()
        assert _features(obs).shape[0] == 2
        obs, rewards, dones, infos = venv.step(np.array([0, 1]))
        assert np.all(np.isfinite(rewards)) and len(infos) == 2
        for frame in venv.get_images():
            _assert_frame(frame)
    finally:
        venv.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_make_vec_sync_and_async_agree(env_id):
    results = {}
    for mode in ("sync", "async"):
        venv = gym.make_vec(env_id, num_envs=2, vectorization_mode=mode)
        try:
            obs0, _ = venv.reset(seed=3)
            obs1, rewards, terminated, truncated, _ = venv.step(np.array([0, 1]))
            for i in range(2):
                assert venv.single_observation_space.contains(
                    {k: v[i] for k, v in obs1.items()} if isinstance(obs1, dict) else obs1[i])
            results[mode] = (_features(obs0), _features(obs1), rewards)
        finally:
            venv.close()
    for a, b in zip(results["sync"], results["async"]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_render_modes_a_user_would_pass(env_id):
    for mode in (None, "ansi", "rgb_array"):
        env = gym.make(env_id, render_mode=mode)
        env.reset(seed=0)
        env.step(0)
        out = env.render()
        if mode is None:
            assert out is None
        elif mode == "ansi":
            assert isinstance(out, str) and "reward=" in out
        else:
            _assert_frame(out)
        env.close()
    venv = gym.make_vec(env_id, num_envs=2, vectorization_mode="sync", render_mode="rgb_array")
    venv.reset(seed=0)
    frames = venv.render()
    assert len(frames) == 2
    for frame in frames:
        _assert_frame(frame)
    venv.close()
    with pytest.raises(ValueError, match=r"render_mode 'human' is not supported: use 'ansi' .*'rgb_array'"):
        gym.make(env_id, render_mode="human")


def test_rgb_frame_shows_the_running_entry_and_the_target():
    env = gym.make(ENV_IDS[0], render_mode="rgb_array")
    env.reset(seed=0)
    raw = env.unwrapped
    frame = env.render()
    cell = 16
    for i in range(len(raw.menu)):
        border = frame[cell, i * cell]
        assert tuple(border) == ((255, 255, 255) if i == raw.entry else (0, 0, 0))
        meets = raw._expected_p(i, 0, raw.m_assumed) <= raw.reward_config.target
        assert tuple(frame[cell + 8, i * cell + 8]) == ((40, 180, 60) if meets else (200, 40, 40))


@pytest.mark.parametrize(
    "env_id", [ENV_IDS[0]] + [pytest.param(i, marks=pytest.mark.slow) for i in ENV_IDS[1:]])
def test_rl_zoo3_train_command(env_id, tmp_path):
    pytest.importorskip("rl_zoo3")
    from qec_gym.training.config import load_hyperparams

    hp = {**load_hyperparams("ppo", env_id), "n_timesteps": 128, "n_envs": 2, "n_steps": 64, "batch_size": 64,
          "n_epochs": 1}
    # `warm_start` is qec-gym's own key (a teacher clone before PPO; rl_zoo3 would pass it to PPO()):
    # under rl_zoo3 the same PPO settings train from scratch.
    hp.pop("warm_start", None)
    conf = tmp_path / "ppo.yml"
    conf.write_text(yaml.safe_dump({env_id: hp}))
    cmd = [sys.executable, "-m", "rl_zoo3.train", "--algo", "ppo", "--env", env_id, "--gym-packages", "qec_gym",
           "-conf", str(conf), "-f", str(tmp_path / "logs"), "--seed", "0", "--eval-freq", "-1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    (model_path,) = [p for p in (tmp_path / "logs").rglob("*.zip") if "best" not in p.name]
    from stable_baselines3 import PPO

    assert PPO.load(model_path, device="cpu").num_timesteps == 128
