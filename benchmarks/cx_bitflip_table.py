"""Build the CX bit-flip table of cat qubits (two-mode qutip model), check truncation, draw the figure.

    python benchmarks/cx_bitflip_table.py --packaged          # build qec_gym/bosonic/data (resumes)
    python benchmarks/cx_bitflip_table.py --packaged-shifted  # the shifted-basis table, nbar 2..8 (resumes)
    python benchmarks/cx_bitflip_table.py --validate          # shifted vs Fock basis, nbar 2..4; n_shift convergence
    python benchmarks/cx_bitflip_table.py --convergence       # p_bitflip vs n_fock at a few points
    python benchmarks/cx_bitflip_table.py --converge 5:1e-4 6:1e-4 7:1e-4 8:1e-4   # nbar above 4 (hours)
    python benchmarks/cx_bitflip_table.py --figure            # docs/figures/cx_bitflip.png (from the table)

Model and measurement: `qec_gym.bosonic.cx`. The figure compares the simulated probability with
Gouzien et al.'s Eq. D8 and Alice & Bob's emulator law.
"""

from __future__ import annotations

import argparse
import csv
import datetime
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
    PACKAGED_SOLVED_CX_GRID,
    CXBitFlip,
    CXTableGrid,
    CXBitFlipTable,
    CXParams,
    cx_table_path,
    alice_bob_cx_bitflip,
    gouzien_cx_bitflip,
    solve_cx_bitflip,
)

ROOT = Path(__file__).resolve().parents[1]
CONVERGENCE_CSV = ROOT / "docs" / "figures" / "cx_bitflip_convergence.csv"
"""Every solve of ``--converge`` (one row each, appended as it finishes, so an interrupted run keeps its work)."""
_FIELDS = ("nbar", "kappa1_over_kappa2", "gate_time", "basis", "truncation", "p_bitflip", "p_xi", "p_ix", "p_xx",
           "seconds", "load1", "finished_utc")


def _row_key(nbar: float, k1: float, t: float, basis: str, truncation: int) -> tuple[float, float, float, str, int]:
    return round(float(nbar), 9), float(f"{k1:.9g}"), round(float(t), 9), basis, int(truncation)


def read_solves(path: Path = CONVERGENCE_CSV) -> dict[tuple[float, float, float, str, int], dict[str, str]]:
    """The rows of the convergence CSV, keyed by (nbar, k1/k2, T, basis, truncation); {} if absent."""
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {_row_key(float(r["nbar"]), float(r["kappa1_over_kappa2"]), float(r["gate_time"]), r["basis"],
                         int(r["truncation"])): r for r in csv.DictReader(f)}


def solve_logged(params: CXParams, path: Path = CONVERGENCE_CSV) -> CXBitFlip:
    """`solve_cx_bitflip`, or its row of the CSV if already solved; a new solve is appended to the CSV."""
    key = _row_key(params.nbar, params.kappa1_over_kappa2, params.gate_time, params.basis, params.truncation)
    row = read_solves(path).get(key)
    if row is not None:
        split = {k: float(row[k] or "nan") for k in ("p_xi", "p_ix", "p_xx")}  # blank: not recorded
        return CXBitFlip(params, float(row["p_bitflip"]), **split, n_fock=params.truncation,
                         seconds=float(row["seconds"]))
    r = solve_cx_bitflip(params)
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(_FIELDS)
        w.writerow([params.nbar, params.kappa1_over_kappa2, params.gate_time, params.basis, params.truncation,
                    f"{r.p_bitflip:.8e}", f"{r.p_xi:.8e}", f"{r.p_ix:.8e}", f"{r.p_xx:.8e}", f"{r.seconds:.1f}",
                    f"{os.getloadavg()[0]:.1f}", datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")])
    return r


def known_solve(params: CXParams, fock: CXBitFlipTable) -> CXBitFlip | None:
    """A solve already made at exactly ``params`` (same truncation): the packaged Fock table's or the CSV's."""
    g = fock.grid
    if params.basis == "fock" and params.nbar in g.nbar and params.kappa1_over_kappa2 in g.kappa1_over_kappa2 \
            and params.gate_time in g.gate_time:
        index = (g.nbar.index(params.nbar), g.kappa1_over_kappa2.index(params.kappa1_over_kappa2),
                 g.gate_time.index(params.gate_time))
        if g.params_at(index).truncation == params.truncation:
            a = fock.arrays
            return CXBitFlip(params, float(a["p_bitflip"][index]), p_xi=float(a["p_xi"][index]),
                             p_ix=float(a["p_ix"][index]), p_xx=float(a["p_xx"][index]), n_fock=params.truncation,
                             seconds=float("nan"))
    key = _row_key(params.nbar, params.kappa1_over_kappa2, params.gate_time, params.basis, params.truncation)
    return solve_logged(params) if key in read_solves() else None


def build_solved(fock: CXBitFlipTable) -> CXBitFlipTable:
    """The packaged solved table (`PACKAGED_SOLVED_CX_GRID`), reusing solves already made (`known_solve`):
    v2's table at nbar 2..4, the CSV above; a point not solved yet is solved now (and logged)."""
    grid = PACKAGED_SOLVED_CX_GRID

    def solve(params: CXParams) -> CXBitFlip:
        r = known_solve(params, fock)
        return solve_logged(params) if r is None else r

    path = cx_table_path(grid, cache_dir=PACKAGED_CX_TABLES)
    path.unlink(missing_ok=True)  # rebuilt from the solves, so that a changed CSV row is picked up
    return build(grid, solve=solve)


def converge(points: list[tuple[float, float]], *, tol: float = 0.02, start_extra: int = 0, max_extra: int = 8,
             path: Path = CONVERGENCE_CSV) -> dict[tuple[float, float], tuple[CXBitFlip, float]]:
    """Fock-basis truncation convergence at ``T = 1 / kappa_2``: ``n_fock`` = default, +2, +4, ...

    Starts ``start_extra`` levels above the default; stops when two successive truncations agree
    within ``tol`` (relative) or after ``max_extra`` levels above the default. Returns ``{(nbar, k1): (last solve, relative change of the last step)}``.
    A too small Fock truncation *adds* bit flips (module docstring of `qec_gym.bosonic.cx`), so the
    sequence falls towards the converged value.
    """
    print(f"{'nbar':>5} {'k1/k2':>7} {'n_fock':>6} {'p_bitflip':>12} {'change':>8} {'s':>6}")
    out = {}
    for nbar, k1 in points:
        n0 = CXParams(nbar, k1).resolved_n_fock
        prev, change = None, float("nan")
        for n in range(n0 + start_extra, n0 + max_extra + 1, 2):
            r = solve_logged(CXParams(nbar, k1, n_fock=n), path)
            change = float("nan") if prev is None else r.p_bitflip / prev.p_bitflip - 1.0
            print(f"{nbar:>5g} {k1:>7g} {n:>6} {r.p_bitflip:>12.5e} {change:>+8.2%} {r.seconds:>6.0f}", flush=True)
            prev = r
            if abs(change) < tol:
                break
        else:
            print(f"  not converged within {max_extra} levels above the default at nbar {nbar:g}")
        out[(nbar, k1)] = (prev, change)
    return out


def build(grid: CXTableGrid = PACKAGED_CX_GRID, solve=None) -> CXBitFlipTable:
    start = time.perf_counter()
    total = int(np.prod(grid.shape))
    with tqdm(total=total, desc=f"CX table ({grid.basis})", unit="pt") as bar:
        def progress(done: int, _total: int) -> None:
            bar.n = done
            bar.refresh()

        table = CXBitFlipTable.build(grid, cache_dir=PACKAGED_CX_TABLES, progress=progress, solve=solve)
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


def _convergence_rows(path: Path = CONVERGENCE_CSV) -> dict[tuple[float, float, str], list[tuple[int, float]]]:
    """Solves of the CSV at T = 1/k2: {(nbar, k1, basis): [(truncation, p), ...] sorted by truncation}."""
    out: dict[tuple[float, float, str], list[tuple[int, float]]] = {}
    for (nbar, k1, t, basis, n), row in read_solves(path).items():
        if t == 1.0:
            out.setdefault((nbar, k1, basis), []).append((n, float(row["p_bitflip"])))
    return {k: sorted(v) for k, v in sorted(out.items())}


def figure(fock: CXBitFlipTable, shifted: CXBitFlipTable, solved: CXBitFlipTable | None, path: Path) -> None:
    """Left: the laws against nbar (T = 1/k2). Middle: the same over Gouzien's 0.5 exp(-2 nbar), with the
    converged points and nbar 8's bracket. Right: truncation convergence, over the solved law."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, rel, conv) = plt.subplots(1, 3, figsize=(17, 5.2), gridspec_kw={"width_ratios": [1.3, 1, 1]})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    top = 8.0
    every = np.linspace(2.0, top, 61)
    solved_f = np.linspace(fock.grid.nbar[0], fock.grid.nbar[-1], 31)
    beyond_f = np.linspace(fock.grid.nbar[-1], top, 31)
    rows = _convergence_rows()
    for c, k1 in zip(colors, (1e-4, 1e-3, 1e-2)):
        for a, norm in ((ax, lambda x: 1.0), (rel, gouzien_cx_bitflip)):
            a.plot(solved_f, [fock.p_bitflip(x, k1, 1.0) / norm(x) for x in solved_f], "-", color=c, lw=1, alpha=0.6,
                   label=f"v2/v3 law: Fock solve at nbar 2..4, k1/k2={k1:g}" if a is ax else None)
            a.plot(beyond_f, [fock.p_bitflip(x, k1, 1.0) / norm(x) for x in beyond_f], "-", color=c, alpha=0.25, lw=3,
                   label="its extrapolation above 4 (CatSwitch-v2, v3)" if a is ax and k1 == 1e-4 else None)
            if solved is not None:
                a.plot(every, [solved.p_bitflip(x, k1, 1.0) / norm(x) for x in every], "-.", color=c, lw=1.6,
                       label=f"solved law (CatSwitch-v4; solved 2..6, extended above), k1/k2={k1:g}" if a is ax else None)
            if a is ax or k1 == 1e-4:
                a.plot(every, [alice_bob_cx_bitflip(x, k1, 1.0) / norm(x) for x in every], ":", color=c,
                       label=f"Alice & Bob law, k1/k2={k1:g}" if a is ax else "Alice & Bob law, k1/k2=1e-4")
        if k1 in (1e-4, 1e-2) and solved is not None:
            j = solved.grid.kappa1_over_kappa2.index(k1)
            ok = solved.arrays["n_fock"][:, j, 0] > 0
            nb = np.array(solved.grid.nbar)[ok]
            p = solved.arrays["p_bitflip"][ok, j, 0]
            for a, scale in ((ax, np.ones_like(nb)), (rel, [gouzien_cx_bitflip(x) for x in nb])):
                a.plot(nb, p / scale, "D", ms=5, mfc="none", color=c,
                       label=f"converged solves, k1/k2={k1:g}" if a is rel else None)
        fock8 = [p for (nb, k, basis), seq in rows.items() if nb == 8.0 and k == k1 and basis == "fock" for _, p in seq[-1:]]
        shift8 = [p for (nb, k, basis), seq in rows.items() if nb == 8.0 and k == k1 and basis == "shifted" for _, p in seq[-1:]]
        if fock8 and shift8:
            g8 = gouzien_cx_bitflip(8.0)
            for a, s8 in ((ax, 1.0), (rel, g8)):
                a.errorbar([8.0 + (0.04 if k1 == 1e-2 else 0.0)], [(fock8[0] + shift8[0]) / 2 / s8],
                           yerr=[[(fock8[0] - shift8[0]) / 2 / s8]], fmt="none", color=c, capsize=4, lw=1.5,
                           label=f"nbar 8 bracket (shifted below, Fock above), k1/k2={k1:g}" if a is rel else None)
    ax.plot(shifted.grid.nbar, shifted.arrays["p_bitflip"][:, 0, 0], "o", ms=3, color="gray", alpha=0.7,
            label="shifted basis n_shift=8, k1/k2=1e-4 (lower bounds above 4)")
    ax.plot(every, [gouzien_cx_bitflip(x) for x in every], "--", color="gray", label="Gouzien et al. Eq. D8: 0.5 exp(-2 nbar)")
    rel.axhline(1.0, ls="--", color="gray")
    ax.set_yscale("log")
    ax.set_xlabel("mean photon number nbar")
    ax.set_ylabel("CX bit-flip probability per gate (T = 1/kappa_2)")
    ax.set_title("Bias-preserving CX of dissipative cats: two-mode Lindblad model vs published laws", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=5.5)
    rel.set_xlabel("mean photon number nbar")
    rel.set_ylabel("p_bitflip / (0.5 exp(-2 nbar))")
    rel.set_title("Over Gouzien et al.'s law (dashed: 1)", fontsize=9)
    rel.set_ylim(0.0, 2.5)
    rel.grid(True, alpha=0.3)
    rel.legend(fontsize=6)
    # right: p / (the solved law) against the basis size per mode (n_fock, or 2 n_shift)
    styles = {1e-4: ("o", "-"), 1e-2: ("s", "--")}
    for i, nbar in enumerate(sorted({k[0] for k in rows if k[0] > 4})):
        c = colors[i % len(colors)]
        for k1, (mark, line) in styles.items():
            ref = solved.p_bitflip(nbar, k1, 1.0) if solved is not None else float("nan")
            for basis, xs, fill in (("fock", 1, None), ("shifted", 2, "none")):
                seq = rows.get((nbar, k1, basis), [])
                if seq:
                    conv.plot([xs * n for n, _ in seq], [p / ref for _, p in seq], mark + (line if basis == "fock" else ":"),
                              color=c, ms=4, mfc=fill, label=f"nbar={nbar:g}, k1/k2={k1:g}, {basis} "
                              f"{'n_fock' if basis == 'fock' else 'n_shift'} {seq[0][0]}..{seq[-1][0]}")
    conv.axhspan(0.98, 1.02, color="gray", alpha=0.2, lw=0)
    conv.set_yscale("log")
    conv.set_ylim(0.3, 10.0)
    conv.set_xlabel("basis states per mode (Fock: n_fock; shifted: 2 n_shift)")
    conv.set_ylabel("p_bitflip / solved law (nbar 8: its extension)")
    conv.set_title("Truncation: Fock falls, shifted basis rises (band: +-2%)", fontsize=9)
    conv.grid(True, which="both", alpha=0.3)
    conv.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packaged", action="store_true", help="build (or resume) the packaged table")
    parser.add_argument("--packaged-shifted", action="store_true", help="build (or resume) the shifted-basis table")
    parser.add_argument("--packaged-solved", action="store_true",
                        help="build the solved nbar 2..6 table at converged n_fock (reuses v2's table and the CSV's solves)")
    parser.add_argument("--convergence", action="store_true", help="truncation convergence at a few points")
    parser.add_argument("--figure", action="store_true", help="draw docs/figures/cx_bitflip.png from both tables")
    parser.add_argument("--validate", action="store_true",
                        help="shifted vs Fock basis at nbar 2..4 and n_shift 6, 10 at nbar 8, 6 (k1/k2 = 1e-2)")
    parser.add_argument("--converge", nargs="+", metavar="NBAR:K1", default=(),
                        help="n_fock convergence at these (nbar, kappa1/kappa2) points, T = 1/k2 (appends to the CSV)")
    parser.add_argument("--start-extra", type=int, default=0, help="--converge: first n_fock above the default")
    parser.add_argument("--tol", type=float, default=0.02, help="--converge: relative change that counts as converged")
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures" / "cx_bitflip.png"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.converge:
        converge([tuple(float(x) for x in spec.split(":")) for spec in args.converge], tol=args.tol,
                 start_extra=args.start_extra)
        return
    if args.convergence:
        convergence([(2.0, 1e-3, 1.0), (3.0, 1e-3, 1.0)], extra=(2,))
    if args.packaged_shifted:
        build(PACKAGED_SHIFTED_CX_GRID)
    table = build() if args.packaged else CXBitFlipTable.load(PACKAGED_CX_GRID, cache_dir=PACKAGED_CX_TABLES)
    shifted = CXBitFlipTable.load(PACKAGED_SHIFTED_CX_GRID, cache_dir=PACKAGED_CX_TABLES)
    if args.packaged_solved:
        solved = build_solved(table)
    else:
        try:
            solved = CXBitFlipTable.load(PACKAGED_SOLVED_CX_GRID, cache_dir=PACKAGED_CX_TABLES)
        except FileNotFoundError:
            solved = None
    if args.validate:
        validate(shifted, table, [(8.0, 1e-2), (6.0, 1e-2)], (10, 6))
    if args.figure:
        figure(table, shifted, solved, Path(args.out))
    print(f"{'nbar':>5} {'k1/k2':>7} {'solved':>11} {'extrapol.':>11} {'solved/ex':>9} {'Gouzien D8':>11} "
          f"{'A&B law':>11} {'A&B/solved':>10}   (T = 1/k2; extrapol.: v2/v3 law, Fock solve at 2..4 extended)")
    for k1 in (1e-4, 1e-3, 1e-2):
        for nbar in (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0):
            p = table.p_bitflip(nbar, k1, 1.0)
            q = float("nan") if solved is None else solved.p_bitflip(nbar, k1, 1.0)
            ab = alice_bob_cx_bitflip(nbar, k1)
            print(f"{nbar:>5g} {k1:>7g} {q:>11.3e} {p:>11.3e} {q / p:>9.3f} {gouzien_cx_bitflip(nbar):>11.3e} "
                  f"{ab:>11.3e} {ab / q:>10.2f}")


if __name__ == "__main__":
    main()
