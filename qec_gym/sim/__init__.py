"""Simulation: compile-once cache, window simulation, binomial statistics, sweeps and thresholds."""

from qec_gym.sim.cache import CacheInfo, DetectorLayout, SimulationCache
from qec_gym.sim.stats import binomial_ci, difference_ci, per_round
from qec_gym.sim.window import WindowStats, simulate_window
from qec_gym.sim.sweep import SweepConfig, SweepRow, load_results, make_tasks, run_sweep
from qec_gym.sim.threshold import ThresholdEstimate, estimate_threshold, suppression_factors

__all__ = [
    "CacheInfo",
    "DetectorLayout",
    "SimulationCache",
    "SweepConfig",
    "SweepRow",
    "ThresholdEstimate",
    "WindowStats",
    "binomial_ci",
    "difference_ci",
    "estimate_threshold",
    "load_results",
    "make_tasks",
    "per_round",
    "run_sweep",
    "simulate_window",
    "suppression_factors",
]
