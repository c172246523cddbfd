"""Noise: parameters, hardware-to-rate conversions, drift processes and named scenarios."""

from qec_gym.noise.params import NoiseParams

__all__ = ["NoiseParams"]
