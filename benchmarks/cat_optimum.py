"""Interior optimum of the mean photon number of a repetition cat code (literature check).

At fixed kappa_1/kappa_2 = 1e-3 and distance d, the logical error per round of a phase-flip
repetition code over cats is the simulated phase-flip part (stim + pymatching, rounds = d) plus the
analytic bit-flip part (`qec_gym.bosonic.channel`; CX bit flips from the two-mode Lindblad
simulation, `qec_gym.bosonic.cx`: ``--cx-law solved`` (default; converged solves at nbar 2..6, the law
of CatSwitch-v4) or ``simulated`` (solved at nbar 2..4 and extrapolated above, CatSwitch-v2/v3)).
Bit flips fall like exp(-2 nbar), phase flips grow with nbar: the total has an interior minimum.
Writes the sweep and a figure, and prints the optimal nbar per distance with the chosen CX law and,
on the same phase-flip samples, with the other laws (``gouzien2023``: ``0.5 exp(-2 nbar)``, the law
before channel v2), next to Gouzien et al.'s phase-flip fit.

    python benchmarks/cat_optimum.py                      # d = 5, 7, 9; ~2-4 min on 2 cores
    python benchmarks/cat_optimum.py --distances 5 --max-shots 50000
    python benchmarks/cat_optimum.py --replot             # same phase-flip samples (CSV), bit flips of --cx-law
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from qec_gym.bosonic.channel import CX_BITFLIP_MODELS, CatOperatingPoint, cat_channel
from qec_gym.sim.cat_memory import nbar_sweep, optimal_nbar, read_csv, write_csv

ROOT = Path(__file__).resolve().parents[1]


def with_cx_law(rows, law: str):
    """The rows with their analytic bit-flip part (and total) under another CX bit-flip law.

    Bit flips are not in the stim circuit, so the simulated phase flips stay valid.
    """
    out = []
    for r in rows:
        px = cat_channel(CatOperatingPoint(r.nbar, r.kappa1_over_kappa2, cx_bitflip=law)).bit_flip_per_round(r.distance)
        out.append(dataclasses.replace(r, bit_flip=px, total=r.phase_flip + px - r.phase_flip * px))
    return out


def plot(rows, optima, path: Path, *, kappa1: float) -> None:
    """Total logical error per round vs nbar, one line per distance, optimum marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.6))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, opt in enumerate(optima):
        mine = sorted((r for r in rows if r.distance == opt.distance), key=lambda r: r.nbar)
        c = colors[i % len(colors)]
        nb = np.array([r.nbar for r in mine])
        total = np.array([r.total for r in mine])
        ax.plot(nb, total, "o-", color=c, label=f"d={opt.distance} total")
        seen = np.array([r.errors > 0 for r in mine])
        pz = np.array([r.phase_flip for r in mine])
        lo = np.array([r.phase_flip_lo for r in mine])
        hi = np.array([r.phase_flip_hi for r in mine])
        ax.errorbar(nb[seen], pz[seen], yerr=[pz[seen] - lo[seen], hi[seen] - pz[seen]], fmt="s", ms=3,
                    color=c, alpha=0.5, lw=0.8)
        ax.plot(nb, [r.bit_flip for r in mine], ":", color=c, alpha=0.7)
        old = [cat_channel(CatOperatingPoint(x, kappa1, cx_bitflip="gouzien2023")).bit_flip_per_round(opt.distance)
               for x in nb]
        ax.plot(nb, old, "-.", color=c, alpha=0.35, lw=0.8)
        ax.plot(nb, [r.gouzien_phase_flip for r in mine], "--", color=c, alpha=0.4, lw=0.8)
        ax.plot([opt.nbar], [opt.total], "*", color=c, ms=16, mec="k",
                label=f"d={opt.distance} optimum nbar={opt.nbar:.2f}")
    ax.set_yscale("log")
    ax.set_xlabel("mean photon number nbar")
    ax.set_ylabel("logical error per round")
    ax.set_title(f"Repetition cat code, kappa1/kappa2 = {kappa1:g}, rounds = d\n"
                 "squares: simulated phase flips (99% CI); dotted: bit flips (rows' CX law); dash-dot: bit flips with "
                 "0.5 exp(-2 nbar) CX; dashed: Gouzien et al. phase-flip fit",
                 fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distances", type=int, nargs="+", default=[5, 7, 9])
    parser.add_argument("--nbar", type=float, nargs="+", default=[2.0 + 0.5 * i for i in range(13)],
                        help="mean photon numbers (the packaged CX table covers 2..8)")
    parser.add_argument("--k1", type=float, default=1e-3, help="kappa_1 / kappa_2 (default 1e-3)")
    parser.add_argument("--max-shots", type=int, default=200_000)
    parser.add_argument("--max-errors", type=int, default=400)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures" / "cat_optimum"),
                        help="output path without extension (.csv and .png are written)")
    parser.add_argument("--cx-law", default="solved", choices=CX_BITFLIP_MODELS,
                        help="CX bit-flip law of the totals (CatOperatingPoint.cx_bitflip)")
    parser.add_argument("--replot", action="store_true",
                        help="no new sampling: read the CSV, recompute its bit flips with the CX law, redraw")
    args = parser.parse_args(argv)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = out.with_suffix(".csv"), out.with_suffix(".png")
    start = time.perf_counter()
    if args.replot:
        rows = with_cx_law(read_csv(csv_path), args.cx_law)
        write_csv(rows, csv_path)
    else:
        def progress(done: int, total: int) -> None:
            print(f"\r{done}/{total} points, {time.perf_counter() - start:.0f} s", end="", flush=True)

        rows = nbar_sweep(args.distances, args.nbar, kappa1_over_kappa2=args.k1, rng=np.random.default_rng(args.seed),
                          max_shots=args.max_shots, max_errors=args.max_errors, progress=progress)
        print()
        rows = with_cx_law(rows, args.cx_law)
        write_csv(rows, csv_path)
    distances = sorted({r.distance for r in rows})
    k1 = rows[0].kappa1_over_kappa2

    def law(name: str):
        return lambda nb: cat_channel(CatOperatingPoint(nb, k1, cx_bitflip=name))

    optima = [optimal_nbar(rows, d, channel=law(args.cx_law)) for d in distances]
    plot(rows, optima, png_path, kappa1=rows[0].kappa1_over_kappa2)

    print(f"{'d':>3} {'nbar':>5} {'shots':>8} {'errors':>7} {'p_Z/round':>10} {'Gouzien':>10} {'p_X/round':>10} {'total':>10}")
    for r in rows:
        print(f"{r.distance:>3} {r.nbar:>5.1f} {r.shots:>8} {r.errors:>7} {r.phase_flip:>10.2e} "
              f"{r.gouzien_phase_flip:>10.2e} {r.bit_flip:>10.2e} {r.total:>10.2e}")
    print()
    others = [x for x in CX_BITFLIP_MODELS if x != args.cx_law]
    for o in optima:
        compare = "; ".join(
            f"with {x}: nbar {b.nbar:.2f}, total {b.total:.2e}"
            for x in others for b in [optimal_nbar(rows, o.distance, channel=law(x))]
        )
        print(f"d={o.distance} ({args.cx_law}): optimal nbar {o.nbar:.2f} (fit), total {o.total:.2e} per round; "
              f"best sampled nbar {o.grid_nbar:.1f} with {o.grid_total:.2e}; local p_Z ~ nbar^{o.exponent:.2f}; "
              f"interior: {o.interior}; {compare}")
    print(f"wrote {csv_path} and {png_path} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
