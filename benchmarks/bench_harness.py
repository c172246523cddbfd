"""Harness overhead: `qec_gym.eval.evaluate` against a plain loop over the same episodes.

Policies x scenarios x seeds on SurfaceSwitch-v1 (table backend), side by side in one run: the
plain loop fits the fitted baselines (best fixed, threshold) once, then resets and steps every
episode with the same policies; the harness does the same work plus its resume keys, locked CSV
rows, step traces of seed 0 and the fitted-baseline cache. Target (issue: harness cost) <= 1.2x.
Both wall time and this process's CPU time are reported: on a shared machine other processes'
load moves the wall ratio by +-30% between runs, the CPU ratio much less (one process does all
the work, workers=1).

    python benchmarks/bench_harness.py                       # 16 scenarios x 5 seeds x 6 policies
    python benchmarks/bench_harness.py --seeds 2 --max-steps 50
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import qec_gym  # noqa: F401
from qec_gym.agents import make_baseline
from qec_gym.eval import EvalConfig, evaluate
from qec_gym.eval.harness import make_policy

ENV = "qec_gym/SurfaceSwitch-v1"
POLICIES = ("fixed:0", "fixed:4", "random", "oracle", "best_fixed", "threshold")


def scenarios(n: int, steps: int) -> list:
    """``n`` scenarios: the env's own (train and held-out), then copies of them under new names."""
    env = gym.make(ENV, scenarios="train")
    pool = [env.unwrapped.scenario_registry[name] for name in env.unwrapped.scenario_pool]
    env.close()
    out = []
    for k in range(n):
        base = pool[k % len(pool)]
        out.append(dataclasses.replace(base, name=f"bench{k}_{base.name}", episode_length=steps, split="heldout"))
    return out


def plain_loop(scens, seeds, steps) -> tuple[float, float, float]:
    """(total seconds, seconds spent before the first episode, total CPU seconds)."""
    t0, c0 = time.perf_counter(), time.process_time()
    env = gym.make(ENV, scenarios=scens, max_steps=steps)
    fitted = {p: make_baseline(p, env) for p in ("best_fixed", "threshold")}  # fitted once, as the harness does
    t_fit = time.perf_counter() - t0
    for spec in POLICIES:
        policy = fitted.get(spec) or make_policy(spec, env)
        for s in scens:
            for seed in seeds:
                obs, _ = env.reset(seed=seed, options={"scenario": s.name})
                state, start, done = None, True, False
                while not done:
                    a, state = policy.predict(obs, state=state, episode_start=start, deterministic=True)
                    obs, _, term, trunc, _ = env.step(int(np.asarray(a).reshape(-1)[0]))
                    start, done = False, term or trunc
    env.close()
    return time.perf_counter() - t0, t_fit, time.process_time() - c0


def harness(scens, seeds, steps, out: Path) -> tuple[float, float, float]:
    """(total seconds, seconds spent before the first episode: set-up and fitting, total CPU seconds)."""
    t0, c0 = time.perf_counter(), time.process_time()
    marks = {}

    def status(message: str) -> None:
        if message == "episodes":
            marks.setdefault("episodes", time.perf_counter() - t0)

    evaluate(list(POLICIES), EvalConfig(ENV, scenarios=tuple(scens), seeds=tuple(seeds), env_kwargs={"max_steps": steps}),
             out_path=out, status=status)
    return time.perf_counter() - t0, marks.get("episodes", float("nan")), time.process_time() - c0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=16)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--max-steps", type=int, default=200)
    args = ap.parse_args(argv)
    scens, seeds = scenarios(args.scenarios, args.max_steps), range(args.seeds)
    episodes = len(scens) * len(seeds) * len(POLICIES)
    with tempfile.TemporaryDirectory() as d:
        # warm-up of both sides (lazy imports, in-process caches), so the one timed first is not
        # charged for what the other then gets for free
        plain_loop(scens[:2], range(1), 5)
        harness(scens[:2], range(1), 5, Path(d) / "warm.csv")
        loop_s, loop_fit, loop_cpu = plain_loop(scens, seeds, args.max_steps)
        harness_s, harness_fit, harness_cpu = harness(scens, seeds, args.max_steps, Path(d) / "r.csv")
    print(f"{len(scens)} scenarios x {len(seeds)} seeds x {len(POLICIES)} policies = {episodes} episodes of "
          f"{args.max_steps} steps: plain loop {loop_s:.1f} s (set-up and fitting {loop_fit:.1f} s), harness "
          f"{harness_s:.1f} s ({harness_fit:.1f} s), ratio {harness_s / loop_s:.2f}; CPU time {loop_cpu:.1f} s vs "
          f"{harness_cpu:.1f} s, ratio {harness_cpu / loop_cpu:.2f}")


if __name__ == "__main__":
    main()
