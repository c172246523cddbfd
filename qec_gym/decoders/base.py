"""The decoder protocol: ``Decoder.compile(dem) -> CompiledDecoder.decode_batch(dets)``.

Mirrors sinter's `Decoder` / `CompiledDecoder` split: compiling (building the matching graph,
the check matrix and its priors) is done once per detector error model; decoding is a hot loop.

Example:
    >>> import numpy as np, stim
    >>> from qec_gym.decoders import get_decoder
    >>> c = stim.Circuit.generated("repetition_code:memory", distance=3, rounds=2,
    ...                            before_round_data_depolarization=0.01)
    >>> dec = get_decoder("pymatching").compile(c.detector_error_model(decompose_errors=True))
    >>> dec.decode_batch(np.zeros((4, c.num_detectors), dtype=bool)).shape
    (4, 1)
"""

from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np
import stim


class CompiledDecoder(abc.ABC):
    """A decoder configured for one detector error model."""

    num_detectors: int
    num_observables: int

    def decode_batch(self, detection_events: np.ndarray) -> np.ndarray:
        """Predict observable flips.

        Args:
            detection_events: bool array of shape (shots, num_detectors), one row per shot.

        Returns:
            bool array of shape (shots, num_observables).
        """
        return self.decode_batch_with_effort(detection_events)[0]

    @abc.abstractmethod
    def decode_batch_with_effort(self, detection_events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictions and a per-shot effort figure (float64, shape (shots,)).

        Effort is what the decoder can report cheaply: the solution weight for matching, the
        number of BP iterations for BP-based decoders, the correction's Hamming weight for
        union-find. It is an observable a control system has, so it feeds the environments.
        """

    def decode_packed_with_effort(self, packed: np.ndarray, detection_events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As `decode_batch_with_effort`, given the events both bit-packed and unpacked.

        Args:
            packed: uint8 (shots, ceil(num_detectors / 8)), little-endian bit order (stim's).
            detection_events: the same events unpacked, bool (shots, num_detectors).

        Returns:
            Predictions bit-packed like ``packed`` (uint8 (shots, ceil(num_observables / 8))),
            and the per-shot effort. Decoders with a packed path (PyMatching) override this.
        """
        pred, effort = self.decode_batch_with_effort(detection_events)
        return np.packbits(pred, axis=1, bitorder="little"), effort

    def _check_shape(self, dets: np.ndarray) -> np.ndarray:
        dets = np.asarray(dets)
        if dets.ndim != 2 or dets.shape[1] != self.num_detectors:
            raise ValueError(
                f"detection events must have shape (shots, {self.num_detectors}), got {dets.shape}; "
                "was the decoder compiled for another circuit?"
            )
        return dets.astype(bool, copy=False)


class Decoder(abc.ABC):
    """A decoding algorithm with its options (compile it for a detector error model).

    Subclasses set ``name`` and ``needs_graphlike`` (True when every error must be decomposed
    into edges, i.e. the DEM is made with ``decompose_errors=True``).
    """

    name: ClassVar[str]
    needs_graphlike: ClassVar[bool] = False

    @abc.abstractmethod
    def compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        """Build the decoder for ``dem``.

        Raises:
            ValueError: if this decoder cannot decode ``dem`` (the message names an alternative).
        """
