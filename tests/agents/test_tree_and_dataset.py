import json

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import qec_gym  # noqa: F401  (registers the ids)
from qec_gym.agents import DecisionTreeAgent, generate_dataset, load_dataset, make_baseline
from qec_gym.agents import dataset as dataset_mod
from qec_gym.agents.dataset import META_COLUMNS, feature_columns, meta_path
from qec_gym.cli import main

ENV_ID = "qec_gym/SurfaceSwitch-v1"
KW = {"max_steps": 30}


@pytest.fixture(scope="module")
def tiny():
    return generate_dataset(ENV_ID, episodes=4, seed=0, epsilon=0.3, env_kwargs=KW)


def test_dataset_columns_and_labels(tiny):
    names = feature_columns(tiny)
    assert names[0] == "rate" and names[14].startswith("running[") and len(names) == 24
    assert list(tiny.columns) == [*names, *META_COLUMNS]
    assert len(tiny) == 4 * 30 and sorted(tiny.episode.unique()) == [0, 1, 2, 3]
    # Training scenarios only, cycled in order.
    env = gym.make(ENV_ID)
    assert tiny.groupby("episode").scenario.first().tolist() == list(env.unwrapped.scenario_names[:4])
    # Off-oracle actions exist (epsilon) and labels are valid actions.
    assert (tiny.action != tiny.label).any() and tiny.label.between(0, 11).all()
    keep = tiny.label == 0
    running = np.argmax(tiny[names[14:]].to_numpy(), axis=1)
    assert (tiny.label_entry[keep] == running[keep.to_numpy()]).all()


def test_dataset_refuses_heldout_and_bad_args():
    with pytest.raises(ValueError, match="held-out"):
        generate_dataset(ENV_ID, episodes=1, seed=0, epsilon=0.1, env_kwargs={**KW, "scenarios": "heldout"})
    with pytest.raises(ValueError, match="epsilon"):
        generate_dataset(ENV_ID, episodes=1, seed=0, epsilon=1.5)
    with pytest.raises(ValueError, match="episodes"):
        generate_dataset(ENV_ID, episodes=0, seed=0, epsilon=0.1)


def test_dataset_resume_skips_finished_episodes(tmp_path, monkeypatch, tiny):
    out = tmp_path / "ds.csv"
    first = generate_dataset(ENV_ID, episodes=2, seed=0, epsilon=0.3, out_path=out, env_kwargs=KW)
    # The file equals the in-memory data (float32 round-trips through the CSV).
    in_memory = tiny[tiny.episode < 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, in_memory, check_dtype=False)

    # A chunk cut off by Ctrl-C mid-write is dropped on resume.
    with open(out, "a") as f:
        f.write("0.1,0.2,0.3")
    calls = []
    real = dataset_mod._episode_frame
    monkeypatch.setattr(dataset_mod, "_episode_frame", lambda env, k, **kw: calls.append(k) or real(env, k, **kw))
    more = generate_dataset(ENV_ID, episodes=3, seed=0, epsilon=0.3, out_path=out, env_kwargs=KW)
    assert calls == [2]  # episodes 0 and 1 were not regenerated
    pd.testing.assert_frame_equal(more[more.episode < 2], first, check_dtype=False)
    pd.testing.assert_frame_equal(more, tiny[tiny.episode < 3].reset_index(drop=True), check_dtype=False)
    assert json.loads(meta_path(out).read_text())["completed"] == [0, 1, 2]

    again = generate_dataset(ENV_ID, episodes=3, seed=0, epsilon=0.3, out_path=out, env_kwargs=KW)
    assert calls == [2] and len(again) == len(more)
    with pytest.raises(ValueError, match="other parameters"):
        generate_dataset(ENV_ID, episodes=3, seed=1, epsilon=0.3, out_path=out, env_kwargs=KW)
    (tmp_path / "foreign.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not written by generate_dataset"):
        generate_dataset(ENV_ID, episodes=1, seed=0, epsilon=0.3, out_path=tmp_path / "foreign.csv", env_kwargs=KW)


def test_tree_fit_rules_and_save_load_round_trip(tmp_path, tiny):
    agent = DecisionTreeAgent.train(tiny, max_depth=3, min_samples_leaf=2, seed=0)
    assert agent.target == "entry"  # the oracle never recalibrates with 1-D tables
    assert {"train_accuracy", "validation_accuracy", "n_train", "n_validation"} <= set(agent.metrics)
    rules = agent.rules()
    assert any(name in rules for name in agent.feature_names) and "class: run rotated_surface" in rules
    assert "class: " in DecisionTreeAgent.train(tiny, max_depth=2, target="action").rules()

    obs = tiny[list(agent.feature_names)].to_numpy(dtype=np.float32)
    path = agent.save(tmp_path / "tree.joblib")
    meta = json.loads((tmp_path / "tree.joblib.json").read_text())
    assert meta["env_id"] == ENV_ID and meta["observation_shape"] == [24] and meta["feature_names"][0] == "rate"
    assert "sklearn_version" in meta

    env = gym.make(ENV_ID, scenarios="heldout", max_steps=5)
    loaded = DecisionTreeAgent.load(path, env=env)
    np.testing.assert_array_equal(loaded.predict(obs)[0], agent.predict(obs)[0])
    assert make_baseline(f"tree:{path}", env).predict(obs[0])[0] == agent.predict(obs[0])[0]

    # Another env's observation shape / id: a clear error naming both.
    with pytest.raises(ValueError, match=r"shape \(24,\).*\(25,\)"):
        DecisionTreeAgent.load(path, env=gym.make(ENV_ID, calibration_readout=True))
    with pytest.raises(ValueError, match="PhotonicSwitch"):
        DecisionTreeAgent.load(path, env=gym.make("qec_gym/PhotonicSwitch-v1"))
    with pytest.raises(ValueError, match="24"):
        agent.predict(np.zeros(20))


def test_tree_load_corrupt_or_missing(tmp_path, tiny):
    agent = DecisionTreeAgent.train(tiny, max_depth=2, min_samples_leaf=2)
    path = agent.save(tmp_path / "t.joblib")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt"):
        DecisionTreeAgent.load(path)
    path.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="corrupt"):
        DecisionTreeAgent.load(path)
    agent.save(path)
    (tmp_path / "t.joblib.json").unlink()
    with pytest.raises(ValueError, match="sidecar"):
        DecisionTreeAgent.load(path)
    with pytest.raises(FileNotFoundError):
        DecisionTreeAgent.load(tmp_path / "none.joblib")


def test_cli_dataset_and_tree(tmp_path, capsys):
    ds, model = tmp_path / "d.csv", tmp_path / "m.joblib"
    assert main(["dataset", "--env", ENV_ID, "--episodes", "3", "--max-steps", "20", "--out", str(ds), "--quiet"]) == 0
    assert "60 rows" in capsys.readouterr().out
    assert main(["tree", "--dataset", str(ds), "--max-depth", "2", "--min-samples-leaf", "2", "--out", str(model)]) == 0
    out = capsys.readouterr().out
    assert "|---" in out and "training accuracy" in out and "validation accuracy" in out
    assert DecisionTreeAgent.load(model).env_id == ENV_ID
    assert len(load_dataset(ds)) == 60
    assert main(["tree", "--dataset", str(tmp_path / "missing.csv"), "--out", str(model)]) == 2


def _fill(out):
    return len(generate_dataset(ENV_ID, episodes=3, seed=0, epsilon=0.3, out_path=out, env_kwargs={"max_steps": 10}))


def test_two_dataset_writers_store_each_episode_once(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    out = tmp_path / "d.csv"
    with ProcessPoolExecutor(2) as pool:
        sizes = list(pool.map(_fill, [out, out]))
    assert sizes == [30, 30]
    raw = pd.read_csv(out)
    assert len(raw) == 30 and not raw.duplicated(["episode", "step"]).any()
    assert json.loads(meta_path(out).read_text())["completed"] == [0, 1, 2]
    alone = generate_dataset(ENV_ID, episodes=3, seed=0, epsilon=0.3, env_kwargs={"max_steps": 10})
    pd.testing.assert_frame_equal(load_dataset(out), alone, check_dtype=False)


def test_a_dataset_with_doubled_rows_is_read_once(tmp_path):
    from qec_gym.sim.csvstore import ResultsFileWarning

    out = tmp_path / "d.csv"
    generate_dataset(ENV_ID, episodes=1, seed=0, epsilon=0.3, out_path=out, env_kwargs={"max_steps": 4})
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines + lines[1:]))
    meta = json.loads(meta_path(out).read_text())
    meta_path(out).write_text(json.dumps({**meta, "bytes": out.stat().st_size}))
    with pytest.warns(ResultsFileWarning, match=r"4 row\(s\) repeat an \(episode, step\)"):
        assert len(load_dataset(out)) == 4


def test_reference_tree_is_the_recipe_fitted_once_and_checked_on_load(tmp_path):
    from qec_gym.agents import fit_reference_tree

    # The recipe, written out: oracle labels with 20% random actions from seed 0, depth 4.
    data = generate_dataset(ENV_ID, episodes=3, seed=0, epsilon=0.2, env_kwargs=KW)
    expected = DecisionTreeAgent.train(data, max_depth=4).rules()
    path = tmp_path / "tree.joblib"
    assert fit_reference_tree(ENV_ID, path, episodes=3, env_kwargs=KW).rules() == expected
    assert fit_reference_tree(ENV_ID, None, episodes=3, env_kwargs=KW).rules() == expected
    # A saved tree is reused as it is (its recipe is not re-run), and a tree of another env is refused.
    mtime = path.stat().st_mtime_ns
    assert fit_reference_tree(ENV_ID, path, episodes=3, env_kwargs=KW).rules() == expected
    assert path.stat().st_mtime_ns == mtime
    with pytest.raises(ValueError, match="trained for 'qec_gym/SurfaceSwitch-v1'"):
        fit_reference_tree("qec_gym/SurfaceSwitch-v2", path, episodes=3, env_kwargs=KW)
