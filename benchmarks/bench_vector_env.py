"""Env steps/s of the table backend: single env vs native `QECSwitchVectorEnv` vs gymnasium `SyncVectorEnv`,
and PPO training steps/s with the native vector env vs SB3's DummyVecEnv of single envs.

Everything is measured side by side in one run, on one core (torch limited to one thread);
ratios are what transfer between machines. Random actions are drawn before timing; every timed
loop runs through episode ends (autoreset included).

Usage::

    python benchmarks/bench_vector_env.py [--env qec_gym/SurfaceSwitch-v1] [--sizes 1 64 1024]
        [--sync-max 64] [--ppo-envs 8] [--ppo-steps 8192] [--env-steps 400000]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import qec_gym  # noqa: E402,F401


def _timed(step, n_calls: int) -> float:
    t = time.perf_counter()
    for k in range(n_calls):
        step(k)
    return time.perf_counter() - t


def single_env_rate(env_id: str, steps: int) -> float:
    env = gym.make(env_id)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(env.action_space.n, size=steps)

    def step(k):
        _, _, term, trunc, _ = env.step(int(actions[k]))
        if term or trunc:
            env.reset()

    return steps / _timed(step, steps)


def vector_rate(venv, steps: int) -> float:
    n = venv.num_envs
    calls = max(1, steps // n)
    venv.reset(seed=0)
    actions = np.random.default_rng(0).integers(venv.single_action_space.n, size=(calls, n))
    return calls * n / _timed(lambda k: venv.step(actions[k]), calls)


def ppo_rate(env_id: str, vec_env: str, n_envs: int, steps: int) -> float:
    import torch
    from stable_baselines3 import PPO

    from qec_gym.training.config import TrainConfig
    from qec_gym.training.train import make_vec_env

    torch.set_num_threads(1)
    cfg = TrainConfig(env_id=env_id, algo="ppo", total_timesteps=steps, n_envs=n_envs, vec_env=vec_env)
    venv = make_vec_env(cfg, seed=0)
    model = PPO("MlpPolicy", venv, n_steps=max(64, 2048 // n_envs), batch_size=256, n_epochs=4, seed=0, verbose=0)
    t = time.perf_counter()
    model.learn(steps)
    elapsed = time.perf_counter() - t
    venv.close()
    return model.num_timesteps / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="qec_gym/SurfaceSwitch-v1")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 1024])
    ap.add_argument("--sync-max", type=int, default=64, help="largest N for SyncVectorEnv (construction is slow)")
    ap.add_argument("--env-steps", type=int, default=400_000, help="env steps per native measurement")
    ap.add_argument("--slow-steps", type=int, default=20_000, help="env steps per single / Sync measurement")
    ap.add_argument("--ppo-envs", type=int, default=8)
    ap.add_argument("--ppo-steps", type=int, default=8192)
    args = ap.parse_args()
    load = os.getloadavg()
    print(f"env {args.env}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores; one thread")
    single = single_env_rate(args.env, args.slow_steps)
    print(f"{'N':>6} {'single env':>12} {'SyncVectorEnv':>14} {'native':>12} {'native/single':>14} {'native/sync':>12}")
    for n in args.sizes:
        native = vector_rate(gym.make_vec(args.env, num_envs=n, vectorization_mode="vector_entry_point"),
                             max(args.env_steps, 4 * n))
        sync = float("nan")
        if n <= args.sync_max:
            sync = vector_rate(gym.make_vec(args.env, num_envs=n, vectorization_mode="sync"), max(args.slow_steps, n))
        print(f"{n:>6} {single:>12,.0f} {sync:>14,.0f} {native:>12,.0f} {native / single:>14.1f} {native / sync:>12.1f}")
    if args.ppo_steps > 0:
        rates = {v: ppo_rate(args.env, v, args.ppo_envs, args.ppo_steps) for v in ("dummy", "native")}
        print(f"PPO (MlpPolicy, {args.ppo_envs} envs, {args.ppo_steps} steps, 1 torch thread): "
              f"DummyVecEnv {rates['dummy']:,.0f} steps/s, native {rates['native']:,.0f} steps/s "
              f"(x{rates['native'] / rates['dummy']:.2f})")


if __name__ == "__main__":
    main()
