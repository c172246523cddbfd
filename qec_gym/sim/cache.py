"""Compile-once cache of circuits, detector error models and compiled decoders, bounded in memory.

Keys are strong ids: tuples of frozen dataclasses (`CodeSpec`, `NoiseParams`, `Decoder`), so two
entries share a compiled object only if every field agrees. Drifting noise is quantised on a
log grid by `qec_gym.sim.window` before it reaches the cache, so nearby windows hit.

The cache holds at most ``max_bytes`` of *estimated* memory (default 2 GiB), evicting the least
recently used entry of any kind first. Estimates (`circuit_nbytes`, `decoder_nbytes`,
`layout_nbytes`) are deterministic functions of the compiled objects' sizes, with factors measured
as the C heap that each object keeps (glibc ``mallinfo2``, stim 1.16, PyMatching 2.4, ldpc 2)
and checked in ``tests/sim/test_cache_memory.py`` to lie within a factor 1.5 of it for
d = 3..9. They bound what the cache *keeps*; a compile's transient peak (the DEM, the split
circuit) comes on top, about 9x the kept matching graph at d = 25 (see ``docs/results.md``,
Scaling).

Example:
    >>> from qec_gym.codes import CodeSpec
    >>> from qec_gym.noise import NoiseParams
    >>> cache = SimulationCache()
    >>> c1 = cache.circuit(CodeSpec("repetition", 3), NoiseParams.uniform(1e-3))
    >>> c2 = cache.circuit(CodeSpec("repetition", 3), NoiseParams.uniform(1e-3))
    >>> c1 is c2, cache.info().hits, 0 < cache.info().nbytes < 10_000
    (True, 1, True)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import stim

from qec_gym.codes import CodeSpec, build_circuit, template_circuit
from qec_gym.codes.templates import ROUND_DATA_TAG, data_qubits
from qec_gym.decoders import CompiledDecoder, Decoder
from qec_gym.noise.params import NoiseParams

DEFAULT_MAX_BYTES = 2 * 1024**3
"""Default memory budget of a `SimulationCache` (2 GiB of estimated kept memory)."""


@dataclass(frozen=True)
class CacheInfo:
    """Counters of a `SimulationCache`."""

    hits: int
    misses: int
    compile_seconds: float
    """Total time spent compiling on misses."""
    saved_seconds: float
    """Compile time that hits avoided (each hit credited with its entry's compile time)."""
    nbytes: int = 0
    """Estimated memory of the entries held now (bytes)."""
    entries: int = 0
    """Entries held now, all kinds together."""
    evictions: int = 0
    """Entries dropped to stay within ``max_bytes`` / ``max_entries``."""
    not_kept: int = 0
    """Compiled objects returned but not kept because alone they exceed ``max_bytes``."""


@dataclass(frozen=True)
class DetectorLayout:
    """Noise-independent facts about a code's detectors (computed once per `CodeSpec`).

    Attributes:
        detects_z: bool (num_detectors,): the detector fires on Z errors of data qubits.
        detects_x: bool (num_detectors,): the detector fires on X errors of data qubits.
        round_index: int (num_detectors,): the round of each detector (0-based; the final
            data-qubit detectors are in round ``rounds``).
    """

    detects_z: np.ndarray
    detects_x: np.ndarray
    round_index: np.ndarray


class SimulationCache:
    """LRU cache of noisy circuits, compiled decoders and detector layouts, bounded in memory.

    Args:
        max_bytes: Budget for the estimated memory of all entries (bytes, int > 0); the least
            recently used entries, of any kind, are dropped beyond it. An object whose own
            estimate exceeds the budget is compiled and returned but not kept (counted in
            `CacheInfo.not_kept`), so asking for it again recompiles it.
        max_entries: Optional extra bound on the entries of each kind (circuits, decoders,
            layouts), as before the memory bound existed; ``None`` (default): no count bound.

    Raises:
        ValueError: ``max_bytes`` or ``max_entries`` not a positive int.

    Example:
        >>> from qec_gym.codes import CodeSpec
        >>> from qec_gym.noise import NoiseParams
        >>> cache = SimulationCache(max_bytes=50_000)
        >>> spec = CodeSpec("rotated_surface", 5)
        >>> _ = cache.circuit(spec, NoiseParams.uniform(1e-3))   # ~20 kB estimated
        >>> _ = cache.circuit(spec, NoiseParams.uniform(2e-3))
        >>> _ = cache.circuit(spec, NoiseParams.uniform(3e-3))   # evicts the 1e-3 circuit
        >>> cache.info().entries, cache.info().evictions
        (2, 1)
    """

    # Kinds of entry; subclasses pass them to `_get` (e.g. `qec_gym.bosonic.CatSimulationCache`).
    _circuits = "circuit"
    _decoders = "decoder"
    _layouts = "layout"

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, max_entries: int | None = None) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes <= 0:
            raise ValueError(
                f"max_bytes must be a positive int (bytes), got {max_bytes!r}; e.g. 2 * 1024**3 for 2 GiB."
            )
        if max_entries is not None and (
            isinstance(max_entries, bool) or not isinstance(max_entries, (int, np.integer)) or max_entries < 1
        ):
            raise ValueError(f"max_entries must be an int >= 1 or None (no count bound), got {max_entries!r}.")
        self.max_bytes = int(max_bytes)
        self.max_entries = None if max_entries is None else int(max_entries)
        # (kind, key) -> (value, compile seconds, estimated bytes), least recently used first
        self._entries: OrderedDict[tuple[str, Any], tuple[Any, float, int]] = OrderedDict()
        self._per_kind: Counter[str] = Counter()
        self._nbytes = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._not_kept = 0
        self._compile_seconds = 0.0
        self._saved_seconds = 0.0

    def info(self) -> CacheInfo:
        """Hit/miss counters, compile time spent and saved, and the memory held."""
        return CacheInfo(self._hits, self._misses, self._compile_seconds, self._saved_seconds,
                         nbytes=self._nbytes, entries=len(self._entries), evictions=self._evictions,
                         not_kept=self._not_kept)

    def keys(self) -> list[tuple[str, Any]]:
        """The entries held, as ``(kind, key)`` pairs, least recently used first.

        Kinds: ``"circuit"`` (key ``(spec, noise)``), ``"decoder"`` (key ``(spec, assumed_noise,
        decoder)``), ``"layout"`` (key ``spec``).
        """
        return list(self._entries)

    def circuit(self, spec: CodeSpec, noise: NoiseParams) -> stim.Circuit:
        """The noisy circuit of ``spec`` under ``noise``."""
        return self._get(self._circuits, (spec, noise), lambda: build_circuit(spec, noise))

    def compiled_decoder(self, spec: CodeSpec, assumed_noise: NoiseParams, decoder: Decoder) -> CompiledDecoder:
        """``decoder`` compiled for the DEM of ``spec`` under ``assumed_noise`` (its priors).

        Raises:
            ValueError: the decoder cannot decode this code, or its estimated memory
                (`decoder_nbytes`) exceeds this machine's physical memory (BP+OSD needs
                about 15 bytes per detector x DEM error), which would otherwise end the process.
        """
        nbytes = 0

        def make() -> CompiledDecoder:
            nonlocal nbytes
            dem = detector_error_model(self.circuit(spec, assumed_noise), decoder, spec)
            nbytes = decoder_nbytes(decoder, dem)
            physical = physical_memory_bytes()
            if physical is not None and nbytes > physical:
                raise ValueError(
                    f"decoder {decoder.name!r} for {spec.family} d={spec.distance} ({dem.num_detectors} "
                    f"detectors, {dem.num_errors} DEM errors) would need about {nbytes / 2**30:.1f} GiB, more "
                    f"than this machine's {physical / 2**30:.1f} GiB; use a sparse decoder ('pymatching', "
                    "'bplsd', 'uf') or a smaller distance."
                )
            return decoder.compile(dem)

        return self._get(self._decoders, (spec, assumed_noise, decoder), make, size=lambda _: nbytes)

    def layout(self, spec: CodeSpec) -> DetectorLayout:
        """Which detectors see X / Z data errors, and each detector's round."""
        return self._get(self._layouts, spec, lambda: detector_layout(spec))

    def _get(self, kind: str, key, make: Callable[[], Any], size: Callable[[Any], int] | None = None):
        """The entry ``(kind, key)``, made by ``make()`` on a miss; ``size(value)`` estimates its
        bytes (default: `circuit_nbytes` / `layout_nbytes` by kind)."""
        entry = self._entries.get((kind, key))
        if entry is not None:
            self._entries.move_to_end((kind, key))
            self._hits += 1
            self._saved_seconds += entry[1]
            return entry[0]
        self._misses += 1
        t0 = time.perf_counter()
        value = make()
        dt = time.perf_counter() - t0
        self._compile_seconds += dt
        nbytes = int((size or _SIZE_OF_KIND[kind])(value))
        if nbytes > self.max_bytes:
            self._not_kept += 1
            return value
        self._entries[(kind, key)] = (value, dt, nbytes)
        self._per_kind[kind] += 1
        self._nbytes += nbytes
        self._evict(kind)
        return value

    def _evict(self, kind: str) -> None:
        """Drop least recently used entries until the budgets hold (the newest entry always fits)."""
        while self._nbytes > self.max_bytes or (
            self.max_entries is not None and self._per_kind[kind] > self.max_entries
        ):
            over_bytes = self._nbytes > self.max_bytes
            victim = next(k for k in self._entries if over_bytes or k[0] == kind)
            _, _, nbytes = self._entries.pop(victim)
            self._per_kind[victim[0]] -= 1
            self._nbytes -= nbytes
            self._evictions += 1


# Memory models (bytes kept on the heap), fitted to glibc mallinfo2 measurements of
# rotated / XZZX surface codes at d = 3..15 (stim 1.16, PyMatching 2.4, ldpc 2.x) and checked
# within a factor 1.5 for d = 3..9 by tests/sim/test_cache_memory.py.
_CIRCUIT_BYTES_PER_TARGET = 8  # stim stores 4-byte targets in a doubling buffer
_CIRCUIT_BYTES_PER_ARG = 8
_CIRCUIT_BYTES_PER_INSTRUCTION = 48
_BYTES_PER_DEM_ERROR = {
    "pymatching": 40,  # measured 39 for d >= 7 (47 at d = 3)
    "pymatching-correlated": 85,  # measured 81-83
    "uf": 50,  # measured 48-54
    "bplsd": 280,  # measured 258-286
    "bposd": 280,  # its BP part; the OSD part is dense, below
}
_BPOSD_BYTES_PER_DETECTOR_ERROR = 15  # OSD's dense work space: measured 14.5-16.5 (29 at d = 3)
_UNMEASURED_BYTES_PER_DEM_ERROR = 300
"""Decoders not measured here (beliefmatching, chromobius, tesseract, fusion-blossom): an
assumption at the top of the sparse decoders measured, not a validated figure."""
_ENTRY_OVERHEAD_BYTES = 1024  # Python wrappers and small fixed allocations


def circuit_nbytes(circuit: stim.Circuit) -> int:
    """Estimated memory of a stim circuit (bytes): 8 per target and per argument, 48 per instruction.

    A ``REPEAT`` body is stored once, so it counts once (stim 1.16; measured 0.78-1.29x of the
    estimate for rotated and XZZX surface codes at d = 3..15).

    Example:
        >>> circuit_nbytes(stim.Circuit("H 0 1\\nX_ERROR(0.1) 0"))
        128
    """
    instructions, targets, args = _circuit_counts(circuit)
    return (_CIRCUIT_BYTES_PER_INSTRUCTION * instructions + _CIRCUIT_BYTES_PER_TARGET * targets
            + _CIRCUIT_BYTES_PER_ARG * args)


def _circuit_counts(circuit: stim.Circuit) -> tuple[int, int, int]:
    """(instructions, targets, arguments) as stored: a REPEAT block is one instruction plus its body once."""
    instructions = targets = args = 0
    for inst in circuit:
        instructions += 1
        if isinstance(inst, stim.CircuitRepeatBlock):
            body = _circuit_counts(inst.body_copy())
            instructions, targets, args = instructions + body[0], targets + body[1], args + body[2]
        else:
            targets += len(inst.targets_copy())
            args += len(inst.gate_args_copy())
    return instructions, targets, args


def decoder_nbytes(decoder: Decoder, dem: stim.DetectorErrorModel) -> int:
    """Estimated memory of ``decoder`` compiled for ``dem`` (bytes).

    Linear in the DEM's error count for the sparse decoders (matching graph, union-find, BP+LSD);
    BP+OSD also keeps a dense work space of about 15 bytes per (detector, error) cell, 70 GB for
    a d = 25 surface code, so large codes need another decoder.

    Example:
        >>> from qec_gym.decoders import get_decoder
        >>> dem = stim.DetectorErrorModel("error(0.1) D0 D1\\nerror(0.1) D1")
        >>> decoder_nbytes(get_decoder("pymatching"), dem)
        1104
    """
    per_error = _BYTES_PER_DEM_ERROR.get(decoder.name, _UNMEASURED_BYTES_PER_DEM_ERROR)
    nbytes = _ENTRY_OVERHEAD_BYTES + per_error * dem.num_errors
    if decoder.name == "bposd":
        nbytes += _BPOSD_BYTES_PER_DETECTOR_ERROR * dem.num_detectors * dem.num_errors
    return nbytes


def layout_nbytes(layout: DetectorLayout) -> int:
    """Memory of a `DetectorLayout` (bytes): its arrays plus a fixed overhead."""
    arrays = (layout.detects_z, layout.detects_x, layout.round_index)
    return _ENTRY_OVERHEAD_BYTES + sum(a.nbytes for a in arrays)


def physical_memory_bytes() -> int | None:
    """This machine's physical memory (bytes), or ``None`` where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def c_heap_bytes() -> int | None:
    """Bytes in use on the C heap now (glibc ``mallinfo2``: small blocks + mmapped ones), or
    ``None`` where it cannot be read (not glibc >= 2.33).

    This is where stim, PyMatching, ldpc and numpy keep their data, so differences of it measure
    what a compiled object keeps (the size models above were fitted to such differences). Python's
    own small objects live in pymalloc arenas and are not counted. Call ``gc.collect()`` first if
    cyclic garbage may be pending.

    Example:
        >>> n = c_heap_bytes()
        >>> n is None or n > 0
        True
    """
    try:
        mallinfo2 = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _Mallinfo2
    m = mallinfo2()
    return int(m.uordblks + m.hblkhd)


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


_SIZE_OF_KIND: dict[str, Callable[[Any], int]] = {
    SimulationCache._circuits: circuit_nbytes,
    SimulationCache._layouts: layout_nbytes,
}


def detector_error_model(circuit: stim.Circuit, decoder: Decoder, spec: CodeSpec) -> stim.DetectorErrorModel:
    """The DEM ``decoder`` needs, with a clear error when a graphlike one does not exist.

    Raises:
        ValueError: ``decoder`` needs a graphlike DEM and ``spec``'s circuit has none.
    """
    if decoder.needs_graphlike:
        circuit = split_pauli_channels(circuit)
    try:
        return circuit.detector_error_model(
            decompose_errors=decoder.needs_graphlike, approximate_disjoint_errors=True
        )
    except ValueError as e:
        if "decompose" not in str(e):
            raise
        raise ValueError(
            f"decoder {decoder.name!r} needs errors that flip at most two detectors, but "
            f"{spec.family} d={spec.distance} has errors that cannot be split that way "
            "(hyperedges). Use a hypergraph decoder for it: 'bposd' or 'bplsd'."
        ) from None


_TWO_QUBIT_PAULIS = [a + b for a in "IXYZ" for b in "IXYZ"][1:]


def split_pauli_channels(circuit: stim.Circuit) -> stim.Circuit:
    """``circuit`` with each ``PAULI_CHANNEL_2`` written as a ``CORRELATED_ERROR`` /
    ``ELSE_CORRELATED_ERROR`` chain (the same disjoint distribution), for decomposition only.

    stim's decomposer splits ``PAULI_CHANNEL_2`` components that are already graphlike into
    boundary pieces (PyMatching issue #103), which costs matching 5-8% more logical errors
    under Z-biased noise (measured: XZZX d=5, eta=100, p=6e-3, 10^5 shots: 1570 -> 1452 errors).
    Samplers keep the compact channel; only the decoder's priors come from this form.

    Example:
        >>> c = stim.Circuit("PAULI_CHANNEL_2(0,0,0.1,0,0,0,0,0,0,0,0,0.1,0,0,0.2) 0 1")
        >>> print(split_pauli_channels(c))
        E(0.1) Z1
        ELSE_CORRELATED_ERROR(0.111111) Z0
        ELSE_CORRELATED_ERROR(0.25) Z0 Z1
    """
    out = stim.Circuit()
    for inst in circuit:
        if isinstance(inst, stim.CircuitRepeatBlock):
            out.append(stim.CircuitRepeatBlock(inst.repeat_count, split_pauli_channels(inst.body_copy())))
        elif inst.name != "PAULI_CHANNEL_2":
            out.append(inst)
        else:
            probs = inst.gate_args_copy()
            targets = inst.targets_copy()
            for q0, q1 in zip(targets[::2], targets[1::2]):
                first, remaining = True, 1.0
                for p, pauli in zip(probs, _TWO_QUBIT_PAULIS):
                    if p == 0:
                        continue
                    ts = [stim.target_pauli(q.value, c) for q, c in zip((q0, q1), pauli) if c != "I"]
                    # ELSE_CORRELATED_ERROR fires with its probability only if nothing before did
                    out.append("CORRELATED_ERROR" if first else "ELSE_CORRELATED_ERROR", ts, min(1.0, p / remaining))
                    first, remaining = False, remaining - p
    return out


def detector_layout(spec: CodeSpec) -> DetectorLayout:
    """Compute a `DetectorLayout` by propagating X-only and Z-only data errors through the template."""
    template = template_circuit(spec)
    n = template.num_detectors
    sensitive = {}
    for pauli in ("X", "Z"):
        dem = _with_data_errors(template, f"{pauli}_ERROR").detector_error_model(
            approximate_disjoint_errors=True
        )
        flags = np.zeros(n, dtype=bool)
        for inst in dem.flattened():
            if inst.type == "error":
                for t in inst.targets_copy():
                    if t.is_relative_detector_id():
                        flags[t.val] = True
        sensitive[pauli] = flags
    coords = template.get_detector_coordinates()
    rounds = np.array([int(round(coords[i][-1])) if coords.get(i) else 0 for i in range(n)], dtype=np.int64)
    return DetectorLayout(detects_z=sensitive["Z"], detects_x=sensitive["X"], round_index=rounds)


def _with_data_errors(circuit: stim.Circuit, error: str, data: set[int] | None = None) -> stim.Circuit:
    """Add ``error`` on the data qubits at each round start and before their final measurement."""
    if data is None:
        data = data_qubits(circuit)
    out = stim.Circuit()
    for inst in circuit:
        if isinstance(inst, stim.CircuitRepeatBlock):
            body = _with_data_errors(inst.body_copy(), error, data)
            out.append(stim.CircuitRepeatBlock(inst.repeat_count, body))
            continue
        measured = [t for t in inst.targets_copy() if t.is_qubit_target and t.value in data]
        if stim.gate_data(inst.name).produces_measurements and measured:
            out.append(error, measured, 0.01)
        out.append(inst)
        if inst.name == "I" and inst.tag == ROUND_DATA_TAG:
            out.append(error, inst.targets_copy(), 0.01)
    return out
