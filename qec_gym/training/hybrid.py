"""Hybrid decision tree + RL: behaviour-clone the tree into the policy, then fine-tune with PPO.

The tree (trained on the myopic oracle's labels) is a good, cheap prior but cannot weigh switch
costs or anticipate drift; PPO from scratch spends its first ~10^5 steps rediscovering what the
tree already knows. The hybrid starts PPO's actor as a copy of the tree (cross-entropy on the
tree's actions over the tree's own training observations; observation-normalisation statistics
are fitted on the same data first), then lets PPO improve on it. `compare` in the docs' results:
tree vs PPO vs hybrid, paired on held-out scenarios.

Example (shape of use; see ``tests/training/test_hybrid.py`` for a tiny run)::

    cfg = resolve_config("qec_gym/SurfaceSwitch-v1", "ppo")
    train_hybrid(cfg, "runs/hybrid", tree_path="runs/demo/tree.joblib",
                 dataset="runs/demo/tree_dataset.csv")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qec_gym.training.config import TrainConfig
from qec_gym.training.train import train


def behaviour_clone(model, observations: np.ndarray, actions: np.ndarray, *, epochs: int = 30,
                    batch_size: int = 256, lr: float = 1e-3, seed: int = 0) -> float:
    """Fit ``model``'s policy to ``actions`` by cross-entropy; returns the final accuracy.

    Args:
        model: An SB3 on-policy model with a discrete action space (PPO, A2C, MaskablePPO).
        observations: float32 (n, obs_dim), already normalised as the model will see them.
        actions: int (n,), the teacher's actions.
        epochs: Passes over the data.
        batch_size: Minibatch size.
        lr: Adam learning rate.
        seed: Shuffling seed.
    """
    import torch

    if len(observations) != len(actions) or len(actions) == 0:
        raise ValueError("observations and actions must be non-empty and of equal length.")
    policy = model.policy
    obs = torch.as_tensor(np.asarray(observations, dtype=np.float32))
    act = torch.as_tensor(np.asarray(actions, dtype=np.int64))
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    gen = np.random.default_rng(seed)
    policy.set_training_mode(True)
    for _ in range(epochs):
        order = gen.permutation(len(act))
        for start in range(0, len(order), batch_size):
            idx = torch.as_tensor(order[start:start + batch_size])
            logits = policy.get_distribution(obs[idx]).distribution.logits
            loss = torch.nn.functional.cross_entropy(logits, act[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    policy.set_training_mode(False)
    with torch.no_grad():
        pred = policy.get_distribution(obs).distribution.logits.argmax(dim=1)
    return float((pred == act).float().mean())


def train_hybrid(config: TrainConfig, run_dir: str | Path, *, tree_path: str | Path, dataset: str | Path,
                 bc_epochs: int = 30, resume: bool = False, progress_bar: bool = False):
    """Train ``config`` starting from a behaviour clone of the tree at ``tree_path``.

    Args:
        config: A PPO / A2C / MaskablePPO config (recurrent and DQN policies are not supported).
        run_dir: Run folder (as `train`); ``run.json`` records the tree and the clone's accuracy.
        tree_path: A saved `qec_gym.agents.DecisionTreeAgent` for the same env.
        dataset: The observations to clone on (a dataset CSV from `qec_gym.agents.generate_dataset`).
        bc_epochs: Behaviour-cloning epochs.

    Raises:
        ValueError: an unsupported algorithm, or a tree for another env.
    """
    import json

    from qec_gym.agents.dataset import feature_columns, load_dataset, refuse_heldout_rows
    from qec_gym.agents.tree import DecisionTreeAgent

    if config.algo not in ("ppo", "a2c", "maskableppo"):
        raise ValueError(f"the hybrid clones into a feed-forward actor-critic: use ppo, a2c or maskableppo, not {config.algo}.")
    tree = DecisionTreeAgent.load(tree_path, env_id=config.env_id)
    data = load_dataset(dataset)
    refuse_heldout_rows(data, purpose="training (behaviour cloning)")
    observations = data[feature_columns(data)].to_numpy(dtype=np.float32)
    teacher, _ = tree.predict(observations, deterministic=True)
    record: dict = {}

    def prepare(model, venv) -> None:
        obs = observations
        vn = model.get_vec_normalize_env()
        if vn is not None:
            # start the running statistics from the cloning data, so the clone sees at
            # training time the inputs it was fitted on
            vn.obs_rms.mean = observations.mean(axis=0).astype(np.float64)
            vn.obs_rms.var = observations.var(axis=0).astype(np.float64)
            vn.obs_rms.count = float(len(observations))
            obs = vn.normalize_obs(observations)
        record["bc_accuracy"] = behaviour_clone(model, obs, np.asarray(teacher), epochs=bc_epochs, seed=config.seed)

    model = train(config, run_dir, resume=resume, progress_bar=progress_bar, prepare_model=prepare)
    meta_path = Path(run_dir) / "run.json"
    meta = json.loads(meta_path.read_text())
    meta.setdefault("hybrid", {"tree": str(tree_path), "dataset": str(dataset), **record})
    meta_path.write_text(json.dumps(meta, indent=1))
    return model
