"""Large codes (issue 15 item 2): d = 25 surface codes (~1,250 qubits, 25 rounds) simulate and
decode correctly, checked against stim's own generated circuit and closed forms.

Each test compiles a d = 25 matching graph (seconds), so they are marked slow.
"""

import numpy as np
import pytest
import stim

from qec_gym.codes import CodeSpec, build_circuit, resources
from qec_gym.noise import NoiseParams
from qec_gym.sim import SimulationCache, simulate_window

D = 25
P = 1e-3

pytestmark = pytest.mark.slow


def _detector_probabilities(dem: stim.DetectorErrorModel) -> np.ndarray:
    """Exact marginal firing probability of each detector: independent errors e touching it
    flip it with probability (1 - prod(1 - 2 p_e)) / 2 (the XOR of independent Bernoullis)."""
    keep = np.ones(dem.num_detectors)
    for inst in dem.flattened():
        if inst.type == "error":
            p = inst.args_copy()[0]
            for t in inst.targets_copy():
                if t.is_relative_detector_id():
                    keep[t.val] *= 1 - 2 * p
    return (1 - keep) / 2


def test_d25_rotated_surface_is_stims_circuit_and_its_window_statistics_are_exact():
    spec = CodeSpec("rotated_surface", D, basis="x")
    ours = build_circuit(spec, NoiseParams.uniform(P))
    ref = stim.Circuit.generated("surface_code:rotated_memory_x", distance=D, rounds=D,
                                 after_clifford_depolarization=P, after_reset_flip_probability=P,
                                 before_measure_flip_probability=P, before_round_data_depolarization=P)
    ref_dem = ref.detector_error_model()
    assert ref_dem.approx_equals(ours.detector_error_model(), atol=1e-12)
    # X checks in round 1, X and Z checks in rounds 2..d, the X checks again from the final readout
    assert ours.num_detectors == ref.num_detectors == (D * D - 1) // 2 * (1 + 2 * (D - 1) + 1) == 15_600

    shots = 1000
    w = simulate_window(spec, NoiseParams.uniform(P), shots=shots, rng=np.random.default_rng(25),
                        cache=SimulationCache())
    assert resources(spec).qubits == 2 * D * D - 1 == w.resources.qubits
    assert len(w.detection_rate_by_round) == D + 1
    # Far below threshold a d=25 memory fails with probability ~1e-12 per shot: never here.
    assert w.errors == 0
    # The mean detection rate against its exact value from stim's DEM. Each error flips at most
    # two detectors, so correlations at most double the variance of the independent case.
    probs = _detector_probabilities(ref_dem)
    sigma = np.sqrt(2 * np.sum(probs * (1 - probs)) / shots) / probs.size
    assert abs(w.detection_rate - probs.mean()) < 5 * sigma, (w.detection_rate, probs.mean(), sigma)


@pytest.mark.parametrize("family", ["rotated_surface", "xzzx"])
def test_d25_window_fails_above_threshold_and_not_below(family):
    spec, cache = CodeSpec(family, D), SimulationCache()
    below = simulate_window(spec, NoiseParams.uniform(P), shots=500, rng=np.random.default_rng(1), cache=cache)
    assert below.errors == 0
    # p = 3% is ~3x the circuit-level threshold (~1%): 25 rounds of a d=25 code are a coin flip.
    above = simulate_window(spec, NoiseParams.uniform(3e-2), shots=100, rng=np.random.default_rng(2), cache=cache)
    lo, hi = above.ci(0.999)
    assert lo < 0.5 < hi, (above.errors, lo, hi)
    info = cache.info()
    assert info.entries == 5 and info.evictions == 0  # 2 circuits, 2 decoders, 1 layout
