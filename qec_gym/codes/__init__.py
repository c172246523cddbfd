"""Codes: `CodeSpec`, noisy stim circuits for each family, and resource counts.

Example:
    >>> from qec_gym.codes import CodeSpec, build_circuit
    >>> from qec_gym.noise import NoiseParams
    >>> c = build_circuit(CodeSpec("rotated_surface", 3), NoiseParams.uniform(1e-3))
    >>> c.num_detectors, c.num_observables
    (24, 1)
"""

from __future__ import annotations

import stim

from qec_gym.codes.cat_repetition import CAT_FAMILY, cat_repetition_circuit
from qec_gym.codes.noise_model import add_noise
from qec_gym.codes.resources import GateTimes, Resources, resources
from qec_gym.codes.spec import FAMILIES, CodeSpec
from qec_gym.codes.templates import template_circuit
from qec_gym.noise.params import NoiseParams


def build_circuit(spec: CodeSpec, noise: NoiseParams) -> stim.Circuit:
    """The noisy memory-experiment circuit of ``spec`` under ``noise``.

    Args:
        spec: Which code, distance, rounds and basis.
        noise: Error probabilities (see `qec_gym.codes.noise_model` for where each goes).

    Raises:
        TypeError: if the arguments are not a CodeSpec and a NoiseParams.
    """
    if not isinstance(spec, CodeSpec):
        raise TypeError(f"spec must be a CodeSpec, e.g. CodeSpec('rotated_surface', 5); got {spec!r}.")
    if not isinstance(noise, NoiseParams):
        raise TypeError(f"noise must be a NoiseParams, e.g. NoiseParams.uniform(1e-3); got {noise!r}.")
    if spec.family == CAT_FAMILY:  # its readout convention: qec_gym.codes.cat_repetition
        return cat_repetition_circuit(spec, noise)
    return add_noise(template_circuit(spec), noise)


__all__ = [
    "FAMILIES",
    "CodeSpec",
    "GateTimes",
    "Resources",
    "build_circuit",
    "resources",
    "template_circuit",
]
