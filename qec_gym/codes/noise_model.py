"""Insert `NoiseParams` into a noiseless template circuit.

Rules (one place, so every code family gets the same physics):

- after each single-qubit Clifford: biased Pauli channel of total probability ``p1``;
- after each two-qubit gate: biased two-qubit Pauli channel of total probability ``p2``, converted
  by the gate (`converted_pauli2`) when ``bias_preserving`` is False;
- after each reset: a flip with ``p_reset``; before each measurement: a flip with ``p_meas``;
- at each ``I[round_data]`` marker: depolarising ``p_data`` and Z flip ``p_dephase`` composed
  into one channel;
- photon loss ``p_loss`` (see below) as ``DEPOLARIZE1[loss](3 p_loss / 4)``, the Pauli twirl of an
  erasure (a lost photon is replaced by a maximally mixed qubit: I, X, Y, Z each 1/4);
- per layer (between TICKs): ``idle_x/y/z`` on every qubit that no operation touched,
  ``readout_idle_x/y/z`` (in addition) on every qubit not measured or reset in a layer that
  measures or resets (Gidney et al. 2021's "measure_reset_idle" rule), and crosstalk
  (``crosstalk_zz``/``crosstalk_xx``) on each pair of qubits that sit at the coupling distance of
  the layout and belong to different two-qubit gates of that layer. Crosstalk on a circuit
  without qubit coordinates is refused (never dropped silently).

Photon loss (``p_loss``, the loss of one photon over one round: the round's optical components
and its detector, `qec_gym.noise.physical.HardwareParams.to_noise`). Every photon that travels
is lost with ``p_loss`` once per round it lives through, lumped at one location:

- data photons: at each round start (the ``I[round_data]`` marker), before that round's
  stabiliser gates (the phenomenological loss convention of Stace, Barrett & Doherty, PRL 102,
  200501 (2009));
- measured photons, i.e. each ancilla in each round and each data photon in the final readout:
  just before the measurement (its flip ``p_meas`` comes after), so the outcome of a lost photon is
  a uniformly random bit (a *measurement erasure*, Barrett & Stace, PRL 105, 200502 (2010):
  a lost ancilla leaves its syndrome bit missing). A fresh ancilla erased anywhere before its
  first gate would act the same (its Pauli either flips the outcome or spreads as a whole
  stabiliser), so lumping the ancilla's loss at its measurement omits only losses *between* its
  gates (a partial-stabiliser error), whose heralds could not say when they happened.

Each loss channel carries the tag ``loss`` (`LOSS_TAG`): `qec_gym.sim.erasure.heralded_circuit`
replaces exactly these channels by ``HERALDED_ERASE`` (same physical process, the decoder then
knows where it happened); without heralds a decoder sees only their twirl, as here.

With ``NoiseParams.uniform(p)`` the result has the same detector error model as stim's
``Circuit.generated`` with its four uniform knobs at p (tested).

Bias convention (Bonilla Ataides et al. 2021, eta = p_Z / (p_X + p_Y)), the same for one- and
two-qubit channels: single-qubit p_X = p_Y = p / (2 (eta + 1)), p_Z = p eta / (eta + 1), i.e.
weights 1 : 1 : 2 eta for X : Y : Z. Two-qubit (`biased_pauli2`): each qubit's Pauli has weight
2 eta for I and Z and 1 for X and Y, a pair's weight is the product, and the 15 non-identity pairs
share p2 in proportion. So IZ, ZI and ZZ are equally likely, each qubit's marginal has bias
exactly eta, and eta = 0.5 gives the depolarising channels exactly.

Example:
    >>> from qec_gym.codes import CodeSpec
    >>> from qec_gym.codes.templates import template_circuit
    >>> from qec_gym.noise import NoiseParams
    >>> noisy = add_noise(template_circuit(CodeSpec("repetition", 3, rounds=2)), NoiseParams.uniform(1e-3))
    >>> noisy.num_detectors
    6
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import stim

from qec_gym.codes.templates import ROUND_DATA_TAG
from qec_gym.noise.params import NoiseParams

LOSS_TAG = "loss"
"""Tag of the depolarising channels that stand for photon loss (replaced by heralds in `qec_gym.sim.erasure`)."""

LOSS_MODEL_VERSION = 2
"""Version of the loss insertion: 1 lost data photons only; 2 every photon (ancillas and readout
too). Part of the key of cached tables whose noise has loss (`qec_gym.envs.table.TableConfig.key`)."""

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


def _pair_weights(eta: float) -> list[float]:
    """Unnormalised weights of the 15 two-qubit Paulis (stim's order) for bias ``eta``."""
    w = {"I": 2.0 * eta, "X": 1.0, "Y": 1.0, "Z": 2.0 * eta}
    return [w[a] * w[b] for a, b in _PAULI_PAIRS]


_PAULI_PAIRS = [(a, b) for a in "IXYZ" for b in "IXYZ" if (a, b) != ("I", "I")]


def biased_pauli2(p: float, eta: float) -> list[float]:
    """The 15 probabilities of stim's PAULI_CHANNEL_2 (order IX, IY, IZ, XI, ..., ZZ).

    Construction (module docstring): weight 2 eta for I and Z and 1 for X and Y on each qubit,
    multiplied over the pair, normalised over the 15 non-identity pairs to total ``p``. Each
    qubit's marginal then has p_Z / (p_X + p_Y) = eta, as the one-qubit channel.

    Example:
        >>> probs = biased_pauli2(0.01, 100.0)
        >>> round(probs[14] / probs[2], 6), round(probs[14] / probs[3], 1)  # ZZ : IZ, ZZ : XI
        (1.0, 200.0)
    """
    weights = _pair_weights(eta)
    total = sum(weights)
    return [p * w / total for w in weights]


def p2_for_z_type(q: float, eta: float) -> float:
    """Total ``p2`` whose `biased_pauli2` gives each of IZ, ZI and ZZ probability ``q``.

    Example:
        >>> round(biased_pauli2(p2_for_z_type(1e-3, 1e6), 1e6)[14], 12)
        0.001
    """
    weights = _pair_weights(eta)
    return q * sum(weights) / weights[-1]


# Controlled-Pauli gates as (control Pauli, target Pauli): gate = I - 2 Pi with the projector
# Pi = (I - P_c)/2 (x) (I - P_t)/2 (CX: |1><1| (x) |-><-|).
_CONTROLLED_PAULI = {
    "CX": ("Z", "X"), "ZCX": ("Z", "X"), "CY": ("Z", "Y"), "ZCY": ("Z", "Y"), "CZ": ("Z", "Z"),
    "ZCZ": ("Z", "Z"), "XCX": ("X", "X"), "XCY": ("X", "Y"), "XCZ": ("X", "Z"), "YCX": ("Y", "X"),
    "YCY": ("Y", "Y"), "YCZ": ("Y", "Z"),
}
_PAULI_MATRICES = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


@functools.lru_cache(maxsize=None)
def _conversion_matrix(gate: str) -> np.ndarray:
    """(15, 15) matrix: row = Pauli occurring during ``gate``, column = twirled Pauli after it."""
    pc, pt = _CONTROLLED_PAULI[gate]
    eye = np.eye(2)
    proj = np.kron((eye - _PAULI_MATRICES[pc]) / 2, (eye - _PAULI_MATRICES[pt]) / 2)
    paulis = [np.kron(_PAULI_MATRICES[a], _PAULI_MATRICES[b]) for a, b in _PAULI_PAIRS]
    # The error happens at a uniformly random time; the remaining rotation angle phi is uniform
    # on [0, pi]. The integrands are trigonometric polynomials of low degree: 16 Gauss-Legendre
    # nodes integrate them to machine precision.
    nodes, weights = np.polynomial.legendre.leggauss(16)
    phis, weights = (nodes + 1) * np.pi / 2, weights / 2
    out = np.zeros((15, 15))
    for phi, w in zip(phis, weights):
        u = np.eye(4) + (np.exp(1j * phi) - 1) * proj
        for i, e in enumerate(paulis):
            m = u @ e @ u.conj().T
            out[i] += w * np.array([abs(np.trace(f @ m) / 4) ** 2 for f in paulis])
    return out


def converted_pauli2(probs: list[float], gate: str) -> list[float]:
    """A two-qubit Pauli channel acting *during* a non-bias-preserving ``gate``, as seen after it.

    Model (two-level qubits, whose CX cannot preserve a Z bias: Puri et al. 2020, Sci. Adv. 6,
    eaay5901): the gate is the continuous rotation ``U(phi) = exp(i phi Pi)`` up to ``phi = pi``
    (``Pi`` the projector with ``gate = I - 2 Pi``); each error happens at a uniformly random time,
    is conjugated by the rest of the rotation and Pauli-twirled. For CX a Z on the target becomes
    Z_t, Z_c Z_t, Y_t, Z_c Y_t with probabilities 3/8, 3/8, 1/8, 1/8; a Z on the control commutes
    and stays. CZ commutes with Z errors and preserves the bias. The total probability is kept.

    Args:
        probs: The 15 probabilities of stim's PAULI_CHANNEL_2 order (first qubit = control).
        gate: A controlled-Pauli gate name (CX, CY, CZ, XCX, XCY, XCZ, YCX, YCY, YCZ).

    Raises:
        ValueError: a gate without a continuous controlled-Pauli model.

    Example:
        >>> out = converted_pauli2([0.0, 0.0, 1.0] + [0.0] * 12, "CX")  # IZ during a CX
        >>> [round(out[i], 6) for i in (1, 2, 13, 14)]  # IY, IZ, ZY, ZZ
        [0.125, 0.375, 0.125, 0.375]
    """
    if gate not in _CONTROLLED_PAULI:
        raise ValueError(
            f"no non-bias-preserving model for the gate {gate}; use bias_preserving=True or a "
            f"circuit of controlled-Pauli gates ({sorted(_CONTROLLED_PAULI)})."
        )
    return [float(x) for x in np.asarray(probs, dtype=float) @ _conversion_matrix(gate)]


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
        ValueError: if the template already contains noise channels, or crosstalk is asked for on
            a circuit whose qubits have no coordinates (no neighbours to couple).
    """
    crosstalk = bool(noise.crosstalk_zz or noise.crosstalk_xx)
    # Only crosstalk reads the pairs; skipping them otherwise saves ~40% of a d=25 build.
    coupled = _coupled_pairs(template, template.get_final_qubit_coordinates()) if crosstalk else frozenset()
    if crosstalk and not coupled:
        raise ValueError(
            "crosstalk needs neighbouring qubits, but this circuit has no qubit coordinates (or no "
            "two-qubit gates): add QUBIT_COORDS to the template or set crosstalk_zz = crosstalk_xx = 0."
        )
    return _NoiseInserter(noise, coupled).run(template)


def _coupled_pairs(template: stim.Circuit, coords: dict[int, list[float]]) -> frozenset[tuple[int, int]]:
    """Qubit pairs at the layout's coupling distance (the shortest two-qubit-gate distance).

    Qubits are bucketed on a grid of cells one coupling distance wide, so only neighbouring
    cells are compared: O(qubits) instead of all pairs (0.34 s at d=25, ~6 s at d=51 before).
    """
    gate_pairs: set[tuple[int, int]] = set()
    _collect_gate_pairs(template, gate_pairs)
    if not gate_pairs or not coords:
        return frozenset()
    if any(q not in coords for pair in gate_pairs for q in pair):
        return frozenset()
    reach = max(math.dist(coords[a], coords[b]) for a, b in gate_pairs) * (1 + 1e-9)
    width = reach or 1.0  # coincident gate qubits: any positive cell width is exact
    cells: dict[tuple[int, ...], list[int]] = {}
    for q in sorted(coords):
        cells.setdefault(tuple(math.floor(x / width) for x in coords[q]), []).append(q)
    pairs = []
    for cell, members in cells.items():
        for offset in itertools.product((-1, 0, 1), repeat=len(cell)):
            # cells of different dimension never share a key length, so never pair (as before)
            for b in cells.get(tuple(c + o for c, o in zip(cell, offset)), ()):
                pairs.extend((a, b) for a in members if a < b and math.dist(coords[a], coords[b]) <= reach)
    # sorted insertion gives the same frozenset, iteration order included, as the all-pairs scan
    return frozenset(sorted(pairs))


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
        self.collapsed: set[int] = set()  # qubits measured or reset in this layer
        self.gate_of: dict[int, int] = {}  # qubit -> index of its two-qubit gate in this layer
        self.gp1 = biased_pauli1(noise.p1, noise.eta)
        self.gp2 = biased_pauli2(noise.p2, noise.eta)
        self.data_channel = compose_pauli1(
            (noise.p_data / 3, noise.p_data / 3, noise.p_data / 3),
            (0.0, 0.0, noise.p_dephase),
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
            self._loss(out, qs)
        elif name in _RESETS:
            out.append(inst)
            self._flip(out, _FLIP_FOR_BASIS[_RESETS[name]], self.n.p_reset, qs)
            self.collapsed.update(qs)
        elif name in _MEASURES:
            self._loss(out, qs)
            self._flip(out, _FLIP_FOR_BASIS[_MEASURES[name]], self.n.p_meas, qs)
            out.append(inst)
            self.collapsed.update(qs)
        elif name in _MEASURE_RESETS:
            flip = _FLIP_FOR_BASIS[_MEASURE_RESETS[name]]
            self._loss(out, qs)
            self._flip(out, flip, self.n.p_meas, qs)
            out.append(inst)
            self._flip(out, flip, self.n.p_reset, qs)
            self.collapsed.update(qs)
        elif gate.is_unitary and gate.is_single_qubit_gate:
            out.append(inst)
            self._pauli1(out, self.gp1, qs)
        elif gate.is_unitary and gate.is_two_qubit_gate:
            out.append(inst)
            if self.n.p2 > 0:
                # Depolarising noise is invariant under the gate, so the conversion of a
                # non-bias-preserving gate leaves it as it is.
                if self.n.eta == 0.5:
                    out.append("DEPOLARIZE2", targets, self.n.p2)
                elif self.n.bias_preserving:
                    out.append("PAULI_CHANNEL_2", targets, self.gp2)
                else:
                    out.append("PAULI_CHANNEL_2", targets, converted_pauli2(self.gp2, name))
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
        if self.collapsed:
            waiting = [q for q in self.qubits if q not in self.collapsed]
            self._pauli1(out, (n.readout_idle_x, n.readout_idle_y, n.readout_idle_z), waiting)
        self.busy = set()
        self.collapsed = set()
        self.gate_of = {}

    def _loss(self, out: stim.Circuit, qs: list[int]) -> None:
        """Photon loss on ``qs`` as its twirl, tagged so that heralding can find it (module docstring)."""
        if self.n.p_loss > 0 and qs:
            out.append(stim.CircuitInstruction("DEPOLARIZE1", qs, [0.75 * self.n.p_loss], tag=LOSS_TAG))

    @staticmethod
    def _flip(out: stim.Circuit, name: str, p: float, qs: list[int]) -> None:
        if p > 0 and qs:
            out.append(name, qs, p)

    @staticmethod
    def _pauli1(out: stim.Circuit, channel: tuple[float, float, float], qs: list[int]) -> None:
        px, py, pz = channel
        if not qs or px + py + pz == 0:
            return
        if px == py == pz and 3 * px <= 0.75:  # stim's DEPOLARIZE1 stops at the fully mixed point
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
