"""`CatSwitchEnv`: choose the mean photon number and distance of a repetition cat code under drifting loss.

## Description
A processor of dissipative cat qubits runs a phase-flip repetition code continuously (X-basis
memory, bias-preserving CX gates; `qec_gym.bosonic.channel`). The single-photon loss
``kappa_1 / kappa_2`` of its resonators drifts (TLS defects, quasiparticle bursts: the cat
scenarios below). At every step the agent keeps its configuration, recalibrates the decoder, or
switches to another (mean photon number ``nbar``, distance ``d``) of a menu. Larger ``nbar``
suppresses bit flips like ``exp(-2 nbar)`` (the code cannot correct those) but raises phase flips
(``kappa_1 nbar`` per cat), so at each loss there is an optimal ``nbar`` per distance; larger ``d``
suppresses phase flips at the cost of more modes. Everything else is `QECSwitchEnv`.

## Action space
``Discrete(2 + len(menu))``: ``0`` keep, ``1`` recalibrate, ``2 + i`` switch to ``menu[i]``
(default menu: ``nbar`` in {2, 3, 4, 5, 6, 8} x ``d`` in {3, 5, 7, 9}, 26 actions).

## Observation space
`QECSwitchEnv`'s layout (length ``14 + len(menu)``). The noise estimate (index 8, 9) is the
``kappa_1`` multiplier of the axis baseline inferred from the detection rate; the decode latency
(index 10) is the configuration's nominal one (at the baseline ``kappa_1``); "qubits in use"
(index 11) counts bosonic modes (``2 d - 1``).

## Rewards
`qec_gym.envs.reward.step_reward`: the logical error per round is the *total*, phase flips
(simulated: decoded failures of the window) or bit flips (analytic, `CatChannel.bit_flip_per_round`,
sampled as independent failures of the window's shots); the resource cost counts modes (default
``RewardConfig(target=1e-3, reference_qubits=17)``: 17 modes = d 9). Mean photons are in ``info``.

## Starting state
``initial_entry`` (default: ``nbar = 5, d = 7``), decoder calibrated to step 0; the scenario is
drawn from ``scenarios`` (``"train"`` or ``"heldout"`` of `CAT_SCENARIOS`).

## Episode end
Truncated after the scenario's ``episode_length`` steps (or ``max_steps``); never terminated.

## Arguments
`QECSwitchEnv`'s (``backend``, ``shots``, ``max_steps``, ``scenarios``, ...; not
``calibration_table``, not ``axis``), plus ``kappa1_over_kappa2`` (the axis baseline, default
1e-3), ``kappa1_range`` (multipliers the table covers, default 0.25..8 on 12 log points),
``kappaphi_over_kappa2``, ``t_round``, ``gate_time``, ``t_readout``, ``cx_bitflip`` (`CatOperatingPoint`;
``"simulated"``, the two-mode Lindblad CX of `qec_gym.bosonic.cx` solved at nbar 2..4 and
extrapolated above, in v2 and v3; ``"solved"``, the same model solved at converged truncation up to
nbar 8, in v4; ``"gouzien2023"``, ``0.5 exp(-2 nbar)``, in v1), ``table_options`` (the fitted format's fields of
`CatTableConfig`, v3 and v4: ``qec_gym.envs.CAT_V3_TABLE``).

## Backends
``"table"``: a `WindowTable` over the ``kappa_1`` multiplier (`build_cat_table`, packaged for the
default configuration; v1/v2: 20,000 shots per cell at quantised noise, rate ``(errors + 0.5) / (shots + 1)``;
v3: the fitted format, see `qec_gym.envs.table`); ``"circuit"``: stim sampling of the ``cat_repetition`` circuit
(`qec_gym.codes.build_circuit`) and pymatching every step. Both add the analytic bit flips.

## Info
`QECSwitchEnv`'s keys (``true_noise`` is the running entry's cat channel as `NoiseParams`,
``oracle_action``, ...) plus ``kappa1_over_kappa2``, ``nbar``, ``distance``, ``modes``,
``photons`` and ``bit_flip_round`` (analytic logical bit flip per round).

## Scenarios
Cat scenarios drive ``kappa_1 / kappa_2``, not a `NoiseParams` (the cat channel depends on each
entry's ``nbar``), so they are `CatScenario` objects in their own registries here, with the same
discipline as `qec_gym.noise.scenarios`: disjoint train / held-out splits, held-out drifts never
used in training, time compressed as described there. ``trajectory`` gives ``kappa_1 / kappa_2``
per step.

## Version history
* v4 (next to v1..v3, all unchanged): v3 with the CX bit flips of the two-mode Lindblad model solved
  at converged Fock truncation at nbar 2..6, extended on the nbar 5-6 slope above (``cx_bitflip="solved"``,
  `qec_gym.bosonic.cx.PACKAGED_SOLVED_CX_GRID`) instead of v2/v3's solve at 2..4 extrapolated above,
  which overstates them at nbar 5-8 (``docs/figures/cx_bitflip.png``). The reward's bit-flip part and
  ``bit_flip_round`` change; the phase-flip table (v3's), observation and scenarios do not.
* v3 (next to v1 and v2, both unchanged): the phase-flip table is fitted (`CatTableConfig` with
  ``target_errors=100`` and shot caps 1e6, 1e6, 4e5, 2e5 for d = 3, 5, 7, 9; every cell at exactly
  its labelled ``kappa_1``; monotone log-log fit with its 95% interval, no ``1 / (2 x 20,000)``
  floor). CX law, observation layout and ``bit_flip_round`` as v2; the reward's phase-flip part
  and the syndrome features come from the new table.
* v2: the CX bit-flip probability comes from a two-mode Lindblad simulation of the gate
  (`qec_gym.bosonic.cx`, ``cx_bitflip="simulated"``) instead of Gouzien et al.'s ``0.5 exp(-2 nbar)``;
  the reward's bit-flip part and the ``bit_flip_round`` info change, the phase-flip window table
  (and the observation) do not. v1 keeps the old law.
* v1: observation index 10 is the running configuration's nominal decode latency (at the axis
  baseline ``kappa_1``), no longer the latency tabulated at the true ``kappa_1`` (a noise-free copy
  of the hidden noise: Spearman 1.000 with log10 of the true multiplier under a kept
  configuration, against 0.97 for the syndrome estimate); see `QECSwitchEnv`.
* v0: initial release (retired).

Example:
    >>> env = CatSwitchEnv(max_steps=5)
    >>> obs, info = env.reset(seed=0)
    >>> env.action_space, obs.shape, info["nbar"], info["distance"]
    (Discrete(26), (38,), 5.0, 7)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar, Literal

import numpy as np

from qec_gym.bosonic.cat import MODEL_VERSION
from qec_gym.codes import template_circuit
from qec_gym.bosonic.channel import (
    CAT_FAMILY,
    CHANNEL_VERSION,
    CatOperatingPoint,
    bit_flip_per_round_array,
    cat_channel,
)
from qec_gym.envs.menu import MenuEntry
from qec_gym.envs.reward import RewardConfig
from qec_gym.envs.switch_env import QECSwitchEnv
from qec_gym.envs.table import (
    FEATURES,
    FIT_TABLE_VERSION,
    TABLE_VERSION,
    TableConfig,
    WindowTable,
    _compute_fitted,
    cached_table,
    window_features,
)
from qec_gym.noise.drift import Bursts, DriftProcess, Mixture, RandomTelegraph, Ramp, Sinusoid
from qec_gym.noise.params import NoiseParams
from qec_gym.noise.scenarios import clipped_ou, scenario_registry
from qec_gym.sim import simulate_window
from qec_gym.sim.cache import SimulationCache
from qec_gym.sim.window import DEFAULT_BINS_PER_DECADE

__all__ = [
    "CAT_CONFIRMATION_SCENARIOS",
    "CAT_HELDOUT_SCENARIOS",
    "CAT_POOL",
    "CAT_MENU",
    "CAT_REWARD",
    "CAT_SCENARIOS",
    "CAT_TRAINING_SCENARIOS",
    "CatMenuEntry",
    "CatScenario",
    "CatSwitchEnv",
    "CatTableConfig",
    "KappaAxis",
    "build_cat_table",
    "cat_menu",
]

CAT_TABLE_VERSION = 2  # 2: decoder priors from split PAULI_CHANNEL_2 (sim.cache.split_pauli_channels)
"""Bump when the cat table's contents change meaning (old cache files are then rebuilt)."""


# ------------------------------------------------------------------------------------- menu
@dataclass(frozen=True)
class CatMenuEntry(MenuEntry):
    """A repetition cat code: distance, decoder and the mean photon number ``nbar`` of its cats.

    Args:
        family: Must be ``"cat_repetition"``.
        distance: Code distance (>= 2).
        decoder: Decoder name.
        bases: Must be None (the X-basis memory is the only one; bit flips are analytic).
        nbar: Mean photon number of every cat (> 0).

    Example:
        >>> e = CatMenuEntry("cat_repetition", 5, nbar=4.0)
        >>> e.label, e.qubits, e.photons
        ('cat d5 nbar4 pymatching', 9, 36.0)
    """

    nbar: float = 4.0

    def __post_init__(self) -> None:
        if self.family != CAT_FAMILY:
            raise ValueError(f"CatMenuEntry needs family {CAT_FAMILY!r}, got {self.family!r}.")
        if self.bases is not None:
            raise ValueError("CatMenuEntry has one memory basis (X); leave bases=None.")
        if isinstance(self.nbar, bool) or not isinstance(self.nbar, (int, float)) or not (
            math.isfinite(self.nbar) and self.nbar > 0
        ):
            raise ValueError(f"CatMenuEntry.nbar must be a finite number > 0, got {self.nbar!r}.")
        object.__setattr__(self, "nbar", float(self.nbar))
        super().__post_init__()

    @property
    def label(self) -> str:
        """Human-readable name."""
        return f"cat d{self.distance} nbar{self.nbar:g} {self.decoder}"

    @property
    def photons(self) -> float:
        """Mean photons held by the code (``nbar`` x modes)."""
        return self.nbar * self.qubits


def cat_menu(
    nbars: Sequence[float], distances: Sequence[int], *, decoder: str = "pymatching"
) -> tuple[CatMenuEntry, ...]:
    """Every (distance, nbar) as `CatMenuEntry`, distance-major.

    Example:
        >>> [e.label for e in cat_menu([2, 4], [3])]
        ['cat d3 nbar2 pymatching', 'cat d3 nbar4 pymatching']
    """
    return tuple(CatMenuEntry(CAT_FAMILY, int(d), decoder, nbar=float(n)) for d in distances for n in nbars)


CAT_MENU = cat_menu((2.0, 3.0, 4.0, 5.0, 6.0, 8.0), (3, 5, 7, 9))
"""Default menu: nbar in {2, 3, 4, 5, 6, 8} x d in {3, 5, 7, 9}."""

CAT_REWARD = RewardConfig(target=1e-3, reference_qubits=17)
"""Default reward: 1e-3 logical error per round, modes priced against a d = 9 code (17 modes)."""


# ------------------------------------------------------------------------------------- axis
@dataclass(frozen=True)
class KappaAxis:
    """The table's noise axis: ``kappa_1 / kappa_2 = point.kappa1_over_kappa2 * m`` for m on a log grid.

    Args:
        point: Operating-point template (times, dephasing, baseline ``kappa_1 / kappa_2``; its
            ``nbar`` is the reference of `baseline`).
        low: Smallest multiplier (> 0).
        high: Largest multiplier.
        points: Grid points (>= 2), log-spaced.

    Example:
        >>> ax = KappaAxis(CatOperatingPoint(5.0, 1e-3), low=0.5, high=2.0, points=3)
        >>> ax.grid.tolist(), ax.noise(4.0, 2.0).p2 > ax.noise(4.0, 1.0).p2
        ([0.5, 1.0, 2.0], True)
    """

    point: CatOperatingPoint
    _: KW_ONLY
    low: float = 0.25
    high: float = 8.0
    points: int = 12

    def __post_init__(self) -> None:
        if not isinstance(self.point, CatOperatingPoint):
            raise TypeError(f"KappaAxis.point must be a CatOperatingPoint, got {self.point!r}.")
        if not (0 < self.low < self.high and math.isfinite(self.high)):
            raise ValueError(f"KappaAxis needs 0 < low < high, got low={self.low}, high={self.high}.")
        if isinstance(self.points, bool) or not isinstance(self.points, int) or self.points < 2:
            raise ValueError(f"KappaAxis.points must be an int >= 2, got {self.points!r}.")

    @property
    def kappa1_over_kappa2(self) -> float:
        """The baseline loss ratio (multiplier 1)."""
        return self.point.kappa1_over_kappa2

    @property
    def grid(self) -> np.ndarray:
        """The multipliers, log-spaced from low to high."""
        return np.geomspace(self.low, self.high, self.points)

    def operating_point(self, nbar: float, m: float) -> CatOperatingPoint:
        """The operating point of a code at ``nbar`` and multiplier ``m``."""
        return self.point.replace(nbar=float(nbar), kappa1_over_kappa2=self.point.kappa1_over_kappa2 * float(m))

    def noise(self, nbar: float, m: float) -> NoiseParams:
        """The cat channel's `NoiseParams` at ``nbar`` and multiplier ``m``."""
        return cat_channel(self.operating_point(nbar, m)).noise

    @property
    def baseline(self) -> NoiseParams:
        """The channel at the reference ``nbar`` and multiplier 1."""
        return self.noise(self.point.nbar, 1.0)


# ------------------------------------------------------------------------------------ table
@dataclass(frozen=True)
class CatTableConfig(TableConfig):
    """What a cat window table holds: every menu entry at every ``kappa_1`` multiplier.

    `qec_gym.envs.table.TableConfig`'s fields and formats (fixed shots, or the fitted format with
    ``target_errors`` / ``max_shots``), with the noise of each entry taken from its own ``nbar``
    (`KappaAxis.noise`); decoders are calibrated to the truth (1-D table, ``assumed`` must stay False).

    Example:
        >>> cfg = CatTableConfig(KappaAxis(CatOperatingPoint(4.0, 1e-3)), cat_menu([4], [3]))
        >>> cfg.total_shots, len(cfg.key()), cfg.fitted
        (20000, 20, False)
        >>> CatTableConfig(cfg.axis, cfg.menu, target_errors=100, max_shots=10**5).fitted
        True
    """

    axis: KappaAxis
    menu: tuple[CatMenuEntry, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not all(isinstance(e, CatMenuEntry) for e in self.menu):
            raise ValueError("CatTableConfig.menu must be a non-empty sequence of CatMenuEntry.")
        if self.assumed:
            raise ValueError("CatTableConfig is calibrated to the truth (1-D); leave assumed=False.")

    def key(self) -> str:
        """Hash of everything that determines the table (incl. the channel and model versions).

        The rate source (packaged solved table, or the analytic law on platforms where it is
        unavailable) is not part of it: ``Gamma_Z`` differs by < 0.5%, below the sampling error.
        Nor is the CX bit-flip law (``axis.point.cx_bitflip``): the table holds phase flips only.
        The fixed-shot format hashes only the fields it had before the fitted format existed, so
        the packaged v1/v2 table keeps its key.
        """
        config = dataclasses.asdict(self)
        del config["axis"]["point"]["cx_bitflip"]
        del config["assumed"]
        if self.fitted:
            version = [CAT_TABLE_VERSION, FIT_TABLE_VERSION, CHANNEL_VERSION, MODEL_VERSION]
        else:
            for name in ("target_errors", "max_shots", "smoothing", "posterior_draws"):
                del config[name]
            version = [CAT_TABLE_VERSION, TABLE_VERSION, CHANNEL_VERSION, MODEL_VERSION]
        blob = json.dumps({"kind": "cat", "version": version, "config": config}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]


def build_cat_table(
    config: CatTableConfig,
    *,
    cache_dir: str | Path | None = "default",
    progress: Callable[[int, int], None] | None = None,
) -> WindowTable:
    """Build (or load) the `WindowTable` of a cat configuration; as `qec_gym.envs.build_table`.

    A packaged table (``qec_gym/envs/data``) is used first, then the cache folder
    (``"default"``: ``$QEC_GYM_CACHE/tables``; None: no disk cache).

    Example:
        >>> cfg = CatTableConfig(KappaAxis(CatOperatingPoint(4.0, 1e-3), low=1.0, high=2.0, points=2),
        ...                      cat_menu([4], [3]), window_shots=100, windows=2)
        >>> t = build_cat_table(cfg, cache_dir=None)
        >>> t.errors.shape, 0 < t.expected(0, 1.5).p_shot < 0.5
        ((1, 2, 1), True)
    """
    return cached_table(config, _compute, cache_dir=cache_dir, progress=progress)


def _compute(config: CatTableConfig, progress: Callable[[int, int], None] | None) -> WindowTable:
    if config.fitted:  # every cell at exactly its labelled noise, each entry at its own nbar
        return _compute_fitted(config, progress, lambda e, m: config.axis.noise(config.menu[e].nbar, m))
    grid = config.axis.grid
    shape = (len(config.menu), len(grid), 1)
    errors = np.zeros(shape, dtype=np.int64)
    features = np.zeros(shape + (len(FEATURES),))
    features_std = np.zeros(shape + (len(FEATURES),))
    decode_s = np.zeros(shape)
    num_detectors = np.zeros(len(config.menu), dtype=np.int64)
    cache = SimulationCache()
    total, done = int(np.prod(shape)), 0
    for e, entry in enumerate(config.menu):
        (spec,) = entry.specs()
        for t, m in enumerate(grid):
            noise = config.axis.noise(entry.nbar, m)
            # One independent stream per grid point, as in envs.table: partial rebuilds reproduce.
            rng = np.random.default_rng([config.seed, e, t, 0])
            rows, seconds = [], 0.0
            for _ in range(config.windows):
                # quantised as the packaged tables were built (<= 1.8% from the grid label)
                w = simulate_window(spec, noise, decoder=entry.decoder, shots=config.window_shots, rng=rng, cache=cache,
                                    bins_per_decade=DEFAULT_BINS_PER_DECADE)
                errors[e, t, 0] += w.errors
                rows.append(window_features(w))
                seconds += w.decode_seconds_per_round
            num_detectors[e] = template_circuit(spec).num_detectors
            features[e, t, 0] = np.mean(rows, axis=0)
            features_std[e, t, 0] = np.std(rows, axis=0, ddof=1) if len(rows) > 1 else 0.0
            decode_s[e, t, 0] = seconds / config.windows
            done += 1
            if progress is not None:
                progress(done, total)
    arrays = dict(errors=errors, features=features, features_std=features_std, decode_s=decode_s,
                  num_detectors=num_detectors)
    return WindowTable(config, arrays)  # type: ignore[arg-type]  # duck-typed config (axis.grid, menu, total_shots, key)


# -------------------------------------------------------------------------------- scenarios
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class CatScenario:
    """A named drift of the cats' single-photon loss ``kappa_1 / kappa_2``.

    Args:
        name: Identifier (lowercase letters, digits, underscores).
        description: What it models and where its numbers come from.
        kappa1_over_kappa2: Loss ratio at multiplier 1.
        drift: The multiplier process (`qec_gym.noise.drift`).
        episode_length: Steps per episode (>= 1).
        split: ``"train"``, ``"validation"`` (drawn off-support drift for tuning: `qec_gym.noise.draws`)
            or ``"heldout"``.
        tags: Free labels.

    Example:
        >>> s = CAT_SCENARIOS["cat_ou_drift"]
        >>> k1 = s.trajectory(np.random.default_rng(0), n_steps=4)
        >>> k1.shape, bool((k1 > 0).all())
        ((4,), True)
    """

    name: str
    description: str
    _: KW_ONLY
    drift: DriftProcess
    kappa1_over_kappa2: float = 1e-3
    episode_length: int = 500
    split: Literal["train", "validation", "heldout"] = "train"
    tags: tuple[str, ...] = ("cat",)

    def __post_init__(self) -> None:
        if not self.name or not self.name[0].isalpha() or not set(self.name) <= _NAME_CHARS:
            raise ValueError(f"CatScenario name {self.name!r} must be lowercase letters, digits and underscores.")
        if not self.description.strip():
            raise ValueError(f"CatScenario {self.name!r} needs a non-empty description.")
        if not isinstance(self.drift, DriftProcess):
            raise TypeError(f"CatScenario.drift must be a DriftProcess, got {self.drift!r}.")
        if not (math.isfinite(self.kappa1_over_kappa2) and self.kappa1_over_kappa2 > 0):
            raise ValueError(f"CatScenario.kappa1_over_kappa2 must be > 0, got {self.kappa1_over_kappa2!r}.")
        if isinstance(self.episode_length, bool) or not isinstance(self.episode_length, int) or self.episode_length < 1:
            raise ValueError(f"CatScenario.episode_length must be an int >= 1, got {self.episode_length!r}.")
        if self.split not in ("train", "validation", "heldout"):
            raise ValueError(f"CatScenario.split={self.split!r}; use 'train', 'validation' or 'heldout'.")
        object.__setattr__(self, "tags", tuple(self.tags))

    @property
    def is_heldout(self) -> bool:
        """True for evaluation-only scenarios."""
        return self.split == "heldout"

    def multipliers(self, rng: np.random.Generator, *, n_steps: int | None = None,
                    draws: dict | None = None) -> np.ndarray:
        """The loss multiplier per step (float64); ``draws`` as in `trajectory`."""
        drawn: list = []
        m = self.drift.sample(self.episode_length if n_steps is None else n_steps, rng, draws=drawn)
        if drawn and draws is not None:
            draws["kappa1_over_kappa2"] = drawn
        return m

    def trajectory(self, rng: np.random.Generator, *, n_steps: int | None = None,
                   draws: dict | None = None) -> np.ndarray:
        """``kappa_1 / kappa_2`` per step (float64, shape ``(n_steps,)``).

        ``draws``: a dict to fill, as `qec_gym.noise.scenarios.Scenario.trajectory` does, with
        ``"kappa1_over_kappa2"`` -> what the drift drew once per episode (e.g. ``cat_randomised_drift``'s
        family); None: nothing recorded. The trajectory does not depend on it.
        """
        return self.kappa1_over_kappa2 * self.multipliers(rng, n_steps=n_steps, draws=draws)


# Calibration: kappa_1/kappa_2 = 1e-3 is the regime of Gouzien et al. 2023's estimates (threshold
# ~1.3e-2 at nbar = 1); every multiplier stays inside the table's 0.25..8 (2.5e-4..8e-3). Single-
# photon loss is the resonator's T1: it wanders and switches like transmon T1 (TLS defects, Burnett
# et al. 2019) and jumps under quasiparticle bursts (McEwen et al. 2022); time is compressed as in
# qec_gym.noise.scenarios (burst decay < TLS dwell < OU correlation ~ episode).
CAT_TRAINING_SCENARIOS: Mapping[str, CatScenario] = scenario_registry(
    CatScenario(
        "cat_calm",
        "kappa_1/kappa_2 = 1e-3 with a small, slow OU wander (log-std 0.1, correlation 200 steps, "
        "clipped x0.5..x2): a well-calibrated chip.",
        drift=clipped_ou(0.1, 200, 0.5, 2.0),
    ),
    CatScenario(
        "cat_ou_drift",
        "kappa_1/kappa_2 = 1e-3 under an OU random walk in log space (log-std 0.4, correlation 100 "
        "steps, clipped x0.3..x4: 3e-4..4e-3): resonator T1 drift.",
        drift=clipped_ou(0.4, 100, 0.3, 4.0),
    ),
    CatScenario(
        "cat_telegraph_tls",
        "kappa_1/kappa_2 = 1e-3 switched between x1 and x3 by a TLS defect (mean dwell 120 steps "
        "low, 40 high) times a small OU jitter (log-std 0.05, clipped x0.8..x1.25).",
        drift=RandomTelegraph.from_dwell(1.0, 3.0, dwell_low=120, dwell_high=40) * clipped_ou(0.05, 50, 0.8, 1.25),
    ),
    CatScenario(
        "cat_bursts",
        "kappa_1/kappa_2 = 1e-3 hit by quasiparticle bursts (Poisson 0.01 per step, exponential "
        "heights of mean +x4, decay 8 steps) over a small OU jitter; clipped at x6.",
        drift=(clipped_ou(0.05, 100, 0.8, 1.25) + Bursts(0.01, 4.0, decay=8.0, baseline=0.0, random_height=True)).clip(high=6.0),
    ),
    CatScenario(
        "cat_randomised_drift",
        "Domain randomisation between the cat training scenarios above (CatSwitch-v5's training split): "
        "kappa_1/kappa_2 = 1e-3 under one family per episode (equal odds): OU (log-std 0.1/0.25/0.4, "
        "correlation 50/100/200 steps, clipped x0.3..x4), telegraph x1 to x2/2.5/3 (dwell 120/40 "
        "steps) with OU jitter, or bursts (0.005 or 0.01 per step, mean +x2 or +x4, decay 8 steps) "
        "over OU jitter; clipped x0.3..x6. No faster or wider OU, ramp or telegraph-plus-bursts: "
        "the held-out families.",
        drift=Mixture.of_families(
            [clipped_ou(s, c, 0.3, 4.0) for s in (0.1, 0.25, 0.4) for c in (50, 100, 200)],
            [RandomTelegraph.from_dwell(1.0, high, dwell_low=120, dwell_high=40) * clipped_ou(0.05, 50, 0.8, 1.25)
             for high in (2.0, 2.5, 3.0)],
            [clipped_ou(0.05, 100, 0.8, 1.25) + Bursts(rate, height, decay=8.0, baseline=0.0, random_height=True)
             for rate in (0.005, 0.01) for height in (2.0, 4.0)],
        ).clip(0.3, 6.0),
        tags=("cat", "randomised"),
    ),
    split="train",
)

CAT_HELDOUT_SCENARIOS: Mapping[str, CatScenario] = scenario_registry(
    CatScenario(
        "cat_heldout_ou_fast",
        "kappa_1/kappa_2 = 1e-3 under a fast, wide OU walk (log-std 0.5, correlation 20 steps, "
        "clipped x0.3..x5): faster and wider than any training drift.",
        drift=clipped_ou(0.5, 20, 0.3, 5.0),
        split="heldout",
    ),
    CatScenario(
        "cat_heldout_telegraph_bursts",
        "kappa_1/kappa_2 = 1e-3 switched between x1 and x2 by a TLS (dwell 80 / 60 steps) plus "
        "bursts (0.02 per step, fixed height +x3, decay 4 steps), clipped at x6: a combination "
        "absent from training.",
        drift=(RandomTelegraph.from_dwell(1.0, 2.0, dwell_low=80, dwell_high=60)
               + Bursts(0.02, 3.0, decay=4.0, baseline=0.0)).clip(high=6.0),
        split="heldout",
    ),
    CatScenario(
        "cat_heldout_ramp",
        "kappa_1/kappa_2 = 1e-3 degrading linearly x1 -> x5 between steps 100 and 400 (resonator "
        "ageing, heating) times an OU jitter (log-std 0.1, clipped x0.7..x1.4).",
        drift=Ramp(1.0, 5.0, duration=300, begin=100) * clipped_ou(0.1, 50, 0.7, 1.4),
        split="heldout",
    ),
    split="heldout",
)

if set(CAT_TRAINING_SCENARIOS) & set(CAT_HELDOUT_SCENARIOS):  # pragma: no cover - a bug in this file
    raise RuntimeError("a cat scenario is both training and held-out.")

CAT_SCENARIOS: Mapping[str, CatScenario] = MappingProxyType({**CAT_TRAINING_SCENARIOS, **CAT_HELDOUT_SCENARIOS})
"""Every cat scenario by name (training first, then held-out)."""

_JITTER = (0.1, 50, 0.7, 1.4)
# The cat twin of `qec_gym.noise.scenarios.CONFIRMATION_SCENARIOS` (session 9's second held-out set,
# fixed before any policy ran on it; kept out of CAT_SCENARIOS so that "heldout" keeps its meaning).
CAT_CONFIRMATION_SCENARIOS: Mapping[str, CatScenario] = scenario_registry(
    CatScenario(
        "cat_confirm_step_up",
        "kappa_1/kappa_2 = 1e-3 jumping for good from x1 to x3.5 at a random step (geometric wait, mean "
        "200 steps) times an OU jitter (log-std 0.1, correlation 50 steps, clipped x0.7..x1.4).",
        drift=RandomTelegraph(1.0, 3.5, p_up=1 / 200, p_down=0.0, start="low") * clipped_ou(*_JITTER),
        split="heldout", tags=("cat", "confirmation"),
    ),
    CatScenario(
        "cat_confirm_recovery",
        "kappa_1/kappa_2 = 1e-3 recovering from x5 to x1 between steps 50 and 250 (cool-down after "
        "heating) times an OU jitter (log-std 0.1, clipped x0.7..x1.4).",
        drift=Ramp(5.0, 1.0, duration=200, begin=50) * clipped_ou(*_JITTER),
        split="heldout", tags=("cat", "confirmation"),
    ),
    CatScenario(
        "cat_confirm_wide_slow_ou",
        "kappa_1/kappa_2 = 1e-3 under a slow, wide OU walk (log-std 0.7, correlation 250 steps, "
        "clipped x0.3..x6): wider than any training OU (0.4).",
        drift=clipped_ou(0.7, 250, 0.3, 6.0),
        split="heldout", tags=("cat", "confirmation"),
    ),
    CatScenario(
        "cat_confirm_fast_sinusoid",
        "kappa_1/kappa_2 = 2e-3 with a fast, deep cycle (+-60%, period 60 steps, random phase) times "
        "an OU jitter (log-std 0.05, clipped x0.8..x1.25).",
        drift=2.0 * Sinusoid(0.6, 60, random_phase=True) * clipped_ou(0.05, 50, 0.8, 1.25),
        split="heldout", tags=("cat", "confirmation"),
    ),
    CatScenario(
        "cat_confirm_dense_bursts",
        "kappa_1/kappa_2 = 1e-3 with dense small bursts (0.06 per step, exponential heights of mean "
        "+x1.5, decay 3 steps) over an OU jitter (log-std 0.05, clipped x0.8..x1.25); clipped at x6.",
        drift=(clipped_ou(0.05, 100, 0.8, 1.25)
               + Bursts(0.06, 1.5, decay=3.0, baseline=0.0, random_height=True)).clip(high=6.0),
        split="heldout", tags=("cat", "confirmation"),
    ),
    CatScenario(
        "cat_confirm_ramp_telegraph",
        "kappa_1/kappa_2 = 1e-3 degrading from x1 to x3 over the whole episode times a TLS switching "
        "between x1 and x1.8 (dwell 100 / 50 steps).",
        drift=Ramp(1.0, 3.0, duration=500) * RandomTelegraph.from_dwell(1.0, 1.8, dwell_low=100, dwell_high=50),
        split="heldout", tags=("cat", "confirmation"),
    ),
    split="heldout",
)
"""The cat confirmation scenarios (CatSwitch-v1..-v5), by name."""
CAT_POOL = tuple(n for n, s in CAT_SCENARIOS.items() if "randomised" not in s.tags)
"""The scenarios of CatSwitch-v1..v4 (and of `CatSwitchEnv` by default): all but the domain-randomised one."""


# -------------------------------------------------------------------------------------- env
@dataclass(frozen=True)
class CatBitFlips:
    """Per-shot logical bit flips of every menu entry at a ``kappa_1`` multiplier (the law `CatSwitchEnv` adds).

    The same analytic law as the env's reward (`bit_flip_per_round_array` of each entry's ``nbar``
    at ``kappa1_baseline * m``; one shot = ``d`` rounds, an odd number of flips fails it), as a
    function of the multiplier for a model-based controller (`QECSwitchEnv.cost_model`). The law
    costs ~3 ms per call for a 24-entry menu, so it is evaluated once on ``GRID_POINTS`` log-spaced
    multipliers over ``m_range`` and interpolated in log-log (relative error < 1e-6, tested);
    multipliers outside ``m_range`` are clamped to it.

    Returns (from a call): array (entries,), float64.
    """

    point: CatOperatingPoint
    kappa1_baseline: float
    distances: tuple[int, ...]
    nbars: tuple[float, ...]
    m_range: tuple[float, float]

    GRID_POINTS: ClassVar[int] = 2049

    def exact(self, m: float) -> np.ndarray:
        """The law at ``m`` evaluated directly (no interpolation)."""
        return self._per_shot(np.array([float(m)]))[:, 0]

    def __call__(self, m: float) -> np.ndarray:
        log_m, log_p = self._grid
        x = min(max(math.log(float(m)), log_m[0]), log_m[-1])
        i = min(max(int(np.searchsorted(log_m, x)) - 1, 0), len(log_m) - 2)
        w = (x - log_m[i]) / (log_m[i + 1] - log_m[i])
        return np.exp((1 - w) * log_p[:, i] + w * log_p[:, i + 1])

    @functools.cached_property
    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        m = np.geomspace(self.m_range[0], self.m_range[1], self.GRID_POINTS)
        return np.log(m), np.log(np.maximum(self._per_shot(m), 1e-300))

    def _per_shot(self, m: np.ndarray) -> np.ndarray:
        k1 = self.kappa1_baseline * m
        per_round = np.array([bit_flip_per_round_array(d, self.point.replace(nbar=n), k1)
                              for d, n in zip(self.distances, self.nbars)])
        return (1.0 - (1.0 - 2.0 * per_round) ** np.array(self.distances)[:, None]) / 2.0


class CatSwitchEnv(QECSwitchEnv):
    __doc__ = __doc__

    scenario_registry = CAT_SCENARIOS

    def __init__(
        self,
        *,
        menu: Sequence[CatMenuEntry] = CAT_MENU,
        kappa1_over_kappa2: float = 1e-3,
        kappa1_range: tuple[float, float, int] = (0.25, 8.0, 12),
        kappaphi_over_kappa2: float = 0.0,
        t_round: float = 5.0,
        gate_time: float = 1.0,
        t_readout: float = 1.0,
        cx_bitflip: str = "simulated",
        reward: RewardConfig = CAT_REWARD,
        initial_entry: int | None = None,
        **kwargs,
    ) -> None:
        menu = tuple(menu)
        if not menu or not all(isinstance(e, CatMenuEntry) for e in menu):
            raise TypeError("CatSwitchEnv's menu must hold CatMenuEntry objects (see cat_menu).")
        for name in ("axis", "calibration_table"):
            if kwargs.get(name):
                raise ValueError(
                    f"CatSwitchEnv does not take {name}: its axis is kappa_1/kappa_2 (kappa1_range) and its "
                    "table is calibrated to the truth (use backend='circuit' for stale-decoder studies)."
                )
            kwargs.pop(name, None)
        if kwargs.get("scenario_pool") is None:
            kwargs["scenario_pool"] = CAT_POOL
        low, high, points = kappa1_range
        middle = min(range(len(menu)), key=lambda i: (abs(menu[i].nbar - 5.0), abs(menu[i].distance - 7)))
        point = CatOperatingPoint(
            menu[middle].nbar, kappa1_over_kappa2, kappaphi_over_kappa2=kappaphi_over_kappa2,
            t_round=t_round, gate_time=gate_time, t_readout=t_readout, cx_bitflip=cx_bitflip,
        )
        self.kappa_axis = KappaAxis(point, low=low, high=high, points=int(points))
        super().__init__(
            menu=menu, axis=self.kappa_axis, reward=reward,
            initial_entry=middle if initial_entry is None else initial_entry, **kwargs,
        )

    # ------------------------------------------------------------------ hooks
    def _build_table(self, *, table_windows: int, calibration_table: bool, table_cache: str | None) -> WindowTable:
        try:
            config = CatTableConfig(self.kappa_axis, self.menu, window_shots=self.shots, windows=table_windows,
                                    **self.table_options)
        except TypeError as e:
            raise TypeError(f"table_options must hold TableConfig fields (target_errors, max_shots, smoothing, "
                            f"posterior_draws, seed): {e}") from None
        return build_cat_table(config, cache_dir=table_cache)

    def _coordinates(self, trajectory) -> np.ndarray:
        k1 = np.asarray(trajectory, dtype=np.float64)
        return self._check_in_grid(k1 / self.kappa_axis.kappa1_over_kappa2, fix="widen kappa1_range")

    def _noise_for(self, entry: int, step: int) -> NoiseParams:
        return self.kappa_axis.noise(self.menu[entry].nbar, float(self.m_true[step]))

    def _extra_failure_probability(self) -> np.ndarray:
        """Analytic bit flips per shot of ``d`` rounds, every entry at every step."""
        k1 = np.asarray(self.trajectory, dtype=np.float64)
        self._bit_flip_round = np.array(
            [bit_flip_per_round_array(e.distance, self.kappa_axis.point.replace(nbar=e.nbar), k1) for e in self.menu]
        )
        rounds = self.table.rounds[:, None]  # one shot = d rounds; any odd number of flips fails it
        return (1.0 - (1.0 - 2.0 * self._bit_flip_round) ** rounds) / 2.0

    def _extra_failure_model(self) -> CatBitFlips:
        return CatBitFlips(point=self.kappa_axis.point, kappa1_baseline=self.kappa_axis.kappa1_over_kappa2,
                           distances=tuple(e.distance for e in self.menu), nbars=tuple(e.nbar for e in self.menu),
                           m_range=(float(self.table.grid[0]), float(self.table.grid[-1])))

    def _run_window(self, *, switched: bool, recalibrated: bool, advance: bool):
        t = self._t
        entry = self.menu[self.entry]
        obs, reward, info = super()._run_window(switched=switched, recalibrated=recalibrated, advance=advance)
        info.update(
            kappa1_over_kappa2=float(self.trajectory[t]),
            nbar=entry.nbar,
            distance=entry.distance,
            modes=entry.qubits,
            photons=entry.photons,
            bit_flip_round=float(self._bit_flip_round[self.entry, t]),
        )
        return obs, reward, info
