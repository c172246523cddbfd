"""Logical error against STIRAP pulse width: the adiabaticity vs decoherence optimum, per regime.

For each regime of `qec_gym.noise.stirap.stirap_regimes` and each Gaussian pulse width, the gate
errors come from the three-level STIRAP model and the idling noise of the rest of the register from
T1/T2 over the gate's duration (`HardwareParams.to_noise`). Rotated surface and XZZX codes at d = 3, 5
(rounds = d, both memory bases, pymatching) are sampled with stim until ``--max-errors`` logical
errors or ``--max-shots`` shots. The logical error per round combines the two bases as independent
failures. Writes ``docs/figures/stirap_optimum.{csv,png}`` and prints the optimum width and the
winning code per regime (read by the QEC report).

    python benchmarks/stirap_optimum.py                   # ~3-6 min on 2 cores
    python benchmarks/stirap_optimum.py --widths 8 --max-shots 50000   # quicker, coarser
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from qec_gym.codes import CodeSpec
from qec_gym.eval.qec_report import stirap_lines, stirap_optima
from qec_gym.noise.stirap import stirap_regimes
from qec_gym.sim import SimulationCache, simulate_window
from qec_gym.sim.stats import binomial_ci, per_round

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("regime", "width_s", "gate_error_2q", "idle_z", "family", "distance", "shots_x", "errors_x",
           "shots_z", "errors_z", "p_round", "p_round_lo", "p_round_hi")


def measure(spec: CodeSpec, noise, *, max_shots: int, max_errors: int, rng, cache) -> tuple[int, int]:
    """(shots, errors) sampled in chunks until ``max_errors`` errors or ``max_shots`` shots."""
    shots = errors = 0
    chunk = 10_000
    while shots < max_shots and errors < max_errors:
        w = simulate_window(spec, noise, shots=min(chunk, max_shots - shots), rng=rng, cache=cache, bins_per_decade=None)
        shots += w.shots
        errors += w.errors
    return shots, errors


def combined_per_round(sx: int, ex: int, sz: int, ez: int, rounds: int, confidence: float = 0.95):
    """Per-round logical error of the two memory bases as independent failures, with an interval
    from the bases' binomial intervals (a union bound on coverage: each at (1+confidence)/2)."""
    level = (1 + confidence) / 2
    px, pz = ex / sx, ez / sz
    (lx, hx), (lz, hz) = binomial_ci(ex, sx, confidence=level), binomial_ci(ez, sz, confidence=level)
    both = lambda a, b: per_round(1 - (1 - a) * (1 - b), rounds)  # noqa: E731
    return both(px, pz), both(lx, lz), both(hx, hz)


def run(widths: np.ndarray, distances, *, max_shots: int, max_errors: int, seed: int) -> list[dict]:
    rows, cache = [], SimulationCache()
    rng = np.random.default_rng(seed)
    for regime in stirap_regimes().values():
        for width in widths:
            hw = regime.hardware(float(width))
            noise = hw.to_noise()
            for family in ("rotated_surface", "xzzx"):
                for d in distances:
                    sx, ex = measure(CodeSpec(family, d, basis="x"), noise, max_shots=max_shots,
                                     max_errors=max_errors, rng=rng, cache=cache)
                    sz, ez = measure(CodeSpec(family, d, basis="z"), noise, max_shots=max_shots,
                                     max_errors=max_errors, rng=rng, cache=cache)
                    p, lo, hi = combined_per_round(sx, ex, sz, ez, d)
                    rows.append(dict(regime=regime.name, width_s=float(width), gate_error_2q=hw.gate_error_2q,
                                     idle_z=noise.idle_z, family=family, distance=d, shots_x=sx, errors_x=ex,
                                     shots_z=sz, errors_z=ez, p_round=p, p_round_lo=lo, p_round_hi=hi))
                    print(f"{regime.name:<20} T={width:.2e}s {family:<16} d={d} p_L/round={p:.2e} [{lo:.1e}, {hi:.1e}]",
                          flush=True)
    return rows


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regimes = sorted({r["regime"] for r in rows})
    fig, axes = plt.subplots(1, len(regimes), figsize=(5.5 * len(regimes), 4.2), sharey=True)
    for ax, regime in zip(np.atleast_1d(axes), regimes):
        for (family, d), style in zip(sorted({(r["family"], r["distance"]) for r in rows}), ("o-", "s-", "o--", "s--")):
            mine = sorted((r for r in rows if r["regime"] == regime and r["family"] == family and r["distance"] == d),
                          key=lambda r: r["width_s"])
            w = np.array([r["width_s"] for r in mine]) * 1e9
            p = np.array([r["p_round"] for r in mine])
            lo = np.array([r["p_round_lo"] for r in mine])
            hi = np.array([r["p_round_hi"] for r in mine])
            ax.errorbar(w, p, yerr=[p - lo, hi - p], fmt=style, ms=4, capsize=2, label=f"{family} d={d}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("Gaussian pulse width T (ns)")
        ax.set_title(regime, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("logical error per round (both bases)")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.suptitle("STIRAP gates: non-adiabatic + spontaneous-emission error vs idle decoherence (95% CI)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, default=10, help="widths on a log grid over 5 ns .. 1 us")
    ap.add_argument("--distances", type=int, nargs="+", default=[3, 5])
    ap.add_argument("--max-shots", type=int, default=200_000)
    ap.add_argument("--max-errors", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "stirap_optimum.csv")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = run(np.geomspace(5e-9, 1e-6, args.widths), args.distances, max_shots=args.max_shots,
               max_errors=args.max_errors, seed=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    plot(rows, args.out.with_suffix(".png"))
    print(f"\nwrote {args.out} and {args.out.with_suffix('.png')} in {time.perf_counter() - t0:.0f} s\n")
    print("\n".join(stirap_lines(args.out)))
    for o in stirap_optima(rows):
        print(f"{o['regime']:<20} {o['family']:<16} d={o['distance']} optimum T = {o['width_s'] * 1e9:.0f} ns, "
              f"p_L/round = {o['p_round']:.2e} [{o['p_round_lo']:.1e}, {o['p_round_hi']:.1e}]")


if __name__ == "__main__":
    main()
