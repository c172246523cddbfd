"""Benchmark: environment steps vs the simulation they wrap, side by side in one run.

* circuit backend: one env step vs `simulate_window` of the same window (same code, noise,
  decoder, shots, warm cache): the env's own overhead (target ratio <= 1.2);
* table backend: env steps per second on one core (target >= 10,000 for SurfaceSwitch-v0).

    python benchmarks/bench_env.py [--steps 20000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import gymnasium as gym
import numpy as np

import qec_gym  # noqa: F401
from qec_gym.sim import SimulationCache, simulate_window


def circuit_vs_window(env_id: str, repeats: int) -> dict:
    env = gym.make(env_id, backend="circuit").unwrapped
    env.reset(seed=0)
    entry = env.menu[env.entry]
    cache = SimulationCache()
    rng = np.random.default_rng(0)
    env_t, win_t = [], []
    for _ in range(repeats):
        noise, assumed = env.trajectory[env._t], env.assumed_noise
        t0 = time.perf_counter()
        for spec in entry.specs():
            simulate_window(spec, noise, decoder=entry.decoder, assumed_noise=assumed, shots=env.shots, rng=rng, cache=cache)
        win_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        env.step(0)
        env_t.append(time.perf_counter() - t0)
    e, w = statistics.median(env_t), statistics.median(win_t)
    return {"env": env_id, "entry": entry.label, "shots": env.shots, "env_step_s": e, "window_s": w, "ratio": e / w}


def table_steps_per_second(env_id: str, steps: int) -> dict:
    env = gym.make(env_id)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.integers(env.action_space.n, size=steps)
    t0 = time.perf_counter()
    for a in actions:
        _, _, _, trunc, _ = env.step(int(a))
        if trunc:
            env.reset()
    dt = time.perf_counter() - t0
    return {"env": env_id, "steps": steps, "steps_per_s": steps / dt}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = {"circuit": [circuit_vs_window(i, args.repeats) for i in ("qec_gym/SurfaceSwitch-v0", "qec_gym/PhotonicSwitch-v0")],
            "table": [table_steps_per_second(i, args.steps) for i in ("qec_gym/SurfaceSwitch-v0", "qec_gym/PhotonicSwitch-v0", "qec_gym/DecoderCalibration-v0")]}
    print(f"{'env (circuit backend)':<32}{'entry':<44}{'shots':>6}{'env step s':>12}{'window s':>10}{'ratio':>7}")
    for r in rows["circuit"]:
        print(f"{r['env']:<32}{r['entry']:<44}{r['shots']:>6}{r['env_step_s']:>12.5f}{r['window_s']:>10.5f}{r['ratio']:>7.3f}")
    print(f"\n{'env (table backend)':<32}{'steps/s':>12}")
    for r in rows["table"]:
        print(f"{r['env']:<32}{r['steps_per_s']:>12,.0f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
