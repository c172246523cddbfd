"""benchmarks/release_eval.py refuses bad arguments before any training (the script is not a module)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "release_eval.py"


def _main():
    spec = importlib.util.spec_from_file_location("release_eval", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.mark.parametrize("extra, message", [
    # a 0 used to read as "not given": --timesteps 0 trained the packaged 600,000 steps, --max-steps 0 full episodes
    (["--timesteps", "0"], "--timesteps"),
    (["--max-steps", "0"], "--max-steps"),
    (["--episodes", "0"], "--episodes"),
    (["--reps", "-1"], "--reps"),
    (["--train-seeds", "-1"], "--train-seeds"),
    (["--compare-to", "nosuch"], "--compare-to ['nosuch']: not evaluated"),
    (["--compare-to", "tree", "tree"], "named twice"),
])
def test_bad_arguments_are_refused_before_training(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as e:
        _main()(["--env", "qec_gym/SurfaceSwitch-v2", "--out", str(tmp_path / "out"), *extra])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not (tmp_path / "out").exists()  # nothing was started
