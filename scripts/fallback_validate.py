"""Validation scoring of the support fallback (issue 17): training scenarios, fresh episode seeds only.

For a release folder (``<release>/<algo>/seed<k>`` runs and ``<release>/tree.joblib``, as
``benchmarks/release_eval.py`` writes them) it evaluates, paired on the env's *training* scenarios
with episode seeds ``--first-seed`` + i (default 20,000+, apart from every other use):

* each seed's learned policy (``run:``), the same policy with the support fallback to the tree
  (``fallback:<run>,tree:<tree>``, `qec_gym.training.fallback`, default `SupportConfig`), and the tree;

and prints per seed the paired differences (95% t intervals) fallback - learned, fallback - tree and
learned - tree, their seed averages, and the fraction of steps handed to the tree on the first
episode seed of every scenario. Run from the repository root with ``PYTHONPATH=.``:

    PYTHONPATH=. python scripts/fallback_validate.py --release runs/release/SurfaceSwitch-v2-treewarm \\
        --out runs/val/fallback-surface2 --episodes 8
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--release", type=Path, required=True, help="a release_eval.py output folder")
    ap.add_argument("--algo", default="ppo")
    ap.add_argument("--episodes", type=int, default=8, help="episode seeds per training scenario")
    ap.add_argument("--first-seed", type=int, default=20_000)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    import numpy as np
    import yaml

    from qec_gym.eval import EvalConfig, evaluate
    from qec_gym.eval.harness import make_policy
    from qec_gym.eval.stats import paired_difference
    from qec_gym.training.fallback import deferral_rate

    runs = sorted((args.release / args.algo).glob("seed*"), key=lambda p: int(p.name[4:]))
    tree = args.release / "tree.joblib"
    if not runs or not tree.exists():
        raise SystemExit(f"{args.release} needs {args.algo}/seed<k> run folders and tree.joblib (release_eval.py output).")
    env_id = yaml.safe_load((runs[0] / "config.yaml").read_text())["env_id"]
    seeds = tuple(range(args.first_seed, args.first_seed + args.episodes))
    specs = {"tree": f"tree=tree:{tree}"}
    for r in runs:
        specs[f"rl@{r.name[4:]}"] = f"rl@{r.name[4:]}=run:{r}"
        specs[f"fb@{r.name[4:]}"] = f"fb@{r.name[4:]}=fallback:{r},tree:{tree}"
    config = EvalConfig(env_id, scenarios="train", seeds=seeds)
    args.out.mkdir(parents=True, exist_ok=True)
    df = evaluate(list(specs.values()), config, out_path=args.out / "results.csv")

    env = config.make_env()
    first = [(scenario, seeds[0]) for scenario in env.unwrapped.scenario_names]
    rates = {r.name[4:]: deferral_rate(make_policy(specs[f"fb@{r.name[4:]}"], env), env, first) for r in runs}
    print(f"{env_id}: training scenarios {list(env.unwrapped.scenario_names)} x seeds {seeds[0]}..{seeds[-1]}")
    print("| seed | fallback - learned | fallback - tree | learned - tree | deferred |")
    print("|---|---|---|---|---|")
    sums = {"fb_rl": [], "fb_tree": [], "rl_tree": []}
    for r in runs:
        k = r.name[4:]
        d = (paired_difference(df, f"fb@{k}", f"rl@{k}"), paired_difference(df, f"fb@{k}", "tree"),
             paired_difference(df, f"rl@{k}", "tree"))
        for key, v in zip(sums, d):
            sums[key].append(v.mean)
        print(f"| {k} | {d[0]} | {d[1]} | {d[2]} | {rates[k]:.1%} |")
    print("seed-averaged: " + ", ".join(f"{key} {np.mean(v):+.2f}" for key, v in sums.items()))


if __name__ == "__main__":
    main()
