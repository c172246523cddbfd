"""Evaluation harness: policies x scenarios x seeds, paired, resumable, one row per episode.

Every policy runs episode (scenario, seed) from ``env.reset(seed=seed, options={"scenario": s})``,
so all policies see the same true-noise trajectory (paired comparison; tested). Results are
appended to a CSV after each episode; re-running with the same file skips finished episodes.
Step-level traces of the first seed of each scenario go to ``<results>.traces.csv`` for the
report's trajectory plots (plots read results, never re-simulate).

Policy specs (strings, so that worker processes can build them): ``random``, ``fixed:<i>``,
``best_fixed``, ``threshold``, ``tree:<path>``, ``oracle``, ``clairvoyant`` (see
`qec_gym.agents.make_baseline`) and ``run:<folder>`` (a trained model, `qec_gym.training.load_run`),
optionally named ``name=spec``.

Example:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> cfg = EvalConfig("qec_gym/SurfaceSwitch-v1", scenarios=("calm",), seeds=(0, 1), env_kwargs={"max_steps": 5})
    >>> df = evaluate(["fixed:0", "oracle"], cfg, out_path=out)
    >>> sorted(df.policy.unique()), len(df)
    (['fixed:0', 'oracle'], 4)
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

COLUMNS = (
    "env_id", "env_version", "policy", "scenario", "seed", "steps", "return", "mean_log10_p_round",
    "budget_violation_frac", "qubit_rounds", "switches", "recalibrations", "mean_latency_us",
)
TRACE_COLUMNS = ("policy", "scenario", "seed", "step", "true_multiplier", "noise_estimate", "entry", "entry_label",
                 "p_round", "expected_p_round", "reward", "action")


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate on.

    Args:
        env_id: Registered env id.
        scenarios: ``"heldout"``, ``"train"`` or scenario names.
        seeds: Episode seeds (each scenario x seed is one paired episode).
        env_kwargs: Extra ``gymnasium.make`` arguments (e.g. ``backend="circuit"``).
        trace_seeds: Seeds whose step-level traces are stored.
    """

    env_id: str
    scenarios: str | tuple[str, ...] = "heldout"
    seeds: tuple[int, ...] = tuple(range(5))
    env_kwargs: dict = field(default_factory=dict)
    trace_seeds: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        from qec_gym.validation import check_env_id

        check_env_id(self.env_id)
        if not self.seeds:
            raise ValueError("seeds is empty: give at least one episode seed.")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if not isinstance(self.scenarios, str):
            object.__setattr__(self, "scenarios", tuple(self.scenarios))

    def make_env(self):
        import gymnasium as gym

        import qec_gym  # noqa: F401

        kwargs = dict(self.env_kwargs)
        kwargs["scenarios"] = self.scenarios if isinstance(self.scenarios, str) else list(self.scenarios)
        return gym.make(self.env_id, **kwargs)


def make_policy(spec: str, env):
    """Build the policy named by ``spec`` for ``env`` (see the module docstring)."""
    spec = spec.split("=", 1)[1] if "=" in spec else spec
    if spec.startswith("run:"):
        from qec_gym.training import load_run

        return load_run(spec[4:], env=env)
    from qec_gym.agents import make_baseline

    return make_baseline(spec, env)


def policy_name(spec: str) -> str:
    """The label of a spec (``name=spec`` or the spec itself)."""
    return spec.split("=", 1)[0] if "=" in spec else spec


def run_one(policy, env, spec: str, scenario: str, seed: int, *, trace: bool) -> tuple[dict, list[dict]]:
    """One paired episode of ``policy`` (built from ``spec`` for ``env``); returns (row, trace rows)."""
    cfg = env.unwrapped.reward_config
    obs, info = env.reset(seed=seed, options={"scenario": scenario})
    state, start, done = None, True, False
    total, log_p, viol, qubit_rounds, switches, recals, lat, n = 0.0, 0.0, 0, 0.0, 0, 0, 0.0, 0
    traces = []
    while not done:
        action, state = policy.predict(obs, state=state, episode_start=start, deterministic=True)
        a = int(np.asarray(action).reshape(-1)[0])
        obs, reward, term, trunc, info = env.step(a)
        start, done = False, term or trunc
        total += float(reward)
        log_p += math.log10(max(info["p_round"], 1e-15))
        viol += int(info["p_round"] > cfg.target)
        qubit_rounds += info["qubits"] * cfg.window_rounds
        switches += int(info["switched"])
        recals += int(info["recalibrated"])
        lat += info["latency_s"] * 1e6
        n += 1
        if trace:
            features = obs["features"] if isinstance(obs, dict) else obs
            traces.append({
                "policy": policy_name(spec), "scenario": scenario, "seed": seed, "step": info["step"],
                "true_multiplier": info["true_multiplier"], "noise_estimate": float(10 ** float(features[8])),
                "entry": info["entry"], "entry_label": info["entry_label"], "p_round": info["p_round"],
                "expected_p_round": info["expected_p_round"], "reward": float(reward), "action": a,
            })
    row = {
        "env_id": env.spec.id, "env_version": env.spec.version, "policy": policy_name(spec),
        "scenario": scenario, "seed": seed, "steps": n, "return": total, "mean_log10_p_round": log_p / n,
        "budget_violation_frac": viol / n, "qubit_rounds": qubit_rounds, "switches": switches,
        "recalibrations": recals, "mean_latency_us": lat / n,
    }
    return row, traces


def run_batch(spec: str, config: EvalConfig, episodes: Sequence[tuple[str, int]]) -> list[tuple[dict, list[dict]]]:
    """Build ``spec``'s policy once and run it on each (scenario, seed) of ``episodes``."""
    env = config.make_env()
    policy = make_policy(spec, env)
    try:
        return [run_one(policy, env, spec, s, seed, trace=seed in config.trace_seeds) for s, seed in episodes]
    finally:
        env.close()


def evaluate(
    policies: Sequence[str],
    config: EvalConfig,
    *,
    out_path: str | Path,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
):
    """Run every policy on every (scenario, seed); returns the tidy results as a DataFrame.

    Args:
        policies: Policy specs (module docstring).
        config: Env, scenarios, seeds.
        out_path: Results CSV; finished episodes in it are not recomputed.
        workers: Processes (episodes are independent).
        progress: Called with (done, total) after each episode.

    Raises:
        ValueError: duplicate policy names, or a results file from another env or env version.
    """
    import pandas as pd

    names = [policy_name(p) for p in policies]
    if len(set(names)) != len(names):
        raise ValueError(f"policy names must be unique, got {names}; name them as name=spec.")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    env = config.make_env()
    version = env.spec.version
    scenarios = tuple(env.unwrapped.scenario_names)
    env.close()
    done = _finished(out, config.env_id, version)
    traces_path = out.with_suffix(".traces.csv")
    # One batch per (policy, scenario): a policy is built (and fitted, for some baselines) once
    # per batch, and each finished batch is saved before the next starts.
    batches = []
    for p in policies:
        for s in scenarios:
            eps = [(s, seed) for seed in config.seeds if (policy_name(p), s, seed) not in done]
            if eps:
                batches.append((p, eps))
    total = len(done) + sum(len(eps) for _, eps in batches)
    count = len(done)
    if workers > 1 and len(batches) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(run_batch, p, config, eps) for p, eps in batches]
            for fut in futures:  # submission order: deterministic file order
                count = _record(fut.result(), out, traces_path, count, total, progress)
    else:
        for p, eps in batches:
            count = _record(run_batch(p, config, eps), out, traces_path, count, total, progress)
    df = pd.read_csv(out)
    return df[df.policy.isin(names) & df.scenario.isin(scenarios) & df.seed.isin(config.seeds)].reset_index(drop=True)


def _record(results, out: Path, traces_path: Path, count: int, total: int, progress) -> int:
    for row, traces in results:
        _append(out, COLUMNS, [row])
        if traces:
            _append(traces_path, TRACE_COLUMNS, traces)
        count += 1
        if progress is not None:
            progress(count, total)
    return count


def _append(path: Path, columns: Sequence[str], rows: list[dict]) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns))
        if new:
            w.writeheader()
        w.writerows(rows)
        f.flush()


def _finished(path: Path, env_id: str, version) -> set[tuple[str, str, int]]:
    if not path.exists() or path.stat().st_size == 0:
        return set()
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except Exception as e:
        raise ValueError(f"{path} is not a results CSV ({e}); move it away or choose another --out.") from None
    missing = set(COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"{path} lacks columns {sorted(missing)}: not a qec-gym results file.")
    other = df[(df.env_id != env_id) | (df.env_version.astype(str) != str(version))]
    if len(other):
        found = sorted(set(zip(other.env_id, other.env_version.astype(str))))
        raise ValueError(
            f"{path} holds results of {found}, not {env_id} (version {version}): results of different "
            "environments or versions cannot be mixed; choose another --out."
        )
    return {(str(p), str(s), int(seed)) for p, s, seed in zip(df.policy, df.scenario, df.seed)}
