"""Cat operating point -> repetition-code channel (qec_gym.bosonic.channel), its circuit and the nbar sweep."""

import math

import numpy as np
import pytest
import stim

from qec_gym.bosonic import CatChannelTable, CatTableGrid, analytic_rates, CatParams
from qec_gym.bosonic.channel import (
    PACKAGED_CAT_GRID,
    CatOperatingPoint,
    bit_flip_per_round_array,
    cat_channel,
    cx_bitflip_probability,
    gouzien_bit_flip_per_round,
    gouzien_phase_flip_per_round,
    packaged_cat_table,
)
from qec_gym.bosonic.cat import flip_probability
from qec_gym.bosonic.cx import packaged_cx_table
from qec_gym.codes import CodeSpec, build_circuit
from qec_gym.codes.noise_model import add_noise
from qec_gym.codes.templates import template_circuit
from qec_gym.sim.cache import SimulationCache
from qec_gym.sim.cat_memory import cat_logical_error_per_round, nbar_sweep, optimal_nbar

POINT = CatOperatingPoint(4.0, 1e-3)
OLD_LAW = CatOperatingPoint(4.0, 1e-3, cx_bitflip="gouzien2023")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(nbar=0.0), "nbar"),
        (dict(kappa1_over_kappa2=-1e-3), "kappa1"),
        (dict(kappaphi_over_kappa2=-1.0), "kappaphi"),
        (dict(t_round=3.0), "t_round"),
        (dict(gate_time=2.0, t_readout=0.0), "t_round"),
        (dict(t_round=float("nan")), "finite"),
        (dict(cx_bitflip="kerr"), "cx_bitflip"),
    ],
)
def test_operating_point_validation(kwargs, match):
    base = dict(nbar=4.0, kappa1_over_kappa2=1e-3)
    base.update(kwargs)
    nbar, k1 = base.pop("nbar"), base.pop("kappa1_over_kappa2")
    with pytest.raises(ValueError, match=match):
        CatOperatingPoint(nbar, k1, **base)


def test_packaged_table_is_used_and_agrees_with_the_analytic_law():
    table = packaged_cat_table()
    assert table is not None and table.grid == PACKAGED_CAT_GRID
    ch = cat_channel(POINT)
    assert ch.rates_source == "table"
    gx, gz = analytic_rates(CatParams(4.0, 1e-3))
    assert ch.gamma_z == pytest.approx(gz, rel=5e-3)
    assert ch.gamma_x == pytest.approx(gx, rel=0.1)
    # outside the packaged grid the analytic law takes over; an explicit table must cover the point
    assert cat_channel(OLD_LAW.replace(nbar=12.0)).rates_source == "analytic"
    with pytest.raises(ValueError, match="outside"):
        cat_channel(OLD_LAW.replace(nbar=12.0), table=table)
    with pytest.raises(ValueError, match="outside the CX bit-flip table"):  # the simulated CX stops at nbar 9
        cat_channel(POINT.replace(nbar=12.0))


def test_idle_and_readout_probabilities_follow_the_round_timing():
    ch = cat_channel(POINT, table=None)
    n, gz = ch.noise, ch.gamma_z
    assert n.idle_z == pytest.approx(flip_probability(gz, 1.0))
    assert n.p_dephase == pytest.approx(flip_probability(gz, 2.0))  # t_round - 3 gate times
    assert n.p_reset == pytest.approx(flip_probability(gz, 1.0)) == ch.data_readout
    # a bulk data cat: round-start flip + the readout layer's idle = its idle time t_round - 2 t_gate
    bulk = 0.5 * (1 - (1 - 2 * n.p_dephase) * (1 - 2 * n.idle_z))
    assert bulk == pytest.approx(flip_probability(gz, 3.0), rel=1e-12)
    assert n.eta == 1e6 and n.p2 / 3 == pytest.approx(ch.cx.p_zz, rel=1e-5)


def _explicit_circuit(circuit: stim.Circuit, ch) -> stim.Circuit:
    """The same circuit with the CX's asymmetric Z channel written out and the readout excess removed."""
    cx = ch.cx
    probs = [0.0] * 15
    probs[2], probs[11], probs[14] = cx.p_z_target, cx.p_z_control, cx.p_zz  # IZ, ZI (control), ZZ
    slack = ch.point.t_round - 2 * ch.point.gate_time - 2 * ch.point.t_readout
    p_readout = flip_probability(ch.gamma_z, slack + ch.point.t_readout)

    def walk(c: stim.Circuit) -> stim.Circuit:
        out = stim.Circuit()
        for inst in c:
            if isinstance(inst, stim.CircuitRepeatBlock):
                out.append(stim.CircuitRepeatBlock(inst.repeat_count, walk(inst.body_copy())))
            elif inst.name == "PAULI_CHANNEL_2":
                out.append("PAULI_CHANNEL_2", inst.targets_copy(), probs)
            elif inst.name == "Z_ERROR" and inst.gate_args_copy()[0] == ch.noise.p_meas:
                out.append("Z_ERROR", inst.targets_copy(), p_readout)
            else:
                out.append(inst)
        return out

    return walk(circuit)


def _dem_probabilities(circuit: stim.Circuit) -> dict:
    out: dict = {}
    for inst in circuit.detector_error_model(approximate_disjoint_errors=True).flattened():
        if inst.type == "error":
            key = tuple(sorted(str(t) for t in inst.targets_copy()))
            out[key] = 1 - (1 - out.get(key, 0.0)) * (1 - inst.args_copy()[0])
    return out


@pytest.mark.parametrize("nbar,k1", [(4.0, 1e-3), (8.0, 3e-3), (2.0, 1e-4)])
def test_symmetric_channel_plus_readout_fold_equals_the_asymmetric_cx(nbar, k1):
    """The mapping's DEM equals that of a circuit with the CX's ZI / IZ / ZZ written out exactly."""
    ch = cat_channel(CatOperatingPoint(nbar, k1))
    mapped = build_circuit(CodeSpec("cat_repetition", 3, rounds=3), ch.noise)
    a, b = _dem_probabilities(mapped), _dem_probabilities(_explicit_circuit(mapped, ch))
    assert set(a) == set(b)
    # stim treats each channel's disjoint components as independent: equal to O(p^2)
    assert max(abs(a[k] - b[k]) / b[k] for k in b if b[k] > 1e-12) < 1e-2


def test_every_path_builds_the_cat_circuit_with_the_data_readout_at_p_reset():
    """The one circuit path (codes.build_circuit, hence SimulationCache) differs from the generic noise
    insertion exactly at the data's final readout, which flips with p_reset (the former trap)."""
    n = cat_channel(POINT).noise
    spec = CodeSpec("cat_repetition", 3, rounds=2)
    generic, cat = add_noise(template_circuit(spec), n), build_circuit(spec, n)
    flips = lambda c: [(i.name, i.gate_args_copy(), [t.value for t in i.targets_copy()]) for i in c.flattened()  # noqa: E731
                       if i.name == "Z_ERROR"]
    diff = [(x, y) for x, y in zip(flips(generic), flips(cat)) if x != y]
    assert len(diff) == 1
    (old, new), = diff
    assert old[1] == [n.p_meas] and new[1] == [n.p_reset] and old[2] == [0, 2, 4]
    assert str(SimulationCache().circuit(spec, n)) == str(cat)


def test_bit_flips_are_the_literature_law_and_fall_with_nbar():
    nbars = [2.0, 3.0, 4.0, 6.0, 8.0]
    px = [cat_channel(OLD_LAW.replace(nbar=nb)).bit_flip_per_round(5) for nb in nbars]
    assert all(a > b for a, b in zip(px, px[1:]))
    for nb, p in zip(nbars, px):
        assert p == pytest.approx(gouzien_bit_flip_per_round(5, nb), rel=0.2 if nb == 2.0 else 1e-2)
    arr = bit_flip_per_round_array(5, OLD_LAW, np.array([5e-4, 1e-3, 4e-3]))
    assert arr[1] == pytest.approx(px[2], rel=1e-9)
    # dephasing adds idle bit flips (9 cats x p_X(t_round)) on top of the CX's
    dephased = cat_channel(OLD_LAW.replace(nbar=6.0, kappaphi_over_kappa2=1e-3))
    added = 9 * flip_probability(dephased.gamma_x, 5.0)
    assert dephased.bit_flip_per_round(5) - px[3] == pytest.approx(added, rel=0.05)
    assert added > 1e-6


def test_cx_z_errors_enter_stim_exactly_and_bit_flips_come_from_the_cx_table():
    from qec_gym.codes.noise_model import biased_pauli2

    ch = cat_channel(POINT)
    probs = biased_pauli2(ch.noise.p2, ch.noise.eta)
    for i in (2, 11, 14):  # IZ, ZI, ZZ of stim's PAULI_CHANNEL_2 order
        assert probs[i] == pytest.approx(ch.cx.p_zz, rel=1e-12)
    table = packaged_cx_table()
    assert ch.cx.p_bitflip == table.p_bitflip(4.0, 1e-3, 1.0) == cx_bitflip_probability(POINT)
    k1 = np.array([3e-4, 1e-3, 5e-3])
    arr = bit_flip_per_round_array(5, POINT, k1)
    assert arr == pytest.approx([cat_channel(POINT.replace(kappa1_over_kappa2=float(k))).bit_flip_per_round(5)
                                 for k in k1], rel=1e-9)
    with pytest.raises(ValueError, match="outside the CX bit-flip table"):
        cat_channel(POINT.replace(gate_time=0.5))


def test_resources_are_modes_and_photons():
    ch = cat_channel(POINT)
    assert [ch.modes(d) for d in (2, 3, 9)] == [3, 5, 17]
    assert ch.photons(5) == 36.0
    with pytest.raises(ValueError, match="distance"):
        ch.modes(1)


def test_simulated_phase_flips_grow_with_nbar():
    rng = np.random.default_rng(5)
    lo = cat_logical_error_per_round(3, POINT, rng=rng, max_shots=4000)
    hi = cat_logical_error_per_round(3, POINT.replace(nbar=8.0), rng=rng, max_shots=4000)
    assert lo.phase_flip_ci[1] < hi.phase_flip_ci[0]
    assert lo.bit_flip > hi.bit_flip
    assert lo.total == pytest.approx(lo.phase_flip + lo.bit_flip - lo.phase_flip * lo.bit_flip)
    assert (lo.modes, lo.photons) == (5, 20.0)


def test_explicit_table_gives_the_same_channel(tmp_path):
    pytest.importorskip("qutip")
    table = CatChannelTable.build(CatTableGrid((3.5, 4.0, 4.5), (1e-3, 3e-3)), cache_dir=tmp_path)
    a, b = cat_channel(POINT, table=table), cat_channel(POINT)
    assert a.rates_source == "table"
    assert a.noise.p_meas == pytest.approx(b.noise.p_meas, rel=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("d,nbar", [(5, 4.0), (5, 6.0), (7, 5.0)])
def test_phase_flips_match_gouzien_within_a_factor_two(d, nbar):
    r = cat_logical_error_per_round(d, POINT.replace(nbar=nbar), rng=np.random.default_rng(d), max_shots=300_000,
                                    max_errors=400)
    ref = gouzien_phase_flip_per_round(d, nbar, 1e-3)
    assert ref / 2 < r.phase_flip < 2 * ref, (r.phase_flip, ref)


@pytest.mark.slow
def test_interior_optimum_in_nbar_for_d5():
    rows = nbar_sweep([5], [3.0, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, 8.0], rng=np.random.default_rng(0),
                      max_shots=200_000, max_errors=300)
    opt = optimal_nbar(rows, 5)
    assert opt.interior and 4.0 < opt.nbar < 6.0, opt
    totals = {r.nbar: r.total for r in rows}
    assert totals[3.0] > 2 * opt.total and totals[8.0] > 2 * opt.total
    assert math.isclose(opt.grid_nbar, min(totals, key=totals.get))


def test_cli_show_prints_rates_channel_and_distances(capsys):
    from qec_gym.cli import main

    assert main(["bosonic", "show", "--nbar", "4", "--k1", "1e-3", "--no-solve", "-d", "3", "5"]) == 0
    out = capsys.readouterr().out
    assert "analytic law" in out and "packaged table" in out and "p_meas" in out
    assert out.count("\n  3 ") + out.count("\n  5 ") == 2
    assert main(["bosonic", "show", "--nbar", "4", "--k1", "1e-3", "--t-round", "2"]) == 2  # bad timing: clear error


def test_cli_table_builds_a_grid_with_progress(tmp_path, capsys):
    pytest.importorskip("qutip")
    from qec_gym.cli import main

    args = ["bosonic", "table", "--nbar", "3", "3.5", "--k1", "1e-3", "1e-2", "--kphi", "0", "--cache-dir", str(tmp_path)]
    assert main(args) == 0
    assert "cat_rates_" in capsys.readouterr().out and len(list(tmp_path.glob("cat_rates_*.npz"))) == 1
    assert main(["bosonic", "table", "--packaged", "--nbar", "3"]) == 2
