"""Do stale decoder priors cost anything when all noise scales together (uniform axis)?

Independent of the project's code: rotated-surface X memories (rounds = distance) from
``stim.Circuit.generated`` with every noise channel at p = m * p0, decoded by PyMatching from the
DEM of the true p ("fresh") and of p0 ("stale", the decoder calibrated at the axis baseline), on
the SAME samples (paired). Prints, per (distance, m), the logical errors of both, the shots where
only one of them fails, and the relative excess of the stale decoder with a 95% interval (exact
binomial on the discordant shots: stale/fresh = (a + b) / (a + c), b ~ Bin(b + c, q)).

For comparison it also runs the DecoderCalibration axis (only the measurement flips scale, x30),
where stale priors are known to cost ~10-18%.

    nice -n 10 python scripts/measure_stale_priors.py [--photonic]

``--photonic`` adds PhotonicSwitch's loss axis (only p_loss drifts, x0.3..x3) at x3, decoded by
MWPM, correlated matching and BP-OSD from the same samples. Its noise model (loss on every
photon as its depolarising twirl, `qec_gym.codes.noise_model`) exists only in this project, so
that part samples the project's circuits (`qec_gym.codes.build_circuit`): it checks the decoders'
response to the priors, not the circuit.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pymatching
import stim
from scipy.stats import beta


def circuit(distance: int, p: float, p_meas: float | None = None) -> stim.Circuit:
    return stim.Circuit.generated(
        "surface_code:rotated_memory_x", distance=distance, rounds=distance,
        after_clifford_depolarization=p, before_round_data_depolarization=p,
        before_measure_flip_probability=p if p_meas is None else p_meas, after_reset_flip_probability=p,
    )


def matcher(c: stim.Circuit) -> pymatching.Matching:
    return pymatching.Matching.from_detector_error_model(c.detector_error_model(decompose_errors=True))


def paired(true_c: stim.Circuit, stale_c: stim.Circuit, shots: int, seed: int) -> tuple[int, int, int, int]:
    dets, obs = true_c.compile_detector_sampler(seed=seed).sample(shots, separate_observables=True)
    fresh = np.any(matcher(true_c).decode_batch(dets) != obs, axis=1)
    stale = np.any(matcher(stale_c).decode_batch(dets) != obs, axis=1)
    both = int(np.count_nonzero(fresh & stale))
    only_stale = int(np.count_nonzero(stale & ~fresh))
    only_fresh = int(np.count_nonzero(fresh & ~stale))
    return shots, both, only_stale, only_fresh


def report(label: str, shots: int, a: int, b: int, c: int) -> None:
    fresh, stale = a + c, a + b
    n = b + c
    lo_q = beta.ppf(0.025, b, n - b + 1) if b > 0 else 0.0
    hi_q = beta.ppf(0.975, b + 1, n - b) if b < n else 1.0
    # with the discordant count n = b + c fixed, b = q n: stale / fresh - 1 = (a + q n) / (a + (1 - q) n) - 1,
    # increasing in q, so the interval of q maps to one of the excess
    def excess(q):
        return (a + q * n) / max(a + (1 - q) * n, 1e-300) - 1

    lo, hi = excess(lo_q), excess(hi_q)
    print(f"{label:<34} shots {shots:>8}  fresh {fresh:>6}  stale {stale:>6}  only-stale {b:>5}  only-fresh {c:>5}  "
          f"stale/fresh - 1 = {stale / max(fresh, 1) - 1:+.3f} [{lo:+.3f}, {hi:+.3f}]", flush=True)


def photonic() -> None:
    from qec_gym.codes import CodeSpec, build_circuit
    from qec_gym.decoders import get_decoder
    from qec_gym.envs import PHOTONIC_AXIS

    # MWPM and correlated matching decode the decomposed DEM; BP-OSD (order 10, combination sweep)
    # the full one, near-optimal at d = 5. Which priors a decoder prefers at high loss tells whether
    # "stale priors decode better" is a fault in the priors (every decoder would show it) or the
    # sub-optimality of matching on the depolarising twirl's correlated (Y) errors.
    decoders = (("pymatching", get_decoder("pymatching")), ("pymatching-correlated", get_decoder("pymatching-correlated")),
                ("bposd osd_cs 10", get_decoder("bposd", osd_order=10)))
    print("PhotonicSwitch loss axis (project's model), rotated surface d = 5, decoder calibrated at m = 1, paired shots:")
    for d, m, shots in ((5, 3.0, 20_000),):
        for basis in ("x", "z"):
            spec = CodeSpec("rotated_surface", d, basis=basis)
            true_c, stale_c = build_circuit(spec, PHOTONIC_AXIS.noise(m)), build_circuit(spec, PHOTONIC_AXIS.noise(1.0))
            dets, obs = true_c.compile_detector_sampler(seed=d).sample(shots, separate_observables=True)
            for name, decoder in decoders:
                fails = []
                for c in (true_c, stale_c):
                    dem = c.detector_error_model(decompose_errors=decoder.needs_graphlike)
                    fails.append(np.any(decoder.compile(dem).decode_batch(dets) != obs, axis=1))
                fresh, stale = fails
                report(f"d={d} m={m:g} basis {basis} {name}", shots, int(np.count_nonzero(fresh & stale)),
                       int(np.count_nonzero(stale & ~fresh)), int(np.count_nonzero(fresh & ~stale)))


def main() -> int:
    p0 = 1e-3
    start = time.perf_counter()
    print("uniform axis (every channel p = m * 1e-3), decoder calibrated at m = 1:")
    for d, m, shots in ((3, 0.5, 400_000), (3, 3.0, 100_000), (3, 10.0, 20_000),
                        (5, 3.0, 200_000), (5, 6.0, 50_000), (5, 10.0, 20_000)):
        report(f"d={d} m={m:g}", *paired(circuit(d, m * p0), circuit(d, p0), shots, seed=int(100 * m) + d))
    print("measurement-flip axis (DecoderCalibration: p_meas = m * 1e-3), decoder calibrated at m = 1:")
    for d, m, shots in ((5, 10.0, 100_000), (5, 30.0, 30_000)):
        report(f"d={d} p_meas x{m:g}", *paired(circuit(d, p0, m * p0), circuit(d, p0), shots, seed=int(m) + 7))
    if "--photonic" in sys.argv[1:]:
        photonic()
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
