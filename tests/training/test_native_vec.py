"""`NativeVecEnv`: SB3's VecEnv contract over the batched vector env, and exact resume by replay."""

import numpy as np
import pytest

from qec_gym.training.native_vec import NativeVecEnv


def test_episode_info_masks_and_replay():
    venv = NativeVecEnv("qec_gym/SurfaceSwitch-v1", 3, seed=0, env_kwargs={"max_steps": 3})
    obs = venv.reset()
    rets = np.zeros(3)
    for _ in range(2):
        obs, r, dones, infos = venv.step(np.array([0, 4, 1]))
        rets += r
        assert not dones.any() and "episode" not in infos[0]
    record = venv.env_method("replay_record")
    assert record[1] == {"in_record_of": 0}
    obs, r, dones, infos = venv.step(np.array([0, 4, 1]))
    assert dones.all() and infos[1]["TimeLimit.truncated"]
    assert infos[1]["episode"]["l"] == 3
    np.testing.assert_allclose([i["episode"]["r"] for i in infos], rets + r, rtol=1e-6)
    assert infos[1]["terminal_observation"][14 + 2] == 1 and obs[1][14 + 2] == 1  # menu[2] ran; reset to it
    masks = venv.env_method("action_masks")
    assert [m.tolist().index(False) for m in masks] == [4, 4, 4]
    after = [venv.step(np.array([5, 0, 1]))[0] for _ in range(4)]
    for i, rec in enumerate(record):
        assert venv.env_method("replay", rec, indices=[i]) == [True]
    venv.step(np.array([0, 4, 1]))
    again = [venv.step(np.array([5, 0, 1]))[0] for _ in range(4)]
    assert all(np.array_equal(a, b) for a, b in zip(after, again))


def test_refuses_ids_without_native_env():
    with pytest.raises(ValueError, match="no native vector env"):
        NativeVecEnv("qec_gym/SurfaceSwitchRaw-v1", 2)
