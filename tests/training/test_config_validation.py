"""Hyperparameters of the wrong type or out of range fail in `resolve_config`, naming the key and the fix."""

import math

import pytest

from qec_gym.training import TrainConfig, resolve_config
from qec_gym.training.config import HYPERPARAM_CHECKS, RUN_KEYS, algo_class, validate_hyperparams

ENV = "qec_gym/SurfaceSwitch-v1"


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("n_timesteps", "1e4", 10_000),  # PyYAML reads 1e4 as a string
    ("n_timesteps", 1e4, 10_000),
    ("n_envs", 2.0, 2),
    ("learning_rate", "3e-4", 3e-4),
    ("learning_rate", "lin_1e-3", "lin_1e-3"),
    ("gamma", 1, 1.0),
    ("clip_range_vf", None, None),
])
def test_values_are_normalised(key, value, expected):
    out = validate_hyperparams("ppo", {key: value})[key]
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("batch_size", 0, "an integer >= 1"),
    ("batch_size", 1, ">= 2 for PPO"),
    ("gamma", 1.5, "a number in [0, 1]"),
    ("gamma", math.nan, "a number in [0, 1]"),
    ("gae_lambda", -0.1, "a number in [0, 1]"),
    ("n_timesteps", "1e4.5", "an integer >= 1"),
    ("n_timesteps", 2.5, "an integer >= 1"),
    ("n_steps", "many", "an integer >= 1"),
    ("learning_rate", 0, "a number > 0 or a linear schedule"),
    ("learning_rate", "lin_x", "a number > 0 or a linear schedule"),
    ("learning_rate", math.inf, "a number > 0"),
    ("ent_coef", -1, "a number >= 0"),
    ("normalize", "yes", "true or false"),
    ("n_epochs", True, "an integer >= 1"),
    ("policy_kwargs", [64, 64], "a mapping"),
    ("env_kwargs", "max_steps=5", "a mapping"),
])
def test_bad_values_name_key_and_fix(key, value, expected):
    with pytest.raises(ValueError, match=rf"hyperparameter {key}") as e:
        resolve_config(ENV, "ppo", overrides={key: value})
    assert expected in str(e.value)


def test_the_issue_examples():
    assert resolve_config(ENV, "ppo", overrides={"n_timesteps": "1e4"}).total_timesteps == 10_000
    with pytest.raises(ValueError, match=r"batch_size \(minibatch size\) must be an integer >= 1, got 0"):
        resolve_config(ENV, "ppo", overrides={"batch_size": 0})
    with pytest.raises(ValueError, match=r"gamma \(discount factor\) must be a number in \[0, 1\], got 1.5"):
        resolve_config(ENV, "ppo", overrides={"gamma": 1.5})


@pytest.mark.parametrize("key", ["seed", "verbose", "tensorboard_log"])
def test_keys_the_run_sets_are_refused(key):
    with pytest.raises(ValueError, match=f"hyperparameter {key} is set by"):
        resolve_config(ENV, "ppo", overrides={key: 1})


def test_unknown_policy_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"no policy 'MlpPolicyy'; choose one of \['CnnPolicy', 'MlpPolicy'"):
        resolve_config(ENV, "ppo", overrides={"policy": "MlpPolicyy"})


def test_ppo_rollout_of_one_transition_is_refused():
    with pytest.raises(ValueError, match="n_steps \\* n_envs >= 2"):
        resolve_config(ENV, "ppo", overrides={"n_steps": 1, "n_envs": 1})


def test_train_config_validates_run_settings():
    with pytest.raises(ValueError, match="eval_episodes must be an integer >= 1, got 0"):
        TrainConfig(ENV, "ppo", 100, eval_episodes=0)
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -1"):
        TrainConfig(ENV, "ppo", 100, seed=-1)
    with pytest.raises(ValueError, match="hyperparameter gamma"):
        TrainConfig(ENV, "ppo", 100, hyperparams={"gamma": 2.0})


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn", "recurrentppo", "maskableppo"])
def test_every_constructor_argument_has_a_check(algo):
    import inspect

    accepted = set(inspect.signature(algo_class(algo).__init__).parameters) - {"self", "env", "policy"}
    unchecked = accepted - set(HYPERPARAM_CHECKS) - {"seed", "verbose", "tensorboard_log", "_init_setup_model"}
    assert not unchecked, f"{algo}: add type/range checks for {sorted(unchecked)}"
    assert set(RUN_KEYS) <= set(HYPERPARAM_CHECKS)


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn", "recurrentppo", "maskableppo"])
def test_packaged_hyperparameters_pass(algo):
    cfg = resolve_config(ENV, algo)
    assert cfg.total_timesteps >= 1


def test_dqn_train_freq():
    assert validate_hyperparams("dqn", {"train_freq": [1, "episode"]})["train_freq"] == (1, "episode")
    with pytest.raises(ValueError, match="train_freq"):
        validate_hyperparams("dqn", {"train_freq": [1, "epoch"]})


def test_a_partial_warm_start_override_keeps_the_packaged_settings():
    """A config that shrinks the warm start keeps the packaged teacher and frozen statistics
    (replacing the whole mapping silently dropped freeze_normalization); null drops it."""
    from qec_gym.training import resolve_config

    packaged = resolve_config("qec_gym/CatSwitch-v5", "ppo").warm_start
    assert packaged["teacher"] == "tree" and packaged["freeze_normalization"] is True
    small = resolve_config("qec_gym/CatSwitch-v5", "ppo", overrides={"warm_start": {"bc_steps": 1000}}).warm_start
    assert small == {**packaged, "bc_steps": 1000}
    assert resolve_config("qec_gym/CatSwitch-v5", "ppo", overrides={"warm_start": None}).warm_start is None
