"""Calibration check of the support fallback: the share of a policy's fresh in-distribution states scored outside.

For each seed's run of a release folder (``<release>/<algo>/seed<k>``) it fits the support with the
step split and with the episode split (`qec_gym.training.fallback.SupportConfig.split`; the other
settings at their defaults, rollouts at reset seeds 30,000+), rolls the learned policy out alone on
its training scenarios at fresh reset seeds (``--first-seed`` + i, default 20,000+: the validation
seeds), and prints the share of those states outside each support, to compare with ``alpha``. No
held-out scenario is touched. Run from the repository root with ``PYTHONPATH=.``:

    PYTHONPATH=. python scripts/support_coverage.py --release runs/release/SurfaceSwitch-v1-fallback --episodes 40
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--release", type=Path, required=True, help="a release_eval.py output folder")
    ap.add_argument("--algo", default="ppo")
    ap.add_argument("--episodes", type=int, default=40, help="fresh episodes, balanced over the training scenarios")
    ap.add_argument("--first-seed", type=int, default=20_000)
    args = ap.parse_args(argv)

    import numpy as np

    from qec_gym.training.fallback import SupportConfig, fit_support, rollout_observations

    runs = sorted((args.release / args.algo).glob("seed*"), key=lambda p: int(p.name[4:]))
    if not runs:
        raise SystemExit(f"no {args.algo}/seed<k> run folders in {args.release}: pass a release_eval.py output folder.")
    alpha = SupportConfig().alpha
    print(f"| run | fresh states | outside, step split | outside, episode split | alpha |\n|---|---|---|---|---|")
    shares = {"step": [], "episode": []}
    for run in runs:
        fresh = rollout_observations(run, SupportConfig(episodes=args.episodes, seed=args.first_seed))
        row = []
        for split in shares:
            outside = float(1.0 - fit_support(run, SupportConfig(split=split)).contains(fresh).mean())
            shares[split].append(outside)
            row.append(f"{outside:.1%}")
        print(f"| {run.name} | {len(fresh)} | {row[0]} | {row[1]} | {alpha:.0%} |", flush=True)
    print(f"| mean | | {np.mean(shares['step']):.1%} | {np.mean(shares['episode']):.1%} | {alpha:.0%} |")


if __name__ == "__main__":
    main()
