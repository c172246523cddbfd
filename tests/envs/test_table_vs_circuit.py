"""Acceptance: the table backend's logical error agrees with the circuit backend (slow)."""

import gymnasium as gym
import numpy as np
import pytest

import qec_gym  # noqa: F401
from qec_gym.sim import SimulationCache, simulate_window
from qec_gym.sim.stats import binomial_ci

CASES = {
    "qec_gym/SurfaceSwitch-v1": (4, 10_000),   # entry index, circuit shots
    "qec_gym/PhotonicSwitch-v1": (4, 10_000),
    "qec_gym/DecoderCalibration-v1": (0, 20_000),
}


@pytest.mark.slow
@pytest.mark.parametrize("env_id", sorted(CASES))
def test_table_within_circuit_ci_at_three_off_grid_points(env_id):
    env = gym.make(env_id).unwrapped
    entry_index, shots = CASES[env_id]
    entry = env.menu[entry_index]
    grid = env.table.grid
    cache = SimulationCache()
    rng = np.random.default_rng(99)
    # geometric midpoints of interior grid cells: where interpolation error is largest
    cells = np.linspace(len(grid) // 4, 3 * len(grid) // 4, 3).astype(int)
    for i in cells:
        m = float(np.sqrt(grid[i] * grid[i + 1]))
        errors = sum(
            simulate_window(spec, env.axis.noise(m), decoder=entry.decoder, shots=shots, rng=rng, cache=cache).errors
            for spec in entry.specs()
        )
        lo, hi = binomial_ci(errors, shots, confidence=0.99)
        p_table = env.table.expected(entry_index, m).p_shot
        assert lo <= p_table <= hi, (env_id, m, errors / shots, p_table, (lo, hi))
