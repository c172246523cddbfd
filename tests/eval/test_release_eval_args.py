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
    (["--compare-to", "tree", "clairvoyant"], "no policy beats it"),
])
def test_bad_arguments_are_refused_before_training(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as e:
        _main()(["--env", "qec_gym/SurfaceSwitch-v2", "--out", str(tmp_path / "out"), *extra])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not (tmp_path / "out").exists()  # nothing was started


@pytest.mark.parametrize("extra, message", [
    (["--draw", "1", "--scenarios", "confirmation"], "--draw and --scenarios both name the evaluation set"),
    (["--reuse-draw"], "add --draw SEED"),
    (["--draw-split", "validation"], "add --draw SEED"),
    (["--draw", "-2"], "--draw"),
    (["--fallback-variant", "episode"], "write LABEL:OPTIONS"),
    (["--fallback-variant", "a:alpha=0.1", "--fallback-variant", "a:split=episode"], "distinct labels"),
])
def test_bad_draw_and_variant_arguments_are_refused(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as e:
        _main()(["--env", "qec_gym/SurfaceSwitch-v2", "--out", str(tmp_path / "out"), *extra])
    assert e.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_used_held_out_draw_is_refused_before_training(tmp_path):
    from qec_gym.eval.ledger import record_draw

    ledger = tmp_path / "ledger.jsonl"
    record_draw(ledger, family="surface", seed=2, env_id="qec_gym/SurfaceSwitch-v2", out="runs/old")
    with pytest.raises(SystemExit, match=r"surface/2 was already used for qec_gym/SurfaceSwitch-v2.*--reuse-draw"):
        _main()(["--env", "qec_gym/SurfaceSwitch-v2", "--out", str(tmp_path / "out"), "--draw", "2",
                 "--ledger", str(ledger)])
    assert not (tmp_path / "out" / "ppo").exists()  # nothing trained
    assert len(ledger.read_text().splitlines()) == 1  # and nothing recorded
