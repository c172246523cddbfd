"""Validation scoring of CatSwitch agents (issue 17): training scenarios, fresh episode seeds only.

Every tuning decision for the ``CatSwitch-v2`` agent was taken from this script's output, never
from a held-out scenario (docs/protocol.md). It

1. fits the decision tree exactly as ``benchmarks/release_eval.py`` does (30 training-scenario
   episodes, dataset seed 0, depth 4) into ``<out>/tree.joblib`` unless it is there (the same
   file is the hybrid's teacher: ``qec-gym train --hybrid-tree``);
2. evaluates the given runs, the tree, best fixed and the clairvoyant plan on the *training*
   scenarios with episode seeds ``--first-seed`` + k (default 20,000+: apart from the training
   envs' seeds, the periodic validation seeds 10,000 + training seed + k and the harness's
   held-out seeds 0..), paired (common random numbers, `qec_gym.eval.evaluate`);
3. prints, per run, the mean return and its paired difference (95% t interval) to the tree and
   to best fixed, and its regret to the clairvoyant plan.

    python scripts/cat_validate.py --out runs/cat_val --runs ppo100k=runs/cat_val/ppo100k/seed0
    python scripts/cat_validate.py --out runs/cat_val --fit-only
"""

from __future__ import annotations

import argparse
from pathlib import Path

ENV = "qec_gym/CatSwitch-v2"


def fit_tree(out: Path, env_id: str) -> Path:
    """The release evaluation's tree recipe on training scenarios; returns its path (reused if present)."""
    from qec_gym.agents import DecisionTreeAgent, generate_dataset

    path = out / "tree.joblib"
    if not path.exists():
        data = generate_dataset(env_id, episodes=30, seed=0, out_path=out / "tree_dataset.csv")
        DecisionTreeAgent.train(data, max_depth=4).save(path)
    return path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default=ENV)
    ap.add_argument("--out", type=Path, required=True, help="folder of the tree and the validation CSV")
    ap.add_argument("--runs", nargs="*", default=[], metavar="NAME=DIR", help="run folders to score")
    ap.add_argument("--episodes", type=int, default=5, help="episode seeds per training scenario")
    ap.add_argument("--first-seed", type=int, default=20_000)
    ap.add_argument("--fit-only", action="store_true", help="only fit the tree (and its dataset)")
    args = ap.parse_args(argv)

    from qec_gym.eval import EvalConfig, evaluate
    from qec_gym.eval.stats import paired_difference

    args.out.mkdir(parents=True, exist_ok=True)
    tree = fit_tree(args.out, args.env)
    if args.fit_only:
        print(f"tree: {tree}")
        return
    runs = dict(r.split("=", 1) for r in args.runs)
    policies = [f"{n}=run:{d}" for n, d in runs.items()] + [f"tree=tree:{tree}", "best_fixed", "clairvoyant"]
    seeds = tuple(range(args.first_seed, args.first_seed + args.episodes))
    df = evaluate(policies, EvalConfig(args.env, scenarios="train", seeds=seeds), out_path=args.out / "validation.csv")
    means = df.groupby("policy")["return"].mean()
    print(f"validation: {args.env}, training scenarios x seeds {seeds[0]}..{seeds[-1]}")
    print(f"tree {means['tree']:.1f}  best_fixed {means['best_fixed']:.1f}  clairvoyant {means['clairvoyant']:.1f}  "
          f"tree-best_fixed {paired_difference(df, 'tree', 'best_fixed')}")
    print("| run | mean return | vs tree | vs best fixed | regret to clairvoyant | switches/ep |")
    print("|---|---|---|---|---|---|")
    switches = df.groupby("policy")["switches"].mean()
    for name in runs:
        print(f"| {name} | {means[name]:.1f} | {paired_difference(df, name, 'tree')} | "
              f"{paired_difference(df, name, 'best_fixed')} | {paired_difference(df, 'clairvoyant', name)} | "
              f"{switches[name]:.1f} |")


if __name__ == "__main__":
    main()
