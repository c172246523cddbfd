"""A PNG of the live dashboard on a run folder (the README's figure), taken in headless chromium.

    python benchmarks/dashboard_screenshot.py runs/demo docs/figures/dashboard.png

Needs chromium + chromium-driver (`bash scripts/setup-browser.sh`) and the dashboard extra. Views
that a run has no data for (e.g. decode latency of table-backend windows, which is not measured)
are named and left empty rather than waited for.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qec_gym.monitor import dashboard_browser as web
from qec_gym.monitor.dashboard import PLOT_NAMES, DashboardConfig, DashboardServer


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="run folder holding telemetry.sqlite")
    ap.add_argument("out", type=Path, help="PNG to write")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args(argv)
    driver = web.start_browser(width=1400, height=1900)
    try:
        with DashboardServer(args.run, config=DashboardConfig(), port=0) as server:
            try:
                path = web.screenshot(driver, server.url, args.out, PLOT_NAMES, timeout_s=args.timeout)
            except TimeoutError:
                state = web.plot_state(driver, PLOT_NAMES) or {}
                drawn = [n for n in PLOT_NAMES if web.all_rendered({n: state.get(n)})]
                print(f"no data for {sorted(set(PLOT_NAMES) - set(drawn))} in this run; shown empty")
                path = web.screenshot(driver, server.url, args.out, drawn, timeout_s=args.timeout)
    finally:
        driver.quit()
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
