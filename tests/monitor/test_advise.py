"""Policy recommendations on replayed windows: the env's own observation, from measured data only."""

from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pytest
import stim

import qec_gym  # noqa: F401  (registers the envs)
from qec_gym.agents import ThresholdAgent, ThresholdConfig
from qec_gym.codes import build_circuit
from qec_gym.decoders import get_decoder
from qec_gym.envs.table import window_features
from qec_gym.monitor.advise import ReplayAdvisor, _Window
from qec_gym.monitor.ingest import ingest, read_shots
from qec_gym.monitor.telemetry import TelemetryWriter, read_telemetry
from qec_gym.sim import simulate_window
from qec_gym.sim.cache import detector_layout

D5 = 2  # SurfaceSwitch-v1 menu: (d3, d3 corr, d5, d5 corr, d7, ...)
LADDER = ThresholdConfig(ladder=(0, 2, 4, 6, 8), up=(0.0, 0.3, 0.6, 0.9), down=(-0.1, 0.2, 0.5, 0.8), menu_size=10)


@pytest.fixture(scope="module")
def env():
    return gym.make("qec_gym/SurfaceSwitch-v1")


@pytest.fixture(scope="module")
def drifting(env, tmp_path_factory):
    """A b8 recording of the d=5 entry whose noise multiplier rises 1 -> 6 (1,000 shots per window)."""
    u = env.unwrapped
    spec = u.menu[D5].specs()[0]
    ms = [1.0] * 4 + [1.5, 2.5, 4.0, 6.0, 6.0, 6.0]
    path = tmp_path_factory.mktemp("drift") / "drift.b8"
    with open(path, "wb") as f:
        for k, m in enumerate(ms):
            c = build_circuit(spec, u.axis.noise(m))
            x = c.compile_detector_sampler(seed=k).sample(1000, append_observables=True)
            f.write(np.packbits(x, axis=1, bitorder="little").tobytes())
    return path, build_circuit(spec, u.axis.noise(1.0)), ms


def test_replayed_features_equal_the_simulated_windows(env):
    # The same events through simulate_window (the env's circuit backend) and through the replay path.
    u = env.unwrapped
    spec = u.menu[D5].specs()[0]
    stats = simulate_window(spec, u.axis.noise(2.0), shots=2000, rng=np.random.default_rng(3), keep_events=True)
    dets = stats.detection_events
    _, effort = get_decoder("pymatching").compile(
        build_circuit(spec, u.axis.noise(2.0)).detector_error_model(decompose_errors=True)).decode_batch_with_effort(dets)
    replayed = window_features(_Window(dets, effort, detector_layout(spec)))
    np.testing.assert_allclose(replayed, window_features(stats), rtol=1e-12, atol=1e-15)


def test_replay_with_a_policy_recommends_moving_up_when_detections_rise(env, drifting, tmp_path):
    path, circuit, ms = drifting
    adv = ReplayAdvisor(env, ThresholdAgent(LADDER), circuit, "pymatching", name="threshold")
    assert adv.running_label == "rotated_surface d5 pymatching"
    with TelemetryWriter(tmp_path) as w:
        s = ingest(path, "b8", circuit=circuit, observables="appended", window_shots=1000, writer=w, policy=adv)
    df = read_telemetry(tmp_path)
    assert s.policy == "threshold" and s.running == "rotated_surface d5 pymatching"
    assert len(s.recommendations) == len(ms) == len(df)
    assert df["action"].notna().all() and (df["config_label"] == s.running).all()
    frac = df["detection_fraction"].to_numpy()
    assert frac[-1] > 3 * frac[0]  # the recording drifts up
    assert s.recommendations[:4] == ("keep",) * 4  # at the calibrated noise: stay at d=5
    last = s.recommendations[-1]
    assert last.startswith("switch to rotated_surface d") and int(last.split(" d")[1].split()[0]) > 5
    assert int(df["action"].iloc[-1]) - 2 in (4, 6, 8)
    # index 8 (the syndrome noise estimate) recovers the recorded multiplier from the events alone
    x = next(read_shots(path, "b8", num_detectors=circuit.num_detectors, num_observables=1, chunk_shots=1000))
    fresh = ReplayAdvisor(env, ThresholdAgent(LADDER), circuit, "pymatching")
    obs = fresh.observation(x[:, :-1], np.zeros(1000))
    assert abs(obs[8] - math.log10(ms[0])) < 0.1


def test_cli_replay_with_a_baseline_policy(drifting, tmp_path, capsys):
    from qec_gym.cli import main

    path, circuit, ms = drifting
    (tmp_path / "c.stim").write_text(str(circuit))
    rc = main(["monitor", "--replay", str(path), "--format", "b8", "--circuit", str(tmp_path / "c.stim"),
               "--observables", "appended", "--window-shots", "1000", "--policy", "fixed:4", "--out", str(tmp_path)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["recommendations"] == ["switch to rotated_surface d7 pymatching"] * len(ms)
    assert (read_telemetry(tmp_path)["action"] == 2 + 4).all()


def test_unmeasurable_observations_and_policies_are_refused(env, drifting):
    _, circuit, _ = drifting
    policy = ThresholdAgent(LADDER)
    with pytest.raises(ValueError, match="privileged"):
        ReplayAdvisor(gym.make("qec_gym/SurfaceSwitch-v1", privileged=True), policy, circuit, "pymatching")
    with pytest.raises(ValueError, match="calibration readout"):
        ReplayAdvisor(gym.make("qec_gym/SurfaceSwitch-v1", calibration_readout=True), policy, circuit, "pymatching")
    with pytest.raises(ValueError, match="true noise"):
        ReplayAdvisor.load("oracle", circuit, "pymatching")
    rep = stim.Circuit.generated("repetition_code:memory", distance=3, rounds=3)
    with pytest.raises(ValueError, match="matches no entry"):
        ReplayAdvisor(env, policy, rep, "pymatching")
    with pytest.raises(ValueError, match="--decoder pymatching"):
        ReplayAdvisor(env, policy, circuit, "uf")


def test_measured_observation_refuses_an_env_whose_observation_holds_the_true_noise():
    env = gym.make("qec_gym/SurfaceSwitch-v1", privileged=True).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="privileged=True or calibration_readout=True"):
        env.measured_observation(np.zeros(8), None, entry=0, windows_since_switch=0, windows_since_recalibration=0)
