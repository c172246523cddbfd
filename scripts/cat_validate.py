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

Named configurations (``CONFIGS``, session 6, ``CatSwitch-v4``) are overrides of the packaged
``qec_gym/SurfaceSwitch-v2`` entry of ``ppo.yml`` (session 5's recipe: tree warm start, statistics
frozen after cloning, PPO at clip 0.1, no entropy bonus, KL stop) with this script's tree file as
the teacher; ``--train NAME --seed K`` trains one into ``<out>/<NAME>/seed<K>`` (native vector env,
one torch thread, no periodic validation; wall time in ``wall.json``) and ``--eval NAME...`` scores
every seed folder of those names. Run from the repository root with ``PYTHONPATH=.`` to score
this checkout's package: a script's own folder, not the working directory, is on ``sys.path``.

    python scripts/cat_validate.py --out runs/cat_val --runs ppo100k=runs/cat_val/ppo100k/seed0
    python scripts/cat_validate.py --out runs/cat_val --fit-only
    python scripts/cat_validate.py --env qec_gym/CatSwitch-v4 --out runs/cat4val --train clone_tree --seed 0
    python scripts/cat_validate.py --env qec_gym/CatSwitch-v4 --out runs/cat4val --eval clone_tree tree_ppo600k

Any table env takes the same steps: session 7 validated ``qec_gym/SurfaceSwitch-v3`` with it (its one
training scenario is domain-randomised, so ``--episodes 40`` gives 40 paired episodes):

    python scripts/cat_validate.py --env qec_gym/SurfaceSwitch-v3 --out runs/val/surf3val --train tree_ppo600k --seed 0
    python scripts/cat_validate.py --env qec_gym/SurfaceSwitch-v3 --out runs/val/surf3val --episodes 40 --eval tree_ppo600k
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ENV = "qec_gym/CatSwitch-v2"
RECIPE = "qec_gym/SurfaceSwitch-v2"  # the packaged entry whose settings CONFIGS override
TREE = "tree:{out}/tree.joblib"
# the clone alone: PPO's one update at a negligible learning rate leaves the warm-started actor as it is
CLONE_ONLY = {"n_timesteps": 1, "learning_rate": 1e-12, "n_epochs": 1}
CONFIGS = {
    "clone_tree": {**CLONE_ONLY, "warm_start": {"teacher": TREE, "value_rounds": 0}},
    "tree_ppo200k": {"n_timesteps": 200_000, "warm_start": {"teacher": TREE}},
    "tree_ppo600k": {"warm_start": {"teacher": TREE}},
    "dagger_tree_ppo600k": {"warm_start": {"teacher": TREE, "dagger_iters": 3, "dagger_steps": 50_000}},
    "tree_ppo600k_lr1e-4": {"learning_rate": "lin_1e-4", "warm_start": {"teacher": TREE}},
    # session 11: the model-based controller as teacher (fitted on training scenarios), DAgger before PPO
    "ce_dagger_ppo600k": {"warm_start": {"teacher": "certainty_equivalent", "teacher_episodes": 8,
                                         "dagger_iters": 3, "dagger_steps": 50_000}},
    "ce_dagger_ppo200k": {"n_timesteps": 200_000,
                          "warm_start": {"teacher": "certainty_equivalent", "teacher_episodes": 8,
                                         "dagger_iters": 3, "dagger_steps": 50_000}},
}


def config_overrides(name: str, out: Path) -> dict:
    """The packaged `RECIPE` entry with ``CONFIGS[name]`` on top (``warm_start`` merged key by key)."""
    from qec_gym.training.config import load_hyperparams

    base = load_hyperparams("ppo", RECIPE)
    spec = json.loads(json.dumps(CONFIGS[name]).replace("{out}", str(out)))
    return {**base, **spec, "warm_start": {**base["warm_start"], **spec.get("warm_start", {})}}


def train_one(env_id: str, name: str, seed: int, out: Path) -> None:
    """Train configuration ``name`` with training seed ``seed`` into ``<out>/<name>/seed<seed>``."""
    from surface_v2_validate import train_one as train_config  # this script's folder is on sys.path

    train_config(name, seed, out, env=env_id, configs={name: config_overrides(name, out)})


def fit_tree(out: Path, env_id: str) -> Path:
    """The release evaluation's tree (`qec_gym.agents.fit_reference_tree`) in ``<out>/tree.joblib``; its path."""
    from qec_gym.agents import fit_reference_tree

    path = out / "tree.joblib"
    fit_reference_tree(env_id, path, dataset_path=out / "tree_dataset.csv")
    return path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default=ENV)
    ap.add_argument("--out", type=Path, required=True, help="folder of the tree and the validation CSV")
    ap.add_argument("--runs", nargs="*", default=[], metavar="NAME=DIR", help="run folders to score")
    ap.add_argument("--episodes", type=int, default=5, help="episode seeds per training scenario")
    ap.add_argument("--first-seed", type=int, default=20_000)
    ap.add_argument("--fit-only", action="store_true", help="only fit the tree (and its dataset)")
    ap.add_argument("--train", choices=sorted(CONFIGS), help="train this named configuration first")
    ap.add_argument("--seed", type=int, default=0, help="training seed of --train")
    ap.add_argument("--eval", nargs="*", default=[], metavar="NAME", help="score every seed folder of these configurations")
    args = ap.parse_args(argv)

    from surface_v2_validate import paired_table  # this script's folder is on sys.path

    from qec_gym.eval import EvalConfig, evaluate

    args.out.mkdir(parents=True, exist_ok=True)
    tree = fit_tree(args.out, args.env)
    if args.fit_only:
        print(f"tree: {tree}")
        return
    if args.train:
        train_one(args.env, args.train, args.seed, args.out)
    runs = dict(r.split("=", 1) for r in args.runs)
    runs.update({f"{n}@{p.name[4:]}": str(p) for n in args.eval for p in sorted((args.out / n).glob("seed*"))
                 if (p / "model.zip").exists()})
    if not runs:
        return
    policies = [f"{n}=run:{d}" for n, d in runs.items()] + [f"tree=tree:{tree}", "best_fixed", "clairvoyant"]
    seeds = tuple(range(args.first_seed, args.first_seed + args.episodes))
    df = evaluate(policies, EvalConfig(args.env, scenarios="train", seeds=seeds), out_path=args.out / "validation.csv")
    print(f"validation: {args.env}, training scenarios x seeds {seeds[0]}..{seeds[-1]} "
          f"(clairvoyant {df[df.policy == 'clairvoyant']['return'].mean():.1f})")
    walls = {n: json.loads((Path(d) / "wall.json").read_text())["wall_s"] for n, d in runs.items()
             if (Path(d) / "wall.json").exists()}
    print("\n".join(paired_table(df, [*runs, "tree", "best_fixed"], ["tree", "best_fixed"], walls=walls)))


if __name__ == "__main__":
    main()
