"""Acceptance: the table backend's logical error agrees with the circuit backend (slow).

The table is itself a sampled estimate: each grid point holds ``TableConfig.total_shots``
(20 windows x 1,000 shots = 20,000) shots, so its log error rate has a standard error of about
``1/sqrt(errors)`` there, and an off-grid value interpolates two such points. The comparison is
therefore a two-sample z-test on log rates whose variance carries both the circuit's sampling
error and the table's (delta method: var(log p_hat) ~ 1/errors), at 99%: agreement means "within
the precision of both", not "the table is exact". Grid points of the v1 tables were simulated at
noise quantised on a 64-per-decade log grid (<= 1.8% from the grid label; `qec_gym.sim.window`), a
bias this test would show as a shift beyond that precision. Fitted tables (v2) give their own
interval, used as the table's precision.
"""

import math

import gymnasium as gym
import numpy as np
import pytest
from scipy.stats import norm

import qec_gym  # noqa: F401
from qec_gym.sim import SimulationCache, simulate_window

CASES = {
    "qec_gym/SurfaceSwitch-v1": (4, 100_000),   # entry index, circuit shots
    "qec_gym/PhotonicSwitch-v1": (4, 100_000),
    "qec_gym/DecoderCalibration-v1": (0, 200_000),
    "qec_gym/DecoderCalibration-v2": (0, 200_000),
}


def table_log_variance(table, entry: int, m: float) -> float:
    """Variance of the table's interpolated log p_shot at ``m`` from its own sampling (calibrated decoders)."""
    i, w = table._weights(m)
    diag = table.errors.shape[2] > 1  # 2-D tables: calibrated decoders lie on the diagonal
    if table.config.fitted:  # the fit's 95% interval as a normal one on log p: sd = half-width / 1.96
        lo, hi = table.p_shot_interval(entry, m)
        return (math.log(hi / lo) / (2 * 1.96)) ** 2
    e0 = table.errors[entry, i, i if diag else 0] + 0.5
    e1 = table.errors[entry, i + 1, i + 1 if diag else 0] + 0.5
    return (1 - w) ** 2 / e0 + w ** 2 / e1


@pytest.mark.slow
@pytest.mark.parametrize("env_id", sorted(CASES))
def test_table_agrees_with_circuit_within_both_precisions_at_three_off_grid_points(env_id):
    env = gym.make(env_id).unwrapped
    entry_index, shots = CASES[env_id]
    entry = env.menu[entry_index]
    grid = env.table.grid
    cache = SimulationCache()
    rng = np.random.default_rng(99)
    z_crit = norm.ppf(0.995)  # two-sided 99%
    # geometric midpoints of interior grid cells: where interpolation error is largest
    cells = np.linspace(len(grid) // 4, 3 * len(grid) // 4, 3).astype(int)
    for i in cells:
        m = float(np.sqrt(grid[i] * grid[i + 1]))
        errors = sum(
            simulate_window(spec, env.axis.noise(m), decoder=entry.decoder, shots=shots, rng=rng, cache=cache).errors
            for spec in entry.specs()
        )
        p_table = env.table.expected(entry_index, m).p_shot
        log_circuit = math.log((errors + 0.5) / (shots + 1.0))
        z = (log_circuit - math.log(p_table)) / math.sqrt(1 / (errors + 0.5) + table_log_variance(env.table, entry_index, m))
        assert abs(z) < z_crit, (env_id, m, errors / shots, p_table, z)
