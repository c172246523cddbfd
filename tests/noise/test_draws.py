"""Drawn scenario sets: reproducible, off the training support, inside the physical caps, kept from training."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import qec_gym  # noqa: F401  (registers the envs)
from qec_gym.envs.cat_env import CAT_TRAINING_SCENARIOS
from qec_gym.eval import EvalConfig, evaluate
from qec_gym.noise.draws import draw_scenarios, family_for_env
from qec_gym.noise.drift import Bursts, OrnsteinUhlenbeck, RandomTelegraph, Ramp, Sinusoid
from qec_gym.noise.scenarios import SCENARIOS, TRAINING_SCENARIOS, resolve_scenarios, scenario_digest
from qec_gym.training.splits import heldout_names, read_splits, record_splits

KINDS = ("step_up", "recovery", "wide_slow_ou", "fast_cycle", "dense_bursts")


def _drift(s):
    """The one multiplier process of a drawn scenario (cat: ``drift``; surface, readout: its one field)."""
    if hasattr(s, "drifts"):
        (_, process), = s.drifts.drifts
        return process
    return s.drift


def _training_processes(family):
    if family == "cat":
        return [p for s in CAT_TRAINING_SCENARIOS.values() for p in s.drift.walk()]
    readout = family == "readout"
    return [p for s in TRAINING_SCENARIOS.values() if ("readout" in s.tags) == readout
            for _, d in s.drifts.drifts for p in d.walk()]


def _of(process, kind):
    return [p for p in process.walk() if isinstance(p, kind)]


def test_a_set_is_reproducible_and_its_splits_and_seeds_differ():
    a, b = draw_scenarios("surface", 4, split="heldout"), draw_scenarios("surface", 4, split="heldout")
    assert [scenario_digest(s) for s in a] == [scenario_digest(s) for s in b]
    other = {scenario_digest(s) for s in draw_scenarios("surface", 4, split="validation")}
    other |= {scenario_digest(s) for s in draw_scenarios("surface", 5, split="heldout")}
    assert not other & {scenario_digest(s) for s in a}
    assert [s.name for s in a] == [f"test4_{k}" for k in (*KINDS, "ramp_telegraph")]
    assert [s.name for s in draw_scenarios("readout", 2, split="validation")] == [
        f"readout_val2_{k}" for k in ("step_up", "recovery", "ramp_up", "fast_cycle", "dense_bursts", "wide_slow_ou")]
    for s in a:
        assert s.split == "heldout" and "drawn" in s.tags and s.episode_length == 500


@pytest.mark.parametrize("family", ["surface", "cat", "readout"])
def test_every_draw_lies_off_the_training_support(family):
    train = _training_processes(family)
    max_ou = max(p.stationary_log_std for p in train if isinstance(p, OrnsteinUhlenbeck))
    sines = [p for p in train if isinstance(p, Sinusoid)]
    max_rate = max((p.rate for p in train if isinstance(p, Bursts)), default=0.0)
    # no training telegraph stays up for good, and no training ramp falls
    assert not [p for p in train if isinstance(p, RandomTelegraph) and p.p_down == 0.0]
    assert not [p for p in train if isinstance(p, Ramp) and p.stop < p.start]
    for seed in range(15):
        for split in ("validation", "heldout"):
            tag = f"{'val' if split == 'validation' else 'test'}{seed}_"
            by_kind = {s.name.split(tag, 1)[1]: _drift(s) for s in draw_scenarios(family, seed, split=split)}
            assert any(p.p_down == 0.0 for p in _of(by_kind["step_up"], RandomTelegraph))
            assert any(p.stop < p.start for p in _of(by_kind["recovery"], Ramp))
            assert min(p.stationary_log_std for p in _of(by_kind["wide_slow_ou"], OrnsteinUhlenbeck)) > max_ou
            cycle, = _of(by_kind["fast_cycle"], Sinusoid)
            assert all(cycle.period < 0.5 * s.period and abs(cycle.amplitude) > abs(s.amplitude) for s in sines)
            burst, = _of(by_kind["dense_bursts"], Bursts)
            assert burst.rate > 3 * max_rate


@pytest.mark.parametrize("seed", [0, 7])
def test_surface_draws_stay_on_the_table_below_the_cap_and_drift(seed):
    from qec_gym.envs import SURFACE_AXIS

    floor = SURFACE_AXIS.low * 1e-3  # the axis multiplies stim-uniform(1e-3)
    for s in draw_scenarios("surface", seed, split="validation"):
        p = np.array([n.p2 for k in range(10) for n in s.trajectory(np.random.default_rng(k))])
        assert floor * 0.9999 <= p.min() and p.max() <= 9.0001e-3, s.name  # the surface scenarios' cap (p <= 9e-3)
        assert p.max() / p.min() > 1.5, s.name


def test_cat_and_readout_draws_stay_on_their_tables():
    env = gym.make("qec_gym/CatSwitch-v4").unwrapped
    lo, hi = env.table.grid[0], env.table.grid[-1]
    for s in draw_scenarios("cat", 7, split="heldout"):
        m = np.concatenate([s.multipliers(np.random.default_rng(k)) for k in range(10)])
        assert lo <= m.min() and m.max() <= min(hi, 6.0), s.name
    for s in draw_scenarios("readout", 7, split="heldout"):
        assert [k for k, _ in s.drifts.drifts] == ["p_meas"]
        m = np.concatenate([s.multipliers(np.random.default_rng(k))["p_meas"] for k in range(10)])
        assert 1.0 <= m.min() and m.max() <= 30.0, s.name  # DecoderCalibration's axis


def test_validation_draws_are_refused_for_fitting_and_recorded_as_validation(tmp_path):
    val = draw_scenarios("surface", 0, split="validation")
    with pytest.raises(ValueError, match=r"validation scenarios \['val0_step_up'\].*not for dataset generation"):
        resolve_scenarios([val[0]], registry=SCENARIOS, allow_heldout=False, purpose="dataset generation")
    from qec_gym.training.config import check_training_scenarios

    with pytest.raises(ValueError, match="for tuning and evaluation only, not for training"):
        check_training_scenarios("qec_gym/SurfaceSwitch-v3", ["randomised_surface_drift", val[1]])
    names = [s.name for s in val]
    assert heldout_names(val, names, SCENARIOS) == ()
    assert heldout_names(val, names, SCENARIOS, split="validation") == tuple(names)
    assert resolve_scenarios(val, registry=SCENARIOS) == tuple(names)  # evaluation takes them
    record_splits(tmp_path, ["train"])
    from qec_gym.eval.harness import _record_heldout_runs

    class _Cfg:
        scenarios, env_id = val, "qec_gym/SurfaceSwitch-v1"

    env = gym.make("qec_gym/SurfaceSwitch-v1", scenarios=val, max_steps=3)
    _record_heldout_runs([f"run:{tmp_path}"], _Cfg, env)
    assert read_splits(tmp_path) == {"splits_seen": ["train", "validation"], "heldout": []}


def test_an_env_evaluates_a_drawn_set(tmp_path):
    draws = draw_scenarios("readout", 1, split="validation")
    cfg = EvalConfig("qec_gym/DecoderCalibration-v3", scenarios=draws, seeds=(0,), env_kwargs={"max_steps": 4})
    df = evaluate(["fixed:0"], cfg, out_path=tmp_path / "r.csv")
    assert sorted(n.split("@")[0] for n in df.scenario) == sorted(s.name for s in draws)
    assert (df.steps == 4).all()


def test_family_for_env_and_bad_arguments():
    assert family_for_env("qec_gym/SurfaceSwitchRaw-v1") == "surface"
    assert family_for_env("qec_gym/CatSwitch-v4") == "cat"
    assert family_for_env("qec_gym/DecoderCalibration-v4") == "readout"
    with pytest.raises(ValueError, match="no drawn scenario sets for 'qec_gym/PhotonicSwitch-v1'"):
        family_for_env("qec_gym/PhotonicSwitch-v1")
    with pytest.raises(ValueError, match="unknown draw family 'photonic'"):
        draw_scenarios("photonic", 0, split="heldout")
    with pytest.raises(ValueError, match="'validation' \\(tuning\\) or 'heldout'"):
        draw_scenarios("surface", 0, split="train")
    for seed in (-1, True, 1.5, "3"):
        with pytest.raises(ValueError, match="non-negative integer"):
            draw_scenarios("surface", seed, split="heldout")


def test_the_cli_evaluates_a_drawn_validation_set(tmp_path, capsys):
    import pandas as pd

    from qec_gym.cli import main

    out = tmp_path / "r.csv"
    assert main(["eval", "--env", "qec_gym/DecoderCalibration-v3", "--draw", "3", "--seeds", "1",
                 "--policies", "fixed:0", "--out", str(out)]) == 0
    names = {n.split("@")[0] for n in pd.read_csv(out).scenario}
    assert names == {s.name for s in draw_scenarios("readout", 3, split="validation")}


def test_the_drawn_sets_figure_is_drawn(tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "drawn_sets_figure.py"
    spec = importlib.util.spec_from_file_location("drawn_sets_figure", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "sets.png"
    module.main(["--seed", "2", "--split", "heldout", "--episodes", "1", "--out", str(out)])
    assert out.stat().st_size > 10_000
