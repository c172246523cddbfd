"""The end-to-end demo behind the README's first command (``qec-gym demo``).

Until the environments, agents and evaluation harness land, the demo runs the simulation core:
logical error rates of the rotated surface and XZZX codes under uniform and Z-biased circuit
noise, with 99% confidence intervals, written to ``<out>/simulation.csv``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qec_gym.codes import CodeSpec
from qec_gym.noise import NoiseParams
from qec_gym.sim import SimulationCache, simulate_window


def run_demo(out_dir: str | Path, *, shots: int = 20_000, seed: int = 0, log: Callable[[str], None] = lambda s: None) -> Path:
    """Run the demo and return the path of its CSV.

    Example:
        >>> import tempfile
        >>> p = run_demo(tempfile.mkdtemp(), shots=200)
        >>> p.name
        'simulation.csv'
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cache = SimulationCache()
    path = out / "simulation.csv"
    fields = ["code", "distance", "noise", "p", "shots", "errors", "per_round", "ci99_low", "ci99_high"]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for noise_name, make in (("uniform", NoiseParams.uniform), ("bias100", lambda p: NoiseParams.biased(p, 100))):
            for family in ("rotated_surface", "xzzx"):
                for d in (3, 5):
                    for p in (2e-3, 5e-3):
                        w = simulate_window(CodeSpec(family, d), make(p), shots=shots, rng=rng, cache=cache)
                        lo, hi = w.ci_per_round(0.99)
                        row = dict(code=family, distance=d, noise=noise_name, p=p, shots=w.shots, errors=w.errors,
                                   per_round=w.logical_error_per_round, ci99_low=lo, ci99_high=hi)
                        writer.writerow(row)
                        log(f"{family:<16} d={d} {noise_name:<8} p={p:.1e}  p_L/round={w.logical_error_per_round:.2e} [{lo:.1e}, {hi:.1e}]")
    return path
