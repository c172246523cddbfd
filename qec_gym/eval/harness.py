"""Evaluation harness: policies x scenarios x seeds, paired, resumable, one row per episode.

Every policy runs episode (scenario, seed) from ``env.reset(seed=seed, options={"scenario": s})``,
so all policies see the same true-noise trajectory (paired comparison; tested). Results are
appended to a CSV in batches at most `FLUSH_SECONDS` apart and on exit (errors and Ctrl-C
included); re-running with the same file skips finished episodes.
Step-level traces of the first seed of each scenario go to ``<results>.traces.csv`` for the
report's trajectory plots (plots read results, never re-simulate).

Resume keys. A row is identified by everything that changes its result: the env id (with its
version), every ``gymnasium.make`` argument given (``env_kwargs`` as canonical JSON, e.g.
``max_steps``), the backend, the policy's name and identity (``policy_id``: a hash of a run's
model files or a tree file, the fitted parameters of ``best_fixed`` / ``threshold``, the spec of
the others), the scenario and the seed. A registered scenario is keyed by its name; a scenario
object the env does not register (e.g. from `Scenario.from_trace`) by ``name@digest``, the digest
of its whole content (`qec_gym.noise.scenarios.scenario_digest`), so two traces that share a name
never share rows. One results file holds one env configuration and one
identity per policy name; anything else is refused with a message naming the difference (so a
resume never returns numbers computed with something else). Files of an older format or of an
env id that is no longer registered are refused too.

Several processes may write one file: rows are appended under a file lock and a row whose key
is already there is skipped, so two identical commands started together leave one row per
episode (`qec_gym.sim.csvstore`).

Fitted baselines (``best_fixed``, ``threshold``) are fitted once per evaluation on the env's
training scenarios (same make-arguments) and cached next to the results
(``<results>.fitted.json``), not once per (policy, scenario).

Policy specs (strings, so that worker processes can build them): ``random``, ``fixed:<i>``,
``best_fixed``, ``threshold``, ``tree:<path>``, ``oracle``, ``clairvoyant`` (see
`qec_gym.agents.make_baseline`), ``run:<folder>`` (a trained model, `qec_gym.training.load_run`)
and ``fallback:<folder>,<baseline>`` (the trained model inside its training support, the baseline
outside: `qec_gym.training.fallback`; support settings may follow, e.g. ``,alpha=0.1,split=episode``),
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

import dataclasses
import hashlib
import json
import math
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qec_gym.agents import FITTED_BASELINES, check_baseline_name
from qec_gym.sim import csvstore


def _version(text: str) -> int | None:
    return None if text in ("", "None") else int(text)


RESULT_FIELDS: dict[str, Callable[[str], Any]] = {
    "env_id": str, "env_version": _version, "env_kwargs": str, "backend": str, "policy": str, "policy_id": str,
    "scenario": str, "seed": int, "steps": int, "return": float, "mean_log10_p_round": float,
    "budget_violation_frac": float, "qubit_rounds": float, "switches": int, "recalibrations": int,
    "mean_latency_us": float,
}
"""Columns of a results file, in order, with how each is read back."""
COLUMNS = tuple(RESULT_FIELDS)
KEY = ("env_id", "env_kwargs", "backend", "policy", "policy_id", "scenario", "seed")
"""The columns that identify an episode's row (its resume key)."""
TRACE_FIELDS: dict[str, Callable[[str], Any]] = {
    "policy": str, "scenario": str, "seed": int, "step": int, "true_multiplier": float, "noise_estimate": float,
    "entry": int, "entry_label": str, "p_round": float, "expected_p_round": float, "reward": float, "action": int,
}
TRACE_COLUMNS = tuple(TRACE_FIELDS)
TRACE_KEY = ("policy", "scenario", "seed", "step")
FLUSH_SECONDS = 1.0
"""Longest time finished episodes wait in memory before they are appended to the results file
(a process killed outright loses at most this much work; an exception or Ctrl-C loses none)."""


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate on.

    Args:
        env_id: Registered env id.
        scenarios: ``"heldout"``, ``"train"``, scenario names or `Scenario` objects (any form
            `qec_gym.noise.scenarios.resolve_scenarios` accepts; evaluation may use held-out ones).
            Objects need no registration; they travel to worker processes by pickling. The keyword
            ``"confirmation"`` (alone or in a list) stands for the env's second held-out set
            (`qec_gym.noise.scenarios.confirmation_for_env`; ValueError for an env without one), and
            a name of one of its confirmation scenarios for that scenario.
        seeds: Episode seeds (each scenario x seed is one paired episode).
        env_kwargs: Extra ``gymnasium.make`` arguments (e.g. ``backend="circuit"``).
        trace_seeds: Seeds whose step-level traces are stored.
    """

    env_id: str
    scenarios: Any = "heldout"
    seeds: tuple[int, ...] = tuple(range(5))
    env_kwargs: dict = field(default_factory=dict)
    trace_seeds: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        from qec_gym.validation import check_env_id

        check_env_id(self.env_id)
        if not self.seeds:
            raise ValueError("seeds is empty: give at least one episode seed.")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if not isinstance(self.scenarios, str) and not hasattr(self.scenarios, "split"):
            object.__setattr__(self, "scenarios", tuple(self.scenarios))
        items = (self.scenarios,) if isinstance(self.scenarios, str) else self.scenarios
        from qec_gym.noise.scenarios import _confirmation_names, confirmation_for_env

        if isinstance(items, tuple) and any(isinstance(i, str) and (i == "confirmation" or i in _confirmation_names())
                                            for i in items):
            # the keyword stands for the whole set, a confirmation name for its object (the envs'
            # registries do not hold them, so a bare name would be unknown to the env)
            own = {s.name: s for s in confirmation_for_env(self.env_id)}
            expanded = []
            for item in items:
                is_str = isinstance(item, str)
                expanded += list(own.values()) if is_str and item == "confirmation" else [own.get(item, item) if is_str else item]
            object.__setattr__(self, "scenarios", tuple(expanded))
        if "scenarios" in self.env_kwargs:
            raise ValueError("give the scenarios as EvalConfig(scenarios=...), not inside env_kwargs.")

    def make_env(self):
        import gymnasium as gym

        import qec_gym  # noqa: F401

        kwargs = dict(self.env_kwargs)
        kwargs["scenarios"] = self.scenarios if isinstance(self.scenarios, str) else list(self.scenarios)
        return gym.make(self.env_id, **kwargs)

    def kwargs_key(self) -> str:
        """``env_kwargs`` as canonical JSON (sorted keys; objects by their repr): part of the resume key."""
        return json.dumps(self.env_kwargs, sort_keys=True, separators=(",", ":"), default=repr)


_FILE_SPECS = ("run:", "tree:", "fallback:")
"""Specs whose identity hashes files (computed once, before any episode)."""


def make_policy(spec: str, env):
    """Build the policy named by ``spec`` for ``env`` (see the module docstring)."""
    spec = spec_body(spec)
    if spec.startswith("run:"):
        from qec_gym.training import load_run

        return load_run(spec[4:], env=env)
    if spec.startswith("fallback:"):
        from qec_gym.training.fallback import load_fallback

        return load_fallback(spec[len("fallback:"):], env)
    from qec_gym.agents import make_baseline

    return make_baseline(spec, env)


def _label(spec: str) -> tuple[str | None, str]:
    """(``name`` or None, the spec without it). A label has no ``:``, so the ``=`` of a fallback's support
    options (``fallback:<run>,tree:<path>,alpha=0.1``) or of a path is not read as one."""
    name, sep, body = spec.partition("=")
    return (name, body) if sep and ":" not in name else (None, spec)


def policy_name(spec: str) -> str:
    """The label of a spec (``name=spec`` or the spec itself)."""
    name, body = _label(spec)
    return body if name is None else name


def spec_body(spec: str) -> str:
    """A spec without its ``name=`` label (``"ppo=run:x"`` -> ``"run:x"``)."""
    return _label(spec)[1]


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def policy_identity(spec: str, fitted: Any = None) -> str:
    """What a policy *is*, beyond its name: part of the resume key.

    ``run:<folder>``: a hash of its ``run.json``, ``model.zip`` and ``vecnormalize.pkl``;
    ``tree:<path>``: a hash of the model file and its sidecar; ``best_fixed`` / ``threshold``:
    their fitted parameters (``fitted``); ``fallback:<folder>,<baseline>``: a hash of both parts'
    identities and the support settings (the support is a deterministic function of them);
    others: the spec (they have no state).

    Raises:
        ValueError: a run folder without ``run.json`` / ``model.zip``; a fallback spec that
            `qec_gym.training.fallback.split_spec` refuses (malformed, a fitted or privileged baseline).
        FileNotFoundError: a tree file that does not exist.
    """
    bare = spec_body(spec)
    if bare.startswith("fallback:"):
        from qec_gym.training.fallback import parse_spec

        run, baseline, config = parse_spec(bare[len("fallback:"):])
        parts = [policy_identity("run:" + run), policy_identity(baseline), json.dumps(config.key(), sort_keys=True)]
        return f"fallback:{hashlib.sha256('|'.join(parts).encode()).hexdigest()[:16]}"
    if bare.startswith("run:"):
        run = Path(bare[4:])
        for needed in ("run.json", "model.zip"):
            if not (run / needed).exists():
                raise ValueError(f"{run} has no {needed}: not a finished run folder; pass the folder that "
                                 "`qec-gym train --out` wrote.")
        files = [run / n for n in ("run.json", "model.zip", "vecnormalize.pkl") if (run / n).exists()]
        return f"run:{_digest(*files)}"
    if bare.startswith("tree:"):
        path = Path(bare[5:])
        if not path.exists():
            raise FileNotFoundError(f"no tree model at {path}: train one with `qec-gym tree --out {path}`.")
        side = Path(str(path) + ".json")
        return f"tree:{_digest(*[p for p in (path, side) if p.exists()])}"
    if bare.partition(":")[0] in FITTED_BASELINES:  # certainty_equivalent:<model error> too
        text = json.dumps(fitted, sort_keys=True, separators=(",", ":"))
        return f"{bare}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    return bare


def run_one(policy, env, spec: str, scenario: str, seed: int, *, trace: bool) -> tuple[dict, list[dict]]:
    """One paired episode of ``policy`` (built from ``spec`` for ``env``); returns (row, trace rows).

    The row lacks the key columns that the caller knows (``env_kwargs``, ``policy_id``).
    """
    cfg = env.unwrapped.reward_config
    obs, info = env.reset(seed=seed, options={"scenario": scenario})
    state, start, done = None, True, False
    total, log_p, viol, qubit_rounds, switches, recals, lat, n = 0.0, 0.0, 0, 0.0, 0, 0, 0.0, 0
    traces = []
    while not done:
        action, state = policy.predict(obs, state=state, episode_start=start, deterministic=True)
        a = np.asarray(action)  # MultiDiscrete (many-patch env): one action per patch, passed whole
        a = a.reshape(env.action_space.shape) if hasattr(env.action_space, "nvec") else int(a.reshape(-1)[0])
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
                "expected_p_round": info["expected_p_round"], "reward": float(reward),
                "action": a if isinstance(a, int) else int(np.count_nonzero(a)),  # many patches: how many act
            })
    row = {
        "env_id": env.spec.id, "env_version": env.spec.version, "backend": env.unwrapped.backend,
        "policy": policy_name(spec), "scenario": scenario, "seed": seed, "steps": n, "return": total,
        "mean_log10_p_round": log_p / n, "budget_violation_frac": viol / n, "qubit_rounds": qubit_rounds,
        "switches": switches, "recalibrations": recals, "mean_latency_us": lat / n,
    }
    return row, traces


@dataclass(frozen=True)
class _Job:
    """One policy on some episodes: what a worker needs (all picklable)."""

    spec: str
    policy_id: str
    episodes: tuple[tuple[str, int], ...]
    fitted: Any = None  # a prebuilt fitted baseline (FixedAgent / ThresholdAgent), or None


def run_batch(spec: str, config: EvalConfig, episodes: Sequence[tuple[str, int]], *, policy: Any = None,
              on_episode: Callable[[tuple[dict, list[dict]]], None] | None = None,
              env: Any = None) -> list[tuple[dict, list[dict]]]:
    """Build ``spec``'s policy once (unless ``policy`` is given) and run it on each (scenario, seed).

    ``on_episode`` is called with each finished (row, traces) as soon as it exists. ``env``:
    an env made by ``config.make_env()`` to reuse (left open); by default one is made and closed.
    """
    own = env is None
    env = config.make_env() if own else env
    try:
        policy = make_policy(spec, env) if policy is None else policy
        out = []
        for s, seed in episodes:
            if spec_body(spec) == "random":
                # Its own stream per episode: the same actions however episodes are grouped,
                # resumed or spread over workers (a row's result depends only on its key).
                from qec_gym.agents import RandomAgent

                policy = RandomAgent(env.action_space, seed=np.random.SeedSequence([seed, zlib.crc32(s.encode())]))
            result = run_one(policy, env, spec, s, seed, trace=seed in config.trace_seeds)
            if on_episode is not None:
                on_episode(result)
            out.append(result)
        return out
    finally:
        if own:
            env.close()


def _run_job(job: _Job, config: EvalConfig):
    return run_batch(job.spec, config, job.episodes, policy=job.fitted)


def _run_job_item(item: tuple[_Job, EvalConfig]):
    return _run_job(*item)


def evaluate(
    policies: Sequence[str],
    config: EvalConfig,
    *,
    out_path: str | Path,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    status: Callable[[str], None] | None = None,
    executor: str = "local",
    address: str | None = None,
    num_cpus: int | None = None,
):
    """Run every policy on every (scenario, seed); returns the tidy results as a DataFrame.

    Args:
        policies: Policy specs (module docstring).
        config: Env, scenarios, seeds.
        out_path: Results CSV; finished episodes in it (same key) are not recomputed.
        workers: Local processes (episodes are independent; ``executor="local"``).
        executor: ``"local"`` (this process, or ``workers`` processes) or ``"ray"``: one work
            unit per (policy, scenario) on Ray workers (`qec_gym.sim.executor`). Rows depend
            only on their key (seeded resets, a per-episode stream for ``random``), so every
            executor writes the same numbers (tested).
        address, num_cpus: Ray cluster address (None: start a local Ray with ``num_cpus`` CPUs).
        progress: Called with (done, total) after each episode.
        status: Called with a short message when a stage starts (e.g. fitting ``threshold``).

    Returns:
        The rows of this configuration (policies x scenarios x seeds), with their key columns.

    Raises:
        ImportError: ``executor="ray"`` without Ray (install hint).
        ConnectionError: a Ray ``address`` that does not answer within seconds.
        ValueError: duplicate policy names; a results file of another format, of an env id no
            longer registered, of another env configuration (id, version, env_kwargs, backend),
            or holding a policy of the same name with another identity (the message names it).
    """
    from qec_gym.sim.executor import Executor

    names = [policy_name(p) for p in policies]
    if len(set(names)) != len(names):
        raise ValueError(f"policy names must be unique, got {names}; name them as name=spec.")
    # every spec checked before any baseline is fitted or episode run; run and tree files hashed once, here
    file_identity = {p: policy_identity(p) for p in policies if spec_body(p).startswith(_FILE_SPECS)}
    for p in policies:
        if p not in file_identity:
            check_baseline_name(spec_body(p))
    if executor == "ray" and workers != 1:
        raise ValueError("workers counts local processes; with executor='ray' the Ray CPUs set the parallelism "
                         "(num_cpus, or the cluster's): drop workers (CLI: --workers).")
    # checked before any work: unknown executor, Ray options without Ray
    runner = Executor(executor, workers=workers if executor == "local" else 1, address=address, num_cpus=num_cpus)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    say = status or (lambda msg: None)
    env = config.make_env()  # reused by the episodes when they run in this process
    try:
        env_id, version = env.spec.id, env.spec.version
        backend = str(env.unwrapped.backend)
        scenarios = tuple(env.unwrapped.scenario_names)
        labels = scenario_labels(env)
        kwargs = config.kwargs_key()
        existing = read_results_file(out) if out.exists() else []
        _check_configuration(out, existing, env_id, version, kwargs, backend)
        cache = _FitCache(out.with_suffix(".fitted.json"), env_id=env_id, kwargs=kwargs, backend=backend)
        jobs_by_policy = {}
        for p in policies:
            fitted_state, agent = None, None
            if spec_body(p).partition(":")[0] in FITTED_BASELINES:
                fitted_state, agent = cache.get(p, env, say)
            jobs_by_policy[p] = (file_identity.get(p) or policy_identity(p, fitted_state), agent)
        _check_identities(out, existing, {policy_name(p): pid for p, (pid, _) in jobs_by_policy.items()})
        _record_heldout_runs(policies, config, env)
        return _run_jobs(policies, config, env, out, existing, jobs_by_policy, scenarios, labels, kwargs, runner,
                         progress, say)
    finally:
        env.close()


def scenario_labels(env) -> dict[str, str]:
    """Scenario name -> the ``scenario`` column of its rows: the name, or ``name@digest`` for an
    object the env's class does not register (`QECSwitchEnv.custom_scenarios`)."""
    from qec_gym.noise.scenarios import scenario_digest

    u = env.unwrapped
    custom = getattr(u, "custom_scenarios", {})
    return {n: f"{n}@{scenario_digest(custom[n])}" if n in custom else n for n in u.scenario_names}


def _record_heldout_runs(policies, config: EvalConfig, env) -> None:
    """Mark every ``run:`` policy as having seen the held-out scenarios it is about to be evaluated
    on (`qec_gym.training.splits`; docs/protocol.md), so tuning can refuse it later; validation
    scenarios (drawn validation sets) are recorded as the ``validation`` split."""
    runs = list(dict.fromkeys(_run_folder(spec_body(p)) for p in policies if spec_body(p).startswith(("run:", "fallback:"))))
    if not runs:
        return  # importing qec_gym.training loads torch and SB3 (~5 s): only pay it for trained runs
    from qec_gym.training.splits import heldout_names, record_heldout, record_splits

    args = (config.scenarios, env.unwrapped.scenario_names, env.unwrapped.scenario_registry)
    names, validation = heldout_names(*args), heldout_names(*args, split="validation")
    for run in runs:
        if names:
            record_heldout(run, env_id=config.env_id, scenarios=names)
        if validation:  # drawn validation sets: tuning data, so the run may still be tuned
            record_splits(run, ["validation"])


def _run_folder(bare: str) -> str:
    """The run folder of a ``run:`` or ``fallback:`` spec."""
    if bare.startswith("run:"):
        return bare[4:]
    from qec_gym.training.fallback import split_spec

    return split_spec(bare[len("fallback:"):])[0]


def _run_jobs(policies, config, env, out, existing, jobs_by_policy, scenarios, labels, kwargs, runner, progress, say):
    import pandas as pd

    names = [policy_name(p) for p in policies]
    done = {(r["policy"], r["scenario"], r["seed"]) for r in existing}
    traces_path = out.with_suffix(".traces.csv")
    # A policy is built (and loaded) once per job; with workers or Ray, one job per (policy, scenario).
    spread = runner.backend == "ray" or runner.workers > 1
    jobs = []
    for p in policies:
        pid, agent = jobs_by_policy[p]
        eps = [(s, seed) for s in scenarios for seed in config.seeds if (policy_name(p), labels[s], seed) not in done]
        if not eps:
            continue
        groups = [[e for e in eps if e[0] == s] for s in scenarios] if spread else [eps]
        jobs += [_Job(p, pid, tuple(g), agent) for g in groups if g]
    total = len(names) * len(scenarios) * len(config.seeds)
    count = [total - sum(len(j.episodes) for j in jobs)]
    if progress is not None:
        progress(count[0], total)

    results_file = csvstore.Appender(out, RESULT_FIELDS, key=KEY)
    traces_file = csvstore.Appender(traces_path, TRACE_FIELDS, key=TRACE_KEY)

    # Finished rows are written in batches at most FLUSH_SECONDS apart (and on any exit, error or
    # Ctrl-C included): one locked append per episode cost more than a short episode.
    pending_rows: list[dict] = []
    pending_traces: list[dict] = []
    last_flush = [time.monotonic()]

    def flush() -> None:
        if pending_rows:
            results_file.append(pending_rows)
            pending_rows.clear()
        if pending_traces:
            traces_file.append(pending_traces)
            pending_traces.clear()
        last_flush[0] = time.monotonic()

    def record(job: _Job, result) -> None:
        row, traces = result
        label = labels[row["scenario"]]
        pending_rows.append({**row, "scenario": label, "env_kwargs": kwargs, "policy_id": job.policy_id})
        pending_traces.extend({**t, "scenario": label} for t in traces)
        if time.monotonic() - last_flush[0] >= FLUSH_SECONDS:
            flush()
        count[0] += 1
        if progress is not None:
            progress(count[0], total)

    if jobs:
        say("episodes")
    try:
        if spread and (len(jobs) > 1 or runner.backend == "ray"):
            with runner:
                for job, results in zip(jobs, runner.imap(_run_job_item, [(job, config) for job in jobs])):
                    for result in results:  # submission order: deterministic file order
                        record(job, result)
        else:
            for job in jobs:
                run_batch(job.spec, config, job.episodes, policy=job.fitted, env=env,
                          on_episode=lambda r, job=job: record(job, r))
    finally:
        flush()
    df = pd.DataFrame(read_results_file(out), columns=list(COLUMNS))
    ids = {policy_name(p): pid for p, (pid, _) in jobs_by_policy.items()}
    keep = (df.env_kwargs == kwargs) & df.policy.map(ids).eq(df.policy_id) & df.scenario.isin(list(labels.values())) & df.seed.isin(config.seeds)
    return df[keep].reset_index(drop=True)


class _FitCache:
    """Fitted baseline parameters of one env configuration, kept next to the results file."""

    def __init__(self, path: Path, *, env_id: str, kwargs: str, backend: str) -> None:
        self.path = path
        self.prefix = json.dumps([env_id, kwargs, backend])

    def get(self, spec: str, env, say: Callable[[str], None]):
        """(fitted parameters as plain data, the fitted agent) of ``spec``, fitting on a miss."""
        from qec_gym.agents import PerPatchAgent, fitted_parameters, from_fitted_parameters, make_baseline

        bare = spec_body(spec)
        key = f"{self.prefix} {bare}"
        store = json.loads(self.path.read_text()) if self.path.exists() else {}
        params = store.get(key)
        if params is None:
            say(f"fitting {bare} on the training scenarios")
            params = fitted_parameters(bare, make_baseline(bare, env))
            with csvstore.locked(self.path):
                store = json.loads(self.path.read_text()) if self.path.exists() else {}
                store.setdefault(key, params)
                params = store[key]
                tmp = self.path.with_name(self.path.name + ".tmp")
                tmp.write_text(json.dumps(store, indent=1, sort_keys=True))
                tmp.replace(self.path)
        agent = from_fitted_parameters(bare, env, params)
        if bare == "best_fixed" and getattr(env.unwrapped, "n_patches", None) is not None:
            agent = PerPatchAgent(agent, env)  # many-patch env: that entry on every patch
        return params, agent


def read_results_file(path: str | Path) -> list[dict]:
    """The rows of a results CSV (one per key; unreadable lines skipped with a warning).

    Raises:
        ValueError: a file of an older format (no resume-key columns) or of an env id that is no
            longer registered; the message says what to do.
    """
    import gymnasium as gym

    import qec_gym  # noqa: F401  (registers the ids)

    path = Path(path)
    try:
        rows = csvstore.read_rows(path, RESULT_FIELDS, key=KEY)
    except ValueError as e:
        raise ValueError(f"{e} It is not a qec-gym results file of this version: files written before the resume "
                         "keys (env_kwargs, backend, policy_id) cannot be resumed or mixed; re-evaluate into a new --out.") from None
    from qec_gym.envs import RETIRED_ENV_IDS

    gone = sorted({r["env_id"] for r in rows if r["env_id"] not in gym.registry or r["env_id"] in RETIRED_ENV_IDS})
    if gone:
        ids = sorted(i for i in gym.registry if i.startswith("qec_gym/") and i not in RETIRED_ENV_IDS)
        raise ValueError(f"{path} holds results of {gone}, which is no longer registered (registered: {ids}): those "
                         "numbers came from an older environment; re-evaluate into a new --out.")
    return rows


def _check_configuration(path: Path, rows: list[dict], env_id: str, version, kwargs: str, backend: str) -> None:
    now = (env_id, version, kwargs, backend)
    other = sorted({(r["env_id"], r["env_version"], r["env_kwargs"], r["backend"]) for r in rows} - {now}, key=repr)
    if other:
        raise ValueError(
            f"{path} holds results of another env configuration {other[:3]} (env id, version, env_kwargs, backend), "
            f"not {now}: results of different configurations cannot be mixed or "
            "resumed; choose another --out."
        )


def _check_identities(path: Path, rows: list[dict], ids: dict[str, str]) -> None:
    for name, pid in ids.items():
        stored = sorted({r["policy_id"] for r in rows if r["policy"] == name} - {pid})
        if stored:
            raise ValueError(
                f"{path} holds results of a policy named {name!r} with another identity ({stored[0]}, now {pid}: "
                "another model file, tree or fitted parameters): give this one another name (e.g. "
                f"{name}2=<spec>) or choose another --out."
            )
