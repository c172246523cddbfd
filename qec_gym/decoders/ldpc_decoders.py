"""Decoders from the ``ldpc`` package: BP+OSD, BP+LSD and union-find.

ldpc decodes one syndrome at a time; identical syndromes are decoded once (at low noise most
shots repeat a few syndromes, the all-zero one above all), which keeps batches fast.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import stim

from qec_gym.decoders.base import CompiledDecoder, Decoder


def _ldpc():
    try:
        import ldpc
        from ldpc.ckt_noise.dem_matrices import detector_error_model_to_check_matrices
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "the 'bposd', 'bplsd' and 'uf' decoders need the ldpc package: "
            "pip install 'qec-gym[decoders]'"
        ) from e
    return ldpc, detector_error_model_to_check_matrices


class _CompiledLdpc(CompiledDecoder):
    def __init__(self, decoder, observables_matrix, dem: stim.DetectorErrorModel, effort: str):
        self.decoder = decoder
        self.obs_matrix = observables_matrix.tocsr()
        self.effort = effort
        self.num_detectors = dem.num_detectors
        self.num_observables = dem.num_observables

    def decode_batch_with_effort(self, detection_events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dets = self._check_shape(detection_events)
        shots = dets.shape[0]
        pred = np.zeros((shots, self.num_observables), dtype=bool)
        effort = np.zeros(shots, dtype=np.float64)
        if shots == 0:
            return pred, effort
        packed = np.packbits(dets, axis=1)
        unique, inverse = np.unique(packed, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        u_pred = np.zeros((len(unique), self.num_observables), dtype=bool)
        u_effort = np.zeros(len(unique), dtype=np.float64)
        for i, row in enumerate(unique):
            syndrome = np.unpackbits(row, count=self.num_detectors).astype(np.uint8)
            if not syndrome.any():
                continue
            correction = self.decoder.decode(syndrome)
            u_pred[i] = (self.obs_matrix @ correction) % 2
            u_effort[i] = self.decoder.iter if self.effort == "iterations" else correction.sum()
        return u_pred[inverse], u_effort[inverse]


def _compile_bp(decoder_class: str, dem: stim.DetectorErrorModel, **options) -> CompiledDecoder:
    """Build ldpc's ``decoder_class`` (a BP + post-processing decoder) for ``dem``'s check matrix."""
    ldpc, to_matrices = _ldpc()
    m = to_matrices(dem, allow_undecomposed_hyperedges=True)
    dec = getattr(ldpc, decoder_class)(m.check_matrix, error_channel=list(m.priors), **options)
    return _CompiledLdpc(dec, m.observables_matrix, dem, "iterations")


@dataclass(frozen=True)
class BpOsdDecoder(Decoder):
    """Belief propagation + ordered-statistics decoding (Roffe et al.), via ``ldpc.BpOsdDecoder``.

    Example:
        >>> BpOsdDecoder().name
        'bposd'
    """

    max_iter: int = 30
    osd_order: int = 4
    osd_method: str = "osd_cs"
    bp_method: str = "minimum_sum"
    ms_scaling_factor: float = 0.625
    name = "bposd"

    def compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        return _compile_bp("BpOsdDecoder", dem, **dataclasses.asdict(self))


@dataclass(frozen=True)
class BpLsdDecoder(Decoder):
    """Belief propagation + localised statistics decoding (Hillmann et al. 2024), ``ldpc.BpLsdDecoder``.

    Example:
        >>> BpLsdDecoder().name
        'bplsd'
    """

    max_iter: int = 30
    lsd_order: int = 4
    lsd_method: str = "lsd_cs"
    bp_method: str = "minimum_sum"
    ms_scaling_factor: float = 0.625
    name = "bplsd"

    def compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        return _compile_bp("BpLsdDecoder", dem, **dataclasses.asdict(self))


@dataclass(frozen=True)
class UnionFindDecoder(Decoder):
    """Weighted union-find (Delfosse & Nickerson), ``ldpc.UnionFindDecoder`` in peeling mode.

    Peeling needs a graph: the decomposed DEM's matching graph (built by PyMatching, which merges
    parallel edges) becomes the check matrix, with edge weights log((1-p)/p) as LLRs.

    Example:
        >>> UnionFindDecoder().name
        'uf'
    """

    name = "uf"
    needs_graphlike = True

    def compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        import pymatching
        from scipy.sparse import csc_matrix

        ldpc, _ = _ldpc()
        try:
            graph = pymatching.Matching.from_detector_error_model(dem)
        except ValueError as e:
            raise ValueError(
                f"uf (peeling union-find) needs a graphlike DEM ({e}); use 'bposd' or 'bplsd'."
            ) from None
        rows, cols, obs_rows, obs_cols, llrs = [], [], [], [], []
        for col, (u, v, data) in enumerate(graph.edges()):
            for node in (u, v):
                if node is not None:
                    rows.append(node)
                    cols.append(col)
            for obs in data["fault_ids"]:
                obs_rows.append(obs)
                obs_cols.append(col)
            llrs.append(data["weight"])
        n = len(llrs)
        pcm = csc_matrix((np.ones(len(rows), dtype=np.uint8), (rows, cols)), shape=(dem.num_detectors, n))
        obs = csc_matrix(
            (np.ones(len(obs_rows), dtype=np.uint8), (obs_rows, obs_cols)), shape=(dem.num_observables, n)
        )
        dec = ldpc.UnionFindDecoder(pcm, uf_method="peeling")
        return _CompiledLdpc(_WeightedUf(dec, np.asarray(llrs, dtype=np.float64)), obs, dem, "weight")


class _WeightedUf:
    """Adapts ldpc's UF to the one-argument ``decode`` that `_CompiledLdpc` calls."""

    def __init__(self, decoder, llrs):
        self.decoder, self.llrs = decoder, llrs

    def decode(self, syndrome):
        return self.decoder.decode(syndrome, llrs=self.llrs)
