"""Command-level behaviour of issue 11.7/11.8: config errors, honest interrupt messages, simulate's progress."""

import json

import pytest

from qec_gym.cli import main
from qec_gym.training import read_user_config, resolve_config


@pytest.mark.parametrize(("yaml_text", "expected"), [
    ("batch_size: 0\n", "hyperparameter batch_size (minibatch size) must be an integer >= 1, got 0"),
    ("gamma: 1.5\n", "hyperparameter gamma (discount factor) must be a number in [0, 1], got 1.5"),
    ("n_timesteps: 1e4.5\n", "hyperparameter n_timesteps (environment steps to train) must be an integer >= 1"),
    ("qec_gym/SurfaceSwitch-v1:\n  learning_rate: -1\n", "hyperparameter learning_rate"),
])
def test_bad_yaml_values_are_one_line(tmp_path, capsys, yaml_text, expected):
    cfg = tmp_path / "c.yml"
    cfg.write_text(yaml_text)
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_yaml_1e4_is_ten_thousand_steps(tmp_path):
    cfg = tmp_path / "c.yml"
    cfg.write_text("n_timesteps: 1e4\nlearning_rate: 3e-4\n")  # both strings to PyYAML
    resolved = resolve_config("qec_gym/SurfaceSwitch-v1", "ppo", overrides=read_user_config(cfg))
    assert resolved.total_timesteps == 10_000 and resolved.hyperparams["learning_rate"] == 3e-4


def test_interrupt_before_any_checkpoint_says_so(tmp_path, capsys, monkeypatch):
    import qec_gym.training

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(qec_gym.training, "train", interrupted)
    assert main(["train", "--timesteps", "64", "--out", str(tmp_path / "run"), "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert "before any checkpoint was saved" in err and "checkpoint saved" not in err


def test_interrupt_after_a_checkpoint_names_it(tmp_path, capsys, monkeypatch):
    import qec_gym.training

    from qec_gym.training.train import TrainingInterrupted

    def interrupted(cfg, out, **kwargs):  # what train() raises after saving at an update boundary
        (out_dir := tmp_path / "run" / "checkpoints").mkdir(parents=True)
        (out_dir / "model_128_steps.zip").write_bytes(b"")
        raise TrainingInterrupted(out_dir / "model_128_steps.zip", 128)

    monkeypatch.setattr(qec_gym.training, "train", interrupted)
    assert main(["train", "--timesteps", "256", "--out", str(tmp_path / "run"), "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert "model_128_steps.zip (128 steps)" in err and "--resume" in err


def test_simulate_batches_all_shots_with_a_bar(capsys):
    assert main(["simulate", "-d", "3", "-p", "0.02", "--shots", "3000", "--json", "--seed", "1"]) == 0
    out, err = capsys.readouterr()
    row = json.loads(out)
    assert row["shots"] == 3000 and row["per_shot"] == row["errors"] / 3000
    lo, hi = row["ci99"]
    assert 0 < lo <= row["per_shot"] <= hi < 1  # p = 2% at d = 3: errors occur
    assert 0.05 < row["detection_rate"] < 0.5
    assert "rotated_surface d=3 p=0.02" in err  # the per-task bar
    # the same seed reproduces the same numbers
    assert main(["simulate", "-d", "3", "-p", "0.02", "--shots", "3000", "--json", "--seed", "1", "--no-progress"]) == 0
    out2, err2 = capsys.readouterr()
    assert json.loads(out2) == row and err2 == ""


def test_eval_table_names_what_each_difference_is_measured_against(tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert main(["eval", "--env", "qec_gym/SurfaceSwitch-v2", "--policies", "fixed:0", "best_fixed", "clairvoyant",
                 "--scenarios", "calm", "--seeds", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    header = next(line for line in text.splitlines() if line.split()[:1] == ["policy"]).split()
    assert {"diff_vs_best_fixed", "diff_vs_best_fixed_low", "diff_vs_best_fixed_high", "regret"} <= set(header)
    assert "diff_vs_reference" not in text
    assert "diff_vs_best_fixed: paired mean return difference to best_fixed on the same episodes" in text
    assert "switches: configuration changes per episode (a fixed policy's 1 is its move off" in text


def test_eval_by_scenario_prints_each_scenarios_own_numbers(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "r.csv"
    argv = ["eval", "--env", "qec_gym/SurfaceSwitch-v2", "--policies", "fixed:0", "best_fixed", "clairvoyant",
            "--scenarios", "calm", "bursts", "--seeds", "2", "--out", str(out)]
    assert main(argv) == 0
    pooled = capsys.readouterr().out
    assert "per scenario with --by-scenario" in pooled
    assert main([*argv, "--by-scenario"]) == 0  # the same rows, read back from the resumable CSV
    text = capsys.readouterr().out
    lines = text.splitlines()
    header = next(line for line in lines if line.split()[:2] == ["scenario", "policy"]).split()
    pooled_header = next(line for line in pooled.splitlines() if line.split()[:1] == ["policy"]).split()
    assert header == ["scenario", *pooled_header]  # the same columns, per (scenario, policy)
    rows = [line.split() for line in lines[lines.index(next(x for x in lines if x.split()[:1] == ["scenario"])) + 1:]
            if line.split()[:1] in (["bursts"], ["calm"])]
    assert sorted((r[0], r[1]) for r in rows) == sorted((s, p) for s in ("bursts", "calm")
                                                          for p in ("fixed:0", "best_fixed", "clairvoyant"))
    df = pd.read_csv(out)
    for scenario, policy, episodes, ret, *_ in rows:
        sub = df[(df.scenario == scenario) & (df.policy == policy)]
        assert int(episodes) == 2 and float(ret) == pytest.approx(sub["return"].mean(), rel=5e-3)  # printed to 3 significant digits
    assert "each row from its scenario's episodes only" in text


def test_eval_help_documents_by_scenario(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    assert "--by-scenario" in capsys.readouterr().out
