"""benchmarks/release_eval.py refuses bad arguments before any training (the script is not a module)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "release_eval.py"


def _module():
    spec = importlib.util.spec_from_file_location("release_eval", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _main():
    return _module().main


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


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("[1, 2]", "expected a mapping"),
    ("learning_rat: 0.1", "unknown hyperparameter(s) ['learning_rat']"),
    ("warm_start: {teacher: oracle}", "warm_start.teacher 'oracle' is not a deployable baseline"),
])
def test_a_bad_config_is_refused_before_anything_starts(tmp_path, capsys, content, message):
    config = tmp_path / "candidate.yml"
    if content is not None:
        config.write_text(content)
    ledger = tmp_path / "ledger.jsonl"
    with pytest.raises(SystemExit) as e:
        _main()(["--env", "qec_gym/SurfaceSwitch-v2", "--out", str(tmp_path / "out"), "--config", str(config),
                 "--draw", "3", "--ledger", str(ledger)])
    assert e.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not ledger.exists()  # no folder, no held-out draw spent


def test_train_one_trains_the_packaged_entry_with_the_config_overrides(tmp_path, monkeypatch):
    import qec_gym.training as training

    trained = []
    monkeypatch.setattr(training, "train", lambda cfg, run, resume: trained.append((cfg, run, resume)))
    config = {"learning_rate": 1e-5, "warm_start": {"dagger_iters": 1}}
    _module().train_one("qec_gym/DecoderCalibration-v3", "ppo", 3, 5000, str(tmp_path / "seed3"), {"max_steps": 20},
                        "native", config)
    ((cfg, run, resume),) = trained
    packaged = training.resolve_config("qec_gym/DecoderCalibration-v3", "ppo")
    assert cfg.seed == 3 and cfg.total_timesteps == 5000 and cfg.env_kwargs["max_steps"] == 20 and not resume
    assert cfg.hyperparams["learning_rate"] == 1e-5 and cfg.vec_env == "native"
    # warm_start merged key by key: the packaged teacher stays, the DAgger rounds change
    assert cfg.warm_start["teacher"] == packaged.warm_start["teacher"] == "certainty_equivalent"
    assert cfg.warm_start["dagger_iters"] == 1 != packaged.warm_start["dagger_iters"]
