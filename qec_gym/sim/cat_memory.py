"""Memory experiments of the repetition cat code: logical error per round, and its sweep over nbar.

`cat_logical_error_per_round` simulates the phase-flip part (stim + decoder, through the one
circuit path `qec_gym.codes.build_circuit`) under the physics channel of
`qec_gym.bosonic.channel` and adds the analytic bit-flip part.

The literature's trade-off (Guillaud & Mirrahimi 2019; Gouzien et al. 2023): bit flips fall like
``exp(-2 nbar)`` while phase flips grow with ``nbar`` (``kappa_1 nbar`` per cat), so at fixed
``kappa_1 / kappa_2`` and distance the total logical error per round has an interior minimum in
``nbar``. `nbar_sweep` measures it (phase flips simulated, bit flips analytic, see
`qec_gym.bosonic.channel`); `optimal_nbar` locates the minimum on a fine grid from a smooth fit.

Example:
    >>> import numpy as np
    >>> rows = nbar_sweep([3], [3.0, 5.0], kappa1_over_kappa2=1e-3, max_shots=2000,
    ...                   rng=np.random.default_rng(0))
    >>> [r.nbar for r in rows], rows[0].bit_flip > rows[1].bit_flip
    ([3.0, 5.0], True)
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass

import numpy as np

from qec_gym.bosonic.channel import (
    CAT_FAMILY,
    CatChannel,
    CatOperatingPoint,
    _check_distance,
    cat_channel,
    gouzien_phase_flip_per_round,
)
from qec_gym.codes import CodeSpec
from qec_gym.sim.cache import SimulationCache
from qec_gym.sim.stats import binomial_ci, per_round
from qec_gym.sim.window import simulate_window

__all__ = [
    "CSV_FIELDS", "CatLogicalError", "NbarOptimum", "SweepRow", "cat_logical_error_per_round", "nbar_sweep",
    "optimal_nbar", "read_csv", "write_csv",
]


@dataclass(frozen=True)
class CatLogicalError:
    """Logical error per round of a repetition cat code at one operating point.

    Attributes:
        distance: Code distance.
        rounds: Rounds per simulated shot.
        point: The operating point.
        shots: Simulated shots.
        errors: Shots with a logical phase flip (decoded).
        phase_flip: Simulated logical Z (phase-flip) probability per round.
        phase_flip_ci: Its 99% Clopper-Pearson interval, per round.
        bit_flip: Analytic logical X (bit-flip) probability per round.
        modes: Bosonic modes (data + ancilla).
        photons: Mean photons (``nbar`` x modes).
    """

    distance: int
    rounds: int
    point: CatOperatingPoint
    _: KW_ONLY
    shots: int
    errors: int
    phase_flip: float
    phase_flip_ci: tuple[float, float]
    bit_flip: float
    modes: int
    photons: float

    @property
    def total(self) -> float:
        """Logical error per round, X or Z (independent parts): ``pZ + pX - pZ pX``."""
        return self.phase_flip + self.bit_flip - self.phase_flip * self.bit_flip


def cat_logical_error_per_round(
    distance: int,
    point: CatOperatingPoint,
    *,
    rng: np.random.Generator,
    max_shots: int = 100_000,
    max_errors: int = 500,
    batch: int = 10_000,
    rounds: int | None = None,
    decoder: str = "pymatching",
    table: CatChannelTable | None | str = "packaged",
    cache: SimulationCache | None = None,
) -> CatLogicalError:
    """Logical error per round: the phase-flip part simulated (stim + decoder), the bit-flip part analytic.

    Shots are drawn in batches until ``max_errors`` logical phase flips or ``max_shots`` shots.

    Args:
        distance: Code distance (>= 2).
        point: The operating point.
        rng: Source of randomness (stim's sampler is seeded from it).
        max_shots: Most shots to simulate.
        max_errors: Stop once this many logical phase flips were seen.
        batch: Shots per batch.
        rounds: Rounds per shot (default: ``distance``).
        decoder: Decoder name (see `qec_gym.decoders`).
        table: Rate source, as in `cat_channel`.
        cache: Reuse compiled circuits and decoders across calls.

    Returns:
        The `CatLogicalError`.

    Example:
        >>> r = cat_logical_error_per_round(3, CatOperatingPoint(4.0, 1e-3, cx_bitflip="gouzien2023"),
        ...                                 rng=np.random.default_rng(1), max_shots=2000)
        >>> r.shots, 0 < r.phase_flip < 0.1, f"{r.bit_flip:.1e}"
        (2000, True, '6.7e-04')
    """
    d = _check_distance(distance)
    if max_shots < 1 or max_errors < 1 or batch < 1:
        raise ValueError("max_shots, max_errors and batch must be >= 1.")
    channel = cat_channel(point, table=table)
    spec = CodeSpec(CAT_FAMILY, d, rounds=rounds)
    cache = SimulationCache() if cache is None else cache
    shots = errors = 0
    while shots < max_shots and errors < max_errors:
        n = min(batch, max_shots - shots)
        w = simulate_window(spec, channel.noise, decoder=decoder, shots=n, rng=rng, cache=cache, bins_per_decade=None)
        shots += n
        errors += w.errors
    lo, hi = binomial_ci(errors, shots, confidence=0.99)
    r = int(spec.rounds)
    return CatLogicalError(
        d,
        r,
        point,
        shots=shots,
        errors=errors,
        phase_flip=per_round(errors / shots, r),
        phase_flip_ci=(per_round(lo, r), per_round(min(hi, 0.5), r)),
        bit_flip=channel.bit_flip_per_round(d),
        modes=channel.modes(d),
        photons=channel.photons(d),
    )



@dataclass(frozen=True)
class SweepRow:
    """One point of the sweep (per-round probabilities).

    Attributes:
        distance: Code distance.
        nbar: Mean photon number.
        kappa1_over_kappa2: Single-photon loss ratio.
        rounds: Rounds per simulated shot.
        shots: Simulated shots.
        errors: Logical phase flips among them.
        phase_flip: Simulated logical phase flip per round.
        phase_flip_lo: Lower end of its 99% interval.
        phase_flip_hi: Upper end of its 99% interval.
        bit_flip: Analytic logical bit flip per round.
        total: ``phase_flip + bit_flip - phase_flip * bit_flip``.
        gouzien_phase_flip: The literature fit at this point (`gouzien_phase_flip_per_round`).
        modes: Bosonic modes.
        photons: Mean photons.
    """

    distance: int
    nbar: float
    kappa1_over_kappa2: float
    _: KW_ONLY
    rounds: int
    shots: int
    errors: int
    phase_flip: float
    phase_flip_lo: float
    phase_flip_hi: float
    bit_flip: float
    total: float
    gouzien_phase_flip: float
    modes: int
    photons: float


CSV_FIELDS = (
    "distance", "nbar", "kappa1_over_kappa2", "rounds", "shots", "errors", "phase_flip", "phase_flip_lo",
    "phase_flip_hi", "bit_flip", "total", "gouzien_phase_flip", "modes", "photons",
)
"""Column order of `write_csv` (the `SweepRow` fields)."""


def nbar_sweep(
    distances: Sequence[int],
    nbars: Sequence[float],
    *,
    kappa1_over_kappa2: float = 1e-3,
    rng: np.random.Generator,
    max_shots: int = 200_000,
    max_errors: int = 400,
    rounds: int | None = None,
    point: CatOperatingPoint | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[SweepRow]:
    """Logical error per round for every (distance, nbar) at fixed ``kappa_1 / kappa_2``.

    Args:
        distances: Code distances.
        nbars: Mean photon numbers.
        kappa1_over_kappa2: The loss ratio.
        rng: Source of randomness (one Generator for the whole sweep: reproducible).
        max_shots: Most shots per point.
        max_errors: Logical phase flips after which a point stops.
        rounds: Rounds per shot (default: the distance).
        point: Template for the other operating-point fields (times, dephasing); its ``nbar``
            and ``kappa1_over_kappa2`` are replaced.
        progress: Called with ``(done, total)`` after each point.

    Returns:
        Rows in (distance, nbar) order.
    """
    template = CatOperatingPoint(4.0, kappa1_over_kappa2) if point is None else point
    cache = SimulationCache()
    todo = [(int(d), float(n)) for d in distances for n in nbars]
    rows: list[SweepRow] = []
    for i, (d, nbar) in enumerate(todo):
        pt = template.replace(nbar=nbar, kappa1_over_kappa2=kappa1_over_kappa2)
        r = cat_logical_error_per_round(
            d, pt, rng=rng, max_shots=max_shots, max_errors=max_errors, rounds=rounds, cache=cache
        )
        rows.append(
            SweepRow(
                d, nbar, kappa1_over_kappa2, rounds=r.rounds, shots=r.shots, errors=r.errors,
                phase_flip=r.phase_flip, phase_flip_lo=r.phase_flip_ci[0], phase_flip_hi=r.phase_flip_ci[1],
                bit_flip=r.bit_flip, total=r.total,
                gouzien_phase_flip=gouzien_phase_flip_per_round(d, nbar, kappa1_over_kappa2),
                modes=r.modes, photons=r.photons,
            )
        )
        if progress is not None:
            progress(i + 1, len(todo))
    return rows


@dataclass(frozen=True)
class NbarOptimum:
    """Where the total logical error per round of one distance is least.

    Attributes:
        distance: Code distance.
        nbar: Optimal mean photon number (from the smooth fit, on a 0.01 grid).
        total: Fitted total logical error per round there.
        grid_nbar: The sampled nbar with the least measured total.
        grid_total: That measured total.
        exponent: Local power of the fitted phase-flip part at the optimum, ``d log p_Z / d log nbar``.
        interior: Whether the optimum lies strictly inside the sampled range.
    """

    distance: int
    nbar: float
    total: float
    _: KW_ONLY
    grid_nbar: float
    grid_total: float
    exponent: float
    interior: bool


def optimal_nbar(
    rows: Iterable[SweepRow], distance: int, *, channel: Callable[[float], CatChannel] | None = None
) -> NbarOptimum:
    """Locate the optimal nbar of one distance from sweep rows.

    The phase-flip part is fitted by a quadratic in ``log nbar`` of ``log p_Z`` (least squares
    weighted by the errors seen: a power law with curvature, since at small nbar the CX's
    non-adiabatic ``1 / nbar`` readout errors bend it); the bit-flip part is the analytic law of
    the channel (`CatChannel.bit_flip_per_round`). Their sum is minimised on a 0.01 grid.

    Args:
        rows: Sweep rows (other distances are ignored).
        distance: The distance.
        channel: ``nbar -> CatChannel`` for the bit-flip law; default: the rows' loss ratio with
            default times.

    Raises:
        ValueError: fewer than two rows of this distance with observed phase flips.

    Example:
        >>> import numpy as np
        >>> rows = nbar_sweep([3], [3.0, 4.0, 6.0], max_shots=4000, rng=np.random.default_rng(0))
        >>> opt = optimal_nbar(rows, 3)
        >>> 3.0 <= opt.nbar <= 6.0
        True
    """
    mine = sorted((r for r in rows if r.distance == distance), key=lambda r: r.nbar)
    fit = [r for r in mine if r.errors > 0]
    if len(fit) < 2:
        raise ValueError(
            f"distance {distance}: need >= 2 sweep points with observed phase flips to fit, got {len(fit)}; "
            "raise max_shots or the nbar range."
        )
    x = np.log([r.nbar for r in fit])
    y = np.log([r.phase_flip for r in fit])
    w = np.sqrt([r.errors for r in fit])  # Poisson: relative error ~ 1 / sqrt(errors)
    coeffs = np.polyfit(x, y, min(2, len(fit) - 1), w=w)
    k1 = mine[0].kappa1_over_kappa2
    if channel is None:
        def channel(nbar: float) -> CatChannel:
            return cat_channel(CatOperatingPoint(nbar, k1))
    lo, hi = mine[0].nbar, mine[-1].nbar
    fine = np.round(np.arange(lo, hi + 1e-9, 0.01), 10)
    totals = []
    for nbar in fine:
        pz = math.exp(float(np.polyval(coeffs, math.log(nbar))))
        px = channel(float(nbar)).bit_flip_per_round(distance)
        totals.append(pz + px - pz * px)
    k = int(np.argmin(totals))
    slope = float(np.polyval(np.polyder(coeffs), math.log(fine[k]))) if len(coeffs) > 1 else 0.0
    best = min(mine, key=lambda r: r.total)
    return NbarOptimum(
        distance, float(fine[k]), float(totals[k]), grid_nbar=best.nbar, grid_total=best.total,
        exponent=slope, interior=0 < k < len(fine) - 1,
    )


def write_csv(rows: Iterable[SweepRow], path: str | os.PathLike[str]) -> None:
    """Write rows as CSV (`CSV_FIELDS` columns).

    Example:
        >>> import tempfile, pathlib
        >>> rows = nbar_sweep([3], [4.0], max_shots=500, rng=np.random.default_rng(0))
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     write_csv(rows, pathlib.Path(tmp) / "x.csv")
        ...     back = read_csv(pathlib.Path(tmp) / "x.csv")
        >>> back == rows
        True
    """
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_FIELDS)
        for r in rows:
            writer.writerow([repr(getattr(r, f)) if isinstance(getattr(r, f), float) else getattr(r, f) for f in CSV_FIELDS])


def read_csv(path: str | os.PathLike[str]) -> list[SweepRow]:
    """Read rows written by `write_csv`."""
    ints = {"distance", "rounds", "shots", "errors", "modes"}
    out = []
    with open(path, newline="") as fh:
        for rec in csv.DictReader(fh):
            vals = {k: (int(v) if k in ints else float(v)) for k, v in rec.items()}
            d, nbar, k1 = vals.pop("distance"), vals.pop("nbar"), vals.pop("kappa1_over_kappa2")
            out.append(SweepRow(d, nbar, k1, **vals))
    return out
