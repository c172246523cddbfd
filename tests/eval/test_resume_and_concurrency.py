"""Result integrity of the harness: resume keys, concurrent writers, damaged files (issue 10
items 3 and 4), and fitted baselines fitted once per evaluation (issue 16 item 5)."""

from __future__ import annotations

import json
import warnings
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import pytest

import qec_gym.eval.harness as harness
from qec_gym.eval import EvalConfig, evaluate
from qec_gym.sim import csvstore
from qec_gym.sim.csvstore import ResultsFileWarning

ENV = "qec_gym/SurfaceSwitch-v1"
CFG = EvalConfig(ENV, scenarios=("calm", "bursts"), seeds=(0, 1), env_kwargs={"max_steps": 5})


def _evaluate(out):
    return len(evaluate(["oracle", "fixed:1"], CFG, out_path=out))


def test_two_processes_started_together_leave_one_row_per_episode(tmp_path):
    out = tmp_path / "r.csv"
    with ProcessPoolExecutor(2) as pool:
        sizes = list(pool.map(_evaluate, [out, out]))
    rows = pd.read_csv(out)
    assert sizes == [8, 8]
    assert len(rows) == 8  # 2 policies x 2 scenarios x 2 seeds; not 16
    assert not rows.duplicated(["policy", "scenario", "seed"]).any()


def test_a_writer_that_missed_the_other_skips_its_rows(tmp_path, monkeypatch):
    # The race in slow motion: both processes read the file before either wrote.
    out = tmp_path / "r.csv"
    first = evaluate(["oracle"], CFG, out_path=out)
    real = harness.read_results_file
    monkeypatch.setattr(harness, "read_results_file", lambda p: [] if p == out and not calls.append(1) and len(calls) == 1 else real(p))
    calls: list[int] = []
    second = evaluate(["oracle"], CFG, out_path=out)
    assert len(pd.read_csv(out)) == 4
    pd.testing.assert_frame_equal(first, second)
    traces = pd.read_csv(out.with_suffix(".traces.csv"))
    assert not traces.duplicated(["policy", "scenario", "seed", "step"]).any()


def test_readers_dedupe_a_file_with_doubled_rows(tmp_path):
    out = tmp_path / "r.csv"
    evaluate(["oracle"], CFG, out_path=out)
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines + lines[1:]))  # what two unlocked writers left behind
    with pytest.warns(ResultsFileWarning, match=r"4 row\(s\) repeat the key"):
        df = evaluate(["oracle"], CFG, out_path=out)
    assert len(df) == 4


@pytest.mark.parametrize("damage", ["truncated", "interleaved"])
def test_damaged_lines_are_skipped_named_and_resumed(tmp_path, damage):
    out = tmp_path / "r.csv"
    full = evaluate(["oracle"], CFG, out_path=out)
    lines = out.read_text().splitlines(keepends=True)
    if damage == "truncated":  # a killed writer: the last row cut off, no line end
        text = "".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2]
        bad_line = len(lines)
    else:  # two writers without a lock: one line holds parts of two rows
        text = "".join(lines[:2]) + lines[2][:30] + lines[3] + "".join(lines[4:])
        bad_line = 3
    out.write_text(text)
    with pytest.warns(ResultsFileWarning, match=rf"{out.name}: 1 unreadable line\(s\) .*line {bad_line}:"):
        df = evaluate(["oracle"], CFG, out_path=out)
    # the lost episode was recomputed (same numbers: same seeds), the file repaired
    pd.testing.assert_frame_equal(df.sort_values(["scenario", "seed"]).reset_index(drop=True),
                                  full.sort_values(["scenario", "seed"]).reset_index(drop=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(harness.read_results_file(out)) == 4


def test_a_backend_or_episode_length_change_is_refused(tmp_path):
    out = tmp_path / "r.csv"
    evaluate(["oracle"], CFG, out_path=out)
    for kwargs in ({"max_steps": 5, "backend": "circuit"}, {"max_steps": 6}, {}):
        with pytest.raises(ValueError, match="another env configuration .* cannot be mixed"):
            evaluate(["oracle"], EvalConfig(ENV, scenarios=("calm",), seeds=(0,), env_kwargs=kwargs), out_path=out)
    assert len(pd.read_csv(out)) == 4


def test_a_policy_with_another_identity_is_refused(tmp_path):
    tree_a, tree_b = tmp_path / "a.joblib", tmp_path / "b.joblib"
    tree_a.write_bytes(b"model a")
    tree_b.write_bytes(b"model b")
    assert harness.policy_identity(f"t=tree:{tree_a}") != harness.policy_identity(f"t=tree:{tree_b}")
    assert harness.policy_identity("oracle") == "oracle"
    out = tmp_path / "r.csv"
    evaluate(["fixed:1"], CFG, out_path=out)
    rows = pd.read_csv(out)
    rows["policy_id"] = "fixed:other"  # as if computed with something else under the same name
    rows.to_csv(out, index=False)
    with pytest.raises(ValueError, match="policy named 'fixed:1' with another identity"):
        evaluate(["fixed:1"], CFG, out_path=out)


def test_old_files_and_unregistered_versions_are_refused(tmp_path):
    out = tmp_path / "r.csv"
    evaluate(["oracle"], CFG, out_path=out)
    rows = pd.read_csv(out)
    rows.drop(columns=["env_kwargs", "backend", "policy_id"]).to_csv(tmp_path / "old.csv", index=False)
    with pytest.raises(ValueError, match="lacks the column.*older version"):
        evaluate(["oracle"], CFG, out_path=tmp_path / "old.csv")
    rows.assign(env_id="qec_gym/SurfaceSwitch-v9").to_csv(tmp_path / "gone.csv", index=False)
    with pytest.raises(ValueError, match=r"SurfaceSwitch-v9'\], which is no longer registered"):
        evaluate(["oracle"], CFG, out_path=tmp_path / "gone.csv")


def test_fitted_baselines_are_fitted_once_and_cached(tmp_path, monkeypatch):
    import qec_gym.agents as agents

    fits = []
    real = agents.make_baseline
    monkeypatch.setattr(agents, "make_baseline", lambda name, env, **kw: fits.append(name) or real(name, env, **kw))
    out = tmp_path / "r.csv"
    messages = []
    df = evaluate(["best_fixed"], CFG, out_path=out, status=messages.append)
    assert fits == ["best_fixed"]  # once for 2 scenarios x 2 seeds, not once per scenario
    assert messages[0] == "fitting best_fixed on the training scenarios"
    entry = df.policy_id.iloc[0]
    more = EvalConfig(ENV, scenarios=("calm", "bursts"), seeds=(0, 1, 2), env_kwargs={"max_steps": 5})
    df = evaluate(["best_fixed"], more, out_path=out)
    assert fits == ["best_fixed"]  # resumed from <results>.fitted.json
    assert len(df) == 6 and set(df.policy_id) == {entry}


def test_csvstore_append_is_idempotent_and_repairs(tmp_path):
    path = tmp_path / "x.csv"
    cols = {"k": int, "v": float}
    assert csvstore.append_rows(path, cols, [{"k": 1, "v": 0.5}, {"k": 1, "v": 0.7}], key=("k",)) == 1
    with open(path, "a") as f:
        f.write("2,0.")  # cut off
    with pytest.warns(ResultsFileWarning, match=r"x.csv: 1 unreadable line\(s\) dropped from the file \(line 3: cut off"):
        assert csvstore.append_rows(path, cols, [{"k": 2, "v": 0.25}], key=("k",)) == 1
    assert path.read_text() == "k,v\n1,0.5\n2,0.25\n"
    with pytest.raises(ValueError, match="another kind of file"):
        csvstore.append_rows(path, {"k": int, "w": float}, [{"k": 3, "w": 1.0}])


def test_demo_refuses_a_folder_made_with_another_configuration(tmp_path, capsys):
    from qec_gym.cli import main
    from qec_gym.demo import DemoConfig, _claim_folder

    _claim_folder(tmp_path, DemoConfig.smoke())  # as a `demo --smoke` run leaves it
    (tmp_path / "tree.joblib").write_bytes(b"a model of the smoke config")
    assert main(["demo", "--out", str(tmp_path), "--timesteps", "1024", "--seeds", "1"]) == 2
    err = capsys.readouterr().err
    assert "another configuration" in err and "max_steps: 30 there, None now" in err
    old = tmp_path / "old"
    (old / "eval").mkdir(parents=True)  # an older demo folder: products, no demo.json
    assert main(["demo", "--smoke", "--out", str(old)]) == 2
    assert "no demo.json" in capsys.readouterr().err
    _claim_folder(tmp_path, DemoConfig.smoke())  # the same configuration resumes


def test_random_rows_depend_only_on_their_key(tmp_path):
    whole = evaluate(["random"], CFG, out_path=tmp_path / "a.csv")
    evaluate(["random"], EvalConfig(ENV, scenarios=("bursts",), seeds=(1,), env_kwargs={"max_steps": 5}),
             out_path=tmp_path / "b.csv")
    resumed = evaluate(["random"], CFG, out_path=tmp_path / "b.csv")
    key = ["scenario", "seed"]
    pd.testing.assert_frame_equal(whole.sort_values(key).reset_index(drop=True),
                                  resumed.sort_values(key).reset_index(drop=True))


def test_certainty_equivalent_is_fitted_once_and_rebuilt_from_its_parameters(tmp_path, monkeypatch):
    """The fit cache rebuilds every fitted baseline from its parameters (`from_fitted_parameters`), the
    model-based one included: a resumed evaluation does not refit it and scores the same policy."""
    import qec_gym.agents as agents

    fits = []
    real = agents.fit_certainty_equivalent
    monkeypatch.setattr(agents, "fit_certainty_equivalent",
                        lambda *a, **kw: fits.append(1) or real(*a, **{**kw, "episodes": 1, "horizons": (5, 40)}))
    out = tmp_path / "r.csv"
    first = evaluate(["certainty_equivalent"], CFG, out_path=out)
    more = EvalConfig(ENV, scenarios=("calm", "bursts"), seeds=(0, 1, 2), env_kwargs={"max_steps": 5})
    again = evaluate(["certainty_equivalent"], more, out_path=out)
    assert fits == [1]
    assert set(again.policy_id) == set(first.policy_id) and len(again) == 6
    assert json.loads((tmp_path / "r.fitted.json").read_text()).popitem()[1]["horizon"] in (5.0, 40.0)


def test_a_wrong_model_controller_is_its_own_fitted_baseline(tmp_path, monkeypatch):
    """``certainty_equivalent:<model error>`` is fitted and cached under its own spec (not as the exact-model
    controller), its rows carry their own policy id, and a resumed evaluation rebuilds it without refitting."""
    import qec_gym.agents as agents

    fits = []
    real = agents.fit_certainty_equivalent
    monkeypatch.setattr(agents, "fit_certainty_equivalent",
                        lambda *a, **kw: fits.append(kw.get("model_error")) or real(*a, **{**kw, "episodes": 1,
                                                                                         "horizons": (5,)}))
    specs = ["certainty_equivalent", "certainty_equivalent:decode=1.5"]
    out = tmp_path / "r.csv"
    first = evaluate(specs, CFG, out_path=out)
    assert [str(e) if e else None for e in fits] == [None, "decode=1.5"]
    ids = first.groupby("policy").policy_id.first()
    assert ids["certainty_equivalent:decode=1.5"].startswith("certainty_equivalent:decode=1.5:")
    assert ids["certainty_equivalent:decode=1.5"] != ids["certainty_equivalent"]
    keys = json.loads((tmp_path / "r.fitted.json").read_text())
    assert sorted(k.rsplit(" ", 1)[1] for k in keys) == specs
    again = evaluate(specs, CFG, out_path=out)
    assert len(fits) == 2 and len(again) == len(first)
