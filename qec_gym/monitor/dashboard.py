"""Live dashboard of a telemetry store (a Bokeh server app) and its static HTML export.

``qec-gym monitor --run DIR`` serves a page that follows ``DIR/telemetry.sqlite`` while a run
(simulation, evaluation, training, replay) writes it; ``--export page.html`` writes the same views
of the store as one self-contained HTML file that opens without a server.

Views (all but the heat map share the x axis, the store's record id = window order):
    - logical error per round with its interval (99% Clopper-Pearson mapped per round, as the
      record holds it) against the target budget (`qec_gym.envs.reward.RewardConfig.target`);
    - detection fractions: all detectors, X-sensitive (Z-type checks), Z-sensitive (X-type checks);
    - a heat map of the per-detector rates of the latest ``heatmap_windows`` windows (bursts show as
      columns, streaks as rows); stores without per-detector rates show the per-round fractions;
    - the syndrome-derived noise estimate and, for simulated runs, the true noise multiplier;
    - the configuration timeline (code, distance, decoder, nbar) with every switch, recalibration
      and run start, carrying the agent's action (qec-gym switch envs: ``0`` keep, ``1`` recalibrate,
      ``2 + i`` switch to ``menu[i]``);
    - anomaly markers with their kind (the record's ``anomaly`` flags);
    - decode latency per round, median and p99 over the last ``latency_window`` windows, against the
      cycle budget (`RewardConfig.latency_budget_s`, ~1 us for superconducting cycles; a latency of
      0, as table-backend envs report, counts as not measured), and the qubits (or modes) in use.

Why Bokeh (its server): ``ColumnDataSource.stream``/``patch`` send only the new rows over the
page's websocket, so the page updates in place; the server runs in-process on tornado and serves
BokehJS itself (no CDN, no node); the very same document exports to one HTML file with BokehJS
inlined (``file_html`` + ``INLINE``). Panel is built on Bokeh and would add a large layer for
nothing used here; Dash re-sends figures from polled HTTP callbacks and has no built-in static
export.

Scale: each poll reads only rows with ``id > last id`` (`read_telemetry` ``since_id``) through a
read-only WAL connection, which never blocks the writer. The time series keep at most
``max_points`` points: when full, adjacent pairs among the oldest half are merged (shots-weighted
means; maxima for p99 latency and qubits), so recent windows stay at full resolution and older
history coarsens geometrically. Merged points report how many windows they hold (hover). Events
(switches, recalibrations, anomalies) are never merged; the newest ``max_events`` are kept.

Example:
    >>> import tempfile
    >>> from qec_gym.monitor.telemetry import TelemetryRecord, TelemetryWriter
    >>> from qec_gym.monitor.dashboard import DashboardConfig, export_html
    >>> run = tempfile.mkdtemp()
    >>> with TelemetryWriter(run) as w:
    ...     for t in range(5):
    ...         w.append(TelemetryRecord(run_id="r", t=t, shots=1000, detection_fraction=0.02))
    >>> path = export_html(run, f"{run}/page.html", config=DashboardConfig(max_points=100))
    >>> path.name, path.stat().st_size > 100_000   # BokehJS is inlined: opens offline
    ('page.html', True)
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import logging
import math
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qec_gym.envs.reward import RewardConfig
from qec_gym.monitor.telemetry import TELEMETRY_FILENAME, decode_rates, read_telemetry, schema_version

log = logging.getLogger(__name__)

_REWARD_DEFAULTS = RewardConfig()
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
ACTION_RECALIBRATE = 1
"""Action code of a recalibration in the qec-gym switch envs (``0`` keep, ``2 + i`` switch)."""

TS_COLUMNS = (
    "x", "n", "shots", "ler", "ler_lo", "ler_hi", "target", "df", "df_x", "df_z", "noise", "true_noise",
    "lat_med_us", "lat_p99_us", "budget_us", "qubits",
)
"""Columns of the time-series source (``x`` = mean record id of the point, ``n`` = windows merged)."""

_SHOT_WEIGHTED = ("ler", "ler_lo", "ler_hi", "df", "df_x", "df_z")
_MAXED = ("lat_p99_us", "qubits")
_SUMMED = ("n", "shots")
_LOG_FLOOR = 1e-30  # a zero lower interval end on a log axis: drawn far below the visible range


@dataclass(frozen=True)
class DashboardConfig:
    """What the dashboard shows and how often it polls.

    Args:
        poll_interval_s: Seconds between reads of new records (> 0).
        max_points: Most points per time series before old history is merged (>= 16).
        heatmap_windows: Windows (columns) in the per-detector heat map (>= 1).
        latency_window: Windows in the rolling median / p99 of the decode latency (>= 1).
        max_events: Newest switch/recalibration/anomaly events kept on the page (>= 1).
        target: Logical-error budget per round drawn on the logical-error plot (> 0).
        cycle_budget_s: Decode-time budget per round (seconds, > 0).
        run_id: Show only records whose run_id starts with this prefix (``None``: all). Use it
            for stores where several envs write interleaved (vector-env training).
        title: Page title.

    Raises:
        ValueError: a value outside its range.
    """

    poll_interval_s: float = 0.2
    max_points: int = 2000
    heatmap_windows: int = 200
    latency_window: int = 100
    max_events: int = 10_000
    target: float = _REWARD_DEFAULTS.target
    cycle_budget_s: float = _REWARD_DEFAULTS.latency_budget_s
    run_id: str | None = None
    title: str = "qec-gym monitor"

    def __post_init__(self) -> None:
        if not (isinstance(self.poll_interval_s, (int, float)) and math.isfinite(self.poll_interval_s)
                and self.poll_interval_s > 0):
            raise ValueError(f"poll_interval_s must be > 0 seconds, got {self.poll_interval_s!r}.")
        for name, low in (("max_points", 16), ("heatmap_windows", 1), ("latency_window", 1), ("max_events", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name} must be an int >= {low}, got {v!r}.")
        for name in ("target", "cycle_budget_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}.")
        if self.run_id is not None and not isinstance(self.run_id, str):
            raise TypeError(f"run_id must be a str prefix or None, got {type(self.run_id).__name__}.")


def resolve_store(run: str | Path) -> Path:
    """The telemetry store of a run folder (or the store file itself), checked readable.

    Raises:
        FileNotFoundError: the folder does not exist, or holds no telemetry store.
        ValueError: the file is not a telemetry store, or its schema is not the one this
            qec-gym reads (a newer store names the upgrade).
    """
    p = Path(run)
    if not p.exists():
        raise FileNotFoundError(f"run folder {p} does not exist: pass the folder a run writes its telemetry to.")
    store = p / TELEMETRY_FILENAME if p.is_dir() else p
    if not store.exists():
        raise FileNotFoundError(
            f"{p} holds no telemetry ({TELEMETRY_FILENAME} is missing): record a run with "
            "qec_gym.monitor.TelemetryWriter (env: TelemetryWrapper; training: telemetry_callback) "
            "or `qec-gym ingest`, then pass that run folder."
        )
    schema_version(store)  # not a store -> ValueError
    read_telemetry(store, since_id=2**62)  # schema check (newer/older -> ValueError naming the fix); reads no rows
    return store


# ---------------------------------------------------------------------------- data model
@dataclass
class Update:
    """What one poll changes on the page (plain arrays; applied to Bokeh sources by the views).

    Attributes:
        series: New time-series rows (columns `TS_COLUMNS`), to append; or, when ``reset``,
            every row (history was merged).
        reset: The series source must be replaced, not appended to.
        heat: The heat map image (rows: detectors or rounds, columns: windows, oldest first;
            float32, NaN where absent), or None when unchanged.
        heat_kind: "detector" or "round": what the heat map's rows are.
        segments: New configuration segments (left, right, label) to append.
        last_segment_right: New right end of the last already-shown segment, or None.
        events: New configuration events (x, label, kind, text).
        anomalies: New anomaly markers (x, kind, text).
        configs, anomaly_kinds: Every category seen so far (for the categorical axes).
        status: One line about the store's state.
    """

    series: dict[str, np.ndarray]
    reset: bool = False
    heat: np.ndarray | None = None
    heat_kind: str = "detector"
    segments: dict[str, list] = field(default_factory=lambda: {"left": [], "right": [], "label": []})
    last_segment_right: float | None = None
    events: dict[str, list] = field(default_factory=lambda: {"x": [], "label": [], "kind": [], "text": []})
    anomalies: dict[str, list] = field(default_factory=lambda: {"x": [], "kind": [], "text": []})
    configs: list[str] = field(default_factory=list)
    anomaly_kinds: list[str] = field(default_factory=list)
    status: str = ""


def _column(df, col: str) -> list:
    """A column as a list (None for every row when the frame lacks it)."""
    return df[col].tolist() if col in df else [None] * len(df)


def _num(df, col: str) -> np.ndarray:
    """A column as float64 with NaN for missing (SQL NULL arrives as None or NaN; absent column: NaN)."""
    import pandas as pd

    if col not in df:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _wmean(v0, v1, w0, w1):
    """NaN-aware weighted mean of two arrays (NaN where both are NaN)."""
    m0, m1 = ~np.isnan(v0), ~np.isnan(v1)
    den = w0 * m0 + w1 * m1
    num = np.where(m0, v0 * w0, 0.0) + np.where(m1, v1 * w1, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


class _History:
    """Time series with at most ``max_points`` rows; merges pairs among the oldest half when full."""

    def __init__(self, max_points: int):
        self.max_points = max_points
        self.cols = {c: np.empty(0) for c in TS_COLUMNS}

    def __len__(self) -> int:
        return len(self.cols["x"])

    def append(self, rows: dict[str, np.ndarray]) -> bool:
        """Append rows; returns True when old history was merged (the page must reload the series)."""
        self.cols = {c: np.concatenate([self.cols[c], rows[c]]) for c in TS_COLUMNS}
        merged = False
        while len(self) > self.max_points:
            self._merge_oldest_half()
            merged = True
        return merged

    def _merge_oldest_half(self) -> None:
        h = (len(self) // 2) & ~1
        a = {c: v[:h:2] for c, v in self.cols.items()}
        b = {c: v[1:h:2] for c, v in self.cols.items()}
        # weights: shots where known (rates are per shot), else the number of windows merged
        wa = np.where(a["shots"] > 0, a["shots"], a["n"])
        wb = np.where(b["shots"] > 0, b["shots"], b["n"])
        out = {}
        for c in TS_COLUMNS:
            if c in _SUMMED:
                out[c] = a[c] + b[c]
            elif c in _MAXED:
                out[c] = np.fmax(a[c], b[c])
            elif c in _SHOT_WEIGHTED:
                out[c] = _wmean(a[c], b[c], wa, wb)
            else:  # x, noise, latency median, constants: window-weighted
                out[c] = _wmean(a[c], b[c], a["n"], b["n"])
        self.cols = {c: np.concatenate([out[c], self.cols[c][h:]]) for c in TS_COLUMNS}


def config_label(code: str, distance, decoder: str, nbar, label: str = "") -> str:
    """The label of a configuration: the record's ``config_label``, else built from its fields.

    Example:
        >>> config_label("rotated_surface", 5, "pymatching", None)
        'rotated_surface d=5 pymatching'
        >>> config_label("cat_repetition", 3, "pymatching", 4.0)
        'cat_repetition d=3 pymatching nbar=4'
    """
    if label:
        return label
    parts = [code or "?"]
    if distance is not None and not (isinstance(distance, float) and math.isnan(distance)):
        parts.append(f"d={int(distance)}")
    if decoder:
        parts.append(decoder)
    if nbar is not None and not (isinstance(nbar, float) and math.isnan(nbar)):
        parts.append(f"nbar={float(nbar):g}")
    return " ".join(parts)


class DashboardModel:
    """The dashboard's state, fed incrementally with new telemetry rows; no Bokeh here.

    Args:
        config: What to keep (`DashboardConfig`).

    Example:
        >>> import pandas as pd
        >>> m = DashboardModel(DashboardConfig(max_points=16))
        >>> rows = pd.DataFrame({"id": range(1, 41), "run_id": "r", "t": range(40), "shots": 100,
        ...                      "logical_error_per_round": 1e-3, "action": 0, "anomaly": ""})
        >>> u = m.update(rows)
        >>> u.reset, len(u.series["x"]), int(u.series["n"].sum())   # 40 windows in <= 16 points
        (True, 14, 40)
    """

    def __init__(self, config: DashboardConfig = DashboardConfig()):
        self.config = config
        self.history = _History(config.max_points)
        self.records = 0
        self.last_id = 0
        self._lat = deque(maxlen=config.latency_window)
        self._lat_last = (np.nan, np.nan)
        self._heat: deque = deque(maxlen=config.heatmap_windows)
        self._heat_kind: str | None = None
        self._last_label_by_run: dict[str, str] = {}
        self._segment_label: str | None = None
        self._configs: dict[str, None] = {}
        self._anomaly_kinds: dict[str, None] = {}
        self._last_wall: float | None = None
        self._last_desc = ""

    def update(self, df) -> Update:
        """Take the rows of one `read_telemetry(..., decode=False)` poll (ordered by id)."""
        if len(df):
            self.last_id = int(df["id"].iloc[-1])  # advance past filtered rows too
        if self.config.run_id is not None and len(df):
            df = df[df["run_id"].astype(str).str.startswith(self.config.run_id)]
        n = len(df)
        if n == 0:
            return Update(series={c: np.empty(0) for c in TS_COLUMNS}, configs=list(self._configs),
                          anomaly_kinds=list(self._anomaly_kinds), status=self._status())
        self.records += n
        rows = self._series_rows(df)
        reset = self.history.append(rows)
        upd = Update(series=dict(self.history.cols) if reset else rows, reset=reset)
        self._feed_heat(df, upd)
        self._feed_events(df, upd)
        upd.configs = list(self._configs)
        upd.anomaly_kinds = list(self._anomaly_kinds)
        self._last_wall = float(_num(df, "wall_time")[-1])
        last = df.iloc[-1]
        self._last_desc = f"last: {last['run_id']} t={int(last['t'])}, {self._segment_label}"
        upd.status = self._status()
        return upd

    def _series_rows(self, df) -> dict[str, np.ndarray]:
        n = len(df)
        shots = _num(df, "shots")
        lo, hi, ler = (_num(df, c) for c in ("logical_error_per_round_lo", "logical_error_per_round_hi",
                                             "logical_error_per_round"))
        lat = _num(df, "decode_latency_s_per_round") * 1e6
        # a latency of 0 is "not measured" (table-backend envs report 0), not an instant decoder
        med, p99 = self._rolling_latency(np.where(lat > 0, lat, np.nan))
        return {
            "x": _num(df, "id"), "n": np.ones(n), "shots": np.nan_to_num(shots),
            "ler": np.where(ler > 0, ler, np.nan),  # a zero rate has no place on a log axis
            "ler_lo": np.where(np.isnan(lo), np.nan, np.maximum(lo, _LOG_FLOOR)), "ler_hi": hi,
            "target": np.full(n, self.config.target),
            "df": _num(df, "detection_fraction"), "df_x": _num(df, "detection_fraction_x"),
            "df_z": _num(df, "detection_fraction_z"),
            "noise": _num(df, "noise_estimate"), "true_noise": _num(df, "true_noise"),
            "lat_med_us": med, "lat_p99_us": p99, "budget_us": np.full(n, self.config.cycle_budget_s * 1e6),
            "qubits": _num(df, "qubits"),
        }

    def _rolling_latency(self, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Median and p99 (linear interpolation, as numpy's percentile) of the last
        ``latency_window`` measured latencies at each row; rows without a measurement carry the
        previous value. The tail of earlier polls is kept, so chunked feeding gives the same values."""
        import pandas as pd

        ok = ~np.isnan(lat)
        tail = np.asarray(self._lat, dtype=np.float64)
        seq = np.concatenate([tail, lat[ok]])
        roll = pd.Series(seq).rolling(self.config.latency_window, min_periods=1)
        med_v, p99_v = roll.median().to_numpy()[len(tail):], roll.quantile(0.99).to_numpy()[len(tail):]
        self._lat.extend(lat[ok])
        # row i takes the value after its batch's last measured latency up to i (or the carried one)
        k = np.cumsum(ok) - 1
        med = np.where(k >= 0, med_v[np.maximum(k, 0)] if len(med_v) else np.nan, self._lat_last[0])
        p99 = np.where(k >= 0, p99_v[np.maximum(k, 0)] if len(p99_v) else np.nan, self._lat_last[1])
        if len(med):
            self._lat_last = (float(med[-1]), float(p99[-1]))
        return med, p99

    def _feed_heat(self, df, upd: Update) -> None:
        det, by_round = _column(df, "detector_rates"), _column(df, "detection_fraction_by_round")
        if self._heat_kind != "detector" and any(map(_present, det)):
            self._heat_kind = "detector"  # per-detector rates win as soon as a store has them
            self._heat.clear()
        elif self._heat_kind is None and any(map(_present, by_round)):
            self._heat_kind = "round"
        if self._heat_kind is None:
            return
        blobs = det if self._heat_kind == "detector" else by_round
        # only the newest heatmap_windows rows can show: decode those alone
        for b in blobs[-self.config.heatmap_windows:]:
            self._heat.append(_decode(b))
        height = max((len(r) for r in self._heat), default=0)
        img = np.full((max(height, 1), len(self._heat)), np.nan, dtype=np.float32)
        for j, r in enumerate(self._heat):
            img[: len(r), j] = r
        upd.heat, upd.heat_kind = img, self._heat_kind

    def _feed_events(self, df, upd: Update) -> None:
        cols = {c: _column(df, c) for c in ("id", "run_id", "t", "code", "distance", "decoder", "nbar",
                                              "config_label", "action", "anomaly")}
        for i in range(len(df)):
            x, run, t = float(cols["id"][i]), str(cols["run_id"][i]), int(cols["t"][i])
            label = config_label(cols["code"][i] or "", cols["distance"][i], cols["decoder"][i] or "",
                                 cols["nbar"][i], cols["config_label"][i] or "")
            action = cols["action"][i]
            act = None if action is None or (isinstance(action, float) and math.isnan(action)) else int(action)
            self._configs.setdefault(label, None)
            prev = self._last_label_by_run.get(run)
            kind = None
            if prev is None:
                kind, text = "run start", f"{run}: start in {label}"
            elif prev != label:
                kind, text = "switch", f"{run} t={t}: {prev} -> {label} (action {act})"
            elif act == ACTION_RECALIBRATE:
                kind, text = "recalibrate", f"{run} t={t}: recalibrate {label} (action {act})"
            if kind is not None:
                for k, v in zip(("x", "label", "kind", "text"), (x, label, kind, text)):
                    upd.events[k].append(v)
            self._last_label_by_run[run] = label
            if label != self._segment_label:  # a new segment of the timeline
                for k, v in zip(("left", "right", "label"), (x - 0.5, x + 0.5, label)):
                    upd.segments[k].append(v)
                self._segment_label = label
            elif upd.segments["left"]:  # extends a segment started in this poll
                upd.segments["right"][-1] = x + 0.5
            else:  # extends the segment already on the page
                upd.last_segment_right = x + 0.5
            flags = cols["anomaly"][i]
            for kind_a in (str(flags).split(",") if isinstance(flags, str) and flags else ()):
                self._anomaly_kinds.setdefault(kind_a, None)
                for k, v in zip(("x", "kind", "text"), (x, kind_a, f"{run} t={t}: {kind_a}")):
                    upd.anomalies[k].append(v)

    def _status(self) -> str:
        if self.records == 0:
            return "waiting for telemetry records..."
        # the wall clock of the last record, not its age: the text changes only with new records
        known = self._last_wall is not None and math.isfinite(self._last_wall)
        age = "" if not known else time.strftime(" (written %H:%M:%S)", time.localtime(self._last_wall))
        lat = ""
        if self._lat:
            med, p99 = np.percentile(self._lat, [50, 99])
            lat = (f" | decode latency per round, last {len(self._lat)} windows: median {med:.3g} us, "
                   f"p99 {p99:.3g} us (budget {self.config.cycle_budget_s * 1e6:.3g} us)")
        return f"{self.records:,} records, last id {self.last_id}{age} | {self._last_desc}{lat}"


def _present(blob) -> bool:
    return isinstance(blob, (bytes, np.ndarray))


def _decode(blob) -> np.ndarray:
    if not _present(blob):
        return np.empty(0, dtype=np.float32)
    if isinstance(blob, np.ndarray):
        return blob.astype(np.float32)
    return decode_rates(blob)


# ---------------------------------------------------------------------------- Bokeh views
PLOT_NAMES = ("logical_error", "detection", "heatmap", "noise", "config", "anomalies", "latency", "resources")
"""Names of the figures on the page (the browser test checks each renders with data)."""


class DashboardViews:
    """The Bokeh figures and sources of the page; `apply` an `Update` to them.

    Each figure is named (`PLOT_NAMES`) and so is each data source (``"<plot>_..."``), so that a
    page can be checked from the browser (``Bokeh.documents[0].get_model_by_name``).
    """

    def __init__(self, config: DashboardConfig, store: Path):
        from bokeh.layouts import column, gridplot
        from bokeh.models import (ColorBar, ColumnDataSource, DataRange1d, Div, FactorRange, HoverTool, Label,
                                  LinearColorMapper)
        from bokeh.palettes import Category10_10, Viridis256
        from bokeh.plotting import figure

        self.config = config
        self.series = ColumnDataSource({c: [] for c in TS_COLUMNS}, name="series")
        self.heat = ColumnDataSource({"image": [], "x": [], "y": [], "dw": [], "dh": []}, name="heat")
        self.segments = ColumnDataSource({"left": [], "right": [], "label": []}, name="segments")
        self.events = ColumnDataSource({"x": [], "label": [], "kind": [], "text": []}, name="events")
        self.anomalies = ColumnDataSource({"x": [], "kind": [], "text": []}, name="anomaly_events")
        self.status = Div(text="waiting for telemetry records...", name="status")
        header = Div(text=f"<b>{_html_escape(config.title)}</b> &mdash; {_html_escape(str(store))}"
                          + (f" (run_id prefix {_html_escape(config.run_id)!s})" if config.run_id else ""))
        w, h = 620, 250
        x_range = DataRange1d(only_visible=True)
        base = dict(width=w, height=h, x_range=x_range, tools="pan,xwheel_zoom,box_zoom,reset,save",
                    x_axis_label="record (window) id")
        ts_hover = [("id", "@x{0}"), ("windows", "@n{0}"), ("shots", "@shots{0,0}")]

        p = figure(name="logical_error", title="Logical error per round (99% interval) vs target",
                   y_axis_type="log", y_axis_label="p_L per round", **base)
        p.varea("x", "ler_lo", "ler_hi", source=self.series, fill_alpha=0.25, fill_color=Category10_10[0])
        line = p.line("x", "ler", source=self.series, color=Category10_10[0], legend_label="estimate")
        hi_line = p.line("x", "ler_hi", source=self.series, color=Category10_10[0], alpha=0.3)
        tgt = p.line("x", "target", source=self.series, color="red", line_dash="dashed", legend_label="target")
        p.y_range = DataRange1d(renderers=[line, hi_line, tgt])  # lo may be 0: keep it out of the range
        p.add_tools(HoverTool(renderers=[line], tooltips=ts_hover + [("p_L", "@ler"), ("interval", "[@ler_lo, @ler_hi]")]))
        figs = [p]

        p = figure(name="detection", title="Detection fraction by check type", y_axis_label="fraction", **base)
        r = [p.line("x", c, source=self.series, color=col, legend_label=lab) for c, col, lab in (
            ("df", "black", "all"), ("df_x", Category10_10[0], "X-sensitive (Z checks)"),
            ("df_z", Category10_10[1], "Z-sensitive (X checks)"))]
        p.add_tools(HoverTool(renderers=[r[0]], tooltips=ts_hover + [("all", "@df"), ("X", "@df_x"), ("Z", "@df_z")]))
        figs.append(p)

        self.heat_fig = p = figure(name="heatmap", title=_heat_title("detector", config.heatmap_windows),
                                   width=w, height=h, tools="pan,wheel_zoom,box_zoom,reset,save",
                                   x_axis_label="windows before the latest (0 = latest)",
                                   y_axis_label="detector index")
        mapper = LinearColorMapper(palette=Viridis256, nan_color=(0, 0, 0, 0))
        p.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.heat, color_mapper=mapper)
        p.add_layout(ColorBar(color_mapper=mapper, width=8, title="rate"), "right")
        figs.append(p)

        p = figure(name="noise", title="Noise: syndrome-derived estimate (and true, simulated runs)",
                   y_axis_type="log", y_axis_label="noise multiplier", **base)
        r = [p.line("x", "noise", source=self.series, color=Category10_10[2], legend_label="estimate"),
             p.line("x", "true_noise", source=self.series, color="black", line_dash="dashed", legend_label="true")]
        p.add_tools(HoverTool(renderers=[r[0]], tooltips=ts_hover + [("estimate", "@noise"), ("true", "@true_noise")]))
        figs.append(p)

        self.config_fig = p = figure(name="config", title="Configuration timeline; switches, recalibrations, starts",
                                     y_range=FactorRange(), **{**base, "height": h})
        p.segment(x0="left", x1="right", y0="label", y1="label", source=self.segments, line_width=10,
                  color=Category10_10[0], alpha=0.6)
        from bokeh.transform import factor_cmap, factor_mark

        kinds = ["switch", "recalibrate", "run start"]
        ev = p.scatter("x", "label", source=self.events, size=11, legend_field="kind",
                       marker=factor_mark("kind", ["triangle", "circle", "square"], kinds),
                       color=factor_cmap("kind", [Category10_10[3], Category10_10[2], "gray"], kinds))
        p.add_tools(HoverTool(renderers=[ev], tooltips=[("id", "@x{0}"), ("", "@text")]))
        figs.append(p)

        self.anomaly_fig = p = figure(name="anomalies", title="Anomalies by kind", y_range=FactorRange(), **base)
        an = p.scatter("x", "kind", source=self.anomalies, size=10, marker="diamond", color=Category10_10[3])
        self.no_anomaly = Label(x=10, y=10, x_units="screen", y_units="screen", text="no anomaly flags in the store yet",
                                text_font_size="10pt", text_color="gray")
        p.add_layout(self.no_anomaly)
        p.add_tools(HoverTool(renderers=[an], tooltips=[("id", "@x{0}"), ("", "@text")]))
        figs.append(p)

        p = figure(name="latency", title=f"Decode latency per round (last {config.latency_window} windows) vs budget",
                   y_axis_type="log", y_axis_label="us per round", **base)
        r = [p.line("x", "lat_med_us", source=self.series, color=Category10_10[0], legend_label="median"),
             p.line("x", "lat_p99_us", source=self.series, color=Category10_10[1], legend_label="p99"),
             p.line("x", "budget_us", source=self.series, color="red", line_dash="dashed", legend_label="budget")]
        p.add_tools(HoverTool(renderers=[r[0]], tooltips=ts_hover + [("median", "@lat_med_us us"), ("p99", "@lat_p99_us us")]))
        figs.append(p)

        p = figure(name="resources", title="Resources: qubits (modes) in use", y_axis_label="qubits", **base)
        r = p.step("x", "qubits", source=self.series, mode="after", color=Category10_10[4])
        p.add_tools(HoverTool(renderers=[r], tooltips=ts_hover + [("qubits", "@qubits{0}")]))
        figs.append(p)

        for f in figs:
            if f.legend:
                f.legend.location = "top_left"
                f.legend.orientation = "horizontal"
                f.legend.label_text_font_size = "8pt"
                f.legend.padding = f.legend.margin = 2
                f.legend.background_fill_alpha = 0.6
                f.legend.click_policy = "hide"
        self.figures = dict(zip(PLOT_NAMES, figs))
        self.layout = column(header, self.status,
                             gridplot([figs[i:i + 2] for i in range(0, len(figs), 2)], toolbar_location="right"))

    def apply(self, u: Update) -> None:
        """Push one `Update` to the sources: streamed rows, or whole columns after a merge."""
        if u.reset:
            self.series.data = {c: u.series[c] for c in TS_COLUMNS}
        elif len(u.series["x"]):
            self.series.stream({c: u.series[c] for c in TS_COLUMNS})
        if u.heat is not None:
            rows, cols = u.heat.shape
            self.heat.data = {"image": [u.heat], "x": [-cols + 0.5], "y": [-0.5], "dw": [cols], "dh": [rows]}
            self.heat_fig.title.text = _heat_title(u.heat_kind, self.config.heatmap_windows)
            self.heat_fig.yaxis.axis_label = "detector index" if u.heat_kind == "detector" else "round"
        if u.configs and list(self.config_fig.y_range.factors) != u.configs:
            self.config_fig.y_range.factors = u.configs
            self.config_fig.height = max(250, 60 + 22 * len(u.configs))
        if u.anomaly_kinds and list(self.anomaly_fig.y_range.factors) != u.anomaly_kinds:
            self.anomaly_fig.y_range.factors = u.anomaly_kinds
            self.no_anomaly.visible = False
        if u.last_segment_right is not None and len(self.segments.data["right"]):
            self.segments.patch({"right": [(len(self.segments.data["right"]) - 1, u.last_segment_right)]})
        if u.segments["left"]:
            self.segments.stream(u.segments, rollover=self.config.max_events)
        if u.events["x"]:
            self.events.stream(u.events, rollover=self.config.max_events)
        if u.anomalies["x"]:
            self.anomalies.stream(u.anomalies, rollover=self.config.max_events)
        if u.status:
            self.status.text = _html_escape(u.status)


def _heat_title(kind: str, windows: int) -> str:
    what = "Per-detector rate" if kind == "detector" else "By round (no per-detector rates)"
    return f"{what}, last {windows} windows"


def _html_escape(s: str) -> str:
    import html

    return html.escape(s, quote=True)


# ---------------------------------------------------------------------------- synthetic telemetry
def synthetic_records(n: int, *, seed: int = 0, run_id: str = "synthetic", start_t: int = 0,
                      wall_time: float | None = None):
    """Synthetic telemetry for demos, tests and benchmarks of the dashboard (not physics).

    A rotated-surface-like stream: a drifting noise multiplier (geometric random walk), per-detector
    rates (``(d^2 - 1) * 4`` detectors) with cosmic-ray-like bursts (a block of detectors lit,
    decaying over 4 windows, flagged ``"burst"``) and one leakage-like streak (one detector at 0.5
    for 40 windows, flagged ``"streak"``), a policy that switches d=5 <-> d=7 when the estimate
    crosses 2 (switch actions ``2 + i``) and recalibrates every 97 windows (action 1), binomial
    logical errors from ``0.03 (p / 0.01)^((d+1)/2)`` per round with ``p = 1e-3 x noise``, decode
    latency lognormal around 0.3 us (d=5) / 0.7 us (d=7) per round.

    Args:
        n: Number of records (windows).
        seed: Seed of the numpy Generator (the same seed gives the same records).
        run_id: The records' run_id.
        start_t: Window index of the first record.
        wall_time: Wall time of every record (default: now, at creation).

    Returns:
        list of `TelemetryRecord`.

    Example:
        >>> recs = synthetic_records(300, seed=1)
        >>> len(recs), recs[0].distance, sorted({f for r in recs for f in r.anomaly})
        (300, 5, ['burst', 'streak'])
    """
    from qec_gym.monitor.telemetry import TelemetryRecord, encode_rates
    from qec_gym.sim.stats import binomial_ci, per_round

    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}.")
    rng = np.random.default_rng(seed)
    shots, rounds_d = 10_000, {5: 5, 7: 7}
    interval = functools.lru_cache(maxsize=None)(lambda k: binomial_ci(k, shots))  # few distinct counts
    log_noise, d, streak_det, out = 0.0, 5, None, []
    burst_left, burst_block = 0, slice(0, 0)
    for i in range(n):
        t = start_t + i
        log_noise = float(np.clip(log_noise + rng.normal(0.0, 0.04), -0.5, 1.6))
        noise = math.exp(log_noise)
        estimate = noise * float(np.exp(rng.normal(0.0, 0.05)))
        prev_d = d
        d = 7 if estimate > 2.0 else 5 if estimate < 1.6 else d
        action = (2 + (d == 7)) if d != prev_d else (ACTION_RECALIBRATE if t % 97 == 96 else 0)
        n_det = (d * d - 1) * 4
        p = 1e-3 * noise
        rates = np.clip(rng.normal(4 * p, 0.1 * 4 * p, n_det), 0.0, 1.0)
        flags: list[str] = []
        if burst_left == 0 and rng.random() < 0.01:
            start = int(rng.integers(0, n_det - 12))
            burst_left, burst_block = 4, slice(start, start + 12)
            flags.append("burst")
        if burst_left:
            rates[burst_block] = np.clip(rates[burst_block] + 0.4 * 0.5 ** (4 - burst_left), 0.0, 1.0)
            burst_left -= 1
        if t % 500 == 250:
            streak_det = (t, int(rng.integers(0, n_det)))
            flags.append("streak")
        if streak_det is not None and t - streak_det[0] < 40 and streak_det[1] < n_det:
            rates[streak_det[1]] = 0.5
        rounds = rounds_d[d]
        p_round = 0.03 * (p / 0.01) ** ((d + 1) / 2)
        p_shot = (1 - (1 - 2 * p_round) ** rounds) / 2
        errors = int(rng.binomial(shots, p_shot))
        lo, hi = interval(errors)
        half = n_det // 2
        out.append(TelemetryRecord(
            run_id=run_id, t=t, wall_time=wall_time or 0.0, env_id="synthetic", code="rotated_surface",
            distance=d, decoder="pymatching", config_label=f"rotated_surface d={d} pymatching", shots=shots,
            detection_fraction=float(rates.mean()), detection_fraction_x=float(rates[:half].mean()),
            detection_fraction_z=float(rates[half:].mean()),
            detection_fraction_by_round=tuple(float(r.mean()) for r in np.array_split(rates, 4)),
            detector_rates=encode_rates(rates), noise_estimate=estimate, true_noise=noise,
            logical_errors=errors, logical_error_per_round=per_round(errors / shots, rounds),
            logical_error_per_round_lo=per_round(min(lo, 0.5), rounds),
            logical_error_per_round_hi=per_round(min(hi, 0.5), rounds),
            decode_latency_s_per_round=float(rng.lognormal(math.log(0.3e-6 if d == 5 else 0.7e-6), 0.3)),
            action=None if i == 0 and start_t == 0 else action, reward=None, qubits=2 * d * d - 1,
            anomaly=tuple(flags),
        ))
    return out


# ---------------------------------------------------------------------------- export and server
def export_html(run: str | Path, out: str | Path, *, config: DashboardConfig = DashboardConfig()) -> Path:
    """Write the dashboard of a run's whole store as one HTML file that opens without a server.

    Args:
        run: Run folder (or its ``telemetry.sqlite``).
        out: The HTML file to write (parent folders are created).
        config: `DashboardConfig` (its ``run_id`` filter applies).

    Returns:
        The written path.

    Raises:
        FileNotFoundError, ValueError: as `resolve_store`; ValueError also when the store (after
        the run_id filter) holds no records.
    """
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    store = resolve_store(run)
    model = DashboardModel(config)
    u = model.update(read_telemetry(store, decode=False))
    if model.records == 0:
        raise ValueError(f"{store} holds no telemetry records"
                         + (f" with run_id prefix {config.run_id!r}" if config.run_id else "")
                         + ": nothing to export (export once the run has written windows).")
    views = DashboardViews(config, store)
    views.apply(u)
    out = Path(out)
    for parent in (out.parent, *out.parent.parents):
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"cannot write {out}: {parent} is a file, not a folder; choose another export path.")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(file_html(views.layout, INLINE, title=config.title), encoding="utf-8")
    return out


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class DashboardServer:
    """Serve the live dashboard of a run folder (Bokeh server on tornado, in-process).

    Each browser session reads the store incrementally every ``config.poll_interval_s`` and
    streams what changed to its page. `start` serves from a background thread (tests, notebooks);
    `serve_forever` serves in the calling thread until interrupted (the CLI).

    Args:
        run: Run folder (or its ``telemetry.sqlite``); checked at once (`resolve_store`).
        config: `DashboardConfig`.
        host: Interface to bind: loopback by default. Any other interface needs
            ``allow_remote=True`` (the page has no authentication) and logs a warning.
        port: TCP port; 0 picks a free one (see `url`).

    Raises:
        FileNotFoundError, ValueError: as `resolve_store`; ValueError for a non-loopback host
        without ``allow_remote``, a port outside 0..65535, or (on `start`) a port in use.
    """

    def __init__(self, run: str | Path, *, config: DashboardConfig = DashboardConfig(), host: str = "127.0.0.1",
                 port: int = 5006, allow_remote: bool = False):
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int in 0..65535 (0 picks a free one), got {port!r}.")
        if not _is_loopback(host) and not allow_remote:
            raise ValueError(
                f"host {host!r} is not a loopback address: the dashboard has no authentication, so serving "
                "on another interface must be asked for explicitly (CLI: --allow-remote; API: allow_remote=True)."
            )
        self.store = resolve_store(run)
        self.config = config
        self.host = host
        self.port = port
        self._server = None
        self._loop = None
        self._thread: threading.Thread | None = None
        if not _is_loopback(host):
            log.warning("dashboard serves on %s: anyone who can reach this interface can read the run's telemetry.", host)

    @property
    def url(self) -> str:
        """The page's address (valid once started)."""
        h = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{h}:{self.port}/"

    def make_document(self, doc) -> None:
        """Bokeh application handler: build one session's page and its polling callback."""
        model = DashboardModel(self.config)
        views = DashboardViews(self.config, self.store)

        def poll() -> None:  # runs on the server's IO loop: polls of one session never overlap
            doc.hold("combine")  # one websocket message (and one page render) per poll, not one per change
            try:
                views.apply(model.update(read_telemetry(self.store, since_id=model.last_id, decode=False)))
            except Exception as e:  # noqa: BLE001  (a transient read error must not kill the page)
                log.warning("dashboard poll of %s failed: %s", self.store, e)
                views.status.text = _html_escape(f"reading {self.store} failed: {e}")
            finally:
                doc.unhold()

        poll()
        doc.title = self.config.title
        doc.add_root(views.layout)
        doc.add_periodic_callback(poll, max(1, int(round(self.config.poll_interval_s * 1000))))

    def _make_server(self, io_loop):
        from bokeh.application import Application
        from bokeh.application.handlers.function import FunctionHandler
        from bokeh.server.server import Server

        port = self.port or _free_port(self.host)
        if _is_loopback(self.host):
            origins = [f"localhost:{port}", f"127.0.0.1:{port}"]  # bokeh cannot parse IPv6 origins
        else:
            origins = ["*"]
        try:
            server = Server({"/": Application(FunctionHandler(self.make_document))}, io_loop=io_loop,
                            address=self.host, port=port, allow_websocket_origin=origins)
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                raise ValueError(
                    f"cannot listen on {self.host}:{port} ({e.strerror}): choose another port with --port "
                    "(0 picks a free one) or stop the process that holds it."
                ) from e
            raise ValueError(f"cannot listen on {self.host}:{port}: {e}. Check --host and --port.") from e
        self.port = port
        return server

    def start(self) -> "DashboardServer":
        """Serve from a daemon thread; returns once listening (or raises as the class says)."""
        import asyncio

        from tornado.ioloop import IOLoop

        if self._thread is not None:
            raise ValueError("this DashboardServer is already started; stop() it first.")
        ready: dict = {}
        event = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(asyncio.new_event_loop())
            loop = IOLoop.current()
            try:
                server = self._make_server(loop)
                server.start()
            except BaseException as e:  # noqa: BLE001  (handed to the starting thread)
                ready["error"] = e
                event.set()
                loop.close()
                return
            self._server, self._loop = server, loop
            event.set()
            loop.start()
            loop.close(all_fds=True)

        self._thread = threading.Thread(target=run, name="qec-gym-dashboard", daemon=True)
        self._thread.start()
        event.wait()
        if "error" in ready:
            self._thread = None
            raise ready["error"]
        return self

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._loop is None or self._thread is None:
            return
        loop, server = self._loop, self._server

        def shutdown() -> None:
            server.stop()
            loop.stop()

        loop.add_callback(shutdown)
        self._thread.join(timeout=10)
        self._thread = self._loop = self._server = None

    def serve_forever(self, on_ready=None) -> None:
        """Serve in this thread until KeyboardInterrupt; ``on_ready(url)`` is called once listening."""
        import asyncio

        from tornado.ioloop import IOLoop

        asyncio.set_event_loop(asyncio.new_event_loop())
        loop = IOLoop.current()
        server = self._make_server(loop)
        server.start()
        if on_ready is not None:
            on_ready(self.url)
        try:
            loop.start()
        finally:
            server.stop()

    def __enter__(self) -> "DashboardServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
