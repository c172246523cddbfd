"""Training seeds as the unit (train --seeds), learning curves over seeds, the split record that
enforces the held-out discipline, and optuna tuning on the validation split (docs/protocol.md)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest
import yaml

from qec_gym.cli import main
from qec_gym.eval.curves import learning_curve, read_evaluations
from qec_gym.training.splits import require_unseen_heldout, splits_seen

ENV = "qec_gym/SurfaceSwitch-v1"
TINY = {"n_timesteps": 512, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 2, "env_kwargs": {"max_steps": 50}}
TRAIN = ["--env", ENV, "--eval-freq", "256", "--eval-episodes", "2", "--checkpoint-freq", "256", "--no-progress"]


def _params(run) -> dict:
    with zipfile.ZipFile(run / "model.zip") as z:
        return {n: z.read(n) for n in z.namelist() if n.endswith(".pth")}


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    cfg = root / "tiny.yml"
    cfg.write_text(yaml.safe_dump(TINY))
    assert main(["train", *TRAIN, "--config", str(cfg), "--seeds", "0", "1", "--out", str(root / "ppo")]) == 0
    return root, cfg


def test_seeds_make_one_folder_per_seed_each_equal_to_its_single_seed_run(seeds, capsys):
    root, cfg = seeds
    assert main(["train", *TRAIN, "--config", str(cfg), "--seed", "1", "--out", str(root / "single1")]) == 0
    a, b = root / "ppo" / "seed1", root / "single1"
    assert json.loads((a / "run.json").read_text())["seed"] == 1
    assert _params(a) == _params(b) and _params(a) != _params(root / "ppo" / "seed0")
    assert read_evaluations(a) == read_evaluations(b)
    assert sorted(read_evaluations(a)) == [256, 512]
    assert splits_seen(a) == ("train", "validation")


def test_rerunning_seeds_resumes_and_skips_finished_runs(seeds, capsys):
    root, cfg = seeds
    before = {s: (root / "ppo" / f"seed{s}" / "model.zip").stat().st_mtime_ns for s in (0, 1)}
    assert main(["train", *TRAIN, "--config", str(cfg), "--seeds", "0", "1", "--out", str(root / "ppo")]) == 0
    assert {s: (root / "ppo" / f"seed{s}" / "model.zip").stat().st_mtime_ns for s in (0, 1)} == before
    assert "at least 5" in capsys.readouterr().err


@pytest.mark.parametrize("argv, match", [
    (["--seed", "0", "--seeds", "1"], "not allowed with argument"),
    (["--seeds", "1", "1"], "repeats a seed"),
    (["--jobs", "2"], "give --seeds"),
])
def test_seed_options_are_checked(argv, match, capsys, tmp_path):
    assert main(["train", "--timesteps", "64", "--out", str(tmp_path / "x"), *argv]) == 2
    assert match in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_learning_curve_is_the_mean_over_seeds_with_a_band(seeds, tmp_path, capsys):
    root, _ = seeds
    df = learning_curve([root / "ppo"], reps=300)
    per_seed = [read_evaluations(root / "ppo" / f"seed{s}") for s in (0, 1)]
    assert df.timesteps.tolist() == [256, 512] and set(df.runs) == {2} and set(df.episodes) == {2}
    for _, row in df.iterrows():
        assert row["mean"] == pytest.approx(np.mean([r[row.timesteps] for r in per_seed]))
        assert row["low"] <= row["mean"] <= row["high"]
    assert main(["report", "--out", str(tmp_path / "rep"), "--curves", str(root / "ppo")]) == 0
    assert (tmp_path / "rep" / "curves.png").stat().st_size > 1000
    table = pd.read_csv(tmp_path / "rep" / "curves.csv")
    assert table["mean"].tolist() == pytest.approx(df["mean"].tolist()) and set(table.group) == {"ppo"}


def test_heldout_evaluation_is_recorded_and_refused_by_tuning(seeds, tmp_path):
    from qec_gym.eval import EvalConfig, evaluate

    root, _ = seeds
    run = root / "ppo" / "seed0"
    spec = [f"ppo=run:{run}"]
    evaluate(spec, EvalConfig(ENV, scenarios="train", seeds=(0,), env_kwargs={"max_steps": 5}),
             out_path=tmp_path / "train.csv")
    assert splits_seen(run) == ("train", "validation")  # training scenarios: still unseen
    require_unseen_heldout([run])
    cfg = EvalConfig(ENV, scenarios=["calm", "heldout_ramp"], seeds=(0,), env_kwargs={"max_steps": 5})
    evaluate(spec, cfg, out_path=tmp_path / "heldout.csv")
    record = json.loads((run / "splits.json").read_text())
    assert splits_seen(run) == ("train", "validation", "heldout")
    assert [e["scenarios"] for e in record["heldout"]] == [["heldout_ramp"]] and record["heldout"][0]["at"]
    evaluate(spec, cfg, out_path=tmp_path / "heldout.csv")  # the record is not part of the identity: resumes
    assert len(json.loads((run / "splits.json").read_text())["heldout"]) == 2
    with pytest.raises(ValueError, match="held-out scenarios and may not be used for tuning"):
        require_unseen_heldout([run])


def test_tune_two_trials_on_validation_resumes_and_prints_yaml(tmp_path, capsys):
    cfg = tmp_path / "fixed.yml"
    cfg.write_text(yaml.safe_dump({k: v for k, v in TINY.items() if k not in ("n_timesteps", "n_steps")}))
    argv = ["tune", "--env", ENV, "--config", str(cfg), "--trials", "2", "--timesteps", "512",
            "--eval-episodes", "1", "--out", str(tmp_path / "study")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    best = yaml.safe_load(out)[ENV]
    assert set(best) == {"learning_rate", "n_steps", "ent_coef", "gamma"}
    import optuna

    study = optuna.load_study(study_name="qec-gym-tune", storage=f"sqlite:///{tmp_path / 'study' / 'study.db'}")
    values = [t.value for t in study.trials]
    assert len(values) == 2 and best == study.best_params and max(values) == study.best_value
    for k in range(2):
        run = tmp_path / "study" / f"trial{k}"
        assert splits_seen(run) == ("train", "validation")
        assert yaml.safe_load((run / "config.yaml").read_text())["env_kwargs"] == {"max_steps": 50}
    assert main(argv) == 0  # complete: nothing more to run
    assert len(optuna.load_study(study_name="qec-gym-tune", storage=study._storage).trials) == 2


def test_tune_refuses_heldout_scenarios_and_runs_that_saw_them(tmp_path, capsys):
    from qec_gym.training.splits import record_heldout
    from qec_gym.training.tune import tune

    for scenarios in ("heldout", ["calm", "heldout_ramp"]):
        with pytest.raises(ValueError, match="held-out scenarios"):
            tune(ENV, trials=1, timesteps=64, out=tmp_path / "s", overrides={"env_kwargs": {"scenarios": scenarios}})
    assert not (tmp_path / "s").exists()
    (tmp_path / "s" / "trial0").mkdir(parents=True)
    record_heldout(tmp_path / "s" / "trial0", env_id=ENV, scenarios=["heldout_ramp"])
    with pytest.raises(ValueError, match="may not be used for tuning"):
        tune(ENV, trials=1, timesteps=64, out=tmp_path / "s")
