"""Build the CX bit-flip table of cat qubits (two-mode qutip model), check truncation, draw the figure.

    python benchmarks/cx_bitflip_table.py --packaged          # build qec_gym/bosonic/data (resumes)
    python benchmarks/cx_bitflip_table.py --convergence       # p_bitflip vs n_fock at a few points
    python benchmarks/cx_bitflip_table.py --figure            # docs/figures/cx_bitflip.png (from the table)

Model and measurement: `qec_gym.bosonic.cx`. The figure compares the simulated probability with
Gouzien et al.'s Eq. D8 and Alice & Bob's emulator law.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from qec_gym.bosonic.cx import (
    PACKAGED_CX_GRID,
    PACKAGED_CX_TABLES,
    CXBitFlipTable,
    CXParams,
    alice_bob_cx_bitflip,
    gouzien_cx_bitflip,
    solve_cx_bitflip,
)

ROOT = Path(__file__).resolve().parents[1]


def build() -> CXBitFlipTable:
    start = time.perf_counter()
    total = int(np.prod(PACKAGED_CX_GRID.shape))
    with tqdm(total=total, desc="CX table", unit="pt") as bar:
        def progress(done: int, _total: int) -> None:
            bar.n = done
            bar.refresh()

        table = CXBitFlipTable.build(PACKAGED_CX_GRID, cache_dir=PACKAGED_CX_TABLES, progress=progress)
    print(f"{table!r} built in {time.perf_counter() - start:.0f} s")
    return table


def convergence(points: list[tuple[float, float, float]], extra: tuple[int, ...]) -> None:
    print(f"{'nbar':>5} {'k1/k2':>7} {'T':>4} {'n_fock':>6} {'p_bitflip':>11} {'rel. change':>11} {'s':>6}")
    for nbar, k1, t in points:
        base = CXParams(nbar, k1, gate_time=t).resolved_n_fock
        prev = None
        for n in (base - 4, base - 2, base, *(base + e for e in extra)):
            r = solve_cx_bitflip(CXParams(nbar, k1, gate_time=t, n_fock=n))
            change = "" if prev is None else f"{r.p_bitflip / prev - 1:+.2%}"
            print(f"{nbar:>5g} {k1:>7g} {t:>4g} {n:>6} {r.p_bitflip:>11.4e} {change:>11} {r.seconds:>6.0f}", flush=True)
            prev = r.p_bitflip


def figure(table: CXBitFlipTable, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = table.grid
    fig, ax = plt.subplots(figsize=(7, 4.6))
    nb = np.linspace(g.nbar[0], g.nbar[-1], 61)
    beyond = np.linspace(g.nbar[-1], 8.0, 31)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    every = np.concatenate([nb, beyond])
    t = g.gate_time[0]
    for c, k1 in zip(colors, (1e-4, 1e-3, 1e-2)):
        ax.plot(nb, [table.p_bitflip(x, k1, t) for x in nb], "-", color=c, label=f"simulated, k1/k2={k1:g}, T={t:g}/k2")
        ax.plot(beyond, [table.p_bitflip(x, k1, t) for x in beyond], "-", color=c, alpha=0.4, lw=3)
        ax.plot(every, [alice_bob_cx_bitflip(x, k1, t) for x in every], ":", color=c, label=f"Alice & Bob law, k1/k2={k1:g}")
    if len(g.gate_time) > 1:
        t2 = g.gate_time[-1]
        ax.plot(nb, [table.p_bitflip(x, 1e-3, t2) for x in nb], "-.", color="k", alpha=0.7,
                label=f"simulated, k1/k2=0.001, T={t2:g}/k2")
    for j in range(len(g.kappa1_over_kappa2)):
        ax.plot(g.nbar, table.arrays["p_bitflip"][:, j, 0], "o", ms=4, color="k", alpha=0.6,
                label="solved grid points" if j == 0 else None)
    ax.plot(every, [gouzien_cx_bitflip(x) for x in every], "--", color="gray", label="Gouzien et al. Eq. D8: 0.5 exp(-2 nbar)")
    ax.axvspan(g.nbar[-1], 8.0, color="gray", alpha=0.08, label="extrapolated (thick, pale)")
    ax.set_yscale("log")
    ax.set_xlabel("mean photon number nbar")
    ax.set_ylabel("CX bit-flip probability per gate")
    ax.set_title("Bias-preserving CX of dissipative cats: two-mode Lindblad model vs published laws", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packaged", action="store_true", help="build (or resume) the packaged table")
    parser.add_argument("--convergence", action="store_true", help="truncation convergence at a few points")
    parser.add_argument("--figure", action="store_true", help="draw docs/figures/cx_bitflip.png from the table")
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures" / "cx_bitflip.png"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.convergence:
        convergence([(2.0, 1e-3, 1.0), (3.0, 1e-3, 1.0)], extra=(2,))
    table = build() if args.packaged else CXBitFlipTable.load(PACKAGED_CX_GRID, cache_dir=PACKAGED_CX_TABLES)
    if args.figure:
        figure(table, Path(args.out))
    print(f"{'nbar':>5} {'simulated':>11} {'Gouzien D8':>11} {'A&B law':>11} {'A&B/sim':>8}   (k1/k2 = 1e-3, T = 1/k2)")
    for nbar in (4.0, 5.0, 6.0, 8.0):
        p = table.p_bitflip(nbar, 1e-3, 1.0)
        ab = alice_bob_cx_bitflip(nbar, 1e-3)
        print(f"{nbar:>5g} {p:>11.3e} {gouzien_cx_bitflip(nbar):>11.3e} {ab:>11.3e} {ab / p:>8.2f}")


if __name__ == "__main__":
    main()
