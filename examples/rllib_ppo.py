"""Train RLlib PPO (new API stack) on a registered qec-gym env as it is, with several env runners.

RLlib cannot share qec-gym's main venv (every ``ray[rllib]`` from 2.55 to 2.60 pins
``gymnasium==1.2.2``); make the side venv with ``scripts/setup-rllib.sh`` and run::

    ../rllib-venv/bin/python examples/rllib_ppo.py --iterations 5 --num-env-runners 2

The env is given to RLlib by its gymnasium id with gymnasium's ``"module:id"`` prefix
(``"qec_gym:qec_gym/SurfaceSwitch-v1"``): each env runner's ``gymnasium.make_vec`` then imports
``qec_gym``, which registers the ids, so no env creator has to be shipped to the workers and the env
is exactly the registered one (``--env-config`` passes its keyword overrides, as ``gymnasium.make``).
Prints one line per training iteration: mean episode return, env steps sampled, steps/s.
See docs/distributed.md, "RLlib".
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any


def ppo_config(
    env_id: str = "qec_gym/SurfaceSwitch-v1",
    *,
    num_env_runners: int = 2,
    num_envs_per_env_runner: int = 1,
    vectorize: str = "sync",
    train_batch_size: int = 2000,
    minibatch_size: int = 250,
    num_epochs: int = 5,
    env_config: dict[str, Any] | None = None,
    seed: int = 0,
):
    """PPO config on the registered ``env_id``: ``num_env_runners`` remote runners, each stepping
    ``num_envs_per_env_runner`` copies through ``gymnasium.make_vec`` with ``vectorize`` =
    ``"sync"`` (gymnasium's ``SyncVectorEnv`` of single envs) or ``"vector_entry_point"`` (qec-gym's
    batched ``QECSwitchVectorEnv``, table backend; same spaces and NEXT_STEP autoreset).

    Hyperparameters are those of qec-gym's SB3 PPO for SurfaceSwitch (gamma 0.98, lambda 0.95,
    entropy 0.01, clip 0.2, [64, 64] tanh MLP; ``qec_gym/training/hyperparams/ppo.yml``) except a
    constant lr 3e-4 (SB3: linear decay from it) and no observation normalization (SB3: VecNormalize).
    Episodes of the registered envs last 500 steps, so ``train_batch_size`` should be at least
    ``500 * num_env_runners * num_envs_per_env_runner`` for every iteration to finish episodes (and
    report a return).

    Raises:
        ValueError: ``num_env_runners`` or ``num_envs_per_env_runner`` < 1, an unknown ``vectorize``,
            or an ``env_id`` already carrying a ``module:`` prefix.
    """
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    if num_env_runners < 1:
        raise ValueError(f"num_env_runners must be >= 1, got {num_env_runners}.")
    if num_envs_per_env_runner < 1:
        raise ValueError(f"num_envs_per_env_runner must be >= 1, got {num_envs_per_env_runner}.")
    if vectorize not in ("sync", "vector_entry_point"):
        raise ValueError(f"vectorize must be 'sync' or 'vector_entry_point', got {vectorize!r}.")
    if ":" in env_id:
        raise ValueError(f"give the bare registered id (e.g. 'qec_gym/SurfaceSwitch-v1'), got {env_id!r}.")
    return (
        PPOConfig()
        .environment(f"qec_gym:{env_id}", env_config=dict(env_config or {}))
        .env_runners(
            num_env_runners=num_env_runners, num_envs_per_env_runner=num_envs_per_env_runner,
            num_cpus_per_env_runner=1, gym_env_vectorize_mode=vectorize,
        )
        .learners(num_learners=0)
        .training(
            train_batch_size_per_learner=train_batch_size,
            minibatch_size=minibatch_size,
            num_epochs=num_epochs,
            gamma=0.98,
            lambda_=0.95,
            lr=3e-4,
            entropy_coeff=0.01,
            clip_param=0.2,
        )
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64], fcnet_activation="tanh"))
        .debugging(seed=seed)
    )


def summarize(result: dict) -> dict[str, float]:
    """The numbers one iteration's ``Algorithm.train()`` result reports (NaN when absent)."""
    runners = result.get("env_runners", {})
    return {
        "episode_return_mean": float(runners.get("episode_return_mean", math.nan)),
        "num_episodes": float(runners.get("num_episodes", 0)),
        "env_steps_sampled": float(runners.get("num_env_steps_sampled", math.nan)),
        "env_steps_sampled_lifetime": float(result.get("num_env_steps_sampled_lifetime", math.nan)),
    }


def train(config, iterations: int, *, on_iteration=None) -> list[dict[str, float]]:
    """Build the algorithm, run ``iterations`` of ``train()``, stop it; one summary per iteration.

    Each summary adds ``seconds`` (wall time of that ``train()`` call, sampling plus learning).
    Ray must already be initialised (``ray.init``); the caller shuts it down.
    """
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}.")
    algo = config.build_algo()
    rows = []
    try:
        for i in range(iterations):
            t0 = time.perf_counter()
            row = summarize(algo.train())
            row["seconds"] = time.perf_counter() - t0
            row["iteration"] = i + 1
            rows.append(row)
            if on_iteration is not None:
                on_iteration(row)
    finally:
        algo.stop()
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env-id", default="qec_gym/SurfaceSwitch-v1", help="registered qec-gym id")
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--num-env-runners", type=int, default=2)
    p.add_argument("--num-envs-per-env-runner", type=int, default=1)
    p.add_argument("--vectorize", choices=("sync", "vector_entry_point"), default="sync",
                   help="vector_entry_point: qec-gym's batched vector env in each runner (table backend)")
    p.add_argument("--train-batch-size", type=int, default=2000)
    p.add_argument("--num-epochs", type=int, default=5)
    p.add_argument("--env-config", type=json.loads, default={}, help='keyword overrides as JSON, e.g. \'{"scenarios": "heldout"}\'')
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray (default: one per env runner; the learner runs in this process)")
    p.add_argument("--address", default=None, help="join an existing Ray cluster instead of starting one")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--torch-threads", type=int, default=1, help="torch threads of the learner (this process)")
    args = p.parse_args(argv)

    import ray
    import torch

    # The learner runs here; one thread is fastest for this small MLP (two spinning threads per
    # process halve throughput on a shared 2-core machine). Ray's 1-CPU env runners use one already.
    torch.set_num_threads(args.torch_threads)

    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(num_cpus=args.num_cpus or args.num_env_runners, include_dashboard=False)
    try:
        config = ppo_config(
            args.env_id, num_env_runners=args.num_env_runners,
            num_envs_per_env_runner=args.num_envs_per_env_runner, vectorize=args.vectorize,
            train_batch_size=args.train_batch_size,
            num_epochs=args.num_epochs, env_config=args.env_config, seed=args.seed,
        )
        print(f"{'iter':>4} {'return mean':>12} {'episodes':>8} {'steps':>7} {'seconds':>8} {'steps/s':>8}")
        rows = train(config, args.iterations, on_iteration=lambda r: print(
            f"{r['iteration']:>4} {r['episode_return_mean']:>12.3f} {r['num_episodes']:>8.0f} "
            f"{r['env_steps_sampled']:>7.0f} {r['seconds']:>8.2f} {r['env_steps_sampled'] / r['seconds']:>8.0f}",
            flush=True,
        ))
        steps = sum(r["env_steps_sampled"] for r in rows)
        seconds = sum(r["seconds"] for r in rows)
        print(f"total: {steps:.0f} env steps in {seconds:.1f} s = {steps / seconds:.0f} steps/s (sampling + learning)")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
