"""Teacher override wrapper (qec_gym.training.override)."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import qec_gym  # noqa: F401
from qec_gym.agents import FixedAgent, ThresholdAgent, ThresholdConfig
from qec_gym.training.override import (FOLLOW, OverridePolicy, TeacherOverride, TeacherOverrideVecEnv, augment,
                                       init_follow, override_action)

ENV = "qec_gym/SurfaceSwitch-v2"
# a ladder that climbs and descends on the noise estimate (feature 8), so following it switches
LADDER = ThresholdAgent(ThresholdConfig(ladder=(0, 1, 3, 5), up=(0.145, 0.145, 0.646), down=(0.105, 0.105, 0.606),
                                        menu_size=10, feature=8, min_dwell=5))


def test_override_action_maps_follow_to_the_proposal_and_the_rest_to_env_actions():
    assert override_action([0, 1, 2, 13], [7, 7, 7, 7]).tolist() == [7, 0, 1, 12]
    assert augment(np.zeros((2, 3)), [0, 2], 3).tolist() == [[0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 1]]


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")  # the wrapper is what is checked
def test_wrapper_passes_gymnasium_env_checker():
    env = TeacherOverride(gym.make(ENV, max_steps=30), LADDER)
    check_env(env, skip_render_check=True)
    assert env.action_space == gym.spaces.Discrete(13) and env.observation_space.shape == (36,)


def test_follow_reproduces_the_teachers_episode_exactly():
    """Same seed and scenario: always FOLLOW gives the teacher's rewards step by step, and the
    teacher switched (so the test would see a wrong mapping)."""
    base = gym.make(ENV, max_steps=200)
    obs, _ = base.reset(seed=3)
    teacher_rewards, switches = [], 0
    for _ in range(200):
        obs, r, term, trunc, info = base.step(int(LADDER.predict(obs)[0]))
        teacher_rewards.append(r)
        switches += int(info["switched"])
    wrapped = TeacherOverride(gym.make(ENV, max_steps=200), LADDER)
    wrapped.reset(seed=3)
    follow_rewards = [wrapped.step(FOLLOW)[1] for _ in range(200)]
    assert switches > 0
    assert follow_rewards == teacher_rewards


def test_vec_wrapper_follow_equals_the_teacher_and_augments_terminal_observations():
    from qec_gym.training.native_vec import NativeVecEnv

    plain = NativeVecEnv(ENV, n_envs=3, seed=5, env_kwargs={"max_steps": 50})
    wrapped = TeacherOverrideVecEnv(NativeVecEnv(ENV, n_envs=3, seed=5, env_kwargs={"max_steps": 50}), LADDER)
    obs_p, obs_w = plain.reset(), wrapped.reset()
    assert obs_w.shape == (3, 36) and np.array_equal(obs_w[:, :24], obs_p)
    total_p = total_w = 0.0
    for _ in range(50):
        obs_p, r_p, d_p, infos_p = plain.step(np.asarray(LADDER.predict(obs_p)[0]))
        obs_w, r_w, d_w, infos_w = wrapped.step(np.full(3, FOLLOW))
        total_p += r_p.sum()
        total_w += r_w.sum()
        assert np.array_equal(r_p, r_w) and np.array_equal(d_p, d_w)
    assert d_w.all() and infos_w[0]["terminal_observation"].shape == (36,)
    assert total_p == total_w


def test_follow_initialised_policy_acts_as_the_teacher():
    from stable_baselines3 import PPO

    from qec_gym.training.native_vec import NativeVecEnv

    venv = TeacherOverrideVecEnv(NativeVecEnv(ENV, n_envs=2, seed=0, env_kwargs={"max_steps": 40}), LADDER)
    model = PPO("MlpPolicy", venv, seed=0, n_steps=16, batch_size=16)
    init_follow(model, 0.98)
    policy = OverridePolicy(model, LADDER, 12)
    env = gym.make(ENV, max_steps=40)
    obs, _ = env.reset(seed=1)
    for _ in range(40):
        assert int(policy.predict(obs)[0]) == int(LADDER.predict(obs)[0])
        obs, *_ = env.step(int(policy.predict(obs)[0]))
    import torch

    probs = model.policy.get_distribution(torch.as_tensor(venv.reset())).distribution.probs
    assert np.allclose(probs[:, FOLLOW].detach().numpy(), 0.98, atol=1e-5)
    with pytest.raises(ValueError, match="follow_prob"):
        init_follow(model, 1.0)


def test_wrapper_refuses_dict_observations():
    with pytest.raises(TypeError, match="flat Box"):
        TeacherOverride(gym.make("qec_gym/SurfaceSwitchRaw-v1", max_steps=5), FixedAgent(0, 10))


def test_veto_alternatives_map_choice_one_to_keep():
    """alternatives=(0,): choice 1 keeps whatever the teacher proposes; an episode of vetoes
    never leaves the initial entry, an episode of follows plays the teacher."""
    assert override_action([0, 1, 1], [7, 7, 0], [0]).tolist() == [7, 0, 0]
    env = TeacherOverride(gym.make(ENV, max_steps=30), FixedAgent(3, 10), alternatives=[0])
    assert env.action_space == gym.spaces.Discrete(2)
    env.reset(seed=0)
    assert not any(env.step(1)[4]["switched"] for _ in range(30))
    env.reset(seed=0)
    assert env.step(FOLLOW)[4]["entry"] == 3
    with pytest.raises(ValueError, match="alternatives"):
        TeacherOverride(gym.make(ENV, max_steps=5), FixedAgent(3, 10), alternatives=[12])
