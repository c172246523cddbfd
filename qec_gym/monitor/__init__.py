"""Monitoring beside a QEC experiment: telemetry store, syndrome-based noise estimation,
anomaly detection and ingestion of recorded syndrome data (see docs/design.md, section 5b).

Submodules import their optional dependencies (pandas, pyarrow, ruptures, prometheus_client)
lazily, so ``import qec_gym.monitor`` needs only the core dependencies.
"""

from qec_gym.monitor.telemetry import (
    SCHEMA_VERSION,
    TELEMETRY_FILENAME,
    PrometheusExporter,
    TelemetryRecord,
    TelemetryWrapper,
    TelemetryWriter,
    decode_rates,
    encode_rates,
    export_parquet,
    read_telemetry,
    record_from_step,
    telemetry_callback,
)

__all__ = [
    "SCHEMA_VERSION",
    "TELEMETRY_FILENAME",
    "PrometheusExporter",
    "TelemetryRecord",
    "TelemetryWrapper",
    "TelemetryWriter",
    "decode_rates",
    "encode_rates",
    "export_parquet",
    "read_telemetry",
    "record_from_step",
    "telemetry_callback",
]
