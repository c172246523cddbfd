"""Every baseline works sensibly on every registered env, or is refused with a reason (issue 10 item 7).

Claim tested: on paired training-scenario episodes, each fitted or privileged baseline
(best fixed entry, threshold, decision tree, myopic oracle, clairvoyant plan) has a mean return
no worse than the random policy's; ``fixed:<i>`` makes no such claim (a bad entry may lose to
random) and is only checked to run its entry. Fits are deliberately small (short episodes, few
candidates) to stay fast; the circuit-only SurfaceSwitchRaw fits on its table twin.
"""

import gymnasium as gym
import numpy as np
import pytest

import qec_gym  # noqa: F401  (registers the ids)
from qec_gym.agents import (
    DecisionTreeAgent,
    ThresholdConfig,
    episode_returns,
    generate_dataset,
    make_baseline,
    running_entry,
)
from qec_gym.envs import ENV_IDS

SMALL_FIT = dict(episodes=2, quantiles=3, passes=1, hysteresis=(0.0, 0.05), dwell=(0, 3), recalibrate=(0, 10))


def _steps(env_id: str) -> tuple[int, int]:
    """(max_steps, evaluation episodes): the circuit-only raw env gets few, short ones."""
    return (10, 2) if "Raw" in env_id else (40, 4)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_baseline_is_no_worse_than_random(env_id, tmp_path):
    max_steps, episodes = _steps(env_id)
    kw = {"max_steps": max_steps}
    env = gym.make(env_id, **kw)
    data = generate_dataset(env_id, episodes=2, seed=0, env_kwargs=kw)
    DecisionTreeAgent.train(data, max_depth=3, min_samples_leaf=2).save(tmp_path / "tree.joblib")
    policies = {
        "best_fixed": make_baseline("best_fixed", env, episodes=2, env_kwargs=kw),
        "threshold": make_baseline("threshold", env, env_kwargs=kw, **SMALL_FIT),
        "tree": make_baseline(f"tree:{tmp_path / 'tree.joblib'}", env),
        "oracle": make_baseline("oracle", env),
        "clairvoyant": make_baseline("clairvoyant", env),
    }
    rand = episode_returns(env, make_baseline("random", env, seed=0), episodes=episodes, seed=900)
    means = {name: float(episode_returns(env, p, episodes=episodes, seed=900).mean()) for name, p in policies.items()}
    worse = {name: round(m, 2) for name, m in means.items() if m < rand.mean()}
    assert not worse, f"{env_id}: worse than random ({rand.mean():.2f}): {worse}"

    # fixed:<i> claims nothing about its return; it runs menu[i] after its first step.
    last = len(env.unwrapped.menu) - 1
    fixed = make_baseline(f"fixed:{last}", env)
    obs, _ = env.reset(seed=901)
    for _ in range(3):
        obs, *_ = env.step(fixed.predict(obs)[0])
    features = obs["features"] if isinstance(obs, dict) else obs
    assert running_entry(np.asarray(features, dtype=np.float64)[None, :], last + 1)[0] == last


def test_threshold_on_cat_switch_uses_the_photon_number():
    """Pinned example: v0's threshold only climbed d at nbar = 2 (return -1040 vs random -773)."""
    env_id = next(i for i in ENV_IDS if i.startswith("qec_gym/CatSwitch-"))
    env = gym.make(env_id, max_steps=40)
    agent = make_baseline("threshold", env, env_kwargs={"max_steps": 40}, **SMALL_FIT)
    nbars = {env.unwrapped.menu[i].nbar for i in agent.config.ladder}
    assert nbars != {2.0}, agent.config


def test_threshold_fits_and_acts_on_dict_observations():
    """Pinned example: on SurfaceSwitchRaw (Dict observations) the threshold fit crashed after 30 s."""
    env_id = next(i for i in ENV_IDS if i.startswith("qec_gym/SurfaceSwitchRaw-"))
    env = gym.make(env_id, max_steps=5)
    agent = make_baseline("threshold", env, env_kwargs={"max_steps": 10}, **SMALL_FIT)
    obs, _ = env.reset(seed=0)
    assert isinstance(obs, dict)
    assert env.action_space.contains(int(agent.predict(obs)[0]))


def test_baselines_refuse_what_does_not_fit_with_a_reason(tmp_path):
    surface = gym.make(ENV_IDS[0], max_steps=10)
    cat_id = next(i for i in ENV_IDS if i.startswith("qec_gym/CatSwitch-"))
    cat = gym.make(cat_id, max_steps=10)
    cfg = ThresholdConfig(ladder=(1, 3), up=(0.2,), down=(0.1,), menu_size=len(surface.unwrapped.menu))
    with pytest.raises(ValueError, match="menu of 10 entries.*has 24"):
        make_baseline("threshold", cat, config=cfg)
    with pytest.raises(ValueError, match="qec_gym switching env"):
        make_baseline("best_fixed", gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match="entry_index must be in 0..9"):
        make_baseline("fixed:12", surface)
    data = generate_dataset(ENV_IDS[0], episodes=1, seed=0, env_kwargs={"max_steps": 10})
    DecisionTreeAgent.train(data, max_depth=2, min_samples_leaf=2, validation_fraction=0).save(tmp_path / "t.joblib")
    with pytest.raises(ValueError, match=f"trained for '{ENV_IDS[0]}', not '{cat_id}'"):
        make_baseline(f"tree:{tmp_path / 't.joblib'}", cat)
    venv = gym.make_vec(ENV_IDS[0], num_envs=2, vectorization_mode="async", max_steps=5)
    try:
        with pytest.raises(ValueError, match="AsyncVectorEnv"):
            make_baseline("oracle", venv)
    finally:
        venv.close()
