"""Ingestion of stim result files: replay equals direct PyMatching decoding; bad input is named."""

from __future__ import annotations

import json

import numpy as np
import pymatching
import pytest
import stim

from qec_gym.cli import main
from qec_gym.monitor.ingest import FORMATS, example_path, ingest, read_shots
from qec_gym.monitor.telemetry import TelemetryWriter, read_telemetry

SHOTS = 20_000


@pytest.fixture(scope="module")
def d5(tmp_path_factory):
    """d=5 rotated surface memory (stim-uniform 5e-3), 20,000 shots written by stim's sampler."""
    d = tmp_path_factory.mktemp("d5")
    c = stim.Circuit.generated("surface_code:rotated_memory_x", distance=5, rounds=5,
                               after_clifford_depolarization=5e-3, after_reset_flip_probability=5e-3,
                               before_measure_flip_probability=5e-3, before_round_data_depolarization=5e-3)
    (d / "c.stim").write_text(str(c))
    m = pymatching.Matching.from_detector_error_model(c.detector_error_model(decompose_errors=True))
    truth = {}
    for fmt in FORMATS:
        n = SHOTS if fmt != "ptb64" else SHOTS + 32  # ptb64 stores groups of 64 shots
        c.compile_detector_sampler(seed=99).sample_write(n, filepath=str(d / f"e.{fmt}"), format=fmt,
                                                          append_observables=True)
        # the reference: stim's own reader and PyMatching directly
        dets, obs = stim.read_shot_data_file(path=str(d / f"e.{fmt}"), format=fmt, num_detectors=c.num_detectors,
                                             num_observables=c.num_observables, separate_observables=True)
        truth[fmt] = (dets, int(np.count_nonzero(np.any(m.decode_batch(dets) != obs, axis=1))))
    return d, c, truth


@pytest.mark.parametrize("fmt", FORMATS)
def test_replay_equals_direct_decoding(d5, fmt, tmp_path):
    d, c, truth = d5
    dets, direct = truth[fmt]
    assert direct > 50  # a meaningful count (p_L ~ 1% per shot here)
    with TelemetryWriter(tmp_path) as w:
        s = ingest(d / f"e.{fmt}", fmt, circuit=d / "c.stim", observables="appended", window_shots=4096, writer=w)
    assert s.shots == len(dets) and s.logical_errors == direct
    assert s.windows == -(-len(dets) // 4096)
    assert s.detection_fraction == pytest.approx(dets.mean(), rel=1e-12)
    df = read_telemetry(tmp_path)
    assert df["logical_errors"].sum() == direct and df["shots"].sum() == len(dets)
    np.testing.assert_allclose(df["detector_rates"].iloc[0], dets[:4096].mean(axis=0), atol=2e-4)


def test_chunks_reassemble_the_file(d5):
    d, c, truth = d5
    dets = truth["b8"][0]
    got = np.concatenate(list(read_shots(d / "e.r8", "r8", num_detectors=c.num_detectors, num_observables=1, chunk_shots=777)))
    np.testing.assert_array_equal(got[:, :-1], dets)


def test_cli_ingest_and_replay(d5, tmp_path, capsys):
    d, _, truth = d5
    direct = truth["b8"][1]
    for cmd in (["ingest", str(d / "e.b8")], ["monitor", "--replay", str(d / "e.01")]):
        fmt = "b8" if cmd[0] == "ingest" else "01"
        assert main([*cmd, "--format", fmt, "--circuit", str(d / "c.stim"), "--observables", "appended",
                     "--out", str(tmp_path / cmd[0])]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["logical_errors"] == direct and out["shots"] == SHOTS
        assert len(read_telemetry(tmp_path / cmd[0])) == out["windows"]


def test_shipped_example_is_small_and_decodes():
    assert sum(example_path(k).stat().st_size for k in ("circuit", "b8", "01")) < 200_000
    c = stim.Circuit(example_path("circuit").read_text())
    dets, obs = stim.read_shot_data_file(path=str(example_path("01")), format="01", num_detectors=c.num_detectors,
                                         num_observables=1, separate_observables=True)
    m = pymatching.Matching.from_detector_error_model(c.detector_error_model(decompose_errors=True))
    direct = int(np.count_nonzero(np.any(m.decode_batch(dets) != obs, axis=1)))
    for fmt in ("b8", "01"):
        assert ingest(example_path(fmt), fmt, circuit=c, observables="appended").logical_errors == direct


def test_bad_input_is_named(d5, tmp_path, capsys):
    d, c, _ = d5
    # width mismatch: file has the observable appended but it was not declared (one bit too many)
    with pytest.raises(ValueError, match=r"shot 0 \(line 1, byte 0\) has 121 characters, expected 120"):
        ingest(d / "e.01", "01", circuit=c)
    with pytest.raises(ValueError, match="shot 0 overruns its 120 bits at byte"):
        ingest(d / "e.r8", "r8", circuit=c)
    small = stim.Circuit.generated("surface_code:rotated_memory_x", distance=3, rounds=3,
                                   after_clifford_depolarization=1e-3)
    with pytest.raises(ValueError, match="width mismatch"):
        ingest(d / "e.b8", "b8", circuit=small, observables="appended", window_shots=SHOTS)
    # truncated files
    blob = (d / "e.b8").read_bytes()
    (tmp_path / "t.b8").write_bytes(blob[:-3])
    per = (c.num_detectors + 1 + 7) // 8
    with pytest.raises(ValueError, match=f"truncated b8 file: shot {SHOTS - 1} is incomplete .* at byte {(SHOTS - 1) * per}"):
        ingest(tmp_path / "t.b8", "b8", circuit=c, observables="appended")
    (tmp_path / "t.01").write_bytes((d / "e.01").read_bytes()[:-5])
    with pytest.raises(ValueError, match=f"shot {SHOTS - 1} .* is truncated"):
        ingest(tmp_path / "t.01", "01", circuit=c, observables="appended")
    (tmp_path / "t.r8").write_bytes((d / "e.r8").read_bytes()[:-1])
    with pytest.raises(ValueError, match=f"truncated r8 file: shot {SHOTS - 1} starting at byte"):
        ingest(tmp_path / "t.r8", "r8", circuit=c, observables="appended")
    (tmp_path / "t.ptb64").write_bytes((d / "e.ptb64").read_bytes()[:-1])
    with pytest.raises(ValueError, match="truncated ptb64 file"):
        ingest(tmp_path / "t.ptb64", "ptb64", circuit=c, observables="appended", window_shots=4096)
    # unknown format
    with pytest.raises(ValueError, match="unknown format 'hdf5': choose one of 01, b8, r8, dets, ptb64"):
        ingest(d / "e.b8", "hdf5", circuit=c)
    # DEM / circuit mismatch
    (tmp_path / "small.dem").write_text(str(small.detector_error_model(decompose_errors=True)))
    with pytest.raises(ValueError, match=r"DEM \(24 detectors, 1 observables\) does not match the circuit \(120"):
        ingest(d / "e.b8", "b8", circuit=c, dem=tmp_path / "small.dem")
    # the CLI turns them into one clear line and exit status 2
    assert main(["ingest", str(d / "e.b8"), "--format", "hdf5", "--circuit", str(d / "c.stim"), "--no-anomaly"]) == 2
    assert "argument --format/-f: invalid choice: 'hdf5'" in capsys.readouterr().err
