"""The live dashboard driven in a real headless chromium (selenium + Debian's chromium-driver).

`scripts/setup-browser.sh` (called by `scripts/test.sh`) installs chromium and chromium-driver;
where they are missing these tests are skipped with the reason.
"""

from __future__ import annotations

import pytest

pytest.importorskip("bokeh", reason="the dashboard needs bokeh: pip install 'qec-gym[dashboard]'")
pytest.importorskip("selenium", reason="the browser test needs selenium: pip install 'qec-gym[dev]'")

from qec_gym.monitor import dashboard_browser as web  # noqa: E402
from qec_gym.monitor.dashboard import (  # noqa: E402
    PLOT_NAMES,
    DashboardConfig,
    DashboardServer,
    export_html,
    synthetic_records,
)
from qec_gym.monitor.telemetry import TelemetryWriter  # noqa: E402

pytestmark = pytest.mark.skipif(
    None in web.browser_paths(),
    reason="no chromium/chromedriver on PATH: run `bash scripts/setup-browser.sh` as root "
    "(apt-get install chromium chromium-driver) to enable the dashboard's browser test",
)


@pytest.fixture(scope="module")
def browser():
    try:
        driver = web.start_browser()
    except Exception as e:  # noqa: BLE001  (a browser that cannot start is an environment limit)
        pytest.skip(f"headless chromium could not start ({type(e).__name__}: {e}); see scripts/setup-browser.sh")
    yield driver
    driver.quit()


def test_live_page_renders_every_plot_and_streams_new_records(tmp_path, browser):
    records = synthetic_records(302, seed=5)
    with TelemetryWriter(tmp_path, batch_size=1) as writer:
        writer.extend(records[:300])
        with DashboardServer(tmp_path, config=DashboardConfig(poll_interval_s=0.2), port=0) as server:
            assert server.url.startswith("http://127.0.0.1:")
            browser.get_log("browser")  # start the console log at this page
            browser.get(server.url)
            state, waited = web.wait_rendered(browser, PLOT_NAMES, 30)
            assert waited is not None, f"a plot has no data drawn: {web.plot_state(browser, PLOT_NAMES)}"
            assert set(state) == set(PLOT_NAMES)
            assert web.last_id(browser) == 300
            # records committed after the page loaded appear within 2 s, without a reload
            browser.execute_script("window.__qec_marker = 1")
            for rec, rid in ((records[300], 301), (records[301], 302)):
                writer.append(rec)
                writer.flush()
                _, waited = web.wait_for(lambda: web.last_id(browser) == rid, 2.0, 0.01)
                assert waited is not None, f"record {rid} not on the page 2 s after its commit (shows {web.last_id(browser)})"
            assert browser.execute_script("return window.__qec_marker") == 1, "the page was reloaded"
            status = browser.execute_script("return Bokeh.documents[0].get_model_by_name('status').text")
            assert status.startswith("302 records, last id 302")
            assert web.all_rendered(web.plot_state(browser, PLOT_NAMES))
            problems = web.console_problems(browser)
            assert not problems, f"browser console reported problems: {problems}"


def test_static_export_renders_without_a_server(tmp_path, browser):
    with TelemetryWriter(tmp_path) as writer:
        writer.extend(synthetic_records(400, seed=2))
    page = export_html(tmp_path, tmp_path / "page.html")
    browser.get_log("browser")
    browser.get(page.as_uri())
    _, waited = web.wait_rendered(browser, PLOT_NAMES, 20)
    assert waited is not None, f"exported page lacks data in a plot: {web.plot_state(browser, PLOT_NAMES)}"
    assert web.last_id(browser) == 400
    problems = web.console_problems(browser)
    assert not problems, f"browser console reported problems: {problems}"


def test_plot_check_fails_on_a_plot_without_data(tmp_path, browser):
    """The render check can fail: a store without anomaly flags leaves the anomaly plot empty."""
    recs = [r for r in synthetic_records(200, seed=2) if not r.anomaly]
    with TelemetryWriter(tmp_path) as writer:
        writer.extend(recs)
    browser.get(export_html(tmp_path, tmp_path / "page.html").as_uri())
    web.wait_for(lambda: web.plot_state(browser, PLOT_NAMES), 20)
    _, waited = web.wait_rendered(browser, PLOT_NAMES, 1)
    state = web.plot_state(browser, PLOT_NAMES)
    assert waited is None and state["anomalies"]["points"] == 0
    assert all(state[n]["points"] > 0 for n in PLOT_NAMES if n != "anomalies")
