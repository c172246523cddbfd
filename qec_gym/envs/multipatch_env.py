"""`MultiPatchSwitchEnv`: many logical patches on one chip, per-patch choices under a shared qubit budget.

## Description
A processor holds ``n_patches`` logical qubits (surface-code patches; default 16, tested up to
64), each a SurfaceSwitch patch: the same menu (rotated surface d = 3..11 x {pymatching,
pymatching-correlated}), the same `WindowTable` (noise axis stim-uniform p x 0.5..10) and the same
`RewardConfig`. The chip is a grid of *regions* (tiles able to host the largest configuration):
``n_patches`` home regions on a ``ceil(sqrt(n)) x ceil(n / cols)`` grid and ``n_spares`` spare
regions in one extra row below. A patch runs on one region; its noise is that region's:

    m[region, t] = clip(drift[region, t] * (1 + burst[region, t]) * defect[region, t], grid)

* ``drift``: the episode's scenario (one per episode, from the SurfaceSwitch pool; its ``"all"``
  multiplier mapped onto the table's axis) drawn *independently per region*: every region has its
  own `numpy.random.Generator` spawned from one seed drawn from ``self.np_random``;
* ``burst`` (shared events, `SharedEvents`): chip-wide Poisson arrivals (``burst_rate`` per
  step), each centred on a uniformly drawn region with an exponential height (mean
  ``burst_height``), felt by region r as ``height * exp(-distance / burst_length)`` (distance
  in grid units: the burst hits a patch and its neighbours), decaying by ``exp(-1/burst_decay)``
  per step (cosmic-ray impacts, McEwen et al. 2022: chip-wide and spatially correlated);
* ``defect``: one home region, drawn uniformly at reset, holds a two-level-system defect, a
  `qec_gym.noise.drift.RandomTelegraph` between ``defect_low`` and ``defect_high`` (1 elsewhere).
  It belongs to the tiles, so a patch escapes it by moving away;
* the product is clipped to the table's grid (x0.5..x10): at x10 (p = 1%) every configuration
  fails anyway, so saturating there changes no decision.

All of these are drawn at reset, before any action: policies compared on one seed see the same
chip. Window outcomes (failures, features) are drawn sequentially from ``self.np_random`` (no
common random numbers across policies, unlike the single env).

## Action space
``MultiDiscrete([3 + len(menu)] * n_patches)``; per patch the single env's encoding plus one:
``0`` keep, ``1`` recalibrate the decoder (as SurfaceSwitch, whose table is calibrated to the
truth: it only costs ``recalibration_cost``), ``2 + i`` switch to ``menu[i]`` (``switch_cost``,
``switch_transient``), ``2 + len(menu)`` *remap*: move the patch to a free spare region while its
old tiles are recalibrated (the remapping of ReloQate, 2026). So a single-patch policy acts on
each patch's row of the observation unchanged (`qec_gym.agents.PerPatchAgent`).

**Budget rule** (`apply_budget`): the qubits in use, the sum of the running configurations'
physical qubits (`MenuEntry.qubits`), never exceed ``budget``. Requested switches that shrink or
keep a patch's qubits are granted first; then growing ones in order of their increase (smallest
first, ties by patch index), each granted while the total stays within the budget. A refused
request keeps the patch's configuration and costs ``refusal_penalty``; ``info["refused"]`` marks
it. `action_masks` masks what is refused for sure (a switch whose increase alone exceeds the free
budget, switching to the running entry, a remap without a free spare or during a transient).

**Remap rule** (`RemapConfig`): a remap needs a free spare region (not hosting a patch and not
being recalibrated); patches asking in the same step are served in patch order, each taking the
free region idle longest (lowest index on ties); without one, or during the patch's own remap
transient, the request is refused (as above).
A remapped patch pays ``cost`` once, runs its next ``transient_windows`` windows at
``transient_factor`` x its new region's noise (moving a patch by code deformation/lattice
surgery and settling on fresh tiles: a window of higher error) and its decoder counts as
recalibrated. Its old region is recalibrated for ``recalibration_windows`` windows, then is a free
spare. It does not cure the defect (a material TLS stays in its tiles): the point of remapping is
to leave it.

## Observation space
``Box(float32)`` of length ``n_patches * (16 + len(menu)) + 2``: patch rows, then totals.
Row ``p`` (`patch_rows` reshapes) is SurfaceSwitch-v1's observation of patch ``p`` (indices
``0 .. 13 + len(menu)``: detection-rate features of its last window, its syndrome-derived noise
estimate and EMA, nominal latency, qubit fraction, time since switch and recalibration, one-hot
of its entry) plus ``remap transient windows left / transient_windows`` and ``1 if the patch is
off its home region``. Totals: qubits in use / budget, free spare regions / n_spares. No true
noise (tested: no feature ranks with the true multiplier better than the syndrome estimate).

## Rewards
Per patch (``info["patch_reward"]``), `qec_gym.envs.reward.step_rewards` of its window (as
SurfaceSwitch) minus the remap cost and refusal penalties; the reward is their sum (the chip's
total).

## Starting state, episode end
Every patch on its home region running ``initial_entry`` (default ``menu[2]``, d = 5), counters
at 0. Never terminated; truncated after the scenario's ``episode_length`` (or ``max_steps``).

## Info
Scalars (so that `qec_gym.eval` treats it as a single env): ``scenario``, ``step``,
``p_round`` / ``expected_p_round`` / ``latency_s`` / ``true_multiplier`` (means over patches),
``qubits`` (in use), ``switched``, ``recalibrated``, ``remapped``, ``refused`` (counts),
``entry`` (the most common running entry) and ``entry_label``, ``budget``. Per patch (arrays of
``n_patches``): ``patch_reward``, ``patch_p_round``, ``patch_expected_p_round``,
``patch_logical_errors``, ``patch_entry``, ``patch_true_multiplier``, ``patch_region``,
``patch_switched``, ``patch_remapped``, ``patch_refused``. Privileged: ``defect_region``; at reset,
``drift_draw``: a list with each region's draws of a domain-randomised scenario (SurfaceSwitch's
``drift_draw``, one dict per region: the regions drift independently), never observed.

## Arguments
Keyword-only: ``n_patches``, ``budget`` (default ``97 * n_patches``: every patch at d = 7 on
average), ``n_spares`` (default ``max(1, n_patches // 8)``), ``events`` (`SharedEvents`),
``remap`` (`RemapConfig`), ``refusal_penalty``, ``initial_entry``, and SurfaceSwitch's
``scenarios``, ``max_steps``, ``shots``, ``reward``, ``table_cache``.

## Version history
* v1: initial release.

Example:
    >>> import gymnasium as gym, qec_gym
    >>> env = gym.make("qec_gym/MultiPatchSwitch-v1", max_steps=3)
    >>> obs, info = env.reset(seed=0)
    >>> env.action_space.shape, obs.shape, info["qubits"], info["budget"]
    ((16,), (418,), 784, 1552)
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    >>> info["patch_reward"].shape, bool(info["qubits"] <= info["budget"])
    ((16,), True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from scipy.signal import lfilter

from qec_gym.envs.reward import RewardConfig, step_rewards
from qec_gym.envs.switch_env import N_BASE_FEATURES, QECSwitchEnv, scenario_option
from qec_gym.envs.table import FEATURES
from qec_gym.noise.drift import FIELD_GROUPS, RandomTelegraph

N_PATCH_EXTRAS = 2
"""Columns after the single env's observation in each patch row (remap transient left, off home)."""
N_TOTALS = 2
"""Columns after the patch rows (qubits in use / budget, free spares / n_spares)."""


@dataclass(frozen=True)
class SharedEvents:
    """Events that hit several patches or sit in one (see the env docstring).

    Args:
        burst_rate: Expected bursts per step on the whole chip (>= 0).
        burst_height: Mean (exponential) relative jump of the noise at the burst's centre (>= 0).
        burst_decay: Decay time of a burst in steps (> 0).
        burst_length: Distance (grid units) over which a burst's height falls by e (> 0).
        defect_low: Defect region's multiplier in the telegraph's low state (> 0).
        defect_high: Its multiplier in the high state (> 0).
        defect_dwell_low: Mean dwell in the low state, steps (>= 1).
        defect_dwell_high: Mean dwell in the high state, steps (>= 1).

    Raises:
        ValueError: a value out of its range (the message names it).
    """

    burst_rate: float = 0.02
    burst_height: float = 3.0
    burst_decay: float = 8.0
    burst_length: float = 1.0
    defect_low: float = 1.0
    defect_high: float = 4.0
    defect_dwell_low: float = 60.0
    defect_dwell_high: float = 60.0

    def __post_init__(self) -> None:
        for name in ("burst_rate", "burst_height"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"SharedEvents.{name} must be finite and >= 0, got {getattr(self, name)!r}.")
        for name in ("burst_decay", "burst_length", "defect_low", "defect_high"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"SharedEvents.{name} must be finite and > 0, got {getattr(self, name)!r}.")
        self.defect()  # validates the dwells

    def defect(self) -> RandomTelegraph:
        """The defect's telegraph process."""
        return RandomTelegraph.from_dwell(self.defect_low, self.defect_high, dwell_low=self.defect_dwell_low,
                                          dwell_high=self.defect_dwell_high)


@dataclass(frozen=True)
class RemapConfig:
    """What moving a patch to spare qubits costs (see the env docstring).

    Args:
        cost: One-off reward cost of a remap (>= 0).
        transient_windows: Windows after the move at raised noise (>= 0).
        transient_factor: Noise multiplier during those windows (>= 1).
        recalibration_windows: Windows the vacated region is recalibrated before it is a free spare (>= 0).
    """

    cost: float = 0.3
    transient_windows: int = 3
    transient_factor: float = 2.0
    recalibration_windows: int = 20

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cost) and self.cost >= 0):
            raise ValueError(f"RemapConfig.cost must be finite and >= 0, got {self.cost!r}.")
        if not (math.isfinite(self.transient_factor) and self.transient_factor >= 1):
            raise ValueError(f"RemapConfig.transient_factor must be >= 1 (a move never lowers the noise), "
                             f"got {self.transient_factor!r}.")
        for name in ("transient_windows", "recalibration_windows"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"RemapConfig.{name} must be an int >= 0, got {v!r}.")


def apply_budget(current: np.ndarray, requested: np.ndarray, qubits: np.ndarray, budget: float) -> np.ndarray:
    """Entries after the budget rule: which requested switches are granted (env docstring).

    Args:
        current: int (P,) running menu indices (within budget).
        requested: int (P,) requested menu indices (``current`` where no switch is asked).
        qubits: (E,) physical qubits per menu entry.
        budget: Most qubits in use.

    Returns:
        int64 (P,) the entries that run; ``!= requested`` where a request was refused.

    Example:
        >>> q = np.array([17, 49, 97])
        >>> apply_budget(np.array([1, 1, 1]), np.array([2, 2, 0]), q, 200).tolist()  # 97+49+17 > 200
        [2, 1, 0]
    """
    current = np.asarray(current, dtype=np.int64)
    out = current.copy()
    requested = np.asarray(requested, dtype=np.int64)
    delta = qubits[requested] - qubits[current]
    shrink = delta <= 0
    out[shrink] = requested[shrink]
    total = float(qubits[out].sum())
    grow = np.flatnonzero(~shrink)
    for p in grow[np.lexsort((grow, delta[grow]))]:  # smallest increase first, then patch index
        if total + delta[p] <= budget:
            out[p] = requested[p]
            total += delta[p]
    return out


class MultiPatchSwitchEnv(gym.Env):
    __doc__ = __doc__

    metadata = {"render_modes": []}

    def __init__(
        self,
        *,
        n_patches: int = 16,
        budget: int | None = None,
        n_spares: int | None = None,
        events: SharedEvents = SharedEvents(),
        remap: RemapConfig = RemapConfig(),
        refusal_penalty: float = 0.2,
        initial_entry: int = 2,
        scenarios: Any = "train",
        max_steps: int | None = None,
        shots: int = 1000,
        reward: RewardConfig = RewardConfig(),
        table_cache: str | None = "default",
    ) -> None:
        from qec_gym.envs import make_surface_switch

        if isinstance(n_patches, bool) or not isinstance(n_patches, (int, np.integer)) or not 1 <= n_patches <= 1024:
            raise ValueError(f"n_patches must be an int in 1..1024 (16-64 is the tested range), got {n_patches!r}.")
        if not isinstance(events, SharedEvents) or not isinstance(remap, RemapConfig):
            raise TypeError("events must be a SharedEvents and remap a RemapConfig.")
        if not (math.isfinite(refusal_penalty) and refusal_penalty >= 0):
            raise ValueError(f"refusal_penalty must be finite and >= 0, got {refusal_penalty!r}.")
        # The single env is the reference: its table, menu, reward, scenarios and observation bounds.
        self.template: QECSwitchEnv = make_surface_switch(
            scenarios=scenarios, max_steps=max_steps, shots=shots, reward=reward, table_cache=table_cache,
            initial_entry=initial_entry)
        t = self.template
        self.n_patches = int(n_patches)
        self.n_spares = max(1, self.n_patches // 8) if n_spares is None else n_spares
        if isinstance(self.n_spares, bool) or not isinstance(self.n_spares, (int, np.integer)) or self.n_spares < 0:
            raise ValueError(f"n_spares must be an int >= 0, got {n_spares!r}.")
        self.menu, self.table, self.reward_config = t.menu, t.table, t.reward_config
        self.scenario_names, self.scenario_registry = t.scenario_names, t.scenario_registry
        self.scenario_pool, self.custom_scenarios = t.scenario_pool, t.custom_scenarios
        self.backend, self.shots, self.max_steps = "table", t.shots, max_steps
        self.events, self.remap, self.refusal_penalty = events, remap, float(refusal_penalty)
        self.initial_entry = t.initial_entry
        self._qubits = np.array([e.qubits for e in self.menu], dtype=np.float64)
        self.budget = int(97 * self.n_patches if budget is None else budget)
        if self.budget < self._qubits[self.initial_entry] * self.n_patches:
            raise ValueError(
                f"budget {self.budget} qubits cannot hold {self.n_patches} patches of the initial entry "
                f"({self.menu[self.initial_entry].label}, {int(self._qubits[self.initial_entry])} qubits): raise the "
                "budget or choose a smaller initial_entry.")
        self._layout()
        self._prepare_table()
        self._scale = {n: self._axis_scale(n) for n in self.scenario_names}

        n_menu = len(self.menu)
        self.n_patch_features = N_BASE_FEATURES + n_menu + N_PATCH_EXTRAS
        low1, high1 = t.observation_space.low, t.observation_space.high
        low = np.concatenate([np.tile(np.concatenate([low1, np.zeros(N_PATCH_EXTRAS)]), self.n_patches),
                              np.zeros(N_TOTALS)]).astype(np.float32)
        high = np.concatenate([np.tile(np.concatenate([high1, np.ones(N_PATCH_EXTRAS)]), self.n_patches),
                               np.ones(N_TOTALS)]).astype(np.float32)
        self._row_low = low[: self.n_patch_features].astype(np.float64)
        self._row_high = high[: self.n_patch_features].astype(np.float64)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        self.n_actions = 3 + n_menu
        self.remap_action = 2 + n_menu
        self.action_space = spaces.MultiDiscrete(np.full(self.n_patches, self.n_actions, dtype=np.int64))
        self._t = 0

    # ------------------------------------------------------------------ construction helpers
    def _layout(self) -> None:
        """Grid positions of the home and spare regions and their pairwise distances."""
        p, s = self.n_patches, self.n_spares
        cols = math.ceil(math.sqrt(p))
        rows = math.ceil(p / cols)
        home = [(i // cols, i % cols) for i in range(p)]
        spare = [(rows, (k + 0.5) * cols / s - 0.5) for k in range(s)]
        self.positions = np.array(home + spare, dtype=np.float64)  # (R, 2): row, column
        diff = self.positions[:, None, :] - self.positions[None, :, :]
        self._burst_kernel = np.exp(-np.sqrt((diff**2).sum(-1)) / self.events.burst_length)  # (centre, region)
        self.n_regions = p + s

    def _prepare_table(self) -> None:
        """Packed 1-D table columns (log p_shot, features, their spread, decode time) and per-entry constants."""
        tab = self.table
        if tab.features.shape[2] != 1:
            raise ValueError("MultiPatchSwitchEnv needs a table calibrated to the truth (1-D).")
        # log p_shot exactly as `WindowTable` looks it up (v1: smoothed counts; fitted format: the fit)
        self._packed = np.concatenate([tab._log_p[:, :, 0, None], tab.features[:, :, 0], tab.features_std[:, :, 0],
                                       tab.decode_s[:, :, 0, None]], axis=2)  # (E, G, 2 + 2F)
        self._log_grid = np.log(tab.grid)
        self._m_lo, self._m_hi = float(tab.grid[0]), float(tab.grid[-1])
        self._rounds = tab.rounds
        self._num_det = np.maximum(1, tab.num_detectors).astype(np.float64)
        self._curves = [np.maximum.accumulate(tab.rate_curve(e)) for e in range(len(self.menu))]
        m_ref = float(np.clip(1.0, tab.grid[0], tab.grid[-1]))  # nominal latency: at the axis baseline
        self._log_nominal = np.log10(np.maximum(
            [tab.expected(e, m_ref).decode_s_per_round for e in range(len(self.menu))], 1e-12))

    def _axis_scale(self, name: str):
        """Function: the scenario's ``"all"`` multipliers -> the table axis' multiplier (checked once here)."""
        scenario = self.scenario_registry[name]
        axis = self.template.axis
        if set(scenario.drifts.keys) != {"all"}:
            raise ValueError(f"scenario {name!r} drifts {list(scenario.drifts.keys)}; MultiPatchSwitch takes scenarios "
                             "that scale all rates together (key 'all'), as the table's axis does.")
        ref = next(f for f in FIELD_GROUPS[axis.key] if getattr(axis.baseline, f) > 0)
        start, denominator = getattr(scenario.baseline, ref), getattr(axis.baseline, ref)

        def convert(mult: np.ndarray) -> np.ndarray:
            return np.clip(start * mult, 0.0, 1.0) / denominator

        rng = np.random.default_rng(0)
        probe = convert(scenario.multipliers(rng, n_steps=8)["all"])
        reference = [axis.coordinate(n) for n in scenario.trajectory(np.random.default_rng(0), n_steps=8)]
        if not np.allclose(probe, reference, rtol=1e-9):
            raise ValueError(f"scenario {name!r} does not map onto the table's axis as its noise trajectory does.")
        return convert

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        name = scenario_option(options, self.scenario_names, self.np_random)
        if name not in self._scale:
            if name not in self.scenario_registry:
                raise ValueError(f"unknown scenario {name!r}; valid: {sorted(self.scenario_registry)}.")
            self._scale[name] = self._axis_scale(name)
        self.scenario = self.scenario_registry[name]
        n_t = self.scenario.episode_length if self.max_steps is None else self.max_steps
        self.n_steps = n_t
        self.m_region, drift_draw = self._draw_chip(name, n_t)
        p = self.n_patches
        self._t = 0
        self.region = np.arange(p)  # patch -> region
        self.entry = np.full(p, self.initial_entry, dtype=np.int64)
        self.since_switch = np.zeros(p, dtype=np.int64)
        self.since_recal = np.zeros(p, dtype=np.int64)
        self.transient_left = np.zeros(p, dtype=np.int64)
        self.busy_until = np.full(self.n_regions, -1, dtype=np.int64)  # last step a region is recalibrated
        self.idle_since = np.zeros(self.n_regions, dtype=np.int64)
        self._ema = np.full(p, np.nan)
        none = np.zeros(p, dtype=bool)
        obs, _, info = self._window(none, none, none, none)
        info["drift_draw"] = drift_draw
        return obs, info

    def step(self, action):
        if self._t >= self.n_steps:
            raise RuntimeError("episode is over: call reset() before step().")
        a = self._as_actions(action)
        t = self._t
        recal = a == 1
        want_remap = a == self.remap_action
        remapped = self._remap(np.flatnonzero(want_remap & (self.transient_left == 0)), t)
        wants_switch = (a >= 2) & (a < self.remap_action)
        requested = np.where(wants_switch, a - 2, self.entry)
        granted = apply_budget(self.entry, requested, self._qubits, self.budget)
        refused = (granted != requested) | (want_remap & ~remapped)
        switched = granted != self.entry
        self.entry = granted
        self.since_switch[switched] = 0
        self.since_recal[recal | remapped] = 0
        obs, reward, info = self._window(switched, recal, remapped, refused)
        self._t += 1
        self.since_switch += 1
        self.since_recal += 1
        self.transient_left = np.maximum(self.transient_left - 1, 0)
        return obs, reward, False, self._t >= self.n_steps, info

    def action_masks(self) -> np.ndarray:
        """Flat bool mask (n_patches * n_actions,), as sb3-contrib's MaskablePPO takes for MultiDiscrete.

        Masked: switching to the running entry; a switch whose qubit increase alone exceeds the
        free budget; a remap without a free spare region or during a remap transient.
        """
        p = self.n_patches
        mask = np.ones((p, self.n_actions), dtype=bool)
        free = self.budget - float(self._qubits[self.entry].sum())
        extra = self._qubits[None, :] - self._qubits[self.entry][:, None]  # (P, E)
        mask[:, 2:self.remap_action] = extra <= free
        mask[np.arange(p), 2 + self.entry] = False
        mask[:, self.remap_action] = (self.transient_left == 0) & (len(self._free_regions(self._t)) > 0)
        return mask.reshape(-1)

    # ------------------------------------------------------------------ privileged API (oracles)
    def true_multipliers(self, regions: np.ndarray | None = None, *, transient: np.ndarray | None = None) -> np.ndarray:
        """True noise multiplier of the current window on ``regions`` (default: each patch's, with its transient)."""
        t = min(self._t, self.n_steps - 1)
        if regions is None:
            regions, transient = self.region, self.transient_left > 0
        m = self.m_region[regions, t] * np.where(transient, self.remap.transient_factor, 1.0)
        return _clip(m, self._m_lo, self._m_hi)

    def expected_costs(self, m: np.ndarray | None = None) -> np.ndarray:
        """Expected cost (minus expected reward, transition costs left out) of each entry, (P, E).

        For multipliers ``m`` (P,) (default: `true_multipliers`): the reward's expected error term
        over the binomial spread of a window (`QECSwitchEnv._expected_error_cost`) plus the qubit
        and latency terms, as the single env's myopic oracle.
        """
        m = self.true_multipliers() if m is None else m
        i, w = self._grid_weights(m)
        col = self._packed[:, :, [0, -1]]
        v = (1 - w)[None, :, None] * col[:, i] + w[None, :, None] * col[:, i + 1]  # (E, P, 2)
        p_shot = np.exp(v[:, :, 0])
        error = self.template._expected_error_cost(p_shot, np.broadcast_to(self._rounds[:, None], p_shot.shape))
        cfg = self.reward_config
        static = (cfg.qubit_weight * self._qubits / cfg.reference_qubits)[:, None] + cfg.latency_weight * np.maximum(
            0.0, v[:, :, 1] / cfg.latency_budget_s - 1.0)
        return (error + static).T

    def oracle_entries(self, costs: np.ndarray | None = None) -> np.ndarray:
        """Entries (P,) of least total expected cost with qubits in use <= budget.

        A multiple-choice knapsack, solved by Lagrangian relaxation: each patch takes
        ``argmin cost + lam * qubits``, with the smallest ``lam >= 0`` (bisection) whose choice fits
        the budget; exact when the budget does not bind, otherwise optimal for the budget it uses.
        """
        costs = self.expected_costs() if costs is None else costs
        q = self._qubits

        def pick(lam: float) -> np.ndarray:
            return np.argmin(costs + lam * q[None, :], axis=1)

        choice = pick(0.0)
        if q[choice].sum() <= self.budget:
            return choice
        lo, hi = 0.0, 1.0
        while q[pick(hi)].sum() > self.budget:
            hi *= 2
            if hi > 1e6:  # only the cheapest entry everywhere fits
                return np.full(len(costs), int(np.argmin(q)))
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if q[pick(mid)].sum() <= self.budget else (mid, hi)
        return pick(hi)

    def oracle_action(self) -> np.ndarray:
        """The myopic oracle (privileged): per patch, the action of least expected cost for this window.

        Entries: `oracle_entries` (switch costs left out, as `QECSwitchEnv.oracle_action`). Remap:
        a move commits a spare region for at least ``H = max(1, recalibration_windows)`` windows
        (the region it leaves is recalibrated that long), so, taking this window's true noise as
        persisting, a patch not in a transient moves to the free region of least true noise when
        ``H`` windows of gain there exceed the remap cost plus the transient's extra cost
        (best entry at each noise); at most as many patches as there are free regions, largest
        gain first.
        """
        costs = self.expected_costs()
        entries = self.oracle_entries(costs)
        actions = np.where(entries == self.entry, 0, 2 + entries).astype(np.int64)
        free = self._free_regions(self._t)
        if len(free):
            rm = self.remap
            best = float(self.true_multipliers(free, transient=np.zeros(len(free), bool)).min())
            m = np.array([best, min(best * rm.transient_factor, self.table.grid[-1])])
            steady, settling = self.expected_costs(m).min(axis=1)
            horizon = max(1, rm.recalibration_windows)
            gain = (costs.min(axis=1) - steady) * horizon - rm.cost - (settling - steady) * rm.transient_windows
            gain = np.where(self.transient_left == 0, gain, -np.inf)
            for p in np.argsort(-gain, kind="stable")[: len(free)]:
                if gain[p] > 0:
                    actions[p] = self.remap_action
        return actions

    # ------------------------------------------------------------------ internals
    def _as_actions(self, action) -> np.ndarray:
        a = np.asarray(action)
        ok = a.shape == (self.n_patches,) and (np.issubdtype(a.dtype, np.integer) or (
            np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and np.all(a == np.round(a))))
        if not ok or a.min() < 0 or a.max() >= self.n_actions:
            raise ValueError(
                f"action must be {self.n_patches} integers in 0..{self.n_actions - 1} (one per patch: 0 keep, 1 "
                f"recalibrate, 2+i switch to menu[i], {self.remap_action} remap), got {action!r}.")
        return a.astype(np.int64)

    def _draw_chip(self, name: str, n_t: int) -> tuple[np.ndarray, list[dict]]:
        """(R, T) true multipliers of every region: independent drifts x shared bursts x the defect;
        and each region's ``drift_draw`` (what its drift drew for the episode, `Scenario.trajectory`)."""
        rng = self.np_random
        ev = self.events
        seeds = np.random.SeedSequence(int(rng.integers(2**63))).spawn(self.n_regions)
        scenario, scale = self.scenario, self._scale[name]
        draws: list[dict] = [{} for _ in seeds]
        drift = np.stack([scale(scenario.multipliers(np.random.default_rng(s), n_steps=n_t, draws=d)["all"])
                          for s, d in zip(seeds, draws)])
        # Bursts, with a warm-up so the chip starts in the stationary state.
        warm = math.ceil(5 * ev.burst_decay)
        n_b = int(rng.poisson(ev.burst_rate * (n_t + warm)))
        when = rng.integers(0, n_t + warm, size=n_b)
        centre = rng.integers(0, self.n_regions, size=n_b)
        height = rng.exponential(ev.burst_height, size=n_b)
        impulses = np.zeros((self.n_regions, n_t + warm))
        np.add.at(impulses.T, when, height[:, None] * self._burst_kernel[centre])
        burst = lfilter([1.0], [1.0, -math.exp(-1.0 / ev.burst_decay)], impulses, axis=1)[:, warm:]
        self.defect_region = int(rng.integers(self.n_patches))
        defect = np.ones((self.n_regions, n_t))
        defect[self.defect_region] = ev.defect().sample(n_t, rng)
        return np.clip(drift * (1.0 + burst) * defect, self.table.grid[0], self.table.grid[-1]), draws

    def _free_regions(self, t: int) -> np.ndarray:
        """Regions hosting no patch and not being recalibrated, idle longest first."""
        occupied = np.zeros(self.n_regions, dtype=bool)
        occupied[self.region] = True
        free = np.flatnonzero(~occupied & (self.busy_until < t))
        return free[np.lexsort((free, self.idle_since[free]))]

    def _remap(self, asking: np.ndarray, t: int) -> np.ndarray:
        """Move the patches ``asking`` (patch order) to free regions; returns the bool (P,) of those moved."""
        moved = np.zeros(self.n_patches, dtype=bool)
        free = list(self._free_regions(t))
        for p in asking:
            if not free:
                break
            old, new = int(self.region[p]), int(free.pop(0))
            self.region[p] = new
            self.busy_until[old] = t + self.remap.recalibration_windows - 1
            self.idle_since[old] = t + self.remap.recalibration_windows
            self.transient_left[p] = self.remap.transient_windows
            moved[p] = True
        return moved

    def _grid_weights(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = self._log_grid
        lm = np.log(m)
        i = _clip(np.searchsorted(g, lm) - 1, 0, len(g) - 2)
        return i, _clip((lm - g[i]) / (g[i + 1] - g[i]), 0.0, 1.0)

    def _window(self, switched, recal, remapped, refused):
        """Run window ``self._t`` of every patch; returns (obs, total reward, info)."""
        t, e, p = self._t, self.entry, self.n_patches
        m = self.true_multipliers()
        i, w = self._grid_weights(m)
        w2 = w[:, None]
        v = (1 - w2) * self._packed[e, i] + w2 * self._packed[e, i + 1]  # (P, 2 + 2F)
        nf = len(FEATURES)
        p_shot, mean, std, latency = np.exp(v[:, 0]), v[:, 1:1 + nf], v[:, 1 + nf:1 + 2 * nf], v[:, -1]
        rng = self.np_random
        errors = rng.binomial(self.shots, np.minimum(p_shot, 1.0))
        feats = mean + std * rng.standard_normal(mean.shape)
        rounds = self._rounds[e]
        # as `estimated_p_round` / `WindowTable.along`, elementwise
        p_round = _per_round(np.minimum((errors + 0.5) / (self.shots + 1.0), 0.5), rounds)
        expected_p = _per_round(np.minimum(p_shot, 0.5), rounds)
        qubits = self._qubits[e]
        patch_reward = step_rewards(self.reward_config, p_round=p_round, qubits=qubits, latency_s=latency,
                                    switched=switched, recalibrated=recal)
        patch_reward = patch_reward - self.remap.cost * remapped - self.refusal_penalty * refused
        obs = self._observation(feats)
        counts = np.bincount(e, minlength=len(self.menu))
        mode = int(np.argmax(counts))
        info = {
            "scenario": self.scenario.name, "step": t,
            "p_round": float(p_round.sum()) / p, "expected_p_round": float(expected_p.sum()) / p,
            "latency_s": float(latency.sum()) / p, "true_multiplier": float(m.sum()) / p,
            "qubits": int(qubits.sum()), "budget": self.budget,
            "switched": int(switched.sum()), "recalibrated": int(recal.sum()), "remapped": int(remapped.sum()),
            "refused": int(refused.sum()), "entry": mode, "entry_label": self.menu[mode].label + " (most patches)",
            "patch_reward": patch_reward, "patch_p_round": p_round, "patch_expected_p_round": expected_p,
            "patch_logical_errors": errors, "patch_entry": e.copy(), "patch_true_multiplier": m,
            "patch_region": self.region.copy(), "patch_switched": switched.copy(), "patch_remapped": remapped.copy(),
            "patch_refused": refused.copy(), "defect_region": self.defect_region,
        }
        return obs, float(patch_reward.sum()), info

    def _observation(self, feats: np.ndarray) -> np.ndarray:
        """Patch rows in SurfaceSwitch's layout (its `QECSwitchEnv._observation`, batched; equality tested) + totals."""
        p, e = self.n_patches, self.entry
        rows = np.zeros((p, self.n_patch_features))
        rows[:, 0:7] = feats[:, 0:7]
        rows[:, 7] = feats[:, 7] / self._num_det[e]
        log_m_hat = np.empty(p)
        for k in np.flatnonzero(np.bincount(e, minlength=len(self.menu))):  # `WindowTable.estimate_multiplier`:
            # np.interp on the entry's monotone rate curve
            sel = e == k
            log_m_hat[sel] = np.interp(feats[sel, 0], self._curves[k], self._log_grid)
        log_m_hat = np.log10(np.maximum(np.exp(log_m_hat), 1e-12))
        self._ema = np.where(np.isnan(self._ema), log_m_hat, 0.7 * self._ema + 0.3 * log_m_hat)
        rows[:, 8] = log_m_hat
        rows[:, 9] = self._ema
        rows[:, 10] = self._log_nominal[e]
        rows[:, 11] = self._qubits[e] / self._qubits.max()
        rows[:, 12] = np.minimum(self.since_switch, 100) / 100
        rows[:, 13] = np.minimum(self.since_recal, 100) / 100
        rows[np.arange(p), N_BASE_FEATURES + e] = 1.0
        k = N_BASE_FEATURES + len(self.menu)
        rows[:, k] = self.transient_left / max(1, self.remap.transient_windows)
        rows[:, k + 1] = self.region != np.arange(p)
        rows = _clip(rows, self._row_low, self._row_high)
        # totals lie in [0, 1] by construction (budget rule; at most n_spares regions are free)
        totals = [self._qubits[e].sum() / self.budget, len(self._free_regions(self._t)) / max(1, self.n_spares)]
        return np.concatenate([rows.ravel(), totals]).astype(np.float32)

    def patch_rows(self, obs: np.ndarray) -> np.ndarray:
        """The patch rows of observation(s): (..., n_patches, n_patch_features); the totals are ``obs[..., -2:]``."""
        obs = np.asarray(obs)
        return obs[..., : self.n_patches * self.n_patch_features].reshape(
            obs.shape[:-1] + (self.n_patches, self.n_patch_features))


def _clip(x: np.ndarray, low, high) -> np.ndarray:
    """``np.clip`` without its dispatch overhead (~20x slower on the small arrays of a step)."""
    return np.minimum(np.maximum(x, low), high)


def _per_round(p_shot: np.ndarray, rounds: np.ndarray) -> np.ndarray:
    """`qec_gym.sim.stats.per_round` elementwise for p_shot in [0, 1/2]."""
    return (1 - (1 - 2 * p_shot) ** (1 / rounds)) / 2


def make_multipatch_switch(**overrides) -> MultiPatchSwitchEnv:
    """`MultiPatchSwitchEnv` (see its docstring)."""
    return MultiPatchSwitchEnv(**overrides)


__all__ = ["MultiPatchSwitchEnv", "RemapConfig", "SharedEvents", "apply_budget", "make_multipatch_switch"]
