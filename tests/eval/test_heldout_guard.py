"""No code path lets a held-out scenario reach training, tuning, dataset generation or baseline
fitting, whatever way the scenario set is named (issue 10 item 2); evaluation may use them."""

from __future__ import annotations

import gymnasium as gym
import pandas as pd
import pytest
import yaml

import qec_gym  # noqa: F401  (registers the ids)
from qec_gym.agents import DecisionTreeAgent, ThresholdAgent, best_fixed_entry, generate_dataset, make_baseline
from qec_gym.agents.rollout import make_env
from qec_gym.cli import main
from qec_gym.noise import NoiseParams
from qec_gym.noise.drift import Step
from qec_gym.noise.scenarios import Scenario, get_scenario, list_scenarios, resolve_scenarios
from qec_gym.training import resolve_config
from qec_gym.training.config import check_training_scenarios

ENV_ID = "qec_gym/SurfaceSwitch-v1"
MY_HELDOUT = Scenario("my_heldout", "a user's own evaluation-only step", baseline=NoiseParams.uniform(1e-3),
                      drifts=Step(2, 2.0), episode_length=5, split="heldout")

FORMS = {
    "split string": "heldout",
    "one name": "heldout_ramp",
    "list of names": ["heldout_ramp"],
    "mixed tuple": ("calm", "heldout_ramp"),
    "split keywords in a list": ["train", "heldout"],
    "Scenario object": get_scenario("heldout_ramp"),
    "list of Scenario objects": [get_scenario("calm"), get_scenario("heldout_ramp")],
    "a user's held-out Scenario": [get_scenario("calm"), MY_HELDOUT],
}
STRING_FORMS = {k: v for k, v in FORMS.items() if isinstance(v, str) or (isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v))}
ids = list(FORMS)


def expected_heldout(form) -> list[str]:
    names = resolve_scenarios(form)
    return [n for n in names if n == "my_heldout" or n in list_scenarios("heldout")]


@pytest.mark.parametrize("form", FORMS.values(), ids=ids)
def test_resolver_names_every_form_and_refuses_heldout(form):
    names = resolve_scenarios(form)  # evaluation: allowed, resolved to names
    assert names and all(isinstance(n, str) for n in names)
    with pytest.raises(ValueError, match="held-out scenarios .* are for evaluation only, not for tuning") as e:
        resolve_scenarios(form, allow_heldout=False, purpose="tuning")
    assert str(expected_heldout(form)) in str(e.value)


def test_resolver_values_and_errors():
    assert resolve_scenarios("heldout") == tuple(list_scenarios("heldout"))
    assert resolve_scenarios(["calm", "train"])[:2] == ("calm", "readout_drift")
    assert resolve_scenarios("train", allow_heldout=False) == tuple(list_scenarios("train"))
    assert resolve_scenarios("train", pool=["calm", "bursts", "heldout_ramp"]) == ("calm", "bursts")
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        resolve_scenarios(["calm", "nope"])
    with pytest.raises(ValueError, match="empty"):
        resolve_scenarios([])
    with pytest.raises(TypeError, match="scenarios must be"):
        resolve_scenarios({"scenarios": "calm"})
    with pytest.raises(TypeError, match="a scenario must be a name"):
        resolve_scenarios(["calm", 3])


def test_the_issue_example_is_refused():
    with pytest.raises(ValueError, match=r"held-out scenarios \['heldout_ramp'\] are for evaluation only, not for training"):
        resolve_config(ENV_ID, "ppo", overrides={"env_kwargs": {"scenarios": ["heldout_ramp"]}})


@pytest.mark.parametrize("form", FORMS.values(), ids=ids)
def test_training_configs_refuse(form):
    with pytest.raises(ValueError, match="held-out"):
        resolve_config(ENV_ID, "ppo", overrides={"env_kwargs": {"scenarios": form}})
    with pytest.raises(ValueError, match="held-out"):  # rl-zoo layout, keyed by env id
        resolve_config(ENV_ID, "ppo", overrides={ENV_ID: {"env_kwargs": {"scenarios": form}}})
    with pytest.raises(ValueError, match="not for tuning"):  # what a tuner calls
        check_training_scenarios(ENV_ID, form, purpose="tuning")
    assert check_training_scenarios(ENV_ID, ["calm", get_scenario("bursts")]) == ("calm", "bursts")


@pytest.mark.parametrize("form", STRING_FORMS.values(), ids=list(STRING_FORMS))
@pytest.mark.parametrize("layout", ["flat", "rl-zoo"])
def test_cli_train_yaml_refuses(form, layout, tmp_path, capsys):
    value = list(form) if isinstance(form, tuple) else form
    body = {"env_kwargs": {"scenarios": value}, "n_timesteps": 64}
    cfg = tmp_path / "f.yml"
    cfg.write_text(yaml.safe_dump(body if layout == "flat" else {ENV_ID: body}))
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    assert "held-out" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("form", FORMS.values(), ids=ids)
def test_dataset_generation_refuses(form):
    with pytest.raises(ValueError, match="not for dataset generation"):
        generate_dataset(ENV_ID, episodes=1, env_kwargs={"max_steps": 5, "scenarios": form})


@pytest.fixture(scope="module")
def eval_env():
    env = gym.make(ENV_ID, max_steps=5, scenarios="heldout")  # evaluation may use held-out scenarios
    yield env
    env.close()


@pytest.mark.parametrize("form", FORMS.values(), ids=ids)
def test_baseline_fitting_refuses(form, eval_env):
    kw = {"max_steps": 5, "scenarios": form}
    with pytest.raises(ValueError, match="not for fitting a baseline"):
        best_fixed_entry(ENV_ID, scenarios=form, episodes=1, env_kwargs={"max_steps": 5})
    with pytest.raises(ValueError, match="not for fitting a baseline"):
        best_fixed_entry(eval_env, episodes=1, env_kwargs=kw)
    with pytest.raises(ValueError, match="not for fitting a baseline"):
        ThresholdAgent.fit(ENV_ID, episodes=1, env_kwargs=kw)
    for name in ("best_fixed", "threshold"):
        with pytest.raises(ValueError, match="not for fitting a baseline"):
            make_baseline(name, eval_env, episodes=1, env_kwargs=kw)
    with pytest.raises(ValueError, match="not for fitting a baseline"):
        make_env(lambda **k: gym.make(ENV_ID, **k), scenarios=form, env_kwargs={"max_steps": 5})


def test_fitting_on_an_eval_env_uses_its_training_scenarios(eval_env):
    env = make_env(eval_env)
    try:
        assert env.unwrapped.scenario_names == tuple(n for n in list_scenarios("train") if n in env.unwrapped.scenario_pool)
    finally:
        env.close()


def test_tree_refuses_a_dataset_with_heldout_rows():
    df = generate_dataset(ENV_ID, episodes=2, seed=0, epsilon=0.2, env_kwargs={"max_steps": 20})
    DecisionTreeAgent.train(df, max_depth=2, min_samples_leaf=2)  # training scenarios: fine
    bad = pd.concat([df, df.assign(scenario="heldout_ramp", episode=df["episode"] + 2)], ignore_index=True)
    bad.attrs.update(df.attrs)
    with pytest.raises(ValueError, match=r"\['heldout_ramp'\] are for evaluation only, not for fitting a decision tree"):
        DecisionTreeAgent.train(bad, max_depth=2, min_samples_leaf=2)


@pytest.mark.parametrize(
    ("env_id", "heldout", "own_training"),
    [
        ("qec_gym/CatSwitch-v4", "cat_heldout_ou_fast", ["cat_calm", "cat_ou_drift", "cat_telegraph_tls", "cat_bursts"]),
        ("qec_gym/SurfaceSwitch-v3", "heldout_ramp", ["randomised_surface_drift"]),
        ("qec_gym/DecoderCalibration-v2", "heldout_readout_jumps", ["readout_drift"]),
    ],
)
def test_the_training_check_uses_the_env_s_own_scenarios(env_id, heldout, own_training):
    """The check read the surface registry for every id: a cat training scenario was 'unknown', "train"
    expanded to surface names, and a refusal suggested scenarios the env does not have."""
    assert check_training_scenarios(env_id, "train") == tuple(own_training)
    assert check_training_scenarios(env_id, [own_training[-1]]) == (own_training[-1],)
    with pytest.raises(ValueError, match="for evaluation only") as e:
        check_training_scenarios(env_id, [own_training[0], heldout])
    assert str(e.value).endswith(f"(e.g. scenarios='train': {own_training}).")
    with pytest.raises(ValueError, match="held-out"):
        resolve_config(env_id, "ppo", overrides={"env_kwargs": {"scenarios": [heldout]}})
    env = make_env(env_id, scenarios=[own_training[-1]], env_kwargs={"max_steps": 2})  # baseline fitting
    assert env.unwrapped.scenario_names == (own_training[-1],)
    env.close()
    with pytest.raises(ValueError, match=r"not for fitting a baseline: .*" + own_training[0]):
        make_env(env_id, scenarios=[heldout])
