"""The dashboard without a browser: its data model, Bokeh document, export, server and CLI errors."""

from __future__ import annotations

import socket
import sqlite3
import threading

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("bokeh", reason="the dashboard needs bokeh: pip install 'qec-gym[dashboard]'")

from qec_gym.cli import main  # noqa: E402
from qec_gym.monitor.dashboard import (  # noqa: E402
    TS_COLUMNS,
    DashboardConfig,
    DashboardModel,
    DashboardServer,
    _History,
    export_html,
    resolve_store,
    synthetic_records,
)
from qec_gym.monitor.telemetry import TelemetryRecord, TelemetryWriter, encode_rates, read_telemetry  # noqa: E402


def rec(t, **kw):
    base = dict(run_id="r", t=t, shots=1000, code="rotated_surface", distance=5, decoder="pymatching")
    return TelemetryRecord(**{**base, **kw})


def write(run, records):
    with TelemetryWriter(run) as w:
        w.extend(records)


# ---------------------------------------------------------------------------- downsampling
def rows(n, **cols):
    out = {c: np.full(n, np.nan) for c in TS_COLUMNS}
    out["x"] = np.arange(1, n + 1, dtype=float)
    out["n"] = np.ones(n)
    out["shots"] = np.full(n, 100.0)
    out.update({k: np.asarray(v, dtype=float) for k, v in cols.items()})
    return out


def test_history_merges_pairs_of_the_oldest_half_with_exact_aggregates():
    h = _History(max_points=16)
    shots = np.array([100, 300] * 8 + [100], dtype=float)
    ler = np.arange(17, dtype=float)
    ler[2] = np.nan  # pair (2, 3): the known value alone
    p99 = np.arange(17, dtype=float)[::-1]
    assert h.append(rows(17, shots=shots, ler=ler, lat_p99_us=p99, noise=np.arange(17.0)))
    # h = 8: rows 0..7 -> 4 merged points, then rows 8..16 unchanged
    assert len(h) == 4 + 9
    c = h.cols
    np.testing.assert_array_equal(c["x"][:4], [1.5, 3.5, 5.5, 7.5])
    np.testing.assert_array_equal(c["n"][:4], [2, 2, 2, 2])
    np.testing.assert_array_equal(c["shots"][:4], [400, 400, 400, 400])
    assert c["ler"][0] == pytest.approx((0 * 100 + 1 * 300) / 400)  # shots-weighted
    assert c["ler"][1] == 3.0  # NaN partner ignored
    np.testing.assert_array_equal(c["lat_p99_us"][:4], [16, 14, 12, 10])  # max of each pair
    np.testing.assert_array_equal(c["noise"][:4], [0.5, 2.5, 4.5, 6.5])  # window-weighted
    np.testing.assert_array_equal(c["x"][4:], np.arange(9, 18))  # newest untouched


def test_history_conserves_windows_shots_and_weighted_means_over_many_merges():
    rng = np.random.default_rng(0)
    h = _History(max_points=64)
    total_w, total_wv, total_x = 0.0, 0.0, 0.0
    for chunk in range(40):
        n = int(rng.integers(1, 50))
        shots = rng.integers(1, 1000, n).astype(float)
        v = rng.random(n)
        r = rows(n, shots=shots, df=v)
        r["x"] = r["x"] + 1000 * chunk
        h.append(r)
        total_w += shots.sum()
        total_wv += (shots * v).sum()
        total_x += r["x"].sum()
    c = h.cols
    assert len(h) <= 64
    assert c["shots"].sum() == total_w
    assert (c["shots"] * c["df"]).sum() == pytest.approx(total_wv, rel=1e-12)
    assert (c["n"] * c["x"]).sum() == pytest.approx(total_x, rel=1e-12)
    assert np.all(np.diff(c["x"]) > 0)  # still in time order
    assert c["n"][-1] == 1  # the newest window at full resolution


# ---------------------------------------------------------------------------- model
def test_model_events_segments_anomalies_and_heat_map():
    records = [
        rec(0, action=None, detector_rates=encode_rates([0.1, 0.2])),
        rec(1, action=0, anomaly=("burst", "cusum_up"), detector_rates=encode_rates([0.3, 0.4])),
        rec(2, action=1),  # recalibrate: same configuration
        rec(3, action=3, distance=7, detector_rates=encode_rates([0.5, 0.6, 0.7])),  # switch
        rec(4, action=0, distance=7),
        TelemetryRecord(run_id="other", t=0, config_label="custom label"),
    ]
    df = pd.DataFrame([{**{f: getattr(r, f) for f in r.__slots__}, "id": i + 1} for i, r in enumerate(records)])
    df["anomaly"] = [",".join(r.anomaly) for r in records]
    u = DashboardModel(DashboardConfig(heatmap_windows=4)).update(df)
    d5, d7 = "rotated_surface d=5 pymatching", "rotated_surface d=7 pymatching"
    assert u.events["kind"] == ["run start", "recalibrate", "switch", "run start"]
    assert u.events["x"] == [1.0, 3.0, 4.0, 6.0]
    assert u.events["text"][2] == f"r t=3: {d5} -> {d7} (action 3)"
    assert u.segments == {"left": [0.5, 3.5, 5.5], "right": [3.5, 5.5, 6.5], "label": [d5, d7, "custom label"]}
    assert u.configs == [d5, d7, "custom label"]
    assert u.anomalies["kind"] == ["burst", "cusum_up"] and u.anomalies["x"] == [2.0, 2.0]
    assert u.heat_kind == "detector"
    # last 4 windows (ids 3..6): none, 3 rates (the d=7 switch), none, none; NaN padding
    expect = np.full((3, 4), np.nan, dtype=np.float32)
    expect[:, 1] = np.array([0.5, 0.6, 0.7], dtype="<f2")
    np.testing.assert_array_equal(u.heat, expect)


def test_model_reads_incrementally_and_extends_the_open_segment(tmp_path):
    write(tmp_path, [rec(t, action=0) for t in range(5)])
    m = DashboardModel()
    u = m.update(read_telemetry(tmp_path, since_id=m.last_id, decode=False))
    assert m.last_id == 5 and len(u.series["x"]) == 5 and u.segments["right"] == [5.5]
    write(tmp_path, [rec(5, action=0), rec(6, action=0)])
    new = read_telemetry(tmp_path, since_id=m.last_id, decode=False)
    assert new["id"].tolist() == [6, 7]
    u = m.update(new)
    assert u.series["x"].tolist() == [6.0, 7.0] and not u.reset
    assert u.segments["left"] == [] and u.last_segment_right == 7.5 and u.events["x"] == []
    u = m.update(read_telemetry(tmp_path, since_id=m.last_id, decode=False))
    assert len(u.series["x"]) == 0 and u.status.startswith("7 records, last id 7")


def test_model_run_id_filter_and_by_round_fallback():
    records = [rec(t, run_id=f"train/env{t % 2}/ep0", detection_fraction_by_round=(0.01, 0.02 * t)) for t in range(6)]
    df = pd.DataFrame([{**{f: getattr(r, f) for f in r.__slots__}, "id": i + 1} for i, r in enumerate(records)])
    df["detection_fraction_by_round"] = [encode_rates(r.detection_fraction_by_round) for r in records]
    m = DashboardModel(DashboardConfig(run_id="train/env1"))
    u = m.update(df)
    assert u.series["x"].tolist() == [2.0, 4.0, 6.0] and m.last_id == 6
    assert u.heat_kind == "round" and u.heat.shape == (2, 3)
    assert u.heat[1].tolist() == pytest.approx([0.02, 0.06, 0.10], rel=1e-3)


def test_model_latency_is_a_rolling_median_and_p99():
    df = pd.DataFrame({"id": range(1, 6), "run_id": "r", "t": range(5), "shots": 10, "anomaly": "",
                       "decode_latency_s_per_round": [1e-6, 3e-6, np.nan, 2e-6, 5e-6]})
    u = DashboardModel(DashboardConfig(latency_window=3)).update(df)
    assert u.series["lat_med_us"].tolist() == pytest.approx([1, 2, 2, 2, 3])
    # p99 of the last <= 3 values by linear interpolation (numpy's default)
    assert u.series["lat_p99_us"].tolist() == pytest.approx(
        [1, np.percentile([1, 3], 99), np.percentile([1, 3], 99), np.percentile([1, 3, 2], 99), np.percentile([3, 2, 5], 99)])


def test_config_validation():
    for bad in (dict(poll_interval_s=0), dict(max_points=8), dict(heatmap_windows=0), dict(target=-1.0),
                dict(cycle_budget_s=float("nan"))):
        with pytest.raises(ValueError, match=next(iter(bad))):
            DashboardConfig(**bad)


# ---------------------------------------------------------------------------- bad input
def test_run_folder_without_telemetry_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no telemetry.*TelemetryWriter"):
        resolve_store(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_store(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="holds no telemetry"):
        DashboardServer(tmp_path, port=0)


def test_newer_schema_and_foreign_files_are_refused(tmp_path):
    write(tmp_path, [rec(0)])
    con = sqlite3.connect(tmp_path / "telemetry.sqlite")
    con.execute("UPDATE schema_version SET version = 99")
    con.commit()
    con.close()
    with pytest.raises(ValueError, match="schema v99.*upgrade qec-gym"):
        resolve_store(tmp_path)
    with pytest.raises(ValueError, match="schema v99"):
        export_html(tmp_path, tmp_path / "x.html")
    other = tmp_path / "other"
    other.mkdir()
    (other / "telemetry.sqlite").write_bytes(b"not a database at all" * 10)
    with pytest.raises(ValueError, match="not a qec-gym telemetry store"):
        resolve_store(other)


def test_port_in_use_and_remote_host_errors(tmp_path, caplog):
    write(tmp_path, [rec(0)])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ValueError, match=f"cannot listen on 127.0.0.1:{port}.*--port"):
            DashboardServer(tmp_path, port=port).start()
    with pytest.raises(ValueError, match="not a loopback address.*--allow-remote"):
        DashboardServer(tmp_path, host="0.0.0.0", port=0)
    with pytest.raises(ValueError, match="port must be"):
        DashboardServer(tmp_path, port=70000)
    with caplog.at_level("WARNING"):
        DashboardServer(tmp_path, host="0.0.0.0", port=0, allow_remote=True)
    assert "anyone who can reach" in caplog.text


def test_cli_errors_are_one_clear_line(tmp_path, capsys):
    assert main(["monitor", "--run", str(tmp_path), "--port", "0"]) == 2
    assert "holds no telemetry" in capsys.readouterr().err
    write(tmp_path, [rec(0)])
    assert main(["monitor", "--run", str(tmp_path), "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert main(["monitor", "--run", str(tmp_path), "--port", str(s.getsockname()[1])]) == 2
    assert "choose another port with --port" in capsys.readouterr().err
    assert main(["monitor"]) == 2  # one of --run / --replay is required
    assert "--run" in capsys.readouterr().err


# ---------------------------------------------------------------------------- export and live document
def test_export_is_self_contained(tmp_path, capsys):
    write(tmp_path, synthetic_records(50, seed=0))
    out = tmp_path / "share" / "page.html"
    assert main(["monitor", "--run", str(tmp_path), "--export", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    html = out.read_text()
    assert "<script src=" not in html and "cdn.bokeh.org" not in html  # BokehJS inlined: opens offline
    assert "rotated_surface d=5 pymatching" in html


def test_export_of_an_empty_store_or_filter_is_refused(tmp_path):
    TelemetryWriter(tmp_path).close()
    with pytest.raises(ValueError, match="no telemetry records"):
        export_html(tmp_path, tmp_path / "x.html")
    write(tmp_path, [rec(0)])
    with pytest.raises(ValueError, match="is a file, not a folder"):
        export_html(tmp_path, tmp_path / "telemetry.sqlite" / "x.html")
    with pytest.raises(ValueError, match="run_id prefix 'nope'"):
        export_html(tmp_path, tmp_path / "x.html", config=DashboardConfig(run_id="nope"))


def test_live_document_streams_new_records_on_poll(tmp_path):
    from bokeh.document import Document

    write(tmp_path, synthetic_records(30, seed=1))
    server = DashboardServer(tmp_path, port=0)
    doc = Document()
    server.make_document(doc)
    series = doc.get_model_by_name("series")
    assert series.data["x"].tolist() == list(range(1, 31))
    (poll,) = doc.session_callbacks
    write(tmp_path, synthetic_records(5, seed=2, start_t=30))
    poll.callback()
    assert series.data["x"][-5:].tolist() == list(range(31, 36))
    assert doc.get_model_by_name("status").text.startswith("35 records, last id 35")
    for f in tmp_path.glob("telemetry.sqlite*"):  # the store vanishes: the page says so, the server lives
        f.unlink()
    poll.callback()
    assert "failed: no telemetry store at" in doc.get_model_by_name("status").text
    assert series.data["x"][-1] == 35


def test_polling_reader_never_blocks_the_writer(tmp_path):
    """A reader polling as fast as it can while the writer commits every record: no lock errors."""
    write(tmp_path, [rec(0)])
    m, stop, errors = DashboardModel(), threading.Event(), []

    def poll():
        while not stop.is_set():
            try:
                m.update(read_telemetry(tmp_path, since_id=m.last_id, decode=False))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

    th = threading.Thread(target=poll)
    th.start()
    try:
        with TelemetryWriter(tmp_path, batch_size=1) as w:
            for t in range(1, 1500):
                w.append(rec(t))
    finally:
        stop.set()
        th.join()
    assert not errors
    m.update(read_telemetry(tmp_path, since_id=m.last_id, decode=False))
    assert m.records == 1500 and m.last_id == 1500
