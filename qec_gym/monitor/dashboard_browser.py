"""Drive the dashboard in a real headless chromium (selenium + Debian's chromium-driver).

Used by the dashboard's browser tests, its latency benchmark (`benchmarks/dashboard_latency.py`)
and to take the docs' screenshot. Needs ``selenium`` (the ``dev`` extra) and the ``chromium`` and
``chromedriver`` executables (`scripts/setup-browser.sh` installs both on Debian).

Every figure's state is read from BokehJS itself: the rows of its data sources, the data points
its glyph views mapped inside the plot frame when they rendered (screen coordinates), and the
painted pixels inside the frame of the composed canvas.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

PLOT_STATE_JS = """
const names = arguments[0];
const doc = (window.Bokeh && Bokeh.documents.length) ? Bokeh.documents[0] : null;
if (!doc) return null;
const out = {};
for (const name of names) {
  const fig = doc.get_model_by_name(name);
  const v = fig ? Bokeh.index.find_one(fig) : null;
  if (!v) { out[name] = null; continue; }
  const b = v.frame.bbox;
  let rows = 0, points = 0;
  for (const r of fig.renderers) {
    if (r.data_source) rows = Math.max(rows, r.data_source.get_length() || 0);
    const rv = v.renderer_views.get(r), g = rv ? rv.glyph : null;
    if (!g) continue;
    const xs = g.sx ?? g.sx0, ys = g.sy ?? g.sy0 ?? g.sy1;
    if (!xs || !ys) continue;
    for (let i = 0; i < xs.length; i++) {
      if (Number.isFinite(xs[i]) && Number.isFinite(ys[i]) && xs[i] >= b.left - 1 && xs[i] <= b.right + 1
          && ys[i] >= b.top - 1 && ys[i] <= b.bottom + 1) points++;
    }
  }
  const px = v.canvas_view.pixel_ratio || 1;
  const img = v.canvas_view.compose().canvas.getContext('2d')
      .getImageData(b.left * px, b.top * px, b.width * px, b.height * px).data;
  let painted = 0;  // darker than the grid lines (#e5e5e5)
  for (let i = 0; i < img.length; i += 4)
    if (img[i + 3] > 0 && Math.min(img[i], img[i + 1], img[i + 2]) < 200) painted++;
  out[name] = {rows: rows, points: points, painted: painted};
}
return out;
"""

LAST_ID_JS = """
const doc = (window.Bokeh && Bokeh.documents.length) ? Bokeh.documents[0] : null;
if (!doc) return null;
const x = doc.get_model_by_name('series').data.x;
return x.length ? x[x.length - 1] : null;
"""


ARRIVAL_HOOK_JS = """
// Record, per newest record id, the wall clock (ms since the epoch) of the first animation frame
// after the page's series received it: the moment it is drawn.
const doc = Bokeh.documents[0];
const src = doc.get_model_by_name('series');
window.__qec_arrivals = {};
doc.on_change(() => {
  const x = src.data.x;
  if (!x.length) return;
  const last = x[x.length - 1];
  if (window.__qec_arrivals[last] === undefined) {
    window.__qec_arrivals[last] = null;
    requestAnimationFrame(() => { window.__qec_arrivals[last] = Date.now(); });
  }
});
return true;
"""


def hook_arrivals(driver) -> None:
    """Start recording when each new record id is drawn (read back with `arrivals`)."""
    driver.execute_script(ARRIVAL_HOOK_JS)


def arrivals(driver) -> dict[int, float]:
    """{record id: wall-clock seconds it was drawn} since `hook_arrivals`."""
    got = driver.execute_script("return window.__qec_arrivals || {}")
    return {int(float(k)): v / 1e3 for k, v in got.items() if v is not None}


def browser_paths() -> tuple[str | None, str | None]:
    """(chromium, chromedriver) executables on PATH, None where missing."""
    return shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")


def start_browser(*, width: int = 1400, height: int = 1400):
    """A headless chromium webdriver that collects the console log (the caller quits it).

    Raises:
        FileNotFoundError: chromium or chromedriver is not on PATH (names the set-up script).
        ImportError: selenium is missing (names the extra).
    """
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        raise ImportError("driving the dashboard needs selenium: pip install 'qec-gym[dev]'.") from e
    chromium, driver = browser_paths()
    if chromium is None or driver is None:
        raise FileNotFoundError("chromium and chromedriver must be on PATH: run `bash scripts/setup-browser.sh` as "
                                "root (apt-get install chromium chromium-driver).")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--window-size={width},{height}"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


def wait_for(fn, timeout_s: float, interval_s: float = 0.02):
    """Poll ``fn()`` until truthy: (value, seconds waited), or (last value, None) on timeout."""
    t0 = time.perf_counter()
    while True:
        v = fn()
        if v:
            return v, time.perf_counter() - t0
        if time.perf_counter() - t0 > timeout_s:
            return v, None
        time.sleep(interval_s)


def plot_state(driver, names) -> dict | None:
    """{figure name: {"rows", "points", "painted"}} of the page (None before BokehJS has a document)."""
    return driver.execute_script(PLOT_STATE_JS, list(names))


def all_rendered(state) -> bool:
    """True when every figure has data rows, data points drawn inside its frame, and painted pixels."""
    return bool(state) and all(s and s["rows"] > 0 and s["points"] > 0 and s["painted"] > 0 for s in state.values())


def wait_rendered(driver, names, timeout_s: float):
    """Wait until `all_rendered`: (state, seconds) or (last state, None)."""
    return wait_for(lambda: (lambda s: s if all_rendered(s) else None)(plot_state(driver, names)), timeout_s)


def last_id(driver):
    """The newest record id in the page's time series (None before any)."""
    return driver.execute_script(LAST_ID_JS)


def console_problems(driver) -> list[dict]:
    """Console entries at WARNING or SEVERE level since the last call (Bokeh logs its start-up at INFO)."""
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def screenshot(driver, url: str, path: str | Path, names, *, timeout_s: float = 30) -> Path:
    """Open ``url``, wait until the figures ``names`` rendered with data, save the page as a PNG
    cropped to its content (the window should be larger than the page).

    Raises:
        TimeoutError: a figure did not render with data within ``timeout_s``.
    """
    import io

    from PIL import Image

    driver.get(url)
    state, waited = wait_rendered(driver, names, timeout_s)
    if waited is None:
        raise TimeoutError(f"the dashboard at {url} did not render every plot with data: {plot_state(driver, names)}")
    img = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    gray = img.convert("L").point(lambda v: 255 if v < 250 else 0)
    box = gray.getbbox()
    if box is not None:
        img = img.crop((0, 0, min(img.width, box[2] + 10), min(img.height, box[3] + 10)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, optimize=True)
    return path
