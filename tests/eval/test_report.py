"""Reports and plots from stored results: the evaluation report, the QEC simulation report, the CLI."""

from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import qec_gym.eval.qec_report as qec_report
from qec_gym.cli import main
from qec_gym.eval.harness import COLUMNS, TRACE_COLUMNS
from qec_gym.eval.plots import (
    plot_learning_curves,
    plot_policy_comparison,
    plot_regret,
    plot_scenarios,
    plot_trajectories,
    read_results,
    read_scalars,
)
from qec_gym.eval.qec_report import photonic_suitability, threshold_studies, write_qec_report
from qec_gym.eval.report import markdown_to_html, write_report
from qec_gym.sim.sweep import SweepConfig, SweepRow

ENV = "qec_gym/SurfaceSwitch-v1"
PNG = b"\x89PNG\r\n\x1a\n"
# Episode-level offsets from best_fixed: ppo better with a tight paired CI, tree indistinguishable,
# random clearly worse; clairvoyant the upper bound.
OFFSETS = {"best_fixed": 0.0, "clairvoyant": 2.0, "ppo": 1.0, "tree": 0.0, "random": -10.0}


def _results(path, *, policies=OFFSETS, env_id=ENV, seeds=range(4), scenarios=("calm", "bursts"), traces=True):
    rng = np.random.default_rng(0)
    rows, trace_rows = [], []
    base = {(s, k): -10.0 - 5 * i + rng.normal() for i, s in enumerate(scenarios) for k in seeds}
    for p, off in policies.items():
        for s in scenarios:
            for k in seeds:
                jitter = 0.0 if p == "best_fixed" else rng.normal(scale=0.1 if p != "tree" else 1.0)
                rows.append(dict.fromkeys(COLUMNS, 0) | {
                    "env_id": env_id, "env_version": 0, "policy": p, "scenario": s, "seed": k, "steps": 10,
                    "return": base[(s, k)] + off + jitter, "mean_log10_p_round": -3.2, "budget_violation_frac": 0.1,
                    "qubit_rounds": 4.9e6, "switches": 2, "mean_latency_us": 0.5,
                })
                if traces and k == 0:
                    m = 1.0 + np.sin(np.arange(10) / 3.0) ** 2
                    for t in range(10):
                        e = int(m[t] > 1.5) + (p == "ppo")
                        trace_rows.append({
                            "policy": p, "scenario": s, "seed": k, "step": t, "true_multiplier": m[t],
                            "noise_estimate": m[t] * 1.05, "entry": e,
                            "entry_label": f"rotated_surface d{3 + 2 * e} pymatching",
                            "p_round": 1e-3 * m[t] / (1 + e) if t % 3 else 0.0, "expected_p_round": 1e-3 * m[t] / (1 + e),
                            "reward": -0.5, "action": 0,
                        })
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    if traces:
        pd.DataFrame(trace_rows, columns=TRACE_COLUMNS).to_csv(path.with_suffix(".traces.csv"), index=False)
    return path


@pytest.fixture
def results(tmp_path):
    return _results(tmp_path / "results.csv")


def _is_png(path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG and path.stat().st_size > 2000


# ---------------------------------------------------------------------------- evaluation report
def test_report_has_tables_verdicts_and_figures(results, tmp_path):
    rep = write_report(results, tmp_path / "out", target=1e-3)
    md = rep.markdown.read_text()
    for policy in OFFSETS:
        assert f"| `{policy}` |" in md
    assert "regret to `clairvoyant`" in md and "vs `best_fixed` (paired)" in md
    assert "**`ppo` beats `best_fixed`**" in md
    assert "**`tree` does not beat `best_fixed` significantly**" in md
    assert "**`random` does worse than `best_fixed`**" in md
    assert "`clairvoyant` beats" not in md  # oracles are bounds, not contenders
    assert "## Per scenario" in md and "`bursts`" in md
    names = {f.name for f in rep.figures}
    assert {"policy_comparison.png", "regret.png", "scenarios.png", "trajectory_bursts.png", "trajectory_calm.png"} <= names
    assert all(_is_png(f) for f in rep.figures)
    for f in rep.figures:
        assert f"(figures/{f.name})" in md
    assert rep.notes == ()
    page = rep.html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page and '<img src="figures/regret.png"' in page
    # every figure has its own reproducing command, and the whole-report command is there
    assert md.count("python -c 'from qec_gym.eval.plots import") == len(rep.figures)
    assert f"qec-gym report --results {results.resolve()}" in md


def test_figure_commands_reproduce_the_figures(results, tmp_path):
    rep = write_report(results, tmp_path / "out", target=1e-3)
    line = next(ln for ln in rep.markdown.read_text().splitlines() if "plot_trajectories" in ln)
    code = line.split("python -c '", 1)[1].rstrip("'")
    target = rep.markdown.parent / "figures" / "trajectory_bursts.png"
    target.unlink()
    exec(code, {})  # noqa: S102 - the report's own command
    assert _is_png(target)


def test_report_notes_missing_reference_oracle_and_traces(tmp_path):
    path = _results(tmp_path / "r.csv", policies={"a": 0.0, "b": 1.0}, traces=False)
    rep = write_report(path, tmp_path / "out", reference="best_fixed", oracle="clairvoyant")
    md = rep.markdown.read_text()
    assert len(rep.notes) == 3 and "## Notes" in md
    assert "reference policy `best_fixed` is not in the results" in md
    assert "oracle `clairvoyant` is not in the results" in md
    assert "No traces file" in md
    assert "regret to" not in md and "beats" not in md
    assert {f.name for f in rep.figures} == {"policy_comparison.png", "scenarios.png"}


def test_report_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="qec-gym eval --out"):
        write_report(tmp_path / "missing.csv", tmp_path / "out")
    mixed = _results(tmp_path / "a.csv", policies={"a": 0.0})
    other = _results(tmp_path / "b.csv", policies={"b": 0.0}, env_id="qec_gym/PhotonicSwitch-v1")
    both = pd.concat([pd.read_csv(mixed), pd.read_csv(other)])
    both.to_csv(tmp_path / "mixed.csv", index=False)
    with pytest.raises(ValueError, match="mixes results of 2 envs"):
        write_report(tmp_path / "mixed.csv", tmp_path / "out")
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match="not a qec-gym results file"):
        write_report(tmp_path / "bad.csv", tmp_path / "out")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="holds no episodes"):
        read_results(tmp_path / "empty.csv")
    with pytest.raises(FileNotFoundError, match="no run folder"):
        write_report(mixed, tmp_path / "out", run_dirs=[tmp_path / "no-run"])


def test_plots_from_dataframes(results, tmp_path):
    df = pd.read_csv(results)
    assert _is_png(plot_policy_comparison(df, tmp_path / "c.png", reference="best_fixed"))
    assert _is_png(plot_regret(df, tmp_path / "r.png", oracle="clairvoyant"))
    assert _is_png(plot_scenarios(df, tmp_path / "s.png"))
    assert _is_png(plot_trajectories(results.with_suffix(".traces.csv"), tmp_path / "t.png", scenario="calm",
                                     policies=["ppo", "best_fixed"], target=1e-3))
    with pytest.raises(ValueError, match="oracle policy 'nobody'"):
        plot_regret(df, tmp_path / "x.png", oracle="nobody")
    with pytest.raises(ValueError, match="no trace in scenario"):
        plot_trajectories(results.with_suffix(".traces.csv"), tmp_path / "x.png", policies=["nobody"])


def _fake_run(folder, *, seed, returns):
    tb = pytest.importorskip("torch.utils.tensorboard")
    writer = tb.SummaryWriter(str(folder / "tb" / "ppo_1"))
    for k, r in enumerate(returns):
        writer.add_scalar("rollout/ep_rew_mean", r - 5, (k + 1) * 1000)
        writer.add_scalar("qec/eval_return", r, (k + 1) * 1000)
        writer.add_scalar("qec/eval_regret", -r / 10, (k + 1) * 1000)
    writer.close()
    (folder / "run.json").write_text(json.dumps({"env_id": ENV, "algo": "ppo", "seed": seed, "git_revision": "abc"}))
    with open(folder / "evaluations.jsonl", "w") as f:
        for k, r in enumerate(returns):
            f.write(json.dumps({"timesteps": (k + 1) * 1000, "return": r, "regret": -r / 10}) + "\n")
    return folder


def test_learning_curves_from_tensorboard(results, tmp_path):
    runs = [_fake_run(tmp_path / f"run{s}", seed=s, returns=[-50.0 + 10 * k + s for k in range(4)]) for s in (0, 1)]
    scalars = read_scalars(runs[0])
    assert scalars["qec/eval_return"] == ([1000, 2000, 3000, 4000], [-50.0, -40.0, -30.0, -20.0])
    assert _is_png(plot_learning_curves(runs, tmp_path / "lc.png"))
    rep = write_report(results, tmp_path / "out", run_dirs=runs, target=1e-3)
    md = rep.markdown.read_text()
    assert "## Learning curves" in md and "ppo s1 (run1)" in md and "| 4 | 4000 | -19 |" in md
    assert "--run" in md and _is_png(rep.markdown.parent / "figures" / "learning_curves.png")
    with pytest.raises(FileNotFoundError, match="no tensorboard events"):
        read_scalars(tmp_path / "out")


def test_tree_rules_in_report(results, tmp_path):
    pytest.importorskip("sklearn")
    from qec_gym.agents.dataset import generate_dataset
    from qec_gym.agents.tree import DecisionTreeAgent

    data = generate_dataset(ENV, episodes=2, seed=0, epsilon=0.2, env_kwargs={"max_steps": 10})
    path = DecisionTreeAgent.train(data, max_depth=2, min_samples_leaf=2).save(tmp_path / "tree.joblib")
    md = write_report(results, tmp_path / "out", tree_path=path, target=1e-3).markdown.read_text()
    assert "## Decision tree" in md and "|--- " in md and "--tree" in md
    with pytest.raises(FileNotFoundError, match="no decision tree"):
        write_report(results, tmp_path / "out", tree_path=tmp_path / "none.joblib")


def test_markdown_to_html_escapes_and_structures():
    page = markdown_to_html("# A <b>\n\npara `x<y` and **bold**\n\n- one\n- two\n\n```\n<raw> & co\n```\n", title="t")
    assert "<h1>A &lt;b&gt;</h1>" in page
    assert "<code>x&lt;y</code>" in page and "<strong>bold</strong>" in page
    assert "<ul><li>one</li><li>two</li></ul>" in page
    assert "<pre><code>&lt;raw&gt; &amp; co</code></pre>" in page


def test_cli_report(results, tmp_path, capsys):
    assert main(["report", "--results", str(results), "--out", str(tmp_path / "cli"), "--reference", "best_fixed"]) == 0
    assert (tmp_path / "cli" / "report.html").is_file()
    assert "report:" in capsys.readouterr().out
    assert main(["report", "--results", str(tmp_path / "none.csv"), "--out", str(tmp_path / "cli")]) == 2
    assert "no results at" in capsys.readouterr().err
    assert main(["report", "--out", str(tmp_path / "cli")]) == 2


# ---------------------------------------------------------------------------- QEC simulation report
# Structure only: too few shots for trustworthy thresholds (the slow test checks those). One
# sweep, because each sinter run starts worker processes (seconds).
TINY_SWEEPS = {
    "cc": SweepConfig(families=("rotated_surface",), distances=(3, 5), p_values=(0.04, 0.07, 0.13, 0.2),
                      noise="code_capacity", rounds=1, max_shots=1000, max_errors=1000, num_workers=1),
}


def test_qec_report_quick_on_tiny_sweeps(tmp_path):
    rep = write_qec_report(tmp_path / "q", quick=True, quick_sweeps=TINY_SWEEPS, n_bootstrap=50,
                           cat_csv=tmp_path / "no_cat.csv")
    md = rep.markdown.read_text()
    assert (tmp_path / "q" / "sweeps" / "cc.csv").is_file()
    rows = [ln for ln in md.splitlines() if ln.startswith("| `rotated_surface` | `pymatching` |")]
    assert len(rows) == 1 and "| code_capacity | 1 | 3, 5 |" in rows[0]
    assert "%** [" in rows[0] or "not estimated" in rows[0]  # an estimate with its interval, or why not
    assert "## Resources per code" in md and "| `color` | 5 |" in md
    assert "## Suitability: photonic preset" in md and "Which entry wins where" in md
    assert "Not available: no cat optimum table" in md
    assert "qec-gym sweep --code rotated_surface" in md and "--quick" in md
    assert all(_is_png(f) for f in rep.figures) and len(rep.figures) >= 2
    assert "<table>" in rep.html.read_text()


def test_qec_report_inputs(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="no sweep results at"):
        write_qec_report(tmp_path / "q", sweep_csvs=[tmp_path / "none.csv"])
    monkeypatch.setattr(qec_report, "REPO_FIGURES", tmp_path / "empty")
    with pytest.raises(ValueError, match="--quick"):
        write_qec_report(tmp_path / "q")


def test_threshold_studies_group_and_report_failures():
    def rows(family, d, pairs, rounds=None):
        return [SweepRow(family, d, rounds or d, "z", p, "uniform", None, "pymatching", "qec_gym", 10_000, e)
                for p, e in pairs]

    data = (rows("repetition", 3, [(0.01, 90), (0.1, 900)]) + rows("repetition", 5, [(0.01, 30), (0.1, 1500)])
            + rows("repetition", 3, [(0.01, 50), (0.02, 80)], rounds=9)
            + rows("repetition", 5, [(0.01, 20), (0.02, 30)], rounds=15)
            + rows("repetition_phase", 3, [(0.01, 90)]))
    studies = {s.key[1] + ":" + s.key[-1]: s for s in threshold_studies(data, n_bootstrap=0)}
    assert set(studies) == {"repetition:d", "repetition:3d", "repetition_phase:d"}
    assert 0.01 < studies["repetition:d"].estimate.value < 0.1
    assert studies["repetition:3d"].estimate is None and "extend the p range upwards" in studies["repetition:3d"].error
    assert "one distance only" in studies["repetition_phase:d"].error
    assert "not estimated" in studies["repetition_phase:d"].cells()[6]


def test_photonic_suitability_picks_cheapest_entry_meeting_target():
    s = photonic_suitability()
    for t in range(len(s.grid)):
        b = s.best(t)
        meeting = [e for e in range(len(s.labels)) if s.p_round[e][t] <= s.target]
        if b is None:
            assert not meeting
        else:
            assert s.p_round[b][t] <= s.target and s.qubits[b] == min(s.qubits[e] for e in meeting)
            assert s.low[b][t] <= s.p_round[b][t] * 1.5 and math.isfinite(s.high[b][t])


def test_suitability_states_each_tables_real_shots():
    """v1: 20,000 shots per cell and Clopper-Pearson on the counts; fitted (v2): the cells' own adaptive
    shots and the fit's interval around the fitted p_L."""
    v1 = photonic_suitability("qec_gym/PhotonicSwitch-v1")
    assert v1.interval == "Clopper-Pearson" and {n for row in v1.shots for n in row} == {20_000}
    assert "Each table cell holds 20,000 shots per memory basis" in "\n".join(v1.markdown("f.png", confidence=0.95))
    v2 = photonic_suitability("qec_gym/PhotonicSwitch-v2")
    table = gym.make("qec_gym/PhotonicSwitch-v2").unwrapped.table
    assert v2.interval == "fit" and v2.shots == tuple(tuple(int(n) for n in row) for row in table.shots[:, :, 0])
    assert len({n for row in v2.shots for n in row}) > 1  # adaptive: not one fixed count
    lo, hi = int(table.shots.min()), int(table.shots.max())
    assert f"Each table cell holds {lo:,} to {hi:,} shots (adaptive)" in "\n".join(v2.markdown("f.png", confidence=0.95))
    for e in range(len(v2.labels)):
        for t in range(len(v2.grid)):
            assert v2.low[e][t] <= v2.p_round[e][t] <= v2.high[e][t]
    with pytest.raises(ValueError, match="95% interval"):
        photonic_suitability("qec_gym/PhotonicSwitch-v2", confidence=0.99)


def test_cat_optimum_table(tmp_path):
    path = tmp_path / "cat.csv"
    path.write_text("distance,nbar,kappa1_over_kappa2,total\n5,2.0,0.001,0.07\n5,4.5,0.001,0.0014\n7,5.5,0.001,0.0006\n")
    md = "\n".join(qec_report.cat_optimum_lines(path))
    assert "| 5 | 4.5 | 0.001 | 0.0014 |" in md.split("All rows")[0]
    assert "| 7 | 5.5 |" in md


def test_cli_qec_report(tmp_path, capsys):
    assert main(["report", "--qec", "--out", str(tmp_path / "q"), "--sweeps", str(tmp_path / "none.csv")]) == 2
    assert "no sweep results at" in capsys.readouterr().err
    assert main(["report", "--qec", "--results", "x.csv", "--out", str(tmp_path / "q")]) == 2


@pytest.mark.slow
def test_qec_report_quick_full(tmp_path):
    """The end-to-end demo's configuration: both rotated-surface MWPM thresholds with intervals."""
    rep = write_qec_report(tmp_path / "q", quick=True)
    md = rep.markdown.read_text()
    cc = next(ln for ln in md.splitlines() if "| code_capacity |" in ln)
    circuit = next(ln for ln in md.splitlines() if "| uniform | d |" in ln)
    value = lambda line: float(line.split("**")[1].rstrip("%")) / 100  # noqa: E731
    assert 0.09 < value(cc) < 0.11 and 0.009 < value(circuit) < 0.013


def test_stirap_lines_name_the_optimum_and_the_winner(tmp_path):
    from qec_gym.eval.qec_report import stirap_lines

    path = tmp_path / "stirap.csv"
    rows = ["regime,width_s,family,distance,p_round,p_round_lo,p_round_hi"]
    for regime, xzzx in (("clear", (1e-4, 0.8e-4, 1.2e-4)), ("tied", (4.5e-4, 3e-4, 6e-4))):
        for w, p in ((1e-8, 2e-3), (5e-8, 5e-4), (1e-7, 9e-4)):
            rows.append(f"{regime},{w},rotated_surface,5,{p},{p * 0.8},{p * 1.2}")
        rows.append(f"{regime},5e-08,xzzx,5,{xzzx[0]},{xzzx[1]},{xzzx[2]}")
    path.write_text("\n".join(rows) + "\n")
    text = "\n".join(stirap_lines(path))
    assert "| clear | `rotated_surface` | 5 | 50 | 5.00e-04" in text
    assert "**clear**, d=5: `xzzx` wins at 50 ns" in text
    assert "**tied**, d=5: no code wins clearly (`xzzx` lowest, intervals overlap)" in text
