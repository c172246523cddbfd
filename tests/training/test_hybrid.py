import gymnasium as gym
import numpy as np
import pytest

from qec_gym.agents import DecisionTreeAgent, generate_dataset
from qec_gym.training import load_run, resolve_config
from qec_gym.training.hybrid import train_hybrid

ENV = "qec_gym/SurfaceSwitch-v1"


@pytest.fixture(scope="module")
def tree_and_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("hybrid")
    data = generate_dataset(ENV, episodes=4, seed=0, out_path=d / "data.csv", env_kwargs={"max_steps": 60})
    tree = DecisionTreeAgent.train(data, max_depth=3)
    tree.save(d / "tree.joblib")
    return d, tree, data


def test_hybrid_starts_as_the_tree(tree_and_data, tmp_path):
    d, tree, data = tree_and_data
    cfg = resolve_config(ENV, "ppo", overrides={"n_timesteps": 64, "n_envs": 1, "n_steps": 64, "batch_size": 64,
                                                "n_epochs": 1, "learning_rate": 1e-9, "env_kwargs": {"max_steps": 60}},
                         eval_freq=0)
    train_hybrid(cfg, tmp_path / "run", tree_path=d / "tree.joblib", dataset=d / "data.csv", bc_epochs=300)
    import json

    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["hybrid"]["bc_accuracy"] > 0.9
    # with a negligible learning rate the fine-tuned policy still acts as the tree on fresh states
    env = gym.make(ENV, max_steps=60)
    policy = load_run(tmp_path / "run", env=env)
    obs, _ = env.reset(seed=123)
    agree = []
    for _ in range(60):
        a_tree, _ = tree.predict(obs)
        a_rl, _ = policy.predict(obs)
        agree.append(int(a_tree) == int(a_rl))
        obs, *_ = env.step(int(a_rl))
    assert np.mean(agree) > 0.8


def test_hybrid_rejects_recurrent_algorithms(tree_and_data, tmp_path):
    d, _, _ = tree_and_data
    cfg = resolve_config(ENV, "recurrentppo", overrides={"n_timesteps": 64}, eval_freq=0)
    with pytest.raises(ValueError, match="feed-forward"):
        train_hybrid(cfg, tmp_path / "r", tree_path=d / "tree.joblib", dataset=d / "data.csv")
