"""Dissipatively stabilised cat qubit: Lindblad model -> bit- and phase-flip rates per round.

The oscillator (annihilation operator ``a``, Fock space truncated at ``n_fock`` levels) evolves
under the Lindblad master equation with, in units where ``kappa_2 = 1`` (all rates below are
ratios to kappa_2, all times are in units of ``1 / kappa_2``):

| jump operator | physics |
|---|---|
| ``L2 = sqrt(kappa_2) (a^2 - alpha^2)`` | two-photon dissipation, ``alpha^2 = nbar`` (alpha real) |
| ``L1 = sqrt(kappa_1 (1 + n_th)) a`` | single-photon loss |
| ``L1+ = sqrt(kappa_1 n_th) a^dag`` | thermal excitation (only when ``n_th > 0``) |
| ``Lphi = sqrt(kappa_phi) a^dag a`` | pure dephasing of the oscillator |

The logical states are ``|0>, |1> ~ |+alpha>, |-alpha>``. A *bit flip* (X or Y error) swaps them
and is exponentially suppressed in ``nbar``; a *phase flip* (Z or Y error) flips the photon-number
parity of the cat and grows linearly with ``nbar``.

How rates are obtained (`solve_rates`): the Liouvillian commutes with the photon-number-parity
superoperator ``rho -> P rho P`` (every jump operator is even or odd in ``a``), so it splits into
two blocks that are solved separately with sparse shift-invert eigensolvers:

* the *even* block (``rho_ij`` with ``i + j`` even) holds the steady state (eigenvalue 0) and the
  decay of the parity ``<X_L>``; its slowest non-zero rate is ``lambda_Z = 2 Gamma_Z``;
* the *odd* block holds ``<Z_L>`` (the population difference of ``|+-alpha>``); its slowest rate
  is ``lambda_X = 2 Gamma_X``.

``Gamma_X`` (``Gamma_Z``) is the rate at which ``Z_L`` (``X_L``) is flipped, i.e. the summed
rate of X and Y (Z and Y) Pauli errors. For a round of duration ``T`` the flip probabilities are
``p = (1 - exp(-2 Gamma T)) / 2`` (`flip_probability`): a symmetric two-state process whose
population difference decays at ``2 Gamma``.

Numerical precision. ``lambda_X`` is an eigenvalue of size ``~1e-10 .. 1e-16`` next to matrix
entries of size ``~nbar^2``; in plain double precision its absolute error is ``~1e-14`` (the
"dense eigensolvers lose precision below ~1e-11" of the reference numbers, where truncation is a
second culprit: see below). We therefore (1) write ``D[a^2 - alpha^2]`` as the algebraically equal
``D[a^2] - i[H2, .]`` with ``H2 = i (alpha^2 / 2)(a^dag^2 - a^2)``, which removes the
``alpha^4`` terms that otherwise cancel to rounding error on the diagonal, and (2) refine the
eigenpair by Newton steps whose residual is computed in ``numpy.longdouble``. On x86-64 (80-bit
long double) this gives ``Gamma_X`` to ~1% down to ``GAMMA_X_FLOOR_EXTENDED`` (5e-17 kappa_2);
where long double is plain double the floor is ``GAMMA_X_FLOOR_DOUBLE`` (1e-13 kappa_2). Results
below the floor are reported as the floor (an upper bound) and flagged (`CatRates`).

Truncation. Because ``Gamma_X`` is exponentially small, a truncation that leaves a population
``p_top`` in the top Fock levels shifts it by roughly ``(3..10) p_top / Gamma_X`` relative
(measured), far more than ``p_top`` itself: at ``nbar = 8`` the naive ``n_fock = 35`` (Poisson tail 1e-12)
gives a ``Gamma_X`` 70 times too large. `solve_rates` therefore checks the steady-state population
of the top two Fock levels against ``truncation_rtol * Gamma_X / 10`` and raises
`FockTruncationError` when it is exceeded.

Example:
    >>> from qec_gym.bosonic import CatParams, analytic_rates, flip_probability
    >>> params = CatParams(4.0, 1e-3)
    >>> gamma_x, gamma_z = analytic_rates(params)
    >>> round(gamma_z / (1e-3 * 4.0), 3)
    1.0
    >>> flip_probability(gamma_z, 5.0) < 5.0 * gamma_z
    True
"""

from __future__ import annotations

import math
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    import qutip

__all__ = [
    "GAMMA_X_FLOOR_DOUBLE",
    "GAMMA_X_FLOOR_EXTENDED",
    "MODEL_VERSION",
    "CXErrorModel",
    "CatParams",
    "CatRates",
    "FockTruncationError",
    "analytic_rates",
    "cat_collapse_operators",
    "cat_liouvillian",
    "cx_error_model",
    "default_n_fock",
    "flip_probability",
    "precision_floor",
    "solve_rates",
]

#: Version of the physics + numerics behind `solve_rates`. Cached tables carry it in their key,
#: so bump it whenever a change could alter any computed rate.
MODEL_VERSION = "cat-lindblad-2024.1"

#: Smallest ``Gamma_X`` (units of kappa_2) trusted to ~1% with 80-bit (or wider) long double.
GAMMA_X_FLOOR_EXTENDED = 5e-17
#: Smallest ``Gamma_X`` (units of kappa_2) trusted to ~5% when long double is plain double.
GAMMA_X_FLOOR_DOUBLE = 1e-13

# Number of top Fock levels whose steady-state population the truncation check inspects.
_N_TOP = 2
# Measured: relative error of Gamma_X ~ (5..20) * p_top / lambda_X; with lambda_X = 2 Gamma_X
# the check p_top <= rtol * Gamma_X / 10 keeps the truncation error below ~rtol.
_TRUNCATION_SAFETY = 10.0
# Populations of the numerically computed steady state are only resolved down to ~1e-23.
_POPULATION_RESOLUTION = 1e-22
# Auto-chosen n_fock retries (each adds a few levels) before giving up.
_AUTO_RETRIES = 3
_QUTIP_HINT = "qutip is required for qec_gym.bosonic solves: pip install qec-gym[bosonic]"


class FockTruncationError(ValueError):
    """The Fock-space truncation is too small for the requested accuracy: increase ``n_fock``."""


def _import_qutip() -> Any:
    """Import qutip lazily so that ``import qec_gym`` works without it."""
    try:
        import qutip
    except ImportError as exc:  # pragma: no cover - exercised only without qutip
        raise ImportError(_QUTIP_HINT) from exc
    return qutip


def precision_floor() -> float:
    """Smallest bit-flip rate ``Gamma_X`` (units of kappa_2) that `solve_rates` resolves.

    The floor depends on the width of ``numpy.longdouble`` on this platform: 80-bit or wider
    (x86-64 Linux, aarch64 Linux) gives `GAMMA_X_FLOOR_EXTENDED`; plain double (macOS arm64,
    Windows) gives `GAMMA_X_FLOOR_DOUBLE`.

    Returns:
        The floor in units of kappa_2.

    Example:
        >>> precision_floor() in (GAMMA_X_FLOOR_EXTENDED, GAMMA_X_FLOOR_DOUBLE)
        True
    """
    if np.finfo(np.longdouble).eps <= 1.1e-19:
        return GAMMA_X_FLOOR_EXTENDED
    return GAMMA_X_FLOOR_DOUBLE


def _poisson_log_pmf(n: int, mean: float) -> float:
    return n * math.log(mean) - mean - math.lgamma(n + 1)


def default_n_fock(nbar: float, *, n_th: float = 0.0) -> int:
    """Fock-space dimension chosen automatically for a cat of mean photon number ``nbar``.

    The smallest ``N`` for which a Poisson distribution of mean ``nbar + 2 n_th (nbar + 1)``
    (the coherent state, widened for thermal noise) puts below 1e-22 in levels ``>= N - 3``.
    That is what the truncation check of `solve_rates` needs at the precision floor: about 26
    levels at ``nbar = 1``, 53 at 8 and 82 at 20.

    Args:
        nbar: Mean photon number ``|alpha|^2`` (> 0).
        n_th: Thermal photon number of the bath (>= 0).

    Returns:
        The number of Fock levels.

    Example:
        >>> default_n_fock(1.0), default_n_fock(8.0)
        (26, 53)
    """
    mean = max(nbar + 2.0 * n_th * (nbar + 1.0), 1e-3)
    log_target = math.log(_POPULATION_RESOLUTION)
    n = max(int(math.ceil(mean)), 1)
    # Beyond the mode the pmf decays at least geometrically with ratio mean / (n + 1) <= 1/2
    # once n >= 2 mean, so the tail is at most twice the pmf there: compare 2 * pmf.
    while not (n >= 2.0 * mean and math.log(2.0) + _poisson_log_pmf(n, mean) <= log_target):
        n += 1
    return n + 3


@dataclass(frozen=True)
class CatParams:
    """Hardware parameters of one dissipatively stabilised cat qubit (rates in units of kappa_2).

    Args:
        nbar: Mean photon number ``|alpha|^2`` of the cat (> 0).
        kappa1_over_kappa2: Single-photon loss rate over the two-photon dissipation rate (> 0).
        kappaphi_over_kappa2: Pure-dephasing rate over kappa_2 (>= 0).
        n_th: Thermal photon number of the single-photon-loss bath (>= 0).
        n_fock: Fock-space dimension; ``None`` chooses it from ``nbar`` (`default_n_fock`) and
            enlarges it automatically if the truncation check fails. An explicit value is used as
            given, and a too small one makes `solve_rates` raise `FockTruncationError`.

    Raises:
        ValueError: a non-finite or negative rate, ``nbar <= 0``, ``kappa1_over_kappa2 <= 0`` or
            ``n_fock < 4``.
        TypeError: a value that is not a real number (``n_fock``: not an int).

    Example:
        >>> p = CatParams(4.0, 1e-3, kappaphi_over_kappa2=1e-4)
        >>> p.nbar, p.kappa1_over_kappa2, p.resolved_n_fock
        (4.0, 0.001, 40)
        >>> CatParams(0.0, 1e-3)
        Traceback (most recent call last):
            ...
        ValueError: nbar must be > 0 (mean photon number |alpha|^2), got 0.0; pass e.g. nbar=4.0
    """

    nbar: float
    kappa1_over_kappa2: float
    _: KW_ONLY
    kappaphi_over_kappa2: float = 0.0
    n_th: float = 0.0
    n_fock: int | None = None

    def __post_init__(self) -> None:
        for name in ("nbar", "kappa1_over_kappa2", "kappaphi_over_kappa2", "n_th"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise TypeError(f"{name} must be a real number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value!r}")
            # Normalise ints / numpy scalars to float so equal parameters hash and compare equal.
            object.__setattr__(self, name, float(value))
        if self.nbar <= 0.0:
            raise ValueError(
                f"nbar must be > 0 (mean photon number |alpha|^2), got {self.nbar}; pass e.g. nbar=4.0"
            )
        if self.kappa1_over_kappa2 <= 0.0:
            raise ValueError(
                f"kappa1_over_kappa2 must be > 0 (single-photon loss is always present), got "
                f"{self.kappa1_over_kappa2}; use a small positive value such as 1e-5"
            )
        for name in ("kappaphi_over_kappa2", "n_th"):
            if getattr(self, name) < 0.0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}; pass 0.0 to disable it")
        if self.n_fock is not None:
            if isinstance(self.n_fock, bool) or not isinstance(self.n_fock, (int, np.integer)):
                raise TypeError(f"n_fock must be an int or None, got {self.n_fock!r}")
            if self.n_fock < 4:
                raise ValueError(f"n_fock must be >= 4, got {self.n_fock}; pass n_fock=None to choose it")
            object.__setattr__(self, "n_fock", int(self.n_fock))

    @property
    def resolved_n_fock(self) -> int:
        """The Fock dimension a solve starts from: ``n_fock`` or `default_n_fock`."""
        if self.n_fock is not None:
            return self.n_fock
        return default_n_fock(self.nbar, n_th=self.n_th)


def flip_probability(rate: float | np.ndarray, t_round: float | np.ndarray) -> Any:
    """Flip probability ``(1 - exp(-2 rate t)) / 2`` of a symmetric two-state process.

    Args:
        rate: Flip rate ``Gamma`` in units of kappa_2 (>= 0); scalar or array.
        t_round: Duration in units of ``1 / kappa_2`` (>= 0); scalar or array (broadcast).

    Returns:
        A float for scalar inputs, else an array (float64).

    Example:
        >>> round(flip_probability(1e-3, 5.0), 8)
        0.00497508
        >>> flip_probability(1e9, 1.0)
        0.5
    """
    value = -0.5 * np.expm1(-2.0 * np.asarray(rate, dtype=float) * np.asarray(t_round, dtype=float))
    return float(value) if np.ndim(value) == 0 else value


@dataclass(frozen=True)
class CatRates:
    """Logical flip rates of a cat qubit solved from its Liouvillian (units of kappa_2).

    Args:
        params: The parameters that were solved.
        gamma_x: Bit-flip rate (X + Y errors: flips of ``Z_L``). Where the computed value is below
            ``precision_floor`` this is the floor (an upper bound) and ``below_precision_floor``
            is set.
        gamma_z: Phase-flip rate (Z + Y errors: flips of the parity ``X_L``).
        gamma_x_raw: The computed bit-flip rate before flooring (noise below the floor; may be
            negative there).
        n_fock: Fock dimension used.
        top_population: Steady-state population of the top two Fock levels.
        separation: Slowest non-logical decay rate over ``2 max(Gamma_X, Gamma_Z)``: > 5 for
            ``kappa_1 / kappa_2 <= 0.1``, falling to ~2 at ``kappa_1 / kappa_2 >~ 0.3``. There
            the two-level (Pauli channel) description fails and ``gamma_z`` is no longer the
            parity decay (at ``kappa_1 / kappa_2 = 1`` it is off by 2x): results are validated
            for ``kappa_1 / kappa_2 <= 0.1`` only.
        precision_floor: The floor that applied (`precision_floor`).

    Example:
        >>> r = CatRates(CatParams(4.0, 1e-2), 2.5e-8, gamma_z=4e-2, gamma_x_raw=2.5e-8, n_fock=38,
        ...              top_population=1e-20, separation=100.0, precision_floor=5e-17)
        >>> r.below_precision_floor
        False
        >>> p_x, p_z = r.probabilities(5.0)
        >>> round(p_x / 1.25e-7, 6)
        1.0
    """

    params: CatParams
    gamma_x: float
    _: KW_ONLY
    gamma_z: float
    gamma_x_raw: float
    n_fock: int
    top_population: float
    separation: float
    precision_floor: float

    @property
    def below_precision_floor(self) -> bool:
        """Whether the computed ``Gamma_X`` is below the precision floor (value is an upper bound)."""
        return self.gamma_x_raw < self.precision_floor

    def probabilities(self, t_round: float) -> tuple[float, float]:
        """Bit- and phase-flip probabilities ``(p_x, p_z)`` for a round of ``t_round / kappa_2``."""
        return flip_probability(self.gamma_x, t_round), flip_probability(self.gamma_z, t_round)


def cat_collapse_operators(params: CatParams, *, n_fock: int | None = None) -> list[qutip.Qobj]:
    """The model's jump operators, literally as in the module table (units of kappa_2 = 1).

    `solve_rates` uses the algebraically equal split form (see `cat_liouvillian`); these are for
    users who want ``qutip.mesolve`` trajectories of the same model.

    Args:
        params: The cat parameters.
        n_fock: Fock dimension; defaults to ``params.resolved_n_fock``.

    Returns:
        ``[L2, L1, (L1+), (Lphi)]`` as qutip operators (absent terms omitted).

    Example:
        >>> ops = cat_collapse_operators(CatParams(2.0, 1e-3), n_fock=12)
        >>> len(ops), ops[0].shape
        (2, (12, 12))
    """
    qutip = _import_qutip()
    n = params.resolved_n_fock if n_fock is None else n_fock
    a = qutip.destroy(n)
    ops = [
        a * a - params.nbar * qutip.qeye(n),
        math.sqrt(params.kappa1_over_kappa2 * (1.0 + params.n_th)) * a,
    ]
    if params.n_th > 0.0:
        ops.append(math.sqrt(params.kappa1_over_kappa2 * params.n_th) * a.dag())
    if params.kappaphi_over_kappa2 > 0.0:
        ops.append(math.sqrt(params.kappaphi_over_kappa2) * a.dag() * a)
    return ops


def cat_liouvillian(params: CatParams, *, n_fock: int | None = None) -> qutip.Qobj:
    """The model's Liouvillian superoperator (qutip, column-stacking convention, kappa_2 = 1).

    Built as ``-i[H2, .] + D[a^2] + sum_k D[L_k]`` with ``H2 = i (nbar / 2)(a^dag^2 - a^2)``,
    which equals ``D[a^2 - nbar]`` exactly but avoids the ``nbar^2`` terms that cancel to rounding
    error on the diagonal (they limit the resolvable bit-flip rate).

    Args:
        params: The cat parameters.
        n_fock: Fock dimension; defaults to ``params.resolved_n_fock``.

    Returns:
        A qutip superoperator of shape ``(n_fock^2, n_fock^2)``.

    Example:
        >>> import qutip
        >>> p = CatParams(2.0, 1e-3)
        >>> ref = qutip.liouvillian(None, cat_collapse_operators(p, n_fock=12))
        >>> bool(abs((cat_liouvillian(p, n_fock=12) - ref).full()).max() < 1e-12)
        True
    """
    qutip = _import_qutip()
    n = params.resolved_n_fock if n_fock is None else n_fock
    a = qutip.destroy(n)
    a2 = a * a
    h2 = 0.5j * params.nbar * (a2.dag() - a2)
    c_ops = [a2, math.sqrt(params.kappa1_over_kappa2 * (1.0 + params.n_th)) * a]
    if params.n_th > 0.0:
        c_ops.append(math.sqrt(params.kappa1_over_kappa2 * params.n_th) * a.dag())
    if params.kappaphi_over_kappa2 > 0.0:
        c_ops.append(math.sqrt(params.kappaphi_over_kappa2) * a.dag() * a)
    return qutip.liouvillian(h2, c_ops)


def _liouvillian_longdouble(params: CatParams, n: int) -> Any:
    """The same Liouvillian as `cat_liouvillian`, real, in ``numpy.longdouble`` (scipy sparse).

    Only used for the residuals of the eigenvalue refinement; `solve_rates` checks that it agrees
    with qutip's double-precision matrix, so the two cannot drift apart silently.
    """
    import scipy.sparse as sp

    ld = np.longdouble
    sqrt_n = np.sqrt(np.arange(n, dtype=ld))
    a = sp.diags([sqrt_n[1:]], [1], shape=(n, n), dtype=ld, format="csr")
    eye = sp.identity(n, dtype=ld, format="csr")

    def dissipator(c: Any, weight: Any) -> Any:
        # Column stacking: vec(A rho B) = (B^T kron A) vec(rho); all operators here are real.
        cc = (c.T @ c).tocsr()
        return weight * (sp.kron(c, c) - sp.kron(eye, cc) / 2 - sp.kron(cc, eye) / 2)

    a2 = (a @ a).tocsr()
    k = (a2.T - a2).tocsr()
    # -i[H2, rho] with H2 = i (nbar/2) K  ->  (nbar/2)(K rho - rho K).
    lv = ld(params.nbar) / 2 * (sp.kron(eye, k) - sp.kron(k.T, eye))
    lv = lv + dissipator(a2, ld(1))
    lv = lv + dissipator(a, ld(params.kappa1_over_kappa2) * (1 + ld(params.n_th)))
    if params.n_th > 0.0:
        lv = lv + dissipator(a.T.tocsr(), ld(params.kappa1_over_kappa2) * ld(params.n_th))
    if params.kappaphi_over_kappa2 > 0.0:
        num = sp.diags([np.arange(n, dtype=ld)], [0], shape=(n, n), dtype=ld, format="csr")
        lv = lv + dissipator(num, ld(params.kappaphi_over_kappa2))
    return lv.tocsr()


def _parity_sectors(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of vec(rho) (column stacking: k = i + n j) with i + j even / odd."""
    k = np.arange(n * n)
    odd = ((k % n) + (k // n)) % 2 == 1
    return np.flatnonzero(~odd), np.flatnonzero(odd)


@dataclass(frozen=True)
class _Solved:
    lambda_x: float
    lambda_z: float
    lambda_gap: float
    top_population: float


def _refine_eigenpair(a_dbl: Any, a_ld: Any, mu: float, v: np.ndarray, *, tol: float) -> float:
    """Newton refinement of a simple eigenpair with long-double residuals.

    Dongarra-Moler-Wilkinson iteration: with ``v[s] = 1`` fixed, solve the bordered system
    ``(A - mu I) dv - dmu v = -r`` (``dv[s] = 0``) using a double-precision LU of the bordered
    matrix, where ``r = A v - mu v`` is formed in long double. The bordered matrix is well
    conditioned even though ``A`` is nearly singular, so each step gains ~9 digits until the
    long-double rounding of ``r`` is reached.
    """
    import scipy.sparse as sp
    import scipy.sparse.linalg as sla

    s = int(np.argmax(np.abs(v)))
    v = v / v[s]
    dim = a_dbl.shape[0]
    shifted = (a_dbl - mu * sp.identity(dim, format="csc")).tocsc()
    border = sp.csc_matrix(-v.reshape(-1, 1))
    bordered = sp.hstack([shifted[:, :s], border, shifted[:, s + 1 :]], format="csc")
    lu = sla.splu(bordered)
    v_ld = v.astype(np.longdouble)
    mu_ld = np.longdouble(mu)
    for _ in range(6):
        residual = a_ld @ v_ld - mu_ld * v_ld
        step = lu.solve(-residual.astype(np.float64))
        dmu = step[s]
        step[s] = 0.0
        v_ld = v_ld + step.astype(np.longdouble)
        mu_ld = mu_ld + np.longdouble(dmu)
        if abs(dmu) < tol:
            break
    return float(mu_ld)


def _z_logical(nbar: float, n: int) -> np.ndarray:
    """vec(|alpha><alpha| - |-alpha><-alpha|) in Fock space: the ideal <Z_L> mode (odd block)."""
    k = np.arange(n)
    log_factorial = np.array([math.lgamma(i + 1.0) for i in k])
    log_c = -nbar / 2.0 + k * (0.5 * math.log(nbar)) - 0.5 * log_factorial
    c = np.exp(log_c)
    outer = np.outer(c, c) * (1.0 - (-1.0) ** (k[:, None] + k[None, :]))
    # A small uniform floor keeps the start vector generic (no exact zero overlap with any mode).
    return outer.ravel(order="F") + 1e-8


def _solve_once(params: CatParams, n: int, *, floor: float) -> _Solved:
    import scipy.sparse.linalg as sla

    superop = cat_liouvillian(params, n_fock=n).to("csr").data.as_scipy()
    if superop.nnz and abs(superop.imag).max() > 1e-12 * abs(superop.real).max():
        raise RuntimeError("internal error: the cat Liouvillian should be real")  # pragma: no cover
    real = superop.real.tocsr()
    even, odd = _parity_sectors(n)

    # Even block: steady state (eigenvalue 0) and parity decay lambda_Z. The block is exactly
    # singular, so shift below 0: by a fraction of the expected lambda_Z (0.3 x the estimate stays
    # below the true value even where the law overestimates 2.5x) for a well-conditioned LU, and
    # by at most 0.1 kappa_2 (well inside the confinement gap, >~ 1 kappa_2) so that 0 and
    # -lambda_Z stay the eigenvalues nearest the shift.
    block_even = real[even][:, even].tocsc()
    k_even = min(3, block_even.shape[0] - 2)
    lambda_z_estimate = 2.0 * analytic_rates(params)[1]
    shift = -min(0.3 * lambda_z_estimate, 0.1)
    # Fixed ARPACK start vectors (its default is random) make solves reproducible bit for bit.
    start_even = np.ones(block_even.shape[0])
    vals, vecs = sla.eigs(block_even, k=k_even, sigma=shift, which="LM", tol=1e-13, v0=start_even)
    order = np.argsort(np.abs(vals))
    vals, vecs = vals[order], vecs[:, order]
    if abs(vals[0]) > 1e-9 * max(1.0, abs(vals[-1])):
        raise RuntimeError(  # pragma: no cover - a solver failure, not a user error
            f"no steady state found for {params} (smallest eigenvalue {vals[0]:.2e}); report this"
        )
    lambda_z = float(-vals[1].real)
    lambda_gap = float(abs(vals[2])) if k_even >= 3 else math.inf
    rho = np.zeros(n * n, dtype=complex)
    rho[even] = vecs[:, 0]
    rho = rho.reshape(n, n, order="F")
    populations = np.real(np.diag(rho) / np.trace(rho))
    top_population = float(np.abs(populations[-_N_TOP:]).sum())

    # Odd block: the slowest mode is <Z_L>'s decay, lambda_X = 2 Gamma_X; the next is <Y_L>'s.
    block_odd = real[odd][:, odd].tocsc()
    start_odd = _z_logical(params.nbar, n)[odd]
    vals_o, vecs_o = sla.eigs(block_odd, k=1, sigma=0.0, which="LM", tol=1e-13, v0=start_odd)
    mu0 = float(vals_o[0].real)
    v0 = np.real(vecs_o[:, 0] / vecs_o[np.argmax(np.abs(vecs_o[:, 0])), 0])
    block_odd_ld = _liouvillian_longdouble(params, n)[odd][:, odd].tocsr()
    # Guard: the long-double matrix must be the same model as qutip's.
    mismatch = abs(block_odd_ld.astype(np.float64) - block_odd).max() if block_odd.nnz else 0.0
    if mismatch > 1e-10 * max(1.0, abs(block_odd).max()):
        raise RuntimeError(f"internal error: long-double Liouvillian differs from qutip's by {mismatch:.1e}")
    mu = _refine_eigenpair(block_odd, block_odd_ld, mu0, v0, tol=1e-3 * floor)
    return _Solved(lambda_x=-mu, lambda_z=lambda_z, lambda_gap=lambda_gap, top_population=top_population)


def solve_rates(params: CatParams, *, truncation_rtol: float = 1e-3) -> CatRates:
    """Solve the cat qubit's Liouvillian for its bit- and phase-flip rates (units of kappa_2).

    Builds the Liouvillian with qutip (`cat_liouvillian`), splits it by photon-number parity and
    finds the slowest rates with scipy's sparse shift-invert eigensolver (one sparse LU per block,
    a few ms at ``n_fock ~ 50``); the bit-flip eigenvalue is then refined in long double. No time
    evolution (``mesolve``) is run.

    Args:
        params: The cat parameters.
        truncation_rtol: Target relative truncation error of ``Gamma_X``. The steady-state
            population of the top two Fock levels must be ``<= truncation_rtol * Gamma_X / 10``.

    Returns:
        The rates with their diagnostics (`CatRates`).

    Raises:
        FockTruncationError: ``params.n_fock`` was given and is too small (or, with
            ``n_fock=None``, even the enlarged automatic choice failed).
        ValueError: ``truncation_rtol`` not in (0, 1).
        ImportError: qutip is missing (``pip install qec-gym[bosonic]``).

    Example:
        >>> r = solve_rates(CatParams(4.0, 1e-2))
        >>> round(r.gamma_x / 2.466e-8, 2), round(r.gamma_z / (1e-2 * 4.0), 2)
        (1.0, 1.0)
    """
    if not 0.0 < truncation_rtol < 1.0:
        raise ValueError(f"truncation_rtol must be in (0, 1), got {truncation_rtol}; the default is 1e-3")
    floor = precision_floor()
    n = params.resolved_n_fock
    step = int(math.ceil(2.0 * math.sqrt(params.nbar))) + 4
    attempts = 1 if params.n_fock is not None else 1 + _AUTO_RETRIES
    for attempt in range(attempts):
        solved = _solve_once(params, n, floor=floor)
        gamma_x_raw = 0.5 * solved.lambda_x
        allowed = max(truncation_rtol * max(gamma_x_raw, floor) / _TRUNCATION_SAFETY, _POPULATION_RESOLUTION)
        if solved.top_population <= allowed:
            break
        if attempt == attempts - 1:
            suggestion = n + step
            how = (
                f"increase n_fock (e.g. n_fock={suggestion})"
                if params.n_fock is not None
                else f"pass a larger explicit n_fock (e.g. n_fock={suggestion})"
            )
            raise FockTruncationError(
                f"Fock truncation too small for nbar={params.nbar}: the steady state has population "
                f"{solved.top_population:.2e} in the top {_N_TOP} of n_fock={n} levels, above the "
                f"{allowed:.2e} that keeps Gamma_X (~{max(gamma_x_raw, 0.0):.2e} kappa_2) within "
                f"truncation_rtol={truncation_rtol}; {how}"
            )
        n += step
    gamma_z = 0.5 * solved.lambda_z
    gamma_x = max(gamma_x_raw, floor)
    separation = solved.lambda_gap / (2.0 * max(gamma_x, gamma_z))
    return CatRates(
        params,
        gamma_x,
        gamma_z=gamma_z,
        gamma_x_raw=gamma_x_raw,
        n_fock=n,
        top_population=solved.top_population,
        separation=separation,
        precision_floor=floor,
    )


# Prefactors of the bit-flip law in `analytic_rates`, fitted to `solve_rates` (see there).
_A_LOSS_FIRST = 1.0  # kappa_1 nbar exp(-4 nbar)
_A_LOSS_SECOND = 0.53  # (kappa_1^2 / kappa_2) exp(-2 nbar)
_A_DEPHASING = 1.0  # kappa_phi nbar exp(-2 nbar)
_A_THERMAL = 1.0  # kappa_1 n_th exp(-2 nbar)


def analytic_rates(params: CatParams) -> tuple[float, float]:
    """Scaling-law estimates ``(Gamma_X, Gamma_Z)`` of the cat qubit (units of kappa_2).

    Phase flips (parity flips of the cat by photon loss / gain):
    ``Gamma_Z = kappa_1 nbar coth(2 nbar) (1 + 2 n_th) + kappa_1 n_th``. The textbook law
    ``Gamma_Z = kappa_1 nbar`` (Mirrahimi et al., NJP 16, 045014 (2014); Guillaud & Mirrahimi,
    PRX 9, 041053 (2019)) is its large-``nbar`` limit; ``coth(2 nbar) = (tanh + coth)(nbar) / 2``
    because the even and odd cats hold ``nbar tanh(nbar)`` and ``nbar coth(nbar)`` photons.
    Dephasing ``a^dag a`` preserves parity and leaves ``Gamma_Z`` unchanged to first order.
    Agrees with `solve_rates` to < 0.5% for ``kappa_1 / kappa_2 <= 1e-2``, ``kappa_phi / kappa_2
    <= 1e-2``, ``n_th <= 0.1`` and any ``nbar``; overestimates by 3-5% at ``kappa_1 / kappa_2 =
    0.1`` and 5-20% at 0.3; fails when
    ``kappa_1 nbar`` approaches the confinement gap (``kappa_1 / kappa_2 ~ 1``, the regime of
    Lescanne et al. 2020), where no two-level description exists.

    Bit flips (tunnelling between ``|+-alpha>``), a sum of four terms::

        Gamma_X = 1.0  kappa_1 nbar exp(-4 nbar)             (loss, first order)
                + 0.53 (kappa_1^2 / kappa_2) exp(-2 nbar)    (loss, second order)
                + 1.0  kappa_phi nbar exp(-2 nbar)           (dephasing)
                + 1.0  kappa_1 n_th exp(-2 nbar)             (thermal excitation)

    The ``exp(-2 nbar)`` law is that of Mirrahimi et al. 2014 and Guillaud & Mirrahimi 2019,
    observed by Lescanne et al. (Nat. Phys. 16, 509 (2020)); the prefactors are *fitted to this
    model's Liouvillian* (`solve_rates`, kappa_2 = 1), since the literature gives none that holds
    across kappa_1. Photon loss maps ``|alpha>`` to itself, so its bit flips come only from the
    overlap of the two coherent states (first order in kappa_1, ``exp(-4 nbar)``; it dominates at
    small ``nbar`` and small kappa_1, which is the steeper ~-3.4 slope of the reference numbers)
    and from the loss-induced deformation of the cat (second order, ``exp(-2 nbar)``). The Les
    Houches notes (Guillaud, Cohen, Mirrahimi, arXiv:2203.03222, Fig. 7; used by Alice & Bob's
    emulator) quote ``1.1e-3 kappa_1 nbar exp(-2 nbar)``, calibrated at kappa_1 / kappa_2 = 1e-2
    and nbar = 8, where it agrees with the second-order term to a factor 1.6; its linear
    kappa_1 dependence does not hold elsewhere. Dephasing quickly dominates the bit flips: at
    ``kappa_phi / kappa_2 = 1e-3``, ``nbar = 6`` it is 10^3 times the loss-induced rate.

    Validity of the Gamma_X law (measured against `solve_rates`): within 5% for
    ``kappa_1 / kappa_2 <= 1e-3`` and within 15% up to 3e-2, for all ``nbar >= 1``; 25% low at
    0.1 (the cat shrinks: ``alpha^2 -> nbar - kappa_1 / (2 kappa_2)``); the dephasing term is
    within 3% for ``kappa_phi / kappa_2 <= 1e-3`` and 15% at 1e-2 (``nbar <= 8``); the thermal
    term within 10% for ``nbar >= 2``, ``n_th <= 0.1``. Not meaningful for ``nbar < 1`` (the two
    coherent states overlap) nor for ``kappa_1 / kappa_2 >~ 0.3``.

    Args:
        params: The cat parameters (``n_fock`` is ignored).

    Returns:
        ``(gamma_x, gamma_z)`` in units of kappa_2.

    Example:
        >>> gx, gz = analytic_rates(CatParams(8.0, 1e-2))
        >>> f"{gx:.2e}", round(gz, 4)
        ('5.97e-12', 0.08)
    """
    return _analytic(params.nbar, params.kappa1_over_kappa2, params.kappaphi_over_kappa2, params.n_th)


def _analytic(nbar: float, k1: float, kphi: float, n_th: float) -> tuple[float, float]:
    # Scalar fast path shared with the table's interpolation (no dataclass, no validation).
    e2 = math.exp(-2.0 * nbar)
    gamma_x = (
        _A_LOSS_FIRST * k1 * nbar * e2 * e2
        + (_A_LOSS_SECOND * k1 * k1 + _A_DEPHASING * kphi * nbar + _A_THERMAL * k1 * n_th) * e2
    )
    gamma_z = k1 * nbar / math.tanh(2.0 * nbar) * (1.0 + 2.0 * n_th) + k1 * n_th
    return gamma_x, gamma_z


def _analytic_array(
    nbar: np.ndarray, k1: np.ndarray, kphi: np.ndarray, n_th: float
) -> tuple[np.ndarray, np.ndarray]:
    # Vectorised twin of `_analytic` for batch interpolation.
    e2 = np.exp(-2.0 * nbar)
    gamma_x = (
        _A_LOSS_FIRST * k1 * nbar * e2 * e2
        + (_A_LOSS_SECOND * k1 * k1 + _A_DEPHASING * kphi * nbar + _A_THERMAL * k1 * n_th) * e2
    )
    gamma_z = k1 * nbar / np.tanh(2.0 * nbar) * (1.0 + 2.0 * n_th) + k1 * n_th
    return gamma_x, gamma_z


@dataclass(frozen=True)
class CXErrorModel:
    """Pauli error probabilities of one bias-preserving CX between two cat qubits.

    Probabilities per gate; labels are ordered (control, target). Note that the reference numbers
    and Alice & Bob's emulator write the first entry as ``p_IZ``: that label is in Qiskit's
    little-endian order (qubit 0 = control on the right), i.e. it is this class's ``ZI``.

    Args:
        p_z_control: Z on the control only (``ZI``): loss during the gate plus the non-adiabatic
            term ``pi^2 / (64 nbar kappa_2 t)``.
        p_z_target: Z on the target only (``IZ``).
        p_zz: Correlated ``ZZ``.
        p_bitflip: Total probability of all Paulis with an X or Y on either qubit.
        gate_time: Gate duration in units of ``1 / kappa_2``.

    Example:
        >>> m = cx_error_model(10.0, 1e-4)
        >>> sorted(m.pauli_probabilities())
        ['IZ', 'ZI', 'ZZ', 'bitflip_total']
    """

    p_z_control: float
    p_z_target: float
    _: KW_ONLY
    p_zz: float
    p_bitflip: float
    gate_time: float = 1.0

    def __post_init__(self) -> None:
        for f in ("p_z_control", "p_z_target", "p_zz", "p_bitflip"):
            value = getattr(self, f)
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"{f}={value:.3g} is not a probability: the short-gate / large-loss regime "
                    f"is outside the CX model's validity; lengthen gate_time or reduce kappa_1"
                )

    def pauli_probabilities(self) -> dict[str, float]:
        """Probabilities keyed by (control, target) Pauli label, plus ``bitflip_total``."""
        return {
            "ZI": self.p_z_control,
            "IZ": self.p_z_target,
            "ZZ": self.p_zz,
            "bitflip_total": self.p_bitflip,
        }


def cx_error_model(nbar: float, kappa1_over_kappa2: float, *, gate_time: float = 1.0) -> CXErrorModel:
    """Analytic error model of the bias-preserving CX (Guillaud & Mirrahimi 2019; Gouzien et al. 2023).

    With ``t`` the gate time in units of ``1 / kappa_2`` (default 1, as in Gouzien et al.,
    arXiv:2302.06639, App. D, and Alice & Bob's emulator):
    ``p_ZI = nbar kappa_1 t + pi^2 / (64 nbar kappa_2 t)`` (control; the second term is the
    non-adiabatic error of a finite-time gate), ``p_IZ = p_ZZ = 0.5 nbar kappa_1 t``, and a total
    bit-flip probability ``0.5 exp(-2 nbar)`` (Gouzien et al. Eq. D8), dominated by the gate's own
    dynamics rather than by kappa_1. Valid for ``nbar >~ 4`` and ``kappa_1 t nbar << 1``.

    Args:
        nbar: Mean photon number of both cats (> 0).
        kappa1_over_kappa2: Single-photon loss over two-photon dissipation (>= 0).
        gate_time: Gate duration in units of ``1 / kappa_2`` (> 0).

    Returns:
        The `CXErrorModel`.

    Raises:
        ValueError: non-positive ``nbar`` or ``gate_time``, negative or non-finite rates, or
            probabilities above 1.

    Example:
        >>> m = cx_error_model(10.0, 1e-4)
        >>> round(m.p_z_control, 6), round(m.p_zz, 6), f"{m.p_bitflip:.2e}"
        (0.016421, 0.0005, '1.03e-09')
    """
    for name, value in (("nbar", nbar), ("gate_time", gate_time)):
        if not (math.isfinite(value) and value > 0.0):
            raise ValueError(f"{name} must be finite and > 0, got {value}")
    if not (math.isfinite(kappa1_over_kappa2) and kappa1_over_kappa2 >= 0.0):
        raise ValueError(f"kappa1_over_kappa2 must be finite and >= 0, got {kappa1_over_kappa2}")
    loss = nbar * kappa1_over_kappa2 * gate_time
    return CXErrorModel(
        loss + math.pi**2 / (64.0 * nbar * gate_time),
        0.5 * loss,
        p_zz=0.5 * loss,
        p_bitflip=0.5 * math.exp(-2.0 * nbar),
        gate_time=gate_time,
    )
