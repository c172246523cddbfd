"""Score the online anomaly detectors on labelled events from the drift processes.

Windows of a rotated surface d=5 memory (5 rounds, SD6 p = 2e-3 x multiplier, ``--shots`` per window)
are sampled by stim; the multiplier follows a drift process whose events are known:

* stationary: ``Constant(1)`` -> false alarms per 10^4 windows (the target: < 1);
* bursts: ``Bursts`` onsets (steps where a new burst impulse arrived);
* steps: ``Step`` up/down by ``--step`` (fraction), one per episode;
* telegraph: ``RandomTelegraph`` switch points;
* streaks: a leakage-like defect injected into one check (its detector fires in every later round
  of a fraction ``--leak`` of shots) for 20 windows.

Each event class runs on fresh seeds (held-out: the thresholds come from the target false-alarm
rate alone, nothing is tuned on these runs). An event is detected by the first flag of the
detector within ``--tolerance`` windows after it; flags outside every tolerance are false alarms.

Stationary false alarms: ``--segments`` independent monitors (each learns its own baseline, so
the rate averages over baseline-estimation error) each watch ``--stationary / --segments``
windows; windows are sampled ``--batch`` at a time by stim's detector sampler (no decoding: a
window needs only its detection events). Per detector (CUSUM: ``cusum_*``; burst: ``burst``,
``step_up``, ``step_down``; streak: ``streak:*``) it reports alarms per 10^4 windows after the first warmup
(windows re-learning after an alarm count too: jumps are flagged while re-learning) with the exact Poisson 95% interval
(Garwood: chi2 quantiles), the one-sided 95% upper bound, and ARL0 = windows per false alarm.

CPU cost: ``AnomalyMonitor.update`` of this tree, and of ``--compare-rev`` (git revision, loaded
from ``git show``), against PyMatching ``decode_batch``, timed side by side on the same windows
(interleaved, best of ``--repeats``).

    nice -n 10 python benchmarks/anomaly_detectors.py [--shots 1000] [--stationary 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict

import numpy as np
from scipy.stats import chi2

from _git_revision import module_at

from qec_gym.codes import CodeSpec, build_circuit
from qec_gym.monitor.anomaly import AnomalyMonitor, MonitorConfig, match_alarms, time_pairs
from qec_gym.noise import NoiseParams
from qec_gym.noise.drift import Bursts, RandomTelegraph, Step

SPEC = CodeSpec("rotated_surface", 5)
P = 2e-3
DETECTOR = {"cusum_up": "cusum", "cusum_down": "cusum", "burst": "burst", "step_up": "burst", "step_down": "burst",
            "streak": "streak"}


class Windows:
    """Samples windows at a multiplier (cached samplers on a 1% grid)."""

    def __init__(self, shots: int, seed: int):
        self.shots, self.rng, self._s = shots, np.random.default_rng(seed), {}
        self.circuit = build_circuit(SPEC, NoiseParams.sd6(P))

    def _sampler(self, m: float):
        key = round(float(m), 2)
        if key not in self._s:
            c = build_circuit(SPEC, NoiseParams.sd6(P * key))
            self._s[key] = c.compile_detector_sampler(seed=int(self.rng.integers(2**62)))
        return self._s[key]

    def sample(self, m: float) -> np.ndarray:
        return self._sampler(m).sample(self.shots)

    def batch(self, m: float, windows: int) -> np.ndarray:
        """``windows`` windows in one sampler call: bool (windows, shots, detectors)."""
        packed = self._sampler(m).sample(self.shots * windows, bit_packed=True)  # unpacked by numpy: cheaper
        x = np.unpackbits(packed, axis=1, count=self.circuit.num_detectors, bitorder="little").view(np.bool_)
        return x.reshape(windows, self.shots, -1)


def family(flag: str) -> str:
    return flag.split(":")[0]


def run(win: Windows, mon: AnomalyMonitor, ms: np.ndarray, inject=None) -> tuple[list[tuple[int, str]], float]:
    flags, cost = [], 0.0
    for t, m in enumerate(ms):
        x = win.sample(m)
        if inject is not None:
            x = inject(t, x)
        t0 = time.perf_counter()
        out = mon.update(x)
        cost += time.perf_counter() - t0
        flags += [(t, family(f)) for f in out if f != "burst_decay"]
    return flags, cost


def poisson_interval(k: int, exposure: float, confidence: float = 0.95) -> tuple[float, float, float]:
    """Exact (Garwood) two-sided interval of a Poisson rate, and the one-sided upper bound."""
    a = 1 - confidence
    lo = chi2.ppf(a / 2, 2 * k) / 2 / exposure if k else 0.0
    hi = chi2.ppf(1 - a / 2, 2 * k + 2) / 2 / exposure
    return lo, hi, chi2.ppf(confidence, 2 * k + 2) / 2 / exposure


def stationary(win: Windows, pairs, cfg, total: int, segments: int, batch: int) -> tuple[dict, int]:
    """False alarms per detector over ``total`` monitored windows of stationary noise."""
    alarms, monitored = defaultdict(int), 0
    per = -(-total // segments)
    for _ in range(segments):
        mon, seen = AnomalyMonitor(pairs, cfg), 0
        while seen < per:
            for x in win.batch(1.0, batch):
                first = mon.t < cfg.warmup
                out = mon.update(x)
                if not first:  # every window after the first warmup (re-learning ones too: they can flag jumps)
                    seen += 1
                    for f in out:
                        if f != "burst_decay":
                            alarms[DETECTOR[family(f)]] += 1
                if seen >= per:
                    break
        monitored += seen
    return alarms, monitored


def cpu_side_by_side(win: Windows, pairs, cfg, rev: str | None, repeats: int) -> dict[str, float]:
    """Seconds per window of decoding and of each monitor version, interleaved on the same windows."""
    import pymatching

    dem = win.circuit.detector_error_model(decompose_errors=True)
    matcher = pymatching.Matching.from_detector_error_model(dem)
    xs = list(win.batch(1.0, 200))
    mons = {"monitor (this tree)": lambda: AnomalyMonitor(pairs, cfg)}
    if rev:
        old = module_at(rev, "qec_gym/monitor/anomaly.py")
        mons[f"monitor ({rev})"] = lambda: old.AnomalyMonitor(pairs, old.MonitorConfig())
    best = defaultdict(lambda: float("inf"))
    for _ in range(repeats):
        t0 = time.perf_counter()
        for x in xs:
            matcher.decode_batch(x)
        best["decode"] = min(best["decode"], (time.perf_counter() - t0) / len(xs))
        for name, make in mons.items():
            mon = make()
            for x in xs[: cfg.warmup]:
                mon.update(x)
            t0 = time.perf_counter()
            for x in xs[cfg.warmup:]:
                mon.update(x)
            best[name] = min(best[name], (time.perf_counter() - t0) / (len(xs) - cfg.warmup))
    return dict(best)


def score(events: list[int], flags: list[tuple[int, str]], tol: int, stats: dict, warm: int,
          minor: list[int] = ()) -> None:
    """Add one episode's `match_alarms` to ``stats``."""
    m = match_alarms(events, flags, tolerance=tol, start=warm, minor=minor)
    stats["delays"] += m.delays
    stats["missed"] += m.missed
    stats["events"] += len(m.delays) + m.missed
    for f in m.first_flags:
        stats["by"][f] += 1
    for _, f in m.false_alarms:
        stats["false"] += 1
        stats["false_by"][DETECTOR[f]] += 1


def streaks(win: Windows, pairs, rng, a, warm: int) -> dict:
    """Leaked-check episodes: the detectors of one stabiliser lit from a random round on."""
    st = {"delays": [], "missed": 0, "events": 0, "false": 0, "by": defaultdict(int), "false_by": defaultdict(int), "windows": 0}
    chains = {}
    for i, j in pairs:
        chains.setdefault(int(i), []).append(int(j))
    starts = [int(i) for i in pairs[:, 0] if int(i) not in set(pairs[:, 1].tolist())]
    for ep in range(a.episodes):
        chain = [starts[ep % len(starts)]]
        while chain[-1] in chains:
            chain.append(chains[chain[-1]][0])
        on, off = warm + 100, warm + 120

        def inject(t, x, chain=chain, on=on, off=off):
            if on <= t < off:
                x = x.copy()
                leak = np.flatnonzero(rng.random(len(x)) < a.leak)
                first = rng.integers(0, len(chain) - 1, size=len(leak))
                for s, f0 in zip(leak, first):
                    x[s, chain[f0:]] = True
            return x

        mon = AnomalyMonitor(pairs, MonitorConfig())
        flags, _ = run(win, mon, np.ones(warm + 200), inject=inject)
        score([on], flags, a.tolerance, st, warm, minor=[off])  # the leak's end is a change too (a step down)
        st["windows"] += 200
    return st


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shots", type=int, default=1000)
    ap.add_argument("--stationary", type=int, default=100_000, help="monitored windows of stationary noise (0: skip)")
    ap.add_argument("--segments", type=int, default=20, help="independent monitors sharing the stationary windows")
    ap.add_argument("--batch", type=int, default=100, help="windows per sampler call (stationary)")
    ap.add_argument("--episodes", type=int, default=30, help="episodes per event class (0: skip the event classes)")
    ap.add_argument("--step", type=float, default=0.2, help="step size (fraction of the multiplier)")
    ap.add_argument("--leak", type=float, default=0.02, help="fraction of shots with a leaked check")
    ap.add_argument("--long-episodes", type=int, default=None,
                    help="episodes of the burst and telegraph classes (default episodes / 3)")
    ap.add_argument("--length", type=int, default=600, help="windows per burst/telegraph episode after the warmup")
    ap.add_argument("--classes", default="burst,step_up,step_down,telegraph,streak",
                    help="event classes to run (comma-separated)")
    ap.add_argument("--tolerance", type=int, default=20)
    ap.add_argument("--compare-rev", default="6a610c0", help="git revision whose monitor is timed alongside ('' : none)")
    ap.add_argument("--repeats", type=int, default=3, help="timing repeats (best of; 0: skip the timing)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--monitor-rev", default="", help="score the monitor of this git revision instead of this tree's")
    a = ap.parse_args()
    if a.monitor_rev:  # a before/after comparison on the same scenarios (a script: rebinding its names is fine)
        old = module_at(a.monitor_rev, "qec_gym/monitor/anomaly.py")
        globals().update(AnomalyMonitor=old.AnomalyMonitor, MonitorConfig=old.MonitorConfig)
    cfg = MonitorConfig()
    win = Windows(a.shots, a.seed)
    pairs = time_pairs(win.circuit.get_detector_coordinates())
    rng = np.random.default_rng(a.seed + 1000)
    warm = cfg.warmup
    rows = {}
    print(f"rotated surface d=5, 5 rounds, SD6 p={P} x multiplier, {a.shots} shots/window, "
          f"target false-alarm rate {cfg.false_alarms_per_window:g}/window per detector, tolerance {a.tolerance} windows")
    sys.stdout.flush()

    cpu = cpu_side_by_side(win, pairs, cfg, a.compare_rev or None, a.repeats) if a.repeats else {}
    if cpu:
        print(f"\nCPU per window (best of {a.repeats}, interleaved): PyMatching decode {cpu['decode'] * 1e3:.3f} ms; "
              + "; ".join(f"{k} {v * 1e3:.3f} ms = {v / cpu['decode']:.1%} of decode" for k, v in cpu.items() if k != "decode"))
        sys.stdout.flush()

    if a.stationary:
        t0 = time.perf_counter()
        alarms, monitored = stationary(win, pairs, cfg, a.stationary, a.segments, a.batch)
        print(f"\nstationary: {monitored} monitored windows in {a.segments} independent segments "
              f"({time.perf_counter() - t0:.0f} s)")
        print("\n| detector | false alarms | per 10^4 windows | exact 95% interval | one-sided 95% upper | ARL0 (windows) |")
        print("|---|---|---|---|---|---|")
        for det in ("cusum", "burst", "streak", "all"):
            k = sum(alarms.values()) if det == "all" else alarms.get(det, 0)
            lo, hi, up = poisson_interval(k, monitored)
            arl = f"{monitored / k:,.0f}" if k else f"> {1 / up:,.0f} (95%)"
            print(f"| {det} | {k} | {1e4 * k / monitored:.2f} | [{1e4 * lo:.2f}, {1e4 * hi:.2f}] | {1e4 * up:.2f} | {arl} |")
        sys.stdout.flush()
    if not a.episodes:
        return

    classes = {}
    n_ep = a.episodes
    n_long = a.long_episodes if a.long_episodes is not None else (n_ep // 3 or 1)
    classes["burst"] = [(Bursts(0.01, 2.0, decay=3.0, random_height=True), a.length) for _ in range(n_long)]
    classes["step_up"] = [(Step(warm + 100, 1 + a.step), warm + 200) for _ in range(n_ep)]
    classes["step_down"] = [(Step(warm + 100, 1 - a.step), warm + 200) for _ in range(n_ep)]
    classes["telegraph"] = [(RandomTelegraph.from_dwell(1.0, 1 + 2 * a.step, dwell_low=150, dwell_high=80, start="low"), a.length)
                            for _ in range(n_long)]
    wanted = set(a.classes.split(","))
    classes = {k: v for k, v in classes.items() if k in wanted}
    for name, procs in classes.items():
        st = {"delays": [], "missed": 0, "events": 0, "false": 0, "by": defaultdict(int), "false_by": defaultdict(int), "windows": 0}
        for proc, n in procs:
            ms = proc.sample(n, rng)
            if name in ("burst", "telegraph"):
                # the monitor learns its first baseline on quiet windows (the level these processes
                # start from): an event inside the warmup would change the level it learns
                ms = np.r_[np.ones(warm), ms]
                n += warm
            if name == "burst":
                a_ = proc.decay_factor
                imp = (ms[1:] - 1) - a_ * (ms[:-1] - 1)
                events = [int(t) + 1 for t in np.flatnonzero(imp > 0.5)]  # bursts of height > 0.5 must be seen
                minor = [int(t) + 1 for t in np.flatnonzero((imp > 1e-9) & (imp <= 0.5))]
            else:
                events, minor = [int(t) + 1 for t in np.flatnonzero(np.diff(ms) != 0)], []
            mon = AnomalyMonitor(pairs, cfg)
            flags, _ = run(win, mon, ms)
            score(events, flags, a.tolerance, st, warm, minor)
            st["windows"] += n - warm
        rows[name] = st

    if "streak" in wanted:
        rows["streak"] = streaks(win, pairs, rng, a, warm)

    print("\n| event class | events | detected | median delay | mean delay | missed | false alarms (by detector) "
          "| windows | per 10^4 windows [exact 95%] | one-sided 95% upper | first flag by |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, st in rows.items():
        d = np.array(st["delays"])
        med = f"{np.median(d):.1f}" if len(d) else "-"
        mean = f"{d.mean():.2f}" if len(d) else "-"
        by = ", ".join(f"{k} {v}" for k, v in sorted(st["by"].items()))
        fb = ", ".join(f"{k} {v}" for k, v in sorted(st["false_by"].items()))
        lo, hi, up = poisson_interval(st["false"], max(st["windows"], 1))
        print(f"| {name} | {st['events']} | {len(d)} | {med} | {mean} | {st['missed']} | {st['false']}"
              f"{f' ({fb})' if fb else ''} | {st['windows']:,} | {1e4 * st['false'] / max(st['windows'], 1):.1f} "
              f"[{1e4 * lo:.1f}, {1e4 * hi:.1f}] | {1e4 * up:.2f} | {by} |")

if __name__ == "__main__":
    main()
