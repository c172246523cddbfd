"""Telemetry store: round trip, batching, schema versions, crash safety, concurrent readers, wrapper."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import qec_gym  # noqa: F401  (registers the envs)
from qec_gym.envs import ENV_IDS
from qec_gym.monitor.telemetry import (
    SCHEMA_VERSION,
    TelemetryRecord,
    TelemetryWrapper,
    TelemetryWriter,
    decode_rates,
    encode_rates,
    export_parquet,
    read_telemetry,
)

ROOT = Path(__file__).resolve().parents[2]


def _rec(t: int, run: str = "r", **kw) -> TelemetryRecord:
    return TelemetryRecord(run_id=run, t=t, shots=100, detection_fraction=0.01 * (t % 50), **kw)


def test_round_trip_every_field(tmp_path):
    rates = np.linspace(0, 0.2, 40)
    r = TelemetryRecord(
        run_id="a", t=3, wall_time=1.7e9, env_id="e", code="rotated_surface", distance=5, decoder="pymatching",
        nbar=None, config_label="rotated_surface d5 pymatching", shots=1000, detection_fraction=0.021,
        detection_fraction_x=0.02, detection_fraction_z=0.022, detection_fraction_by_round=(0.01, 0.03, 0.02),
        detector_rates=encode_rates(rates), noise_estimate=1.3, true_noise=1.25, logical_errors=4,
        logical_error_per_round=8e-4, logical_error_per_round_lo=2e-4, logical_error_per_round_hi=2e-3,
        decode_latency_s_per_round=1.1e-6, action=2, reward=-0.5, qubits=49, anomaly=("burst", "cusum_up"),
    )
    with TelemetryWriter(tmp_path) as w:
        w.append(r)
    df = read_telemetry(tmp_path)
    row = df.iloc[0]
    for name in ("run_id", "t", "wall_time", "env_id", "code", "distance", "decoder", "config_label", "shots",
                 "detection_fraction", "detection_fraction_x", "detection_fraction_z", "noise_estimate", "true_noise",
                 "logical_errors", "logical_error_per_round", "logical_error_per_round_lo",
                 "logical_error_per_round_hi", "decode_latency_s_per_round", "action", "reward", "qubits"):
        assert row[name] == getattr(r, name), name
    assert row["nbar"] is None or np.isnan(row["nbar"])
    assert row["anomaly"] == "burst,cusum_up"
    np.testing.assert_allclose(row["detection_fraction_by_round"], [0.01, 0.03, 0.02], rtol=1e-3)
    # float16 keeps 11 significant bits: relative error <= 2^-11
    np.testing.assert_allclose(row["detector_rates"], rates, rtol=2**-11, atol=1e-7)
    assert decode_rates(None) is None


def test_empty_fields_are_stored_as_sql_null(tmp_path):
    # the writer binds None as NaN (no adapter round trip), which SQLite stores as NULL in every
    # column type: pin it on the raw table, not only through read_telemetry
    with TelemetryWriter(tmp_path) as w:
        w.append(TelemetryRecord(run_id="a", t=0, wall_time=1.7e9, reward=float("nan")))
    conn = sqlite3.connect(tmp_path / "telemetry.sqlite")
    empty = ("distance", "nbar", "detection_fraction", "detection_fraction_by_round", "detector_rates",
             "logical_errors", "action", "reward", "qubits")
    got = conn.execute(f"SELECT {', '.join(f'typeof({c})' for c in empty)}, t, shots, anomaly FROM telemetry").fetchone()
    conn.close()
    assert got == ("null",) * len(empty) + (0, 0, "")


def test_rate_blobs_are_zlib_streams_equal_to_numpy_float16():
    import zlib

    rng = np.random.default_rng(1)
    for n in (1, 3, 64, 65, 500):
        v = np.r_[0.0, 1.0, 6e-8, rng.uniform(0, 0.1, n)][:n]  # incl. a float16 subnormal
        want = v.astype("<f2").tobytes()
        for blob in (encode_rates(v), encode_rates(tuple(v.tolist())), encode_rates(list(v))):
            assert zlib.decompress(blob) == want, n
        if n <= 64:  # short arrays: one stored block (2-byte header, 5-byte block header, 4-byte Adler-32)
            assert len(encode_rates(v)) == len(want) + 11
    # values float16 cannot hold go through numpy's cast (inf), as before
    with np.errstate(over="ignore"):
        assert np.isinf(decode_rates(encode_rates((1e6,)))).all()


def test_bad_records_raise():
    with pytest.raises(ValueError, match="run_id"):
        TelemetryRecord(run_id="", t=0)
    with pytest.raises(ValueError, match="t \\(window index\\)"):
        TelemetryRecord(run_id="a", t=-1)
    with pytest.raises(ValueError, match="detection_fraction"):
        TelemetryRecord(run_id="a", t=0, detection_fraction=1.5)
    with pytest.raises(ValueError, match="lo <= hi"):
        TelemetryRecord(run_id="a", t=0, logical_error_per_round_lo=0.2, logical_error_per_round_hi=0.1)
    with pytest.raises(ValueError, match="tuple of flag names"):
        TelemetryRecord(run_id="a", t=0, anomaly="burst")
    with pytest.raises(ValueError, match="encode_rates"):
        TelemetryRecord(run_id="a", t=0, detector_rates=np.zeros(3))


def test_batches_commit_by_count_and_by_time(tmp_path):
    w = TelemetryWriter(tmp_path, batch_size=10, max_delay_s=3600)
    for t in range(9):
        w.append(_rec(t))
    assert w.pending == 9 and len(read_telemetry(tmp_path)) == 0
    w.append(_rec(9))
    assert w.pending == 0 and len(read_telemetry(tmp_path)) == 10
    w.close()

    w = TelemetryWriter(tmp_path, batch_size=10**6, max_delay_s=0.05)
    w.append(_rec(10))  # the writer's clock started at open: no commit yet unless 50 ms passed
    time.sleep(0.06)
    w.append(_rec(11))  # > 50 ms since the last commit: this append commits both
    assert w.pending == 0 and len(read_telemetry(tmp_path)) == 12
    w.close()
    w.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        w.flush()


def test_incremental_reads_and_parquet(tmp_path):
    with TelemetryWriter(tmp_path) as w:
        w.extend(_rec(t) for t in range(5))
    first = read_telemetry(tmp_path)
    assert first["id"].tolist() == [1, 2, 3, 4, 5]
    with TelemetryWriter(tmp_path) as w:  # reopening appends to the same store
        w.extend(_rec(t, run="b") for t in range(3))
    new = read_telemetry(tmp_path, since_id=int(first["id"].iloc[-1]))
    assert new["id"].tolist() == [6, 7, 8] and set(new["run_id"]) == {"b"}
    out = export_parquet(tmp_path, tmp_path / "t.parquet")
    import pandas as pd

    pq = pd.read_parquet(out)
    assert len(pq) == 8 and pq["detection_fraction"].tolist()[:5] == first["detection_fraction"].tolist()


def test_newer_schema_is_refused_with_a_fix(tmp_path):
    with TelemetryWriter(tmp_path) as w:
        w.append(_rec(0))
    with sqlite3.connect(tmp_path / "telemetry.sqlite") as c:
        c.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(ValueError, match="upgrade qec-gym"):
        read_telemetry(tmp_path)
    with pytest.raises(ValueError, match="new run folder"):
        TelemetryWriter(tmp_path)
    with pytest.raises(FileNotFoundError, match="no telemetry store"):
        read_telemetry(tmp_path / "missing.sqlite")


_CHILD = textwrap.dedent("""
    import sys, time
    from qec_gym.monitor.telemetry import TelemetryRecord, TelemetryWriter
    w = TelemetryWriter(sys.argv[1], batch_size=100, max_delay_s=3600)
    t = 0
    while True:
        w.append(TelemetryRecord(run_id="k", t=t, shots=1, detection_fraction=0.5))
        t += 1
        if w.pending == 0:
            print(w.committed, flush=True)
            time.sleep(float(sys.argv[2]))
""")


def _spawn(tmp_path, pause: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path), str(pause)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)


def test_sigkill_keeps_every_committed_record(tmp_path):
    proc = _spawn(tmp_path, 0.0)
    try:
        committed = 0
        while committed < 2000:
            line = proc.stdout.readline()
            assert line, "writer subprocess died early"
            committed = int(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    df = read_telemetry(tmp_path)
    # every batch reported committed is there, in order, with nothing torn
    assert len(df) >= committed and len(df) % 100 == 0
    assert df["t"].tolist() == list(range(len(df)))
    assert df["id"].tolist() == list(range(1, len(df) + 1))


def test_concurrent_reader_while_writing(tmp_path):
    proc = _spawn(tmp_path, 0.002)
    try:
        while not (tmp_path / "telemetry.sqlite").exists() or proc.stdout.readline() == "":
            time.sleep(0.01)
        last, seen, polls = 0, 0, 0
        deadline = time.monotonic() + 20
        while seen < 3000 and time.monotonic() < deadline:
            df = read_telemetry(tmp_path, since_id=last)
            polls += 1
            if len(df):
                assert df["id"].tolist() == list(range(last + 1, last + 1 + len(df)))
                assert df["t"].tolist() == list(range(seen, seen + len(df)))
                last, seen = int(df["id"].iloc[-1]), seen + len(df)
        assert seen >= 3000 and polls >= 2
        assert proc.poll() is None, "the writer must keep running while being read"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _trajectory(env, actions, seed):
    out = [env.reset(seed=seed)]
    for a in actions:
        out.append(env.step(a))
    return out


def test_wrapper_does_not_change_the_env(tmp_path):
    actions = [0, 3, 0, 1, 5, 0, 0, 2]
    plain = _trajectory(gym.make(ENV_IDS[0]), actions, seed=11)
    with TelemetryWriter(tmp_path) as w:
        wrapped = _trajectory(TelemetryWrapper(gym.make(ENV_IDS[0]), w, run_id="x"), actions, seed=11)
    assert len(plain) == len(wrapped)
    for a, b in zip(plain, wrapped):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            if isinstance(x, np.ndarray):
                np.testing.assert_array_equal(x, y)
            else:
                assert x == y
    df = read_telemetry(tmp_path)
    assert df["t"].tolist() == list(range(len(actions) + 1))
    assert df["action"].tolist()[1:] == actions
    infos = [s[-1] for s in plain]
    assert df["logical_errors"].tolist() == [i["logical_errors"] for i in infos]
    assert df["true_noise"].tolist() == [i["true_multiplier"] for i in infos]
    obs = [s[0] for s in plain]
    np.testing.assert_allclose(df["detection_fraction"], [o[0] for o in obs], rtol=1e-6)
    np.testing.assert_allclose(df["noise_estimate"], [10 ** float(o[8]) for o in obs], rtol=1e-5)
    assert (df["logical_error_per_round_lo"] <= df["logical_error_per_round_hi"]).all()
    assert set(df["code"]) == {"rotated_surface"} and df["distance"].notna().all()


def test_prometheus_exporter_serves_metrics():
    from qec_gym.monitor.telemetry import PrometheusExporter

    exp = PrometheusExporter(port=0)
    try:
        exp.observe(_rec(1, detection_fraction_x=0.1, anomaly=("burst",)))
        body = urllib.request.urlopen(f"http://127.0.0.1:{exp.port}/metrics", timeout=10).read().decode()
    finally:
        exp.close()
    assert 'qec_detection_fraction{run_id="r"} 0.01' in body
    assert 'qec_anomalies_total{kind="burst",run_id="r"} 1.0' in body


def test_sb3_callback_records_training_steps(tmp_path):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import A2C

    from qec_gym.monitor.telemetry import telemetry_callback

    with TelemetryWriter(tmp_path) as w:
        model = A2C("MlpPolicy", gym.make(ENV_IDS[0]), n_steps=4, seed=0, device="cpu")
        model.learn(total_timesteps=8, callback=telemetry_callback(w, run_id="train"))
    df = read_telemetry(tmp_path)
    assert len(df) == 8 and df["t"].tolist() == list(range(1, 9))
    assert set(df["run_id"]) == {"train/env0/ep0"} and df["reward"].notna().all()


def test_a_new_run_folder_gets_its_store_inside(tmp_path):
    from qec_gym.monitor.telemetry import TELEMETRY_FILENAME, TelemetryWriter

    with TelemetryWriter(tmp_path / "new_run") as w:
        assert w.path == tmp_path / "new_run" / TELEMETRY_FILENAME
    with TelemetryWriter(tmp_path / "store.sqlite") as w:
        assert w.path == tmp_path / "store.sqlite"
