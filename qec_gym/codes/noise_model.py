"""Insert `NoiseParams` into a noiseless template circuit.

Rules (one place, so every code family gets the same physics):

- after each single-qubit Clifford: biased Pauli channel of total probability ``p1``;
- after each two-qubit gate: biased two-qubit Pauli channel of total probability ``p2``;
- after each reset: a flip with ``p_reset``; before each measurement: a flip with ``p_meas``;
- at each ``I[round_data]`` marker: depolarising ``p_data``, Z flip ``p_dephase`` and erasure
  ``p_loss`` (as its Pauli twirl, a uniformly random Pauli), composed into one channel;
- per layer (between TICKs): ``idle_x/y/z`` on every qubit that no operation touched, and
  crosstalk (``crosstalk_zz``/``crosstalk_xx``) on each pair of qubits that sit at the
  coupling distance of the layout and belong to different two-qubit gates of that layer.

With ``NoiseParams.uniform(p)`` the result has the same detector error model as stim's
``Circuit.generated`` with its four uniform knobs at p (tested).

Bias convention: single-qubit p_X = p_Y = p / (2 (eta + 1)), p_Z = p eta / (eta + 1); two-qubit:
the three Z-type Paulis (IZ, ZI, ZZ) each have weight 2 eta against 1 for the twelve others,
so eta = 0.5 gives the depolarising channels exactly.

Example:
    >>> from qec_gym.codes import CodeSpec
    >>> from qec_gym.codes.templates import template_circuit
    >>> from qec_gym.noise import NoiseParams
    >>> noisy = add_noise(template_circuit(CodeSpec("repetition", 3, rounds=2)), NoiseParams.uniform(1e-3))
    >>> noisy.num_detectors
    6
"""

from __future__ import annotations

import math

import numpy as np
import stim

from qec_gym.codes.templates import ROUND_DATA_TAG
from qec_gym.noise.params import NoiseParams

_ANNOTATIONS = {"QUBIT_COORDS", "DETECTOR", "OBSERVABLE_INCLUDE", "SHIFT_COORDS", "MPAD"}
# The basis a reset prepares / a measurement reads decides which flip corrupts it.
_FLIP_FOR_BASIS = {"X": "Z_ERROR", "Y": "X_ERROR", "Z": "X_ERROR"}
_RESETS = {"R": "Z", "RZ": "Z", "RX": "X", "RY": "Y"}
_MEASURES = {"M": "Z", "MZ": "Z", "MX": "X", "MY": "Y"}
_MEASURE_RESETS = {"MR": "Z", "MRZ": "Z", "MRX": "X", "MRY": "Y"}


def biased_pauli1(p: float, eta: float) -> tuple[float, float, float]:
    """(p_X, p_Y, p_Z) of a single-qubit channel of total probability p and Z-bias eta."""
    if eta == 0.5:  # exact thirds, so depolarising stays DEPOLARIZE1
        return p / 3, p / 3, p / 3
    px = p / (2.0 * (eta + 1.0))
    return px, px, p - 2.0 * px


def biased_pauli2(p: float, eta: float) -> list[float]:
    """The 15 probabilities of stim's PAULI_CHANNEL_2 (order IX, IY, IZ, XI, ..., ZZ)."""
    w = 2.0 * eta
    unit = p / (3.0 * w + 12.0)
    probs = []
    for a in "IXYZ":
        for b in "IXYZ":
            if a == b == "I":
                continue
            z_type = a in "IZ" and b in "IZ"
            probs.append(unit * w if z_type else unit)
    return probs


def compose_pauli1(*channels: tuple[float, float, float]) -> tuple[float, float, float]:
    """Compose independent single-qubit Pauli channels given as (p_X, p_Y, p_Z)."""
    # Distribution over {I, X, Y, Z} indexed by (x-bit, z-bit): I=00, X=10, Z=01, Y=11.
    dist = np.array([1.0, 0.0, 0.0, 0.0])  # index = 2 * x + z
    for px, py, pz in channels:
        ch = np.array([1.0 - px - py - pz, pz, px, py])
        new = np.zeros(4)
        for i in range(4):
            for j in range(4):
                new[i ^ j] += dist[i] * ch[j]
        dist = new
    return float(dist[2]), float(dist[3]), float(dist[1])


def add_noise(template: stim.Circuit, noise: NoiseParams) -> stim.Circuit:
    """Return ``template`` with the errors of ``noise`` inserted (the template is not modified).

    Args:
        template: A noiseless circuit from `qec_gym.codes.templates.template_circuit`.
        noise: The error probabilities.

    Raises:
        ValueError: if the template already contains noise channels.
    """
    coords = template.get_final_qubit_coordinates()
    return _NoiseInserter(noise, _coupled_pairs(template, coords)).run(template)


def _coupled_pairs(template: stim.Circuit, coords: dict[int, list[float]]) -> frozenset[tuple[int, int]]:
    """Qubit pairs at the layout's coupling distance (the shortest two-qubit-gate distance)."""
    gate_pairs: set[tuple[int, int]] = set()
    _collect_gate_pairs(template, gate_pairs)
    if not gate_pairs or not coords:
        return frozenset()
    qubits = sorted(coords)
    if any(q not in coords for pair in gate_pairs for q in pair):
        return frozenset()
    dist = {p: math.dist(coords[p[0]], coords[p[1]]) for p in gate_pairs}
    reach = max(dist.values()) * (1 + 1e-9)
    return frozenset(
        (a, b)
        for i, a in enumerate(qubits)
        for b in qubits[i + 1 :]
        if len(coords[a]) == len(coords[b]) and math.dist(coords[a], coords[b]) <= reach
    )


def _collect_gate_pairs(circuit: stim.Circuit, out: set[tuple[int, int]]) -> None:
    for inst in circuit:
        if isinstance(inst, stim.CircuitRepeatBlock):
            _collect_gate_pairs(inst.body_copy(), out)
        elif stim.gate_data(inst.name).is_two_qubit_gate and stim.gate_data(inst.name).is_unitary:
            ts = [t.value for t in inst.targets_copy()]
            out.update((min(a, b), max(a, b)) for a, b in zip(ts[::2], ts[1::2]))


class _NoiseInserter:
    """Walks a template layer by layer (layers end at TICK, REPEAT boundaries and the end)."""

    def __init__(self, noise: NoiseParams, coupled: frozenset[tuple[int, int]]) -> None:
        self.n = noise
        self.coupled = coupled
        self.qubits: list[int] = []
        self.busy: set[int] = set()
        self.gate_of: dict[int, int] = {}  # qubit -> index of its two-qubit gate in this layer
        self.gp1 = biased_pauli1(noise.p1, noise.eta)
        self.gp2 = biased_pauli2(noise.p2, noise.eta)
        self.data_channel = compose_pauli1(
            (noise.p_data / 3, noise.p_data / 3, noise.p_data / 3),
            (0.0, 0.0, noise.p_dephase),
            (noise.p_loss / 4, noise.p_loss / 4, noise.p_loss / 4),
        )

    def run(self, template: stim.Circuit) -> stim.Circuit:
        used: set[int] = set()
        _collect_used(template, used)
        self.qubits = sorted(used)
        out = self._walk(template)
        self._flush(out)
        return out

    def _walk(self, circuit: stim.Circuit) -> stim.Circuit:
        out = stim.Circuit()
        for inst in circuit:
            if isinstance(inst, stim.CircuitRepeatBlock):
                self._flush(out)
                body = self._walk(inst.body_copy())
                self._flush(body)
                out.append(stim.CircuitRepeatBlock(inst.repeat_count, body))
            elif inst.name == "TICK":
                self._flush(out)
                out.append(inst)
            else:
                self._instruction(inst, out)
        return out

    def _instruction(self, inst: stim.CircuitInstruction, out: stim.Circuit) -> None:
        name, targets = inst.name, inst.targets_copy()
        qs = [t.value for t in targets if t.is_qubit_target]
        gate = stim.gate_data(name)
        if name in _ANNOTATIONS:
            out.append(inst)
            return
        if (gate.is_noisy_gate and not gate.produces_measurements) or inst.gate_args_copy():
            raise ValueError(f"template already contains noise ({name}); pass a noiseless circuit.")
        if name == "I" and inst.tag == ROUND_DATA_TAG:
            out.append(inst)
            self._pauli1(out, self.data_channel, qs)
        elif name in _RESETS:
            out.append(inst)
            self._flip(out, _FLIP_FOR_BASIS[_RESETS[name]], self.n.p_reset, qs)
        elif name in _MEASURES:
            self._flip(out, _FLIP_FOR_BASIS[_MEASURES[name]], self.n.p_meas, qs)
            out.append(inst)
        elif name in _MEASURE_RESETS:
            flip = _FLIP_FOR_BASIS[_MEASURE_RESETS[name]]
            self._flip(out, flip, self.n.p_meas, qs)
            out.append(inst)
            self._flip(out, flip, self.n.p_reset, qs)
        elif gate.is_unitary and gate.is_single_qubit_gate:
            out.append(inst)
            self._pauli1(out, self.gp1, qs)
        elif gate.is_unitary and gate.is_two_qubit_gate:
            out.append(inst)
            if self.n.p2 > 0:
                if self.n.eta == 0.5:
                    out.append("DEPOLARIZE2", targets, self.n.p2)
                else:
                    out.append("PAULI_CHANNEL_2", targets, self.gp2)
            for a, b in zip(qs[::2], qs[1::2]):
                self.gate_of[a] = self.gate_of[b] = len(self.gate_of) // 2
        else:
            raise ValueError(f"no noise rule for {name}; templates may use Clifford gates, resets and measurements.")
        if not (name == "I" and inst.tag == ROUND_DATA_TAG):
            self.busy.update(qs)

    def _flush(self, out: stim.Circuit) -> None:
        """End a layer: crosstalk between simultaneous gates, then idle noise on untouched qubits."""
        if not self.busy:
            return
        n = self.n
        if (n.crosstalk_zz or n.crosstalk_xx) and self.gate_of:
            pairs = [
                (a, b)
                for (a, b) in self.coupled
                if a in self.gate_of and b in self.gate_of and self.gate_of[a] != self.gate_of[b]
            ]
            if pairs:
                probs = [0.0] * 15
                probs[4] = n.crosstalk_xx  # XX
                probs[14] = n.crosstalk_zz  # ZZ
                out.append("PAULI_CHANNEL_2", [q for pair in pairs for q in pair], probs)
        idle = [q for q in self.qubits if q not in self.busy]
        self._pauli1(out, (n.idle_x, n.idle_y, n.idle_z), idle)
        self.busy = set()
        self.gate_of = {}

    @staticmethod
    def _flip(out: stim.Circuit, name: str, p: float, qs: list[int]) -> None:
        if p > 0 and qs:
            out.append(name, qs, p)

    @staticmethod
    def _pauli1(out: stim.Circuit, channel: tuple[float, float, float], qs: list[int]) -> None:
        px, py, pz = channel
        if not qs or px + py + pz == 0:
            return
        if px == py == pz:
            out.append("DEPOLARIZE1", qs, 3 * px)
        elif px == py == 0:
            out.append("Z_ERROR", qs, pz)
        else:
            out.append("PAULI_CHANNEL_1", qs, [px, py, pz])


def _collect_used(circuit: stim.Circuit, out: set[int]) -> None:
    for inst in circuit:
        if isinstance(inst, stim.CircuitRepeatBlock):
            _collect_used(inst.body_copy(), out)
        elif inst.name not in _ANNOTATIONS and inst.name != "TICK":
            out.update(t.value for t in inst.targets_copy() if t.is_qubit_target)
