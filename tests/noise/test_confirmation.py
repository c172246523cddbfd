"""The confirmation scenarios: a second held-out set, kept apart from training and from the first."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import qec_gym  # noqa: F401  (registers the envs)
from qec_gym.envs.cat_env import CAT_CONFIRMATION_SCENARIOS, CAT_HELDOUT_SCENARIOS, CAT_SCENARIOS, CAT_TRAINING_SCENARIOS
from qec_gym.eval import EvalConfig, evaluate
from qec_gym.noise.drift import Ramp, RandomTelegraph
from qec_gym.noise.scenarios import (
    CONFIRMATION_SCENARIOS,
    HELDOUT_SCENARIOS,
    READOUT_CONFIRMATION_SCENARIOS,
    SCENARIOS,
    TRAINING_SCENARIOS,
    confirmation_for_env,
    resolve_scenarios,
)
from qec_gym.training.splits import heldout_names

SURFACE = tuple(CONFIRMATION_SCENARIOS.values())
CAT = tuple(CAT_CONFIRMATION_SCENARIOS.values())
READOUT = tuple(READOUT_CONFIRMATION_SCENARIOS.values())


def _processes(drift):
    return set(drift.walk())


def test_held_out_and_apart_from_both_registries():
    assert len(SURFACE) == len(CAT) == len(READOUT) == 6
    for s in SURFACE + CAT + READOUT:
        assert s.split == "heldout" and s.is_heldout and "confirmation" in s.tags
    assert not (set(CONFIRMATION_SCENARIOS) | set(READOUT_CONFIRMATION_SCENARIOS)) & set(SCENARIOS)
    assert not set(CONFIRMATION_SCENARIOS) & set(READOUT_CONFIRMATION_SCENARIOS)
    assert not set(CAT_CONFIRMATION_SCENARIOS) & set(CAT_SCENARIOS)
    # "heldout" keeps meaning the first set, so earlier release commands reproduce
    env = gym.make("qec_gym/SurfaceSwitch-v1", scenarios="heldout", max_steps=3).unwrapped
    assert not set(env.scenario_names) & set(CONFIRMATION_SCENARIOS)


def test_no_confirmation_drift_appears_in_training_or_the_first_heldout_set():
    surface_train = {q for s in TRAINING_SCENARIOS.values() for _, p in s.drifts.drifts for q in p.walk()}
    surface_first = {p for s in HELDOUT_SCENARIOS.values() for _, p in s.drifts.drifts}
    for s in SURFACE + READOUT:
        mine = {p for _, p in s.drifts.drifts}
        assert not mine & surface_train and not mine & surface_first, s.name
    cat_train = {q for s in CAT_TRAINING_SCENARIOS.values() for q in _processes(s.drift)}
    cat_first = {s.drift for s in CAT_HELDOUT_SCENARIOS.values()}
    for s in CAT:
        assert s.drift not in cat_train and s.drift not in cat_first, s.name


def test_surface_confirmation_stays_on_the_table_and_below_threshold():
    axis_low = 0.5  # SURFACE_AXIS's lowest multiplier of stim-uniform(1e-3); its highest (x10) is above 9e-3
    for s in SURFACE:
        traj = [n for k in range(20) for n in s.trajectory(np.random.default_rng(k))]
        p = np.array([n.p2 for n in traj])
        assert axis_low * 1e-3 <= p.min() and p.max() <= 9.0001e-3, s.name
        assert p.max() / p.min() > 1.5, s.name  # it drifts


def test_readout_confirmation_drifts_only_the_measurement_error_inside_the_axis():
    for s in READOUT:
        assert [k for k, _ in s.drifts.drifts] == ["p_meas"], s.name
        m = np.concatenate([s.multipliers(np.random.default_rng(k))["p_meas"] for k in range(20)])
        assert 1.0 <= m.min() and m.max() <= 30.0, s.name  # CALIBRATION_AXIS: x1..x30
        assert m.max() / m.min() > 1.5, s.name


def test_cat_confirmation_stays_on_the_table():
    env = gym.make("qec_gym/CatSwitch-v4").unwrapped
    lo, hi = env.table.grid[0], env.table.grid[-1]
    for s in CAT:
        m = np.concatenate([s.multipliers(np.random.default_rng(k)) for k in range(20)])
        assert lo <= m.min() and m.max() <= hi, s.name
        assert m.max() / m.min() > 1.5, s.name


def test_recovery_ramp_and_lasting_jump_values():
    # Ramp runs downward as well: halfway between steps 50 and 250 the recovery is at x2.5
    assert Ramp(4.0, 1.0, duration=200, begin=50).sample(300, np.random.default_rng(0))[[0, 50, 150, 250, 299]].tolist() \
        == [4.0, 4.0, 2.5, 1.0, 1.0]
    # a telegraph that never leaves its high state: once up, up for good
    x = RandomTelegraph(1.0, 3.0, p_up=1 / 200, p_down=0.0, start="low").sample(2000, np.random.default_rng(3))
    first = int(np.argmax(x == 3.0))
    assert x[0] == 1.0 and first > 0 and (x[first:] == 3.0).all()


def test_training_refuses_them_and_the_harness_records_them_as_held_out():
    for scenarios in (SURFACE, [SURFACE[0]], SURFACE[0]):
        with pytest.raises(ValueError, match="for evaluation only"):
            resolve_scenarios(scenarios, registry=SCENARIOS, allow_heldout=False)
    names = [s.name for s in SURFACE]
    assert heldout_names(SURFACE, names, SCENARIOS) == tuple(names)


def test_confirmation_for_env_and_the_eval_keyword():
    assert confirmation_for_env("qec_gym/SurfaceSwitch-v3") == SURFACE
    assert confirmation_for_env("qec_gym/CatSwitch-v5") == CAT
    assert confirmation_for_env("qec_gym/DecoderCalibration-v3") == READOUT
    with pytest.raises(ValueError, match="has no confirmation scenarios.*SurfaceSwitch-v1"):
        confirmation_for_env("qec_gym/PhotonicSwitch-v1")
    assert EvalConfig("qec_gym/SurfaceSwitch-v2", scenarios="confirmation").scenarios == SURFACE
    assert EvalConfig("qec_gym/CatSwitch-v4", scenarios=["cat_calm", "confirmation"]).scenarios == ("cat_calm", *CAT)
    with pytest.raises(ValueError, match="no confirmation scenarios"):
        EvalConfig("qec_gym/PhotonicSwitch-v2", scenarios="confirmation")


def test_evaluation_on_the_confirmation_set_names_each_scenario_by_its_digest(tmp_path):
    cfg = EvalConfig("qec_gym/SurfaceSwitch-v1", scenarios="confirmation", seeds=(0,), env_kwargs={"max_steps": 3})
    df = evaluate(["fixed:0"], cfg, out_path=tmp_path / "r.csv")
    assert sorted(n.split("@")[0] for n in df.scenario) == sorted(CONFIRMATION_SCENARIOS)
    assert all("@" in n for n in df.scenario) and (df.steps == 3).all()


def test_a_confirmation_name_evaluates_and_is_refused_for_training_with_a_clear_message():
    # by name (CLI: qec-gym eval --scenarios readout_confirm_step_up), a confirmation scenario is its object
    config = EvalConfig("qec_gym/DecoderCalibration-v3", scenarios=["readout_confirm_step_up", "heldout_readout_jumps"],
                        seeds=(0,))
    assert config.scenarios[0] is READOUT_CONFIRMATION_SCENARIOS["readout_confirm_step_up"]
    assert config.scenarios[1] == "heldout_readout_jumps"
    env = config.make_env()
    assert env.unwrapped.scenario_names == ("readout_confirm_step_up", "heldout_readout_jumps")
    env.close()
    from qec_gym.training.config import check_training_scenarios

    # names and the keyword are outside the registries: refused as held out, not as "unknown"
    for env_id, spelling in (("qec_gym/SurfaceSwitch-v2", "confirm_step_up"),
                             ("qec_gym/SurfaceSwitch-v2", ["calm", "confirmation"]),
                             ("qec_gym/CatSwitch-v5", ["cat_confirm_recovery"]),
                             ("qec_gym/DecoderCalibration-v4", "readout_confirm_ramp_up")):
        with pytest.raises(ValueError, match="for evaluation only, not for training"):
            check_training_scenarios(env_id, spelling)
    with pytest.raises(ValueError, match="is a confirmation scenario.*scenarios='confirmation'"):
        gym.make("qec_gym/SurfaceSwitch-v2", scenarios=["confirm_step_up"], max_steps=3)
