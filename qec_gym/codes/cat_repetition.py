"""The ``cat_repetition`` code family: a phase-flip repetition code over cat qubits.

Layout: stim's ``repetition_code:memory`` conjugated by Hadamards (`qec_gym.codes.templates`):
an X-basis memory of ``d`` data cats and ``d - 1`` ancilla cats on a line, stabilisers
``X_i X_{i+1}`` measured with two CX gates per ancilla (ancilla = control, data = target), ancillas
prepared (``RX``) and read out (``MX``) in the X basis every round, data read out once at the end.

Noise: the generic rules of `qec_gym.codes.noise_model` with one family convention, that of a
cat qubit's X-basis readout (Guillaud & Mirrahimi, PRX 9, 041053 (2019); Gouzien et al.,
arXiv:2302.06639): ``p_meas`` is the *ancilla's* readout flip, which also carries the CX control's
excess phase flips (the ancilla is the control of both its gates, see
`qec_gym.bosonic.channel`), while the data's final X readout lasts as long as an X preparation and
flips with ``p_reset``. Under ``NoiseParams.uniform(p)`` both are ``p`` and the circuit equals the
generic one. `qec_gym.codes.build_circuit` builds this family through `cat_repetition_circuit`,
so every caller (simulation caches, tables, sweeps) gets the same circuit.

Example:
    >>> from qec_gym.codes import CodeSpec, build_circuit
    >>> from qec_gym.noise import NoiseParams
    >>> n = NoiseParams(p_meas=0.02, p_reset=0.001)
    >>> c = build_circuit(CodeSpec("cat_repetition", 3), n)
    >>> [i.gate_args_copy()[0] for i in c if i.name == "Z_ERROR"][-1]  # the data's final readout
    0.001
"""

from __future__ import annotations

import stim

from qec_gym.codes.noise_model import add_noise
from qec_gym.codes.spec import CodeSpec
from qec_gym.codes.templates import template_circuit
from qec_gym.noise.params import NoiseParams

CAT_FAMILY = "cat_repetition"
"""Name of the family in `qec_gym.codes.FAMILIES`."""

__all__ = ["CAT_FAMILY", "cat_repetition_circuit"]


def cat_repetition_circuit(spec: CodeSpec, noise: NoiseParams) -> stim.Circuit:
    """The noisy circuit of a ``cat_repetition`` spec (module docstring for the readout convention).

    Args:
        spec: A ``CodeSpec("cat_repetition", d, ...)``.
        noise: Error probabilities; for cats from `qec_gym.bosonic.channel.cat_noise_params`.

    Returns:
        The generic noisy circuit whose data-readout flip is ``noise.p_reset`` instead of
        ``noise.p_meas``.

    Raises:
        ValueError: ``spec`` is not of the ``cat_repetition`` family.
    """
    if not isinstance(spec, CodeSpec) or spec.family != CAT_FAMILY:
        raise ValueError(f"cat_repetition_circuit needs a CodeSpec('{CAT_FAMILY}', d), got {spec!r}.")
    return _with_data_readout(add_noise(template_circuit(spec), noise), p_meas=noise.p_meas, p_readout=noise.p_reset)


def _with_data_readout(circuit: stim.Circuit, *, p_meas: float, p_readout: float) -> stim.Circuit:
    """Replace the flip before the final (top-level) MX of the data by ``p_readout``."""
    insts = list(circuit)
    last = max((i for i, inst in enumerate(insts) if getattr(inst, "name", "") == "MX"), default=None)
    if last is None:  # pragma: no cover - every cat_repetition template ends with the data's MX
        raise RuntimeError("internal error: no final MX in a cat_repetition circuit")
    targets = insts[last].targets_copy()
    out = stim.Circuit()
    for i, inst in enumerate(insts):
        if i == last - 1 and p_meas > 0:
            prev = insts[last - 1]
            if not (prev.name == "Z_ERROR" and prev.targets_copy() == targets):
                raise RuntimeError("internal error: the final data readout has no readout flip to rewrite")
            continue  # dropped: re-added below with the readout probability
        if i == last and p_readout > 0:
            out.append("Z_ERROR", targets, p_readout)
        out.append(inst)
    return out
