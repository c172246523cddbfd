"""Decoders the field uses, each from its own package (optional; imported lazily with a hint).

| name | algorithm | DEM | package |
|---|---|---|---|
| ``beliefmatching`` | BP posteriors reweight a matching graph (Higgott et al. 2022, arXiv:2203.04948) | decomposed | beliefmatching |
| ``chromobius`` | mobius decoding of colour codes (Gidney & Jones 2023, arXiv:2312.08813) | colour/basis-annotated | chromobius |
| ``tesseract`` | A* search for the most likely error (Beni et al. 2025, arXiv:2503.10988) | any | tesseract-decoder |
| ``fusion-blossom`` | parallel MWPM by fusion (Wu & Zhong 2023, arXiv:2305.08307), serial solver | decomposed | fusion-blossom |

Validated against PyMatching on identical shots in ``tests/decoders/test_external.py``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np
import stim

from qec_gym.decoders.base import CompiledDecoder, Decoder
from qec_gym.decoders.ldpc_decoders import _CompiledLdpc, matching_graph_matrices

_PACKAGES = {
    "beliefmatching": "beliefmatching",
    "chromobius": "chromobius",
    "tesseract_decoder": "tesseract-decoder",
    "fusion_blossom": "fusion-blossom",
}


def _require(module: str):
    """Import ``module`` or fail with the pip command that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        extra = "beliefmatching" if module == "beliefmatching" else "decoders"
        raise ImportError(
            f"this decoder needs the {_PACKAGES[module]!r} package: pip install {_PACKAGES[module]} "
            f"(or pip install 'qec-gym[{extra}]')."
        ) from e


class _CompiledBatch(CompiledDecoder):
    """A package decoder with a batch call ``predict(dets bool (shots, D)) -> (pred, effort)``."""

    def __init__(self, predict, dem: stim.DetectorErrorModel) -> None:
        self.predict = predict
        self.num_detectors = dem.num_detectors
        self.num_observables = dem.num_observables

    def decode_batch_with_effort(self, detection_events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dets = self._check_shape(detection_events)
        if len(dets) == 0:
            return np.zeros((0, self.num_observables), dtype=bool), np.zeros(0)
        pred, effort = self.predict(dets)
        return np.asarray(pred, dtype=bool).reshape(len(dets), self.num_observables), effort


@dataclass(frozen=True)
class BeliefMatchingDecoder(Decoder):
    """Belief-matching: BP on the hypergraph, posteriors as matching weights (``beliefmatching``).

    Reference threshold (circuit-level depolarising, surface code): 0.94% against 0.82% for
    MWPM (Higgott et al. 2022). Effort is not reported (zeros). The package pins numpy <= 2.2.6,
    hence its own extra ``beliefmatching``.

    Example:
        >>> BeliefMatchingDecoder().name
        'beliefmatching'
    """

    max_bp_iters: int = 20
    name = "beliefmatching"
    package = "beliefmatching"
    needs_graphlike = True

    def __post_init__(self) -> None:
        if isinstance(self.max_bp_iters, bool) or not isinstance(self.max_bp_iters, int) or self.max_bp_iters < 1:
            raise ValueError(f"beliefmatching: max_bp_iters must be an int >= 1, got {self.max_bp_iters!r}.")

    def _compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        bm = _require("beliefmatching")
        try:
            decoder = bm.BeliefMatching(dem, max_bp_iters=self.max_bp_iters)
        except ValueError as e:
            raise ValueError(f"beliefmatching needs a decomposed (graphlike) DEM ({e}); use 'bposd' or 'bplsd'.") from None
        return _CompiledBatch(lambda dets: (decoder.decode_batch(dets), np.zeros(len(dets))), dem)


@dataclass(frozen=True)
class ChromobiusDecoder(Decoder):
    """Chromobius, the colour code's mobius decoder; effort is its solution weight.

    Chromobius needs every detector annotated with a 4th coordinate giving its basis and colour
    (0-2: red/green/blue X, 3-5: red/green/blue Z; Chromobius's convention), i.e. a CSS colour
    code circuit built for it. qec-gym's ``color`` family is stim's ``color_code:memory_xyz``
    (no annotations, not CSS), which it therefore refuses with that reason.

    Example:
        >>> ChromobiusDecoder().name
        'chromobius'
    """

    name = "chromobius"
    package = "chromobius"

    def _compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        chromobius = _require("chromobius")
        coords = dem.get_detector_coordinates()
        if any(len(c) < 4 for c in coords.values()) or len(coords) < dem.num_detectors:
            raise ValueError(
                "chromobius needs a CSS colour code whose detectors carry a 4th coordinate "
                "(basis and colour: 0-2 red/green/blue X, 3-5 Z); this circuit has none (qec-gym's "
                "'color' family is stim's memory_xyz). Use 'bposd' or 'bplsd' for it."
            )
        try:
            decoder = chromobius.compile_decoder_for_dem(dem)
        except ValueError as e:
            raise ValueError(f"chromobius cannot decode this DEM: {e}") from None
        width = (dem.num_detectors + 7) // 8

        def predict(dets):
            packed = np.packbits(dets, axis=1, bitorder="little")
            obs, weights = decoder.predict_weighted_obs_flips_from_dets_bit_packed(packed.reshape(-1, width))
            pred = np.unpackbits(obs, axis=1, count=dem.num_observables, bitorder="little")
            return pred, np.asarray(weights, dtype=np.float64)

        return _CompiledBatch(predict, dem)


@dataclass(frozen=True)
class TesseractDecoder(Decoder):
    """Tesseract: A* search for the most likely error, with a beam (``tesseract-decoder``).

    ``det_beam`` bounds the detection events a search state may hold (smaller: faster, less
    accurate; the package's default is unbounded). Effort is not reported (zeros).

    Example:
        >>> TesseractDecoder().name
        'tesseract'
    """

    det_beam: int = 15
    name = "tesseract"
    package = "tesseract_decoder"

    def __post_init__(self) -> None:
        if isinstance(self.det_beam, bool) or not isinstance(self.det_beam, int) or self.det_beam < 1:
            raise ValueError(f"tesseract: det_beam must be an int >= 1, got {self.det_beam!r}.")

    def _compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        tesseract = _require("tesseract_decoder").tesseract
        decoder = tesseract.TesseractConfig(dem=dem, det_beam=self.det_beam).compile_decoder()
        return _CompiledBatch(lambda dets: (decoder.decode_batch(dets), np.zeros(len(dets))), dem)


_WEIGHT_RESOLUTION = 1000
"""fusion-blossom takes even integer weights: LLRs are rounded to 1/1000 (then doubled)."""


@dataclass(frozen=True)
class FusionBlossomDecoder(Decoder):
    """Exact MWPM with fusion-blossom's serial solver on the DEM's matching graph.

    Boundary edges end on one shared virtual vertex. Effort is the correction's edge count.

    Example:
        >>> FusionBlossomDecoder().name
        'fusion-blossom'
    """

    name = "fusion-blossom"
    package = "fusion_blossom"
    needs_graphlike = True

    def _compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        fb = _require("fusion_blossom")
        incidence, obs, weights = matching_graph_matrices(dem, "fusion-blossom")
        boundary = dem.num_detectors
        edges = []
        for col in range(incidence.shape[1]):
            nodes = incidence.indices[incidence.indptr[col]:incidence.indptr[col + 1]].tolist()
            u, v = (nodes + [boundary])[:2]
            edges.append((u, v, 2 * int(round(weights[col] * _WEIGHT_RESOLUTION / 2))))
        solver = fb.SolverSerial(fb.SolverInitializer(dem.num_detectors + 1, edges, [boundary]))
        return _CompiledLdpc(_FusionSolve(fb, solver, len(edges)), obs, dem, "weight")


class _FusionSolve:
    """One syndrome -> edge correction vector, the ``decode`` `_CompiledLdpc` calls."""

    def __init__(self, fb, solver, num_edges: int) -> None:
        self.fb, self.solver, self.num_edges = fb, solver, num_edges

    def decode(self, syndrome: np.ndarray) -> np.ndarray:
        self.solver.solve(self.fb.SyndromePattern(np.flatnonzero(syndrome).tolist()))
        correction = np.zeros(self.num_edges, dtype=np.uint8)
        correction[self.solver.subgraph()] = 1
        self.solver.clear()
        return correction
