"""Harness cost (issue 16 item 5): what the harness pays beyond a plain loop over the episodes.

The timing itself is benchmarks/bench_harness.py; these tests pin the mechanisms: batched,
never-lost appends and no import of the training stack for baseline-only evaluations.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import qec_gym.eval.harness as harness
from qec_gym.eval import EvalConfig, evaluate

ENV = "qec_gym/SurfaceSwitch-v1"
CFG = EvalConfig(ENV, scenarios=("calm", "bursts"), seeds=(0, 1), env_kwargs={"max_steps": 5})


@pytest.mark.parametrize("flush_seconds", [1e9, 0.0])
def test_rows_are_appended_in_batches(tmp_path, monkeypatch, flush_seconds):
    monkeypatch.setattr(harness, "FLUSH_SECONDS", flush_seconds)
    appends = []
    real = harness.csvstore.Appender.append

    def spy(self, rows):
        rows = list(rows)
        appends.append((self.path.name, len(rows)))
        return real(self, rows)

    monkeypatch.setattr(harness.csvstore.Appender, "append", spy)
    out = tmp_path / "r.csv"
    df = evaluate(["oracle", "fixed:1"], CFG, out_path=out)
    assert len(df) == 8
    if flush_seconds:  # all within FLUSH_SECONDS: one append of the results, one of the traces (seed 0)
        assert appends == [("r.csv", 8), ("r.traces.csv", 2 * 2 * 5)]
    else:  # one batch per episode: results, then traces when it is a seed-0 episode
        assert [n for name, n in appends if name == "r.csv"] == [1] * 8
        assert [n for name, n in appends if name == "r.traces.csv"] == [5] * 4
    assert len(pd.read_csv(out)) == 8


def test_finished_episodes_are_written_when_a_later_one_fails(tmp_path, monkeypatch):
    out = tmp_path / "r.csv"
    real = harness.run_one
    calls = []

    def failing(policy, env, spec, scenario, seed, *, trace):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C during the third episode
        return real(policy, env, spec, scenario, seed, trace=trace)

    monkeypatch.setattr(harness, "run_one", failing)
    with pytest.raises(KeyboardInterrupt):
        evaluate(["oracle"], CFG, out_path=out)
    rows = pd.read_csv(out)
    assert list(zip(rows.scenario, rows.seed)) == [("calm", 0), ("calm", 1)]
    monkeypatch.setattr(harness, "run_one", real)
    calls.clear()
    df = evaluate(["oracle"], CFG, out_path=out)  # resumes: only the two missing episodes run
    assert len(df) == 4


def test_baseline_evaluation_does_not_import_the_training_stack(tmp_path):
    # qec_gym.training imports torch and stable-baselines3 (~5 s): a harness of baselines only
    # must not pay it.
    code = (
        "import sys; from qec_gym.eval import EvalConfig, evaluate; "
        f"evaluate(['fixed:0'], EvalConfig({ENV!r}, scenarios=('calm',), seeds=(0,), env_kwargs={{'max_steps': 2}}), "
        f"out_path={str(tmp_path / 'r.csv')!r}); "
        "print(sorted(m for m in ('torch', 'stable_baselines3', 'qec_gym.training') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
