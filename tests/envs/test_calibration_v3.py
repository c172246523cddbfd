"""DecoderCalibration-v3: observable calibration state and a noise-free reward; v2 unchanged."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import qec_gym  # noqa: F401
from qec_gym.envs import CALIBRATION_V3_REWARD

V2, V3 = "qec_gym/DecoderCalibration-v2", "qec_gym/DecoderCalibration-v3"
PRIORS, ESTIMATE, MISMATCH = 17, 18, 19  # after 14 base features and the one-hot of 3 entries


def test_v2_layout_and_sampled_reward_unchanged():
    env = gym.make(V2, max_steps=10)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (17,)
    u = env.unwrapped
    assert u.reward_estimator == "sampled" and not u.calibration_state
    _, r, *_, info = env.step(0)
    # v2's reward: decades above 1e-4 (hinge) of the window's sampled estimate, plus latency
    lat = 0.05 * max(0.0, info["latency_s"] / 1e-6 - 1.0)
    assert r == pytest.approx(-(max(0.0, math.log10(info["p_round"] / 1e-4)) + lat), abs=1e-12)


def test_calibration_state_observation():
    k = 4
    env = gym.make(V3, max_steps=30, recalibration_windows=k)
    obs, info = env.reset(seed=2, options={"scenario": "readout_drift"})
    assert obs.shape == (20,)
    # a full calibration before the run: the priors are the noise of step 0, known to the controller
    assert obs[PRIORS] == pytest.approx(math.log10(info["true_multiplier"]), abs=1e-6)
    assert obs[ESTIMATE] == pytest.approx(obs[8], abs=1e-6)  # one window seen
    seen = [float(obs[8])]
    for t in range(8):
        obs, *_, info = env.step(0)
        seen.append(float(obs[8]))
        assert obs[ESTIMATE] == pytest.approx(np.mean(seen[-k:]), abs=1e-5)
        assert obs[MISMATCH] == pytest.approx(obs[ESTIMATE] - obs[PRIORS], abs=1e-5)
    announced = float(obs[ESTIMATE])
    obs, *_, info = env.step(1)
    assert info["assumed_multiplier"] == pytest.approx(10**announced, rel=1e-5)
    assert obs[PRIORS] == pytest.approx(announced, abs=1e-5)
    # nothing of the true noise beyond the initial calibration: the priors are not the truth now
    assert info["assumed_multiplier"] != info["true_multiplier"]


def test_expected_reward_is_the_error_term_at_the_expected_rate():
    env = gym.make(V3, max_steps=20)
    env.reset(seed=1)
    cfg = CALIBRATION_V3_REWARD
    for a in (0, 1, 3, 0, 2, 1):
        _, r, *_, info = env.step(a)
        decades = max(math.log10(info["expected_p_round"] / cfg.target), -cfg.floor_decades)
        lat = cfg.latency_weight * max(0.0, info["latency_s"] / cfg.latency_budget_s - 1.0)
        want = -(decades + lat + cfg.recalibration_cost * info["recalibrated"] + cfg.switch_cost * info["switched"])
        # a switch adds its transient to the rate; compare without it
        if not info["switched"]:
            assert r == pytest.approx(want, abs=1e-9)


def test_clairvoyant_value_equals_its_realised_return_with_oracle_recalibration():
    # With a noise-free reward and recalibration to the true noise, the DP's expected return is what
    # executing its plan earns, up to the cost curve's interpolation (< 1e-3 per window).
    steps = 60
    env = gym.make(V3, max_steps=steps, recalibration="oracle")
    env.reset(seed=4, options={"scenario": "readout_drift"})
    plan, value = env.unwrapped.clairvoyant_plan()
    realised, switched = 0.0, 0
    for a in plan:
        _, r, *_, info = env.step(a)
        realised += r
        switched += info["switched"]
    transient = switched * 0.02  # a switch's transient (1e-3 over 1e4 rounds) is outside the DP: bounded
    assert abs(realised - value) < steps * 1e-3 + transient
    assert sum(a == 1 for a in plan) >= 0


def test_feature_names_cover_the_calibration_state():
    from qec_gym.agents.base import observation_feature_names

    names = observation_feature_names(gym.make(V3))
    assert names[PRIORS:] == ("log_noise_priors", "log_noise_recal_estimate", "log_noise_mismatch")


def test_bad_reward_estimator():
    with pytest.raises(ValueError, match="reward_estimator"):
        gym.make(V3, reward_estimator="mean")
