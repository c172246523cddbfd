"""Cat-qubit operating point -> the `NoiseParams` of a phase-flip repetition code over cats.

A repetition code over dissipative cat qubits (``CodeSpec("cat_repetition", d)``: X-basis memory,
``d`` data cats and ``d - 1`` ancilla cats, stabilisers ``X_i X_{i+1}`` measured with bias-preserving
CX gates, ancilla = control, data = target) sees two kinds of logical error:

* **phase flips** (logical Z, i.e. flips of the X-basis memory): corrected by the repetition code;
  this part is *simulated* with stim + pymatching under the channel built here;
* **bit flips** (logical X): a single cat bit flip anywhere is a logical error the code cannot
  see (an X-basis memory has no detector for it), so this part is counted *analytically*
  (`CatChannel.bit_flip_per_round`).

`qec_gym.sim.cat_memory.cat_logical_error_per_round` combines both. This module is physics only
(rates, channel, bit-flip counts); the circuit is the ordinary code family
`qec_gym.codes.cat_repetition`, built by `qec_gym.codes.build_circuit` like every code. Units: rates in kappa_2, times in ``1 / kappa_2``.

## The circuit-level channel (`cat_channel`)

One round lasts ``t_round`` (default 5, Gouzien et al. 2023, arXiv:2302.06639). An ancilla is
prepared in ``|+>`` (``t_readout``), takes part in two CX gates (``gate_time`` each) and is read out
in the X basis (``t_readout``); data cats take part in two CX gates (one at the chain ends) and
idle otherwise. ``Gamma_X, Gamma_Z`` are the cat's bit- and phase-flip rates from a solved
`CatChannelTable` (qutip is never called here; without a table, `analytic_rates`, within 0.5% for
``Gamma_Z`` at ``kappa_1 / kappa_2 <= 1e-2``). Every probability is ``p(t) = (1 - exp(-2 Gamma
t)) / 2`` (`flip_probability`), or a CX error of `cx_error_model`.

| physics | value | `NoiseParams` field |
|---|---|---|
| CX (Gouzien et al. App. D): ``p_IZ = p_ZZ = nbar kappa_1 t / 2`` | ``q = p_ZZ`` for each of ZI, IZ, ZZ | ``p2 = p2_for_z_type(q, eta)``, ``eta = 1e6`` |
| CX control's extra phase flip ``p_ZI - q = nbar kappa_1 t / 2 + pi^2 / (64 nbar t)`` | ``e = (p_ZI - q) / (1 - 4 q)`` per CX | folded into ``p_meas`` (see below) |
| ancilla readout + its idle slack ``t_round - 2 t_gate - t_readout`` | ``p(slack + t_readout)`` XOR ``e`` XOR ``e`` | ``p_meas`` |
| X-basis preparation (ancillas each round, data once) | ``p_Z(t_readout)`` | ``p_reset`` |
| data idle during the other end's CX layer | ``p_Z(t_gate)`` | ``idle_z`` (per idle layer) |
| rest of a data cat's idle time per round | ``p_Z(t_round - 3 t_gate)`` | ``p_dephase`` |
| data's final X readout | ``p_Z(t_readout)`` (= ``p_reset``) | the family's convention (`qec_gym.codes.cat_repetition`) |
| bit flips (CX: `cx_bitflip_probability`, idle ``Gamma_X``) | analytic, `CatChannel.bit_flip_per_round` | none (``eta = 1e6``) |

Why this is exact for the memory experiment (checked in the tests by comparing detector error
models with an explicitly asymmetric circuit): the project's two-qubit channel is symmetric in
its three Z-type Paulis (``IZ``, ``ZI``, ``ZZ`` share one probability), the cat CX is not (the
control's ``ZI`` carries the large non-adiabatic term ``pi^2 / (64 nbar kappa_2 t)``). A symmetric
channel with ``q = p_ZZ = p_IZ`` plus an independent Z on the control with probability
``e = (p_ZI - q) / (1 - 4 q)`` reproduces the CX's ``ZI``, ``IZ`` and ``ZZ`` exactly. A Z on the
ancilla (control) commutes with every later CX it controls and only flips its X readout, so ``e``
is a readout flip of that round's ancilla and goes into ``p_meas``. The data's final readout is
not an ancilla readout: the ``cat_repetition`` family flips it with ``p_reset`` (a cat's X readout
lasts ``t_readout``, as its preparation); with ``p_meas`` there, that boundary would be ~10x too
noisy at ``nbar = 3`` (measured: ``d = 5`` per-round logical error 4.2e-3 instead of 4.3e-4).

Bit flips are left out of the stim circuit (``eta = 1e6`` makes the non-Z share 1.3e-6 of ``p2``):
the X-basis memory cannot see them, and a twirled bit-flip channel would only add Y errors whose
Z parts depend on an arbitrary split. Per round, every one of the ``2 d - 1`` cats flips with
``p_X(t_round)`` and each of the ``2 (d - 1)`` CX gates with `cx_bitflip_probability`; a single one
flips the logical qubit, two cancel: ``p_X,L = (1 - prod(1 - 2 p_i)) / 2``, ~ ``2 (d - 1) p_CX``
when the CX dominates. ``p_CX`` is the two-mode Lindblad simulation of the gate
(`qec_gym.bosonic.cx`, packaged table; ``cx_bitflip="simulated"``, the default) or Gouzien et al.'s
Eq. D8 ``0.5 exp(-2 nbar)`` (``cx_bitflip="gouzien2023"``, channel version 1's law).

Literature check (``d = 5, 7, 9``, ``kappa_1 / kappa_2 = 1e-3``, rounds = d, pymatching, measured
with this channel, ``docs/figures/cat_optimum.csv``): the simulated phase-flip part is 0.57-1.31
times Gouzien et al.'s fit ``0.056 (nbar^0.86 (kappa_1 / kappa_2) / 0.013)^((d + 1) / 2)``
(`gouzien_phase_flip_per_round`) for ``nbar`` in 3..8, lowest at large ``nbar`` and ``d``; the
optimum ``nbar`` (total error least) is 4.88, 5.44, 5.89 for d = 5, 7, 9 with the solved CX bit
flips (``cx_bitflip="solved"``, the CSV's), 4.90, 5.49, 5.96 with ``"simulated"`` and 4.79, 5.39, 5.88
with ``0.5 exp(-2 nbar)``, on the same phase-flip samples (``benchmarks/cat_optimum.py``).

Example:
    >>> ch = cat_channel(CatOperatingPoint(4.0, 1e-3))
    >>> round(ch.noise.p2 / 3, 6), ch.noise.p_meas > ch.noise.p_reset
    (0.002, True)
    >>> ch.modes(5), ch.photons(5)
    (9, 36.0)
    >>> f"{ch.bit_flip_per_round(5):.2e}"
    '1.78e-03'
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from dataclasses import KW_ONLY, dataclass
from pathlib import Path

import numpy as np

from qec_gym.bosonic.cat import CatParams, CXErrorModel, analytic_rates, cx_error_model, flip_probability
from qec_gym.bosonic.cx import CXBitFlipTable, alice_bob_cx_bitflip, gouzien_cx_bitflip, packaged_cx_table
from qec_gym.bosonic.table import CatChannelTable, CatTableGrid, TableCacheError
from qec_gym.codes.cat_repetition import CAT_FAMILY
from qec_gym.codes.noise_model import p2_for_z_type
from qec_gym.noise.params import NoiseParams

__all__ = [
    "CAT_FAMILY",
    "CHANNEL_VERSION",
    "CX_BITFLIP_MODELS",
    "PACKAGED_CAT_GRID",
    "PACKAGED_CAT_TABLES",
    "SIMULATION_ETA",
    "CatChannel",
    "CatOperatingPoint",
    "alice_bob_cx_bitflip",
    "bit_flip_per_round_array",
    "cat_channel",
    "cat_noise_params",
    "cx_bitflip_probability",
    "cx_bitflip_table",
    "gouzien_bit_flip_per_round",
    "gouzien_cx_bitflip",
    "gouzien_phase_flip_per_round",
    "packaged_cat_table",
]

_log = logging.getLogger(__name__)

CHANNEL_VERSION = "cat-channel-1"
"""Version of the mapping to `NoiseParams` (the phase-flip part that stim simulates); window tables
built from it carry it in their key (bump on changes). The CX bit-flip law (`CatOperatingPoint.cx_bitflip`)
is not part of it: bit flips are counted analytically, outside the stim circuit and its tables."""

CX_BITFLIP_MODELS = ("simulated", "gouzien2023", "solved")
"""Sources of the CX bit-flip probability: ``"simulated"``, the two-mode Lindblad model of
`qec_gym.bosonic.cx` solved in the Fock basis at nbar 2..4 and extrapolated above (packaged table;
``CatSwitch-v2``, ``-v3``); ``"gouzien2023"``, Gouzien et al.'s Eq. D8 ``0.5 exp(-2 nbar)`` (the law of
channel version 1, kept so that ``CatSwitch-v1`` stays reproducible); ``"solved"``, the same model
solved in the Fock basis at nbar 2..6 with converged truncation, extended on the nbar 5..6 slope above
(`qec_gym.bosonic.cx.PACKAGED_SOLVED_CX_GRID`, ``T = 1 / kappa_2`` only; ``CatSwitch-v4``), which
replaces the extrapolation above nbar 4. The shifted-basis solves (`qec_gym.bosonic.cx.PACKAGED_SHIFTED_CX_GRID`)
are not a law here: at ``n_shift = 8`` they are lower bounds above nbar ~4 (`qec_gym.bosonic.cx`)."""

_CX_TABLE_BASIS = {"simulated": "fock", "solved": "solved"}

SIMULATION_ETA = 1e6
"""Z-bias of the stim circuit's CX channel: bit flips are counted analytically, not simulated."""

PACKAGED_CAT_TABLES = Path(__file__).parent / "data"
"""Folder of the solved cat-rate table that ships with the package (``qec-gym bosonic table --packaged``)."""

PACKAGED_CAT_GRID = CatTableGrid(
    tuple(1.5 + 0.5 * i for i in range(18)),
    (1e-4, 1e-3, 1e-2, 3e-2),
    kappaphi_over_kappa2=(0.0, 1e-3),
)
"""Grid of the packaged table: nbar 1.5..10 (step 0.5), kappa_1/kappa_2 1e-4..3e-2, kappa_phi 0, 1e-3."""


@functools.lru_cache(maxsize=1)
def packaged_cat_table() -> CatChannelTable | None:
    """The solved cat-rate table shipped with the package, or None where it cannot be used.

    Its cache key holds the solver's precision floor, which depends on the platform's long double
    (`qec_gym.bosonic.precision_floor`): on platforms without 80-bit long double it is not found,
    and callers fall back to `analytic_rates` (within 0.5% for ``Gamma_Z``).

    Example:
        >>> t = packaged_cat_table()
        >>> t is None or t.grid == PACKAGED_CAT_GRID
        True
    """
    try:
        return CatChannelTable.load(PACKAGED_CAT_GRID, cache_dir=PACKAGED_CAT_TABLES)
    except (FileNotFoundError, TableCacheError) as exc:
        _log.info("packaged cat-rate table unavailable (%s); using the analytic rates", exc)
        return None


@dataclass(frozen=True)
class CatOperatingPoint:
    """Hardware operating point of the cats of a repetition code (times in ``1 / kappa_2``).

    Args:
        nbar: Mean photon number of every cat (> 0).
        kappa1_over_kappa2: Single-photon loss over two-photon dissipation (> 0).
        kappaphi_over_kappa2: Pure dephasing over kappa_2 (>= 0; adds bit flips only).
        t_round: Duration of one QEC round (default 5, Gouzien et al. 2023).
        gate_time: Duration of one bias-preserving CX (default 1, as in `cx_error_model`).
        t_readout: Duration of an X-basis preparation and of an X-basis readout (each; default 1).
        cx_bitflip: Source of the CX bit-flip probability, one of `CX_BITFLIP_MODELS` (default
            ``"simulated"``; it covers ``nbar`` 2..9 (solved 2..4), ``kappa_1 / kappa_2`` 1e-4..1e-2 and
            ``gate_time`` 1..2, see `qec_gym.bosonic.cx.PACKAGED_CX_GRID`; ``"solved"``: nbar 2..9
            (solved 2..6), the same loss range, ``gate_time`` 1 only).

    Times come from kappa_2, not from transmon gate times: the CX lasts ``1 / kappa_2`` and
    preparation and readout ``1 / kappa_2`` each, as in Gouzien et al. (App. D, p. 25) and Alice &
    Bob's emulator; the round (``5 / kappa_2``) holds the two CX layers, one preparation, one
    readout and one ``1 / kappa_2`` of slack.

    Raises:
        ValueError: an unknown ``cx_bitflip``, a non-finite or out-of-range value, or a round too short for its operations
            (``t_round`` must be at least ``2 gate_time + 2 t_readout`` and ``3 gate_time``).

    Example:
        >>> CatOperatingPoint(4.0, 1e-3).t_round
        5.0
        >>> CatOperatingPoint(4.0, 1e-3, t_round=3.0)
        Traceback (most recent call last):
            ...
        ValueError: t_round=3.0 is shorter than one round's operations: it needs >= 4.0 (2 gate_time + 2 t_readout) and >= 3.0 (3 gate_time); lengthen t_round or shorten the operations
    """

    nbar: float
    kappa1_over_kappa2: float
    _: KW_ONLY
    kappaphi_over_kappa2: float = 0.0
    t_round: float = 5.0
    gate_time: float = 1.0
    t_readout: float = 1.0
    cx_bitflip: str = "simulated"

    def __post_init__(self) -> None:
        if self.cx_bitflip not in CX_BITFLIP_MODELS:
            raise ValueError(f"CatOperatingPoint.cx_bitflip={self.cx_bitflip!r}; choose one of {CX_BITFLIP_MODELS}.")
        for name in ("nbar", "kappa1_over_kappa2", "kappaphi_over_kappa2", "t_round", "gate_time", "t_readout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"CatOperatingPoint.{name} must be a real number, got {value!r}.")
            if not math.isfinite(value):
                raise ValueError(f"CatOperatingPoint.{name}={value!r} must be finite.")
            object.__setattr__(self, name, float(value))
        for name in ("nbar", "kappa1_over_kappa2", "t_round", "gate_time"):
            if getattr(self, name) <= 0:
                raise ValueError(f"CatOperatingPoint.{name}={getattr(self, name)!r} must be > 0.")
        for name in ("kappaphi_over_kappa2", "t_readout"):
            if getattr(self, name) < 0:
                raise ValueError(f"CatOperatingPoint.{name}={getattr(self, name)!r} must be >= 0.")
        need_ops = 2 * self.gate_time + 2 * self.t_readout
        need_idle = 3 * self.gate_time
        if self.t_round < max(need_ops, need_idle) * (1 - 1e-12):
            raise ValueError(
                f"t_round={self.t_round!r} is shorter than one round's operations: it needs >= {need_ops!r} "
                f"(2 gate_time + 2 t_readout) and >= {need_idle!r} (3 gate_time); lengthen t_round or shorten "
                "the operations"
            )

    def replace(self, **changes: float | str) -> CatOperatingPoint:
        """A copy with some fields changed (validated again).

        Example:
            >>> CatOperatingPoint(4.0, 1e-3).replace(nbar=6.0).nbar
            6.0
        """
        return dataclasses.replace(self, **changes)


def _xor(*ps: float) -> float:
    """Probability that an odd number of independent flips happen (an even number cancels)."""
    prod = 1.0
    for p in ps:
        prod *= 1.0 - 2.0 * p
    return 0.5 * (1.0 - prod)


@dataclass(frozen=True)
class CatChannel:
    """The channel of one operating point: stim noise for the phase flips, analytic bit flips.

    Attributes:
        point: The operating point.
        gamma_x: Cat bit-flip rate (units of kappa_2).
        gamma_z: Cat phase-flip rate (units of kappa_2).
        cx: The CX error model (`cx_error_model`).
        noise: `NoiseParams` for `cat_circuit` (``p_meas`` is the ancilla's readout flip).
        control_excess: Extra Z probability on the CX control per gate (folded into ``p_meas``).
        data_readout: Flip probability of the data's final X readout (= ``noise.p_reset``).
        rates_source: ``"table"`` (solved `CatChannelTable`) or ``"analytic"``.
    """

    point: CatOperatingPoint
    gamma_x: float
    gamma_z: float
    _: KW_ONLY
    cx: CXErrorModel
    noise: NoiseParams
    control_excess: float
    data_readout: float
    rates_source: str

    def modes(self, distance: int) -> int:
        """Bosonic modes of a distance-``d`` repetition code: ``d`` data + ``d - 1`` ancilla cats."""
        return 2 * _check_distance(distance) - 1

    def photons(self, distance: int) -> float:
        """Mean photons held by the code: ``nbar`` x modes."""
        return self.point.nbar * self.modes(distance)

    def bit_flip_per_round(self, distance: int) -> float:
        """Analytic logical bit-flip (X) probability per round of a distance-``d`` code.

        Each of the ``2 d - 1`` cats flips with ``p_X(t_round)`` (rate ``Gamma_X``) and each of
        the ``2 (d - 1)`` CX gates with ``cx.p_bitflip`` (`cx_bitflip_probability`); any odd number
        of flips is a logical X error.

        Example:
            >>> ch = cat_channel(CatOperatingPoint(6.0, 1e-3, cx_bitflip="gouzien2023"))
            >>> ref = gouzien_bit_flip_per_round(5, 6.0)
            >>> abs(ch.bit_flip_per_round(5) / ref - 1) < 1e-3
            True
        """
        d = _check_distance(distance)
        p_idle = flip_probability(self.gamma_x, self.point.t_round)
        n_cats, n_cx = 2 * d - 1, 2 * (d - 1)
        # Closed form of _xor over identical terms: (1 - (1-2p)^n) / 2 for each group.
        prod = (1.0 - 2.0 * p_idle) ** n_cats * (1.0 - 2.0 * self.cx.p_bitflip) ** n_cx
        return 0.5 * (1.0 - prod)


def _check_distance(distance: int) -> int:
    if isinstance(distance, bool) or not isinstance(distance, (int, np.integer)) or distance < 2:
        raise ValueError(f"a repetition code needs an integer distance >= 2, got {distance!r}.")
    return int(distance)


def cx_bitflip_probability(point: CatOperatingPoint, kappa1_over_kappa2: float | None = None) -> float:
    """Bit-flip probability of one CX at ``point`` (its ``cx_bitflip`` law; see `CX_BITFLIP_MODELS`).

    Args:
        point: The operating point (``nbar``, ``gate_time``, law).
        kappa1_over_kappa2: Loss ratio to use instead of ``point.kappa1_over_kappa2``.

    Raises:
        ValueError: ``"simulated"`` at a point outside the packaged CX table (the message names
            its range), or the table missing from the installation.

    Example:
        >>> pt = CatOperatingPoint(4.0, 1e-3, cx_bitflip="gouzien2023")
        >>> f"{cx_bitflip_probability(pt):.3e}"
        '1.677e-04'
    """
    k1 = point.kappa1_over_kappa2 if kappa1_over_kappa2 is None else float(kappa1_over_kappa2)
    if point.cx_bitflip == "gouzien2023":
        return gouzien_cx_bitflip(point.nbar)
    return cx_bitflip_table(point.cx_bitflip).p_bitflip(point.nbar, k1, point.gate_time)


def cx_bitflip_table(law: str) -> CXBitFlipTable:
    """The packaged `CXBitFlipTable` of a simulated CX law (``"simulated"``, ``"solved"``).

    Raises:
        ValueError: a law without a table, or the table missing from the installation.

    Example:
        >>> cx_bitflip_table("simulated").grid.nbar[-1]
        4.0
    """
    if law not in _CX_TABLE_BASIS:
        raise ValueError(f"CX law {law!r} has no solved table; choose one of {tuple(_CX_TABLE_BASIS)}")
    table = packaged_cx_table(_CX_TABLE_BASIS[law])
    if table is None:
        raise ValueError(
            "the packaged CX bit-flip table is missing from this installation: rebuild it with "
            "`python benchmarks/cx_bitflip_table.py --packaged`, or use cx_bitflip='gouzien2023'"
        )
    return table


def cat_channel(point: CatOperatingPoint, *, table: CatChannelTable | None | str = "packaged") -> CatChannel:
    """Map an operating point to the repetition code's channel (see the module docstring).

    Args:
        point: The operating point.
        table: Where ``Gamma_X, Gamma_Z`` come from: ``"packaged"`` (the shipped solved table,
            falling back to the analytic law where it is unavailable or does not cover the point),
            a `CatChannelTable` (must cover the point), or None (`analytic_rates`).

    Returns:
        The `CatChannel`.

    Raises:
        ValueError: a point outside an explicitly given table's grid, outside the CX bit-flip
            table (``cx_bitflip="simulated"``, `cx_bitflip_probability`), or a CX model outside its
            validity (probabilities above 1).

    Example:
        >>> ch = cat_channel(CatOperatingPoint(4.0, 1e-3), table=None)
        >>> ch.rates_source, round(ch.control_excess, 4)
        ('analytic', 0.0409)
    """
    if not isinstance(point, CatOperatingPoint):
        raise TypeError(f"point must be a CatOperatingPoint, e.g. CatOperatingPoint(4.0, 1e-3); got {point!r}.")
    gamma_x, gamma_z, source = _rates(point, table)
    cx = cx_error_model(point.nbar, point.kappa1_over_kappa2, gate_time=point.gate_time)
    cx = dataclasses.replace(cx, p_bitflip=cx_bitflip_probability(point))
    if not math.isclose(cx.p_z_target, cx.p_zz, rel_tol=1e-12, abs_tol=1e-15):
        # The symmetric channel carries IZ and ZZ with one probability; see the module docstring.
        raise ValueError("cat_channel assumes a CX model with p_IZ == p_ZZ (as cx_error_model gives).")
    q = cx.p_zz
    excess = max(0.0, (cx.p_z_control - q) / (1.0 - 4.0 * q))
    p2 = min(1.0, p2_for_z_type(q, SIMULATION_ETA))
    slack = point.t_round - 2.0 * point.gate_time - 2.0 * point.t_readout
    p_prep = flip_probability(gamma_z, point.t_readout)
    p_meas = _xor(flip_probability(gamma_z, max(slack, 0.0) + point.t_readout), excess, excess)
    noise = NoiseParams(
        p2=p2,
        eta=SIMULATION_ETA,
        idle_z=flip_probability(gamma_z, point.gate_time),
        p_dephase=flip_probability(gamma_z, max(0.0, point.t_round - 3.0 * point.gate_time)),
        p_meas=p_meas,
        p_reset=p_prep,
    )
    return CatChannel(
        point, gamma_x, gamma_z, cx=cx, noise=noise, control_excess=excess, data_readout=p_prep, rates_source=source
    )


def _rates(point: CatOperatingPoint, table: CatChannelTable | None | str) -> tuple[float, float, str]:
    if isinstance(table, str):
        if table != "packaged":
            raise ValueError(f"table must be 'packaged', a CatChannelTable or None, got {table!r}.")
        packaged = packaged_cat_table()
        if packaged is not None:
            try:
                return (*_table_rates(packaged, point), "table")
            except ValueError:
                pass  # outside the packaged grid: the analytic law covers every point
        table = None
    if table is None:
        params = CatParams(point.nbar, point.kappa1_over_kappa2, kappaphi_over_kappa2=point.kappaphi_over_kappa2)
        gx, gz = analytic_rates(params)
        return gx, gz, "analytic"
    if not isinstance(table, CatChannelTable):
        raise TypeError(f"table must be a CatChannelTable, 'packaged' or None, got {type(table).__name__}.")
    return (*_table_rates(table, point), "table")


def _table_rates(table: CatChannelTable, point: CatOperatingPoint) -> tuple[float, float]:
    return table.rates(point.nbar, point.kappa1_over_kappa2, kappaphi_over_kappa2=point.kappaphi_over_kappa2)


def cat_noise_params(point: CatOperatingPoint, *, table: CatChannelTable | None | str = "packaged") -> NoiseParams:
    """The `NoiseParams` of `cat_channel` (for `cat_circuit` / `CatSimulationCache`).

    Example:
        >>> n = cat_noise_params(CatOperatingPoint(4.0, 1e-3))
        >>> n.eta, n.p_reset < n.p_meas
        (1000000.0, True)
    """
    return cat_channel(point, table=table).noise


def bit_flip_per_round_array(
    distance: int,
    point: CatOperatingPoint,
    kappa1_over_kappa2: np.ndarray,
    *,
    table: CatChannelTable | None | str = "packaged",
) -> np.ndarray:
    """Vectorised `CatChannel.bit_flip_per_round` over an array of ``kappa_1 / kappa_2``.

    The other fields of ``point`` (nbar, times, dephasing) are held fixed.

    Example:
        >>> pt = CatOperatingPoint(4.0, 1e-3)
        >>> out = bit_flip_per_round_array(5, pt, np.array([1e-3, 2e-3]))
        >>> bool(np.isclose(out[0], cat_channel(pt).bit_flip_per_round(5), rtol=1e-9))
        True
    """
    d = _check_distance(distance)
    k1 = np.asarray(kappa1_over_kappa2, dtype=np.float64)
    source = packaged_cat_table() if isinstance(table, str) else table
    gamma_x = None
    if source is not None:
        try:
            gamma_x, _ = source.rates_batch(point.nbar, k1, kappaphi_over_kappa2=point.kappaphi_over_kappa2)
        except ValueError:
            if not isinstance(table, str):
                raise
    if gamma_x is None:
        gamma_x = np.array([
            analytic_rates(CatParams(point.nbar, float(k), kappaphi_over_kappa2=point.kappaphi_over_kappa2))[0]
            for k in k1.ravel()
        ]).reshape(k1.shape)
    p_idle = flip_probability(gamma_x, point.t_round)
    p_cx = np.array([cx_bitflip_probability(point, float(k)) for k in k1.ravel()]).reshape(k1.shape)
    prod = (1.0 - 2.0 * np.asarray(p_idle)) ** (2 * d - 1) * (1.0 - 2.0 * p_cx) ** (2 * (d - 1))
    return 0.5 * (1.0 - prod)


# ------------------------------------------------------------------------------- literature laws
def gouzien_phase_flip_per_round(distance: int, nbar: float, kappa1_over_kappa2: float) -> float:
    """Gouzien et al. (2023) fit of the repetition cat code's logical phase flip per round.

    ``0.056 (nbar^0.86 (kappa_1 / kappa_2) / 0.013)^((d + 1) / 2)`` (docs/reference-numbers.md).

    Example:
        >>> f"{gouzien_phase_flip_per_round(5, 4.0, 1e-3):.2e}"
        '9.11e-04'
    """
    d = _check_distance(distance)
    return 0.056 * (nbar**0.86 * kappa1_over_kappa2 / 0.013) ** ((d + 1) / 2)


def gouzien_bit_flip_per_round(distance: int, nbar: float) -> float:
    """Gouzien et al. (2023) logical bit flip per round: ``2 (d - 1) 0.5 exp(-2 nbar)``.

    Example:
        >>> f"{gouzien_bit_flip_per_round(5, 4.0):.2e}"
        '1.34e-03'
    """
    d = _check_distance(distance)
    return 2 * (d - 1) * 0.5 * math.exp(-2.0 * nbar)
