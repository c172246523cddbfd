"""Release evaluation of the CatSwitch-v2 hybrid agent (tree behaviour clone + PPO fine-tune).

`benchmarks/release_eval.py` trains with plain `qec_gym.training.train` on ``DummyVecEnv`` copies:
it cannot clone the tree first (`qec_gym.training.hybrid.train_hybrid`) nor train on the native
vector env (``vec_env`` is a run setting, not a hyperparameter its packaged YAML can carry). It
skips training for seeds whose ``model.zip`` exists and reuses ``<out>/tree.joblib``, so this
script prepares both and then runs it unchanged:

1. the decision tree with release_eval's own recipe (30 training-scenario episodes, dataset seed 0,
   depth 4) into ``<out>/tree.joblib``: the baseline tree and the hybrid's teacher are one file;
2. ``qec-gym train --hybrid-tree <out>/tree.joblib --hybrid-dataset <out>/tree_dataset.csv
   --vec-env native --seeds ...`` into ``<out>/ppo/seed<k>`` (packaged ``ppo.yml`` settings);
3. ``benchmarks/release_eval.py --env ID --out OUT --episodes N --jobs J --baselines ...`` (held-out
   evaluation, aggregation, ``release.md``).

    python scripts/cat_release_hybrid.py --out runs/release/CatSwitch-v2 --episodes 10 --jobs 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from cat_validate import ENV, fit_tree  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default=ENV)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--episodes", type=int, default=10, help="held-out episode seeds per scenario")
    ap.add_argument("--jobs", type=int, default=2)
    # the threshold ladder's fit (~500 training rollouts) did not fit in the shared-CPU session of
    # the first release run; add it back with --baselines best_fixed threshold random oracle clairvoyant
    ap.add_argument("--baselines", nargs="+", default=["best_fixed", "random", "oracle", "clairvoyant"])
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    tree = fit_tree(args.out, args.env)
    # the children import this checkout's qec_gym (its packaged ppo.yml entry), not an installed copy
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    seeds = [str(s) for s in args.train_seeds]
    subprocess.run([sys.executable, "-m", "qec_gym.cli", "train", "--env", args.env, "--algo", "ppo",
                    "--seeds", *seeds, "--jobs", str(args.jobs), "--vec-env", "native", "--no-progress",
                    "--hybrid-tree", str(tree), "--hybrid-dataset", str(args.out / "tree_dataset.csv"),
                    "--out", str(args.out / "ppo")], check=True, env=env)
    subprocess.run([sys.executable, str(root / "benchmarks" / "release_eval.py"),
                    "--env", args.env, "--algo", "ppo", "--train-seeds", *seeds, "--episodes", str(args.episodes),
                    "--jobs", str(args.jobs), "--out", str(args.out), "--baselines", *args.baselines], check=True, env=env)


if __name__ == "__main__":
    main()
