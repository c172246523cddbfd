"""Sweep CSVs with a damaged line are read and resumed, with a warning naming file and line
(issue 10 item 4 / issue 11 item 4: ``invalid literal for int() ... '}"'``)."""

from __future__ import annotations

import pytest

from qec_gym.sim.csvstore import ResultsFileWarning
from qec_gym.sim.sweep import SweepConfig, load_results, run_sweep

CFG = SweepConfig(families=("repetition",), distances=(3,), p_values=(0.02,), max_shots=400, max_errors=400,
                  num_workers=1)


@pytest.mark.parametrize("damage", ["truncated", "interleaved"])
def test_damaged_sweep_lines_are_skipped_and_resumed(tmp_path, damage):
    out = tmp_path / "s.csv"
    run_sweep(CFG, save_path=out)
    (good,) = load_results(out)
    lines = out.read_text().splitlines(keepends=True)
    if damage == "truncated":  # a sweep killed mid-line: the tail of the JSON column
        text = "".join(lines) + '}"'
    else:  # a line broken in the middle by another writer
        text = "".join(lines) + lines[1][:20] + lines[1]
    out.write_text(text)
    with pytest.warns(ResultsFileWarning, match=rf"{out.name}: 1 unreadable line\(s\) skipped \(line \d"):
        (row,) = load_results(out)
    assert (row.shots, row.errors) == (good.shots, good.errors)
    with pytest.warns(ResultsFileWarning, match="dropped from the file"):
        (stats,) = run_sweep(CFG, save_path=out)  # resumes: the stored shots count, nothing re-sampled
    assert stats.shots == good.shots
    assert load_results(out)[0].shots == good.shots
