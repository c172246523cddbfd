"""Figure: what a drawn scenario set looks like, each family's six kinds of off-support drift.

One row per family (surface, cat, readout), one panel per kind; each panel draws the noise
multiplier of a few episodes (episode seeds 0..N-1) of the set ``--seed`` (`qec_gym.noise.draws`).
It samples the drift processes only (no simulation, no policy).

    python benchmarks/drawn_sets_figure.py --seed 0 --split validation --out docs/figures/drawn_sets.png
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _multiplier(scenario, rng):
    """The drifting multiplier of one episode (the one drift key of a drawn scenario)."""
    m = scenario.multipliers(rng)
    if isinstance(m, dict):
        (m,) = m.values()
    return m


def main(argv=None) -> None:
    from qec_gym.cli import _COUNT, _SEED

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=_SEED, default=0, help="the drawn set")
    ap.add_argument("--split", choices=["validation", "heldout"], default="validation")
    ap.add_argument("--episodes", type=_COUNT, default=3, help="episodes drawn per scenario")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    import numpy as np

    from qec_gym.noise.draws import DRAW_FAMILIES, draw_scenarios
    from qec_gym.sim.plots import new_figure, save_figure

    sets = {family: draw_scenarios(family, args.seed, split=args.split) for family in DRAW_FAMILIES}
    fig, axes = new_figure(len(sets), 6, figsize=(17.0, 2.4 * len(sets)))
    tag = f"{'val' if args.split == 'validation' else 'test'}{args.seed}_"
    axis_label = {"surface": "x p (all fields)", "cat": "x kappa_1/kappa_2", "readout": "x p_meas"}
    for row, (family, scenarios) in enumerate(sets.items()):
        for col, scenario in enumerate(scenarios):
            ax = axes[row * 6 + col]
            for episode in range(args.episodes):
                ax.plot(_multiplier(scenario, np.random.default_rng(episode)), linewidth=0.8, alpha=0.8)
            ax.set_title(f"{family}: {scenario.name.split(tag, 1)[1]}", fontsize=9)
            ax.grid(alpha=0.3)
            if col == 0:
                ax.set_ylabel(f"multiplier ({axis_label[family]})", fontsize=8)
            if row == len(sets) - 1:
                ax.set_xlabel("step", fontsize=8)
    fig.suptitle(f"Drawn {args.split} set {args.seed}: {args.episodes} episodes of each scenario's drift "
                 "(qec_gym.noise.draws; none of these kinds is in training)", fontsize=10)
    save_figure(fig, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
