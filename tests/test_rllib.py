"""RLlib PPO (new API stack) trains on a registered env as it is, with 2 env runners.

Runs only where ``ray[rllib]`` imports: its extra pins ``gymnasium==1.2.2`` (Ray 2.55-2.60), so it
lives in a side venv made by ``scripts/setup-rllib.sh``, not in the project's venv (gymnasium 1.4)::

    scripts/setup-rllib.sh ../rllib-venv
    ../rllib-venv/bin/python -m pytest -q -p no:cacheprovider -m slow tests/test_rllib.py

Slow (about a minute here: Ray start plus two env-runner actors dominate).
"""

import importlib.util
import math
from pathlib import Path

import pytest

try:
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig  # noqa: F401
except ImportError as e:
    pytest.skip(
        f"ray[rllib] not importable ({e}): it pins gymnasium==1.2.2, so it is not in the project's venv; "
        "make the side venv with scripts/setup-rllib.sh and run this test there (docs/distributed.md)",
        allow_module_level=True,
    )

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "rllib_ppo.py"


def _example():
    spec = importlib.util.spec_from_file_location("rllib_ppo_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_ppo_two_env_runners_on_registered_env():
    example = _example()
    # 500-step episodes: 1000 steps split over 2 runners finish one episode per runner per iteration.
    batch, runners, iterations = 1000, 2, 2
    config = example.ppo_config(
        "qec_gym/SurfaceSwitch-v1", num_env_runners=runners, train_batch_size=batch,
        minibatch_size=250, num_epochs=1, seed=0,
    )
    ray.init(num_cpus=runners, include_dashboard=False)
    try:
        rows = example.train(config, iterations)
    finally:
        ray.shutdown()
    assert len(rows) == iterations
    for row in rows:
        assert math.isfinite(row["episode_return_mean"]), row
        assert row["num_episodes"] >= runners, row
        assert row["env_steps_sampled"] >= batch, row
    assert rows[-1]["env_steps_sampled_lifetime"] >= iterations * batch


def test_config_rejects_bad_arguments():
    example = _example()
    with pytest.raises(ValueError, match="num_env_runners"):
        example.ppo_config(num_env_runners=0)
    with pytest.raises(ValueError, match="num_envs_per_env_runner"):
        example.ppo_config(num_envs_per_env_runner=0)
    with pytest.raises(ValueError, match="vectorize"):
        example.ppo_config(vectorize="async")
    with pytest.raises(ValueError, match="bare registered id"):
        example.ppo_config("qec_gym:qec_gym/SurfaceSwitch-v1")
