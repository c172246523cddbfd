"""Resource model of a code: qubits, two-qubit gates and duration of one round.

Counted from the noiseless template (the REPEAT body is one round), so a new family gets its
resources for free. Durations use `GateTimes`, whose defaults are the gate times of
`qec_gym.noise.physical.HardwareParams.superconducting` (one source of truth; ~1 us round, cf.
Google's 1.1 us cycle in ``docs/reference-numbers.md``); `GateTimes.from_hardware` takes them from any hardware preset.

Example:
    >>> from qec_gym.codes import CodeSpec, resources
    >>> r = resources(CodeSpec("rotated_surface", 3))
    >>> r.data_qubits, r.ancilla_qubits, r.two_qubit_gates_per_round
    (9, 8, 24)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import stim

from qec_gym.codes.spec import CodeSpec
from qec_gym.codes.templates import ROUND_DATA_TAG, template_circuit
from qec_gym.noise.physical import HardwareParams


def _ns(seconds: float) -> float:
    return round(seconds * 1e9, 9)  # 42e-9 s -> 42.0 ns, without float residue


_DEFAULT_HARDWARE = HardwareParams.superconducting()


@dataclass(frozen=True)
class GateTimes:
    """Durations in nanoseconds of each kind of circuit layer.

    Defaults are `HardwareParams.superconducting`'s gate, measurement and reset times.

    Raises:
        ValueError: a negative duration.

    Example:
        >>> GateTimes().two_qubit_ns == GateTimes.from_hardware(HardwareParams.superconducting()).two_qubit_ns
        True
    """

    single_qubit_ns: float = _ns(_DEFAULT_HARDWARE.gate_time_1q)
    two_qubit_ns: float = _ns(_DEFAULT_HARDWARE.gate_time_2q)
    measure_ns: float = _ns(_DEFAULT_HARDWARE.measurement_time)
    reset_ns: float = _ns(_DEFAULT_HARDWARE.reset_time)

    def __post_init__(self) -> None:
        for name, v in vars(self).items():
            if not v >= 0:
                raise ValueError(f"GateTimes.{name} must be >= 0 ns, got {v!r}.")

    @classmethod
    def from_hardware(cls, hardware: HardwareParams) -> GateTimes:
        """The gate, measurement and reset times of a hardware preset, in ns."""
        return cls(
            single_qubit_ns=_ns(hardware.gate_time_1q),
            two_qubit_ns=_ns(hardware.gate_time_2q),
            measure_ns=_ns(hardware.measurement_time),
            reset_ns=_ns(hardware.reset_time),
        )


@dataclass(frozen=True)
class Resources:
    """What one round of a code costs."""

    data_qubits: int
    ancilla_qubits: int
    two_qubit_gates_per_round: int
    layers_per_round: int
    round_duration_ns: float

    @property
    def qubits(self) -> int:
        """Physical qubits (or bosonic modes) in use."""
        return self.data_qubits + self.ancilla_qubits


@functools.lru_cache(maxsize=256)
def resources(spec: CodeSpec, times: GateTimes = GateTimes()) -> Resources:
    """Count the resources of one round of ``spec`` (independent of its number of rounds)."""
    circuit = template_circuit(spec.with_rounds(3))
    rounds = [inst for inst in circuit if isinstance(inst, stim.CircuitRepeatBlock)]
    body = rounds[0].body_copy() if rounds else circuit
    data: set[int] = set()
    used: set[int] = set()
    gates = 0
    layers: list[set[str]] = [set()]
    for inst in body.flattened():
        if inst.name == "TICK":
            layers.append(set())
            continue
        gate = stim.gate_data(inst.name)
        qs = [t.value for t in inst.targets_copy() if t.is_qubit_target]
        if inst.name == "I" and inst.tag == ROUND_DATA_TAG:
            data.update(qs)
            continue
        if inst.name in ("QUBIT_COORDS", "DETECTOR", "OBSERVABLE_INCLUDE", "SHIFT_COORDS"):
            continue
        used.update(qs)
        if gate.is_two_qubit_gate:
            gates += len(qs) // 2
            layers[-1].add("2q")
        elif gate.produces_measurements:
            layers[-1].add("measure")
            if gate.is_reset:
                layers[-1].add("reset")
        elif gate.is_reset:
            layers[-1].add("reset")
        else:
            layers[-1].add("1q")
    layers = [layer for layer in layers if layer]
    durations = {"1q": times.single_qubit_ns, "2q": times.two_qubit_ns, "measure": times.measure_ns}
    total = 0.0
    for layer in layers:
        t = max((durations[k] for k in layer if k in durations), default=0.0)
        total += t + (times.reset_ns if "reset" in layer else 0.0)
    return Resources(
        data_qubits=len(data),
        ancilla_qubits=len(used - data),
        two_qubit_gates_per_round=gates,
        layers_per_round=len(layers),
        round_duration_ns=total,
    )
