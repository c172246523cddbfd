"""Steps/s of MultiPatchSwitch-v1 at several patch counts, side by side with the single-patch env and its native vector env.

One MultiPatchSwitch step runs one window of every patch; the references run the same number of
patch-windows as N single SurfaceSwitch-v1 envs stepped one after the other, and as one native
`QECSwitchVectorEnv` of N copies. Measured in one run on one core; actions (keep, with 5% random
per-patch actions: switches, recalibrations, remaps) are drawn before timing; loops run through
episode ends (reset time included).

Then the scaling against patch count: time per step and per reset, and the peak of Python
allocations (tracemalloc) of one reset and 100 steps, with the exponent of a power-law fit of the
step time against the patch count.

Usage::

    python benchmarks/bench_multipatch.py [--patches 16 64] [--steps 2000] [--scaling 1 4 16 64]
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import qec_gym  # noqa: E402,F401
from qec_gym.envs import MULTI_PATCH_ENV_IDS  # noqa: E402


def _rate(env, actions) -> float:
    """Env steps/s over ``len(actions)`` steps, resetting at episode ends."""
    env.reset(seed=0)
    t = time.perf_counter()
    for k, a in enumerate(actions):
        _, _, term, trunc, _ = env.step(a)
        if np.any(term) or np.any(trunc):
            env.reset(seed=k)
    return len(actions) / (time.perf_counter() - t)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patches", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--scaling", type=int, nargs="*", default=[1, 4, 16, 64])
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    single = gym.make("qec_gym/SurfaceSwitch-v1")
    single_rate = _rate(single.unwrapped, rng.integers(0, single.action_space.n, args.steps))
    print(f"SurfaceSwitch-v1 single env: {single_rate:,.0f} steps/s (= patch-windows/s)")
    print("| patches | MultiPatchSwitch steps/s | patch-windows/s | vs N single envs | vs native vector env (N copies) |")
    print("|---|---|---|---|---|")
    for n in args.patches:
        env = gym.make(MULTI_PATCH_ENV_IDS[0], n_patches=n).unwrapped
        acts = np.where(rng.random((args.steps, n)) < 0.05, rng.integers(0, env.n_actions, (args.steps, n)), 0)
        rate = _rate(env, list(acts))
        vec = gym.make_vec("qec_gym/SurfaceSwitch-v1", num_envs=n, vectorization_mode="vector_entry_point")
        vec_rate = _rate(vec, list(np.zeros((args.steps, n), dtype=np.int64)))
        print(f"| {n} | {rate:,.0f} | {rate * n:,.0f} | {rate * n / single_rate:.1f}x | "
              f"{rate / vec_rate:.2f}x ({vec_rate * n:,.0f} patch-windows/s) |")
    if args.scaling:
        scaling(args.scaling, args.steps)


def scaling(patches, steps: int) -> None:
    print("\n| patches | us per step | ms per reset | peak MiB (reset + 100 steps) |\n|---|---|---|---|")
    per_step = []
    for n in patches:
        env = gym.make(MULTI_PATCH_ENV_IDS[0], n_patches=n).unwrapped
        keep = np.zeros(n, dtype=np.int64)
        env.reset(seed=0)
        t = time.perf_counter()
        for k in range(steps):
            env.step(keep)
            if env._t >= env.n_steps:
                env.reset(seed=k)
        per_step.append((time.perf_counter() - t) / steps)
        t = time.perf_counter()
        for k in range(5):
            env.reset(seed=k)
        reset_s = (time.perf_counter() - t) / 5
        tracemalloc.start()
        env.reset(seed=1)
        for _ in range(100):
            env.step(keep)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"| {n} | {per_step[-1] * 1e6:,.0f} | {reset_s * 1e3:.1f} | {peak:.2f} |")
    if len(patches) > 1:
        slope = np.polyfit(np.log(patches), np.log(per_step), 1)[0]
        print(f"step time ~ patches^{slope:.2f} over {patches[0]}..{patches[-1]} patches")


if __name__ == "__main__":
    main()
