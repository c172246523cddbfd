"""Build the CX bit-flip table of cat qubits (two-mode qutip model), check truncation, draw the figure.

    python benchmarks/cx_bitflip_table.py --packaged          # build qec_gym/bosonic/data (resumes)
    python benchmarks/cx_bitflip_table.py --packaged-shifted  # the shifted-basis table, nbar 2..8 (resumes)
    python benchmarks/cx_bitflip_table.py --validate          # shifted vs Fock basis, nbar 2..4; n_shift convergence
    python benchmarks/cx_bitflip_table.py --convergence       # p_bitflip vs n_fock at a few points
    python benchmarks/cx_bitflip_table.py --figure            # docs/figures/cx_bitflip.png (from the table)

Model and measurement: `qec_gym.bosonic.cx`. The figure compares the simulated probability with
Gouzien et al.'s Eq. D8 and Alice & Bob's emulator law.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

# The shifted-basis solver's many small matrix products run slower with threaded BLAS on a shared machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from qec_gym.bosonic.cx import (  # noqa: E402
    PACKAGED_CX_GRID,
    PACKAGED_CX_TABLES,
    PACKAGED_SHIFTED_CX_GRID,
    CXTableGrid,
    CXBitFlipTable,
    CXParams,
    alice_bob_cx_bitflip,
    gouzien_cx_bitflip,
    solve_cx_bitflip,
)

ROOT = Path(__file__).resolve().parents[1]


def build(grid: CXTableGrid = PACKAGED_CX_GRID) -> CXBitFlipTable:
    start = time.perf_counter()
    total = int(np.prod(grid.shape))
    with tqdm(total=total, desc=f"CX table ({grid.basis})", unit="pt") as bar:
        def progress(done: int, _total: int) -> None:
            bar.n = done
            bar.refresh()

        table = CXBitFlipTable.build(grid, cache_dir=PACKAGED_CX_TABLES, progress=progress)
    print(f"{table!r} built in {time.perf_counter() - start:.0f} s")
    for index in np.ndindex(grid.shape):
        print(f"  {grid.params_at(index)}: p_bitflip {table.arrays['p_bitflip'][index]:.4e}")
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


def validate(shifted: CXBitFlipTable, fock: CXBitFlipTable, points: list[tuple[float, float]], shifts: tuple[int, ...]) -> None:
    """Shifted vs Fock basis where both are solved, then n_shift convergence at the new points."""
    print("shifted Fock basis (n_shift = table's) vs full Fock solve, T = 1/k2:")
    print(f"{'nbar':>5} {'k1/k2':>7} {'Fock':>11} {'shifted':>11} {'shifted/Fock':>12}")
    for i, nbar in enumerate(fock.grid.nbar):
        for j, k1 in enumerate(fock.grid.kappa1_over_kappa2):
            pf = fock.arrays["p_bitflip"][i, j, 0]
            ps = shifted.p_bitflip(nbar, k1, 1.0)
            print(f"{nbar:>5g} {k1:>7g} {pf:>11.4e} {ps:>11.4e} {ps / pf:>12.4f}")
    print("n_shift convergence (table: n_shift = %d):" % shifted.arrays["n_fock"].flat[0])
    print(f"{'nbar':>5} {'k1/k2':>7} {'n_shift':>7} {'p_bitflip':>11} {'/table':>8} {'s':>6}")
    for nbar, k1 in points:
        for ns in shifts:
            r = solve_cx_bitflip(CXParams(nbar, k1, basis="shifted", n_shift=ns))
            ratio = r.p_bitflip / shifted.p_bitflip(nbar, k1, 1.0)
            print(f"{nbar:>5g} {k1:>7g} {ns:>7} {r.p_bitflip:>11.4e} {ratio:>8.4f} {r.seconds:>6.0f}", flush=True)


SHIFT_CONVERGENCE = [(6.0, 2.74950e-06, "shifted basis, n_shift=10 (still lower bounds)"), (8.0, 2.64141e-08, None)]
"""``--validate`` results drawn in the figure (``n_shift = 10``, ``kappa_1 / kappa_2 = 1e-2``)."""


def figure(fock: CXBitFlipTable, shifted: CXBitFlipTable, path: Path) -> None:
    """Both solved tables and both published laws against nbar (k1/k2 = 1e-4, 1e-3, 1e-2; T = 1/k2)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.4, 4.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    top = 8.0
    every = np.linspace(2.0, top, 61)
    solved_f = np.linspace(fock.grid.nbar[0], fock.grid.nbar[-1], 31)
    beyond_f = np.linspace(fock.grid.nbar[-1], top, 31)
    for c, k1 in zip(colors, (1e-4, 1e-3, 1e-2)):
        ax.plot(solved_f, [fock.p_bitflip(x, k1, 1.0) for x in solved_f], "-", color=c,
                label=f"simulated (Fock basis, solved 2..4), k1/k2={k1:g}")
        ax.plot(beyond_f, [fock.p_bitflip(x, k1, 1.0) for x in beyond_f], "-", color=c, alpha=0.3, lw=3,
                label="extrapolated above 4 (the law of CatSwitch-v2, v3)" if k1 == 1e-4 else None)
        ax.plot(every, [alice_bob_cx_bitflip(x, k1, 1.0) for x in every], ":", color=c, label=f"Alice & Bob law, k1/k2={k1:g}")
    for j in range(len(shifted.grid.kappa1_over_kappa2)):
        ax.plot(shifted.grid.nbar, shifted.arrays["p_bitflip"][:, j, 0], "o", ms=4, color="k", alpha=0.6,
                label="shifted basis, n_shift=8 (lower bounds above 4: not converged)" if j == 0 else None)
        ax.plot(fock.grid.nbar, fock.arrays["p_bitflip"][:, j, 0], "x", ms=7, color="r", alpha=0.8,
                label="solved points, Fock basis" if j == 0 else None)
    for nbar, p, label in SHIFT_CONVERGENCE:
        ax.plot([nbar], [p], "^", ms=7, color="m", label=label)
    ax.plot(every, [gouzien_cx_bitflip(x) for x in every], "--", color="gray", label="Gouzien et al. Eq. D8: 0.5 exp(-2 nbar)")
    ax.set_yscale("log")
    ax.set_xlabel("mean photon number nbar")
    ax.set_ylabel("CX bit-flip probability per gate (T = 1/kappa_2)")
    ax.set_title("Bias-preserving CX of dissipative cats: two-mode Lindblad model vs published laws", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6.5)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packaged", action="store_true", help="build (or resume) the packaged table")
    parser.add_argument("--packaged-shifted", action="store_true", help="build (or resume) the shifted-basis table")
    parser.add_argument("--convergence", action="store_true", help="truncation convergence at a few points")
    parser.add_argument("--figure", action="store_true", help="draw docs/figures/cx_bitflip.png from both tables")
    parser.add_argument("--validate", action="store_true",
                        help="shifted vs Fock basis at nbar 2..4 and n_shift 6, 10 at nbar 8, 6 (k1/k2 = 1e-2)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures" / "cx_bitflip.png"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.convergence:
        convergence([(2.0, 1e-3, 1.0), (3.0, 1e-3, 1.0)], extra=(2,))
    if args.packaged_shifted:
        build(PACKAGED_SHIFTED_CX_GRID)
    table = build() if args.packaged else CXBitFlipTable.load(PACKAGED_CX_GRID, cache_dir=PACKAGED_CX_TABLES)
    shifted = CXBitFlipTable.load(PACKAGED_SHIFTED_CX_GRID, cache_dir=PACKAGED_CX_TABLES)
    if args.validate:
        validate(shifted, table, [(8.0, 1e-2), (6.0, 1e-2)], (10, 6))
    if args.figure:
        figure(table, shifted, Path(args.out))
    print(f"{'nbar':>5} {'simulated':>11} {'shifted n8':>11} {'Gouzien D8':>11} {'A&B law':>11} {'A&B/sim':>8}   "
          "(k1/k2 = 1e-3, T = 1/k2; simulated: Fock, extrapolated above 4; shifted: lower bound above 4)")
    for nbar in (4.0, 5.0, 6.0, 7.0, 8.0):
        p = table.p_bitflip(nbar, 1e-3, 1.0)
        ab = alice_bob_cx_bitflip(nbar, 1e-3)
        print(f"{nbar:>5g} {p:>11.3e} {shifted.p_bitflip(nbar, 1e-3, 1.0):>11.3e} {gouzien_cx_bitflip(nbar):>11.3e} "
              f"{ab:>11.3e} {ab / p:>8.2f}")


if __name__ == "__main__":
    main()
