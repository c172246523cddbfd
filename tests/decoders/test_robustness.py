"""Issue 11 items 1-2: no decoder option crashes the interpreter, a dying sinter worker raises,
and errors with probability above 1/2 are decoded correctly by every decoder."""

import ctypes
import json
import pathlib
import subprocess
import sys
import time

import numpy as np
import pymatching
import pytest
import sinter
import stim

from qec_gym.codes import CodeSpec, build_circuit
from qec_gym.decoders import DECODERS, get_decoder
from qec_gym.decoders.sinter_adapter import WorkerDiedError, collect
from qec_gym.noise import NoiseParams
from qec_gym.sim.cache import detector_error_model
from qec_gym.sim.stats import binomial_ci
from qec_gym.sim.sweep import SweepConfig, run_sweep

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _overlap(a: int, b: int, n: int) -> bool:
    lo_a, hi_a = binomial_ci(a, n, confidence=0.999)
    lo_b, hi_b = binomial_ci(b, n, confidence=0.999)
    return lo_a <= hi_b and lo_b <= hi_a


def test_bposd_cli_example_exits_cleanly_with_the_right_rate():
    # repetition_phase d=2, one round, code capacity p: D0 fires for an error on either qubit and
    # the two are equally likely, so any decoder fails with probability exactly p (one qubit
    # alone, p (1 - p), plus both, p^2). ldpc segfaulted here (osd_order 4 > free dimension 0).
    shots = 20_000
    proc = subprocess.run(
        [sys.executable, "-m", "qec_gym.cli", "simulate", "--code", "repetition_phase", "-d", "2",
         "--rounds", "1", "--noise", "code_capacity", "-p", "0.01", "--decoder", "bposd",
         "--shots", str(shots), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    lo, hi = binomial_ci(row["errors"], shots, confidence=0.999)
    assert lo <= 0.01 <= hi


@pytest.mark.parametrize("method,order", [("osd_cs", 10), ("osd_e", 8)])
def test_osd_order_above_the_free_dimension_is_clamped(method, order):
    # full column rank (free dimension 0): ldpc 2.4 crashes on osd_cs with order >= 2
    dem = stim.DetectorErrorModel("error(0.1) D0\nerror(0.1) D1\nerror(0.1) D0 D1 L0")
    dec = get_decoder("bposd", osd_method=method, osd_order=order).compile(dem)
    assert dec.decode_batch(np.array([[1, 1], [1, 0]], dtype=bool)).tolist() == [[True], [False]]


@pytest.mark.parametrize("name,options,match", [
    ("bposd", {"osd_order": -1}, "osd_order must be an int >= 0"),
    ("bposd", {"max_iter": 0}, "max_iter must be an int >= 1"),
    ("bposd", {"osd_method": "osd0", "osd_order": 2}, "takes osd_order=0"),
    ("bposd", {"osd_method": "osd_e", "osd_order": 40}, "2\\*\\*osd_order"),
    ("bposd", {"osd_method": "osd_x"}, "osd_method must be one of"),
    ("bplsd", {"lsd_order": 1.5}, "lsd_order must be an int"),
    ("bplsd", {"bp_method": "belief"}, "bp_method must be one of"),
    ("bplsd", {"ms_scaling_factor": float("nan")}, "ms_scaling_factor"),
])
def test_bad_ldpc_options_are_clear_errors(name, options, match):
    with pytest.raises(ValueError, match=match):
        get_decoder(name, **options)


def test_bposd_sweep_of_the_crashing_case_finishes():
    cfg = SweepConfig(families=("repetition_phase",), distances=(2,), p_values=(0.01,), decoders=("bposd",),
                      noise="code_capacity", rounds=1, max_shots=2000, max_errors=2000, num_workers=1)
    (stats,) = run_sweep(cfg, save_path=None)
    assert stats.shots == 2000
    lo, hi = binomial_ci(stats.errors, stats.shots, confidence=0.999)
    assert lo <= 0.01 <= hi


class _SegfaultingDecoder(sinter.Decoder):
    """Unpickling it (which happens inside each sinter worker) dereferences NULL."""

    def __reduce__(self):
        return ctypes.string_at, (0,)

    def compile_decoder_for_dem(self, *, dem):  # pragma: no cover - never reached
        raise AssertionError


def test_a_dying_worker_is_an_error_not_a_hang():
    circuit = stim.Circuit.generated("repetition_code:memory", distance=3, rounds=2,
                                     before_round_data_depolarization=0.05)
    t0 = time.monotonic()
    with pytest.raises(WorkerDiedError, match="SIGSEGV"):
        collect(num_workers=1, tasks=[sinter.Task(circuit=circuit, decoder="crash")], max_shots=100,
                decoders=["crash"], custom_decoders={"crash": _SegfaultingDecoder()})
    # the worker dies while starting (interpreter start-up, a few seconds on a busy machine)
    assert time.monotonic() - t0 < 60


@pytest.fixture(scope="module")
def likely_readout_flips():
    """Rotated d=3, uniform 1e-3 but readout flips with probability 0.95 (issue 11 item 2)."""
    spec = CodeSpec("rotated_surface", 3)
    shots = 4000
    out = {}
    for p_meas, seed in ((0.95, 5), (0.05, 6)):
        circuit = build_circuit(spec, NoiseParams.uniform(1e-3).replace(p_meas=p_meas))
        dets, obs = circuit.compile_detector_sampler(seed=seed).sample(shots, separate_observables=True)
        out[p_meas] = (circuit, dets, obs)
    return spec, shots, out


def _errors(name, spec, circuit, dets, obs):
    dec = get_decoder(name)
    pred = dec.compile(detector_error_model(circuit, dec, spec)).decode_batch(dets)
    return int(np.any(pred != obs, axis=1).sum())


@pytest.mark.parametrize("name", sorted(n for n in DECODERS if n != "chromobius" and get_decoder(n).installed()))  # chromobius: colour codes only
def test_errors_above_one_half_are_decoded_correctly(name, likely_readout_flips):
    spec, shots, runs = likely_readout_flips
    circuit, dets, obs = runs[0.95]
    errors = _errors(name, spec, circuit, dets, obs)
    # independent reference: PyMatching on the raw DEM (it handles negative weights itself);
    # measured 183/4000 = 0.046. Before the fix: bposd 0.18, uf 0.66.
    raw = pymatching.Matching.from_detector_error_model(circuit.detector_error_model(decompose_errors=True))
    reference = int(np.any(raw.decode_batch(dets).astype(bool) != obs, axis=1).sum())
    assert binomial_ci(reference, shots)[1] < 0.06
    if name != "uf":  # MWPM-accurate decoders match the reference
        assert _overlap(errors, reference, shots)
    # a readout flipping 95% of the time is a deterministic flip plus a 5% one: each decoder
    # must do as well as it does at p_meas = 0.05 (fresh shots)
    circuit5, dets5, obs5 = runs[0.05]
    assert _overlap(errors, _errors(name, spec, circuit5, dets5, obs5), shots)


def test_correlated_matching_accepts_errors_above_one_half():
    spec = CodeSpec("rotated_surface", 3)
    circuit = build_circuit(spec, NoiseParams.uniform(1e-3).replace(p_meas=0.6))
    dec = get_decoder("pymatching-correlated")
    compiled = dec.compile(detector_error_model(circuit, dec, spec))
    dets, obs = circuit.compile_detector_sampler(seed=3).sample(2000, separate_observables=True)
    plain = get_decoder("pymatching").compile(detector_error_model(circuit, get_decoder("pymatching"), spec))
    a = int(np.any(compiled.decode_batch(dets) != obs, axis=1).sum())
    b = int(np.any(plain.decode_batch(dets) != obs, axis=1).sum())
    assert _overlap(a, b, 2000)


def test_packed_path_applies_the_offsets(likely_readout_flips):
    spec, shots, runs = likely_readout_flips
    circuit, dets, obs = runs[0.95]
    for name in ("pymatching", "bposd"):
        dec = get_decoder(name)
        compiled = dec.compile(detector_error_model(circuit, dec, spec))
        packed = np.packbits(dets[:300], axis=1, bitorder="little")
        pred_packed, _ = compiled.decode_packed_with_effort(packed, dets[:300])
        unpacked = np.unpackbits(pred_packed, axis=1, count=obs.shape[1], bitorder="little").astype(bool)
        assert np.array_equal(unpacked, compiled.decode_batch(dets[:300]))
