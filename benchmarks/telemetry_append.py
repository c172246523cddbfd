"""Telemetry append throughput: records/s through `TelemetryWriter` on one core (target >= 10^5/s).

Run: python benchmarks/telemetry_append.py [--records 100000] [--compare-rev cc93928] [--repeats 3]

Three paths, each for this tree's writer and for the writer of git revision ``--compare-rev``
(loaded from ``git show``), interleaved in one run (best of ``--repeats``):

* build+append: construct each `TelemetryRecord` (the fields the env wrapper fills: fractions by
  check type and by round, noise estimate, logical errors and interval, latency, action, reward,
  qubits), append, batched commits: the whole producer path;
* prebuilt: append+commit of the same records built beforehand;
* prebuilt+rates: as prebuilt, each record also carrying compressed per-detector rates
  (120 detectors, rotated d=5 x 5 rounds).

Rates are per CPU second of this process (time.process_time), so a shared, loaded machine does
not understate them; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _git_revision import module_at


def load(rev: str | None):
    """``qec_gym.monitor.telemetry`` of git revision ``rev`` (None: this tree's)."""
    if rev is None:
        from qec_gym.monitor import telemetry
        return telemetry
    return module_at(rev, "qec_gym/monitor/telemetry.py")


def build(mod, n: int, rates: bytes | None = None) -> list:
    rec = mod.TelemetryRecord
    return [rec(run_id="bench", t=t, wall_time=1.7e9 + t, shots=1000, detection_fraction=0.02,
                detection_fraction_x=0.019, detection_fraction_z=0.021, detection_fraction_by_round=(0.01, 0.02, 0.015),
                detector_rates=rates, noise_estimate=1.1, logical_errors=3, logical_error_per_round=6e-4,
                logical_error_per_round_lo=4e-4, logical_error_per_round_hi=8e-4, decode_latency_s_per_round=1e-6,
                action=0, reward=-0.1, qubits=49) for t in range(n)]


def timed(mod, n: int, path: Path, mode: str, rates: bytes) -> float:
    """Records per CPU second of one path; checks every record was stored."""
    records = None if mode == "build+append" else build(mod, n, rates if mode == "prebuilt+rates" else None)
    t0 = time.process_time()
    with mod.TelemetryWriter(path) as w:
        for r in (build(mod, n) if records is None else records):
            w.append(r)
    rate = n / (time.process_time() - t0)
    assert len(mod.read_telemetry(path, decode=False)) == n
    path.unlink()
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--compare-rev", default="cc93928", help="git revision whose writer runs alongside ('': none)")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    mods = {"this tree": load(None)}
    if a.compare_rev:
        mods[a.compare_rev] = load(a.compare_rev)
    rates = mods["this tree"].encode_rates(np.random.default_rng(0).uniform(0.01, 0.05, 120))
    modes = ("build+append", "prebuilt", "prebuilt+rates")
    best = {(v, m): 0.0 for v in mods for m in modes}
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as d:
        for _ in range(a.repeats):
            for m in modes:
                for v, mod in mods.items():
                    best[v, m] = max(best[v, m], timed(mod, a.records, Path(d) / "t.sqlite", m, rates))
    print(f"{a.records:,} records, best of {a.repeats}, records per CPU second, load average "
          f"{load0:.1f} -> {os.getloadavg()[0]:.1f} (2 cores)")
    print("| writer | " + " | ".join(modes) + " |")
    print("|---|" + "---|" * len(modes))
    for v in mods:
        print(f"| {v} | " + " | ".join(f"{best[v, m]:,.0f}" for m in modes) + " |")
    if a.compare_rev:
        print(f"| ratio | " + " | ".join(f"{best['this tree', m] / best[a.compare_rev, m]:.2f}x" for m in modes) + " |")


if __name__ == "__main__":
    main()
