"""The decoder seam (docs/design.md, GPU note): a user's `Decoder` subclass, passed as an instance,
runs through `simulate_window` exactly like a registered one."""

import numpy as np
import pymatching
import stim

from qec_gym.codes import CodeSpec
from qec_gym.decoders import get_decoder
from qec_gym.decoders.base import CompiledDecoder, Decoder
from qec_gym.noise.params import NoiseParams
from qec_gym.sim import SimulationCache, simulate_window


class _Compiled(CompiledDecoder):
    def __init__(self, dem: stim.DetectorErrorModel):
        self.matching = pymatching.Matching.from_detector_error_model(dem)
        self.num_detectors, self.num_observables = dem.num_detectors, dem.num_observables
        self.calls = 0

    def decode_batch_with_effort(self, detection_events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        predictions, weights = self.matching.decode_batch(detection_events, return_weights=True)
        return predictions.astype(bool), weights


class _UserMatching(Decoder):
    """Stands in for an external (e.g. GPU) decoder: not in the registry."""

    name = "user-matching"
    needs_graphlike = True

    def _compile(self, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        return _Compiled(dem)


def test_a_user_decoder_instance_runs_through_simulate_window():
    spec, noise = CodeSpec("rotated_surface", 3, rounds=3), NoiseParams.uniform(5e-3)
    user = get_decoder(_UserMatching())
    assert isinstance(user, _UserMatching)
    got = simulate_window(spec, noise, decoder=user, shots=4000, rng=np.random.default_rng(7), cache=SimulationCache())
    ref = simulate_window(spec, noise, decoder="pymatching", shots=4000, rng=np.random.default_rng(7),
                          cache=SimulationCache())
    assert got.decoder == "user-matching"
    # same shots (same seed), same matching: the same logical errors, and some errors occurred
    assert got.errors == ref.errors > 0
    assert got.detection_rate == ref.detection_rate
