"""Sweeps: config validation, sinter tasks, the sinter decoder adapter, resume, CLI and plots."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import sinter
import stim

from qec_gym.cli import main
from qec_gym.codes import CodeSpec, build_circuit
from qec_gym.decoders import get_decoder
from qec_gym.decoders.sinter_adapter import SinterDecoder, merge_decomposed_errors, sinter_decoders
from qec_gym.noise import NoiseParams
from qec_gym.sim.plots import plot_threshold, plot_vs_distance
from qec_gym.sim.sweep import (
    SweepConfig,
    SweepRow,
    compact_results,
    load_results,
    make_tasks,
    noise_model,
    run_sweep,
    stats_to_rows,
)
from qec_gym.sim.threshold import ThresholdEstimate

TINY = dict(families=("repetition",), distances=(3, 5), p_values=(0.03, 0.06), num_workers=1)


# ------------------------------------------------------------------ config
@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(families=("nope",)), "unknown code family"),
        (dict(families="repetition"), "must be a sequence"),
        (dict(distances=()), "is empty"),
        (dict(distances=(3, 3)), "duplicates"),
        (dict(families=("rotated_surface",), distances=(4,)), "odd distance"),
        (dict(decoders=("magic",)), "unknown decoder"),
        (dict(p_values=(0.0,)), r"in \(0, 1\)"),
        (dict(p_values=(1.5,)), r"in \(0, 1\)"),
        (dict(noise="pink"), "unknown noise model"),
        (dict(noise="biased"), "pass eta"),
        (dict(eta=10.0), "only applies to the 'biased'"),
        (dict(rounds="2x"), "rounds rule"),
        (dict(rounds="0d"), "rounds rule"),
        (dict(rounds=0), "rounds must be"),
        (dict(max_shots=0), "max_shots must be an int >= 1"),
        (dict(max_errors=1.5), "max_errors must be an int >= 1"),
        (dict(num_workers=0), "num_workers"),
        (dict(basis="x"), "memory basis"),
    ],
)
def test_bad_config_names_the_problem(changes, message):
    with pytest.raises(ValueError, match=message):
        SweepConfig(**{**TINY, **changes})


def test_config_normalises_sequences_and_rounds_rules():
    cfg = SweepConfig(families=["rotated_surface"], distances=[3, 5], p_values=[0.001], rounds="3d")
    assert cfg.distances == (3, 5) and isinstance(cfg.p_values, tuple)
    assert [s.rounds for s in cfg.specs()] == [9, 15]
    assert dataclasses.replace(cfg, rounds=1).rounds_for(7) == 1
    assert dataclasses.replace(cfg, rounds="d").rounds_for(7) == 7
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.max_shots = 5  # type: ignore[misc]
    assert noise_model("code_capacity", 0.1) == NoiseParams.code_capacity(0.1)


# ------------------------------------------------------------------- tasks
def test_make_tasks_metadata_and_dems():
    cfg = SweepConfig(families=("rotated_surface",), distances=(3, 5), p_values=(0.002, 0.004),
                      decoders=("pymatching", "bposd"))
    tasks = make_tasks(cfg)
    assert len(tasks) == 2 * 2 * 2
    seen = set()
    for t in tasks:
        m = t.json_metadata
        assert set(m) == {"family", "d", "rounds", "basis", "p", "noise", "eta", "decoder", "source"}
        assert (m["family"], m["rounds"], m["basis"], m["noise"], m["eta"], m["source"]) == (
            "rotated_surface", m["d"], "x", "uniform", None, "qec_gym")
        assert t.decoder == m["decoder"]
        spec = CodeSpec("rotated_surface", m["d"])
        circuit = build_circuit(spec, NoiseParams.uniform(m["p"]))
        assert t.circuit == circuit
        graphlike = get_decoder(t.decoder).needs_graphlike
        assert t.detector_error_model == circuit.detector_error_model(
            decompose_errors=graphlike, approximate_disjoint_errors=True)
        seen.add((m["d"], m["p"], m["decoder"]))
    assert len(seen) == 8
    assert len({t.strong_id() for t in tasks}) == 8


def test_make_tasks_biased_records_eta():
    cfg = SweepConfig(families=("xzzx",), distances=(3,), p_values=(0.01,), noise="biased", eta=100)
    (task,) = make_tasks(cfg)
    assert task.json_metadata["eta"] == 100.0 and task.json_metadata["noise"] == "biased"
    assert task.circuit == build_circuit(CodeSpec("xzzx", 3), NoiseParams.biased(0.01, 100))


def test_matching_on_colour_code_names_a_hypergraph_decoder():
    cfg = SweepConfig(families=("color",), distances=(5,), p_values=(0.001,))
    with pytest.raises(ValueError, match="bposd"):
        make_tasks(cfg)


# ----------------------------------------------------------------- adapter
@pytest.mark.parametrize("name", ["pymatching", "bposd", "uf"])
def test_sinter_adapter_decodes_like_our_decoder(name):
    circuit = build_circuit(CodeSpec("rotated_surface", 3), NoiseParams.uniform(0.01))
    dem = circuit.detector_error_model(decompose_errors=True)  # what sinter builds
    dets, _ = circuit.compile_detector_sampler(seed=5).sample(500, separate_observables=True)
    ours = get_decoder(name)
    direct = ours.compile(dem if ours.needs_graphlike else merge_decomposed_errors(dem)).decode_batch(dets)
    adapter = SinterDecoder(name).compile_decoder_for_dem(dem=dem)
    packed = np.packbits(dets, axis=1, bitorder="little")
    out = adapter.decode_shots_bit_packed(bit_packed_detection_event_data=packed)
    assert out.dtype == np.uint8 and out.shape == (500, 1)
    np.testing.assert_array_equal(np.unpackbits(out, axis=1, count=1, bitorder="little").astype(bool), direct)
    # The same through sinter's own prediction entry point.
    via_sinter = sinter.predict_observables(dem=dem, dets=dets, decoder=name,
                                            custom_decoders=sinter_decoders([name]))
    np.testing.assert_array_equal(via_sinter, direct)
    assert direct.any()  # the check is not vacuous


def test_sinter_adapter_is_picklable_and_named():
    import pickle

    decs = sinter_decoders(["pymatching", "pymatching-correlated"])
    assert sorted(decs) == ["pymatching", "pymatching-correlated"]
    assert pickle.loads(pickle.dumps(decs["pymatching"])) == decs["pymatching"]
    with pytest.raises(ValueError, match="unknown decoder"):
        sinter_decoders(["magic"])


def test_merge_decomposed_errors():
    dem = stim.DetectorErrorModel("""
        error(0.1) D0 D1 ^ D1 D2 L0
        error(0.2) D0 ^ D0
        error(0.05) D3
        detector D3
    """)
    merged = merge_decomposed_errors(dem)
    errors = [i for i in merged if i.type == "error"]
    assert [[str(t) for t in e.targets_copy()] for e in errors] == [["D0", "D2", "L0"], ["D3"]]
    assert merge_decomposed_errors(merged) is merged
    assert merged.num_detectors == 4


# ------------------------------------------------------------ run / resume
def test_tiny_sweep_writes_csv_and_resume_skips_finished_work(tmp_path):
    path = tmp_path / "sub" / "results.csv"
    cfg = SweepConfig(**TINY, max_shots=400, max_errors=10**6)
    stats = run_sweep(cfg, save_path=path)
    assert path.exists() and len(stats) == 4 and all(s.shots == 400 for s in stats)
    rows = load_results(path)
    assert [(r.distance, r.p) for r in rows] == [(3, 0.03), (3, 0.06), (5, 0.03), (5, 0.06)]
    assert all(r.shots == 400 and r.source == "qec_gym" and r.rounds == r.distance for r in rows)
    before = path.read_text()

    again = run_sweep(cfg, save_path=path)  # everything finished: nothing is sampled
    assert path.read_text() == before
    assert sorted(s.shots for s in again) == [400] * 4

    more = dataclasses.replace(cfg, max_shots=700)  # unfinished: only the missing shots are added
    run_sweep(more, save_path=path)
    assert [r.shots for r in load_results(path)] == [700] * 4
    assert path.read_text().startswith(before)

    compact_results(path)  # one line per task, same totals, and resume still sees them
    assert len(path.read_text().splitlines()) == 1 + 4
    compacted = path.read_text()
    run_sweep(more, save_path=path)
    assert path.read_text() == compacted
    assert [r.shots for r in load_results(path)] == [700] * 4


def test_rows_and_per_round_use_sinters_conversion():
    s = sinter.TaskStats(strong_id="abc", decoder="pymatching", shots=1000, errors=90, json_metadata={
        "family": "repetition", "d": 5, "rounds": 7, "p": 0.05, "noise": "uniform", "decoder": "pymatching"})
    (row,) = stats_to_rows([s])
    assert row.per_shot == 0.09 and row.source == "qec_gym" and row.eta is None
    assert row.per_round == pytest.approx(sinter.shot_error_rate_to_piece_error_rate(0.09, pieces=7))
    lo, hi = row.ci_per_round(0.95)
    assert lo < row.per_round < hi
    with pytest.raises(ValueError, match="without"):
        stats_to_rows([sinter.TaskStats(strong_id="x", decoder="d", json_metadata={"d": 3})])


def test_load_results_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="qec-gym sweep"):
        load_results(tmp_path / "none.csv")


# --------------------------------------------------------------------- CLI
def test_cli_sweep_resumable_with_plot(tmp_path, capsys):
    out, png = tmp_path / "r.csv", tmp_path / "r.png"
    argv = ["sweep", "--code", "repetition", "--distances", "3", "5", "--p", "0.05", "0.3",
            "--max-shots", "2000", "--max-errors", "200", "--workers", "1", "--out", str(out),
            "--plot", str(png), "--quiet"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "threshold repetition / pymatching" in text and png.stat().st_size > 1000
    first = out.read_text()
    assert main(argv) == 0
    assert out.read_text() == first


def test_two_noise_models_in_one_file_report_fit_and_plot_only_the_current_sweep(tmp_path, capsys, monkeypatch):
    # issue 11.4: `--noise uniform` then `--noise sd6` into one --out printed 8 rows for 4 tasks,
    # aborted the threshold on mixed groups and drew both under an "sd6" title.
    import qec_gym.sim.plots as plots

    drawn = {}

    def fake_plot(rows, path, *, threshold=None, title=None):
        drawn.update(rows=list(rows), title=title, threshold=threshold)
        return path

    monkeypatch.setattr(plots, "plot_threshold", fake_plot)
    out = tmp_path / "both.csv"
    base = ["sweep", "--code", "repetition", "--distances", "3", "5", "--p", "0.04", "0.08", "--max-shots", "1000",
            "--max-errors", "100", "--workers", "1", "--out", str(out), "--quiet", "--plot", str(tmp_path / "t.png")]
    assert main(base + ["--noise", "uniform"]) == 0
    capsys.readouterr()
    assert main(base + ["--noise", "sd6"]) == 0
    text = capsys.readouterr().out
    table = [line for line in text.splitlines() if line.startswith("repetition")]
    assert len(table) == 4 and all(line.split()[2] == "sd6" for line in table), text
    assert "threshold repetition / pymatching (sd6)" in text and "mix" not in text  # fitted or told why not
    assert {r.noise for r in drawn["rows"]} == {"sd6"} and len(drawn["rows"]) == 4
    assert drawn["title"] == "repetition, sd6 noise"
    # the file keeps both sweeps, grouped by noise model
    assert [r.noise for r in load_results(out)] == ["sd6"] * 4 + ["uniform"] * 4
    # the library call returns the current sweep's tasks only
    cfg = SweepConfig(families=("repetition",), distances=(3, 5), p_values=(0.04, 0.08), noise="biased", eta=10.0,
                      max_shots=300, max_errors=10**6, num_workers=1)
    stats = run_sweep(cfg, save_path=out)
    assert len(stats) == 4 and {s.json_metadata["eta"] for s in stats} == {10.0}
    assert {r.noise_model for r in stats_to_rows(stats)} == {"biased eta=10"}


def test_cli_simulate_biased_noise_shares_the_sweep_options(capsys):
    argv = ["simulate", "--code", "xzzx", "-d", "3", "-p", "0.01", "--noise", "biased", "--eta", "100",
            "--shots", "200", "--json"]
    assert main(argv) == 0
    rec = json.loads(capsys.readouterr().out.splitlines()[0])
    assert rec["noise"] == "biased" and rec["eta"] == 100.0 and rec["shots"] == 200
    assert main(argv[:-5] + ["--noise", "biased", "--json"]) == 2
    assert "pass eta" in capsys.readouterr().err
    assert main(["simulate", "-d", "3", "-p", "0.01", "--eta", "5", "--shots", "10"]) == 2
    assert "only applies to the 'biased'" in capsys.readouterr().err


def test_simulate_and_sweep_noise_options_are_one_definition():
    from qec_gym.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices

    def noise_opts(cmd):
        return [(a.option_strings, a.default, a.help) for a in sub[cmd]._actions if a.dest in ("noise", "eta")]

    assert noise_opts("simulate") == noise_opts("sweep") and len(noise_opts("sweep")) == 2


def test_cli_sweep_bad_input_is_one_line(tmp_path, capsys):
    argv = ["sweep", "--code", "nope", "--distances", "3", "--p", "0.01", "--out", str(tmp_path / "x.csv")]
    assert main(argv) == 2
    assert "unknown code family" in capsys.readouterr().err


# ------------------------------------------------------------------- plots
def _rows():
    return [SweepRow("repetition", d, d, "z", p, "uniform", None, "pymatching", src, 10_000,
                     max(1, int(10_000 * 0.1 * (p / 0.1) ** ((d + 1) / 2))))
            for src in ("qec_gym", "stim") for d in (3, 5, 7) for p in (0.03, 0.06, 0.12)]


def test_plots_write_png(tmp_path):
    est = ThresholdEstimate(0.1, 0.09, 0.11, 0.95, (), 0)
    a = plot_threshold(_rows(), tmp_path / "a" / "t.png", threshold=est, title="t")
    b = plot_vs_distance(_rows(), tmp_path / "d.png", p=[0.03, 0.06])
    for path in (a, b):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no rows at p"):
        plot_vs_distance(_rows(), tmp_path / "x.png", p=0.5)
    with pytest.raises(ValueError, match="no rows"):
        plot_threshold([], tmp_path / "y.png")
