"""Gain of heralding photon loss: logical error per round vs loss, heralded vs not (paired shots).

Photonic preset (`HardwareParams.photonic`) with its loss per round swept; rotated surface code,
X-basis memory, rounds = d. The same sampled shots (losses as stim HERALDED_ERASE) are decoded
twice with pymatching: ignoring the heralds (losses as depolarising priors, what
`qec_gym.codes.build_circuit` models) and with per-shot erasure weights (`qec_gym.sim.erasure`).

    python benchmarks/heralding_gain.py                 # d = 3, 5; ~3 min of CPU (one core)
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from qec_gym.codes import CodeSpec
from qec_gym.noise.physical import HardwareParams
from qec_gym.sim.erasure import simulate_heralded

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("distance", "p_loss", "shots", "errors_heralded", "errors_unheralded", "per_round_heralded",
          "per_round_unheralded", "lo_heralded", "hi_heralded", "lo_unheralded", "hi_unheralded", "mean_losses")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, d in enumerate(sorted({r["distance"] for r in rows})):
        mine = [r for r in rows if r["distance"] == d]
        x = np.array([r["p_loss"] for r in mine])
        for kind, style in (("heralded", "o-"), ("unheralded", "s--")):
            y = np.array([r[f"per_round_{kind}"] for r in mine])
            lo = np.array([r[f"lo_{kind}"] for r in mine])
            hi = np.array([r[f"hi_{kind}"] for r in mine])
            ok = y > 0
            ax.errorbar(x[ok], y[ok], yerr=[y[ok] - lo[ok], hi[ok] - y[ok]], fmt=style, color=colors[i], ms=4,
                        capsize=2, label=f"d={d} {kind}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("photon loss per data qubit per round")
    ax.set_ylabel("logical error per round")
    ax.set_title("Rotated surface code, photonic preset: heralded vs unheralded loss\n"
                 "same shots, pymatching; 99% CIs", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distances", type=int, nargs="+", default=[3, 5])
    parser.add_argument("--loss", type=float, nargs="+", default=[0.01, 0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.15])
    parser.add_argument("--shots", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures" / "heralding_gain"),
                        help="output path without extension (.csv and .png are written)")
    args = parser.parse_args(argv)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    base = HardwareParams.photonic().to_noise()
    rng = np.random.default_rng(args.seed)
    rows = []
    start = time.perf_counter()
    print(f"{'d':>3} {'loss':>6} {'shots':>7} {'heralded':>10} {'unheralded':>11} {'gain':>6} {'losses/shot':>12}")
    for d in args.distances:
        for p in args.loss:
            r = simulate_heralded(CodeSpec("rotated_surface", d), base.replace(p_loss=p), shots=args.shots, rng=rng)
            (lh, hh), (lu, hu) = r.ci_per_round(True), r.ci_per_round(False)
            rows.append(dict(
                distance=d, p_loss=p, shots=r.shots, errors_heralded=r.errors_heralded,
                errors_unheralded=r.errors_unheralded, per_round_heralded=r.per_round(True),
                per_round_unheralded=r.per_round(False), lo_heralded=lh, hi_heralded=hh, lo_unheralded=lu,
                hi_unheralded=hu, mean_losses=r.mean_losses,
            ))
            gain = r.errors_unheralded / max(r.errors_heralded, 1)
            print(f"{d:>3} {p:>6.3f} {r.shots:>7} {r.per_round(True):>10.2e} {r.per_round(False):>11.2e} "
                  f"{gain:>5.1f}x {r.mean_losses:>12.2f}", flush=True)
    with open(out.with_suffix(".csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out.with_suffix(".png"))
    print(f"wrote {out.with_suffix('.csv')} and {out.with_suffix('.png')} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
