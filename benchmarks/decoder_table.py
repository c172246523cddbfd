"""Decoder table: threshold (with interval) and decode time per round for every decoder, side by side.

Rotated surface code memory (Z basis), stim-uniform circuit noise (`NoiseParams.uniform`), rounds =
d, distances 3 and 5, p on a small grid around the ~1% threshold. Every decoder decodes the *same*
sampled shots at each point (paired), so differences between decoders are not sampling noise of
separate runs. Each point gets up to ``--shots`` shots per decoder, fewer for a slow decoder when its
time budget per point (``--seconds``) runs out; the table states the shots used. Decode time is
wall-clock of ``decode_batch`` (one process, one thread), divided by shots x rounds; sampling is
not included.

Sized to finish in under 10 minutes on 2 busy cores with the defaults: a small grid (two
distances, five p values) and 2,000 shots, so thresholds carry intervals of roughly +-10%
(relative). That is enough to rank decoders against the references (MWPM ~1.1% measured here
for stim-uniform; belief-matching above MWPM, Higgott et al. 2022), not to pin third digits.

Chromobius is not in the table: it needs a CSS colour code with basis/colour-annotated detectors,
and qec-gym's ``color`` family is stim's ``color_code:memory_xyz`` (neither). It is validated on a
hand-built Steane memory in ``tests/decoders/test_external.py``.

Usage:
    python benchmarks/decoder_table.py [--shots 2000] [--seconds 12] [--out docs/figures/decoder_table]
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import time

import numpy as np

from qec_gym.codes import CodeSpec, build_circuit
from qec_gym.decoders import get_decoder
from qec_gym.noise import NoiseParams
from qec_gym.sim.cache import detector_error_model
from qec_gym.sim.sweep import SweepRow
from qec_gym.sim.threshold import NoCrossingError, curves_from_rows, estimate_threshold

DECODERS = ("pymatching", "pymatching-correlated", "fusion-blossom", "uf", "beliefmatching",
            "bposd", "bplsd", "tesseract")
DISTANCES = (3, 5)
P_VALUES = (0.006, 0.008, 0.010, 0.012, 0.014)
TIMING_P = 0.010
CHUNK = 250


def run(shots: int, seconds: float, say=print) -> tuple[list[SweepRow], dict[tuple[str, int], float], list[str]]:
    """Sample each (d, p) once, decode with every decoder; rows, µs per round at TIMING_P, notes."""
    rows, us_per_round, notes = [], {}, []
    rng = np.random.default_rng(2026)
    for d in DISTANCES:
        spec = CodeSpec("rotated_surface", d, rounds=d)
        for p in P_VALUES:
            circuit = build_circuit(spec, NoiseParams.uniform(p))
            sampler = circuit.compile_detector_sampler(seed=int(rng.integers(2**62)))
            dets, obs = sampler.sample(shots, separate_observables=True)
            for name in DECODERS:
                dec = get_decoder(name)
                try:
                    compiled = dec.compile(detector_error_model(circuit, dec, spec))
                except ImportError as e:
                    notes.append(f"{name}: skipped ({e})")
                    continue
                done, errors, spent = 0, 0, 0.0
                while done < shots and spent < seconds:
                    chunk = slice(done, min(done + CHUNK, shots))
                    t0 = time.perf_counter()
                    pred = compiled.decode_batch(dets[chunk])
                    spent += time.perf_counter() - t0
                    errors += int(np.any(pred != obs[chunk], axis=1).sum())
                    done = chunk.stop
                rows.append(SweepRow("rotated_surface", d, d, spec.basis, p, "uniform", None, name,
                                     "decoder_table", done, errors, seconds=spent))
                if p == TIMING_P:
                    us_per_round[(name, d)] = 1e6 * spent / (done * d)
                say(f"d={d} p={p:.3f} {name:<22} {errors:>5}/{done:<6} {1e6 * spent / (done * d):9.1f} us/round")
    return rows, us_per_round, notes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", type=int, default=2000, help="shots per point and decoder (default 2000)")
    ap.add_argument("--seconds", type=float, default=12.0, help="decode-time budget per point and decoder")
    ap.add_argument("--out", default="docs/figures/decoder_table", help="output stem (.csv and .md written)")
    args = ap.parse_args(argv)
    t_start = time.monotonic()
    rows, timing, notes = run(args.shots, args.seconds)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["decoder", "d", "rounds", "p", "shots", "errors", "per_round", "decode_seconds"])
        for r in rows:
            w.writerow([r.decoder, r.distance, r.rounds, r.p, r.shots, r.errors, f"{r.per_round:.6g}", f"{r.seconds:.4f}"])
    lines = [
        "# Decoder table: rotated surface code, stim-uniform noise, rounds = d",
        "",
        f"Distances {DISTANCES}, p in {P_VALUES}, up to {args.shots} shots per point (same shots for every "
        f"decoder; fewer where a decoder's {args.seconds:g} s budget per point ran out). Threshold: crossing "
        "of logical error per round, d=3/d=5, 95% bootstrap interval (`qec_gym.sim.threshold`). Decode time: "
        f"`decode_batch` wall-clock per round at p = {TIMING_P:.1%}, one thread, a busy 2-core machine. "
        f"Generated by `python benchmarks/decoder_table.py` in {time.monotonic() - t_start:.0f} s.",
        "",
        "| decoder | threshold (95% CI) | shots/point (min) | decode us/round d=3 | decode us/round d=5 |",
        "|---|---|---|---|---|",
    ]
    for name in DECODERS:
        mine = [r for r in rows if r.decoder == name]
        if not mine:
            continue
        try:
            est = estimate_threshold(curves_from_rows(mine, decoder=name), seed=0)
            thr = f"{est.value:.3%} [{est.low:.3%}, {est.high:.3%}]"
        except (NoCrossingError, ValueError) as e:
            thr = f"not estimated ({e})"
        t3, t5 = timing.get((name, 3), float("nan")), timing.get((name, 5), float("nan"))
        lines.append(f"| {name} | {thr} | {min(r.shots for r in mine)} | {t3:.2f} | {t5:.2f} |")
    lines += ["", "Chromobius: not in the table (qec-gym's colour code is stim's memory_xyz, which has no "
              "basis/colour annotations and is not CSS); validated on a hand-built Steane memory in tests."]
    lines += [f"- {n}" for n in dict.fromkeys(notes)]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
