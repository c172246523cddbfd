"""Validation of DecoderCalibration-v3 agents (issue 17, session 6): training scenarios, fresh seeds only.

Every configuration choice for the packaged ``qec_gym/DecoderCalibration-v3`` entry of ``ppo.yml``
was taken from this script's output, never from a held-out scenario (docs/protocol.md). Named
configurations (``CONFIGS``) are overrides of that packaged entry; ``--train`` trains one into
``<out>/<name>/seed<k>`` (native vec env, one torch thread; wall time in ``wall.json``), ``--eval``
scores runs against the tree of the release recipe (``<out>/tree.joblib``, fitted here on training
scenarios as ``scripts/cat_validate.py`` does), best fixed (never recalibrating), periodic, CUSUM-
and mismatch-triggered recalibration and the clairvoyant plan on the *training* scenarios with
episode seeds ``--first-seed`` + k (20,000+), paired. ``--release DIR`` prints the same paired
table per training seed from a release evaluation's ``results.csv`` (held-out: run it once).

    python scripts/calib_v3_validate.py --out runs/calib3val --train clone_tree --seed 0
    python scripts/calib_v3_validate.py --out runs/calib3val --eval clone_tree tree_ppo
    python scripts/calib_v3_validate.py --release runs/release/calib3-warm

``--env qec_gym/DecoderCalibration-v4`` (session 7) runs the same configurations on v4, whose one
training scenario is domain-randomised over the measurement-error axis (``--episodes 16``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cat_validate import fit_tree
from surface_v2_validate import CLONE_ONLY, evaluate_runs, paired_table, train_one

ENV = "qec_gym/DecoderCalibration-v3"
# recalibration baselines a learned policy must beat (issue 17), beside the tree
BASELINES = ("best_fixed", "periodic_recal", "cusum_recal", "drift_recal")
COMPARE = ("tree", *BASELINES)
COUNTS = ("recalibrations", "switches")
# session 5's SurfaceSwitch-v2 recipe: clone the release recipe's tree (teacher ``tree``: myopic-oracle
# labels, 30 training episodes, depth 4), freeze the normalisation, warm up the critic, then a cautious PPO
_WS = {"teacher": "tree", "teacher_episodes": 30, "teacher_seed": 0, "bc_steps": 100_000, "epsilon": 0.2,
       "bc_epochs": 20, "value_steps": 50_000, "value_rounds": 3, "freeze_normalization": True}
_FT = {"n_envs": 8, "n_steps": 512, "batch_size": 256, "n_epochs": 5, "gae_lambda": 0.95,
       "learning_rate": "lin_3e-4", "ent_coef": 0.0, "clip_range": 0.1, "target_kl": 0.02,
       "policy_kwargs": {"net_arch": [64, 64]}}
_DRIFT_WS = {**_WS, "teacher": "drift_recal", "teacher_episodes": 8}
# session 11: the model-based controller (certainty equivalence on the characterisation table) as teacher
_CE_WS = {**_WS, "teacher": "certainty_equivalent", "teacher_episodes": 8}
CONFIGS = {
    "clone_tree": {**CLONE_ONLY, **_FT, "warm_start": {**_WS, "value_rounds": 0}},
    "dagger_tree": {**CLONE_ONLY, **_FT, "warm_start": {**_WS, "value_rounds": 0, "dagger_iters": 3,
                                                         "dagger_steps": 50_000}},
    "tree_ppo": {**_FT, "n_timesteps": 200_000, "warm_start": _WS},
    "tree_ppo_long": {**_FT, "n_timesteps": 400_000, "warm_start": _WS},
    "tree_ppo_lr3e-5": {**_FT, "n_timesteps": 200_000, "learning_rate": "lin_3e-5", "warm_start": _WS},
    "dagger_tree_ppo": {**_FT, "n_timesteps": 200_000,
                        "warm_start": {**_WS, "dagger_iters": 3, "dagger_steps": 50_000}},
    # drift_recal fitted as the harness fits the baseline it is compared with (8 training episodes, seed 0);
    # these runs were trained before make_teacher passed teacher_episodes to drift_recal (it used those defaults)
    "drift_ppo": {**_FT, "n_timesteps": 200_000, "warm_start": _DRIFT_WS},
    "drift_ppo_long": {**_FT, "n_timesteps": 400_000, "warm_start": _DRIFT_WS},
    "ce_ppo": {**_FT, "n_timesteps": 200_000, "warm_start": _CE_WS},
    "ce_dagger_ppo": {**_FT, "n_timesteps": 200_000, "warm_start": {**_CE_WS, "dagger_iters": 3, "dagger_steps": 50_000}},
    "ce_ppo_lr3e-5": {**_FT, "n_timesteps": 200_000, "learning_rate": "lin_3e-5", "warm_start": _CE_WS},
}

CHOSEN = "ce_dagger_ppo"  # the packaged ppo.yml entry (session 11: chosen on drawn validation sets 0 and 1)


def release_table(run: Path) -> list[str]:
    """`paired_table` of each training seed (``ppo@k``) and the baselines in ``<run>/results.csv``."""
    import pandas as pd

    df = pd.read_csv(run / "results.csv")
    seeds = sorted(p for p in df.policy.unique() if p.startswith("ppo@"))
    return paired_table(df, [*seeds, *COMPARE], list(COMPARE), counts=COUNTS)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default=ENV, help="a DecoderCalibration version from v3 on (calibration state observed)")
    ap.add_argument("--out", type=Path, help="validation folder (tree, runs, validation.csv)")
    ap.add_argument("--train", choices=sorted(CONFIGS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval", nargs="*", default=None, metavar="NAME")
    ap.add_argument("--episodes", type=int, default=8, help="episode seeds per training scenario")
    ap.add_argument("--first-seed", type=int, default=20_000)
    ap.add_argument("--release", type=Path, metavar="DIR", help="print the per-seed table of a release run")
    args = ap.parse_args(argv)
    if args.release is not None:
        print("\n".join(release_table(args.release)))
        return
    if args.out is None:
        ap.error("--out is required with --train or --eval.")
    if args.train:
        train_one(args.train, args.seed, args.out, env=args.env, configs=CONFIGS)
    if args.eval is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        fit_tree(args.out, args.env)
        evaluate_runs(args.eval, args.out, args.episodes, args.first_seed, env=args.env, configs=CONFIGS,
                      baselines=BASELINES, compare=COMPARE, counts=COUNTS)


if __name__ == "__main__":
    main()
