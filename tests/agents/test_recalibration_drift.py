"""Drift-tracking recalibration (`DriftRecalAgent`): recalibrate when priors and estimate disagree."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import qec_gym  # noqa: F401
from qec_gym.agents import DriftRecalAgent, DriftRecalConfig, make_baseline

V3 = "qec_gym/DecoderCalibration-v3"
MISMATCH = 14 + 3 + 2  # base features, one-hot of 3 entries, then priors, estimate, mismatch


def test_recalibrates_exactly_when_the_observed_mismatch_exceeds_the_threshold_in_the_env():
    env = gym.make(V3, max_steps=60)
    agent = DriftRecalAgent(DriftRecalConfig(entry=0, menu_size=3, threshold=0.15, min_age=3))
    obs, _ = env.reset(seed=5, options={"scenario": "readout_drift"})
    recals = 0
    for _ in range(60):
        age = round(float(obs[13]) * 100)
        want = 1 if (abs(obs[MISMATCH]) > 0.15 and age >= 2) else 0
        a = int(agent.predict(obs)[0])
        assert a == want
        announced = float(obs[MISMATCH - 1])  # the estimate a recalibration sets now
        obs, _, _, trunc, info = env.step(a)
        recals += a
        if a == 1:
            assert info["assumed_multiplier"] == pytest.approx(10 ** announced, rel=1e-5)
            assert obs[MISMATCH - 2] == pytest.approx(announced, abs=1e-5)  # the priors' multiplier is now observed
        if trunc:
            break
    assert recals > 0


def test_switches_to_its_entry_first():
    agent = DriftRecalAgent(DriftRecalConfig(entry=2, menu_size=3, threshold=0.3))
    obs = np.zeros(MISMATCH + 1)
    obs[14] = 1.0
    obs[MISMATCH] = 1.0
    assert int(agent.predict(obs)[0]) == 4


@pytest.mark.parametrize("kw,match", [(dict(threshold=0.0), "threshold"), (dict(threshold=0.2, min_age=0), "min_age"),
                                      (dict(threshold=0.2, entry=3), "entry")])
def test_config_rejects_bad_values(kw, match):
    with pytest.raises(ValueError, match=match):
        DriftRecalConfig(**{"entry": 0, "menu_size": 3, **kw})


def test_needs_the_calibration_state_observation():
    agent = DriftRecalAgent(DriftRecalConfig(entry=0, menu_size=3, threshold=0.2))
    with pytest.raises(ValueError, match="calibration_state=True"):
        agent.predict(np.zeros(17))
    with pytest.raises(ValueError, match="calibration_state=True"):
        make_baseline("drift_recal", gym.make("qec_gym/DecoderCalibration-v2"), episodes=1, env_kwargs={"max_steps": 5})


def test_make_baseline_config_round_trip():
    env = gym.make(V3)
    cfg = DriftRecalConfig(entry=1, menu_size=3, threshold=0.25, min_age=4)
    agent = make_baseline("drift_recal", env, config=cfg)
    assert isinstance(agent, DriftRecalAgent) and agent.config == cfg
