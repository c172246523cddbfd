"""Named scenarios: registry contract, train/held-out separation, valid and bounded trajectories."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from qec_gym.noise import NoiseParams
from qec_gym.noise.drift import (
    Bursts,
    Constant,
    FieldDrift,
    Mixture,
    OrnsteinUhlenbeck,
    Ramp,
    RandomTelegraph,
    Step,
    Sum,
)
from qec_gym.noise.physical import HardwareParams
from qec_gym.noise.scenarios import (
    HELDOUT_SCENARIOS,
    SCENARIOS,
    TRAINING_SCENARIOS,
    Scenario,
    get_scenario,
    list_scenarios,
)

# The stim-uniform rotated surface code's threshold is ~1.1% (docs/reference-numbers.md); surface-code
# scenarios must stay below it, photonic ones below the ~4% loss where the code stops working.
SURFACE_MAX = 0.0095
PHOTONIC_LOSS_MAX = 0.045
READOUT_MEAS_MAX = 0.03


def test_required_scenarios_exist():
    train = set(list_scenarios("train"))
    heldout = set(list_scenarios("heldout"))
    assert {"calm", "ou_drift", "telegraph_tls", "bursts", "sinusoid_day"} <= train
    assert {"heldout_ou_fast", "heldout_telegraph_bursts", "heldout_ramp"} <= heldout
    assert list_scenarios() == list_scenarios("train") + list_scenarios("heldout")


def test_splits_are_disjoint_and_labelled():
    assert not set(TRAINING_SCENARIOS) & set(HELDOUT_SCENARIOS)
    assert set(SCENARIOS) == set(TRAINING_SCENARIOS) | set(HELDOUT_SCENARIOS)
    assert all(s.split == "train" and not s.is_heldout for s in TRAINING_SCENARIOS.values())
    assert all(s.split == "heldout" and s.is_heldout for s in HELDOUT_SCENARIOS.values())
    assert all(name == s.name for name, s in SCENARIOS.items())


def _training_processes(scenarios=TRAINING_SCENARIOS):
    return {q for s in scenarios.values() for _, p in s.drifts.drifts for q in p.walk()}


def test_heldout_drifts_never_appear_in_training():
    train_drifts = {s.drifts for s in TRAINING_SCENARIOS.values()}
    # nested too: a domain-randomised scenario's mixture must not hide a held-out process
    train_processes = _training_processes()
    for s in HELDOUT_SCENARIOS.values():
        assert s.drifts not in train_drifts
        assert not {p for _, p in s.drifts.drifts} & train_processes, s.name


def test_randomised_surface_drift_stays_between_the_training_scenarios():
    """The held-out surface families stay outside the domain randomisation (scenarios.py docstring)."""
    dr = get_scenario("randomised_surface_drift")
    inside = set(dr.drifts.drifts[0][1].walk())
    mixtures = [p for p in inside if isinstance(p, Mixture)]
    assert len(mixtures) == 1 and len(mixtures[0].components) == 9 + 6 + 4 + 3
    assert sum(mixtures[0].weights) == pytest.approx(4.0)  # four families at equal odds
    ou = [p for p in inside if isinstance(p, OrnsteinUhlenbeck)]
    # no OU faster or wider than ou_drift's (heldout_ou_fast: correlation 20, log-std 0.45)
    assert min(1.0 / p.theta for p in ou) >= 50 - 1e-9
    assert max(p.sigma / np.sqrt(2 * p.theta) for p in ou) <= 0.35 + 1e-9
    assert not any(isinstance(p, Ramp) for p in inside)  # heldout_ramp's family
    for component in mixtures[0].components:  # no telegraph together with bursts (heldout_telegraph_bursts)
        kinds = {type(p) for p in component.walk()}
        assert not {RandomTelegraph, Bursts} <= kinds
    surface_train = {n: s for n, s in TRAINING_SCENARIOS.items() if "surface" in s.tags and "readout" not in s.tags}
    span = [p for p in _training_processes(surface_train) if isinstance(p, OrnsteinUhlenbeck)]
    assert min(1.0 / p.theta for p in span) == pytest.approx(50.0)


def test_randomised_readout_drift_spans_the_axis_and_keeps_readout_drift():
    dr = get_scenario("randomised_readout_drift")
    assert dr.drifts.keys == ("p_meas",)
    inside = set(dr.drifts.drifts[0][1].walk())
    assert get_scenario("readout_drift").drifts.drifts[0][1].process in inside
    gen = np.random.default_rng(5)
    peaks = np.array([dr.multipliers(gen)["p_meas"].max() for _ in range(200)])
    assert peaks.max() == pytest.approx(30.0) and np.mean(peaks > 10) > 0.2  # the top of the x1..x30 axis is visited
    assert not any(isinstance(p, Sum) and {RandomTelegraph, Bursts} <= {type(q) for q in p.walk()} for p in inside)


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_each_split_has_a_photonic_loss_scenario(split):
    photonic = HardwareParams.photonic().to_noise()
    found = [
        s
        for s in (get_scenario(n) for n in list_scenarios(split))
        if "photonic" in s.tags and "p_loss" in s.drifts.keys and s.baseline == photonic
    ]
    assert found


def test_get_scenario_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown scenario 'nope'.*calm"):
        get_scenario("nope")
    with pytest.raises(ValueError, match="unknown split"):
        list_scenarios("test")  # type: ignore[arg-type]
    assert get_scenario("calm") is TRAINING_SCENARIOS["calm"]


def test_registries_are_read_only():
    with pytest.raises(TypeError):
        TRAINING_SCENARIOS["mine"] = get_scenario("calm")  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_scenario("calm").episode_length = 3  # type: ignore[misc]


@pytest.mark.parametrize("name", list_scenarios())
def test_trajectory_is_valid_reproducible_and_bounded(name):
    scenario = get_scenario(name)
    assert scenario.description.strip() and scenario.episode_length >= 100
    traj = scenario.trajectory(np.random.default_rng(0))
    assert len(traj) == scenario.episode_length
    assert all(isinstance(n, NoiseParams) for n in traj)
    assert traj == scenario.trajectory(np.random.default_rng(0))
    assert traj != scenario.trajectory(np.random.default_rng(1))
    multipliers = scenario.multipliers(np.random.default_rng(0), n_steps=7)
    assert set(multipliers) == set(scenario.drifts.keys)
    assert all(m.shape == (7,) and m.min() > 0 for m in multipliers.values())
    assert len(scenario.trajectory(np.random.default_rng(0), n_steps=11)) == 11

    # Bounds over many episodes (the clips in scenarios.py make them hold for every seed).
    gen = np.random.default_rng(123)
    strengths, losses = [], []
    for _ in range(10):
        for n in scenario.trajectory(gen):
            strengths.append(n.strength())
            losses.append(n.p_loss)
    strengths_arr = np.array(strengths)
    assert strengths_arr.min() > 0
    if "photonic" in scenario.tags:
        assert max(losses) < PHOTONIC_LOSS_MAX
        assert min(losses) > 0.005
    else:
        assert "surface" in scenario.tags
        # readout scenarios drive only the measurement error, which may pass 1%: timelike
        # errors alone have a far higher threshold than circuit noise
        limit = READOUT_MEAS_MAX + 1e-12 if "readout" in scenario.tags else SURFACE_MAX
        assert strengths_arr.max() < limit
        assert strengths_arr.min() >= 5e-4
        # Drift must actually move the noise (otherwise the scenario tests nothing).
        assert strengths_arr.max() / strengths_arr.min() > 1.5


def test_scenario_coerces_drifts_and_validates():
    base = NoiseParams.uniform(1e-3)
    s = Scenario("demo", "d", baseline=base, drifts=Step(1, 2.0), episode_length=2)
    assert s.drifts == FieldDrift({"all": Step(1, 2.0)})
    assert [n.p2 for n in s.trajectory(np.random.default_rng())] == pytest.approx([1e-3, 2e-3])
    good = dict(baseline=base, drifts={"all": Constant(1.0)})
    for kwargs, match in [
        (dict(name="Bad Name"), "lowercase"),
        (dict(description=" "), "description"),
        (dict(episode_length=0), "episode_length"),
        (dict(split="test"), "split"),
    ]:
        fields = dict(name="demo", description="d") | good | kwargs
        name, description = fields.pop("name"), fields.pop("description")
        with pytest.raises(ValueError, match=match):
            Scenario(name, description, **fields)
    with pytest.raises(TypeError, match="NoiseParams"):
        Scenario("demo", "d", baseline=0.001, drifts=Constant(1.0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown drift key"):
        Scenario("demo", "d", baseline=base, drifts={"p3": Constant(1.0)})


def test_scenarios_of_an_id_that_is_not_a_qec_gym_env_are_refused():
    import gymnasium as gym

    from qec_gym.envs import ENV_IDS, MULTI_PATCH_ENV_IDS, RETIRED_ENV_IDS, RetiredEnvError
    from qec_gym.noise.scenarios import pool_for_env, registry_for_env

    assert "CartPole-v1" in gym.registry  # registered, but gymnasium's, not ours
    for ask in (registry_for_env, pool_for_env):
        with pytest.raises(ValueError, match=r"'CartPole-v1' is registered .* not a qec_gym env: scenarios exist "
                                             r"only for qec_gym envs \(qec_gym.envs.ENV_IDS"):
            ask("CartPole-v1")
        with pytest.raises(RetiredEnvError, match="qec_gym/SurfaceSwitch-v1"):
            ask("qec_gym/SurfaceSwitch-v0")
    assert set(RETIRED_ENV_IDS) == {i.replace("-v1", "-v0") for i in ENV_IDS if i.endswith("-v1")}
    # every qec_gym id still answers: its own registry, or SCENARIOS where its factory declares none
    cat = registry_for_env("qec_gym/CatSwitch-v1")
    for env_id in ENV_IDS + MULTI_PATCH_ENV_IDS:
        expect = cat if "CatSwitch" in env_id else SCENARIOS
        assert registry_for_env(env_id) is expect, env_id
    assert "cat_calm" in cat and "calm" not in cat
    assert pool_for_env("qec_gym/MultiPatchSwitch-v1") is None
    assert pool_for_env("qec_gym/CatSwitch-v5")[0] == "cat_randomised_drift"


def test_a_wrapper_that_declares_its_scenarios_is_a_qec_gym_env():
    import gymnasium as gym

    from qec_gym.noise.scenarios import pool_for_env, registry_for_env

    def wrapped(**kw):
        return gym.make("qec_gym/SurfaceSwitch-v3", **kw)

    wrapped.scenario_registry, wrapped.scenario_pool = SCENARIOS, ("calm", "bursts")
    env_id = "qec_gym_test/DeclaredScenarios-v0"
    if env_id not in gym.registry:
        gym.register(id=env_id, entry_point=wrapped)
    assert registry_for_env(env_id) is SCENARIOS and pool_for_env(env_id) == ("calm", "bursts")


def test_every_caller_refuses_scenarios_of_an_env_that_is_not_ours():
    import pandas as pd

    from qec_gym.agents.dataset import refuse_heldout_rows
    from qec_gym.agents.rollout import make_env
    from qec_gym.training.config import check_training_scenarios

    refused = r"'CartPole-v1' is registered .* not a qec_gym env"
    with pytest.raises(ValueError, match=refused):
        make_env("CartPole-v1")
    with pytest.raises(ValueError, match=refused):
        check_training_scenarios("CartPole-v1", "train")
    rows = pd.DataFrame({"scenario": ["calm"]})
    rows.attrs["env_id"] = "CartPole-v1"
    with pytest.raises(ValueError, match=refused):
        refuse_heldout_rows(rows, purpose="fitting")
    # and they still answer for our ids, including one whose factory declares no registry
    assert check_training_scenarios("qec_gym/MultiPatchSwitch-v1", ["calm"]) == ("calm",)
    assert check_training_scenarios("qec_gym/CatSwitch-v5", "train") == ("cat_randomised_drift",)
