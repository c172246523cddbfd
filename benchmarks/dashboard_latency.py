"""Dashboard latency and update cost, measured in a real headless chromium.

Run: python benchmarks/dashboard_latency.py [--records 100000] [--samples 50] [--poll 0.2]

1. Commit-to-page latency: the writer commits one record (``flush`` returns, wall clock noted);
   the page notes (``Date.now``, in the first animation frame after its series received the
   record) when it is drawn; median, p90 and max over ``--samples`` records, on a small store
   and on one holding ``--records``.
   The page's own cost per new record: chromium's main-thread CPU time (``ThreadTime``, not
   inflated by other processes the way wall-clock figures are on a loaded machine).
2. Update cost with ``--records`` in the store: the server's work per poll (incremental read +
   model update + Bokeh source update) for one new record and for an idle poll, median of 50,
   and the first page build (read everything, downsample to ``max_points``) and first render.
Needs chromium + chromedriver (`scripts/setup-browser.sh`) and selenium.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from qec_gym.monitor import dashboard_browser as web
from qec_gym.monitor.dashboard import (
    PLOT_NAMES,
    DashboardConfig,
    DashboardModel,
    DashboardServer,
    DashboardViews,
    synthetic_records,
)
from qec_gym.monitor.telemetry import TelemetryWriter, read_telemetry


def fill(run: Path, n: int, *, block: int = 5000) -> None:
    """Write ``n`` synthetic records (a block generated once, repeated with increasing t)."""
    base = synthetic_records(min(n, block), seed=0)
    with TelemetryWriter(run) as w:
        for start in range(0, n, block):
            w.extend(replace(r, t=start + r.t) for r in base[: n - start])


def commit_to_page(driver, writer: TelemetryWriter, samples: int, first_id: int) -> list[float]:
    """Seconds from each record's commit (``flush`` returned) to the first frame drawn with it.

    Both ends are wall-clock readings on this machine (Python ``time.time``, the page's
    ``Date.now``); the page records its side itself, so selenium's own latency does not count.
    """
    web.hook_arrivals(driver)
    rng = np.random.default_rng(0)
    committed = {}
    for k, r in enumerate(synthetic_records(samples, seed=9, start_t=10**7)):
        writer.append(r)
        writer.flush()
        committed[first_id + k] = time.time()
        time.sleep(0.5 + 0.5 * rng.random())  # one record at a time, de-phased from the poll clock
    _, waited = web.wait_for(lambda: len(web.arrivals(driver)) >= samples, 10.0, 0.1)
    got = web.arrivals(driver)
    missing = sorted(set(committed) - set(got))
    if missing:
        raise RuntimeError(f"records {missing[:5]}... never reached the page")
    return [got[i] - committed[i] for i in committed]


def browser_metrics(driver) -> dict[str, float]:
    """Chromium's cumulative page metrics (seconds): ThreadTime is the main thread's CPU time."""
    return {m["name"]: m["value"] for m in driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}


def summary(xs: list[float], unit: float = 1e3, name: str = "ms") -> str:
    q = np.percentile(xs, [50, 90])
    return f"median {q[0] * unit:.0f} {name}, p90 {q[1] * unit:.0f} {name}, max {max(xs) * unit:.0f} {name} (n={len(xs)})"


def live(run: Path, config: DashboardConfig, samples: int, label: str) -> None:
    driver = web.start_browser()
    try:
        with DashboardServer(run, config=config, port=0) as server, TelemetryWriter(run, batch_size=1) as writer:
            t0 = time.perf_counter()
            driver.get(server.url)
            _, waited = web.wait_rendered(driver, PLOT_NAMES, 120)
            print(f"[{label}] page load until every plot rendered with data: {time.perf_counter() - t0:.2f} s")
            first = int(read_telemetry(run, decode=False)["id"].iloc[-1]) + 1
            driver.execute_cdp_cmd("Performance.enable", {})
            before = browser_metrics(driver)
            lat = commit_to_page(driver, writer, samples, first)
            after = browser_metrics(driver)
            print(f"[{label}] commit -> on the page (poll {config.poll_interval_s} s): {summary(lat)}")
            per = {k: (after[k] - before[k]) / samples * 1e3 for k in ("ThreadTime", "ScriptDuration", "TaskDuration")}
            print(f"[{label}] page cost per new record: main-thread CPU {per['ThreadTime']:.0f} ms "
                  f"(script {per['ScriptDuration']:.0f} ms wall, all tasks {per['TaskDuration']:.0f} ms wall)")
            problems = web.console_problems(driver)
            print(f"[{label}] browser console warnings/errors: {len(problems)}")
    finally:
        driver.quit()


def update_cost(run: Path, config: DashboardConfig) -> None:
    t0 = time.perf_counter()
    model = DashboardModel(config)
    u = model.update(read_telemetry(run, decode=False))
    views = DashboardViews(config, run / "telemetry.sqlite")
    views.apply(u)
    print(f"first page build: read + downsample {model.records:,} records to {len(model.history)} points "
          f"+ Bokeh document: {time.perf_counter() - t0:.2f} s")
    one, idle = [], []
    with TelemetryWriter(run) as w:
        for k, r in enumerate(synthetic_records(50, seed=3, start_t=2 * 10**7)):
            w.append(r)
            w.flush()
            t = time.perf_counter()
            views.apply(model.update(read_telemetry(run, since_id=model.last_id, decode=False)))
            one.append(time.perf_counter() - t)
            t = time.perf_counter()
            views.apply(model.update(read_telemetry(run, since_id=model.last_id, decode=False)))
            idle.append(time.perf_counter() - t)
    print(f"server work per poll with {model.records:,} records in the store: one new record {summary(one)}; "
          f"idle poll {summary(idle)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--poll", type=float, default=0.2)
    args = ap.parse_args()
    config = DashboardConfig(poll_interval_s=args.poll)
    with tempfile.TemporaryDirectory() as d:
        small, big = Path(d, "small"), Path(d, "big")
        fill(small, 300)
        live(small, config, args.samples, "300 records")
        t = time.perf_counter()
        fill(big, args.records)
        print(f"(wrote {args.records:,} synthetic records in {time.perf_counter() - t:.1f} s)")
        update_cost(big, config)
        live(big, config, args.samples, f"{args.records:,} records")


if __name__ == "__main__":
    main()
