"""The ``qec-gym`` command line: a thin layer over the library (``main(argv=None)`` is testable).

Each subcommand is registered by one ``_add_<name>`` function that builds its parser and sets
its handler; handlers import what they need lazily so ``qec-gym --help`` stays fast.

Every option's value is checked where it is parsed (argparse ``type=`` validators below), so a
bad value ends in one line naming the option and what it accepts, exit status 2, before any
work starts. Long work shows progress: library code logs (`logging`), and `main` turns records
that carry ``extra={"progress": (label, done, total)}`` into tqdm bars on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence

from qec_gym.validation import Range

# ------------------------------------------------------------------ option validators
MAX_SHOTS = 10**9
"""Most shots per task (a larger run is a typo, or work for `sweep` with --max-shots)."""
MAX_SEED = 2**63 - 1
"""Largest seed numpy's SeedSequence takes from a command line."""


class _Number:
    """argparse ``type=``: a finite int or float within a `Range` (message names the range)."""

    def __init__(self, kind: str, low: float | None = None, high: float | None = None, *, low_open: bool = False):
        self.range = Range(kind, low, high, low_open=low_open)
        self.__name__ = self.range.describe()  # argparse names the type in some messages

    def __call__(self, text: str) -> int | float:
        try:
            return self.range.parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None


def _text(text: str) -> str:
    """argparse ``type=``: a non-empty string (names, paths, titles)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _one_of(what: str, names: Callable[[], Sequence[str]]) -> Callable[[str], str]:
    """argparse ``type=``: one of ``names()`` (imported lazily, so ``--help`` stays fast)."""

    def check(text: str) -> str:
        valid = list(names())
        if text not in valid:
            raise argparse.ArgumentTypeError(f"unknown {what} {text!r}; choose one of {valid}")
        return text

    check.__name__ = what
    return check


def _existing_file(text: str) -> str:
    """argparse ``type=``: a file that exists."""
    from pathlib import Path

    _text(text)
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    return text


def _families() -> Sequence[str]:
    from qec_gym.codes import FAMILIES

    return FAMILIES


def _decoders() -> Sequence[str]:
    from qec_gym.decoders import DECODERS

    return sorted(DECODERS)


def _noise_models() -> Sequence[str]:
    from qec_gym.sim.sweep import NOISE_MODELS

    return sorted(NOISE_MODELS)


def _env_id(text: str) -> str:
    """argparse ``type=``: a registered env id (the message lists the qec_gym ones)."""
    from qec_gym.validation import check_env_id

    try:
        return check_env_id(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _rounds_spec(text: str) -> int | str:
    """argparse ``type=`` of sweep's --rounds: ``d``, ``<k>d`` or an integer >= 1."""
    t = text.strip()
    if t == "d" or (t.endswith("d") and t[:-1].isdigit() and int(t[:-1]) >= 1):
        return t
    try:
        return _ROUNDS.range.parse(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'd', a multiple such as '3d', or {_ROUNDS.range.describe()}, "
                                         f"got {text!r}") from None


_SHOTS = _Number("int", 1, MAX_SHOTS)
_SEED = _Number("int", 0, MAX_SEED)
_DISTANCE = _Number("int", 2, 51)
_ROUNDS = _Number("int", 1, 10**5)
_COUNT = _Number("int", 1, 10**7)  # episodes, seeds, timesteps-like counts
_STEPS = _Number("int", 1, 10**10)
_WORKERS = _Number("int", 1, 1024)
_P = _Number("float", 0.0, 1.0, low_open=True)
_NBAR = _Number("float", 0.0, 100.0, low_open=True)
_KAPPA = _Number("float", 0.0, 1.0, low_open=True)
_KAPPA_PHI = _Number("float", 0.0, 1.0)
_DURATION = _Number("float", 0.0, 1e6, low_open=True)
_FRACTION = _Number("float", 0.0, 1.0)
_POSITIVE = _Number("float", 0.0, 1e12, low_open=True)
_NONNEG = _Number("float", 0.0, 1e12)


def _add_noise_options(p: argparse.ArgumentParser) -> None:
    """``--noise`` and ``--eta``, shared by ``simulate`` and ``sweep`` (resolved by `qec_gym.sim.sweep.noise_model`)."""
    p.add_argument("--noise", type=_one_of("noise model", _noise_models), default="uniform",
                   help="noise model: uniform, sd6, si1000, code_capacity, phenomenological, biased (with --eta)")
    p.add_argument("--eta", type=_Number("float", 0.0, 1e9, low_open=True), default=None,
                   help="Z-bias for --noise biased (e.g. 100)")


def _add_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate memory experiments and print logical error rates")
    p.add_argument("--code", type=_one_of("code family", _families), default="rotated_surface",
                   help="code family (default: rotated_surface)")
    p.add_argument("--distance", "-d", type=_DISTANCE, nargs="+", default=[3, 5], help="code distance(s)")
    p.add_argument("--rounds", type=_ROUNDS, default=None, help="rounds (default: the distance)")
    _add_noise_options(p)
    p.add_argument("-p", type=_P, nargs="+", default=[1e-3, 5e-3], help="physical error rate(s)")
    p.add_argument("--decoder", type=_one_of("decoder", _decoders), default="pymatching",
                   help="decoder name (see qec_gym.decoders)")
    p.add_argument("--shots", type=_SHOTS, default=10_000)
    p.add_argument("--seed", type=_SEED, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print one JSON object per line")
    p.set_defaults(handler=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    import time

    import numpy as np
    from tqdm.auto import tqdm

    from qec_gym.codes import CodeSpec
    from qec_gym.sim import SimulationCache, simulate_window
    from qec_gym.sim.stats import binomial_ci, per_round
    from qec_gym.sim.sweep import noise_model

    noise = {p: noise_model(args.noise, p, eta=args.eta) for p in args.p}  # validates before any work
    rng = np.random.default_rng(args.seed)
    cache = SimulationCache()
    tasks = [(CodeSpec(args.code, d, rounds=args.rounds), p) for d in args.distance for p in args.p]
    if not args.json:
        print(f"{'code':<18}{'d':>3}{'p':>10}{'shots':>9}{'errors':>8}{'p_L/shot':>11}{'p_L/round':>11}  99% CI (per shot)")
    for spec, p in tasks:
        # Shots run in batches that grow until one takes ~0.5 s, so the bar moves at least that often.
        shots = errors = 0
        detection = 0.0
        batch = min(args.shots, 64)
        with tqdm(total=args.shots, desc=f"{spec.family} d={spec.distance} p={p:g}", unit="shot", leave=False,
                  file=sys.stderr, disable=args.no_progress) as bar:
            while shots < args.shots:
                n = min(batch, args.shots - shots)
                t0 = time.perf_counter()
                w = simulate_window(spec, noise[p], decoder=args.decoder, shots=n, rng=rng, cache=cache)
                if time.perf_counter() - t0 < 0.5:
                    batch *= 2
                shots += n
                errors += w.errors
                detection += w.detection_rate * n
                bar.update(n)
        lo, hi = binomial_ci(errors, shots, confidence=0.99)
        per_shot = errors / shots
        p_round = per_round(min(per_shot, 0.5), spec.rounds)
        if args.json:
            print(json.dumps({
                "code": spec.family, "distance": spec.distance, "rounds": spec.rounds, "p": p,
                "noise": args.noise, "eta": args.eta,
                "decoder": w.decoder, "shots": shots, "errors": errors,
                "per_shot": per_shot, "per_round": p_round,
                "ci99": [lo, hi], "detection_rate": detection / shots,
            }))
        else:
            print(
                f"{spec.family:<18}{spec.distance:>3}{p:>10.2e}{shots:>9}{errors:>8}"
                f"{per_shot:>11.2e}{p_round:>11.2e}  [{lo:.2e}, {hi:.2e}]"
            )
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="end-to-end demo: train PPO, fit a tree, evaluate on held-out scenarios, reports")
    p.add_argument("--out", type=_text, default="runs/demo", help="output folder (default: runs/demo); re-running resumes")
    p.add_argument("--timesteps", type=_STEPS, default=200_000, help="PPO training steps")
    p.add_argument("--seeds", type=_COUNT, default=5, help="held-out episodes per scenario")
    p.add_argument("--seed", type=_SEED, default=0)
    p.add_argument("--smoke", action="store_true",
                   help="a run of under a minute that checks the pipeline, not the results")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from qec_gym.demo import DemoConfig, run_demo

    cfg = DemoConfig.smoke() if args.smoke else DemoConfig(timesteps=args.timesteps, seeds=args.seeds, seed=args.seed)
    run_demo(args.out, cfg, log=lambda line: print(line, flush=True), progress=not args.no_progress)
    return 0


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train an RL agent (SB3 / sb3-contrib) into a run folder (one per seed)")
    p.add_argument("--env", type=_env_id, default="qec_gym/SurfaceSwitch-v1", help="registered env id")
    p.add_argument("--algo", default="ppo", choices=["ppo", "a2c", "dqn", "recurrentppo", "maskableppo"])
    p.add_argument("--config", type=_existing_file,
                   help="YAML of hyperparameter overrides (flat, or rl-zoo style keyed by env id)")
    seeds = p.add_mutually_exclusive_group()
    # default None, not 0: argparse treats a value that *is* the default as absent, so `--seed 0 --seeds 1` would pass
    seeds.add_argument("--seed", type=_SEED, default=None, help="training seed (default 0)")
    seeds.add_argument("--seeds", type=_SEED, nargs="+", metavar="K",
                       help="train one run per seed into <out>/seed<K> (the unit of an RL result is a training "
                            "seed: >= 5, docs/protocol.md); re-running the same command resumes each run")
    p.add_argument("--jobs", type=_WORKERS, default=1, help="with --seeds: runs trained at once (default 1)")
    p.add_argument("--timesteps", type=_STEPS, help="override n_timesteps")
    p.add_argument("--n-envs", type=_Number("int", 1, 1024), help="override n_envs")
    p.add_argument("--vec-env", choices=["dummy", "subproc", "native"], default="dummy",
                   help="native: one batched numpy env for all copies (table backend; fastest)")
    p.add_argument("--eval-freq", type=_Number("int", 0, 10**10), default=20_000, help="0: no periodic evaluation")
    p.add_argument("--eval-episodes", type=_COUNT, default=5)
    p.add_argument("--checkpoint-freq", type=_STEPS, default=50_000)
    p.add_argument("--out", type=_text,
                   help="run folder (default: runs/<algo>-<env>-s<seed>); with --seeds the parent of the "
                        "seed<K> folders (default: runs/<algo>-<env>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--hybrid-tree", type=_existing_file,
                   help="start from a behaviour clone of this decision tree (DT+RL hybrid)")
    p.add_argument("--hybrid-dataset", type=_existing_file,
                   help="observations to clone the tree on (a `qec-gym dataset` CSV)")
    p.set_defaults(handler=_run_train)


def _train_config(args: argparse.Namespace, seed: int):
    from qec_gym.training import read_user_config, resolve_config

    overrides = read_user_config(args.config) if args.config else {}
    if args.timesteps is not None:
        overrides["n_timesteps"] = args.timesteps
    if args.n_envs is not None:
        overrides["n_envs"] = args.n_envs
    return resolve_config(
        args.env, args.algo, overrides=overrides, seed=seed, eval_freq=args.eval_freq,
        eval_episodes=args.eval_episodes, checkpoint_freq=args.checkpoint_freq, vec_env=args.vec_env,
    )


def _train_seed(args: argparse.Namespace, seed: int, out: str, resume: bool, progress_bar: bool) -> str | None:
    """Train one seed's run (a worker of ``--seeds --jobs``, hence module level); returns None when
    it finished, else the message of the interrupt (an exception would not cross processes intact)."""
    from qec_gym.training import train
    from qec_gym.training.train import run_is_complete

    cfg = _train_config(args, seed)
    if resume and run_is_complete(cfg, out):
        return None
    try:
        if args.hybrid_tree:
            from qec_gym.training.hybrid import train_hybrid

            train_hybrid(cfg, out, tree_path=args.hybrid_tree, dataset=args.hybrid_dataset, resume=resume,
                         progress_bar=progress_bar)
        else:
            train(cfg, out, resume=resume, progress_bar=progress_bar)
    except KeyboardInterrupt as e:  # train() raises TrainingInterrupted, naming the checkpoint (or none)
        if getattr(e, "checkpoint", None) is None:
            return f"interrupted before any checkpoint was saved: nothing to resume in {out}; start again with the same command."
        again = "the same command" if args.seeds else f"`qec-gym train --resume --out {out}` (same options)"
        return f"interrupted: checkpoint {e.checkpoint} ({e.steps} steps); continue with {again}"
    return None


def _run_train(args: argparse.Namespace) -> int:
    if bool(args.hybrid_tree) != bool(args.hybrid_dataset):
        raise ValueError("the hybrid needs both --hybrid-tree and --hybrid-dataset.")
    if args.seeds is None:
        args.seed = 0 if args.seed is None else args.seed
        if args.jobs != 1:
            raise ValueError("--jobs trains several seeds at once: give --seeds (or drop --jobs).")
        out = args.out or f"runs/{args.algo}-{args.env.split('/')[-1]}-s{args.seed}"
        message = _train_seed(args, args.seed, out, args.resume, not args.no_progress)
        if message:
            print(message, file=sys.stderr)
            return 130
        print(f"run folder: {out}\ntensorboard: tensorboard --logdir {out}/tb")
        return 0
    if len(set(args.seeds)) != len(args.seeds):
        raise ValueError(f"--seeds {args.seeds} repeats a seed: give each training seed once.")
    if len(args.seeds) < 5:
        print(f"note: {len(args.seeds)} training seeds; an RL result needs at least 5 (docs/protocol.md).",
              file=sys.stderr)
    for seed in args.seeds:  # every seed's config is valid before any training starts
        _train_config(args, seed)
    base = args.out or f"runs/{args.algo}-{args.env.split('/')[-1]}"
    runs = {seed: f"{base}/seed{seed}" for seed in args.seeds}
    if args.jobs == 1:
        messages = {}
        for seed, out in runs.items():
            messages[seed] = _train_seed(args, seed, out, True, not args.no_progress)
            if messages[seed]:
                break  # Ctrl-C stops the sweep, not only this seed
            print(f"seed {seed}: {out}", flush=True)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: torch is imported here already, and forking a process that holds its threads is unsafe
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {seed: pool.submit(_train_seed, args, seed, out, True, False) for seed, out in runs.items()}
            messages = {seed: f.result() for seed, f in futures.items()}
        for seed, out in runs.items():
            if not messages[seed]:
                print(f"seed {seed}: {out}")
    for seed, message in messages.items():
        if message:
            print(f"seed {seed}: {message}", file=sys.stderr)
    if any(messages.values()):
        return 130
    print(f"runs: {base}/seed{{{','.join(map(str, args.seeds))}}}\ntensorboard: tensorboard --logdir {base}")
    return 0


def _add_tune(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tune", help="tune PPO hyperparameters with optuna on the validation split (resumable study)")
    p.add_argument("--env", type=_env_id, default="qec_gym/SurfaceSwitch-v1", help="registered env id")
    p.add_argument("--algo", default="ppo", choices=["ppo"])
    p.add_argument("--config", type=_existing_file, help="YAML of fixed hyperparameter overrides (as train --config)")
    p.add_argument("--trials", type=_COUNT, required=True, help="complete trials the study should hold")
    p.add_argument("--timesteps", type=_STEPS, required=True, help="training steps per trial")
    p.add_argument("--eval-episodes", type=_COUNT, default=5, help="validation episodes scoring each trial")
    p.add_argument("--seed", type=_SEED, default=0, help="sampler seed and every trial's training seed")
    p.add_argument("--out", type=_text, required=True, help="study folder (study.db, trial<k>/); re-running resumes")
    p.set_defaults(handler=_run_tune)


def _run_tune(args: argparse.Namespace) -> int:
    from qec_gym.training import read_user_config
    from qec_gym.training.tune import tune

    overrides = read_user_config(args.config) if args.config else {}
    result = tune(args.env, args.algo, trials=args.trials, timesteps=args.timesteps, out=args.out,
                  overrides=overrides, seed=args.seed, eval_episodes=args.eval_episodes)
    print(f"# best of {result.trials} trials: validation return {result.best_value:.4g} (study: {result.storage})")
    print(result.yaml(), end="")
    return 0


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="paired evaluation of policies on scenarios x seeds (resumable CSV)")
    p.add_argument("--env", type=_env_id, default="qec_gym/SurfaceSwitch-v1")
    p.add_argument("--policies", type=_text, nargs="+", default=["best_fixed", "threshold", "oracle", "clairvoyant"],
                   help="policy specs: random, fixed:<i>, best_fixed, threshold, periodic_recal, cusum_recal, "
                        "drift_recal, certainty_equivalent (certainty_equivalent:decode=1.5, :p_shot=K, :bit_flips=K, "
                        ":table_of=ENV_ID: planning on a wrong model), tree:<path> (a saved tree: `qec-gym tree`), oracle, clairvoyant, "
                        "run:<folder>, fallback:<folder>,<baseline> (the run inside the support of its training "
                        "rollouts, the baseline outside: qec_gym.training.fallback) (optionally name=spec)")
    p.add_argument("--scenarios", type=_text, nargs="+", default=None,
                   help="'heldout', 'train', 'confirmation' (the env's second, fresh held-out set: "
                        "qec_gym.noise.scenarios.confirmation_for_env) or scenario names (default: 'heldout'; with "
                        "--trace: none besides the trace's)")
    p.add_argument("--draw", type=_SEED, metavar="SEED",
                   help="add the drawn validation set SEED of off-support drift (qec_gym.noise.draws: for tuning; "
                        "held-out draws are the release evaluation's: benchmarks/release_eval.py --draw)")
    p.add_argument("--seeds", type=_COUNT, default=5, help="episodes per scenario (seeds 0..N-1)")
    p.add_argument("--backend", choices=["table", "circuit"], help="override the env's backend")
    p.add_argument("--workers", type=_WORKERS, default=1)
    p.add_argument("--out", type=_text, default="runs/eval/results.csv")
    p.add_argument("--by-scenario", action="store_true",
                   help="print the table per (scenario, policy), each row from that scenario's episodes only "
                        "(default: every scenario's episodes pooled per policy)")
    _add_ray_options(p, "--executor", ("local", "ray"), "where episodes run: local processes (--workers) or Ray "
                     "(one unit per policy x scenario; same results)")
    g = p.add_argument_group("recorded trace (Scenario.from_trace: one scenario per episode-long slice)")
    g.add_argument("--trace", type=_existing_file, metavar="FILE",
                   help="noise multipliers over time: .csv, .parquet, .npy or a telemetry store (.sqlite)")
    g.add_argument("--column", type=_text, help="column of the trace table (default: its only column; telemetry: noise_estimate)")
    g.add_argument("--trace-baseline", type=_P, metavar="P",
                   help="the trace's multiplier 1 is stim-uniform(P) (default: the env's axis baseline)")
    g.add_argument("--episode-length", type=_COUNT, default=500, help="trace values (steps) per episode (default 500)")
    p.set_defaults(handler=_run_eval)


def _run_eval(args: argparse.Namespace) -> int:
    from qec_gym.demo import tqdm_progress
    from qec_gym.eval import EvalConfig, evaluate, summarize

    env_kwargs = {"backend": args.backend} if args.backend else {}
    if args.trace is None:
        if args.column is not None or args.trace_baseline is not None:
            raise ValueError("--column and --trace-baseline describe a --trace FILE; give one.")
        names = args.scenarios or ([] if args.draw is not None else ["heldout"])
        scenarios = names[0] if len(names) == 1 and args.draw is None else tuple(names) + _drawn(args)
    else:
        scenarios = (*(args.scenarios or ()), *_drawn(args), *_trace_scenarios(args, env_kwargs))
    cfg = EvalConfig(args.env, scenarios=scenarios, seeds=tuple(range(args.seeds)), env_kwargs=env_kwargs)
    fallbacks = _fit_fallback_supports(args.policies)
    with tqdm_progress("episodes") as progress:  # its status names a baseline being fitted
        df = evaluate(args.policies, cfg, out_path=args.out, workers=args.workers, progress=progress,
                      status=progress.status, executor=args.executor, address=args.address, num_cpus=args.num_cpus)
    names = set(df.policy)
    reference = "best_fixed" if "best_fixed" in names else None

    def summary(episodes):
        return summarize(episodes, reference=reference, oracle="clairvoyant" if "clairvoyant" in names else None)

    if args.by_scenario:  # the same columns, each (scenario, policy) row from its scenario's episodes
        import pandas as pd

        parts = [summary(sub).assign(scenario=s) for s, sub in df.groupby("scenario", sort=True)]
        table = pd.concat(parts, ignore_index=True)
        table = table[["scenario", *(c for c in table.columns if c != "scenario")]]
    else:
        table = summary(df)
    # the columns name what they compare with, so a pasted table cannot be misread
    if reference:
        table = table.rename(columns={"diff_vs_reference": f"diff_vs_{reference}",
                                      "diff_low": f"diff_vs_{reference}_low", "diff_high": f"diff_vs_{reference}_high"})
    # n/a: fewer than two episodes give no interval
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}", na_rep="n/a"))
    notes = ["return: mean episode return with its 95% t interval (return_low, return_high)"]
    if reference:
        notes.append(f"diff_vs_{reference}: paired mean return difference to {reference} on the same episodes")
    if "regret" in table:
        notes.append("regret: the clairvoyant plan's return minus the policy's, paired")
    notes.append("log10_p_round: mean log10 logical error per round; budget_violation_frac: share of windows "
                 "above the error budget; qubit_rounds: physical qubits x rounds per episode; switches: "
                 "configuration changes per episode (a fixed policy's 1 is its move off the env's initial "
                 "configuration); "
                 + ("each row from its scenario's episodes only" if args.by_scenario
                    else "scenarios pooled: per scenario with --by-scenario, or the CSV (--out)"))
    print("; ".join(notes) + ".")
    if fallbacks:
        print(_deferral_note(cfg, fallbacks))
    print(f"results: {args.out}")
    return 0


def _fit_fallback_supports(policies) -> dict[str, str]:
    """Name -> spec of the ``fallback:`` policies, each run's support fitted (or found) here, with a
    message, before the episodes: fitting rolls the policy out on training scenarios."""
    from qec_gym.eval.harness import policy_name, spec_body

    fallbacks = {policy_name(p): spec_body(p) for p in policies if spec_body(p).startswith("fallback:")}
    if not fallbacks:
        return {}
    from qec_gym.training.fallback import fit_support, parse_spec, support_is_current

    for name, spec in fallbacks.items():
        run, _, config = parse_spec(spec[len("fallback:"):])
        if not support_is_current(run, config):
            print(f"{name}: fitting the support of {run} on {config.episodes} training-scenario episodes of its "
                  f"policy (k={config.k}, alpha={config.alpha}; once per model)", flush=True)
        fit_support(run, config)
    return fallbacks


def _deferral_note(cfg, fallbacks: dict[str, str]) -> str:
    """The share of steps each fallback policy hands to its baseline, on the first seed of each scenario."""
    from qec_gym.eval.harness import make_policy
    from qec_gym.training.fallback import deferral_rate

    env = cfg.make_env()
    try:
        first = [(s, cfg.seeds[0]) for s in env.unwrapped.scenario_names]
        rates = {name: deferral_rate(make_policy(spec, env), env, first) for name, spec in fallbacks.items()}
    finally:
        env.close()
    return ("steps deferred to the baseline (episode seed " + str(cfg.seeds[0]) + " of each scenario): "
            + ", ".join(f"{name} {rate:.1%}" for name, rate in rates.items())
            + "; fresh training-scenario episodes give 3-22% (docs/results.md), so a much larger share means "
              "these episodes leave the policy's training distribution.")


def _drawn(args: argparse.Namespace) -> tuple:
    """The drawn validation set of ``--draw`` for ``--env`` (none without it)."""
    if args.draw is None:
        return ()
    from qec_gym.noise.draws import draw_scenarios, family_for_env

    return draw_scenarios(family_for_env(args.env), args.draw, split="validation")


def _trace_scenarios(args: argparse.Namespace, env_kwargs: dict) -> tuple:
    """The scenarios of ``--trace``, multipliers of the env's noise axis (or of stim-uniform(--trace-baseline))."""
    import gymnasium as gym

    from qec_gym.noise.params import NoiseParams
    from qec_gym.noise.scenarios import Scenario

    env = gym.make(args.env, **env_kwargs)
    try:
        axis = getattr(env.unwrapped, "axis", None)
        if axis is None or not isinstance(axis.baseline, NoiseParams) or hasattr(env.unwrapped, "kappa_axis"):
            raise ValueError(f"--trace builds noise scenarios; {args.env} draws another kind (use a Python script "
                             "with its own scenario class and a Replay drift).")
        baseline = axis.baseline if args.trace_baseline is None else NoiseParams.uniform(args.trace_baseline)
        return Scenario.from_trace(args.trace, column=args.column, baseline=baseline, key=axis.key,
                                   episode_length=args.episode_length)
    finally:
        env.close()


def _add_dataset(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dataset",
        help="generate (observation, myopic-oracle action) pairs on training scenarios; resumable CSV",
    )
    p.add_argument("--env", type=_env_id, default="qec_gym/SurfaceSwitch-v1", help="env id (default: qec_gym/SurfaceSwitch-v1)")
    p.add_argument("--episodes", type=_COUNT, required=True, help="episodes the dataset should hold")
    p.add_argument("--out", type=_text, required=True, help="CSV file; re-running with the same file resumes")
    p.add_argument("--seed", type=_SEED, default=0)
    p.add_argument("--epsilon", type=_FRACTION, default=0.2, help="share of random actions in the rollouts (default: 0.2)")
    p.add_argument("--max-steps", type=_Number("int", 1, 10**7), default=None,
                   help="truncate episodes (default: the scenario's length)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run_dataset)


def _run_dataset(args: argparse.Namespace) -> int:
    from qec_gym.agents.dataset import generate_dataset

    env_kwargs = {} if args.max_steps is None else {"max_steps": args.max_steps}
    df = generate_dataset(args.env, episodes=args.episodes, seed=args.seed, epsilon=args.epsilon, out_path=args.out,
                          progress=not args.quiet, env_kwargs=env_kwargs)
    labels = df["label"].value_counts().sort_index()
    print(f"{len(df)} rows, {df['episode'].nunique()} episodes, scenarios {sorted(df['scenario'].unique())}")
    print("oracle labels: " + ", ".join(f"{int(k)}: {int(v)}" for k, v in labels.items()))
    print(f"dataset: {args.out}")
    return 0


def _add_tree(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tree", help="fit a decision tree on a dataset; print its rules and accuracies")
    p.add_argument("--dataset", type=_text, required=True, help="CSV from `qec-gym dataset`")
    p.add_argument("--max-depth", type=_Number("int", 1, 64), default=4)
    p.add_argument("--min-samples-leaf", type=_Number("int", 1, 10**9), default=20)
    p.add_argument("--target", choices=["auto", "entry", "action"], default="auto",
                   help="learn the next menu entry or the oracle's action (default: auto)")
    p.add_argument("--validation-fraction", type=_Number("float", 0.0, 0.9), default=0.2,
                   help="share of episodes held out (default: 0.2)")
    p.add_argument("--seed", type=_SEED, default=0)
    p.add_argument("--out", type=_text, required=True, help="model file (joblib; metadata in <out>.json)")
    p.set_defaults(handler=_run_tree)


def _run_tree(args: argparse.Namespace) -> int:
    from qec_gym.agents.dataset import load_dataset
    from qec_gym.agents.tree import DecisionTreeAgent

    df = load_dataset(args.dataset)
    agent = DecisionTreeAgent.train(df, max_depth=args.max_depth, min_samples_leaf=args.min_samples_leaf,
                                    target=args.target, validation_fraction=args.validation_fraction, seed=args.seed)
    print(agent.rules())
    m = agent.metrics
    val = f"{m['validation_accuracy']:.4f} ({m['n_validation']} rows)" if "validation_accuracy" in m else "n/a"
    print(f"target: {agent.target}   training accuracy: {m['train_accuracy']:.4f} ({m['n_train']} rows)   "
          f"validation accuracy: {val}")
    print(f"model: {agent.save(args.out)}")
    return 0


def _add_ray_options(p: argparse.ArgumentParser, flag: str, choices: tuple[str, ...], help: str) -> None:
    """The backend choice of a command and the Ray options (`qec_gym.sim.executor`)."""
    g = p.add_argument_group("distributed (pip install \"qec-gym[ray]\")")
    g.add_argument(flag, dest=flag.lstrip("-"), choices=choices, default=choices[0], help=f"{help} (default: {choices[0]})")
    g.add_argument("--address", type=_text, default=None,
                   help=f"Ray cluster to join (host:port, ray://host:port or auto; default: start a local Ray) "
                        f"with {flag} ray")
    g.add_argument("--num-cpus", type=_WORKERS, default=None, help=f"CPUs of the local Ray (default: all) with {flag} ray")


def _add_sweep(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="sinter sweep over codes x distances x p x decoders; resumable CSV, threshold estimate",
    )
    p.add_argument("--code", type=_one_of("code family", _families), nargs="+", default=["rotated_surface"],
                   help="code family(ies)")
    p.add_argument("--distances", "-d", type=_DISTANCE, nargs="+", required=True, help="code distances")
    p.add_argument("--p", "-p", type=_P, nargs="+", required=True, help="physical error rates")
    p.add_argument("--decoder", type=_one_of("decoder", _decoders), nargs="+", default=["pymatching"],
                   help="decoder name(s)")
    _add_noise_options(p)
    p.add_argument("--rounds", type=_rounds_spec, default="d",
                   help="rounds: 'd' (= distance), e.g. '3d', or an int (default: d)")
    p.add_argument("--basis", choices=["x", "z"], default=None, help="memory basis (default: the family's)")
    p.add_argument("--max-shots", type=_SHOTS, default=100_000)
    p.add_argument("--max-errors", type=_SHOTS, default=1_000)
    p.add_argument("--workers", type=_WORKERS, default=2, help="sinter / local worker processes (default: 2)")
    p.add_argument("--out", type=_text, required=True, help="results CSV; re-running with the same file resumes")
    _add_ray_options(p, "--backend", ("sinter", "local", "ray"),
                     "sinter: sinter's workers (unseeded); local / ray: seeded shot batches on local processes or "
                     "Ray workers (identical counts for one --seed)")
    p.add_argument("--seed", type=_Number("int", 0, 2**63 - 1), default=0, help="root seed of --backend local/ray")
    p.add_argument("--batch-shots", type=_SHOTS, default=1_000, help="shots per seeded batch (default: 1000)")
    p.add_argument("--plot", type=_text, default=None, help="also write a PNG of logical error per round vs p")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=_run_sweep)


def _run_sweep(args: argparse.Namespace) -> int:
    import time

    from qec_gym.sim.sweep import SweepConfig, run_sweep, stats_to_rows
    from qec_gym.sim.threshold import NoCrossingError, curves_from_rows, estimate_threshold

    config = SweepConfig(
        families=args.code, distances=args.distances, p_values=args.p, decoders=args.decoder,
        noise=args.noise, eta=args.eta, rounds=args.rounds, basis=args.basis, max_shots=args.max_shots,
        max_errors=args.max_errors, num_workers=args.workers,
    )
    last = [0.0]

    def progress(update) -> None:
        # sinter reports after every batch; a status line every 2 s is enough for a terminal.
        now = time.monotonic()
        if not args.quiet and update.status_message and now - last[0] > 2.0:
            last[0] = now
            print(update.status_message, file=sys.stderr, flush=True)

    # run_sweep returns this sweep's tasks only, even when --out also holds other sweeps.
    if args.backend == "sinter" and (args.seed != 0 or args.batch_shots != 1_000):
        raise ValueError("--seed and --batch-shots apply to the seeded backends: add --backend local or --backend ray.")
    rows = stats_to_rows(run_sweep(config, save_path=args.out, progress=progress, backend=args.backend,
                                   seed=args.seed, batch_shots=args.batch_shots, address=args.address,
                                   num_cpus=args.num_cpus))
    print(f"{'code':<18}{'decoder':<22}{'noise':<18}{'d':>3}{'r':>4}{'p':>10}{'shots':>10}{'errors':>8}"
          f"{'p_L/round':>11}  95% CI")
    for r in rows:
        lo, hi = r.ci_per_round(0.95)
        print(f"{r.family:<18}{r.decoder:<22}{r.noise_model:<18}{r.distance:>3}{r.rounds:>4}{r.p:>10.3e}{r.shots:>10}"
              f"{r.errors:>8}{r.per_round:>11.3e}  [{lo:.2e}, {hi:.2e}]")
    noise_label = rows[0].noise_model  # one noise model per sweep
    estimates = {}
    if len(config.distances) >= 2:
        for family in config.families:
            for decoder in config.decoders:
                try:
                    est = estimate_threshold(curves_from_rows(rows, family=family, decoder=decoder,
                                                              noise=config.noise, eta=config.eta))
                except (NoCrossingError, ValueError) as e:
                    print(f"threshold {family} / {decoder} ({noise_label}): not estimated: {e}")
                    continue
                estimates[(family, decoder)] = est
                print(f"threshold {family} / {decoder} ({noise_label}): {est}")
    print(f"results: {args.out}")
    if args.plot:
        from qec_gym.sim.plots import plot_threshold

        only = next(iter(estimates.values())) if len(estimates) == 1 else None
        plot_threshold(rows, args.plot, threshold=only, title=f"{' / '.join(config.families)}, {noise_label} noise")
        print(f"plot: {args.plot}")
    return 0


def _add_bosonic(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bosonic", help="cat-qubit channel: build the solved rate table, show an operating point")
    bsub = p.add_subparsers(dest="bosonic_command", required=True)
    t = bsub.add_parser("table", help="build or extend a cat-qubit rate table (solves with qutip; progress bar)")
    t.add_argument("--packaged", action="store_true",
                   help="the grid that ships with the package, written to qec_gym/bosonic/data")
    t.add_argument("--nbar", type=_NBAR, nargs="+", default=None, help="nbar axis (default: the default grid's)")
    t.add_argument("--k1", type=_KAPPA, nargs="+", default=None, help="kappa_1/kappa_2 axis")
    t.add_argument("--kphi", type=_KAPPA_PHI, nargs="+", default=None, help="kappa_phi/kappa_2 axis")
    t.add_argument("--cache-dir", type=_text, default=None, help="cache folder (default: $QEC_GYM_CACHE/bosonic)")
    t.add_argument("--workers", type=_WORKERS, default=1, help="solver processes (default: 1)")
    t.set_defaults(handler=_run_bosonic_table)
    s = bsub.add_parser("show", help="rates, probabilities and the repetition-code channel of one operating point")
    s.add_argument("--nbar", type=_NBAR, required=True, help="mean photon number")
    s.add_argument("--k1", type=_KAPPA, required=True, help="kappa_1/kappa_2")
    s.add_argument("--kphi", type=_KAPPA_PHI, default=0.0, help="kappa_phi/kappa_2 (default 0)")
    s.add_argument("--t-round", type=_DURATION, default=5.0, help="round duration in 1/kappa_2 (default 5)")
    s.add_argument("--gate-time", type=_DURATION, default=1.0, help="CX duration in 1/kappa_2 (default 1)")
    s.add_argument("--t-readout", type=_DURATION, default=1.0, help="X preparation / readout in 1/kappa_2 (default 1)")
    s.add_argument("--distance", "-d", type=_DISTANCE, nargs="+", default=[3, 5, 7], help="repetition-code distances")
    s.add_argument("--no-solve", action="store_true", help="skip the direct Liouvillian solve (qutip)")
    s.set_defaults(handler=_run_bosonic_show)


def _run_bosonic_table(args: argparse.Namespace) -> int:
    import time

    from qec_gym.bosonic import CatChannelTable, CatTableGrid, table_path
    from qec_gym.bosonic.channel import PACKAGED_CAT_GRID, PACKAGED_CAT_TABLES

    if args.packaged:
        if args.nbar or args.k1 or args.kphi or args.cache_dir:
            raise ValueError("--packaged fixes the grid and the folder: drop --nbar/--k1/--kphi/--cache-dir.")
        grid, cache_dir = PACKAGED_CAT_GRID, PACKAGED_CAT_TABLES
    else:
        default = CatTableGrid.default()
        grid = CatTableGrid(
            args.nbar or default.nbar, args.k1 or default.kappa1_over_kappa2,
            kappaphi_over_kappa2=args.kphi or default.kappaphi_over_kappa2,
        )
        cache_dir = args.cache_dir
    start = time.perf_counter()
    table = CatChannelTable.build(grid, cache_dir=cache_dir, workers=args.workers, progress=True)
    print(f"{table!r}")
    print(f"table: {table_path(grid, cache_dir=cache_dir)} ({time.perf_counter() - start:.1f} s)")
    return 0


def _run_bosonic_show(args: argparse.Namespace) -> int:
    import time

    from qec_gym.bosonic import CatParams, analytic_rates, flip_probability
    from qec_gym.bosonic.channel import (
        CatOperatingPoint, cat_channel, gouzien_bit_flip_per_round, gouzien_phase_flip_per_round,
        packaged_cat_table,
    )

    point = CatOperatingPoint(args.nbar, args.k1, kappaphi_over_kappa2=args.kphi, t_round=args.t_round,
                              gate_time=args.gate_time, t_readout=args.t_readout)
    params = CatParams(args.nbar, args.k1, kappaphi_over_kappa2=args.kphi)
    rows = [("analytic law", *analytic_rates(params))]
    table = packaged_cat_table()
    if table is not None:
        try:
            rows.append(("packaged table", *table.rates(args.nbar, args.k1, kappaphi_over_kappa2=args.kphi)))
        except ValueError as e:
            print(f"packaged table: not covered ({e})")
    if not args.no_solve:
        try:
            from qec_gym.bosonic import solve_rates

            t0 = time.perf_counter()
            solved = solve_rates(params)
            rows.append((f"Liouvillian ({time.perf_counter() - t0:.2f} s)", solved.gamma_x, solved.gamma_z))
        except ImportError as e:
            print(f"direct solve skipped: {e}")
    print(f"cat qubit nbar={args.nbar:g}, kappa1/kappa2={args.k1:g}, kappaphi/kappa2={args.kphi:g} "
          f"(rates in kappa_2, probabilities per round of {args.t_round:g}/kappa_2)")
    print(f"{'source':<28}{'Gamma_X':>11}{'Gamma_Z':>11}{'p_X/round':>11}{'p_Z/round':>11}")
    for name, gx, gz in rows:
        print(f"{name:<28}{gx:>11.3e}{gz:>11.3e}{flip_probability(gx, args.t_round):>11.3e}"
              f"{flip_probability(gz, args.t_round):>11.3e}")
    ch = cat_channel(point)
    cx = ch.cx
    print(f"CX (t={args.gate_time:g}): p_ZI(control)={cx.p_z_control:.3e} p_IZ={cx.p_z_target:.3e} "
          f"p_ZZ={cx.p_zz:.3e} bit flips={cx.p_bitflip:.3e}")
    n = ch.noise
    print(f"repetition-code channel ({ch.rates_source} rates): p2={n.p2:.3e} (ZI=IZ=ZZ={cx.p_zz:.3e}), "
          f"ancilla readout p_meas={n.p_meas:.3e} (incl. control excess {ch.control_excess:.3e} per CX), "
          f"p_reset={n.p_reset:.3e}, idle_z={n.idle_z:.3e}, p_dephase={n.p_dephase:.3e}")
    print(f"{'d':>3}{'modes':>7}{'photons':>9}{'p_X,L/round':>13}{'Gouzien X':>11}{'Gouzien Z':>11}")
    for d in args.distance:
        print(f"{d:>3}{ch.modes(d):>7}{ch.photons(d):>9.1f}{ch.bit_flip_per_round(d):>13.3e}"
              f"{gouzien_bit_flip_per_round(d, args.nbar):>11.3e}{gouzien_phase_flip_per_round(d, args.nbar, args.k1):>11.3e}")
    return 0


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="Markdown + HTML report: of evaluation results (--results), or the QEC simulation report (--qec)",
    )
    p.add_argument("--out", type=_text, required=True, help="output folder (report.md, report.html, figures/)")
    p.add_argument("--results", type=_text, help="results CSV of `qec-gym eval` (its .traces.csv is read when present)")
    p.add_argument("--reference", default="best_fixed",
                   help="policy the paired differences refer to (default: best_fixed; '' for none)")
    p.add_argument("--oracle", default="clairvoyant", help="policy regret is measured to (default: clairvoyant; '' for none)")
    p.add_argument("--run", type=_text, action="extend", nargs="+", default=[], metavar="DIR", help="training run folder(s)")
    p.add_argument("--tree", type=_text, help="saved decision tree whose rules to include")
    p.add_argument("--title", type=_text, help="report title")
    p.add_argument("--qec", action="store_true", help="the QEC simulation report (thresholds, resources, suitability)")
    p.add_argument("--sweeps", type=_text, nargs="+", metavar="CSV",
                   help="with --qec: sinter sweep CSVs (default: the stored ones)")
    p.add_argument("--quick", action="store_true", help="with --qec and no --sweeps: sample small sweeps now (~1 min)")
    p.add_argument("--workers", type=_WORKERS, default=2, help="with --quick: sinter worker processes (default: 2)")
    p.add_argument("--curves", type=_text, nargs="+", action="append", metavar="RUN_DIR",
                   help="learning curves over seeds (curves.png, curves.csv): one group per --curves, of run folders "
                        "or parents of seed<K> folders")
    p.add_argument("--drift-stability", type=_text, nargs="+", metavar="CSV",
                   help="drift-stability tables and figure (drift_stability.md, .png) of episode CSVs written by "
                        "benchmarks/drift_stability.py")
    p.add_argument("--reps", type=_COUNT, default=2000, help="with --drift-stability: bootstrap replicates (default: 2000)")
    p.set_defaults(handler=_run_report)


def _run_curves(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    import pandas as pd

    from qec_gym.eval.curves import learning_curve, plot_curves

    if args.results or args.qec:
        raise ValueError("--curves writes learning curves only: drop --results / --qec (or drop --curves).")
    curves = {}
    for group in args.curves:
        label = Path(os.path.commonpath([os.path.abspath(d) for d in group])).name if len(group) > 1 else Path(group[0]).name
        curves[label if label not in curves else f"{label} ({len(curves) + 1})"] = learning_curve(group)
    out = Path(args.out)
    png = plot_curves(curves, out / "curves.png", title=args.title)
    pd.concat([df.assign(group=label) for label, df in curves.items()], ignore_index=True).to_csv(
        out / "curves.csv", index=False)
    print(f"curves: {png}\ntable:  {out / 'curves.csv'}")
    return 0


def _run_report(args: argparse.Namespace) -> int:
    if args.drift_stability:
        if args.results or args.qec or args.curves:
            raise ValueError("--drift-stability writes the drift-stability report only: drop --results / --qec / --curves.")
        from qec_gym.eval.drift_stability import write_stability_report

        md, png = write_stability_report(args.drift_stability, args.out, reps=args.reps)
        print(f"tables: {md}\nfigure: {png}")
        return 0
    if args.curves:
        return _run_curves(args)
    if args.qec:
        if args.results:
            raise ValueError("--qec builds the QEC simulation report from sweeps; drop --results (or drop --qec).")
        from qec_gym.eval.qec_report import write_qec_report

        kwargs = {"title": args.title} if args.title else {}
        rep = write_qec_report(args.out, sweep_csvs=args.sweeps, quick=args.quick, workers=args.workers,
                               progress=lambda msg: print(msg, file=sys.stderr, flush=True), **kwargs)
    else:
        if not args.results:
            raise ValueError("give --results results.csv (from `qec-gym eval`), or --qec for the QEC simulation report.")
        if args.sweeps or args.quick:
            raise ValueError("--sweeps and --quick belong to the QEC report: add --qec.")
        from qec_gym.eval.report import write_report

        kwargs = {"title": args.title} if args.title else {}
        rep = write_report(args.results, args.out, reference=args.reference or None, oracle=args.oracle or None,
                           run_dirs=args.run, tree_path=args.tree, **kwargs)
    for note in rep.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"report: {rep.markdown}\nhtml:   {rep.html}\nfigures: {len(rep.figures)} in {rep.markdown.parent / 'figures'}")
    return 0


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="performance benchmarks side by side (simulator, envs, decoders, training)")
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    p.add_argument("--json", type=_text, metavar="PATH", help="also save the results (with machine info and timestamp) as JSON")
    p.set_defaults(handler=_run_bench)


def _run_bench(args: argparse.Namespace) -> int:
    from qec_gym.bench import format_table, run_benchmarks, write_json

    results = run_benchmarks(quick=args.quick, progress=lambda msg: print(f"... {msg}", file=sys.stderr, flush=True))
    print(format_table(results))
    if args.json:
        print(f"json: {write_json(results, args.json)}")
    return 0


def _add_monitor_dashboard_args(p: argparse.ArgumentParser) -> None:
    """The dashboard's options of ``qec-gym monitor --run DIR`` (``--run`` itself: `_add_monitor`)."""
    g = p.add_argument_group("live dashboard (--run)")
    g.add_argument("--export", type=_text, metavar="HTML", help="write the dashboard of the run as one static HTML file and exit")
    g.add_argument("--port", type=_Number("int", 0, 65535), default=5006, help="TCP port to serve on (0 picks a free one; default 5006)")
    g.add_argument("--host", type=_text, default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    g.add_argument("--allow-remote", action="store_true",
                   help="allow a --host other than loopback (the page has no authentication: anyone who reaches it reads the run)")
    g.add_argument("--poll", type=_Number("float", 0.0, 3600.0, low_open=True), default=0.2, metavar="S", help="seconds between reads of new records (default 0.2)")
    g.add_argument("--target", type=_P, default=None, help="logical-error budget per round drawn (default: RewardConfig's)")
    g.add_argument("--cycle-budget-us", type=_POSITIVE, default=None,
                   help="decode-time budget per round in us (default: RewardConfig's, 1 us)")


def _run_monitor_dashboard(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from qec_gym.monitor.dashboard import DashboardConfig, DashboardServer, export_html

    cfg = DashboardConfig(poll_interval_s=args.poll, run_id=args.run_id)
    if args.target is not None:
        cfg = replace(cfg, target=args.target)
    if args.cycle_budget_us is not None:
        cfg = replace(cfg, cycle_budget_s=args.cycle_budget_us * 1e-6)
    if args.export:
        print(f"dashboard: {export_html(args.run, args.export, config=cfg)}")
        return 0
    server = DashboardServer(args.run, config=cfg, host=args.host, port=args.port, allow_remote=args.allow_remote)
    if args.allow_remote:
        print(f"warning: serving on {args.host}: the dashboard has no authentication; anyone who can reach "
              "this interface can read the run's telemetry.", file=sys.stderr)
    try:
        server.serve_forever(on_ready=lambda url: print(f"dashboard of {server.store} at {url} (Ctrl-C stops)", flush=True))
    except KeyboardInterrupt:
        print("dashboard stopped.", file=sys.stderr)
    return 0


def _ingest_arguments(p: argparse.ArgumentParser, *, format_required: bool = True) -> None:
    p.add_argument("--format", "-f", required=format_required, choices=("01", "b8", "r8", "dets", "ptb64"),
                   help="stim result format: 01, b8, r8, dets, ptb64")
    p.add_argument("--circuit", type=_existing_file, help="the .stim circuit that defines the detectors")
    p.add_argument("--dem", type=_existing_file,
                   help="its decomposed detector error model (.dem); derived from --circuit if omitted")
    p.add_argument("--observables", choices=("none", "appended", "separate"), default="none",
                   help="observables after the detectors of each shot (appended), in --obs-file (separate), or none")
    p.add_argument("--obs-file", type=_existing_file, help="observables file (same format) when --observables separate")
    p.add_argument("--decoder", type=_one_of("decoder", _decoders), default="pymatching",
                   help="decoder name (see qec_gym.decoders)")
    p.add_argument("--window-shots", type=_SHOTS, default=10_000, help="shots per telemetry window (default 10000)")
    p.add_argument("--out", type=_text, help="run folder for telemetry.sqlite (default: no telemetry, summary only)")
    p.add_argument("--run-id", type=_text, default=None, help="replay: run id of the records written (default 'replay'); "
                   "dashboard (--run): show only run ids that start with this")
    p.add_argument("--no-anomaly", action="store_true", help="skip the online anomaly detectors")
    p.add_argument("--policy", type=_text, metavar="RUN_DIR_OR_BASELINE",
                   help="recommend an action per window: a training run folder or a baseline (threshold, "
                        "tree:<path>, best_fixed, fixed:<i>); recorded in the telemetry's action and the summary")
    p.add_argument("--policy-env", type=_text, metavar="ENV_ID",
                   help="env whose observation and menu a baseline --policy uses (default qec_gym/SurfaceSwitch-v1)")


def _add_ingest(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="decode recorded detection events (stim formats); telemetry + summary")
    p.add_argument("events", type=_text, help="detection-event file")
    _ingest_arguments(p)
    p.set_defaults(handler=_run_ingest)


def _add_monitor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("monitor", help="live dashboard of a run's telemetry (--run DIR [--export page.html]), "
                                       "or --replay recorded detection events through the monitors")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--run", type=_text, metavar="DIR", help="dashboard: run folder whose telemetry.sqlite it follows")
    mode.add_argument("--replay", type=_text, metavar="EVENTS", help="detection-event file to replay")
    _add_monitor_dashboard_args(p)
    g = p.add_argument_group("replay (--replay)")
    _ingest_arguments(g, format_required=False)
    p.set_defaults(handler=_run_monitor)


def _run_monitor(args: argparse.Namespace) -> int:
    if args.run:
        return _run_monitor_dashboard(args)
    if not args.format:
        raise ValueError("monitor --replay needs --format (01, b8, r8, dets, ptb64).")
    return _run_ingest(args)


def _run_ingest(args: argparse.Namespace) -> int:
    import dataclasses
    from contextlib import nullcontext

    from qec_gym.monitor.ingest import ingest
    from qec_gym.monitor.telemetry import TelemetryWriter

    events = getattr(args, "events", None) or args.replay
    if args.policy_env and not args.policy:
        raise ValueError("--policy-env names the env of a --policy: pass --policy too (or drop --policy-env).")
    with (TelemetryWriter(args.out) if args.out else nullcontext()) as writer:
        summary = ingest(
            events, args.format, circuit=args.circuit, dem=args.dem, observables=args.observables,
            obs_path=args.obs_file, decoder=args.decoder, window_shots=args.window_shots, writer=writer,
            run_id=args.run_id or "replay", detectors=None if args.no_anomaly else "auto",
            policy=args.policy, policy_env=args.policy_env,
        )
    print(json.dumps({**dataclasses.asdict(summary), "logical_error_rate": summary.logical_error_rate}))
    return 0


_COMMANDS = [_add_simulate, _add_demo, _add_train, _add_tune, _add_eval, _add_sweep, _add_dataset, _add_tree, _add_bosonic, _add_report, _add_bench, _add_ingest, _add_monitor]


class _UsageError(Exception):
    """A bad command line: argparse's error, raised instead of printed so `main` controls the output."""

    def __init__(self, prog: str, message: str):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # noqa: D102 - argparse hook
        raise _UsageError(self.prog, message)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(
        prog="qec-gym",
        description="Simulate, learn and evaluate adaptive quantum error correction under drifting noise.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _COMMANDS:
        add(sub)
    return parser


class _ProgressHandler(logging.Handler):
    """Shows the library's log records on stderr: a tqdm bar per ``extra={"progress": (label, done, total)}``
    label, other records as lines (printed above any bar)."""

    def __init__(self, enabled: bool = True):
        super().__init__(logging.INFO)
        self.enabled = enabled
        self.bars: dict[str, object] = {}

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm.auto import tqdm

        progress = getattr(record, "progress", None)
        if progress is None:
            tqdm.write(f"{record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)
            return
        if not self.enabled:
            return
        label, done, total = progress
        bar = self.bars.get(label)
        if bar is None:
            bar = self.bars[label] = tqdm(total=total, desc=label, file=sys.stderr, leave=False)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()
            del self.bars[label]

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()
        super().close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``qec-gym`` command; returns the exit status.

    Bad input (a bad option value, or ValueError/TypeError from the library) prints one line
    naming the problem on stderr and returns 2, never a traceback.
    """
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as e:
        print(f"{e.prog}: error: {e} (see {e.prog} --help)", file=sys.stderr)
        return 2
    # Library code logs its progress; show it while this command runs (and detach afterwards,
    # so in-process callers keep their own logging set-up).
    logger = logging.getLogger("qec_gym")
    handler = _ProgressHandler(enabled=not getattr(args, "no_progress", False) and not getattr(args, "quiet", False))
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    if not logging.getLogger().handlers:  # else logging's last-resort handler repeats warnings
        logger.propagate = False
    try:
        return int(args.handler(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as e:
        message = str(e).replace("\n", " ")
        print(f"qec-gym {args.command}: error: {message}", file=sys.stderr)
        return 2
    except (ImportError, ConnectionError) as e:  # an optional extra missing (install hint), a cluster not answering
        print(f"qec-gym {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"qec-gym {args.command}: interrupted; partial results were saved where supported.", file=sys.stderr)
        return 130
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
        handler.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
