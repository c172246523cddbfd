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
    into edges, i.e. the DEM is made with ``decompose_errors=True``) and implement ``_compile``,
    which only ever sees error probabilities in (0, 1/2] (see `flip_likely_errors`).
    """

    name: ClassVar[str]
    needs_graphlike: ClassVar[bool] = False
    package: ClassVar[str] = "pymatching"
    """The importable module the decoder runs on (see `installed`)."""

    @classmethod
    def installed(cls) -> bool:
        """Whether `package` can be imported here (optional decoders live in extras)."""
        import importlib.util

        return importlib.util.find_spec(cls.package) is not None

    def compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        """Build the decoder for ``dem``.

        Errors more likely than not (p > 1/2, e.g. a readout flipping 95% of the time) are
        handled exactly for every decoder: `flip_likely_errors` rewrites them and the compiled
        decoder XORs the fixed offsets into the detection events and the predictions.

        Raises:
            ValueError: if this decoder cannot decode ``dem`` (the message names an alternative).
        """
        flipped, det_offset, obs_offset = flip_likely_errors(dem)
        compiled = self._compile(flipped)
        if det_offset.any() or obs_offset.any():
            return _Offset(compiled, det_offset, obs_offset)
        return compiled

    @abc.abstractmethod
    def _compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        """Build the decoder for ``dem``, whose error probabilities all lie in (0, 1/2]."""


def flip_likely_errors(dem: stim.DetectorErrorModel) -> tuple[stim.DetectorErrorModel, np.ndarray, np.ndarray]:
    """``dem`` with every error of probability p > 1/2 replaced by one of probability 1 - p.

    An error e ~ Bernoulli(p) equals 1 XOR e' with e' ~ Bernoulli(1 - p): the mechanism always
    fires once, deterministically, and then fires again with probability 1 - p. The deterministic
    part flips fixed detectors and observables, returned as offsets to XOR into every shot's
    detection events (before decoding) and into its predictions (after). PyMatching does the same
    internally for negative edge weights (Higgott & Gidney, arXiv:2303.15933, section on negative
    weights); doing it here makes every decoder (BP, union-find, correlated matching) correct.
    Errors with p = 0 (or p = 1, which becomes 0) never fire again and are dropped. A decomposed
    error (``D0 D1 ^ D2``) keeps its decomposition; its offset is the XOR of its parts.

    Returns:
        (dem without p > 1/2, detector offset bool (num_detectors,), observable offset bool
        (num_observables,)). ``dem`` itself (flattened) when nothing needs flipping.

    Example:
        >>> dem = stim.DetectorErrorModel("error(0.9) D0 L0\\nerror(0.1) D0 D1")
        >>> out, det_off, obs_off = flip_likely_errors(dem)
        >>> [round(inst.args_copy()[0], 6) for inst in out]
        [0.1, 0.1]
        >>> det_off.tolist(), obs_off.tolist()
        ([True, False], [True])
    """
    det_offset = np.zeros(dem.num_detectors, dtype=bool)
    obs_offset = np.zeros(dem.num_observables, dtype=bool)
    flat = dem.flattened()
    if not any(inst.type == "error" and not 0 < inst.args_copy()[0] <= 0.5 for inst in flat):
        return flat, det_offset, obs_offset
    out = stim.DetectorErrorModel()
    for inst in flat:
        if inst.type != "error":
            out.append(inst)
            continue
        p = inst.args_copy()[0]
        if p > 0.5:
            for t in inst.targets_copy():
                if t.is_relative_detector_id():
                    det_offset[t.val] ^= True
                elif t.is_logical_observable_id():
                    obs_offset[t.val] ^= True
            p = 1.0 - p
        if p > 0:
            out.append(stim.DemInstruction("error", [p], inst.targets_copy()))
    # keep the detector and observable counts even if dropped errors were their only users
    if out.num_detectors < dem.num_detectors:
        out.append(stim.DemInstruction("detector", [], [stim.target_relative_detector_id(dem.num_detectors - 1)]))
    if out.num_observables < dem.num_observables:
        out.append(stim.DemInstruction("logical_observable", [], [stim.target_logical_observable_id(dem.num_observables - 1)]))
    return out, det_offset, obs_offset


class _Offset(CompiledDecoder):
    """A compiled decoder behind fixed detector / observable offsets (see `flip_likely_errors`)."""

    def __init__(self, inner: CompiledDecoder, det_offset: np.ndarray, obs_offset: np.ndarray) -> None:
        self.inner = inner
        self.num_detectors = inner.num_detectors
        self.num_observables = inner.num_observables
        self.det_offset, self.obs_offset = det_offset, obs_offset
        self.det_offset_packed = np.packbits(det_offset, bitorder="little")
        self.obs_offset_packed = np.packbits(obs_offset, bitorder="little")

    def decode_batch_with_effort(self, detection_events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dets = self._check_shape(detection_events)
        pred, effort = self.inner.decode_batch_with_effort(dets ^ self.det_offset)
        return pred ^ self.obs_offset, effort

    def decode_packed_with_effort(self, packed: np.ndarray, detection_events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dets = self._check_shape(detection_events)
        pred, effort = self.inner.decode_packed_with_effort(
            np.asarray(packed, dtype=np.uint8) ^ self.det_offset_packed, dets ^ self.det_offset
        )
        return pred ^ self.obs_offset_packed, effort
