"""Benchmarks: every group runs and returns finite figures (timings themselves are never asserted)."""

from __future__ import annotations

import json
import math

import pytest

from qec_gym.bench import BenchConfig, bench_decoder, bench_training, format_table, run_benchmarks, write_json
from qec_gym.cli import build_parser

TINY = BenchConfig(
    window_distances=(3,), window_p=(1e-3,), window_shots=200, repeats=1, circuit_envs=("qec_gym/SurfaceSwitch-v1",),
    circuit_repeats=2, table_envs=("qec_gym/SurfaceSwitch-v1",), table_steps=200, decoder_distances=(3, 5),
    decoder_shots=200, decoder_seconds=0.05, latency_samples=5, bp_max_distance=3, train_torch_threads=(),
)


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_tiny_run_has_every_group_with_finite_figures(tmp_path):
    lines = []
    res = run_benchmarks(config=TINY, progress=lines.append)
    assert lines and all(isinstance(m, str) for m in lines)
    (w,) = res["window"]
    assert _finite(w["ratio"]) and _finite(w["raw_shots_per_s"]) and _finite(w["cold_compile_s"])
    (c,) = res["env"]["circuit"]
    assert _finite(c["ratio"]) and c["shots"] > 0
    assert _finite(res["env"]["table"][0]["steps_per_s"])
    from qec_gym.decoders import DECODERS, get_decoder

    got = {(r["decoder"], r["d"]) for r in res["decoders"]}
    installed = {n for n in DECODERS if get_decoder(n).installed()}
    assert {(n, 3) for n in installed if n != "chromobius"} <= got and ("bposd", 5) not in got and ("pymatching", 5) in got
    assert any(n.startswith("decoder chromobius: skipped") for n in res["notes"])  # colour codes only
    assert all(_finite(r["shots_per_s"]) and _finite(r["latency_us"]) for r in res["decoders"])
    assert any("bposd: skipped at d = 5" in n for n in res["notes"])
    assert res["machine"]["cpu_count"] and res["timestamp"] and res["training"] == []
    text = format_table(res)
    assert "(a) simulate_window" in text and "(c) decoders" in text and "pymatching-correlated" in text
    saved = json.loads(write_json(res, tmp_path / "b" / "bench.json").read_text())
    assert saved["window"][0]["d"] == 3 and saved["config"]["decoder_distances"] == [3, 5]


def test_decoder_time_budget_caps_shots():
    r = bench_decoder("uf", 7, shots=100_000, seconds=0.01, latency_samples=3)
    assert r["capped"] and 0 < r["shots"] < 100_000 and r["latency_shots"] >= 1


def test_training_benchmark_restores_torch_threads():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    r = bench_training("qec_gym/SurfaceSwitch-v1", steps=2048, torch_threads=1)
    assert r["steps"] >= 2048 and _finite(r["steps_per_s"]) and r["torch_threads"] == 1
    assert torch.get_num_threads() == before


def test_config_validation_and_cli():
    with pytest.raises(ValueError, match="window_shots must be > 0"):
        BenchConfig(window_shots=0)
    with pytest.raises(ValueError, match="window_distances is empty"):
        BenchConfig(window_distances=())
    args = build_parser().parse_args(["bench", "--quick", "--json", "b.json"])
    assert args.quick and args.json == "b.json"


@pytest.mark.slow
def test_quick_benchmarks_return_finite_ratios():
    res = run_benchmarks(quick=True)
    assert [w["d"] for w in res["window"]] == [5, 11]
    assert all(_finite(w["ratio"]) for w in res["window"])
    assert all(_finite(r["ratio"]) for r in res["env"]["circuit"])
    assert all(_finite(r["steps_per_s"]) for r in res["training"]) and len(res["training"]) == 2
