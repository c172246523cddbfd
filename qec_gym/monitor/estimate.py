"""Detector-error-model edge probabilities from detection events alone (two-point correlations).

The method (Spitz et al. 2018, "Adaptive weight estimator for quantum error correction in a
time-dependent environment", Adv. Quantum Technol.; the "p_ij" method Google uses for decoder
priors, Google Quantum AI 2021 Nature 595, 383): if error mechanisms are independent, split those
that flip detector i into three classes: flipping i but not j (combined probability a), j but not
i (b), and both (c). Then x_i = A xor C, x_j = B xor C, and with <.> the mean over shots,

    c = 1/2 - 1/2 sqrt(1 - 4 (<x_i x_j> - <x_i><x_j>) / (1 - 2<x_i> - 2<x_j> + 4<x_i x_j>))

exactly, whatever else the mechanisms flip. For a boundary edge of detector i (the standard
single-detector formula): 1 - 2<x_i> = prod over all mechanisms touching i of (1 - 2 p_k), so

    p_i,boundary = 1/2 - 1/2 (1 - 2<x_i>) / prod_{j graph neighbour of i} (1 - 2 c_ij).

The edge set (which detector pairs and boundaries exist) comes from a *reference* DEM: the
circuit's structure with nominal noise, which the control system knows; its probabilities are
what is re-estimated. `SyndromeEstimator.reweighted_dem` rescales every error instruction of the
reference DEM by the geometric mean, over its graphlike components, of estimate / reference for
the same functional (`edge_functional` applied to the reference DEM), so hyperedge structure
(decomposition, observables) is kept and any decoder compiles the result.

Sampling intervals: grouped jackknife over ``groups`` contiguous groups of shots in the window.

Example:
    >>> import numpy as np, stim
    >>> c = stim.Circuit.generated("repetition_code:memory", distance=3, rounds=3,
    ...                            before_round_data_depolarization=0.02, before_measure_flip_probability=0.01)
    >>> dem = c.detector_error_model(decompose_errors=True)
    >>> est = SyndromeEstimator(dem, window_shots=50_000)
    >>> dets = c.compile_detector_sampler(seed=1).sample(50_000)
    >>> est.update(dets)
    >>> e = est.estimate()
    >>> truth = edge_functional(dem, e.edges)
    >>> bool(np.all(np.abs(e.probability - truth) < 5 * e.stderr + 1e-4))
    True
    >>> new = est.reweighted_dem()
    >>> new.num_detectors == dem.num_detectors, new.num_observables == dem.num_observables
    (True, True)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import stim

MIN_PROBABILITY = 1e-10
"""Floor of estimated probabilities (an edge seen zero times still gets a finite decoder weight)."""


@dataclass(frozen=True)
class DemEdges:
    """The graphlike edges of a decomposed DEM and which edges each error instruction is made of.

    Attributes:
        edges: int64 (E, 2): detector pairs (i < j) and boundary edges (i, -1).
        components: One int64 array of edge indices per ``error`` instruction of
            ``dem.flattened()``, in order.
        probabilities: float64 (K,): each instruction's probability.
        detector_sets: One int64 array of the detectors each instruction flips (its symmetric
            difference over components), per instruction.
    """

    edges: np.ndarray
    components: tuple[np.ndarray, ...]
    probabilities: np.ndarray
    detector_sets: tuple[np.ndarray, ...]

    @property
    def pairs(self) -> np.ndarray:
        """Boolean (E,): True for detector pairs, False for boundary edges."""
        return self.edges[:, 1] >= 0


def dem_edges(dem: stim.DetectorErrorModel) -> DemEdges:
    """The graphlike edges of ``dem`` (errors decomposed with ``^`` into <= 2-detector parts).

    Raises:
        TypeError: not a stim.DetectorErrorModel.
        ValueError: a component flips more than two detectors (build the DEM with
            ``decompose_errors=True``).
    """
    if not isinstance(dem, stim.DetectorErrorModel):
        raise TypeError(f"dem must be a stim.DetectorErrorModel, got {type(dem).__name__}.")
    index: dict[tuple[int, int], int] = {}
    components, probs, sets = [], [], []
    for inst in dem.flattened():
        if inst.type != "error":
            continue
        comps, cur = [], []
        for tg in [*inst.targets_copy(), None]:
            if tg is None or tg.is_separator():
                if cur:
                    comps.append(cur)
                cur = []
            elif tg.is_relative_detector_id():
                cur.append(tg.val)
        edge_ids, flipped = [], set()
        for comp in comps:
            if len(comp) > 2:
                raise ValueError(
                    f"DEM error {inst} has a component flipping {len(comp)} detectors: the estimator needs a "
                    "graphlike DEM; build it with circuit.detector_error_model(decompose_errors=True)."
                )
            key = (min(comp), max(comp)) if len(comp) == 2 else (comp[0], -1)
            edge_ids.append(index.setdefault(key, len(index)))
            flipped ^= set(comp)
        components.append(np.array(edge_ids, dtype=np.int64))
        probs.append(inst.args_copy()[0])
        sets.append(np.array(sorted(flipped), dtype=np.int64))
    edges = np.array(list(index), dtype=np.int64).reshape(-1, 2)
    return DemEdges(edges, tuple(components), np.array(probs, dtype=np.float64), tuple(sets))


def _xor_combine(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return p * (1 - q) + q * (1 - p)


def edge_functional(dem: stim.DetectorErrorModel, edges: np.ndarray) -> np.ndarray:
    """What `SyndromeEstimator` estimates, computed exactly from a DEM's probabilities.

    Pair edge (i, j): the combined (xor) probability of all mechanisms that flip both i and j.
    Boundary edge (i, -1): 1/2 - 1/2 prod_{k touches i} (1 - 2 p_k) / prod_j (1 - 2 c_ij), j over
    the pair edges at i in ``edges``. For mechanisms whose part at i is one graph edge this is
    the DEM's own edge probability.

    Args:
        dem: Any DEM over the same detectors.
        edges: int64 (E, 2) as `DemEdges.edges`.

    Returns:
        float64 (E,).
    """
    d = dem_edges(dem)
    n_det = dem.num_detectors
    pair_index = {(int(i), int(j)): e for e, (i, j) in enumerate(edges) if j >= 0}
    c = np.zeros(len(edges))
    survive = np.ones(n_det)  # prod (1 - 2 p_k) over mechanisms touching each detector
    for p, dets in zip(d.probabilities, d.detector_sets):
        survive[dets] *= 1 - 2 * p
        if len(dets) >= 2:
            for a in range(len(dets)):
                for b in range(a + 1, len(dets)):
                    e = pair_index.get((int(dets[a]), int(dets[b])))
                    if e is not None:
                        c[e] = _xor_combine(c[e], p)
    return _with_boundaries(edges, c, (1 - survive) / 2)


def _with_boundaries(edges: np.ndarray, c: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Fill the boundary entries of ``c`` from per-detector means and the pair entries."""
    pairs = edges[:, 1] >= 0
    log_pair = np.zeros(len(mean))
    lp = np.log(np.clip(1 - 2 * c[pairs], 1e-300, None))
    np.add.at(log_pair, edges[pairs, 0], lp)
    np.add.at(log_pair, edges[pairs, 1], lp)
    out = c.copy()
    b = edges[~pairs, 0]
    out[~pairs] = 0.5 - 0.5 * (1 - 2 * mean[b]) * np.exp(-log_pair[b])
    return out


@dataclass(frozen=True)
class EdgeEstimate:
    """Estimated edge probabilities of one window.

    Attributes:
        edges: int64 (E, 2), as `DemEdges.edges`.
        probability: float64 (E,) estimates, clipped to [`MIN_PROBABILITY`, 1/2).
        stderr: float64 (E,) grouped-jackknife standard errors.
        shots: Shots in the window.
    """

    edges: np.ndarray
    probability: np.ndarray
    stderr: np.ndarray
    shots: int

    def interval(self, z: float = 2.576) -> tuple[np.ndarray, np.ndarray]:
        """Normal interval ``probability -/+ z stderr`` (z = 2.576: 99%)."""
        return self.probability - z * self.stderr, self.probability + z * self.stderr


class SyndromeEstimator:
    """Sliding-window two-point-correlation estimator of a DEM's edge probabilities.

    Memory is bounded: the window keeps per-block sums only (``num_detectors + num_pairs``
    integers per block of ``block_shots`` shots), never the events.

    Args:
        reference_dem: Decomposed DEM giving the edges (structure) and the reference priors.
        window_shots: The estimate uses the latest blocks holding at least this many shots
            (older blocks are dropped once the rest still hold ``window_shots``).
        block_shots: Granularity of the window (default ``window_shots // 100``, >= 1).
        groups: Jackknife groups for the standard errors (>= 2).

    Raises:
        ValueError: non-positive sizes, or a non-graphlike DEM.
    """

    def __init__(self, reference_dem: stim.DetectorErrorModel, *, window_shots: int,
                 block_shots: int | None = None, groups: int = 20):
        if not isinstance(window_shots, (int, np.integer)) or window_shots < 1:
            raise ValueError(f"window_shots must be a positive int, got {window_shots!r}.")
        if groups < 2:
            raise ValueError(f"groups (jackknife) must be >= 2, got {groups}.")
        self.reference_dem = reference_dem
        self.structure = dem_edges(reference_dem)
        self.num_detectors = reference_dem.num_detectors
        self.window_shots = int(window_shots)
        self.block_shots = max(1, int(block_shots or window_shots // 100))
        self.groups = int(groups)
        pairs = self.structure.pairs
        self._pi = self.structure.edges[pairs, 0]
        self._pj = self.structure.edges[pairs, 1]
        self._reference = edge_functional(reference_dem, self.structure.edges)
        self._blocks: deque[tuple[int, np.ndarray, np.ndarray]] = deque()
        self._shots = 0

    @property
    def shots(self) -> int:
        """Shots currently in the window."""
        return self._shots

    @property
    def ready(self) -> bool:
        """Whether `estimate` can run (the window holds at least 2 blocks)."""
        return len(self._blocks) >= 2

    def noise_multiplier(self, estimate: EdgeEstimate | None = None) -> float:
        """Geometric mean over edges of estimate / reference probability: 1 when the reference
        DEM's priors are right, 2 when the noise doubled (a syndrome-derived noise estimate)."""
        est = self.estimate() if estimate is None else estimate
        ref = np.clip(self._reference, MIN_PROBABILITY, None)
        return float(np.exp(np.mean(np.log(est.probability) - np.log(ref))))

    def update(self, detection_events: np.ndarray) -> None:
        """Add shots: bool/uint8 array (shots, num_detectors), one row per shot.

        Raises:
            ValueError: wrong width or rank.
        """
        dets = np.asarray(detection_events)
        if dets.ndim != 2 or dets.shape[1] != self.num_detectors:
            raise ValueError(
                f"detection events must have shape (shots, {self.num_detectors}) for this DEM, got {dets.shape}: "
                "is this the DEM of the circuit that produced the events?"
            )
        dets = dets.astype(bool, copy=False)
        for start in range(0, len(dets), self.block_shots):
            blk = dets[start:start + self.block_shots]
            s = blk.sum(axis=0, dtype=np.int64)
            s2 = np.count_nonzero(blk[:, self._pi] & blk[:, self._pj], axis=0).astype(np.int64)
            self._blocks.append((len(blk), s, s2))
            self._shots += len(blk)
        while self._blocks and self._shots - self._blocks[0][0] >= self.window_shots:
            self._shots -= self._blocks.popleft()[0]

    def _from_sums(self, n: np.ndarray, s: np.ndarray, s2: np.ndarray) -> np.ndarray:
        """Estimates from sums; leading axis = replicas. n (R,), s (R, D), s2 (R, P) -> (R, E)."""
        m = s / n[:, None]
        mi, mj, mij = m[:, self._pi], m[:, self._pj], s2 / n[:, None]
        num = mij - mi * mj
        den = 1 - 2 * mi - 2 * mj + 4 * mij
        with np.errstate(divide="ignore", invalid="ignore"):
            g = 1 - 4 * num / den
        c_pair = 0.5 - 0.5 * np.sqrt(np.clip(np.nan_to_num(g, nan=1.0), 0.0, 1.0))
        pairs = self.structure.pairs
        out = np.empty((len(n), len(pairs)))
        for r in range(len(n)):
            c = np.zeros(len(pairs))
            c[pairs] = c_pair[r]
            out[r] = _with_boundaries(self.structure.edges, c, m[r])
        return np.clip(out, MIN_PROBABILITY, 0.5 - 1e-12)

    def estimate(self) -> EdgeEstimate:
        """The current window's edge probabilities with jackknife standard errors.

        Raises:
            ValueError: fewer blocks in the window than 2 (update with more shots).
        """
        blocks = list(self._blocks)
        if not self.ready:
            raise ValueError(f"the window holds {len(blocks)} block(s): update with at least 2 x block_shots shots.")
        n = np.array([b[0] for b in blocks], dtype=np.float64)
        s = np.stack([b[1] for b in blocks])
        s2 = np.stack([b[2] for b in blocks])
        g = min(self.groups, len(blocks))
        gid = (np.arange(len(blocks)) * g) // len(blocks)
        gn = np.bincount(gid, weights=n, minlength=g)
        gs = np.stack([s[gid == k].sum(axis=0) for k in range(g)])
        gs2 = np.stack([s2[gid == k].sum(axis=0) for k in range(g)])
        full = self._from_sums(n.sum()[None], s.sum(axis=0)[None], s2.sum(axis=0)[None])[0]
        loo = self._from_sums(n.sum() - gn, s.sum(axis=0) - gs, s2.sum(axis=0) - gs2)
        stderr = np.sqrt((g - 1) / g * ((loo - loo.mean(axis=0)) ** 2).sum(axis=0))
        return EdgeEstimate(self.structure.edges, full, stderr, int(n.sum()))

    def reweighted_dem(self, estimate: EdgeEstimate | None = None) -> stim.DetectorErrorModel:
        """The reference DEM with every error rescaled by the estimated / reference edge ratios.

        Each instruction's probability becomes ``p_ref * geometric mean over its components of
        (estimate / edge_functional(reference))``, clipped to [`MIN_PROBABILITY`, 1/2); detector
        and observable targets, decomposition and non-error instructions are unchanged.
        """
        est = self.estimate() if estimate is None else estimate
        log_ratio = np.log(est.probability) - np.log(np.clip(self._reference, MIN_PROBABILITY, None))
        out = stim.DetectorErrorModel()
        k = 0
        for inst in self.reference_dem.flattened():
            if inst.type != "error":
                out.append(inst)
                continue
            comps = self.structure.components[k]
            p = self.structure.probabilities[k] * float(np.exp(log_ratio[comps].mean()))
            out.append("error", [float(np.clip(p, MIN_PROBABILITY, 0.5 - 1e-12))], inst.targets_copy())
            k += 1
        return out


def optimal_window_shots(p: float, drift_per_shot: float, *, variance_factor: float = 1.0) -> int:
    """Window length (shots) that minimises the mean squared error of a sliding-window estimate
    of a probability ``p`` that drifts.

    A window of ``N`` shots estimates the current value with variance ``c p / N`` (binomial,
    times ``variance_factor`` = c for estimators noisier than a plain rate, e.g. two-point
    correlations) and, under a drift of relative rate ``r`` per shot (``|d ln p / d shot|``), a
    lag bias ``p r N / 2`` (the window's mean sits ``N / 2`` shots in the past). Minimising
    ``c p / N + (p r N / 2)^2`` gives ``N* = (2 c / (p r^2))^(1/3)``: slower drift or rarer
    events call for longer windows. (Our derivation of the standard bias-variance trade-off;
    Bhardwaj et al. 2025 study the same trade-off for decoder priors.)

    Args:
        p: The probability being tracked (0 < p < 1), e.g. a typical edge probability.
        drift_per_shot: Relative drift rate per shot (> 0); a multiplier that changes by a factor
            ``1 + x`` per window of ``S`` shots has ``drift_per_shot ~ x / S``.
        variance_factor: Estimator variance relative to a binomial rate (>= 1).

    Returns:
        The window length in shots (>= 1).

    Raises:
        ValueError: arguments outside their ranges.

    Example:
        >>> optimal_window_shots(1e-3, 1e-6)
        126000
    """
    if not 0 < p < 1:
        raise ValueError(f"p must lie in (0, 1), got {p!r}.")
    if not (drift_per_shot > 0 and np.isfinite(drift_per_shot)):
        raise ValueError(f"drift_per_shot must be a finite number > 0, got {drift_per_shot!r}; "
                         "for stationary noise use the longest window you can afford.")
    if not variance_factor >= 1:
        raise ValueError(f"variance_factor must be >= 1, got {variance_factor!r}.")
    n = (2.0 * variance_factor / (p * drift_per_shot**2)) ** (1.0 / 3.0)
    return max(1, int(round(float(n), -3 if n >= 10_000 else 0)))
