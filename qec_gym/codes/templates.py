"""Noiseless template circuits, one per code family.

A template is a noiseless stim circuit in which each round's start is marked on the data qubits
by ``I[round_data] q...``; `qec_gym.codes.noise_model.add_noise` turns it into a noisy circuit.
stim's generated circuits are the layouts for the CSS codes (they are the field's reference);
the XZZX code and the phase-flip repetition code are derived from them by Hadamard conjugation.
Circuits stim generates without qubit coordinates (the repetition codes) get a line layout.

Example:
    >>> from qec_gym.codes import CodeSpec
    >>> from qec_gym.codes.templates import template_circuit, data_qubits
    >>> c = template_circuit(CodeSpec("repetition", 3, rounds=2))
    >>> sorted(data_qubits(c))
    [0, 2, 4]
"""

from __future__ import annotations

import functools
import itertools

import stim

from qec_gym.codes.spec import CodeSpec

ROUND_DATA_TAG = "round_data"
"""Tag of the ``I`` instruction that marks the start of a round on the data qubits."""

# stim only emits DEPOLARIZE1 at round starts when asked for data noise; a value no real
# circuit uses makes that instruction a safe marker to rewrite into ``I[round_data]``.
_MARKER_P = 0.4375

_STIM_TASKS = {
    ("rotated_surface", "x"): "surface_code:rotated_memory_x",
    ("rotated_surface", "z"): "surface_code:rotated_memory_z",
    ("unrotated_surface", "x"): "surface_code:unrotated_memory_x",
    ("unrotated_surface", "z"): "surface_code:unrotated_memory_z",
    ("xzzx", "x"): "surface_code:rotated_memory_x",
    ("xzzx", "z"): "surface_code:rotated_memory_z",
    ("repetition", "z"): "repetition_code:memory",
    ("repetition_phase", "x"): "repetition_code:memory",
    ("cat_repetition", "x"): "repetition_code:memory",
    ("color", "xyz"): "color_code:memory_xyz",
}

_BASIS_SWAP = {"R": "RX", "RX": "R", "M": "MX", "MX": "M", "MR": "MRX", "MRX": "MR"}


def template_circuit(spec: CodeSpec) -> stim.Circuit:
    """The noiseless template of ``spec``.

    Returns:
        A new stim circuit with detectors, one logical observable and ``I[round_data]`` markers.
    """
    return _template(spec).copy()


@functools.lru_cache(maxsize=256)
def _template(spec: CodeSpec) -> stim.Circuit:
    task = _STIM_TASKS[(spec.family, spec.basis)]
    generated = stim.Circuit.generated(
        task, distance=spec.distance, rounds=spec.rounds, before_round_data_depolarization=_MARKER_P
    )
    circuit = _markers_to_tags(generated)
    if not circuit.get_final_qubit_coordinates():
        circuit = _line_coordinates(circuit)
    if spec.family == "xzzx":
        coords = circuit.get_final_qubit_coordinates()
        checkerboard = {
            q for q in data_qubits(circuit) if ((coords[q][0] - 1) // 2 + (coords[q][1] - 1) // 2) % 2 == 0
        }
        circuit = _hadamard_conjugate(circuit, checkerboard)
    elif spec.family in ("repetition_phase", "cat_repetition"):
        circuit = _hadamard_conjugate(circuit, _used_qubits(circuit))
    return circuit


def data_qubits(circuit: stim.Circuit) -> set[int]:
    """Qubits named by the ``I[round_data]`` markers of a template."""
    out: set[int] = set()
    for inst in circuit:
        if isinstance(inst, stim.CircuitRepeatBlock):
            out |= data_qubits(inst.body_copy())
        elif inst.name == "I" and inst.tag == ROUND_DATA_TAG:
            out.update(t.value for t in inst.targets_copy())
    return out


def _used_qubits(circuit: stim.Circuit) -> set[int]:
    out: set[int] = set()
    for inst in circuit:
        if isinstance(inst, stim.CircuitRepeatBlock):
            out |= _used_qubits(inst.body_copy())
        elif inst.name not in ("QUBIT_COORDS", "DETECTOR", "OBSERVABLE_INCLUDE", "SHIFT_COORDS", "TICK"):
            out.update(t.value for t in inst.targets_copy() if t.is_qubit_target)
    return out


def _line_coordinates(circuit: stim.Circuit) -> stim.Circuit:
    """``circuit`` with each qubit ``q`` placed at ``(q, 0)``: a line, in the order of stim's
    repetition code (data and ancilla qubits alternate), so that neighbours are one unit apart
    and layout-based noise (crosstalk) applies."""
    out = stim.Circuit()
    for q in sorted(_used_qubits(circuit)):
        out.append("QUBIT_COORDS", [q], [float(q), 0.0])
    return out + circuit


def _markers_to_tags(circuit: stim.Circuit) -> stim.Circuit:
    out = stim.Circuit()
    for inst in circuit:
        if isinstance(inst, stim.CircuitRepeatBlock):
            out.append(stim.CircuitRepeatBlock(inst.repeat_count, _markers_to_tags(inst.body_copy())))
        elif inst.name == "DEPOLARIZE1" and inst.gate_args_copy() == [_MARKER_P]:
            out.append(stim.CircuitInstruction("I", inst.targets_copy(), tag=ROUND_DATA_TAG))
        else:
            out.append(inst)
    return out


def _hadamard_conjugate(circuit: stim.Circuit, qubits: set[int]) -> stim.Circuit:
    """``circuit`` with every operation on ``qubits`` conjugated by H (same detectors/observables).

    Only the operations that stim's memory circuits use are mapped: resets and measurements
    change basis, CX becomes XCX / CZ / reversed CX, H is its own conjugate.
    """
    out = stim.Circuit()
    for inst in circuit:
        if isinstance(inst, stim.CircuitRepeatBlock):
            out.append(stim.CircuitRepeatBlock(inst.repeat_count, _hadamard_conjugate(inst.body_copy(), qubits)))
            continue
        name, targets = inst.name, inst.targets_copy()
        if name in _BASIS_SWAP:
            # Runs of consecutive targets keep the measurement record order that detectors use.
            for swap, run in itertools.groupby(targets, key=lambda t: t.value in qubits):
                out.append(stim.CircuitInstruction(_BASIS_SWAP[name] if swap else name, list(run)))
        elif name == "CX":
            by_gate: dict[str, list[stim.GateTarget]] = {}
            for a, b in zip(targets[::2], targets[1::2]):
                ha, hb = a.value in qubits, b.value in qubits
                gate, pair = {
                    (False, False): ("CX", (a, b)),
                    (True, False): ("XCX", (a, b)),
                    (False, True): ("CZ", (a, b)),
                    (True, True): ("CX", (b, a)),
                }[(ha, hb)]
                by_gate.setdefault(gate, []).extend(pair)
            for gate, ts in by_gate.items():
                out.append(stim.CircuitInstruction(gate, ts))
        elif name in ("H", "I", "TICK", "QUBIT_COORDS", "DETECTOR", "OBSERVABLE_INCLUDE", "SHIFT_COORDS"):
            out.append(inst)
        else:
            raise NotImplementedError(f"Hadamard conjugation of {name} is not implemented.")
    return out
