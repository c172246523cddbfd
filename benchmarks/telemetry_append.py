"""Telemetry append throughput: records/s through `TelemetryWriter` on one core (target >= 10^5/s).

Run: python benchmarks/telemetry_append.py [--records 200000]
Times record construction + append + batched commits (the whole producer path), and the
append+commit path alone on prebuilt records, side by side in one run. Rates are per CPU second of this process (time.process_time), so a
shared, loaded machine does not understate them; wall-clock rates are printed too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from qec_gym.monitor.telemetry import TelemetryRecord, TelemetryWriter, read_telemetry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=200_000)
    n = ap.parse_args().records
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "a.sqlite"
        t0 = time.process_time()
        with TelemetryWriter(path) as w:
            for t in range(n):
                w.append(TelemetryRecord(run_id="bench", t=t, wall_time=1.7e9 + t, shots=1000,
                                         detection_fraction=0.02, detection_fraction_x=0.019,
                                         detection_fraction_z=0.021, detection_fraction_by_round=(0.01, 0.02, 0.015),
                                         noise_estimate=1.1, logical_errors=3, logical_error_per_round=6e-4,
                                         decode_latency_s_per_round=1e-6, action=0, reward=-0.1, qubits=49))
        full = n / (time.process_time() - t0)
        records = [TelemetryRecord(run_id="bench", t=t, wall_time=1.7e9 + t, shots=1000, detection_fraction=0.02,
                                   noise_estimate=1.1, logical_errors=3) for t in range(n)]
        path2 = Path(d) / "b.sqlite"
        t0 = time.process_time()
        with TelemetryWriter(path2) as w:
            for r in records:
                w.append(r)
        bare = n / (time.process_time() - t0)
        assert len(read_telemetry(path)) == n and len(read_telemetry(path2)) == n
    print(f"records={n}: build+append+commit {full:,.0f} records/s; append+commit of built records {bare:,.0f} records/s")


if __name__ == "__main__":
    main()
