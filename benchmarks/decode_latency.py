"""Decode latency per QEC round: median and p99 of one-shot decoder calls, by distance and decoder,
against real-time budgets: ~1 us per round (superconducting cycles; Google 2024: 1.1 us) and a
configurable photonic budget (an assumption: set ``--photonic-budget-us`` to your clock).

One-shot calls are what a streaming decoder faces (no batching across shots); per-round figures
divide by rounds = d. Rotated surface code, stim-uniform p (``--p``). Uses
`qec_gym.bench.bench_decoder` (the same measurement as ``qec-gym bench``).

    python benchmarks/decode_latency.py [--distances 3 5 7 9 11] [--decoders pymatching uf] [--samples 2000]
"""

from __future__ import annotations

import argparse

from qec_gym.bench import bench_decoder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--distances", type=int, nargs="+", default=[3, 5, 7, 9, 11])
    ap.add_argument("--decoders", nargs="+", default=["pymatching", "pymatching-correlated", "uf"])
    ap.add_argument("--p", type=float, default=1e-3)
    ap.add_argument("--samples", type=int, default=2000, help="one-shot calls timed per configuration")
    ap.add_argument("--seconds", type=float, default=2.0, help="time cap per configuration")
    ap.add_argument("--sc-budget-us", type=float, default=1.0)
    ap.add_argument("--photonic-budget-us", type=float, default=0.1)
    a = ap.parse_args()
    print(f"rotated surface, rounds = d, stim-uniform p={a.p}; one-shot decode calls; budgets: superconducting "
          f"{a.sc_budget_us} us/round, photonic {a.photonic_budget_us} us/round")
    print("| decoder | d | calls | median us/round | p99 us/round | median / SC budget | p99 / SC budget | p99 / photonic budget |")
    print("|---|---|---|---|---|---|---|---|")
    for dec in a.decoders:
        for d in a.distances:
            try:
                r = bench_decoder(dec, d, p=a.p, shots=max(a.samples, 1000), seconds=a.seconds, latency_samples=a.samples)
            except (ImportError, ValueError) as e:
                print(f"| {dec} | {d} | - | skipped: {e} |")
                continue
            med, p99 = r["latency_us_per_round"], r["latency_p99_us_per_round"]
            print(f"| {dec} | {d} | {r['latency_shots']} | {med:.3f} | {p99:.3f} | {med / a.sc_budget_us:.2f} | "
                  f"{p99 / a.sc_budget_us:.2f} | {p99 / a.photonic_budget_us:.2f} |")


if __name__ == "__main__":
    main()
