"""benchmarks/drift_stability.py: labelled learned runs, and policies appended to an existing episodes CSV."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "drift_stability.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("drift_stability_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_learned_runs_take_the_given_label(script, tmp_path):
    for k in (0, 3):
        (tmp_path / f"seed{k}").mkdir()
        (tmp_path / f"seed{k}" / "config.yaml").write_text("env_id: qec_gym/SurfaceSwitch-v1\n")
    assert script.learned_policies("qec_gym/SurfaceSwitch-v1", tmp_path, algo="ppo_ce") == {
        "ppo_ce@0": f"run:{tmp_path / 'seed0'}", "ppo_ce@3": f"run:{tmp_path / 'seed3'}"}
    with pytest.raises(ValueError, match="trained on qec_gym/SurfaceSwitch-v1, not qec_gym/SurfaceSwitch-v2"):
        script.learned_policies("qec_gym/SurfaceSwitch-v2", tmp_path)


@pytest.mark.parametrize("label", ["ppo@ce", "", " ppo"])
def test_a_bad_label_is_refused(script, capsys, label):
    with pytest.raises(SystemExit) as e:
        script.main(["--env", "qec_gym/SurfaceSwitch-v1", "--label", label])
    assert e.value.code == 2 and "--label" in capsys.readouterr().err


def test_only_missing_policies_are_appended_on_the_csvs_seeds_and_length(script, tmp_path):
    from qec_gym.eval.drift_stability import stability_episodes

    env_id = "qec_gym/CatSwitch-v4"
    first = stability_episodes(env_id, {"fixed0": "fixed:0"}, seeds=[10_000, 10_001], env_kwargs={"max_steps": 6})
    first.insert(0, "env_id", env_id)
    path = tmp_path / "episodes.csv"
    first.to_csv(path, index=False)
    before = pd.read_csv(path)
    script.add_missing(path, env_id, {"fixed0": "fixed:1", "fixed1": "fixed:1"}, say=lambda msg: None)
    df = pd.read_csv(path)
    # fixed0 is already there (its rows are kept as they were, not re-run under the new spec); fixed1 is added
    pd.testing.assert_frame_equal(df[df.policy == "fixed0"].reset_index(drop=True), before)
    added = df[df.policy == "fixed1"]
    assert len(added) == len(first)
    assert sorted(added.seed.unique()) == [10_000, 10_001] and added.steps.max() == 6
    assert (added.env_id == env_id).all()
