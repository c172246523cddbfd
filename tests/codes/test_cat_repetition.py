"""The cat_repetition family goes through codes.build_circuit with its readout convention."""

import pytest
import stim

from qec_gym.codes import CodeSpec, build_circuit
from qec_gym.codes.cat_repetition import cat_repetition_circuit
from qec_gym.codes.noise_model import add_noise
from qec_gym.codes.templates import template_circuit
from qec_gym.noise import NoiseParams


def _readout_flips(circuit: stim.Circuit) -> list[tuple[float, list[int]]]:
    """(probability, targets) of each Z_ERROR right before an X-basis measurement, in order."""
    out, prev = [], None
    for inst in circuit.flattened():
        if inst.name in ("MX", "MRX") and prev is not None and prev.name == "Z_ERROR":
            out.append((prev.gate_args_copy()[0], [t.value for t in inst.targets_copy()]))
        prev = inst
    return out


def test_data_readout_flips_with_p_reset_and_ancillas_with_p_meas():
    n = NoiseParams(p_meas=0.03, p_reset=0.002, p2=0.01, eta=1e6)
    c = build_circuit(CodeSpec("cat_repetition", 3, rounds=2), n)
    flips = _readout_flips(c)
    # stim's repetition code: data 0, 2, 4 and ancillas 1, 3 (Hadamard-conjugated to X basis)
    assert flips[:-1] == [(0.03, [1, 3])] * 2
    assert flips[-1] == (0.002, [0, 2, 4])
    assert str(c) == str(cat_repetition_circuit(CodeSpec("cat_repetition", 3, rounds=2), n))


def test_uniform_noise_gives_the_generic_circuit():
    spec = CodeSpec("cat_repetition", 5)
    n = NoiseParams.uniform(1e-3)
    assert str(build_circuit(spec, n)) == str(add_noise(template_circuit(spec), n))


def test_other_families_are_refused():
    with pytest.raises(ValueError, match="cat_repetition"):
        cat_repetition_circuit(CodeSpec("repetition_phase", 3), NoiseParams.uniform(1e-3))
