"""Physics and validation tests of the cat-qubit Lindblad model (qec_gym.bosonic.cat)."""

import math
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("qutip")

from qec_gym.bosonic import (  # noqa: E402
    CatParams,
    FockTruncationError,
    analytic_rates,
    cat_collapse_operators,
    cat_liouvillian,
    cx_error_model,
    default_n_fock,
    flip_probability,
    precision_floor,
    solve_rates,
)

# docs/reference-numbers.md, "Cat qubits": slowest Liouvillian rate (= 2 Gamma_X), measured with qutip.
REFERENCE_LAMBDA_X = {
    1e-2: {2: 1.6e-5, 3: 6.9e-7, 4: 4.9e-8, 5: 5.4e-9, 6: 7.0e-10, 7: 9.2e-11},
    1e-3: {2: 1.37e-6, 3: 4.0e-8, 4: 1.3e-9, 5: 7.2e-11},
}


def _slope(nbars, k1):
    gammas = [solve_rates(CatParams(n, k1)).gamma_x for n in nbars]
    return np.polyfit(nbars, np.log(gammas), 1)[0]


# ----------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"nbar": 0.0, "kappa1_over_kappa2": 1e-3}, "nbar"),
        ({"nbar": -1.0, "kappa1_over_kappa2": 1e-3}, "nbar"),
        ({"nbar": 4.0, "kappa1_over_kappa2": -1e-3}, "kappa1_over_kappa2"),
        ({"nbar": 4.0, "kappa1_over_kappa2": 0.0}, "kappa1_over_kappa2"),
        ({"nbar": 4.0, "kappa1_over_kappa2": 1e-3, "kappaphi_over_kappa2": -1e-4}, "kappaphi_over_kappa2"),
        ({"nbar": 4.0, "kappa1_over_kappa2": 1e-3, "n_th": -0.1}, "n_th"),
        ({"nbar": math.nan, "kappa1_over_kappa2": 1e-3}, "nbar"),
        ({"nbar": 4.0, "kappa1_over_kappa2": math.inf}, "kappa1_over_kappa2"),
        ({"nbar": 4.0, "kappa1_over_kappa2": 1e-3, "n_fock": 3}, "n_fock"),
    ],
)
def test_params_rejects_invalid_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CatParams(**kwargs)


def test_params_rejects_wrong_types_and_positional_extras():
    with pytest.raises(TypeError, match="nbar"):
        CatParams("4", 1e-3)
    with pytest.raises(TypeError, match="n_fock"):
        CatParams(4.0, 1e-3, n_fock=30.0)
    with pytest.raises(TypeError):
        CatParams(4.0, 1e-3, 1e-4)  # keyword-only past the first two


def test_params_normalise_numbers():
    p = CatParams(np.float32(4), 1, n_fock=np.int64(30))
    assert p == CatParams(4.0, 1.0, n_fock=30)
    assert isinstance(p.nbar, float) and isinstance(p.n_fock, int)


def test_solve_rejects_bad_tolerance():
    with pytest.raises(ValueError, match="truncation_rtol"):
        solve_rates(CatParams(2.0, 1e-3), truncation_rtol=0.0)


# ---------------------------------------------------------------------------------- the model
def test_split_liouvillian_equals_literal_jump_operators():
    qutip = pytest.importorskip("qutip")
    p = CatParams(3.0, 2e-3, kappaphi_over_kappa2=1e-3, n_th=0.05)
    literal = qutip.liouvillian(None, cat_collapse_operators(p, n_fock=16)).full()
    split = cat_liouvillian(p, n_fock=16).full()
    assert np.abs(split - literal).max() < 1e-10 * np.abs(literal).max()


@pytest.mark.parametrize("k1", sorted(REFERENCE_LAMBDA_X))
def test_bit_flip_rates_match_reference_numbers(k1):
    for nbar, expected in REFERENCE_LAMBDA_X[k1].items():
        lam = 2.0 * solve_rates(CatParams(float(nbar), k1)).gamma_x
        # The reference quotes 2 significant digits.
        assert lam == pytest.approx(expected, rel=0.05), (k1, nbar, lam)


def test_bit_flip_slope_fast():
    slope = _slope([4.0, 5.0, 6.0], 1e-2)
    assert abs(slope / -2.0 - 1.0) < 0.15, slope


@pytest.mark.slow
@pytest.mark.parametrize(
    "k1, nbars",
    [(1e-2, np.arange(4.0, 8.01, 0.5)), (3e-2, np.arange(4.0, 8.01, 0.5)), (1e-3, np.arange(6.0, 10.01, 0.5))],
)
def test_bit_flip_slope_wide(k1, nbars):
    slope = _slope(list(nbars), k1)
    assert abs(slope / -2.0 - 1.0) < 0.15, slope


def test_bit_flip_slope_is_steeper_at_small_nbar_and_loss():
    # First-order loss term kappa_1 nbar exp(-4 nbar) dominates here (reference: ~ -3.4).
    assert _slope([2.0, 3.0, 4.0], 1e-4) < -3.0


@pytest.mark.parametrize("k1", [1e-3, 1e-2])
@pytest.mark.parametrize("nbar", [2.0, 4.0, 6.0])
def test_phase_flip_rate_is_kappa1_nbar(k1, nbar):
    r = solve_rates(CatParams(nbar, k1))
    assert r.gamma_z == pytest.approx(k1 * nbar, rel=0.2)
    assert r.gamma_z == pytest.approx(k1 * nbar, rel=0.01)  # in fact much closer


def test_analytic_rates_track_the_liouvillian():
    for params, tol_x in [
        (CatParams(1.5, 1e-4), 0.05),
        (CatParams(5.0, 1e-3), 0.05),
        (CatParams(6.0, 1e-2), 0.15),
        (CatParams(4.0, 1e-3, kappaphi_over_kappa2=1e-3), 0.05),
        (CatParams(4.0, 1e-3, n_th=0.05), 0.1),
    ]:
        solved = solve_rates(params)
        gx, gz = analytic_rates(params)
        assert gx == pytest.approx(solved.gamma_x, rel=tol_x), params
        assert gz == pytest.approx(solved.gamma_z, rel=0.005), params


def test_dephasing_adds_bit_flips():
    base = solve_rates(CatParams(4.0, 1e-3)).gamma_x
    dephased = solve_rates(CatParams(4.0, 1e-3, kappaphi_over_kappa2=1e-3)).gamma_x
    assert dephased - base == pytest.approx(1e-3 * 4.0 * math.exp(-8.0), rel=0.05)


def test_thermal_photons_add_phase_flips():
    r = solve_rates(CatParams(4.0, 1e-3, n_th=0.1))
    assert r.gamma_z == pytest.approx(1e-3 * (4.0 * 1.2 + 0.1), rel=0.01)


def test_large_loss_has_poor_separation():
    assert solve_rates(CatParams(2.0, 1.0)).separation < 3.0
    assert solve_rates(CatParams(4.0, 1e-3)).separation > 100.0


# ------------------------------------------------------------------------------- truncation
@pytest.mark.parametrize("nbar, n_fock", [(8.0, 30), (8.0, 36), (4.0, 18), (2.0, 10)])
def test_too_small_truncation_fails_loudly(nbar, n_fock):
    with pytest.raises(FockTruncationError, match="increase n_fock"):
        solve_rates(CatParams(nbar, 1e-2, n_fock=n_fock))


def test_default_truncation_is_converged():
    p = CatParams(7.0, 1e-2)
    auto = solve_rates(p)
    bigger = solve_rates(CatParams(7.0, 1e-2, n_fock=auto.n_fock + 12))
    assert auto.gamma_x == pytest.approx(bigger.gamma_x, rel=1e-3)
    assert auto.gamma_z == pytest.approx(bigger.gamma_z, rel=1e-6)
    assert auto.n_fock == default_n_fock(7.0)


def test_passing_truncation_is_accurate():
    # The first n_fock that passes the check already gives Gamma_X to ~truncation_rtol.
    ref = solve_rates(CatParams(6.0, 1e-2)).gamma_x
    for n in range(24, 50, 2):
        try:
            r = solve_rates(CatParams(6.0, 1e-2, n_fock=n))
        except FockTruncationError:
            continue
        assert r.gamma_x == pytest.approx(ref, rel=2e-3), n
        break
    else:  # pragma: no cover
        pytest.fail("no n_fock passed")


# -------------------------------------------------------------------------- precision floor
def test_results_below_the_floor_are_flagged():
    r = solve_rates(CatParams(10.0, 1e-4))
    assert r.below_precision_floor
    assert r.gamma_x == precision_floor() > r.gamma_x_raw
    above = solve_rates(CatParams(8.0, 1e-4))  # ~6e-16, resolved with long double refinement
    if precision_floor() < 1e-15:
        assert not above.below_precision_floor
        assert above.gamma_x == pytest.approx(analytic_rates(above.params)[0], rel=0.05)


# ---------------------------------------------------------------------- probabilities, CX, misc
def test_flip_probability():
    assert flip_probability(1e-9, 5.0) == pytest.approx(5e-9, rel=1e-8)
    assert flip_probability(0.0, 5.0) == 0.0
    assert flip_probability(50.0, 5.0) == pytest.approx(0.5)
    arr = flip_probability(np.array([1e-3, 1e-2]), np.array([[1.0], [2.0]]))
    assert arr.shape == (2, 2)
    np.testing.assert_allclose(arr, 0.5 * (1 - np.exp(-2 * np.array([[1e-3, 1e-2], [2e-3, 2e-2]]))))


def test_rates_probabilities():
    r = solve_rates(CatParams(4.0, 1e-3))
    p_x, p_z = r.probabilities(5.0)
    assert p_x == pytest.approx(5.0 * r.gamma_x, rel=1e-6)
    assert p_z == pytest.approx(0.5 * (1 - math.exp(-10.0 * r.gamma_z)))


def test_cx_error_model():
    m = cx_error_model(8.0, 1e-3)
    assert m.p_z_control == pytest.approx(8e-3 + math.pi**2 / 512)
    assert m.p_z_target == m.p_zz == pytest.approx(4e-3)
    assert m.p_bitflip == pytest.approx(0.5 * math.exp(-16.0))
    slow = cx_error_model(8.0, 1e-3, gate_time=4.0)
    assert slow.p_z_target == pytest.approx(16e-3)
    assert slow.p_z_control == pytest.approx(32e-3 + math.pi**2 / (64 * 32))
    assert m.pauli_probabilities()["ZI"] == m.p_z_control
    for bad in [dict(nbar=0.0, kappa1_over_kappa2=1e-3), dict(nbar=4.0, kappa1_over_kappa2=-1.0)]:
        with pytest.raises(ValueError):
            cx_error_model(**bad)
    with pytest.raises(ValueError, match="gate_time"):
        cx_error_model(0.01, 1e-3, gate_time=0.01)  # non-adiabatic term > 1


def test_package_imports_without_qutip():
    code = (
        "import sys; sys.modules['qutip'] = None\n"
        "import qec_gym, qec_gym.bosonic as b\n"
        "print(b.analytic_rates(b.CatParams(4.0, 1e-3))[1])\n"
        "try:\n"
        "    b.solve_rates(b.CatParams(4.0, 1e-3))\n"
        "except ImportError as e:\n"
        "    print('HINT', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HINT" in out and "pip install qec-gym[bosonic]" in out
