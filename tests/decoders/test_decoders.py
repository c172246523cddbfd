import numpy as np
import pytest

from qec_gym.codes import CodeSpec, build_circuit
from qec_gym.decoders import DECODERS, get_decoder
from qec_gym.noise import NoiseParams
from qec_gym.sim.cache import detector_error_model
from qec_gym.sim.stats import binomial_ci


@pytest.fixture(scope="module")
def surface_samples():
    spec = CodeSpec("rotated_surface", 3)
    circuit = build_circuit(spec, NoiseParams.uniform(3e-3))
    dets, obs = circuit.compile_detector_sampler(seed=11).sample(3000, separate_observables=True)
    return spec, circuit, dets, obs


@pytest.mark.parametrize("name", sorted(n for n in DECODERS if n != "chromobius" and get_decoder(n).installed()))  # chromobius: colour codes only
def test_each_decoder_corrects_errors(name, surface_samples):
    spec, circuit, dets, obs = surface_samples
    dec = get_decoder(name)
    compiled = dec.compile(detector_error_model(circuit, dec, spec))
    pred, effort = compiled.decode_batch_with_effort(dets)
    assert pred.shape == obs.shape and pred.dtype == bool
    assert effort.shape == (len(dets),)
    errors = int(np.any(pred != obs, axis=1).sum())
    undecoded = int(obs.any(axis=1).sum())
    # a working decoder fixes most of the raw observable flips: its upper 99% bound stays
    # below the lower 99% bound of doing nothing
    assert binomial_ci(errors, len(dets))[1] < binomial_ci(undecoded, len(dets))[0]
    # no detection events -> no correction and zero effort
    zero_pred, zero_effort = compiled.decode_batch_with_effort(np.zeros((2, dets.shape[1]), bool))
    assert not zero_pred.any() and not zero_effort.any()


def test_matching_equals_pymatching_directly(surface_samples):
    import pymatching

    spec, circuit, dets, obs = surface_samples
    direct = pymatching.Matching.from_detector_error_model(circuit.detector_error_model(decompose_errors=True))
    ours = get_decoder("pymatching").compile(detector_error_model(circuit, get_decoder("pymatching"), spec))
    assert np.array_equal(ours.decode_batch(dets), direct.decode_batch(dets).astype(bool))


@pytest.mark.parametrize("name", ["pymatching", "pymatching-correlated", "uf"])
def test_graph_decoders_reject_hyperedges_with_a_hint(name):
    spec = CodeSpec("color", 5)
    circuit = build_circuit(spec, NoiseParams.uniform(1e-3))
    with pytest.raises(ValueError, match="bposd"):
        detector_error_model(circuit, get_decoder(name), spec)


def test_hypergraph_decoder_decodes_color_code():
    spec = CodeSpec("color", 5)
    circuit = build_circuit(spec, NoiseParams.uniform(2e-3))
    dec = get_decoder("bplsd")
    compiled = dec.compile(detector_error_model(circuit, dec, spec))
    dets, obs = circuit.compile_detector_sampler(seed=2).sample(2000, separate_observables=True)
    errors = int(np.any(compiled.decode_batch(dets) != obs, axis=1).sum())
    assert binomial_ci(errors, 2000)[1] < binomial_ci(int(obs.any(axis=1).sum()), 2000)[0]


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown decoder 'mwpm'"):
        get_decoder("mwpm")
    with pytest.raises(ValueError, match="bad options"):
        get_decoder("bposd", osd_orderr=3)


def test_wrong_shape_is_a_clear_error(surface_samples):
    spec, circuit, dets, obs = surface_samples
    dec = get_decoder("pymatching")
    compiled = dec.compile(detector_error_model(circuit, dec, spec))
    with pytest.raises(ValueError, match="another circuit"):
        compiled.decode_batch(dets[:, :-1])
