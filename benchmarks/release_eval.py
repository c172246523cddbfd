"""The release evaluation: several training seeds, held-out scenarios, aggregate metrics.

This is the one documented command that touches the held-out scenarios for an RL claim
(`docs/results.md`). For one env it

1. trains ``--algo`` once per training seed (resumable run folders ``<out>/<algo>/seed<k>``; two at a
   time on 2 cores, one torch thread each);
2. fits the decision tree on an oracle-labelled dataset of *training* scenarios;
3. evaluates every seed's model, the tree and the baselines (best fixed, threshold, random, myopic
   and clairvoyant oracles) on the held-out scenarios, paired on episode seeds (resumable CSV);
4. writes ``<out>/curves.png``: the seeds' validation learning curves, mean and 95% band
   (`qec_gym.eval.curves`), and ``<out>/release.md``: per group the IQM of normalised return (0 = best fixed on each
   scenario, 1 = its mean gap to clairvoyant) and mean return with 95% two-stage stratified bootstrap intervals
   over training seeds x episodes, the probability of improvement over the tree and the best fixed
   configuration, and each seed's paired difference to them (`qec_gym.eval.aggregate`).

With ``--fallback`` each seed is also evaluated as ``<algo>+fallback@<seed>``: its action inside the
k-NN support of its own training-scenario rollouts, the tree's outside (`qec_gym.training.fallback`;
the support is fitted once per run folder and setting into ``support-<digest>.npz``).

With ``--scenarios confirmation`` step 3 uses the env's confirmation scenarios instead: a second,
fresh held-out set (`qec_gym.noise.scenarios.confirmation_for_env`) for a test that earlier
held-out results cannot have shaped. With ``--draw SEED`` it uses a drawn set of off-support drift
(`qec_gym.noise.draws`): a held-out draw (the default ``--draw-split heldout``) is a one-time test,
recorded in the ledger ``docs/heldout_draws.jsonl`` before its episodes run and refused for the same
env a second time (`qec_gym.eval.ledger`; ``--reuse-draw`` repeats or resumes it); a validation draw
(``--draw-split validation``) is for tuning and is not recorded.

``--config YAML`` trains a candidate chosen on validation instead of the packaged entry: its overrides
(as `qec-gym train --config`) are validated before anything starts and shown in ``release.md``.

``--fallback-variant LABEL:OPTIONS`` adds a group ``<algo>+fallback[LABEL]`` whose support settings
are ``OPTIONS`` (e.g. ``episode:split=episode``, ``a10:alpha=0.1``; `qec_gym.training.fallback.parse_spec`).

    python benchmarks/release_eval.py --env qec_gym/SurfaceSwitch-v1 --out runs/release/surface
    python benchmarks/release_eval.py --env qec_gym/SurfaceSwitch-v1 --train-seeds 0 1 --timesteps 20000 --out /tmp/r
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

BASELINES = ("best_fixed", "threshold", "random", "oracle", "clairvoyant")


def train_one(env_id: str, algo: str, seed: int, timesteps: int, run_dir: str, env_kwargs: dict,
              vec_env: str = "dummy", config: dict | None = None) -> str:
    """Train (or resume, or skip when finished) one seed's run; returns its folder. ``config``: overrides of
    the packaged entry (``--config``)."""
    import torch

    from qec_gym.training import latest_checkpoint, resolve_config, train

    torch.set_num_threads(1)
    run = Path(run_dir)
    if not (run / "model.zip").exists():
        overrides = {**(config or {}), "n_timesteps": timesteps, **({"env_kwargs": env_kwargs} if env_kwargs else {})}
        cfg = resolve_config(env_id, algo, overrides=overrides, seed=seed, vec_env=vec_env)
        train(cfg, run, resume=latest_checkpoint(run) is not None)
    return str(run)


def per_scenario_rows(df, groups: dict, reference: str) -> list[str]:
    """Markdown rows: per scenario, each group's seed-averaged paired difference to ``reference``
    (min..max over its members), then the mean switches per episode of each group and of ``reference``."""
    rows = []
    for scenario, d in df.groupby("scenario", sort=True):
        ret = d.pivot_table(index="seed", columns="policy", values="return")
        cells = []
        for members in groups.values():
            diffs = [float((ret[m] - ret[reference]).mean()) for m in members]
            cells.append(f"{sum(diffs) / len(diffs):+.2f} ({min(diffs):+.2f}..{max(diffs):+.2f})")
        sw = d.groupby("policy").switches.mean()
        counts = [f"{sum(sw[m] for m in ms) / len(ms):.1f}" for ms in groups.values()] + [f"{sw[reference]:.1f}"]
        rows.append(f"| {scenario.split('@')[0]} | " + " | ".join(cells) + f" | {', '.join(counts)} |")
    return rows


def _evaluation_set(args) -> tuple:
    """(scenarios for EvalConfig, the set's name in the report, when a reused held-out draw was first used or
    None, the ledger entry to record before the episodes run or None). A held-out draw already used for
    this env is refused here, before any training."""
    if args.draw is None:
        return args.scenarios or "heldout", args.scenarios or "heldout", None, None
    from qec_gym.eval.ledger import DEFAULT_LEDGER, check_fresh, draw_uses
    from qec_gym.noise.draws import draw_scenarios, family_for_env

    family = family_for_env(args.env)
    scenarios = draw_scenarios(family, args.draw, split=args.draw_split)
    name = f"drawn {args.draw_split} set {family}/{args.draw}"
    if args.draw_split == "validation":
        return scenarios, name, None, None
    ledger = args.ledger or Path(__file__).resolve().parents[1] / DEFAULT_LEDGER  # the repository's, from any cwd
    if not args.reuse_draw:
        try:
            check_fresh(ledger, family=family, seed=args.draw, env_id=args.env)
        except ValueError as err:
            raise SystemExit(str(err)) from None
    used = [u for u in draw_uses(ledger, family, args.draw) if u.get("env_id") == args.env]
    entry = {"path": ledger, "family": family, "seed": args.draw, "env_id": args.env, "out": args.out,
             "reuse": args.reuse_draw}
    return scenarios, name, (used[0]["at"] if used else None), entry


def main(argv=None) -> None:
    # bounded types: a 0 would otherwise read as "not given" (--timesteps 0 trained the packaged 600k steps)
    from qec_gym.cli import _COUNT, _SEED, _STEPS, _WORKERS, _existing_file

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", required=True)
    ap.add_argument("--algo", default="ppo")
    ap.add_argument("--train-seeds", type=_SEED, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--timesteps", type=_STEPS, default=None, help="default: the packaged hyperparameters' n_timesteps")
    ap.add_argument("--config", type=_existing_file, default=None, metavar="YAML",
                    help="overrides of the packaged entry (as `qec-gym train --config`: flat or keyed by env id; "
                         "`warm_start` merged key by key) for a candidate chosen on validation; release.md shows them")
    ap.add_argument("--episodes", type=_COUNT, default=5, help="held-out episode seeds per scenario")
    ap.add_argument("--tree-episodes", type=_COUNT, default=30)
    ap.add_argument("--jobs", type=_WORKERS, default=2)
    ap.add_argument("--vec-env", choices=["dummy", "subproc", "native"], default="dummy",
                    help="training vector env (native: the batched table env, ~2x faster PPO)")
    ap.add_argument("--reps", type=_COUNT, default=2000, help="bootstrap replicates")
    ap.add_argument("--max-steps", type=_COUNT, default=None, help="episode length override (smoke runs only)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--fallback", action="store_true",
                    help="also evaluate each seed with the support fallback to the tree (group '<algo>+fallback': "
                         "the learned action inside the k-NN support of its training rollouts, the tree's outside; "
                         "qec_gym.training.fallback)")
    ap.add_argument("--scenarios", choices=["heldout", "confirmation"], default=None,
                    help="the evaluation set: the env's held-out scenarios (default), or its confirmation scenarios (a "
                         "second, fresh held-out set fixed in session 9: qec_gym.noise.scenarios.confirmation_for_env)")
    ap.add_argument("--draw", type=_SEED, default=None, metavar="SEED",
                    help="evaluate on the drawn set SEED of off-support drift instead (qec_gym.noise.draws); a held-out "
                         "draw is recorded in --ledger and refused for the same env a second time")
    ap.add_argument("--draw-split", choices=["heldout", "validation"], default="heldout",
                    help="with --draw: 'heldout' (a one-time test, recorded) or 'validation' (for tuning, not recorded)")
    ap.add_argument("--reuse-draw", action="store_true",
                    help="with --draw: repeat or resume a held-out draw already in the ledger for this env")
    ap.add_argument("--ledger", type=Path, default=None, help="the held-out draw ledger (default: docs/heldout_draws.jsonl)")
    ap.add_argument("--fallback-variant", action="append", default=[], metavar="LABEL:OPTIONS",
                    help="also evaluate each seed with the fallback under other support settings, as group "
                         "'<algo>+fallback[LABEL]' (e.g. episode:split=episode, a10:alpha=0.1); repeatable")
    ap.add_argument("--compare-to", nargs="+", default=["tree", "best_fixed"], metavar="GROUP",
                    help="groups the learned policies' probability of improvement and paired differences are taken "
                         "against (default: tree best_fixed; e.g. add periodic_recal cusum_recal drift_recal)")
    ap.add_argument("--baselines", nargs="+", default=list(BASELINES),
                    help="baseline names evaluated beside the agent and the tree (e.g. add periodic_recal cusum_recal)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)
    missing = {"best_fixed", "clairvoyant"} - set(args.baselines)
    if missing:
        ap.error(f"--baselines must include {sorted(missing)}: the normalised return is 0 at best_fixed and 1 at clairvoyant.")
    unknown = [g for g in args.compare_to if g != "tree" and g not in args.baselines]
    if unknown:
        ap.error(f"--compare-to {unknown}: not evaluated; compare to 'tree' or to names given in --baselines.")
    if "clairvoyant" in args.compare_to:
        ap.error("--compare-to clairvoyant: the clairvoyant plan knows the future noise, so no policy beats it; the "
                 "report gives each policy's regret to it instead. Compare to deployable policies (tree, best_fixed, ...).")
    if len(set(args.compare_to)) != len(args.compare_to):
        ap.error(f"--compare-to {args.compare_to}: a group is named twice; name each once.")
    if args.draw is not None and args.scenarios is not None:
        ap.error("--draw and --scenarios both name the evaluation set; give one.")
    if args.draw is None and (args.reuse_draw or args.ledger is not None or args.draw_split != "heldout"):
        ap.error("--draw-split, --reuse-draw and --ledger apply to a drawn set: add --draw SEED.")
    variants = dict(v.partition(":")[::2] for v in args.fallback_variant)
    bad = [v for v in args.fallback_variant if not v.partition(":")[0] or not v.partition(":")[2]]
    if bad or len(variants) != len(args.fallback_variant):
        ap.error(f"--fallback-variant {bad or args.fallback_variant}: write LABEL:OPTIONS with distinct labels, e.g. "
                 "episode:split=episode or a10:alpha=0.1,split=episode.")
    if len(args.train_seeds) < 5:
        print(f"note: {len(args.train_seeds)} training seeds; RL claims in this project need at least 5.")

    from scipy.stats import trim_mean

    from qec_gym.agents import fit_reference_tree
    from qec_gym.eval import EvalConfig, evaluate
    from qec_gym.eval.aggregate import aggregate_table
    from qec_gym.eval.stats import paired_difference
    from qec_gym.training import read_user_config, resolve_config

    config = None
    try:  # a bad --config is refused before the ledger, the output folder or any training
        if args.config is not None:
            config = read_user_config(args.config)
        timesteps = args.timesteps or int(resolve_config(args.env, args.algo, overrides=config).total_timesteps)
    except (ValueError, TypeError, KeyError) as e:
        ap.error(f"--config {args.config}: {e}" if args.config is not None else str(e))
    t0 = time.perf_counter()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    scenarios, set_name, reused, ledger_entry = _evaluation_set(args)
    runs = {s: out / args.algo / f"seed{s}" for s in args.train_seeds}
    env_kwargs = {"max_steps": args.max_steps} if args.max_steps else {}
    print(f"[1/4] training {args.algo} on {args.env}, {timesteps} steps x seeds {args.train_seeds}", flush=True)
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for run in pool.map(train_one, *zip(*[(args.env, args.algo, s, timesteps, str(r), env_kwargs, args.vec_env, config)
                                              for s, r in runs.items()])):
            print(f"      done: {run}", flush=True)

    from qec_gym.eval.curves import learning_curve, plot_curves

    try:
        plot_curves({args.algo: learning_curve(list(runs.values()), reps=args.reps)}, out / "curves.png",
                    title=f"{args.env}: validation return, mean over {len(runs)} training seeds, 95% band")
    except FileNotFoundError:  # runs shorter than one eval_freq have no validation evaluations
        print("      no curves.png: the runs are shorter than one periodic validation (the packaged eval_freq)", flush=True)

    tree_path = out / "tree.joblib"
    print(f"[2/4] decision tree on {args.tree_episodes} training-scenario episodes", flush=True)
    fit_reference_tree(args.env, tree_path, episodes=args.tree_episodes, env_kwargs=env_kwargs,
                       dataset_path=out / "tree_dataset.csv")

    members = [f"{args.algo}@{s}" for s in args.train_seeds]
    policies = [f"{m}=run:{runs[s]}" for m, s in zip(members, args.train_seeds)]
    fallback = [f"{args.algo}+fallback@{s}" for s in args.train_seeds] if args.fallback else []
    fallback_specs = [f"{m}=fallback:{runs[s]},tree:{tree_path}" for m, s in zip(fallback, args.train_seeds)]
    variant_members = {f"{args.algo}+fallback[{label}]": [f"{args.algo}+fallback[{label}]@{s}" for s in args.train_seeds]
                       for label in variants}
    for (group, ms), options in zip(variant_members.items(), variants.values()):
        fallback_specs += [f"{m}=fallback:{runs[s]},tree:{tree_path},{options}" for m, s in zip(ms, args.train_seeds)]
    fallback += [m for ms in variant_members.values() for m in ms]
    policies += fallback_specs
    policies += [f"tree=tree:{tree_path}", *args.baselines]
    print(f"[3/4] {set_name} evaluation: {len(policies)} policies x {args.episodes} seeds per scenario", flush=True)
    if ledger_entry:  # before the episodes: a run that crashed half way has still been looked at
        from qec_gym.eval.ledger import record_draw

        record_draw(ledger_entry.pop("path"), **ledger_entry)
    df = evaluate(policies, EvalConfig(args.env, scenarios=scenarios, seeds=tuple(range(args.episodes)),
                                           env_kwargs=env_kwargs),
                  out_path=out / "results.csv")

    print("[4/4] aggregate metrics", flush=True)
    released = [m for m in fallback if "[" not in m]
    learned = {args.algo: members, **({f"{args.algo}+fallback": released} if released else {}), **variant_members}
    groups = {**learned, "tree": ["tree"], **{b: [b] for b in args.baselines}}
    try:
        table = aggregate_table(df, groups, low="best_fixed", high="clairvoyant", compare_to=list(args.compare_to),
                                reps=args.reps)
    except ValueError as e:  # e.g. episodes so short that switching cannot beat best fixed: no normalised return
        raise SystemExit(f"cannot aggregate: {e} The normalised return needs the clairvoyant plan to beat best fixed; "
                         f"use longer episodes (--max-steps, or the scenarios' full length). The episodes are kept "
                         f"in {out / 'results.csv'}.") from None
    fmt = lambda r, k: f"{r[k]:.3f} [{r[k + '_low']:.3f}, {r[k + '_high']:.3f}]"  # noqa: E731
    fmt1 = lambda r, k: f"{r[k]:.1f} [{r[k + '_low']:.1f}, {r[k + '_high']:.1f}]"  # noqa: E731
    import json

    lines = [f"# Release evaluation: {args.env}, {args.algo}", "",
             *([f"Configuration: the packaged entry with the overrides of `{args.config}`: `{json.dumps(config, sort_keys=True)}`.", ""]
               if config is not None else []),
             f"Training seeds {args.train_seeds} x {timesteps} steps; {set_name} scenarios "
             f"({', '.join(sorted(set(df.scenario)))}) x {args.episodes} episode "
             "seeds, paired. 95% two-stage stratified bootstrap intervals (training seeds, then episodes), "
             "`qec_gym.eval.aggregate`. Normalised return: 0 = best fixed on each scenario, 1 = its mean gap to clairvoyant. "
             "P(> g): per scenario, the probability that a training seed's mean return beats g's (Agarwal et al. 2021), "
             "averaged over scenarios; its interval resamples the shared episodes jointly (paired).", "",
             "| group | runs | IQM normalised return | mean return | " + " | ".join(f"P(> {g})" for g in args.compare_to)
             + " |", "|---|---|---|---|" + "---|" * len(args.compare_to)]
    for _, r in table.iterrows():
        poi = [fmt(r, f"poi_vs_{g}") if f"poi_vs_{g}" in r and r.notna()[f"poi_vs_{g}"] else "-"
               for g in args.compare_to]
        lines.append(f"| `{r.group}` | {r.runs} | {fmt(r, 'iqm')} | {fmt1(r, 'mean_return')} | " + " | ".join(poi) + " |")
    if reused:
        lines += ["", f"**A repeated or resumed test (--reuse-draw):** this held-out draw was first used for {args.env} "
                  f"at {reused}. Resuming that run continues the same test; a design changed after that use is not "
                  "tested by it."]
    lines += ["", f"Per training seed (paired over the same {set_name} episodes, 95% t intervals):", "",
              "| run | " + " | ".join(f"vs {g}" for g in args.compare_to) + " | regret to clairvoyant | switches / episode |",
              "|---|" + "---|" * len(args.compare_to) + "---|---|"]
    switches = df.groupby("policy").switches.mean()
    recals = df.groupby("policy").recalibrations.mean()
    recal_cell = (lambda p: f" {recals[p]:.1f} |") if recals.gt(0).any() else (lambda p: "")
    if recals.gt(0).any():  # a calibration-sensitive env: switches count configuration changes only
        lines[-2] += " recalibrations / episode |"
        lines[-1] += "---|"
    for m in members + fallback:
        lines.append(f"| `{m}` | " + " | ".join(str(paired_difference(df, m, g)) for g in args.compare_to)
                     + f" | {paired_difference(df, 'clairvoyant', m)} | {switches[m]:.1f} |" + recal_cell(m))
    lines += ["", f"Per scenario, mean return minus `{args.compare_to[0]}`'s, averaged over training seeds (range over "
              "seeds); switches / episode:", "", "| scenario | " + " | ".join(f"`{g}`" for g in learned)
              + f" | switches: {', '.join(f'`{g}`' for g in [*learned, args.compare_to[0]])} |",
              "|---|" + "---|" * len(learned) + "---|"]
    lines += per_scenario_rows(df, learned, args.compare_to[0])
    best_fixed_regret = paired_difference(df, "clairvoyant", "best_fixed").mean
    iqm_regret = {g: float(trim_mean([paired_difference(df, "clairvoyant", m).mean for m in ms], 0.25))
                  for g, ms in learned.items()}  # rliable's IQM
    recal_note = (lambda b: f", {recals[b]:.1f} recalibrations") if recals.gt(0).any() else (lambda b: "")
    lines += ["", "Baselines, same episodes (regret to clairvoyant; switches / episode): " + "; ".join(
        f"`{b}` {paired_difference(df, 'clairvoyant', b)}, {switches[b]:.1f}{recal_note(b)}" for b in ["tree", *args.baselines]
        if b != "clairvoyant"), "",
        f"Regret to clairvoyant, IQM over the {len(members)} seeds' mean regrets: " + "; ".join(
            f"`{g}` {r:.2f} = {r / best_fixed_regret:.1%} of best fixed's" for g, r in iqm_regret.items()) + "."]
    if fallback:
        from qec_gym.eval.harness import make_policy
        from qec_gym.training.fallback import deferral_rate

        env = EvalConfig(args.env, scenarios=scenarios, env_kwargs=env_kwargs).make_env()
        first = [(scenario, 0) for scenario in env.unwrapped.scenario_names]
        rates = dict(zip(fallback, (deferral_rate(make_policy(p, env), env, first) for p in fallback_specs)))
        for group, ms in learned.items():
            if group != args.algo:
                lines += ["", f"`{group}`: steps handed to the tree on episode seed 0 of each {set_name} scenario: "
                          + ", ".join(f"seed {s} {rates[m]:.1%}" for s, m in zip(args.train_seeds, ms)) + "."]
    if (out / "curves.png").exists():
        lines += ["", "Validation learning curves (training scenarios, fresh seeds): `curves.png`."]
    lines += ["", f"Reproduce: `python benchmarks/release_eval.py {' '.join(argv)}`", ""]
    (out / "release.md").write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {out / 'release.md'} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
