"""Simulation: compile-once cache, window simulation, binomial statistics, sweeps and thresholds."""

from qec_gym.sim.cache import CacheInfo, DetectorLayout, SimulationCache
from qec_gym.sim.stats import binomial_ci, per_round
from qec_gym.sim.window import WindowStats, simulate_window

__all__ = [
    "CacheInfo",
    "DetectorLayout",
    "SimulationCache",
    "WindowStats",
    "binomial_ci",
    "per_round",
    "simulate_window",
]
