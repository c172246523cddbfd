"""Figure: each training seed's paired return difference to the tree per evaluated scenario, with and without the fallback.

The learned policy is drawn beside the same policy with the support fallback (`qec_gym.training.fallback`).

Reads the ``results.csv`` of ``benchmarks/release_eval.py --fallback`` runs (no simulation); one panel
per release, one group of points per scenario, 95% t intervals over the paired episodes.

    python benchmarks/fallback_figure.py runs/release/SurfaceSwitch-v1-fallback runs/release/SurfaceSwitch-v2-fallback \\
        runs/release/CatSwitch-v4-fallback --out docs/figures/release_fallback.png
    python benchmarks/fallback_figure.py runs/confirm/SurfaceSwitch-v1 runs/confirm/SurfaceSwitch-v2 \\
        runs/confirm/SurfaceSwitch-v3 runs/confirm/CatSwitch-v4 runs/confirm/CatSwitch-v5 \\
        --set "Confirmation scenarios" --out docs/figures/confirm_fallback.png
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path


def _label(scenario: str) -> str:
    """A short tick label: the name without its digest (``@...``) and its set's prefix (drawn sets: ``val<k>_``, ``test<k>_``)."""
    name = scenario.split("@")[0]
    for prefix in ("cat_", "heldout_", "readout_", "confirm_"):
        name = name.removeprefix(prefix)
    return re.sub(r"^(val|test)\d+_", "", name)


def _n_scenarios(release: Path) -> int:
    import pandas as pd

    return pd.read_csv(release / "results.csv", usecols=["scenario"]).scenario.nunique()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("releases", type=Path, nargs="+", help="release_eval.py --fallback output folders")
    ap.add_argument("--algo", default="ppo")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--set", default="Held-out scenarios", help="the evaluation set, named in the title")
    args = ap.parse_args(argv)

    import pandas as pd

    from qec_gym.sim.plots import new_figure, save_figure
    from qec_gym.eval.stats import paired_difference

    missing = [str(r) for r in args.releases if not (r / "results.csv").exists()]
    if missing:
        raise SystemExit(f"no results.csv in {missing}: pass folders written by benchmarks/release_eval.py --fallback.")
    ncols = min(3, len(args.releases))
    nrows = -(-len(args.releases) // ncols)
    width = 4.6 if max(_n_scenarios(r) for r in args.releases) <= 3 else 6.4
    fig, axes = new_figure(nrows, ncols, figsize=(width * ncols, 3.6 * nrows))
    for ax in axes[len(args.releases):]:
        ax.set_visible(False)
    for ax, release in zip(axes, args.releases):
        df = pd.read_csv(release / "results.csv")
        seeds = sorted(int(p.split("@")[1]) for p in df.policy.unique() if p.startswith(f"{args.algo}@"))
        if not seeds or f"{args.algo}+fallback@{seeds[0]}" not in set(df.policy):
            raise SystemExit(f"{release}: no {args.algo}@<seed> and {args.algo}+fallback@<seed> rows; run "
                             "benchmarks/release_eval.py with --fallback.")
        scenarios = sorted(df.scenario.unique())
        for i, scenario in enumerate(scenarios):
            sub = df[df.scenario == scenario]
            for j, (group, colour) in enumerate(((args.algo, "tab:blue"), (f"{args.algo}+fallback", "tab:orange"))):
                for k, seed in enumerate(seeds):
                    d = paired_difference(sub, f"{group}@{seed}", "tree")
                    x = i + (j - 0.5) * 0.4 + (k - (len(seeds) - 1) / 2) * 0.05
                    ax.errorbar(x, d.mean, yerr=[[d.mean - d.low], [d.high - d.mean]], fmt="o", ms=3, color=colour,
                                elinewidth=0.8, label=group if (i, k) == (0, 0) else None)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xticks(range(len(scenarios)), [_label(s) for s in scenarios], fontsize=7)
        ax.set_title(df.env_id.iloc[0].split("/")[-1], fontsize=10)
        ax.set_ylabel("return - tree's (paired, 95% t)", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{args.set}: each training seed vs the decision tree, without and with the support fallback",
                 fontsize=10)
    save_figure(fig, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
