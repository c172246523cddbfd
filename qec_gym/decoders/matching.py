"""Minimum-weight perfect matching (PyMatching v2), plain and correlated."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymatching
import stim

from qec_gym.decoders.base import CompiledDecoder, Decoder


class _CompiledMatching(CompiledDecoder):
    def __init__(self, matching: pymatching.Matching, dem: stim.DetectorErrorModel, correlated: bool):
        self.matching = matching
        self.correlated = correlated
        self.num_detectors = dem.num_detectors
        self.num_observables = dem.num_observables

    def decode_batch_with_effort(self, detection_events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dets = self._check_shape(detection_events)
        kwargs = {"enable_correlations": True} if self.correlated else {}
        pred, weights = self.matching.decode_batch(dets, return_weights=True, **kwargs)
        return pred.astype(bool, copy=False), np.asarray(weights, dtype=np.float64)

    def decode_packed_with_effort(self, packed: np.ndarray, detection_events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if packed.ndim != 2 or packed.shape[1] != (self.num_detectors + 7) // 8:
            raise ValueError(f"packed detection events must have shape (shots, {(self.num_detectors + 7) // 8}).")
        kwargs = {"enable_correlations": True} if self.correlated else {}
        pred, weights = self.matching.decode_batch(
            packed, bit_packed_shots=True, bit_packed_predictions=True, return_weights=True, **kwargs
        )
        return pred, np.asarray(weights, dtype=np.float64)


@dataclass(frozen=True)
class PyMatchingDecoder(Decoder):
    """MWPM with PyMatching; ``correlated=True`` uses PyMatching's correlated matching.

    Example:
        >>> PyMatchingDecoder().name, PyMatchingDecoder(correlated=True).name
        ('pymatching', 'pymatching-correlated')
    """

    correlated: bool = False
    needs_graphlike = True

    @property
    def name(self) -> str:  # type: ignore[override]
        return "pymatching-correlated" if self.correlated else "pymatching"

    def _compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        try:
            if self.correlated:
                m = pymatching.Matching.from_detector_error_model(dem, enable_correlations=True)
            else:
                m = pymatching.Matching.from_detector_error_model(dem)
        except ValueError as e:
            raise ValueError(
                f"{self.name} cannot decode this detector error model ({e}). Matching needs errors "
                "that flip at most two detectors (a graphlike, decomposed DEM); for codes such as "
                "the colour code use a decoder for hypergraphs: 'bposd' or 'bplsd'."
            ) from None
        return _CompiledMatching(m, dem, self.correlated)
