"""Drift stability and validation results of the non-learned policies, for every env.

For each env: fit the baselines on its training scenarios (seeds 0..), then run every policy on the
VALIDATION split (the training scenarios with fresh episode seeds 10,000.., docs/protocol.md) and on
each scenario's calm twin (drift off, baseline noise, same seeds: `qec_gym.eval.drift_stability`).
Writes, under ``--out`` (default ``docs/figures``):

* ``drift_stability_<Env>.csv``: one row per (policy, scenario, drifting / calm, seed); an env whose
  CSV exists is not re-run (delete it, or pass ``--force``): only the policies of its plan's ``extra``
  missing from it are run and appended (same seeds and episode length);
* ``drift_stability.md``: per env, the drift-stability table (excess logical error per round and
  excess cost in return, drifting - calm, and the ratio to the best fixed configuration, 95%
  bootstrap intervals) and the plain results table (IQM and mean return, IQM of normalised return),
  with policy x env summary tables on top;
* ``drift_stability.png``: the ratio with its interval per policy, one panel per env.

The fitted decision trees go to ``--trees`` (default ``runs/drift_stability``, not versioned).

Learned policies: ``--runs ENV_ID=DIR`` adds the training runs ``DIR/seed<k>`` (a `qec-gym train
--seeds` folder, e.g. a release run's ``ppo``) as policies ``ppo@<k>``, one group in the tables
with intervals over runs and episode pairs (``--label NAME``: ``NAME@<k>`` instead, for a second
recipe on the same env). Their episodes are appended to an existing CSV (same seeds and episode length
as its baselines), so the baselines are not re-run. ``--fallback`` adds them also as
``ppo+fallback@<k>`` (``NAME+fallback@<k>``; `qec_gym.training.fallback`, deferring to the env's fitted tree).

    python benchmarks/drift_stability.py                       # every env, the documented budget
    python benchmarks/drift_stability.py --env qec_gym/CatSwitch-v1 --seeds 2 --max-steps 100 --out /tmp/ds
    python benchmarks/drift_stability.py --runs qec_gym/SurfaceSwitch-v1=runs/release/SurfaceSwitch-v1/ppo
    python benchmarks/drift_stability.py --env qec_gym/SurfaceSwitch-v1 --label ppo_ce \
        --runs qec_gym/SurfaceSwitch-v1=runs/val11surf1/draw0/ppo
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Plan:
    """What one env gets: episode seeds, episode length, policies, fitting effort."""

    seeds: int = 10
    max_steps: int | None = None
    tree: bool = True
    recalibration: bool = False
    fit_episodes: int | None = None  # None: each baseline's default
    extra: dict = field(default_factory=dict)  # name -> spec of more policies


# Budgeted for ~25 CPU-minutes in all on a shared 2-core machine: SurfaceSwitch at the scenarios' full
# length; the others at 200 windows per episode (fits included), every drift time scale <= 150 windows.
PLANS = {
    "qec_gym/SurfaceSwitch-v1": Plan(seeds=10, extra={"certainty_equivalent": "certainty_equivalent"}),
    "qec_gym/PhotonicSwitch-v1": Plan(seeds=16, max_steps=200),
    "qec_gym/CatSwitch-v1": Plan(seeds=8, max_steps=200),
    "qec_gym/DecoderCalibration-v1": Plan(seeds=8, max_steps=200, recalibration=True, fit_episodes=3,
                                          extra={"keep_pymatching": "fixed:0"}),
    # Circuit backend (stim sampling + decoding every window, ~6 ms): short episodes, few seeds;
    # its baselines are fitted on the table twin (`qec_gym.agents.rollout.make_env(table_twin=True)`).
    "qec_gym/SurfaceSwitchRaw-v1": Plan(seeds=4, max_steps=200, tree=False),
    # the versions with session 6's packaged learned policies (~15 more CPU-minutes)
    "qec_gym/SurfaceSwitch-v2": Plan(seeds=10, extra={"certainty_equivalent": "certainty_equivalent"}),
    "qec_gym/CatSwitch-v4": Plan(seeds=8, max_steps=200, extra={"certainty_equivalent": "certainty_equivalent"}),
    "qec_gym/DecoderCalibration-v3": Plan(seeds=8, max_steps=200, recalibration=True, fit_episodes=3,
                                          extra={"keep_pymatching": "fixed:0", "drift_recal": "drift_recal",
                                                 "certainty_equivalent": "certainty_equivalent"}),
}


def build_policies(env_id: str, plan: Plan, trees: Path, say) -> dict:
    """Name -> policy for ``env_id``: fitted on training scenarios (fitting seeds 0..)."""
    import gymnasium as gym

    from qec_gym.agents import fit_reference_tree, make_baseline

    kwargs = {"max_steps": plan.max_steps} if plan.max_steps else {}
    fit = {} if plan.fit_episodes is None else {"episodes": plan.fit_episodes}
    env = gym.make(env_id, scenarios="train", **kwargs)
    try:
        say("fitting best_fixed")
        best = make_baseline("best_fixed", env, **fit)
        policies = {"best_fixed": best, **plan.extra}
        say("fitting threshold")
        policies["threshold"] = make_baseline("threshold", env, **fit)
        if plan.recalibration:
            say("fitting periodic_recal, cusum_recal")
            policies["periodic_recal"] = make_baseline("periodic_recal", env, entry=best.entry_index, **fit)
            policies["cusum_recal"] = make_baseline("cusum_recal", env, entry=best.entry_index, **fit)
        if plan.tree:
            trees.mkdir(parents=True, exist_ok=True)
            path = trees / f"{_short(env_id)}_tree.joblib"
            say("training the decision tree (20 oracle-labelled training episodes, depth 4)")
            path.unlink(missing_ok=True)  # refit: the plan (episode length) may differ from the saved tree's
            fit_reference_tree(env_id, path, episodes=20, env_kwargs=kwargs)
            policies["tree"] = f"tree:{path}"
    finally:
        env.close()
    return {**policies, "oracle": "oracle", "clairvoyant": "clairvoyant"}


def _short(env_id: str) -> str:
    return env_id.split("/")[-1]


def learned_policies(env_id: str, folder: Path, algo: str = "ppo") -> dict[str, str]:
    """``{f"{algo}@{k}": "run:<folder>/seed<k>"}`` for the runs of a `qec-gym train --seeds` folder.

    Raises:
        ValueError: no ``seed<k>`` run in ``folder``, or a run trained on another env.
    """
    import yaml

    runs = sorted((p for p in folder.glob("seed*") if p.name[4:].isdigit()), key=lambda p: int(p.name[4:]))
    if not runs:
        raise ValueError(f"{folder} holds no seed<k> run folders: pass the folder `qec-gym train --seeds` wrote.")
    for run in runs:
        trained_on = (yaml.safe_load((run / "config.yaml").read_text()) or {}).get("env_id")
        if trained_on != env_id:
            raise ValueError(f"{run} was trained on {trained_on}, not {env_id}: results are labelled by env version.")
    return {f"{algo}@{p.name[4:]}": f"run:{p}" for p in runs}


def fallback_policies(learned: dict[str, str], tree: Path) -> dict[str, str]:
    """``{"<algo>+fallback@<k>": "fallback:<run>,tree:<tree>"}`` for the ``run:`` policies of `learned_policies`.

    Raises:
        ValueError: ``tree`` does not exist (it is this env's fitted tree, written when its CSV is computed).
    """
    if not tree.exists():
        raise ValueError(f"no fitted tree at {tree}: the fallback defers to the env's tree, fitted when its CSV is "
                         "computed; recompute the env with --force (or pass the --trees folder that holds it).")
    out = {}
    for name, spec in learned.items():
        algo, _, k = name.rpartition("@")
        out[f"{algo}+fallback@{k}"] = f"fallback:{spec[len('run:'):]},tree:{tree}"
    return out


def add_missing(path: Path, env_id: str, policies: dict[str, str], say) -> None:
    """Append the episodes of the ``policies`` (name -> harness spec) missing from the CSV at ``path``
    (same seeds, same episode length)."""
    import pandas as pd

    from qec_gym.eval.drift_stability import stability_episodes

    df = pd.read_csv(path)
    todo = {name: spec for name, spec in policies.items() if name not in set(df.policy)}
    if not todo:
        return
    seeds = sorted(int(s) for s in df.seed.unique())
    steps = int(df.steps.max())
    say(f"policies {sorted(todo)}: {len(seeds)} seeds x {steps} windows, appended to {path}")
    new = stability_episodes(env_id, todo, seeds=seeds, env_kwargs={"max_steps": steps},
                             progress=lambda d, n: say(f"{d}/{n} episodes"))
    new.insert(0, "env_id", env_id)
    pd.concat([df, new], ignore_index=True).to_csv(path, index=False)


def run_env(env_id: str, plan: Plan, out: Path, *, trees: Path, force: bool, say) -> Path:
    """The episodes CSV of ``env_id`` (computed unless it exists)."""
    from qec_gym.eval.drift_stability import stability_episodes

    path = out / f"drift_stability_{_short(env_id)}.csv"
    if path.exists() and not force:
        say(f"{path} exists: reusing it")
        add_missing(path, env_id, dict(plan.extra), say)
        return path
    t0 = time.perf_counter()
    policies = build_policies(env_id, plan, trees, say)
    say(f"episodes: {len(policies)} policies x train scenarios x (drifting, calm) x {plan.seeds} seeds")
    df = stability_episodes(env_id, policies, seeds=range(10_000, 10_000 + plan.seeds),
                            env_kwargs={"max_steps": plan.max_steps} if plan.max_steps else {},
                            progress=lambda d, n: say(f"{d}/{n} episodes"))
    df.insert(0, "env_id", env_id)
    df.to_csv(path, index=False)
    say(f"wrote {path} in {time.perf_counter() - t0:.0f} s")
    return path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", nargs="+", default=list(PLANS), help="env ids (default: every env in PLANS)")
    ap.add_argument("--seeds", type=int, default=None, help="override every env's number of validation seeds")
    ap.add_argument("--max-steps", type=int, default=None, help="override the episode length (smoke runs)")
    ap.add_argument("--reps", type=int, default=2000, help="bootstrap replicates")
    ap.add_argument("--force", action="store_true", help="recompute envs whose CSV exists")
    ap.add_argument("--out", type=Path, default=Path("docs/figures"))
    ap.add_argument("--trees", type=Path, default=Path("runs/drift_stability"), help="where the fitted trees go")
    ap.add_argument("--runs", nargs="+", default=[], metavar="ENV_ID=DIR",
                    help="training runs DIR/seed<k> of ENV_ID to add as policies <label>@<k>")
    ap.add_argument("--label", default="ppo", help="the group name of the --runs policies (default: ppo)")
    ap.add_argument("--fallback", action="store_true",
                    help="also add each run as <label>+fallback@<k>: its action inside the support of its training "
                         "rollouts, this env's fitted tree's outside (qec_gym.training.fallback)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)
    if not args.label or "@" in args.label or args.label != args.label.strip():
        ap.error(f"--label {args.label!r}: give a group name without '@' or spaces (e.g. ppo_ce).")
    runs = {}
    for item in args.runs:
        env_id, eq, folder = item.partition("=")
        if not eq or env_id not in args.env:
            ap.error(f"--runs {item!r}: give ENV_ID=DIR with ENV_ID one of the envs run ({args.env}).")
        runs[env_id] = learned_policies(env_id, Path(folder), algo=args.label)

    import dataclasses

    from qec_gym.eval.drift_stability import write_stability_report

    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    csvs = []
    for env_id in args.env:
        plan = PLANS.get(env_id, Plan())
        if args.seeds is not None:
            plan = dataclasses.replace(plan, seeds=args.seeds)
        if args.max_steps is not None:
            plan = dataclasses.replace(plan, max_steps=args.max_steps)
        say = lambda msg, e=env_id: print(f"[{time.perf_counter() - t0:6.0f} s] {_short(e)}: {msg}", flush=True)  # noqa: E731
        csvs.append(run_env(env_id, plan, args.out, trees=args.trees, force=args.force, say=say))
        if env_id in runs:
            learned = dict(runs[env_id])
            if args.fallback:
                learned.update(fallback_policies(learned, args.trees / f"{_short(env_id)}_tree.joblib"))
            add_missing(csvs[-1], env_id, learned, say)
    command = " ".join(["python benchmarks/drift_stability.py", *argv])
    md, png = write_stability_report(csvs, args.out, reps=args.reps, intro=[f"Reproduce: `{command}`", ""])
    print(md.read_text())
    print(f"wrote {md} and {png} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
