"""The cat CX's bit flips (qec_gym.bosonic.cx): independent qutip construction, closed forms, packaged table."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from qec_gym.bosonic.cx import (
    PACKAGED_CX_GRID,
    CXBitFlipTable,
    CXParams,
    CXTableGrid,
    alice_bob_cx_bitflip,
    evolve_cx,
    gouzien_cx_bitflip,
    packaged_cx_table,
    solve_cx_bitflip,
)

qutip = pytest.importorskip("qutip")


def _independent_bitflip(nbar: float, k1: float, t_gate: float, n: int, control_sign: int) -> float:
    """Written from Guillaud & Mirrahimi (2019) without the module: the time-dependent collapse operator
    handed to qutip.mesolve as it stands, then relaxation under pure two-photon dissipation of both
    modes and a read-out of Z in the cat basis, normalised by its value on the ideal input."""
    al = math.sqrt(nbar)
    a = qutip.tensor(qutip.destroy(n), qutip.qeye(n))
    b = qutip.tensor(qutip.qeye(n), qutip.destroy(n))
    one = qutip.qeye([n, n])
    h = math.pi / (4 * al * t_gate) * (a + a.dag() - 2 * al * one) * (b.dag() * b - nbar * one)
    w = 2 * math.pi / t_gate
    target = qutip.QobjEvo([b * b - 0.5 * al * (a + al * one), [0.5 * al * (a - al * one), lambda t: np.exp(1j * w * t)]])
    c_ops = [a * a - nbar * one, target, math.sqrt(k1) * a, math.sqrt(k1) * b]
    psi = qutip.tensor(qutip.coherent(n, control_sign * al), qutip.coherent(n, al))
    opts = {"atol": 1e-12, "rtol": 1e-10, "nsteps": 100_000}
    rho = qutip.mesolve(h, psi * psi.dag(), [0, t_gate], c_ops, options=opts).states[-1]
    rho = qutip.mesolve(0 * one, rho, [0, 6.0], [a * a - nbar * one, b * b - nbar * one], options=opts).states[-1]
    plus, minus = qutip.coherent(n, al), qutip.coherent(n, -al)
    even, odd = (plus + minus).unit(), (plus - minus).unit()
    z = even * odd.dag() + odd * even.dag()
    z0 = qutip.expect(z, plus * plus.dag())  # < 1: |alpha> is not exactly |0_L> at small nbar
    zc, zt = qutip.tensor(z, qutip.qeye(n)), qutip.tensor(qutip.qeye(n), z)
    e_c = 1 - control_sign * qutip.expect(zc, rho) / z0
    e_t = 1 - control_sign * qutip.expect(zt, rho) / z0  # the target flips when the control is |-alpha>
    e_ct = 1 - qutip.expect(zc * zt, rho) / z0**2
    return (e_c + e_t + e_ct) / 4


@pytest.mark.parametrize("control_sign", [1, -1])
def test_bitflip_equals_an_independent_qutip_construction(control_sign):
    params = CXParams(1.0, 1e-2, n_fock=8)
    mine = solve_cx_bitflip(params)
    ref = _independent_bitflip(1.0, 1e-2, 1.0, 8, control_sign)
    assert mine.p_bitflip == pytest.approx(ref, rel=2e-2)
    assert mine.p_xi + mine.p_ix + mine.p_xx == pytest.approx(mine.p_bitflip, rel=1e-12)
    assert min(mine.p_xi, mine.p_ix, mine.p_xx) > 0


def test_control_phase_flips_follow_the_loss_law():
    """Closed form of the CX's loss-induced phase flips (Guillaud & Mirrahimi 2019; Gouzien et al. App. D):
    the control's own losses give ZI = nbar kappa_1 T, the target's give IZ and ZZ with nbar kappa_1 T / 2
    each (a target photon lost at time t rotates the control's branches by pi t / T: a Z on the control
    with probability sin^2(pi t / 2T), 1/2 on average). The control's X readout (its parity, with the
    target in the even cat so that the ideal gate keeps it at +1) flips with ZI + ZZ = 1.5 nbar kappa_1 T
    on top of the loss-free gate."""
    nbar, n, k1 = 2.0, 9, 5e-3
    al = math.sqrt(nbar)
    even = (qutip.coherent(n, al) + qutip.coherent(n, -al)).unit()
    psi = qutip.tensor(even, even)
    parity = np.kron(np.diag((-1.0) ** np.arange(n)), np.eye(n))
    x = [np.trace(parity @ evolve_cx(CXParams(nbar, k, n_fock=n), psi * psi.dag())).real for k in (0.0, k1)]
    p_loss = (1 - x[1] / x[0]) / 2
    assert p_loss == pytest.approx(1.5 * nbar * k1 / math.tanh(2 * nbar), rel=0.05)
    # the loss-free gate's own phase flip: the non-adiabatic pi^2 / (64 nbar T), an asymptotic law
    assert (1 - x[0]) / 2 == pytest.approx(math.pi**2 / (64 * nbar), rel=0.3)


def test_hermitian_fast_path_equals_the_general_right_hand_side():
    """A Hermitian rho0 takes the half-rows path of `evolve_cx`, a non-Hermitian one the full sparse
    products; linearity ties them: evolve(X + X^dag) = evolve(X) + evolve(X^dag)."""
    n, nbar = 6, 1.0
    al = math.sqrt(nbar)
    p1 = qutip.tensor(qutip.coherent(n, al), qutip.coherent(n, al)).full().ravel()
    p2 = qutip.tensor(qutip.coherent(n, -al), qutip.basis(n, 1)).full().ravel()
    x = np.outer(p1, p2.conj())
    params = CXParams(nbar, 1e-2, n_fock=n)
    herm = evolve_cx(params, x + x.conj().T)
    parts = evolve_cx(params, x) + evolve_cx(params, x.conj().T)
    assert np.abs(herm - herm.conj().T).max() < 1e-15  # the diagonal keeps its roundoff imaginary part
    assert np.abs(herm - parts).max() < 1e-9
    assert np.abs(herm).max() > 0.1


def test_packaged_table_is_exponentially_suppressed_and_between_published_laws():
    table = packaged_cx_table()
    assert table is not None and table.grid == PACKAGED_CX_GRID
    p = np.array([table.p_bitflip(nb, 1e-3, 1.0) for nb in PACKAGED_CX_GRID.nbar])
    slope = np.log(p[-1] / p[-2]) / (PACKAGED_CX_GRID.nbar[-1] - PACKAGED_CX_GRID.nbar[-2])
    assert -2.4 < slope < -1.6, slope  # exp(-2 nbar) suppression of bit flips
    assert all(np.diff(p) < 0)
    # nearly independent of kappa_1 (the gate's own dynamics dominate): +-3% over 1e-4..1e-2
    ratio = table.arrays["p_bitflip"][:, 1, 0] / table.arrays["p_bitflip"][:, 0, 0]
    assert np.all((1.0 < ratio) & (ratio < 1.03)), ratio
    # longer gates flip less (the flips are non-adiabatic): T = 2 / kappa_2 gives 0.4-0.6 of T = 1
    longer = table.arrays["p_bitflip"][:, :, 1] / table.arrays["p_bitflip"][:, :, 0]
    assert np.all((0.35 < longer) & (longer < 0.65)), longer
    # above the grid: the top interval's exponential, continued
    assert table.p_bitflip(6.0, 1e-3, 1.0) == pytest.approx(p[-1] * math.exp(2 * slope), rel=1e-9)
    # the grid values are the solved points
    i, j, k = 2, 0, 0
    assert table.p_bitflip(PACKAGED_CX_GRID.nbar[i], PACKAGED_CX_GRID.kappa1_over_kappa2[j], 1.0) == pytest.approx(
        table.arrays["p_bitflip"][i, j, k], rel=1e-12)
    assert gouzien_cx_bitflip(6.0) < alice_bob_cx_bitflip(6.0, 1e-3)


def test_table_refuses_points_outside_and_bad_grids(tmp_path):
    table = packaged_cx_table()
    with pytest.raises(ValueError, match="outside the CX bit-flip table"):
        table.p_bitflip(12.0, 1e-3, 1.0)
    with pytest.raises(ValueError, match=">= 2 values"):
        CXTableGrid((2.0,), (1e-3, 1e-2), (1.0, 2.0))
    with pytest.raises(FileNotFoundError, match="build"):
        CXBitFlipTable.load(CXTableGrid((2.0, 3.0), (1e-3, 1e-2), (1.0, 2.0)), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="kappa1"):
        CXParams(4.0, 0.5)


def test_build_resumes_and_interpolates(tmp_path, monkeypatch):
    import qec_gym.bosonic.cx as cx

    grid = CXTableGrid((1.0, 1.5), (1e-3, 1e-2), (1.0, 2.0))
    calls = []

    def closed_form(params):  # stands in for the solver: this test is about the table
        calls.append(params)
        p = 0.5 * math.exp(-2 * params.nbar) * params.gate_time**-0.5 * params.kappa1_over_kappa2**0.1
        return cx.CXBitFlip(params, p, p_xi=p, p_ix=0.0, p_xx=0.0, n_fock=6, seconds=0.0)

    monkeypatch.setattr(cx, "solve_cx_bitflip", closed_form)
    done = []
    t = CXBitFlipTable.build(grid, cache_dir=tmp_path, progress=lambda i, n: done.append((i, n)))
    again = CXBitFlipTable.build(grid, cache_dir=tmp_path)
    assert len(calls) == 8 and done[-1] == (8, 8)  # the second build read the cache
    assert np.array_equal(t.arrays["p_bitflip"], again.arrays["p_bitflip"])
    # linear in nbar, log-log in kappa_1 and T: exact for this closed form
    want = 0.5 * math.exp(-2.5) * 2**-0.25 * 3e-3**0.1
    assert t.p_bitflip(1.25, 3e-3, math.sqrt(2.0)) == pytest.approx(want, rel=1e-9)


# ------------------------------------------------------------------ shifted Fock basis (nbar up to 8)
def test_shifted_basis_is_orthonormal_holds_both_coherent_states_and_is_invariant_under_a():
    from qec_gym.bosonic.cx import shifted_fock_basis

    v = shifted_fock_basis(5.0, 6)
    n_big = v.shape[0]
    assert v.shape[1] == 12 and np.allclose(v.T @ v, np.eye(12), atol=1e-12)
    a = qutip.destroy(n_big).full()
    for sign in (1, -1):
        ket = qutip.coherent(n_big, sign * math.sqrt(5.0), method="analytic").full().ravel()
        assert np.linalg.norm(ket - v @ (v.T @ ket)) < 1e-10
    av = a @ v
    assert np.linalg.norm(av - v @ (v.T @ av)) < 1e-10  # a maps the span into itself


def test_shifted_evolution_equals_mesolve_on_the_same_operators():
    """The Kronecker-term right-hand side against qutip.mesolve, written here from the module docstring's
    model with the shifted basis' operators (a, a^2 exact, a^dag a compressed)."""
    from qec_gym.bosonic.cx import evolve_cx_shifted, shifted_fock_basis

    nbar, k1, t_gate, ns = 2.0, 1e-2, 1.0, 3
    v = shifted_fock_basis(nbar, ns)
    m = v.shape[1]
    a_big = qutip.destroy(v.shape[0]).full()
    one_mode = qutip.Qobj(v.T @ a_big @ v)
    number = qutip.Qobj(v.T @ a_big.T @ a_big @ v)
    eye1 = qutip.qeye(m)
    a, b = qutip.tensor(one_mode, eye1), qutip.tensor(eye1, one_mode)
    nb = qutip.tensor(eye1, number)
    one = qutip.tensor(eye1, eye1)
    al = math.sqrt(nbar)
    h = math.pi / (4 * al * t_gate) * (a + a.dag() - 2 * al * one) * (nb - nbar * one)
    w = 2 * math.pi / t_gate
    target = qutip.QobjEvo([b * b - 0.5 * al * (a + al * one), [0.5 * al * (a - al * one), lambda t: np.exp(1j * w * t)]])
    c_ops = [a * a - nbar * one, target, math.sqrt(k1) * a, math.sqrt(k1) * b]
    plus = qutip.Qobj(v.T @ qutip.coherent(v.shape[0], al, method="analytic").full())
    psi = qutip.tensor(plus, plus)
    opts = {"atol": 1e-12, "rtol": 1e-10, "nsteps": 100_000}
    ref = qutip.mesolve(h, psi * psi.dag(), [0, t_gate], c_ops, options=opts).states[-1].full()
    mine = evolve_cx_shifted(CXParams(nbar, k1, basis="shifted", n_shift=ns), (psi * psi.dag()).full())
    assert np.abs(mine - ref).max() < 1e-7


def test_shifted_params_validation():
    with pytest.raises(ValueError, match="n_shift"):
        CXParams(4.0, 1e-3, basis="fock", n_shift=6)
    with pytest.raises(ValueError, match="n_fock"):
        CXParams(4.0, 1e-3, basis="shifted", n_fock=20)
    with pytest.raises(ValueError, match="basis"):
        CXParams(4.0, 1e-3, basis="wigner")
    assert CXParams(6.0, 1e-3, basis="shifted").truncation == 8


def test_shifted_table_agrees_with_the_fock_solve_where_both_run():
    """The packaged shifted-basis table (n_shift = 8) against the packaged full Fock solve (nbar 2..4,
    T = 1/kappa_2): within 1.5%. Above 4 its values are lower bounds (not converged; module docstring),
    and no CX law of the channel uses them."""
    from qec_gym.bosonic.channel import CX_BITFLIP_MODELS
    from qec_gym.bosonic.cx import PACKAGED_SHIFTED_CX_GRID, cx_table_path

    fock, shifted = packaged_cx_table("fock"), packaged_cx_table("shifted")
    assert fock is not None and shifted is not None and shifted.grid == PACKAGED_SHIFTED_CX_GRID
    assert cx_table_path(PACKAGED_CX_GRID).name == "cx_bitflip_abf886d4071924f9d1c8469e.npz"  # v2's table kept
    for i, nbar in enumerate(PACKAGED_CX_GRID.nbar):
        for j, k1 in enumerate(PACKAGED_CX_GRID.kappa1_over_kappa2):
            ratio = shifted.p_bitflip(nbar, k1, 1.0) / fock.arrays["p_bitflip"][i, j, 0]
            assert 0.985 < ratio < 1.001, (nbar, k1, ratio)
    assert PACKAGED_SHIFTED_CX_GRID.nbar == (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)
    assert set(CX_BITFLIP_MODELS) == {"simulated", "gouzien2023", "solved"}  # "solved": Fock, not shifted
    p = shifted.arrays["p_bitflip"][:, :, 0]
    assert np.all(np.diff(np.log(p), axis=0) < -1.6), p  # at least exp(-1.6 nbar) per photon
    assert np.all(shifted.arrays["n_fock"] == 8)  # n_shift of every solved point
    for i, nbar in enumerate(PACKAGED_SHIFTED_CX_GRID.nbar):
        assert shifted.p_bitflip(nbar, 1e-4, 1.0) == pytest.approx(p[i, 0], rel=1e-12)


# ------------------------------------------------------------------ solved table up to nbar 8 (CatSwitch-v4's law)
_CONVERGENCE_CSV = Path(__file__).resolve().parents[2] / "docs" / "figures" / "cx_bitflip_convergence.csv"


def _logged_solves() -> dict:
    with open(_CONVERGENCE_CSV, newline="") as f:
        return {(float(r["nbar"]), float(r["kappa1_over_kappa2"]), r["basis"], int(r["truncation"])): float(r["p_bitflip"])
                for r in csv.DictReader(f) if float(r["gate_time"]) == 1.0}


def test_solved_table_holds_bracketed_solves_and_replaces_the_extrapolation():
    """`PACKAGED_SOLVED_CX_GRID`: v2's Fock solves at nbar 2..4; at nbar 5, 6 Fock solves bracketed by the
    convergence log (``--converge`` / ``docs/figures/cx_bitflip_convergence.csv``): a too small Fock truncation
    adds bit flips (the value falls as n_fock grows), a too small shifted basis removes them (it rises with
    n_shift), and the table's value lies within 2% above the largest shifted-basis solve. Both lie below v2's
    extrapolation, which the solved law replaces."""
    from qec_gym.bosonic.cx import PACKAGED_SOLVED_CX_GRID

    solved, fock, shifted = packaged_cx_table("solved"), packaged_cx_table("fock"), packaged_cx_table("shifted")
    assert solved is not None and solved.grid == PACKAGED_SOLVED_CX_GRID
    logged = _logged_solves()
    lo = PACKAGED_SOLVED_CX_GRID.kappa1_over_kappa2.index(1e-4)
    for i, nbar in enumerate(PACKAGED_SOLVED_CX_GRID.nbar):
        n = PACKAGED_SOLVED_CX_GRID.n_fock[i]
        brackets = 0
        for j, k1 in enumerate(PACKAGED_SOLVED_CX_GRID.kappa1_over_kappa2):
            p, levels = solved.arrays["p_bitflip"][i, j, 0], solved.arrays["n_fock"][i, j, 0]
            if nbar <= 4.0:
                assert levels == n == CXParams(nbar, k1).resolved_n_fock
                assert p == pytest.approx(fock.p_bitflip(nbar, k1, 1.0), rel=1e-12)  # v2's solve, same truncation
                continue
            assert p < 0.95 * fock.p_bitflip(nbar, k1, 1.0)  # below the extrapolation
            assert 1.0 < solved.arrays["p_bitflip"][i, -1, 0] / solved.arrays["p_bitflip"][i, lo, 0] < 1.04  # loss: +<4%
            assert levels == n and logged[(nbar, k1, "fock", n)] == pytest.approx(p, rel=1e-8)
            if (nbar, k1, "fock", n - 2) in logged:
                assert logged[(nbar, k1, "fock", n - 2)] > p  # falls with n_fock
            lower = [v for (nb, k, basis, _), v in sorted(logged.items()) if (nb, k, basis) == (nbar, k1, "shifted")]
            if lower:
                assert lower == sorted(lower) and lower[-1] < p < 1.02 * lower[-1], (nbar, k1, lower, p)
                brackets += 1
        assert nbar <= 4.0 or brackets >= 1, f"nbar {nbar}: no shifted-basis lower bound logged"
    slopes = np.diff(np.log(solved.arrays["p_bitflip"][:, lo, 0])) / np.diff(PACKAGED_SOLVED_CX_GRID.nbar)
    assert np.all((-2.4 < slopes) & (slopes < -1.9)), slopes  # exp(-c nbar), c ~ 2.0..2.3
    # nbar 8 is bracketed within 4% (not 2%); the law's extension of the nbar 5..6 slope is 1.8% above it
    # and far below v2's extrapolation
    p8 = solved.p_bitflip(8.0, 1e-2, 1.0)
    upper = min(v for (nb, k, basis, _), v in logged.items() if (nb, k, basis) == (8.0, 1e-2, "fock"))
    lower = max(v for (nb, k, basis, _), v in logged.items() if (nb, k, basis) == (8.0, 1e-2, "shifted"))
    assert lower < upper < 1.05 * lower
    assert upper < p8 < 1.03 * upper < 0.6 * fock.p_bitflip(8.0, 1e-2, 1.0), (lower, p8, upper)


def test_fock_and_shifted_truncations_bracket_the_converged_value():
    """The convergence behaviour at a cheap point (nbar 2, k1/k2 = 1e-2): Fock truncations fall towards the
    converged value (v2's table, n_fock = 15), shifted bases rise towards it (the table, n_shift = 8)."""
    fock, shifted = packaged_cx_table("fock"), packaged_cx_table("shifted")
    target = fock.p_bitflip(2.0, 1e-2, 1.0)
    f = [solve_cx_bitflip(CXParams(2.0, 1e-2, n_fock=n)).p_bitflip for n in (11, 13)]  # 1.283e-2, 1.234e-2
    s = [solve_cx_bitflip(CXParams(2.0, 1e-2, basis="shifted", n_shift=k)).p_bitflip for k in (4, 5)]  # 1.151e-2, 1.224e-2
    assert f[0] > f[1] > target and s[0] < s[1] < shifted.p_bitflip(2.0, 1e-2, 1.0)
    assert f[1] / target - 1 < 0.005 and 1 - s[1] / target < 0.01, (f, s, target)
    assert shifted.p_bitflip(2.0, 1e-2, 1.0) == pytest.approx(target, rel=2e-3)


@pytest.mark.slow
def test_a_logged_solve_above_nbar_4_reproduces():
    """nbar 5, k1/k2 = 1e-4, n_fock = 25 (~2-5 CPU-min): the solver reproduces its logged value."""
    r = solve_cx_bitflip(CXParams(5.0, 1e-4, n_fock=25))
    assert r.p_bitflip == pytest.approx(_logged_solves()[(5.0, 1e-4, "fock", 25)], rel=1e-8)
