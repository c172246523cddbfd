import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qec_gym.eval.harness as harness
from qec_gym.eval import EvalConfig, evaluate, mean_ci, paired_difference, summarize

CFG = EvalConfig(
    "qec_gym/SurfaceSwitch-v1", scenarios=("ou_drift", "bursts"), seeds=(0, 1, 2),
    env_kwargs={"max_steps": 15}, trace_seeds=(0, 1, 2),
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "results.csv"
    df = evaluate(["fixed:0", "oracle"], CFG, out_path=out)
    return out, df


def test_paired_same_noise_trajectory_for_every_policy(results):
    out, df = results
    assert len(df) == 2 * 2 * 3
    traces = pd.read_csv(out.with_suffix(".traces.csv"))
    for (scenario, seed), sub in traces.groupby(["scenario", "seed"]):
        by_policy = [g.sort_values("step").true_multiplier.to_numpy() for _, g in sub.groupby("policy")]
        assert len(by_policy) == 2
        assert np.array_equal(by_policy[0], by_policy[1])
    # and the policies did act differently
    assert not np.array_equal(
        traces[traces.policy == "fixed:0"].entry.to_numpy(), traces[traces.policy == "oracle"].entry.to_numpy()
    )


def test_ci_math_matches_direct_computation(results):
    _, df = results
    x = df[df.policy == "oracle"]["return"].to_numpy()
    ci = mean_ci(x, 0.95)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    assert ci.mean == pytest.approx(x.mean()) and ci.high - ci.mean == pytest.approx(half)
    a = df[df.policy == "oracle"].set_index(["scenario", "seed"])["return"]
    b = df[df.policy == "fixed:0"].set_index(["scenario", "seed"])["return"]
    d = (a - b.loc[a.index]).to_numpy()
    diff = paired_difference(df, "oracle", "fixed:0")
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    assert diff.mean == pytest.approx(d.mean()) and diff.low == pytest.approx(d.mean() - half)
    table = summarize(df, reference="fixed:0", oracle="oracle")
    row = table.set_index("policy").loc["fixed:0"]
    assert row.regret == pytest.approx(d.mean())


def test_resume_skips_finished_episodes(tmp_path, monkeypatch):
    out = tmp_path / "r.csv"
    cfg = EvalConfig("qec_gym/SurfaceSwitch-v1", scenarios=("calm",), seeds=(0, 1), env_kwargs={"max_steps": 5})
    evaluate(["fixed:1"], cfg, out_path=out)
    calls = []
    real = harness.run_one
    monkeypatch.setattr(harness, "run_one", lambda *a, **k: calls.append(a[3:5]) or real(*a, **k))
    more = EvalConfig("qec_gym/SurfaceSwitch-v1", scenarios=("calm",), seeds=(0, 1, 2), env_kwargs={"max_steps": 5})
    df = evaluate(["fixed:1"], more, out_path=out)
    assert calls == [("calm", 2)]
    assert len(df) == 3 and len(pd.read_csv(out)) == 3


def test_results_of_another_env_are_refused(tmp_path):
    out = tmp_path / "r.csv"
    cfg = EvalConfig("qec_gym/SurfaceSwitch-v1", scenarios=("calm",), seeds=(0,), env_kwargs={"max_steps": 3})
    evaluate(["fixed:0"], cfg, out_path=out)
    df = pd.read_csv(out)
    df["env_version"] = 99
    df.to_csv(out, index=False)
    with pytest.raises(ValueError, match="cannot be mixed"):
        evaluate(["fixed:0"], cfg, out_path=out)


def test_bad_policies(tmp_path):
    cfg = EvalConfig("qec_gym/SurfaceSwitch-v1", scenarios=("calm",), seeds=(0,), env_kwargs={"max_steps": 3})
    with pytest.raises(ValueError, match="unknown"):
        evaluate(["no_such_policy"], cfg, out_path=tmp_path / "a.csv")
    (tmp_path / "run").mkdir()
    with pytest.raises(ValueError, match="run.json"):
        evaluate([f"run:{tmp_path / 'run'}"], cfg, out_path=tmp_path / "b.csv")
    with pytest.raises(ValueError, match="unique"):
        evaluate(["fixed:0", "fixed:0"], cfg, out_path=tmp_path / "c.csv")


def test_one_episode_has_no_interval(tmp_path):
    import math

    from qec_gym.eval.report import write_report

    x = mean_ci([-3.5])
    assert x.mean == -3.5 and math.isnan(x.low) and math.isnan(x.high) and not x.exists and not x.excludes_zero()
    assert str(x) == "-3.50 [n/a: n=1]"
    two = mean_ci([1.0, 1.0])  # two equal values: a (zero-width) t interval exists
    assert (two.low, two.high) == (1.0, 1.0)
    df = pd.DataFrame({"policy": ["a", "b"], "scenario": ["s", "s"], "seed": [0, 0], "return": [-3.5, -2.0],
                       "mean_log10_p_round": -3.0, "budget_violation_frac": 0.0, "qubit_rounds": 1.0, "switches": 0})
    table = summarize(df, reference="a", oracle="b").set_index("policy")
    assert math.isnan(table.loc["a", "return_low"]) and math.isnan(table.loc["b", "diff_high"])
    assert table.loc["b", "diff_vs_reference"] == 1.5
    # the report says n/a, never a zero-width interval
    out = tmp_path / "r.csv"
    cfg = EvalConfig("qec_gym/SurfaceSwitch-v1", scenarios=("calm",), seeds=(0,), env_kwargs={"max_steps": 3})
    evaluate(["fixed:0", "best_fixed"], cfg, out_path=out)
    md = write_report(out, tmp_path / "rep", reference="best_fixed", oracle=None).markdown.read_text()
    assert "[n/a]" in md and "single paired episode gives no interval" in md
    rows = [line for line in md.splitlines() if line.startswith("| `fixed:0`")]
    assert rows and all("[n/a]" in line for line in rows)


@pytest.mark.parametrize("bad, message", [("tree", "unknown baseline 'tree'"), ("t=run:/nonexistent/run", "has no run.json"),
                                          ("tree:/nonexistent/t.joblib", "no tree model at")])
def test_a_bad_policy_spec_is_refused_before_any_fit(tmp_path, monkeypatch, bad, message):
    """A bad spec anywhere in the list stops the evaluation before best_fixed is fitted (it used to
    surface only after minutes of fitting and episodes)."""
    def no_fit(*args, **kwargs):
        raise AssertionError("a baseline was fitted before the specs were checked")

    monkeypatch.setattr(harness._FitCache, "get", no_fit)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        evaluate(["best_fixed", bad], EvalConfig("qec_gym/SurfaceSwitch-v1", scenarios="train", seeds=(0,)),
                 out_path=tmp_path / "r.csv")
    assert not (tmp_path / "r.csv").exists()
