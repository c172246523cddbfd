"""Gymnasium environments for adaptive QEC switching; every registered id lives in this file.

| id | menu | noise axis (scenarios) | default backend |
|---|---|---|---|
| ``qec_gym/SurfaceSwitch-v1`` | rotated surface d = 3..11 x {pymatching, pymatching-correlated} | stim-uniform p (OU, telegraph, bursts, sinusoid, ramp) | table |
| ``qec_gym/SurfaceSwitchRaw-v1`` | rotated surface d = 3, 5, 7 | as above; observation adds raw detection events | circuit |
| ``qec_gym/SurfaceSwitch-v2`` | as v1 | as v1 | fitted table |
| ``qec_gym/SurfaceSwitch-v3`` | as v1 | trains on ``randomised_surface_drift`` (domain randomisation between v1's training scenarios); v1's held-out | fitted table (v2's) |
| ``qec_gym/PhotonicSwitch-v1`` | rotated surface and XZZX, d = 3, 5, 7, both bases | photonic preset (loss on every photon), drifting loss; ``regime="phase"``: phase-noise-dominated chip | table |
| ``qec_gym/PhotonicSwitch-v2`` | as v1 | as v1 | fitted table |
| ``qec_gym/DecoderCalibration-v1`` | rotated surface d = 5 x {pymatching, pymatching-correlated, uf} | measurement error drifting x1..x30 | table (true x assumed) |
| ``qec_gym/DecoderCalibration-v2`` | as v1 | as v1 | fitted table (true x assumed); recalibration estimates the noise from syndromes |
| ``qec_gym/DecoderCalibration-v3`` | as v1 | as v1 | as v2; observes its calibration state; noise-free reward on both sides of the budget |
| ``qec_gym/DecoderCalibration-v4`` | as v1 | trains on ``randomised_readout_drift`` (domain randomisation over the axis) | as v3 |
| ``qec_gym/CatSwitch-v1`` | repetition cat code, nbar in {2..8} x d = 3..9 | kappa_1/kappa_2 drifting around 1e-3 (cat scenarios) | table |
| ``qec_gym/CatSwitch-v2`` | as v1; CX bit flips from the two-mode Lindblad simulation (`qec_gym.bosonic.cx`) | as v1 | table |
| ``qec_gym/CatSwitch-v3`` | as v2 | as v1 | fitted table |
| ``qec_gym/CatSwitch-v4`` | as v3; CX bit flips solved to nbar 6, extended above (``cx_bitflip="solved"``) | as v1 | fitted table (v3's) |
| ``qec_gym/CatSwitch-v5`` | as v4 | trains on ``cat_randomised_drift`` (domain randomisation between v1's training scenarios) | as v4 |
| ``qec_gym/MultiPatchSwitch-v1`` | 16-64 SurfaceSwitch patches, MultiDiscrete per-patch choice + remap, shared qubit budget | per-region drift + shared bursts + a telegraph defect | table |

``MultiPatchSwitch-v1`` (`MultiPatchSwitchEnv`) is listed in `MULTI_PATCH_ENV_IDS`, not `ENV_IDS`: its
actions are MultiDiscrete and its info per patch, so tools written for one patch do not apply as they are.
Version history: MultiPatchSwitch-v1, initial release.

Every id takes the keyword arguments of `QECSwitchEnv` as overrides, e.g.
``gymnasium.make("qec_gym/SurfaceSwitch-v1", scenarios="heldout", backend="circuit")``.

Version history of ``DecoderCalibration``: v2 (next to v1, which is unchanged and reproducible)
uses a fitted table (`qec_gym.envs.table.TableConfig` with ``target_errors``: adaptive shots per
cell at exactly its labelled noise, common random numbers along the assumed axis, a monotone
log-log fit with its interval; reward and outcomes use the fitted rate, no smoothing floor) and
realistic recalibration: the decoder's priors become the syndrome-derived estimate of the last
``recalibration_windows`` windows (``recalibration="oracle"``, the true noise, is an ablation).
v3 (next to v2, unchanged): v2's dynamics and table; the observation adds the calibration state a
control system keeps (``calibration_state=True``: log10 of the multiplier the priors were built from,
log10 of the estimate a recalibration would set now, their difference), without which staleness was
unobservable; the reward is `CALIBRATION_V3_REWARD` at the window's expected logical error
(``reward_estimator="expected"``; v2's sampled count, at ~0.1 failures per window, cannot resolve the
5-60% that stale priors cost, and its hinge at 1e-4 hid every window below the budget).

Version history of ``CatSwitch``: v2 (next to v1, which keeps the old law and its tables; see
`CatSwitchEnv`) takes the CX bit flips from a two-mode Lindblad simulation instead of
``0.5 exp(-2 nbar)``. v3 (next to v1 and v2, both unchanged) has v2's CX law and a fitted
phase-flip table (`CAT_V3_TABLE`, as SurfaceSwitch-v2's). v4 (next to v1..v3, all unchanged) is v3
with the CX bit-flip law solved at converged truncation at nbar 2..6 (``cx_bitflip="solved"``)
instead of v2/v3's extrapolation above nbar 4, which overstates them by 12% at nbar 5, 31% at 6 and
~85% at 8 (`qec_gym.bosonic.cx`).

Domain-randomised training (session 7): SurfaceSwitch-v3 (next to v1 and v2, unchanged), CatSwitch-v5
(next to v1..v4) and DecoderCalibration-v4 (next to v1..v3) are v2, v4 and v3 (same table, menu,
observation, reward and held-out scenarios) whose training split is one domain-randomised scenario
(`qec_gym.noise.scenarios`, `qec_gym.envs.cat_env`): ``randomised_surface_drift`` and
``cat_randomised_drift`` draw a drift family and its parameters per episode between those of the
earlier training scenarios; ``randomised_readout_drift`` spans the whole x1..x30 measurement-error
axis with OU, telegraph and burst families. Their training dynamics differ, so agents and results
are labelled by the new ids.

Version history of ``SurfaceSwitch`` and ``PhotonicSwitch``: v2 (next to v1, whose packaged tables
are unchanged and reproducible) has v1's menu, axis, scenarios, observation and reward, and a
fitted 1-D table (`SURFACE_V2_TABLE`, `PHOTONIC_V2_TABLE`: cells at exactly their labelled noise,
100 logical errors or a shot cap per cell, monotone log-log fit with its interval) instead of
v1's 20,000 shots per cell at quantised noise, whose low-noise counts are not monotone and whose
rate is floored at 1/(2 x 20,000) per shot. Recalibration is v1's (oracle): on these axes every
noise field scales together, so stale priors cost nothing measurable (``scripts/measure_stale_priors.py``).

The ``-v0`` ids are retired (`RETIRED_ENV_IDS`): their observation index 10 was the decode
latency tabulated at the *true* noise, a noise-free copy of privileged information.
``gymnasium.make`` of a v0 id raises `RetiredEnvError` saying so and naming the v1 id.

Example:
    >>> import gymnasium as gym
    >>> import qec_gym
    >>> env = gym.make("qec_gym/SurfaceSwitch-v1")
    >>> obs, info = env.reset(seed=0)
    >>> env.action_space
    Discrete(12)
    >>> obs.shape, obs.dtype
    ((24,), dtype('float32'))
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import gymnasium as gym

from qec_gym.envs.cat_env import CAT_CONFIRMATION_SCENARIOS, CAT_POOL, CatMenuEntry, CatSwitchEnv
from qec_gym.envs.menu import MenuEntry
from qec_gym.envs.multipatch_env import MultiPatchSwitchEnv, RemapConfig, SharedEvents, make_multipatch_switch
from qec_gym.envs.reward import RewardConfig
from qec_gym.envs.switch_env import QECSwitchEnv
from qec_gym.envs.table import NoiseAxis, TableConfig, WindowTable, build_table
from qec_gym.envs.vector_env import QECSwitchVectorEnv, vector_entry_point
from qec_gym.noise.params import NoiseParams
from qec_gym.noise.physical import HardwareParams
from qec_gym.noise.scenarios import CONFIRMATION_SCENARIOS, READOUT_CONFIRMATION_SCENARIOS, SCENARIOS

SURFACE_MENU = tuple(
    MenuEntry("rotated_surface", d, dec) for d in (3, 5, 7, 9, 11) for dec in ("pymatching", "pymatching-correlated")
)
SURFACE_AXIS = NoiseAxis(NoiseParams.uniform(1e-3), "all", low=0.5, high=10.0, points=16)
SURFACE_POOL = tuple(
    n for n, s in SCENARIOS.items()
    if "surface" in s.tags and not {"fieldwise", "readout", "randomised"} & set(s.tags)
)

PHOTONIC_MENU = tuple(MenuEntry(f, d, "pymatching", bases=("x", "z")) for f in ("rotated_surface", "xzzx") for d in (3, 5, 7))
PHOTONIC_AXIS = NoiseAxis(HardwareParams.photonic().to_noise(), "p_loss", low=0.3, high=3.0, points=12)
PHOTONIC_POOL = tuple(n for n, s in SCENARIOS.items() if "photonic" in s.tags and "fieldwise" not in s.tags)

PHOTONIC_PHASE_HARDWARE = HardwareParams.photonic().replace(
    phase_noise_variance=0.1, loss_db_per_component=0.002, detector_efficiency=0.999
)
"""Phase-noise regime of PhotonicSwitch: 0.1 rad^2 of phase noise per round (p_Z = 2.4% on data),
10 components of 0.002 dB and a 99.9% detector (p_loss = 0.56% per photon per round)."""
PHOTONIC_PHASE_AXIS = NoiseAxis(PHOTONIC_PHASE_HARDWARE.to_noise(), "p_loss", low=0.3, high=3.0, points=12)
PHOTONIC_PHASE_SCENARIOS = MappingProxyType({
    name: dataclasses.replace(
        SCENARIOS[name], baseline=PHOTONIC_PHASE_AXIS.baseline,
        description="Phase-noise regime (PHOTONIC_PHASE_HARDWARE: p_Z 2.4%, p_loss 0.56% at x1), same loss "
        "drift as: " + SCENARIOS[name].description,
    )
    for name in PHOTONIC_POOL
})
"""The photonic scenarios' loss drifts over the phase-noise regime's baseline."""

CALIBRATION_MENU = tuple(MenuEntry("rotated_surface", 5, dec) for dec in ("pymatching", "pymatching-correlated", "uf"))
CALIBRATION_AXIS = NoiseAxis(NoiseParams.uniform(1e-3), "p_meas", low=1.0, high=30.0, points=10)
CALIBRATION_POOL = tuple(n for n, s in SCENARIOS.items() if "readout" in s.tags and "randomised" not in s.tags)


def _merge(defaults: dict, overrides: dict) -> dict:
    """The factory's defaults updated by the user's overrides.

    ``initial_entry`` indexes the factory's own menu: with a user menu and no initial_entry of
    theirs, it is dropped so the env's default (the middle of the menu) applies.
    """
    if "menu" in overrides and "initial_entry" not in overrides:
        defaults = {k: v for k, v in defaults.items() if k != "initial_entry"}
    return {**defaults, **overrides}


def make_surface_switch(**overrides) -> QECSwitchEnv:
    """`QECSwitchEnv` over the rotated surface code's distances and two matching decoders."""
    kwargs = dict(menu=SURFACE_MENU, axis=SURFACE_AXIS, scenario_pool=SURFACE_POOL, initial_entry=2)
    return QECSwitchEnv(**_merge(kwargs, overrides))


def make_surface_switch_raw(**overrides) -> QECSwitchEnv:
    """SurfaceSwitch with raw detection events in the observation (circuit backend)."""
    kwargs = dict(
        menu=tuple(e for e in SURFACE_MENU if e.distance <= 7 and e.decoder == "pymatching"),
        axis=SURFACE_AXIS, scenario_pool=SURFACE_POOL, backend="circuit", raw_syndrome=True, shots=200,
        initial_entry=1,
    )
    return QECSwitchEnv(**_merge(kwargs, overrides))


class _PhotonicPhaseSwitch(QECSwitchEnv):
    scenario_registry = PHOTONIC_PHASE_SCENARIOS


def make_photonic_switch(regime: str = "loss", **overrides) -> QECSwitchEnv:
    """`QECSwitchEnv` for a photonic chip: photon loss on every photon, phase noise; code family x distance.

    Noise (`qec_gym.noise.physical.HardwareParams.photonic`, `qec_gym.codes.noise_model`): every
    photon is lost with ``p_loss`` once per round it lives through (data photons at each round
    start, ancillas and the final data readout as measurement erasures), decoded without heralds
    (a loss looks like a depolarised qubit or a random outcome); loss drifts (the photonic scenarios).

    Choices and what they trade off (menu: rotated surface and XZZX, d = 3, 5, 7, both memory bases
    counted):

    * distance: d^2 + (d^2 - 1) photons per round (17, 49, 97) against a logical error that falls
      with d while the loss stays below threshold (preset, rounds = d, pymatching, 2x10^4 shots:
      1.48/0.76/0.28% per shot at d = 3/5/7; at p_loss = 4.2%, the scenarios' maximum,
      7.1/6.5/5.5%);
    * code family: CSS (rotated surface) vs XZZX, same qubits and gates. Loss is unbiased (a lost
      photon is fully depolarised), so under ``regime="loss"`` the two are equal within noise
      (the effective bias of the preset's data noise is ~0.5). Under ``regime="phase"``
      (`PHOTONIC_PHASE_HARDWARE`: phase noise 0.1 rad^2, p_Z = 2.4% per round, p_loss = 0.56%) Z
      flips dominate and XZZX wins: d = 7, both bases, 2x10^4 shots: 113 logical errors against
      431 for CSS, and XZZX d = 5 (213) beats CSS d = 7 with half the photons;
    * heralded vs unheralded decoding is *not* a menu dimension: `qec_gym.sim.erasure` decodes
      heralds with a per-shot reweighted matching graph (Python loop per shot, ~10^3 slower than
      batch matching), too slow to tabulate; its gain is measured by `simulate_heralded`.

    Args:
        regime: ``"loss"`` (the photonic preset, packaged table) or ``"phase"`` (the phase-noise
            regime; its table is built on first use, about a minute, and cached).
        **overrides: Keyword arguments of `QECSwitchEnv`.

    Raises:
        ValueError: an unknown ``regime``.

    Version history: v1 (with the v1 observation) models loss on ancilla and readout photons as
    measurement erasures (v0 lost data photons only) and adds ``regime``; its table
    was rebuilt.
    """
    regimes = {"loss": (QECSwitchEnv, PHOTONIC_AXIS), "phase": (_PhotonicPhaseSwitch, PHOTONIC_PHASE_AXIS)}
    if regime not in regimes:
        raise ValueError(f"unknown PhotonicSwitch regime {regime!r}; choose 'loss' or 'phase'.")
    cls, axis = regimes[regime]
    kwargs = dict(
        menu=PHOTONIC_MENU, axis=axis, scenario_pool=PHOTONIC_POOL, initial_entry=1,
        reward=RewardConfig(target=1e-3, reference_qubits=97),
    )
    return cls(**_merge(kwargs, overrides))


SURFACE_V2_TABLE = dict(target_errors=100, smoothing=10.0, max_shots=tuple(
    cap for cap in (1_000_000, 1_000_000, 400_000, 200_000, 100_000) for _decoder in ("pymatching", "pymatching-correlated")
))
"""Fitted-table options of SurfaceSwitch-v2 (one cap per `SURFACE_MENU` entry, by distance 3..11): 100
logical errors per cell or the cap, chosen so a build costs ~15 CPU-minutes (decoding costs ~2-30 us per
shot at m = 0.5, up to 1.4 ms at m = 10 for d = 11 correlated). Where a cell stops at its cap with few
or no errors (d >= 7 at low noise) the fit continues the log-log slope and its interval (up to ~2
decades there) says how well it is known. ``smoothing=10``: with the default 1 the zero-count tails of
d = 9, 11 bent flat (d = 11 fitted above d = 9 at m = 0.5); 10 keeps the distances ordered while the
fit stays within 1.2 standard errors of every cell holding >= 100 errors."""


def make_surface_switch_v2(**overrides) -> QECSwitchEnv:
    """SurfaceSwitch with a fitted table (`SURFACE_V2_TABLE`); otherwise v1 (module docstring).

    Recalibration is v1's (priors set to the true noise): on the uniform axis every noise field
    scales together and stale priors cost nothing measurable, so estimating them would change nothing.
    """
    return make_surface_switch(**_merge(dict(table_options=SURFACE_V2_TABLE), overrides))


PHOTONIC_V2_TABLE = dict(target_errors=100, max_shots=(1_000_000, 1_000_000, 500_000) * 2)
"""Fitted-table options of PhotonicSwitch-v2 (one cap per `PHOTONIC_MENU` entry: d = 3, 5, 7 of each family)."""


def make_photonic_switch_v2(regime: str = "loss", **overrides) -> QECSwitchEnv:
    """PhotonicSwitch with a fitted table (`PHOTONIC_V2_TABLE`); otherwise v1 (`make_photonic_switch`).

    Recalibration is v1's (priors set to the true noise): along the loss axis stale priors cost
    nothing measurable (`QECSwitchEnv` docstring, "Why SurfaceSwitch keeps a 1-D table"). ``regime="phase"`` builds its fitted table on first use (a few CPU-minutes) and caches it.
    """
    return make_photonic_switch(regime, **_merge(dict(table_options=PHOTONIC_V2_TABLE), overrides))


def make_decoder_calibration(**overrides) -> QECSwitchEnv:
    """Fixed code (rotated surface d=5); choose the decoder and when to recalibrate its priors."""
    kwargs = dict(
        menu=CALIBRATION_MENU, axis=CALIBRATION_AXIS, scenario_pool=CALIBRATION_POOL, calibration_table=True,
        initial_entry=0, table_windows=10,
        reward=RewardConfig(target=1e-4, qubit_weight=0.0, latency_weight=0.05, recalibration_cost=0.05),
    )
    return QECSwitchEnv(**_merge(kwargs, overrides))


CALIBRATION_V2_TABLE = dict(target_errors=100, max_shots=(1_000_000, 500_000, 40_000))
"""Fitted-table options of DecoderCalibration-v2: 100 logical errors per cell, capped per decoder
(pymatching ~3 us, correlated ~5 us, union-find ~100 us per shot at d = 5)."""


def make_decoder_calibration_v2(**overrides) -> QECSwitchEnv:
    """DecoderCalibration with a fitted table and syndrome-estimated recalibration (module docstring).

    ``recalibration_windows`` (default 10) windows' syndrome-derived noise estimates (observation
    index 8) are averaged in log into the priors of a recalibration; ``recalibration="oracle"``
    sets them to the true noise instead (ablation).
    """
    kwargs = dict(table_options=CALIBRATION_V2_TABLE, recalibration="estimate", recalibration_windows=10)
    return make_decoder_calibration(**_merge(kwargs, overrides))


CALIBRATION_V3_REWARD = RewardConfig(target=1e-4, qubit_weight=0.0, latency_weight=0.05, recalibration_cost=0.05,
                                     hinge=False, floor_decades=1.0)
"""Reward of DecoderCalibration-v3: v2's weights, decades of logical error relative to the budget on
both sides of it (``hinge=False``, down to 1 decade below), so that stale priors cost at every noise level."""


def make_decoder_calibration_v3(**overrides) -> QECSwitchEnv:
    """DecoderCalibration-v2 whose calibration is observable and whose reward is noise-free (module docstring).

    Observation: v2's plus the calibration state (``calibration_state=True``): log10 of the
    multiplier the decoder's priors were built from, log10 of the estimate a recalibration would
    set now, and their difference. Reward: `CALIBRATION_V3_REWARD` at the window's expected logical
    error (``reward_estimator="expected"``).
    """
    kwargs = dict(calibration_state=True, reward_estimator="expected", reward=CALIBRATION_V3_REWARD)
    return make_decoder_calibration_v2(**_merge(kwargs, overrides))


SURFACE_V3_POOL = ("randomised_surface_drift",) + tuple(n for n in SURFACE_POOL if SCENARIOS[n].is_heldout)
"""SurfaceSwitch-v3's scenarios: the domain-randomised training scenario and v1's held-out ones."""


def make_surface_switch_v3(**overrides) -> QECSwitchEnv:
    """SurfaceSwitch-v2 trained on the domain-randomised ``randomised_surface_drift`` (module docstring)."""
    return make_surface_switch_v2(**_merge(dict(scenario_pool=SURFACE_V3_POOL), overrides))


CALIBRATION_V4_POOL = ("randomised_readout_drift",) + tuple(n for n in CALIBRATION_POOL if SCENARIOS[n].is_heldout)
"""DecoderCalibration-v4's scenarios: the domain-randomised training scenario and v1's held-out one."""


def make_decoder_calibration_v4(**overrides) -> QECSwitchEnv:
    """DecoderCalibration-v3 trained on the domain-randomised ``randomised_readout_drift`` (module docstring)."""
    return make_decoder_calibration_v3(**_merge(dict(scenario_pool=CALIBRATION_V4_POOL), overrides))


def make_cat_switch(**overrides) -> CatSwitchEnv:
    """`CatSwitchEnv` v1: CX bit flips ``0.5 exp(-2 nbar)`` (Gouzien et al. Eq. D8; see its docstring)."""
    return CatSwitchEnv(**{"cx_bitflip": "gouzien2023", **overrides})


def make_cat_switch_v2(**overrides) -> CatSwitchEnv:
    """`CatSwitchEnv` v2: CX bit flips from the two-mode Lindblad simulation (its default)."""
    return CatSwitchEnv(**overrides)


CAT_V3_TABLE = dict(target_errors=100, smoothing=10.0, max_shots=tuple(
    cap for cap in (1_000_000, 1_000_000, 400_000, 200_000) for _nbar in range(6)
))
"""Fitted-table options of CatSwitch-v3 (one cap per `qec_gym.envs.cat_env.CAT_MENU` entry, by distance
3, 5, 7, 9): 100 logical phase flips per cell or the cap (decoding costs ~1.4, 4, 10, 20 us per shot at
low loss for d = 3, 5, 7, 9); ``smoothing=10`` as SurfaceSwitch-v2, for the zero-count tails of d = 7, 9."""


def make_cat_switch_v3(**overrides) -> CatSwitchEnv:
    """`CatSwitchEnv` v3: v2 (same CX law) with a fitted phase-flip table (`CAT_V3_TABLE`; see
    `CatSwitchEnv`'s version history)."""
    return CatSwitchEnv(**_merge(dict(table_options=CAT_V3_TABLE), overrides))


def make_cat_switch_v4(**overrides) -> CatSwitchEnv:
    """`CatSwitchEnv` v4: v3 (same fitted phase-flip table) with the CX bit-flip law solved to nbar 6
    (``cx_bitflip="solved"``, `qec_gym.bosonic.cx.PACKAGED_SOLVED_CX_GRID`)."""
    return make_cat_switch_v3(**_merge(dict(cx_bitflip="solved"), overrides))


CAT_V5_POOL = ("cat_randomised_drift",) + tuple(n for n in CAT_POOL if CatSwitchEnv.scenario_registry[n].is_heldout)
"""CatSwitch-v5's scenarios: the domain-randomised training scenario and v1's held-out ones."""


def make_cat_switch_v5(**overrides) -> CatSwitchEnv:
    """`CatSwitchEnv` v5: v4 trained on the domain-randomised ``cat_randomised_drift`` (module docstring)."""
    return make_cat_switch_v4(**_merge(dict(scenario_pool=CAT_V5_POOL), overrides))


ENV_IDS = (
    "qec_gym/SurfaceSwitch-v1",
    "qec_gym/SurfaceSwitchRaw-v1",
    "qec_gym/PhotonicSwitch-v1",
    "qec_gym/DecoderCalibration-v1",
    "qec_gym/CatSwitch-v1",
    "qec_gym/CatSwitch-v2",
)
_FACTORIES = (
    make_surface_switch, make_surface_switch_raw, make_photonic_switch, make_decoder_calibration, make_cat_switch,
    make_cat_switch_v2,
)

V2_ENV_IDS = ("qec_gym/DecoderCalibration-v2", "qec_gym/SurfaceSwitch-v2", "qec_gym/PhotonicSwitch-v2")
"""Ids of a second version registered next to their v1 (fitted tables, estimated recalibration)."""
ENV_IDS = ENV_IDS + V2_ENV_IDS
_FACTORIES = _FACTORIES + (make_decoder_calibration_v2, make_surface_switch_v2, make_photonic_switch_v2)
ENV_IDS = ENV_IDS + ("qec_gym/CatSwitch-v3",)  # CatSwitch-v2 with a fitted table
_FACTORIES = _FACTORIES + (make_cat_switch_v3,)
ENV_IDS = ENV_IDS + ("qec_gym/CatSwitch-v4",)  # CatSwitch-v3 with the CX law solved to nbar 6
_FACTORIES = _FACTORIES + (make_cat_switch_v4,)
ENV_IDS = ENV_IDS + ("qec_gym/DecoderCalibration-v3",)
_FACTORIES = _FACTORIES + (make_decoder_calibration_v3,)
ENV_IDS = ENV_IDS + ("qec_gym/SurfaceSwitch-v3", "qec_gym/DecoderCalibration-v4", "qec_gym/CatSwitch-v5")
_FACTORIES = _FACTORIES + (make_surface_switch_v3, make_decoder_calibration_v4, make_cat_switch_v5)  # randomised training


RETIRED_ENV_IDS = {
    _id.replace("-v1", "-v0"): (
        f"{_id.replace('-v1', '-v0')} is retired: its observation index 10 (decode latency) was tabulated at the "
        "TRUE noise, so it leaked the hidden noise level to every policy (Spearman rank correlation 0.99-1.00 with "
        "the true noise multiplier while a configuration is kept). "
        f"Use {_id}, whose index 10 is the configuration's nominal latency; results and models made with v0 are "
        "not comparable and must be recomputed."
    )
    for _id in ENV_IDS if _id.endswith("-v1")
}
"""Retired id -> why it is retired and which id to use instead."""


class RetiredEnvError(gym.error.DeprecatedEnv, ValueError):
    """A retired env id was requested (see `RETIRED_ENV_IDS`); the message names the id to use."""


def _retired(env_id: str):
    def refuse(**_kwargs):
        raise RetiredEnvError(RETIRED_ENV_IDS[env_id])

    return refuse


# Every table env has a batched twin; the raw-syndrome variant samples circuits and has none.
VECTOR_ENV_IDS = tuple(i for i in ENV_IDS if "Raw" not in i)
"""Ids with a native batched vector env (table backend): ``gym.make_vec(id, num_envs=N,
vectorization_mode="vector_entry_point")`` gives a `QECSwitchVectorEnv`."""

# What `qec_gym.noise.scenarios.registry_for_env` / `pool_for_env` read from an entry point without
# building the env: the registry an id's names refer to and the names it draws from.
_POOLS = {
    make_surface_switch: SURFACE_POOL, make_surface_switch_raw: SURFACE_POOL, make_surface_switch_v2: SURFACE_POOL,
    make_surface_switch_v3: SURFACE_V3_POOL, make_photonic_switch: PHOTONIC_POOL, make_photonic_switch_v2: PHOTONIC_POOL,
    make_decoder_calibration: CALIBRATION_POOL, make_decoder_calibration_v2: CALIBRATION_POOL,
    make_decoder_calibration_v3: CALIBRATION_POOL, make_decoder_calibration_v4: CALIBRATION_V4_POOL,
    make_cat_switch: CAT_POOL, make_cat_switch_v2: CAT_POOL, make_cat_switch_v3: CAT_POOL, make_cat_switch_v4: CAT_POOL,
    make_cat_switch_v5: CAT_V5_POOL,
}
# The second held-out set (`qec_gym.noise.scenarios.confirmation_for_env`) of each family of envs;
# none for the photonic envs yet.
_SURFACE_SWITCH = (make_surface_switch, make_surface_switch_raw, make_surface_switch_v2, make_surface_switch_v3)
_CALIBRATION = (make_decoder_calibration, make_decoder_calibration_v2, make_decoder_calibration_v3,
                make_decoder_calibration_v4)
for _factory in _FACTORIES:
    _factory.scenario_pool = _POOLS[_factory]
    _cat = set(_POOLS[_factory]) <= set(CatSwitchEnv.scenario_registry)
    _factory.scenario_registry = CatSwitchEnv.scenario_registry if _cat else SCENARIOS
    _factory.confirmation_scenarios = (
        tuple(CAT_CONFIRMATION_SCENARIOS.values()) if _cat else
        tuple(CONFIRMATION_SCENARIOS.values()) if _factory in _SURFACE_SWITCH else
        tuple(READOUT_CONFIRMATION_SCENARIOS.values()) if _factory in _CALIBRATION else ()
    )

for _id, _factory in zip(ENV_IDS, _FACTORIES):
    if _id not in gym.registry:  # re-importing (e.g. importlib.reload) must not re-register
        _vector = vector_entry_point(_factory) if _id in VECTOR_ENV_IDS else None
        gym.register(id=_id, entry_point=_factory, vector_entry_point=_vector, disable_env_checker=False)
MULTI_PATCH_ENV_IDS = ("qec_gym/MultiPatchSwitch-v1",)
"""Ids of many-patch envs (MultiDiscrete actions, per-patch info): `MultiPatchSwitchEnv`."""
if MULTI_PATCH_ENV_IDS[0] not in gym.registry:
    gym.register(id=MULTI_PATCH_ENV_IDS[0], entry_point=make_multipatch_switch, disable_env_checker=False)
for _id in RETIRED_ENV_IDS:
    if _id not in gym.registry:  # registered so that gym.make explains why, instead of "not found"
        gym.register(id=_id, entry_point=_retired(_id))

__all__ = [
    "ENV_IDS",
    "MULTI_PATCH_ENV_IDS",
    "MultiPatchSwitchEnv",
    "RemapConfig",
    "SharedEvents",
    "make_multipatch_switch",
    "VECTOR_ENV_IDS",
    "QECSwitchVectorEnv",
    "RETIRED_ENV_IDS",
    "RetiredEnvError",
    "CatMenuEntry",
    "CatSwitchEnv",
    "MenuEntry",
    "NoiseAxis",
    "QECSwitchEnv",
    "RewardConfig",
    "TableConfig",
    "WindowTable",
    "build_table",
    "make_cat_switch",
    "make_cat_switch_v3",
    "make_cat_switch_v4",
    "make_cat_switch_v5",
    "make_decoder_calibration",
    "make_decoder_calibration_v2",
    "make_decoder_calibration_v3",
    "make_decoder_calibration_v4",
    "make_photonic_switch",
    "make_photonic_switch_v2",
    "make_surface_switch",
    "make_surface_switch_v2",
    "make_surface_switch_v3",
    "make_surface_switch_raw",
]
