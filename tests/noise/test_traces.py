"""The user's own scenarios and recorded traces: Scenario.from_trace, scenario objects in envs and the harness."""

from __future__ import annotations

import dataclasses
import pickle

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import qec_gym  # noqa: F401  (registers the ids)
from qec_gym.eval import EvalConfig, evaluate
from qec_gym.noise.params import NoiseParams
from qec_gym.noise.scenarios import SCENARIOS, Scenario, get_scenario, registry_for_env, scenario_digest

ENV = "qec_gym/SurfaceSwitch-v1"
# A recorded drift: a slow oscillation between x0.7 and x2.5 (inside SurfaceSwitch's grid 0.5..10).
TRACE = 1.6 + 0.9 * np.sin(np.arange(50) / 4.0)


def _csv(path, values=TRACE):
    pd.DataFrame({"time_s": np.arange(len(values)) * 0.01, "mult": values}).to_csv(path, index=False)
    return path


# ------------------------------------------------------------------------------------ from_trace
def test_csv_slices_into_episodes_that_replay_the_values(tmp_path):
    eps = Scenario.from_trace(_csv(tmp_path / "Lab Run.csv"), column="mult", episode_length=20)
    assert [s.name for s in eps] == ["lab_run_0", "lab_run_1"]  # 50 // 20 slices, the tail of 10 dropped
    assert all(s.split == "heldout" and s.episode_length == 20 for s in eps)
    for k, s in enumerate(eps):
        traj = s.trajectory(np.random.default_rng(k))
        # stim-uniform(1e-3) times the trace value, step by step, whatever the seed
        np.testing.assert_allclose([n.p2 for n in traj], 1e-3 * TRACE[20 * k:20 * (k + 1)], rtol=1e-12)
        np.testing.assert_allclose([n.p_meas for n in traj], 1e-3 * TRACE[20 * k:20 * (k + 1)], rtol=1e-12)


def test_npy_array_parquet_and_field_key(tmp_path):
    np.save(tmp_path / "t.npy", TRACE)
    from_npy = Scenario.from_trace(tmp_path / "t.npy", episode_length=25, name="lab")
    from_array = Scenario.from_trace(TRACE, episode_length=25, name="lab")
    assert [s.drifts for s in from_npy] == [s.drifts for s in from_array]
    assert [scenario_digest(s) for s in from_npy] == [scenario_digest(s) for s in from_array]  # not the path
    assert [s.name for s in from_array] == ["lab_0", "lab_1"]
    base = NoiseParams.uniform(2e-3)
    (readout,) = Scenario.from_trace(TRACE[:10], episode_length=10, baseline=base, key="p_meas", split="train")
    traj = readout.trajectory(np.random.default_rng(0))
    assert readout.split == "train"
    np.testing.assert_allclose([n.p_meas for n in traj], 2e-3 * TRACE[:10], rtol=1e-12)
    assert {n.p2 for n in traj} == {2e-3}
    pytest.importorskip("pyarrow")
    pd.DataFrame({"mult": TRACE}).to_parquet(tmp_path / "t.parquet")
    assert [s.drifts for s in Scenario.from_trace(tmp_path / "t.parquet", episode_length=25, name="lab")] == [
        s.drifts for s in from_array]


def test_telemetry_store_noise_estimates(tmp_path):
    from qec_gym.monitor.telemetry import TelemetryRecord, TelemetryWriter

    with TelemetryWriter(tmp_path / "telemetry.sqlite") as w:
        for t, v in enumerate(TRACE[:30]):
            w.append(TelemetryRecord(run_id="chip", t=t, shots=100, noise_estimate=float(v)))
        w.append(TelemetryRecord(run_id="other", t=0, shots=100, noise_estimate=1.0))
    with pytest.raises(ValueError, match=r"runs \['chip', 'other'\]"):
        Scenario.from_trace(tmp_path, episode_length=10)
    eps = Scenario.from_trace(tmp_path, episode_length=10, run_id="chip", name="chip")
    assert len(eps) == 3
    np.testing.assert_allclose(eps[2].multipliers(np.random.default_rng(0))["all"], TRACE[20:30])


def test_bad_traces_name_the_problem(tmp_path):
    path = _csv(tmp_path / "t.csv")
    with pytest.raises(ValueError, match=r"no column 'p'; columns present: \['time_s', 'mult'\]"):
        Scenario.from_trace(path, column="p")
    with pytest.raises(ValueError, match=r"columns \['time_s', 'mult'\]: name the one"):
        Scenario.from_trace(path)
    nan = TRACE.copy()
    nan[7] = np.nan
    with pytest.raises(ValueError, match="non-finite value .* at row 7"):
        Scenario.from_trace(_csv(tmp_path / "nan.csv", nan), column="mult", episode_length=10)
    neg = TRACE.copy()
    neg[12] = -0.5
    with pytest.raises(ValueError, match=r"value <= 0 \(-0.5\) at row 12"):
        Scenario.from_trace(neg, episode_length=10)
    with pytest.raises(ValueError, match="has 50 values, fewer than one episode of episode_length=500"):
        Scenario.from_trace(TRACE)
    with pytest.raises(ValueError, match="1-D"):
        Scenario.from_trace(np.ones((4, 4)), episode_length=2)
    with pytest.raises(FileNotFoundError):
        Scenario.from_trace(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="name="):
        Scenario.from_trace(TRACE, episode_length=10, name="Bad Name")


# ------------------------------------------------------------------------------------ envs
def test_env_keeps_the_objects_it_was_given_without_registering():
    eps = Scenario.from_trace(TRACE, episode_length=20, name="lab")
    env = gym.make(ENV, scenarios=["calm", *eps])
    u = env.unwrapped
    assert u.scenario_names == ("calm", "lab_0", "lab_1") and set(u.custom_scenarios) == {"lab_0", "lab_1"}
    _, info = env.reset(seed=3, options={"scenario": "lab_1"})
    assert info["scenario"] == "lab_1" and info["true_multiplier"] == pytest.approx(TRACE[20])
    # nothing registered: the module, the class and a fresh env know no trace scenario
    assert "lab_0" not in SCENARIOS and "lab_0" not in registry_for_env(ENV)
    assert "lab_0" not in gym.make(ENV).unwrapped.scenario_registry
    # a registered scenario given as an object is not custom; a name clash with other content is refused
    assert gym.make(ENV, scenarios=get_scenario("calm")).unwrapped.custom_scenarios == {}
    with pytest.raises(ValueError, match="both named 'calm'.*rename yours"):
        gym.make(ENV, scenarios=[dataclasses.replace(eps[0], name="calm")])
    other = Scenario.from_trace(TRACE[::-1], episode_length=20, name="lab")
    with pytest.raises(ValueError, match="both named 'lab_0'"):
        gym.make(ENV, scenarios=[eps[0], other[0]])
    # CatSwitch draws CatScenario objects: a NoiseParams scenario is refused by type
    with pytest.raises(TypeError, match="this env draws CatScenario scenarios, got a Scenario"):
        gym.make("qec_gym/CatSwitch-v1", scenarios=eps[0])


def test_out_of_grid_noise_is_a_clear_error_never_clipped():
    hot = TRACE[:20].copy()
    hot[5] = 40.0  # SurfaceSwitch's table covers x0.5..x10
    (s,) = Scenario.from_trace(hot, episode_length=20, name="hot")
    env = gym.make(ENV, scenarios=s)
    with pytest.raises(ValueError) as e:
        env.reset(seed=0)
    msg = str(e.value)
    assert "reaches noise multipliers 0.701..40, outside the table's grid 0.5..10" in msg
    assert "never clipped" in msg
    assert "axis=dataclasses.replace(env.unwrapped.axis, low=0.5, high=40.0, points=" in msg
    assert "NoiseAxis(baseline, 'all', low=0.5, high=40.0" in msg
    venv = gym.make_vec(ENV, num_envs=2, vectorization_mode="vector_entry_point", scenarios=s)
    with pytest.raises(ValueError, match="outside the table's grid 0.5..10 .*high=40.0"):
        venv.reset(seed=0)


# ------------------------------------------------------------------------------------ harness
def test_same_name_other_content_gets_other_rows(tmp_path):
    a = Scenario.from_trace(TRACE, episode_length=20, name="lab")
    b = Scenario.from_trace(TRACE * 1.1, episode_length=20, name="lab")
    assert scenario_digest(a[0]) == scenario_digest(Scenario.from_trace(TRACE, episode_length=20, name="lab")[0])
    assert scenario_digest(a[0]) != scenario_digest(b[0])
    cfg = EvalConfig(ENV, scenarios=a[:1], seeds=(0,))
    assert pickle.loads(pickle.dumps(cfg)) == cfg  # workers receive the objects
    out = tmp_path / "r.csv"
    first = evaluate(["fixed:0"], cfg, out_path=out)
    second = evaluate(["fixed:0"], EvalConfig(ENV, scenarios=b[:1], seeds=(0,)), out_path=out)
    assert first.scenario.tolist() == [f"lab_0@{scenario_digest(a[0])}"]
    assert second.scenario.tolist() == [f"lab_0@{scenario_digest(b[0])}"]
    assert first["return"].iloc[0] != second["return"].iloc[0]  # computed, not resumed from the other trace
    assert len(pd.read_csv(out)) == 2


def test_recorded_trace_is_evaluated_by_a_trained_run_and_a_tree(tmp_path):
    """Acceptance (issue 16): a CSV becomes scenarios, evaluated by PPO and a tree, no registry change."""
    from qec_gym.agents import DecisionTreeAgent, generate_dataset
    from qec_gym.cli import main
    from qec_gym.training import resolve_config, train

    short = {"max_steps": 30}
    cfg = resolve_config(ENV, "ppo", overrides={"n_timesteps": 512, "n_envs": 1, "n_steps": 128, "batch_size": 64,
                                                "n_epochs": 1, "env_kwargs": short}, eval_freq=0)
    train(cfg, tmp_path / "run")
    tree = DecisionTreeAgent.train(generate_dataset(ENV, episodes=2, seed=0, env_kwargs=short), max_depth=3)
    tree.save(tmp_path / "tree.joblib")
    ids_before = sorted(gym.registry)

    trace = _csv(tmp_path / "chip.csv")
    eps = Scenario.from_trace(trace, column="mult", episode_length=20)
    policies = [f"ppo=run:{tmp_path / 'run'}", f"tree=tree:{tmp_path / 'tree.joblib'}", "fixed:0"]
    df = evaluate(policies, EvalConfig(ENV, scenarios=eps, seeds=(0, 1)), out_path=tmp_path / "r.csv")
    labels = [f"chip_{k}@{scenario_digest(s)}" for k, s in enumerate(eps)]
    assert sorted(df.scenario.unique()) == labels
    assert len(df) == 3 * 2 * 2 and (df.steps == 20).all()
    # every policy saw the trace itself (paired): the stored step traces replay its values
    steps = pd.read_csv(tmp_path / "r.traces.csv")
    for policy, g in steps[steps.scenario == labels[1]].groupby("policy"):
        np.testing.assert_allclose(g.sort_values("step").true_multiplier, TRACE[20:40], rtol=1e-9, err_msg=policy)
    assert sorted(gym.registry) == ids_before and "chip_0" not in SCENARIOS

    # the CLI: the same trace through `qec-gym eval --trace`, resumed from the rows above
    out = tmp_path / "r.csv"
    rc = main(["eval", "--env", ENV, "--policies", "fixed:0", "--seeds", "2", "--out", str(out),
               "--trace", str(trace), "--column", "mult", "--episode-length", "20"])
    assert rc == 0
    assert len(pd.read_csv(out)) == len(df)  # same content, same keys: nothing recomputed


def test_cli_trace_errors_are_one_line(tmp_path, capsys):
    from qec_gym.cli import main

    trace = _csv(tmp_path / "chip.csv")
    assert main(["eval", "--trace", str(trace), "--column", "nope", "--out", str(tmp_path / "r.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "columns present: ['time_s', 'mult']" in err
    assert main(["eval", "--column", "mult", "--out", str(tmp_path / "r.csv")]) == 2
    assert "--column and --trace-baseline describe a --trace FILE" in capsys.readouterr().err
    hot = TRACE.copy()
    hot[3] = 40.0
    argv = ["eval", "--policies", "fixed:0", "--seeds", "1", "--trace", str(_csv(tmp_path / "hot.csv", hot)),
            "--column", "mult", "--episode-length", "50", "--out", str(tmp_path / "h.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "outside the table's grid 0.5..10" in err and "high=40.0" in err
