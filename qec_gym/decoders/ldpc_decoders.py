"""Decoders from the ``ldpc`` package: BP+OSD, BP+LSD and union-find.

ldpc decodes one syndrome at a time; identical syndromes are decoded once (at low noise most
shots repeat a few syndromes, the all-zero one above all), which keeps batches fast.

ldpc 2.4 segfaults (kills the interpreter) for some options it accepts, e.g. ``osd_cs`` with
``osd_order >= 2`` on a check matrix of full column rank. Every option is therefore validated
when the decoder is made, and the search orders are clamped to the check matrix's free dimension
(columns minus GF(2) rank) when it is compiled: a higher order enumerates nothing more.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import stim
from scipy.sparse import csc_matrix

from qec_gym.decoders.base import CompiledDecoder, Decoder

_BP_METHODS = ("minimum_sum", "product_sum")
_OSD_METHODS = ("osd0", "osd_e", "osd_cs")
_LSD_METHODS = ("lsd0", "lsd_e", "lsd_cs")
_MAX_EXHAUSTIVE_ORDER = 16
"""``osd_e`` / ``lsd_e`` try 2**order candidates per syndrome: beyond this they never finish."""


def _ldpc():
    try:
        import ldpc
        import ldpc.mod2
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "the 'bposd', 'bplsd' and 'uf' decoders need the ldpc package: "
            "pip install 'qec-gym[decoders]'"
        ) from e
    return ldpc


def check_matrices(dem: stim.DetectorErrorModel) -> tuple[csc_matrix, csc_matrix, np.ndarray]:
    """Check matrix, observable matrix and priors of ``dem``, one column per distinct error.

    Errors with the same detectors *and* observables are merged (independent mechanisms with
    one symptom: p = p1 (1 - p2) + p2 (1 - p1)); errors with the same detectors but different
    observables stay apart (ldpc's own ``detector_error_model_to_check_matrices`` merges those
    and keeps one observable set, which mis-decodes small codes). Decomposition separators
    (``^``) are ignored: each error flips the XOR of its parts.

    Returns:
        ``H`` uint8 (num_detectors, n), ``L`` uint8 (num_observables, n), priors float64 (n,).

    Example:
        >>> H, L, priors = check_matrices(stim.DetectorErrorModel(
        ...     "error(0.1) D0\\nerror(0.1) D0 L0\\nerror(0.2) D0 L0"))
        >>> H.toarray().tolist(), L.toarray().tolist(), priors.round(2).tolist()
        ([[1, 1]], [[0, 1]], [0.1, 0.26])
    """
    columns: dict[tuple[frozenset, frozenset], int] = {}
    priors: list[float] = []
    for inst in dem.flattened():
        if inst.type != "error":
            continue
        dets: set[int] = set()
        obs: set[int] = set()
        for t in inst.targets_copy():
            if t.is_relative_detector_id():
                dets ^= {t.val}
            elif t.is_logical_observable_id():
                obs ^= {t.val}
        key = (frozenset(dets), frozenset(obs))
        p = inst.args_copy()[0]
        if key not in columns:
            columns[key] = len(priors)
            priors.append(p)
        else:
            q = priors[columns[key]]
            priors[columns[key]] = q * (1 - p) + p * (1 - q)

    def matrix(rows_of, num_rows):
        rows, cols = [], []
        for (key, col) in columns.items():
            for r in rows_of(key):
                rows.append(r)
                cols.append(col)
        return csc_matrix((np.ones(len(rows), dtype=np.uint8), (rows, cols)), shape=(num_rows, len(priors)))

    return (
        matrix(lambda k: k[0], dem.num_detectors),
        matrix(lambda k: k[1], dem.num_observables),
        np.asarray(priors, dtype=np.float64),
    )


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


def _validate_bp(dec, order_field: str, methods: tuple[str, ...], method_field: str) -> None:
    """Check the options shared by the BP decoders (ValueError naming the option and the fix)."""
    name = dec.name
    for field, low in (("max_iter", 1), (order_field, 0)):
        value = getattr(dec, field)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name}: {field} must be an int >= {low}, got {value!r}.")
    method = getattr(dec, method_field)
    if method not in methods:
        raise ValueError(f"{name}: {method_field} must be one of {list(methods)}, got {method!r}.")
    if method.endswith("0") and getattr(dec, order_field) != 0:
        raise ValueError(f"{name}: {method_field}={method!r} takes {order_field}=0; use "
                         f"{methods[2]!r} for a higher order.")
    if method.endswith("_e") and getattr(dec, order_field) > _MAX_EXHAUSTIVE_ORDER:
        raise ValueError(f"{name}: {method_field}={method!r} tries 2**{order_field} candidates per "
                         f"syndrome; use {order_field} <= {_MAX_EXHAUSTIVE_ORDER} or {methods[2]!r}.")
    if dec.bp_method not in _BP_METHODS:
        raise ValueError(f"{name}: bp_method must be one of {list(_BP_METHODS)}, got {dec.bp_method!r}.")
    f = dec.ms_scaling_factor
    if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 <= f <= 1:
        raise ValueError(f"{name}: ms_scaling_factor must be a number in [0, 1] (0: ldpc's adaptive "
                         f"scaling), got {f!r}.")


def _compile_bp(dec, decoder_class: str, order_field: str, dem: stim.DetectorErrorModel) -> CompiledDecoder:
    """Build ldpc's ``decoder_class`` for ``dem``, its search order clamped to the free dimension."""
    ldpc = _ldpc()
    H, L, priors = check_matrices(dem)
    options = dataclasses.asdict(dec)
    if H.shape[1] == 0:  # no error can happen: nothing to correct
        return _CompiledLdpc(_NoErrors(), L, dem, "iterations")
    free = H.shape[1] - int(ldpc.mod2.rank(H, method="sparse"))
    options[order_field] = min(options[order_field], free)
    built = getattr(ldpc, decoder_class)(H, error_channel=list(priors), **options)
    return _CompiledLdpc(built, L, dem, "iterations")


class _NoErrors:
    """Stands in for ldpc when the DEM has no errors (ldpc rejects a matrix without columns)."""

    iter = 0

    def decode(self, syndrome):
        return np.zeros(0, dtype=np.uint8)


@dataclass(frozen=True)
class BpOsdDecoder(Decoder):
    """Belief propagation + ordered-statistics decoding (Roffe et al.), via ``ldpc.BpOsdDecoder``.

    ``osd_order`` is an upper bound: at compile time it is clamped to the check matrix's free
    dimension (ldpc crashes beyond it, and no higher order exists).

    Raises:
        ValueError: an option ldpc would reject or crash on (the message names the fix).

    Example:
        >>> BpOsdDecoder().name
        'bposd'
        >>> BpOsdDecoder(osd_order=-1)
        Traceback (most recent call last):
        ...
        ValueError: bposd: osd_order must be an int >= 0, got -1.
    """

    max_iter: int = 30
    osd_order: int = 4
    osd_method: str = "osd_cs"
    bp_method: str = "minimum_sum"
    ms_scaling_factor: float = 0.625
    name = "bposd"
    package = "ldpc"

    def __post_init__(self) -> None:
        _validate_bp(self, "osd_order", _OSD_METHODS, "osd_method")

    def _compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        return _compile_bp(self, "BpOsdDecoder", "osd_order", dem)


@dataclass(frozen=True)
class BpLsdDecoder(Decoder):
    """Belief propagation + localised statistics decoding (Hillmann et al. 2024), ``ldpc.BpLsdDecoder``.

    ``lsd_order`` is clamped to the free dimension like `BpOsdDecoder`'s ``osd_order``.

    Raises:
        ValueError: an option ldpc would reject or crash on (the message names the fix).

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
    package = "ldpc"

    def __post_init__(self) -> None:
        _validate_bp(self, "lsd_order", _LSD_METHODS, "lsd_method")

    def _compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        return _compile_bp(self, "BpLsdDecoder", "lsd_order", dem)


def matching_graph_matrices(dem: stim.DetectorErrorModel, name: str) -> tuple[csc_matrix, csc_matrix, np.ndarray]:
    """Edges of ``dem``'s matching graph (built by PyMatching, which merges parallel edges).

    Returns:
        Incidence matrix uint8 (num_detectors, edges) (boundary edges have one 1), observable
        matrix uint8 (num_observables, edges), edge weights log((1-p)/p) float64 (edges,).

    Raises:
        ValueError: ``dem`` is not graphlike (the message names a hypergraph decoder).
    """
    import pymatching

    try:
        graph = pymatching.Matching.from_detector_error_model(dem)
    except ValueError as e:
        raise ValueError(
            f"{name} needs a graphlike DEM ({e}); use 'bposd' or 'bplsd'."
        ) from None
    rows, cols, obs_rows, obs_cols, weights = [], [], [], [], []
    for col, (u, v, data) in enumerate(graph.edges()):
        for node in (u, v):
            if node is not None:
                rows.append(node)
                cols.append(col)
        for obs in data["fault_ids"]:
            obs_rows.append(obs)
            obs_cols.append(col)
        weights.append(data["weight"])
    n = len(weights)
    incidence = csc_matrix((np.ones(len(rows), dtype=np.uint8), (rows, cols)), shape=(dem.num_detectors, n))
    obs = csc_matrix(
        (np.ones(len(obs_rows), dtype=np.uint8), (obs_rows, obs_cols)), shape=(dem.num_observables, n)
    )
    return incidence, obs, np.asarray(weights, dtype=np.float64)


@dataclass(frozen=True)
class UnionFindDecoder(Decoder):
    """Weighted union-find (Delfosse & Nickerson), ``ldpc.UnionFindDecoder`` in peeling mode.

    Peeling needs a graph: the decomposed DEM's matching graph becomes the check matrix, with
    edge weights log((1-p)/p) as LLRs (non-negative: `Decoder.compile` has already flipped
    errors with p > 1/2).

    Example:
        >>> UnionFindDecoder().name
        'uf'
    """

    name = "uf"
    package = "ldpc"
    needs_graphlike = True

    def _compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        ldpc = _ldpc()
        pcm, obs, llrs = matching_graph_matrices(dem, "uf (peeling union-find)")
        if pcm.shape[1] == 0:
            return _CompiledLdpc(_NoErrors(), obs, dem, "weight")
        dec = ldpc.UnionFindDecoder(pcm, uf_method="peeling")
        return _CompiledLdpc(_WeightedUf(dec, llrs), obs, dem, "weight")


class _WeightedUf:
    """Adapts ldpc's UF to the one-argument ``decode`` that `_CompiledLdpc` calls."""

    def __init__(self, decoder, llrs):
        self.decoder, self.llrs = decoder, llrs

    def decode(self, syndrome):
        return self.decoder.decode(syndrome, llrs=self.llrs)
