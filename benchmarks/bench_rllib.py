"""PPO training throughput (env steps/s, sampling + learning) on a registered env: RLlib vs SB3.

Same PPO on both sides, one torch thread per process: ``--batch`` (2,000) steps per iteration
from 2 x ``--envs-per-worker`` env copies, 5 epochs of 250-step minibatches, [64, 64] tanh MLP
(``examples/rllib_ppo.py``'s config). RLlib samples in 2 env-runner actors (local Ray, 2 CPUs;
``--vectorize``: gymnasium's SyncVectorEnv or qec-gym's vector env in each) and learns in this
process; SB3 steps its copies in this process (``DummyVecEnv``, as ``qec-gym train``; or
``--sb3-vec native``: qec-gym's ``NativeVecEnv``) or in subprocesses (``--sb3-vec subproc``).
The two frameworks live in different venvs (RLlib pins gymnasium 1.2.2; scripts/setup-rllib.sh)::

    ../rllib-venv/bin/python benchmarks/bench_rllib.py --framework rllib
    .venv/bin/python benchmarks/bench_rllib.py --framework sb3

Prints one JSON line: steps, seconds (training calls only: Ray start and algorithm build excluded),
steps/s over all iterations and without the first (warm-up).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from pathlib import Path

# One torch thread per process on both sides (as `qec-gym train`'s default torch_threads; Ray gives
# its 1-CPU actors OMP_NUM_THREADS=1): two spinning threads per process on a shared 2-core machine
# slow PPO down several-fold.
os.environ.setdefault("OMP_NUM_THREADS", "1")
RUNNERS, MINIBATCH, EPOCHS = 2, 250, 5


def bench_rllib(env_id: str, iterations: int, batch: int, envs_per_worker: int, vectorize: str) -> list[tuple[float, float]]:
    import ray

    spec = importlib.util.spec_from_file_location("rllib_ppo_example", Path(__file__).parents[1] / "examples" / "rllib_ppo.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    ray.init(num_cpus=RUNNERS, include_dashboard=False)
    try:
        config = example.ppo_config(env_id, num_env_runners=RUNNERS, num_envs_per_env_runner=envs_per_worker,
                                    vectorize=vectorize, train_batch_size=batch, minibatch_size=MINIBATCH,
                                    num_epochs=EPOCHS)
        rows = example.train(config, iterations)
    finally:
        ray.shutdown()
    return [(r["env_steps_sampled"], r["seconds"]) for r in rows]


def bench_sb3(env_id: str, iterations: int, batch: int, n_envs: int, vec: str) -> list[tuple[float, float]]:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    class Timer(BaseCallback):
        """Wall time per rollout + update (one PPO iteration), measured at each rollout start."""

        def __init__(self):
            super().__init__()
            self.marks = []

        def _on_rollout_start(self):
            self.marks.append(time.perf_counter())

        def _on_step(self):
            return True

        def _on_training_end(self):
            self.marks.append(time.perf_counter())

    if vec == "native":
        from qec_gym.training.native_vec import NativeVecEnv

        venv = NativeVecEnv(env_id, n_envs=n_envs, seed=0)
    else:
        # "qec_gym:" makes gymnasium import qec_gym (which registers the ids) in subprocesses too.
        venv = make_vec_env(f"qec_gym:{env_id}", n_envs=n_envs, seed=0,
                            vec_env_cls=SubprocVecEnv if vec == "subproc" else DummyVecEnv)
    model = PPO("MlpPolicy", venv, n_steps=batch // n_envs, batch_size=MINIBATCH, n_epochs=EPOCHS, gamma=0.98,
                gae_lambda=0.95, learning_rate=3e-4, ent_coef=0.01, clip_range=0.2, seed=0, device="cpu",
                policy_kwargs={"net_arch": [64, 64]})
    timer = Timer()
    model.learn(total_timesteps=iterations * batch, callback=timer)
    venv.close()
    return [(batch, b - a) for a, b in zip(timer.marks, timer.marks[1:])]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--framework", choices=("rllib", "sb3"), required=True)
    p.add_argument("--sb3-vec", choices=("dummy", "subproc", "native"), default="dummy",
                   help="SB3's copies: DummyVecEnv, SubprocVecEnv, or qec-gym's NativeVecEnv (table backend)")
    p.add_argument("--vectorize", choices=("sync", "vector_entry_point"), default="sync",
                   help="RLlib runners' gymnasium.make_vec mode (vector_entry_point: qec-gym's vector env)")
    p.add_argument("--envs-per-worker", type=int, default=1, help="env copies per RLlib runner; SB3 gets 2x this many")
    p.add_argument("--batch", type=int, default=2000, help="env steps per PPO iteration")
    p.add_argument("--env-id", default="qec_gym/SurfaceSwitch-v1")
    p.add_argument("--iterations", type=int, default=5)
    args = p.parse_args()
    import torch

    torch.set_num_threads(1)
    if args.framework == "rllib":
        rows = bench_rllib(args.env_id, args.iterations, args.batch, args.envs_per_worker, args.vectorize)
        label = f"rllib-{args.vectorize}"
    else:
        rows = bench_sb3(args.env_id, args.iterations, args.batch, RUNNERS * args.envs_per_worker, args.sb3_vec)
        label = f"sb3-{args.sb3_vec}"
    steps, seconds = [r[0] for r in rows], [r[1] for r in rows]
    print(json.dumps({
        "framework": label, "env_copies": RUNNERS * args.envs_per_worker, "batch": args.batch,
        "env_id": args.env_id, "iterations": len(rows), "steps": int(sum(steps)),
        "seconds": round(sum(seconds), 2),
        "steps_per_s": round(sum(steps) / sum(seconds)),
        "steps_per_s_after_first": round(sum(steps[1:]) / sum(seconds[1:])) if len(rows) > 1 else None,
        "seconds_per_iteration": [round(s, 2) for s in seconds],
    }))


if __name__ == "__main__":
    main()
