"""Seeded sweep backends (issue 15 item 4): counts are a function of the seed alone.

``backend="local"`` samples shot batches with seeds derived from (seed, task, batch), so the
stored counts do not depend on the worker count or on interruptions; the Ray backend runs the
same units (tests/test_ray_backend.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import sinter

from qec_gym.sim.executor import Executor, map_tasks
from qec_gym.sim.sweep import SweepConfig, _sample_unit, _Unit, batch_seed, load_results, make_tasks, run_sweep


def _cfg(**kw) -> SweepConfig:
    base = dict(families=("repetition", "rotated_surface"), distances=(3,), p_values=(0.01, 0.05),
                max_shots=3000, max_errors=150, num_workers=1)
    return SweepConfig(**{**base, **kw})


def _counts(stats):
    return [(s.strong_id, s.shots, s.errors, s.discards) for s in stats]


def test_counts_do_not_depend_on_workers_and_stop_at_the_first_batch_over_the_limits(tmp_path):
    one = run_sweep(_cfg(), save_path=tmp_path / "a.csv", backend="local", seed=7, batch_shots=500)
    two = run_sweep(_cfg(num_workers=2), save_path=tmp_path / "b.csv", backend="local", seed=7, batch_shots=500)
    assert _counts(one) == _counts(two)
    assert load_results(tmp_path / "a.csv") == load_results(tmp_path / "b.csv")
    for s in one:
        # either all shots, or stopped at the first whole batch whose running total reached max_errors
        assert s.shots == 3000 or (s.errors >= 150 and s.shots % 500 == 0)
    assert any(s.shots < 3000 for s in one) and any(s.shots == 3000 for s in one)  # both rules exercised
    other = run_sweep(_cfg(), save_path=None, backend="local", seed=8, batch_shots=500)
    assert _counts(other) != _counts(one)


def test_each_batch_is_the_seeded_stim_sample_decoded(tmp_path):
    # An independent construction of batch 2 of the first task: stim's seeded sampler and
    # pymatching on the task's DEM, compared with the unit's count.
    task = make_tasks(_cfg(families=("repetition",), p_values=(0.05,)))[0]
    sid = task.strong_id()
    [(shots, errors, _)] = _sample_unit(_Unit(task, sid, 3, 2, (400,)))
    import pymatching

    dets, obs = task.circuit.compile_detector_sampler(seed=batch_seed(3, sid, 2)).sample(400, separate_observables=True)
    predicted = pymatching.Matching.from_detector_error_model(task.detector_error_model).decode_batch(dets)
    assert shots == 400
    assert errors == int(np.any(predicted != obs, axis=1).sum()) > 0


def test_a_resumed_sweep_stores_what_an_uninterrupted_one_does(tmp_path):
    whole = run_sweep(_cfg(), save_path=tmp_path / "whole.csv", backend="local", seed=1, batch_shots=500)
    run_sweep(_cfg(max_shots=1000), save_path=tmp_path / "resumed.csv", backend="local", seed=1, batch_shots=500)
    again = run_sweep(_cfg(), save_path=tmp_path / "resumed.csv", backend="local", seed=1, batch_shots=500)
    assert _counts(again) == _counts(whole)
    finished = run_sweep(_cfg(), save_path=tmp_path / "resumed.csv", backend="local", seed=1, batch_shots=500)
    assert _counts(finished) == _counts(again)  # nothing left to sample
    # and sinter reads the file as its own (one line per wave and task)
    assert {s.strong_id: s.shots for s in sinter.read_stats_from_csv_files(tmp_path / "resumed.csv")} == {
        s.strong_id: s.shots for s in whole}


@pytest.mark.parametrize("kw, match", [
    ({"backend": "dask"}, "unknown sweep backend 'dask'"),
    ({"backend": "local", "seed": -1}, "seed must be an int >= 0"),
    ({"backend": "local", "batch_shots": 0}, "batch_shots must be an int >= 1"),
    ({"backend": "local", "address": "1.2.3.4:6379"}, "configure the Ray backend"),
    ({"num_cpus": 2}, "configure the Ray backend"),
])
def test_bad_backend_options_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        run_sweep(_cfg(), save_path=None, **kw)


def test_executor_local_keeps_input_order_and_checks_options():
    assert map_tasks(abs, [-3, 2, -1], workers=2) == [3, 2, 1]
    with pytest.raises(ValueError, match="unknown backend 'spark'"):
        Executor("spark")
    with pytest.raises(ValueError, match="workers must be an int >= 1"):
        Executor("local", workers=0)
    with pytest.raises(ValueError, match="configure the Ray backend"):
        Executor("local", num_cpus=2)
