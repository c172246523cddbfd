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
CPU cost: time of ``AnomalyMonitor.update`` over PyMatching ``decode_batch`` of the same windows.

    python benchmarks/anomaly_detectors.py [--shots 1000] [--stationary 20000] [--seed 1]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
import stim

from qec_gym.codes import CodeSpec, build_circuit
from qec_gym.monitor.anomaly import AnomalyMonitor, MonitorConfig, time_pairs
from qec_gym.noise import NoiseParams
from qec_gym.noise.drift import Bursts, Constant, RandomTelegraph, Step

SPEC = CodeSpec("rotated_surface", 5)
P = 2e-3


class Windows:
    """Samples windows at a multiplier (cached samplers on a 1% grid)."""

    def __init__(self, shots: int, seed: int):
        self.shots, self.rng, self._s = shots, np.random.default_rng(seed), {}
        self.circuit = build_circuit(SPEC, NoiseParams.sd6(P))

    def sample(self, m: float) -> np.ndarray:
        key = round(float(m), 2)
        if key not in self._s:
            c = build_circuit(SPEC, NoiseParams.sd6(P * key))
            self._s[key] = c.compile_detector_sampler(seed=int(self.rng.integers(2**62)))
        return self._s[key].sample(self.shots)


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


def score(events: list[int], flags: list[tuple[int, str]], tol: int, stats: dict, warm: int,
          minor: list[int] = ()) -> None:
    """``events`` must be detected; flags near ``minor`` events (too small to require) are not false."""
    events = [e for e in events if e >= warm]
    used = {i for i, (t, _) in enumerate(flags) for e in minor if e <= t <= e + tol}
    for e in events:
        hits = [(t, f) for t, f in flags if e <= t <= e + tol]
        if hits:
            t, f = hits[0]
            stats["delays"].append(t - e)
            stats["by"][f] += 1
            used.update(i for i, (tt, _) in enumerate(flags) if e <= tt <= e + tol)
        else:
            stats["missed"] += 1
    stats["events"] += len(events)
    stats["false"] += sum(1 for i, (t, _) in enumerate(flags) if i not in used and t >= warm)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shots", type=int, default=1000)
    ap.add_argument("--stationary", type=int, default=20_000, help="windows of stationary noise")
    ap.add_argument("--episodes", type=int, default=30, help="episodes per event class")
    ap.add_argument("--step", type=float, default=0.2, help="step size (fraction of the multiplier)")
    ap.add_argument("--leak", type=float, default=0.02, help="fraction of shots with a leaked check")
    ap.add_argument("--tolerance", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    cfg = MonitorConfig()
    win = Windows(a.shots, a.seed)
    pairs = time_pairs(win.circuit.get_detector_coordinates())
    rng = np.random.default_rng(a.seed + 1000)
    warm = cfg.warmup
    rows = {}

    # stationary: false alarms and CPU cost
    mon = AnomalyMonitor(pairs, cfg)
    flags, cost = run(win, mon, Constant(1.0).sample(a.stationary + warm, rng))
    per = defaultdict(int)
    for _, f in flags:
        per[f] += 1
    dec = stim.Circuit(str(win.circuit)).detector_error_model(decompose_errors=True)
    import pymatching

    matcher = pymatching.Matching.from_detector_error_model(dec)
    xs = [win.sample(1.0) for _ in range(200)]
    t0 = time.perf_counter()
    for x in xs:
        matcher.decode_batch(x)
    decode = (time.perf_counter() - t0) / len(xs)
    mon2 = AnomalyMonitor(pairs, cfg)
    t0 = time.perf_counter()
    for x in xs:
        mon2.update(x)
    update = (time.perf_counter() - t0) / len(xs)

    classes = {}
    n_ep = a.episodes
    classes["burst"] = [(Bursts(0.01, 2.0, decay=3.0, random_height=True), 600) for _ in range(n_ep // 3 or 1)]
    classes["step_up"] = [(Step(warm + 100, 1 + a.step), warm + 200) for _ in range(n_ep)]
    classes["step_down"] = [(Step(warm + 100, 1 - a.step), warm + 200) for _ in range(n_ep)]
    classes["telegraph"] = [(RandomTelegraph.from_dwell(1.0, 1 + 2 * a.step, dwell_low=150, dwell_high=80, start="low"), 600)
                            for _ in range(n_ep // 3 or 1)]
    for name, procs in classes.items():
        st = {"delays": [], "missed": 0, "events": 0, "false": 0, "by": defaultdict(int), "windows": 0}
        for proc, n in procs:
            ms = proc.sample(n, rng)
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

    # streaks: inject a leaked check (detectors of one stabiliser lit from a random round on)
    st = {"delays": [], "missed": 0, "events": 0, "false": 0, "by": defaultdict(int), "windows": 0}
    chains = {}
    for i, j in pairs:
        chains.setdefault(int(i), []).append(int(j))
    starts = [int(i) for i in pairs[:, 0] if int(i) not in set(pairs[:, 1].tolist())]
    for ep in range(n_ep):
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

        mon = AnomalyMonitor(pairs, cfg)
        flags, _ = run(win, mon, np.ones(warm + 200), inject=inject)
        score([on], flags, a.tolerance, st, warm)
        st["windows"] += 200
    rows["streak"] = st

    print(f"rotated surface d=5, 5 rounds, SD6 p={P} x multiplier, {a.shots} shots/window, "
          f"target false-alarm rate {cfg.false_alarms_per_window:g}/window per detector, tolerance {a.tolerance} windows")
    print(f"\nstationary, {a.stationary} windows: false alarms per 10^4 windows: "
          + (", ".join(f"{k} {1e4 * v / a.stationary:.2f}" for k, v in sorted(per.items())) or "none (0.00)"))
    print(f"CPU cost: monitor update {update * 1e3:.3f} ms/window vs PyMatching decode {decode * 1e3:.3f} ms/window "
          f"= {update / decode:.1%} of decode time")
    print("\n| event class | events | detected | median delay | mean delay | missed | false alarms /10^4 windows | first flag by |")
    print("|---|---|---|---|---|---|---|---|")
    for name, st in rows.items():
        d = np.array(st["delays"])
        med = f"{np.median(d):.1f}" if len(d) else "-"
        mean = f"{d.mean():.2f}" if len(d) else "-"
        by = ", ".join(f"{k} {v}" for k, v in sorted(st["by"].items()))
        print(f"| {name} | {st['events']} | {len(d)} | {med} | {mean} | {st['missed']} | "
              f"{1e4 * st['false'] / max(st['windows'], 1):.1f} | {by} |")


if __name__ == "__main__":
    main()
