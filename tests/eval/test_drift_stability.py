"""Drift stability (`qec_gym.eval.drift_stability`): calm twins, pairing, the ratio and its intervals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qec_gym.eval.drift_stability import (
    Calmed,
    calm_twin,
    drift_stability,
    results_table,
    run_groups,
    stability_episodes,
)
from qec_gym.noise.drift import Bursts, OrnsteinUhlenbeck, RandomTelegraph
from qec_gym.noise.scenarios import get_scenario, list_scenarios


def _rows(excess_by_policy: dict, *, seeds=4, scenarios=("a", "b"), calm_level=1e-4):
    """Synthetic episodes: calm = calm_level * (1 + seed + scenario index); drift = calm + excess."""
    rows = []
    for p, excess in excess_by_policy.items():
        for j, s in enumerate(scenarios):
            for k in range(seeds):
                calm = calm_level * (1 + k + j)
                e = excess(k, j) if callable(excess) else excess
                rows += [{"policy": p, "scenario": s, "variant": "calm", "seed": k, "return": -calm * 1e4,
                          "logical_error": calm},
                         {"policy": p, "scenario": s, "variant": "drift", "seed": k, "return": -(calm + e) * 1e4,
                          "logical_error": calm + e}]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("name", list_scenarios("train"))
def test_calm_twin_has_no_drift_and_the_same_baseline(name):
    s = get_scenario(name)
    c = calm_twin(s)
    assert c.name == f"{name}_calm" and c.name != s.name
    assert (c.baseline, c.episode_length, c.split, c.tags) == (s.baseline, s.episode_length, s.split, s.tags)
    assert c.drifts.keys == s.drifts.keys
    traj = c.trajectory(np.random.default_rng(3))
    assert len(traj) == s.episode_length
    assert all(n == s.baseline for n in traj)
    m = c.multipliers(np.random.default_rng(3))
    assert all(np.array_equal(v, np.ones(s.episode_length)) for v in m.values())
    assert not s.is_heldout and not c.is_heldout  # validation twins stay on the training side


def test_calm_twin_draws_the_same_random_numbers_as_its_scenario():
    # What is drawn after the drift (the env's window-outcome stream) is the same in both twins.
    s = get_scenario("bursts")
    a, b = np.random.default_rng(11), np.random.default_rng(11)
    s.trajectory(a)
    calm_twin(s).trajectory(b)
    assert a.integers(2**63) == b.integers(2**63)


def test_calmed_wraps_composite_processes_and_rejects_non_processes():
    p = (RandomTelegraph.from_dwell(1.0, 2.0, dwell_low=5, dwell_high=5) + Bursts(0.2, 3.0, decay=2.0)).clip(high=4.0)
    assert Calmed(p).sample(50, np.random.default_rng(0)).tolist() == [1.0] * 50
    with pytest.raises(TypeError, match="DriftProcess"):
        Calmed(2.0)
    with pytest.raises(TypeError, match="get_scenario"):
        calm_twin("ou_drift")


def test_calm_twin_of_a_cat_scenario():
    from qec_gym.envs.cat_env import CAT_SCENARIOS

    s = next(iter(CAT_SCENARIOS.values()))
    c = calm_twin(s)
    k = c.trajectory(np.random.default_rng(0), n_steps=20)
    assert np.allclose(k, s.kappa1_over_kappa2) and c.kappa1_over_kappa2 == s.kappa1_over_kappa2


def test_ratio_on_a_synthetic_case_with_a_known_answer():
    # best fixed: drift adds 4e-4 to every pair; "half": 2e-4 -> ratio 2; "quarter": 1e-4 -> 4.
    df = _rows({"best_fixed": 4e-4, "half": 2e-4, "quarter": 1e-4})
    t = drift_stability(df, reps=300).set_index("policy")
    assert list(t.index) == ["best_fixed", "half", "quarter"]
    assert t.loc["best_fixed", "excess"] == pytest.approx(4e-4)
    assert t.loc["half", "ratio"] == pytest.approx(2.0) and t.loc["quarter", "ratio"] == pytest.approx(4.0)
    assert t.loc["quarter", "relative"] == pytest.approx(0.25)
    # constant excesses: every bootstrap draw gives the same ratio
    assert t.loc["quarter", "ratio_low"] == pytest.approx(4.0) and t.loc["quarter", "ratio_high"] == pytest.approx(4.0)
    assert t.loc["half", "pairs"] == 8
    assert t.loc["half", "drift"] - t.loc["half", "calm"] == pytest.approx(2e-4)


def test_training_runs_form_one_group_whose_interval_resamples_the_runs():
    # two training seeds: drift adds 2e-4 and 1e-4 (best fixed 4e-4): group relative excess
    # (0.5 + 0.25) / 2 = 0.375, ratio 8/3; resampled runs give 0.25..0.5, so the interval is [2, 4].
    df = _rows({"best_fixed": 4e-4, "ppo@0": 2e-4, "ppo@1": 1e-4, "tree": 1e-4})
    t = drift_stability(df, reps=400).set_index("policy")
    assert list(t.index) == ["best_fixed", "ppo", "tree"]
    assert t.loc["ppo", "runs"] == 2 and t.loc["tree", "runs"] == 1 and t.loc["ppo", "pairs"] == 8
    assert t.loc["ppo", "ratio"] == pytest.approx(8 / 3) and t.loc["ppo", "excess"] == pytest.approx(1.5e-4)
    assert t.loc["ppo", "ratio_low"] == pytest.approx(2.0) and t.loc["ppo", "ratio_high"] == pytest.approx(4.0)
    assert t.loc["tree", "ratio_low"] == pytest.approx(4.0)  # one run: nothing to resample but pairs
    res = results_table(df.assign(policy=df.policy.replace({"tree": "clairvoyant"})), reps=100).set_index("group")
    assert res.loc["ppo", "runs"] == 2 and res.loc["ppo", "episodes"] == 2 * 4 * 2


def test_run_groups_needs_two_runs_and_refuses_a_clash():
    assert run_groups(["best_fixed", "ppo@0", "ppo@1", "a@1"]) == {
        "best_fixed": ["best_fixed"], "ppo": ["ppo@0", "ppo@1"], "a@1": ["a@1"]}
    with pytest.raises(ValueError, match="also the names of groups of runs"):
        run_groups(["ppo", "ppo@0", "ppo@1"])
    with pytest.raises(ValueError, match="also the names of groups of runs"):
        drift_stability(_rows({"best_fixed": 4e-4, "ppo": 1e-4, "ppo@0": 1e-4, "ppo@1": 1e-4}), reps=10)


def test_ratio_interval_covers_the_truth_when_excesses_vary():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.5e-4, size=(2, 40, 2))
    df = _rows({"best_fixed": lambda k, j: 3e-4 + noise[0, k, j], "p": lambda k, j: 1e-4 + noise[1, k, j] / 3}, seeds=40)
    r = drift_stability(df, reps=500).set_index("policy").loc["p"]
    assert r.ratio_low < 3.0 < r.ratio_high and 2.0 < r.ratio_low and r.ratio_high < 4.5
    assert r.excess_low < 1e-4 < r.excess_high


def test_policy_identical_to_best_fixed_has_ratio_one():
    rng = np.random.default_rng(1)
    noise = rng.normal(2e-4, 1e-4, size=(6, 2))
    d = _rows({"best_fixed": lambda k, j: noise[k, j]})
    df = pd.concat([d, d.assign(policy="same")], ignore_index=True)
    r = drift_stability(df, reps=300).set_index("policy")
    for p in ("best_fixed", "same"):
        assert (r.loc[p, "ratio"], r.loc[p, "ratio_low"], r.loc[p, "ratio_high"]) == pytest.approx((1.0, 1.0, 1.0))


def test_no_excess_gives_infinite_ratio_and_unhurt_reference_gives_none():
    df = _rows({"best_fixed": 2e-4, "immune": 0.0, "better_under_drift": -1e-4})
    t = drift_stability(df, reps=200).set_index("policy")
    assert math.isinf(t.loc["immune", "ratio"]) and math.isinf(t.loc["immune", "ratio_high"])
    assert math.isinf(t.loc["better_under_drift", "ratio"])
    assert t.loc["better_under_drift", "excess"] == pytest.approx(-1e-4)  # the excess itself is reported
    unhurt = drift_stability(_rows({"best_fixed": 0.0, "p": 1e-4}), reps=200).set_index("policy")
    assert math.isnan(unhurt.loc["p", "ratio"]) and unhurt.loc["p", "excess"] == pytest.approx(1e-4)


def test_return_metric_counts_lost_return_as_excess():
    t = drift_stability(_rows({"best_fixed": 4e-4, "half": 2e-4}), metric="return", reps=200).set_index("policy")
    assert t.loc["best_fixed", "excess"] == pytest.approx(4.0)  # calm - drifting return
    assert t.loc["half", "ratio"] == pytest.approx(2.0)


def test_missing_pairs_and_reference_are_refused():
    df = _rows({"best_fixed": 1e-4, "p": 1e-4})
    with pytest.raises(ValueError, match="reference policy 'nope'"):
        drift_stability(df, reference="nope")
    broken = df.drop(df[(df.policy == "p") & (df.variant == "calm") & (df.seed == 0)].index)
    with pytest.raises(ValueError, match="lacks a drifting or calm episode"):
        drift_stability(broken)


def test_stability_episodes_are_paired_on_seeds():
    df = stability_episodes("qec_gym/SurfaceSwitch-v1", {"best_fixed": "fixed:2", "oracle": "oracle"},
                            scenarios=["ou_drift"], seeds=(10_000, 10_001), env_kwargs={"max_steps": 30})
    assert len(df) == 2 * 2 * 2
    assert set(df.scenario) == {"ou_drift"} and set(df.variant) == {"drift", "calm"}
    for _, g in df.groupby(["policy", "scenario"]):
        assert sorted(g[g.variant == "drift"].seed) == sorted(g[g.variant == "calm"].seed) == [10_000, 10_001]
    # a fixed configuration under constant baseline noise: the same expected logical error every window
    calm = df[(df.policy == "best_fixed") & (df.variant == "calm")]
    assert calm.logical_error.nunique() == 1
    # paired: re-running gives the same numbers (every draw seeded by the episode seed)
    again = stability_episodes("qec_gym/SurfaceSwitch-v1", {"best_fixed": "fixed:2"}, scenarios=["ou_drift"],
                               seeds=(10_000,), env_kwargs={"max_steps": 30})
    first = df[(df.policy == "best_fixed") & (df.seed == 10_000)].set_index("variant")
    assert again.set_index("variant").logical_error.to_dict() == first.logical_error.to_dict()
    # the table of returns on the drifting episodes comes from the aggregate helpers
    t = results_table(df.assign(policy=df.policy.replace({"oracle": "clairvoyant"})), reps=100)
    assert set(t.group) == {"best_fixed", "clairvoyant"} and "iqm_return" in t


def test_calm_episode_windows_match_the_drifting_ones_under_common_random_numbers():
    # A drift process that is exactly 1 (the calm twin itself) run as "drifting": both variants
    # then see identical windows, so every paired difference is exactly zero.
    s = calm_twin(get_scenario("ou_drift"), suffix="_quiet")
    df = stability_episodes("qec_gym/SurfaceSwitch-v1", {"best_fixed": "fixed:1"}, scenarios=[s], seeds=(10_000,),
                            env_kwargs={"max_steps": 20})
    d = df.set_index("variant")
    assert d.loc["drift", "return"] == d.loc["calm", "return"]
    assert d.loc["drift", "logical_error_sampled"] == d.loc["calm", "logical_error_sampled"]


def test_stability_episodes_bad_input():
    with pytest.raises(ValueError, match="policies is empty"):
        stability_episodes("qec_gym/SurfaceSwitch-v1", {})
    with pytest.raises(ValueError, match="seeds is empty"):
        stability_episodes("qec_gym/SurfaceSwitch-v1", {"f": "fixed:0"}, seeds=())


def test_ou_process_is_really_silenced():
    ou = OrnsteinUhlenbeck.from_stationary(0.9, 5)
    assert set(Calmed(ou).sample(100, np.random.default_rng(0))) == {1.0}


def test_report_and_cli_write_tables_and_figure(tmp_path, capsys):
    from qec_gym.cli import main

    rng = np.random.default_rng(2)
    noise = rng.normal(0, 0.3e-4, size=(3, 6, 2))
    df = _rows({"best_fixed": lambda k, j: 4e-4 + noise[0, k, j], "threshold": lambda k, j: 1e-4 + noise[1, k, j],
                "clairvoyant": lambda k, j: 0.5e-4 + noise[2, k, j]}, seeds=6)
    df = df.assign(steps=50, logical_error_sampled=df.logical_error, mean_log10_p_round=np.log10(df.logical_error),
                   switches=0, recalibrations=0, env_id="qec_gym/SurfaceSwitch-v1")
    csv = tmp_path / "episodes.csv"
    df.to_csv(csv, index=False)
    assert main(["report", "--drift-stability", str(csv), "--out", str(tmp_path / "rep"), "--reps", "200"]) == 0
    md = (tmp_path / "rep" / "drift_stability.md").read_text()
    assert "### `qec_gym/SurfaceSwitch-v1`" in md and "| `threshold` |" in md and "IQM return" in md
    ratio = drift_stability(df, reps=200).set_index("policy").loc["threshold"]
    assert f"| {ratio.ratio:.2f} [{ratio.ratio_low:.2f}, {ratio.ratio_high:.2f}] |" in md
    assert (tmp_path / "rep" / "drift_stability.png").stat().st_size > 1000
    assert main(["report", "--drift-stability", str(tmp_path / "missing.csv"), "--out", str(tmp_path)]) != 0
    assert "missing.csv" in capsys.readouterr().err


def test_results_table_without_a_normalisation_scale():
    # best fixed already scores like clairvoyant: no scale to normalise by, returns still reported
    df = _rows({"best_fixed": 1e-4, "clairvoyant": 1e-4, "p": 3e-4})
    t = results_table(df, reps=100).set_index("group")
    assert t.iqm.isna().all() and list(t.index)[-1] == "p"
    assert t.loc["p", "mean_return"] == pytest.approx(df[(df.policy == "p") & (df.variant == "drift")]["return"].mean())
