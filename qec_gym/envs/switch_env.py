"""`QECSwitchEnv`: choose which code, distance and decoder runs while the noise drifts.

## Description
A quantum processor runs QEC continuously. One step is one *window* of ``window_rounds`` QEC
rounds; the noise of each window follows a drift scenario (`qec_gym.noise.scenarios`). At every
step the agent keeps its configuration, recalibrates the decoder, or switches to another entry
of a menu (code family x distance x decoder). It sees only what a control system could see:
detection-event statistics of the window just run, a syndrome-derived noise estimate, decoder
effort, the configuration's nominal decode latency, resources in use, its configuration and the
time since its last switch and recalibration. The goal is to meet a logical-error budget at the
least resource cost.

## Action space
``Discrete(2 + len(menu))``: ``0`` keep, ``1`` recalibrate the decoder (costs ``recalibration_cost``;
its priors become the noise at the syndrome-derived multiplier estimate averaged over the last
``recalibration_windows`` windows with ``recalibration="estimate"``, the current true noise with
``recalibration="oracle"``), ``2 + i`` switch to ``menu[i]`` (costs
``switch_cost`` and a transient logical error ``switch_transient``; switching to the running
entry is the same as keep and is masked out by `action_masks`).

## Observation space
``Box(float32)`` of length ``14 + len(menu)`` (+3 with the calibration state, +1 with calibration
readouts, +2 when privileged):

| index | feature | range |
|---|---|---|
| 0 | mean detection-event rate of the window | [0, 1] |
| 1 | rate of detectors that see Z data errors (X-type checks) | [0, 1] |
| 2 | rate of detectors that see X data errors (Z-type checks) | [0, 1] |
| 3 | rate in the first round | [0, 1] |
| 4 | rate in the bulk rounds | [0, 1] |
| 5 | rate of the final data-measurement detectors | [0, 1] |
| 6 | spatial spread (std over detectors) of the rates | [0, 1] |
| 7 | decoder effort per detector (matching weight, BP iterations, ...) | [0, 100] |
| 8 | log10 of the syndrome-derived noise estimate (multiplier of the axis baseline) | [-3, 3] |
| 9 | exponential moving average (0.3) of index 8 | [-3, 3] |
| 10 | log10 nominal decode latency per round (s) of the running entry: tabulated at the axis baseline m = 1 | [-12, 0] |
| 11 | qubits in use / largest menu entry's qubits | [0, 1] |
| 12 | steps since the last switch / 100 (clipped) | [0, 1] |
| 13 | steps since the last recalibration / 100 (clipped) | [0, 1] |
| 14.. | one-hot of the running menu entry | {0, 1} |
| opt. | calibration state (``calibration_state=True``): log10 multiplier the decoder's priors were built from (the initial calibration's, then each recalibration's estimate), log10 of the estimate a recalibration would set now (mean of index 8 over the last ``recalibration_windows`` windows), their difference (estimate minus priors) | [-3, 3] |
| opt. | noisy calibration readout: log10 true multiplier ``readout_lag`` steps ago + noise | [-3, 3] |
| opt. | privileged: log10 true multiplier now, log10 multiplier the decoder assumes | [-3, 3] |

With ``raw_syndrome=True`` the observation is a ``Dict`` with ``"features"`` (the Box above) and
``"events"``: ``Box(0, 1, (raw_shots, max_detectors), float32)``, the detection events of the
first ``raw_shots`` shots of the window, zero-padded to the largest menu entry.

## Rewards
`qec_gym.envs.reward.step_reward` with ``reward`` (a `RewardConfig`): minus the decades of
logical error per round above ``target``, minus the qubit cost, the switch and recalibration costs.

## Starting state
The running entry is ``initial_entry`` (default: the middle of the menu), the decoder is
calibrated to the noise of step 0, and the scenario is drawn uniformly from ``scenarios`` with
``self.np_random`` (or given by ``options={"scenario": name}``).

## Episode end
Never terminated; truncated after the scenario's ``episode_length`` steps (or ``max_steps``).

## Arguments
All keyword-only: ``menu``, ``scenarios`` (``"train"``, ``"heldout"``: that split of ``scenario_pool``; a name, a
scenario object of the registry's type (`Scenario`, e.g. from `Scenario.from_trace`; `CatScenario` for CatSwitch), or a
list mixing those: objects need no registration, they join this instance's ``scenario_registry`` and are listed in
``custom_scenarios``, so ``reset(options={"scenario": name})`` finds them), ``scenario_pool`` (the scenarios this env's
noise axis covers),
``axis`` (the `NoiseAxis` the table covers), ``backend`` (``"table"``: sampled from a
precomputed `WindowTable`, fast; ``"circuit"``: stim sampling and decoding every step, exact),
``shots`` per window, ``reward``, ``calibration_readout``, ``readout_lag``, ``readout_noise``,
``privileged``, ``raw_syndrome``, ``raw_shots``, ``initial_entry``, ``max_steps``,
``table_windows``, ``calibration_table`` (2-D table over true x assumed noise), ``render_mode``,
``common_random_numbers``, ``table_options`` (fields of the fitted table format, `TableConfig`:
``target_errors``, ``max_shots``, ...), ``recalibration`` (``"oracle"``, the default and the v1
behaviour: recalibrating sets the priors to the true noise, an ablation; ``"estimate"``: to
``axis.noise(m_hat)`` with ``log m_hat`` the mean of observation index 8, the syndrome-derived
estimate, over the last ``recalibration_windows`` windows run, so its estimation error and lag
under drift are part of the outcome; the true noise is never used), ``recalibration_windows`` (K),
``calibration_state`` (observe the calibration state, see above), ``reward_estimator``
(``"sampled"``, the default: the reward's error term at the window's failure count,
`estimated_p_round`; ``"expected"``: at the window's expected logical error per round, a
noise-free reward; the oracles then score that term, and ``info["p_round"]`` stays the sampled estimate).

Recalibration and the oracles: the myopic oracle scores "recalibrate" with the priors it would
actually get (the estimate now); the clairvoyant plan, which cannot know future window noise,
scores a future recalibration at step k with the noise-free estimate, the geometric mean of the
true multiplier over the K windows before k (the estimator's lag, not its sampling error). The
starting state is calibrated to the true noise of step 0 in both modes (a full calibration
before the run).

## Randomness and paired comparisons
Every draw comes from ``self.np_random`` (seeded by ``reset(seed=...)``). With
``common_random_numbers=True`` (default) the *window outcome* (logical failures, feature noise, the
circuit sampler's seed) of step ``t`` comes from its own stream: the episode's PCG64 stream advanced
to position ``t * 2**20`` (``numpy.random.PCG64.advance``). Two policies on the same episode seed
that run the same configuration under the same calibration at step ``t`` then see the same window,
whatever they did before, so paired differences between policies lose the sampling noise of
windows that did not differ (common random numbers; `qec_gym.eval` pairs episodes by seed).
``False`` draws windows sequentially from ``self.np_random`` (the distributions are the same).

## Backends and their approximation
``"circuit"`` decodes with priors from the *assumed* (last calibrated) noise. ``"table"`` uses
a 1-D table calibrated to the truth unless ``calibration_table=True`` (then bilinear in true x
assumed). Window features are sampled around their tabulated means with the spread measured
at the same window size; logical failures are binomial.

Why SurfaceSwitch keeps a 1-D table (decoders calibrated to the truth): when every channel
scales together, stale priors cost nothing measurable. Measured by
``scripts/measure_stale_priors.py`` (``stim.Circuit.generated`` rotated X memories, rounds = d,
PyMatching from the true and from the baseline (m = 1) DEM on the same samples; excess failures of
the stale decoder, 95% interval): d = 3 at m = 0.5 and 3, identical decisions on every shot; d = 5 at
m = 3, 6, 10: -1.0% [-2.0, +0.3], -0.5% [-2.0, +1.1], -0.8% [-2.7, +1.0]. Scaling only the
measurement flips (DecoderCalibration's axis) costs +25% [+9, +40] at x10 and +24% [+17, +31] at
x30, which a 2-D table resolves. PhotonicSwitch's loss axis (only p_loss drifts; the project's
loss model, ``--photonic``, same samples for both decoders, rotated surface): +10% and +16% at
m = 0.3 (d = 5, X / Z basis, 89 / 62 fresh failures: within sampling noise) and -1.5% to -3.2% at
m = 3 (d = 5, 7: the stale decoder is slightly *better*); both tables stay 1-D.

## Info
``true_noise`` (`NoiseParams`), ``true_multiplier``, ``assumed_multiplier``, ``scenario``,
``logical_errors``, ``shots``, ``p_round`` (estimated from this window), ``expected_p_round``,
``qubits``, ``latency_s`` (tabulated decode time per round at the true noise: what the reward's
latency term uses; the observation holds the nominal figure instead), ``switched``, ``recalibrated``,
``entry``, ``oracle_action`` (myopic: least
expected cost now, knowing the true noise). At reset only, ``drift_draw``: what the episode's scenario drew
once for the whole episode (domain randomisation: which `Mixture` component and drift family, which
`RandomLevel` level), as JSON-ready plain data, drift key -> list of draws in draw order
(`qec_gym.noise.scenarios.Scenario.trajectory`), ``{}`` for a scenario that draws none; it lets
results be split by drift family. Like ``true_noise`` it is never observed; it changes neither observation,
reward nor dynamics, so no env id got a new version for it. The circuit backend's wall-clock decoding time is
``env.last_decode_seconds`` (not in info, which is deterministic for a seed).

## Extending (hooks for subclasses)
A subclass whose menu entries run under different noise at the same drift state (e.g. cat qubits,
whose channel depends on each entry's photon number: `qec_gym.envs.cat_env.CatSwitchEnv`)
overrides: ``scenario_registry`` (the named scenarios it draws from), ``_coordinates`` (a
trajectory -> axis multipliers), ``_noise_for(entry, step)`` (the noise that entry runs under at
that step; default: the trajectory's), ``_build_table`` (its `WindowTable`) and
``_extra_failure_probability`` (per-shot probability of logical failures the simulated circuit
cannot see, e.g. cat bit flips in an X-basis memory; combined as independent with the simulated
ones in the reward, the oracle and ``info``) with ``_extra_failure_model`` (the same law as a function
of the table's multiplier, for `cost_model`; without it `cost_model` refuses).

## Version history
* SurfaceSwitch-v3, DecoderCalibration-v4 (next to their predecessors, unchanged): the same
  class and options with ``scenario_pool`` holding one domain-randomised training scenario
  (``randomised_surface_drift``, ``randomised_readout_drift``) and the predecessor's held-out ones;
  see the package docstring.
* DecoderCalibration-v3 (next to v2, unchanged): ``calibration_state=True``,
  ``reward_estimator="expected"`` and a two-sided reward (``hinge=False``); see the package docstring.
  The clairvoyant plan of every calibration table now scores the decode time at each calibration
  (it used the calibrated decoder's, so its "exact" value was off by the latency term).
* SurfaceSwitch-v2, PhotonicSwitch-v2 (registered next to v1, whose packaged tables are
  unchanged): fitted 1-D tables (``table_options``: 100 logical errors or a shot cap per cell at
  exactly its labelled noise, monotone log-log fit with its interval; no 1/(2 x 20,000) floor);
  menus, axes, scenarios, observation, reward and (oracle) recalibration as v1.
* DecoderCalibration-v2 (registered next to v1, which is unchanged): fitted table
  (``table_options``, see `TableConfig`) and ``recalibration="estimate"`` (priors estimated from
  the syndromes of the last ``recalibration_windows`` windows). Both options default to the v1
  behaviour in this class.
* v1: observation index 10 is the running configuration's *nominal* decode latency (tabulated at
  the axis baseline), no longer the tabulated latency at the *true* noise of the window: that was a
  noise-free function of the true noise (Spearman 1.000 with log10 of the true multiplier under a
  kept configuration, above the syndrome estimate's 0.98), i.e. privileged information in a
  non-privileged observation. The reward and ``info["latency_s"]`` still use the true latency.
  Window outcomes come from per-step streams (common random numbers, see above): same
  distributions as v0, different draws for a seed.
  PhotonicSwitch-v1: loss on every photon (ancillas and readout as measurement erasures), ``regime="phase"``; table rebuilt.
* v0: initial release (retired: ``gymnasium.make`` of a v0 id raises, naming the leak).
"""

from __future__ import annotations

import collections
import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from qec_gym.envs.cost_model import WindowCostModel
from qec_gym.envs.menu import MenuEntry
from qec_gym.envs.reward import RewardConfig, estimated_p_round, expected_error_cost, step_reward
from qec_gym.envs.table import FEATURES, NoiseAxis, TableConfig, WindowTable, build_table, window_features
from qec_gym.noise.params import NoiseParams
from qec_gym.noise.scenarios import SCENARIOS, Scenario, get_scenario, resolve_scenarios
from qec_gym.sim import SimulationCache, simulate_window
from qec_gym.sim.window import DEFAULT_BINS_PER_DECADE
from qec_gym.sim.cache import detector_error_model
from qec_gym.sim.stats import per_round

N_BASE_FEATURES = 14
N_CALIBRATION_STATE = 3
"""Observation features added by ``calibration_state=True`` (after the one-hot): priors, recalibration estimate, mismatch."""
_LOG_LO, _LOG_HI = -3.0, 3.0


class QECSwitchEnv(gym.Env):
    __doc__ = __doc__

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    #: Named scenarios this env draws from (name -> object with ``name``, ``split``,
    #: ``episode_length`` and ``trajectory(rng, n_steps=...)``); subclasses may swap it.
    scenario_registry: Mapping[str, Any] = SCENARIOS

    def __init__(
        self,
        *,
        menu: Sequence[MenuEntry],
        axis: NoiseAxis,
        scenarios: str | Scenario | Sequence[str | Scenario] = "train",
        scenario_pool: Sequence[str] | None = None,
        backend: str = "table",
        shots: int = 1000,
        reward: RewardConfig = RewardConfig(),
        calibration_readout: bool = False,
        readout_lag: int = 5,
        readout_noise: float = 0.1,
        privileged: bool = False,
        raw_syndrome: bool = False,
        raw_shots: int = 8,
        initial_entry: int | None = None,
        max_steps: int | None = None,
        table_windows: int = 20,
        calibration_table: bool = False,
        table_cache: str | None = "default",
        render_mode: str | None = None,
        common_random_numbers: bool = True,
        table_options: Mapping[str, Any] | None = None,
        recalibration: str = "oracle",
        recalibration_windows: int = 10,
        calibration_state: bool = False,
        reward_estimator: str = "sampled",
    ) -> None:
        self.menu = tuple(menu)
        if not self.menu:
            raise ValueError("the menu is empty: give at least one MenuEntry.")
        if not all(isinstance(e, MenuEntry) for e in self.menu):
            raise TypeError("menu entries must be MenuEntry objects, e.g. MenuEntry('rotated_surface', 5).")
        if backend not in ("table", "circuit"):
            raise ValueError(f"backend must be 'table' or 'circuit', got {backend!r}.")
        if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots <= 0:
            raise ValueError(f"shots must be a positive int, got {shots!r}.")
        if raw_syndrome and backend != "circuit":
            raise ValueError("raw_syndrome=True needs real detection events: use backend='circuit'.")
        if not isinstance(reward, RewardConfig):
            raise TypeError("reward must be a RewardConfig.")
        if readout_lag < 0 or readout_noise < 0 or raw_shots <= 0:
            raise ValueError("readout_lag and readout_noise must be >= 0 and raw_shots > 0.")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode {render_mode!r} is not supported: use 'ansi' (a text line per step), 'rgb_array' "
                f"(an image of the state) or None; one of {self.metadata['render_modes']} or None."
            )
        self.scenario_pool = tuple(self.scenario_registry) if scenario_pool is None else tuple(scenario_pool)
        # The user's own scenario objects join this instance's registry (never the class's or the
        # module's), after the pool is fixed: "train" / "heldout" never expand to them.
        self.custom_scenarios = _custom_scenarios(scenarios, self.scenario_registry)
        if self.custom_scenarios:
            self.scenario_registry = MappingProxyType({**self.scenario_registry, **self.custom_scenarios})
        self.scenario_names = _resolve_scenarios(scenarios, self.scenario_pool, self.scenario_registry)
        self.axis = axis
        self.backend = backend
        self.shots = int(shots)
        self.reward_config = reward
        self.calibration_readout = calibration_readout
        self.readout_lag = readout_lag
        self.readout_noise = readout_noise
        self.privileged = privileged
        self.common_random_numbers = bool(common_random_numbers)
        self.raw_syndrome = raw_syndrome
        self.raw_shots = raw_shots
        self.max_steps = max_steps
        self.render_mode = render_mode
        if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer))
                                      or max_steps < 1):
            raise ValueError(f"max_steps must be an int >= 1 (steps per episode), or None for the scenario's own "
                             f"length; got {max_steps!r}.")
        self.initial_entry = len(self.menu) // 2 if initial_entry is None else initial_entry
        if (isinstance(self.initial_entry, bool) or not isinstance(self.initial_entry, (int, np.integer))
                or not 0 <= self.initial_entry < len(self.menu)):
            raise ValueError(f"initial_entry must index the menu (0..{len(self.menu) - 1}), got {initial_entry}.")
        self._check_decodable()
        if recalibration not in ("oracle", "estimate"):
            raise ValueError(f"recalibration must be 'estimate' (priors from the syndromes of the last windows) or "
                             f"'oracle' (priors set to the true noise, an ablation), got {recalibration!r}.")
        if (isinstance(recalibration_windows, bool) or not isinstance(recalibration_windows, (int, np.integer))
                or recalibration_windows < 1):
            raise ValueError(f"recalibration_windows must be an int >= 1 (windows whose syndromes estimate the "
                             f"noise), got {recalibration_windows!r}.")
        self.recalibration = recalibration
        self.recalibration_windows = int(recalibration_windows)
        if reward_estimator not in ("sampled", "expected"):
            raise ValueError(f"reward_estimator must be 'sampled' (the window's logical failures) or 'expected' (its "
                             f"expected logical error, a noise-free reward), got {reward_estimator!r}.")
        self.reward_estimator = reward_estimator
        self.calibration_state = bool(calibration_state)
        self.table_options = MappingProxyType(dict(table_options or {}))

        self.table: WindowTable = self._build_table(
            table_windows=table_windows, calibration_table=calibration_table, table_cache=table_cache
        )
        self._qubits = np.array([e.qubits for e in self.menu], dtype=np.float64)
        self._nominal_latency = self._nominal_latencies()
        self._cache = SimulationCache() if backend == "circuit" else None

        self.action_space = spaces.Discrete(2 + len(self.menu))
        n = (N_BASE_FEATURES + len(self.menu) + N_CALIBRATION_STATE * self.calibration_state + int(calibration_readout)
             + 2 * int(privileged))
        low = np.zeros(n, dtype=np.float32)
        high = np.ones(n, dtype=np.float32)
        high[7] = 100.0
        low[8:10] = _LOG_LO
        high[8:10] = _LOG_HI
        low[10], high[10] = -12.0, 0.0
        low[N_BASE_FEATURES + len(self.menu):] = _LOG_LO
        high[N_BASE_FEATURES + len(self.menu):] = _LOG_HI
        features = spaces.Box(low, high, dtype=np.float32)
        if raw_syndrome:
            self._max_det = int(self.table.num_detectors.max())
            events = spaces.Box(0.0, 1.0, (raw_shots, self._max_det), dtype=np.float32)
            self.observation_space = spaces.Dict({"features": features, "events": events})
        else:
            self.observation_space = features
        self._obs_low, self._obs_high = low, high
        self._t = 0

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        name = scenario_option(options, self.scenario_names, self.np_random)
        self.scenario: Scenario = self._get_scenario(name)
        length = self.scenario.episode_length if self.max_steps is None else self.max_steps
        drift_draw: dict = {}  # what a domain-randomised scenario drew for this episode (reset's info only)
        self.trajectory = self.scenario.trajectory(self.np_random, n_steps=length, draws=drift_draw)
        if self.common_random_numbers:  # drawn after the trajectory: policy-independent
            self._crn = np.random.PCG64(int(self.np_random.integers(2**63)))
            self._crn_start = self._crn.state
            self._crn_rng = np.random.Generator(self._crn)
        self.m_true = self._coordinates(self.trajectory)
        # Expected statistics of every entry at every step (calibrated decoders), computed once:
        # the table backend and the oracle then cost an index per step.
        self._along = self.table.along(self.m_true)
        self._extra_p_shot = self._extra_failure_probability()
        if self._extra_p_shot is not None:
            self._along = _with_extra_failures(self._along, self._extra_p_shot, self.table.rounds)
        self.expected_p = self._along["p_round"]
        cfg = self.reward_config
        rounds = np.array([e.distance for e in self.menu], dtype=np.float64)[:, None]
        self._error_cost = self._expected_error_cost(self._along["p_shot"], rounds)
        latency = self._along["decode_s"]
        self._static_cost = (cfg.qubit_weight * self._qubits / cfg.reference_qubits)[:, None] + cfg.latency_weight * np.maximum(
            0.0, latency / cfg.latency_budget_s - 1.0)
        self._t = 0
        self.entry = self.initial_entry
        self._cal_step = 0
        self._estimated_priors = False
        self.assumed_noise = self._noise_for(self.entry, 0)
        self.m_assumed = float(self.m_true[0])
        self.since_switch = 0
        self.since_recal = 0
        self.switches = 0
        self.reset_estimators()
        obs, _, info = self._run_window(switched=False, recalibrated=False, advance=False)
        info["drift_draw"] = drift_draw
        return obs, info

    def step(self, action):
        if self._t >= len(self.trajectory):
            raise RuntimeError("episode is over: call reset() before step().")
        action = _as_action(action, self.action_space.n)
        switched = recalibrated = False
        if action == 1:
            recalibrated = True
            self._cal_step = self._t
            if self.recalibration == "oracle":
                self.assumed_noise = self._noise_for(self.entry, self._t)
                self.m_assumed = float(self.m_true[self._t])
            else:
                self.m_assumed = self._recalibration_estimate()
                self.assumed_noise = self.axis.noise(self.m_assumed)
                self._estimated_priors = True
            self.since_recal = 0
        elif action >= 2 and action - 2 != self.entry:
            self.entry = action - 2
            switched = True
            self.switches += 1
            self.since_switch = 0
        obs, reward, info = self._run_window(switched=switched, recalibrated=recalibrated, advance=True)
        truncated = self._t >= len(self.trajectory)
        if self.render_mode == "ansi":
            self._last_render = self._render_line(info, reward)
        return obs, reward, False, truncated, info

    def action_masks(self) -> np.ndarray:
        """Valid actions (for MaskablePPO): switching to the running entry is redundant."""
        mask = np.ones(self.action_space.n, dtype=bool)
        mask[2 + self.entry] = False
        return mask

    def render(self):
        """``"ansi"``: the last step as one text line. ``"rgb_array"``: a uint8 (32, 16 * max(4, len(menu)), 3)
        image: top, a bar of the true noise multiplier (log10 on [-3, 3]); bottom, one cell per menu
        entry, green if its expected logical error per round meets the target now, red if not, the
        running entry outlined in white (black before the first reset)."""
        if self.render_mode == "ansi":
            return getattr(self, "_last_render", "")
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        return None

    def _render_rgb(self) -> np.ndarray:
        cell = 16
        frame = np.zeros((2 * cell, cell * max(4, len(self.menu)), 3), dtype=np.uint8)
        if not hasattr(self, "trajectory"):
            return frame
        t = min(self._t, len(self.trajectory) - 1)
        level = (math.log10(float(self.m_true[t])) - _LOG_LO) / (_LOG_HI - _LOG_LO)
        frame[2:cell - 2, : int(round(np.clip(level, 0.0, 1.0) * frame.shape[1]))] = (255, 160, 0)
        for i in range(len(self.menu)):
            ok = self._expected_p(i, t, self.m_assumed) <= self.reward_config.target
            x = i * cell
            frame[cell:, x:x + cell] = (255, 255, 255) if i == self.entry else (0, 0, 0)
            frame[cell + 2:-2, x + 2:x + cell - 2] = (40, 180, 60) if ok else (200, 40, 40)
        return frame

    # ----------------------------------------------------------- privileged API
    def expected_step_cost(self, action: int) -> float:
        """Expected cost (minus expected reward) of ``action`` now, knowing the true noise.

        Used by the myopic oracle. The error term is averaged over the binomial spread of the
        window's failures (`expected_error_cost`), as the reward itself is.
        """
        cfg = self.reward_config
        t = min(self._t, len(self.trajectory) - 1)
        entry, switched, recal = self.entry, False, action == 1
        if action >= 2 and action - 2 != self.entry:
            entry, switched = action - 2, True
        if self.table.features.shape[2] == 1:
            window = float(self._error_cost[entry, t] + self._static_cost[entry, t])
        else:
            m_assumed = self._recalibrated_multiplier(t) if recal else self.m_assumed
            window = self._window_cost_model.cost(entry, float(self.m_true[t]), m_assumed)
        return window + (cfg.switch_cost if switched else 0.0) + (cfg.recalibration_cost if recal else 0.0)

    def cost_model(self) -> WindowCostModel:
        """The expected cost of a window as a function of the noise (`WindowCostModel`), from this env's table.

        Deployable: it holds the table, the reward's weights and (CatSwitch) the analytic bit-flip law,
        nothing of an episode's noise (a model-based controller evaluates it at its noise estimate,
        `qec_gym.agents.certainty_equivalent`). Its multiplier is the table's axis, which the
        observation's noise estimate (index 8) is on.

        Raises:
            ValueError: a subclass with failures outside the table (`_extra_failure_probability`) that
                gives no per-multiplier law for them (`_extra_failure_model`).
        """
        return self._window_cost_model

    def _extra_failure_model(self):
        """``m -> per-shot failures outside the table of every entry`` at multiplier m, or None (none)."""
        return None

    @functools.cached_property
    def _window_cost_model(self) -> WindowCostModel:
        extra = self._extra_failure_model()
        if extra is None and type(self)._extra_failure_probability is not QECSwitchEnv._extra_failure_probability:
            raise ValueError(f"{type(self).__name__} adds failures outside its table but gives no law for them at a "
                             "given noise (override _extra_failure_model): no cost model.")
        rounds = np.array([e.distance for e in self.menu], dtype=np.int64)
        return WindowCostModel(table=self.table, reward=self.reward_config, qubits=self._qubits.copy(), rounds=rounds,
                               cost_curves={int(r): self._cost_curve(int(r)) for r in np.unique(rounds)},
                               extra_failure=extra)

    def oracle_action(self) -> int:
        """The myopic oracle: the action whose *window* costs least, knowing the true noise now.

        One-off transition costs (switch, recalibration) are left out: they buy many windows, and
        a rule that judges one window at a time cannot weigh them; so it switches whenever another
        entry is better for this window (it thrashes near boundaries). `clairvoyant_plan` is the
        exact upper reference.
        """
        cfg = self.reward_config
        if self.table.features.shape[2] > 1:  # calibration matters: evaluate every action
            costs = [self.expected_step_cost(a) for a in range(self.action_space.n)]
            costs[1] -= cfg.recalibration_cost
            for a in range(2, self.action_space.n):
                if a - 2 != self.entry:
                    costs[a] -= cfg.switch_cost
            best = int(np.argmin(costs))
            return 0 if best == 2 + self.entry else best
        t = min(self._t, len(self.trajectory) - 1)
        costs = self._error_cost[:, t] + self._static_cost[:, t]
        best = int(np.argmin(costs))
        return 0 if costs[best] >= costs[self.entry] else 2 + best

    def clairvoyant_plan(self) -> tuple[list[int], float]:
        """Exact best expected return of the rest of the episode, knowing the whole trajectory.

        Dynamic programming on expected costs. With a 1-D table (decoders calibrated, so
        recalibrating never pays) the state is the running entry; with a calibration table it is
        (running entry, step of the last recalibration), and the actions are keep, recalibrate
        and switch. Returns the actions from the current step on and the expected return.
        """
        if self.table.features.shape[2] > 1:
            return self._clairvoyant_calibration_plan()
        cost = (self._error_cost + self._static_cost)[:, self._t :]
        n_e, n_t = cost.shape
        sw = self.reward_config.switch_cost
        value = np.zeros(n_e)  # cost-to-go after the last step, per running entry
        choice = np.zeros((n_t, n_e), dtype=np.int64)
        for t in range(n_t - 1, -1, -1):
            stay = cost[:, t] + value  # entry j kept from j
            best_j = int(np.argmin(stay))
            switch_cost = stay[best_j] + sw
            # from running entry i: keep (stay[i]) or switch to the best other entry
            choice[t] = np.where(stay <= switch_cost, np.arange(n_e), best_j)
            value = np.minimum(stay, switch_cost)
        actions, entry = [], self.entry
        for t in range(n_t):
            nxt = int(choice[t, entry])
            actions.append(0 if nxt == entry else 2 + nxt)
            entry = nxt
        return actions, -float(value[self.entry])

    def _clairvoyant_calibration_plan(self) -> tuple[list[int], float]:
        cfg = self.reward_config
        t0, n_e = self._t, len(self.menu)
        steps = np.arange(t0, len(self.trajectory))
        n_t = len(steps)
        # calibration points: the current one (index 0) and a recalibration at every future step (1 + k)
        if self.recalibration == "oracle":
            future = self.m_true[steps]
        else:  # noise-free estimate of the K windows before each step; the actual estimate now
            log_m = np.log(self.m_true)
            csum = np.concatenate([[0.0], np.cumsum(log_m)])
            hi = np.maximum(steps, 1)  # windows max(0, k - K) .. max(k - 1, 0)
            lo = np.maximum(0, steps - self.recalibration_windows)
            lo = np.minimum(lo, hi - 1)
            future = np.exp((csum[hi] - csum[lo]) / (hi - lo))
            future[0] = self._recalibration_estimate()
        cal_m = np.concatenate([[self.m_assumed], future])
        p_shot = self.table.p_shot_grid(self.m_true[steps], cal_m)  # (E, T, 1 + T)
        rounds = np.array([e.distance for e in self.menu], dtype=np.float64)[:, None, None]
        cost = self._expected_error_cost(p_shot, np.broadcast_to(rounds, p_shot.shape))
        # the decode time, like the error, depends on the priors (the reward's latency term uses it)
        latency = self.table.decode_s_grid(self.m_true[steps], cal_m)
        cost = cost + (cfg.qubit_weight * self._qubits / cfg.reference_qubits)[:, None, None] + cfg.latency_weight * (
            np.maximum(0.0, latency / cfg.latency_budget_s - 1.0))
        n_c = n_t + 1
        value = np.zeros((n_e, n_c))  # cost-to-go after the last step, per (entry, calibration)
        choice = np.zeros((n_t, n_e, n_c), dtype=np.int64)  # 0 keep, 1 recalibrate, 2 + e switch
        idx = np.arange(n_e)
        for k in range(n_t - 1, -1, -1):
            here = cost[:, k, :] + value  # (E, C): run entry e this window under calibration c
            recal = cfg.recalibration_cost + cost[:, k, k + 1] + value[:, k + 1]  # (E,)
            order = np.argsort(here, axis=0)  # best and second-best entry per calibration
            best, second = order[0], order[1] if n_e > 1 else order[0]
            cols = np.arange(n_c)
            alt = np.where(idx[:, None] == best[None, :], second[None, :], best[None, :])  # best e' != e
            switch = cfg.switch_cost + here[alt, cols[None, :]]
            options = np.stack([here, np.broadcast_to(recal[:, None], here.shape), switch])  # (3, E, C)
            pick = np.argmin(options, axis=0)
            choice[k] = np.where(pick == 2, 2 + alt, pick)
            value = np.min(options, axis=0)
        actions, entry, cal = [], self.entry, 0
        for k in range(n_t):
            a = int(choice[k, entry, cal])
            if a == 1:
                cal = k + 1
            elif a >= 2:
                entry = a - 2
            actions.append(a)
        return actions, -float(value[self.entry, 0])

    def _recalibration_estimate(self) -> float:
        """Multiplier a recalibration now sets (estimate mode): the geometric mean of the syndrome-derived
        estimates (observation index 8) of the last ``recalibration_windows`` windows run."""
        return float(10.0 ** np.mean(self._recent_log_m))

    def _recalibrated_multiplier(self, t: int) -> float:
        """The assumed multiplier a recalibration at the current step gives (mode-dependent)."""
        return float(self.m_true[t]) if self.recalibration == "oracle" else self._recalibration_estimate()

    def _expected_p(self, entry: int, t: int, m_assumed: float) -> float:
        if self.table.features.shape[2] == 1:
            return float(self.expected_p[entry, t])
        return self.table.expected(entry, float(self.m_true[t]), m_assumed).p_round

    # ------------------------------------------------------------------ internals
    def _window_rng(self, t: int) -> np.random.Generator:
        """The generator of step ``t``'s window outcome (see "Randomness" in the class docstring)."""
        if not self.common_random_numbers:
            return self.np_random
        self._crn.state = self._crn_start
        self._crn.advance(t << 20)  # 2**20 draws per window: far more than one window uses
        return self._crn_rng

    def _run_window(self, *, switched: bool, recalibrated: bool, advance: bool):
        t = self._t
        rng = self._window_rng(t)
        entry = self.menu[self.entry]
        true = self._noise_for(self.entry, t)
        m_true = float(self.m_true[t])
        if self.table.features.shape[2] == 1:
            a = self._along
            p_shot, mean, std = a["p_shot"][self.entry, t], a["features"][self.entry, t], a["features_std"][self.entry, t]
            latency = a["decode_s"][self.entry, t]
        else:
            ex = self.table.expected(self.entry, m_true, self.m_assumed)
            p_shot, mean, std, latency = ex.p_shot, ex.features, ex.features_std, ex.decode_s_per_round
        events = None
        if self.backend == "circuit":
            stats = [
                # Noise changes every window: quantised (<= 1.8%) so compiled circuits are reused.
                simulate_window(spec, true, decoder=entry.decoder, assumed_noise=self._assumed_for(self.entry),
                                shots=self.shots, rng=rng, cache=self._cache, keep_events=self.raw_syndrome,
                                bins_per_decade=DEFAULT_BINS_PER_DECADE)
                for spec in entry.specs()
            ]
            errors = sum(s.errors for s in stats)
            if self._extra_p_shot is not None:  # failures the circuit cannot see, independent of its own
                errors += int(rng.binomial(self.shots - errors, float(self._extra_p_shot[self.entry, t])))
            feats = np.mean([window_features(s) for s in stats], axis=0)
            # wall-clock, so kept out of info (which must be deterministic for a seed)
            self.last_decode_seconds = sum(s.decode_seconds for s in stats)
            if self.raw_syndrome:
                events = stats[0].detection_events[: self.raw_shots]
        else:
            errors = int(rng.binomial(self.shots, min(p_shot, 1.0)))
            feats = mean + std * rng.standard_normal(len(FEATURES))
        p_round = estimated_p_round(errors, self.shots, entry.distance)
        reward = step_reward(
            self.reward_config,
            p_round=p_round if self.reward_estimator == "sampled" else per_round(min(float(p_shot), 0.5), entry.distance), qubits=int(self._qubits[self.entry]),
            latency_s=latency, switched=switched, recalibrated=recalibrated,
        )
        obs = self._observation(feats, m_true, events)
        info = {
            "scenario": self.scenario.name,
            "step": t,
            "true_noise": true,
            "true_multiplier": m_true,
            "assumed_multiplier": self.m_assumed,
            "entry": self.entry,
            "entry_label": entry.label,
            "logical_errors": int(errors),
            "shots": self.shots,
            "p_round": p_round,
            "expected_p_round": self._expected_p(self.entry, t, self.m_assumed),
            "qubits": int(self._qubits[self.entry]),
            "latency_s": float(latency),
            "switched": switched,
            "recalibrated": recalibrated,
        }
        if advance:
            self._t += 1
            self.since_switch += 1
            self.since_recal += 1
        if self._t < len(self.trajectory):
            info["oracle_action"] = self.oracle_action()
        return obs, reward, info

    def _nominal_latencies(self) -> np.ndarray:
        """Decode latency per round (s) of every menu entry at the axis baseline (m = 1, clipped to the grid).

        What a control system knows about its decoders before it runs them (a commissioning
        benchmark): one figure per configuration, independent of the noise of any window. The
        latency at the true noise is privileged (it is a noise-free function of that noise).
        """
        m_ref = float(np.clip(1.0, self.table.grid[0], self.table.grid[-1]))
        return np.array([self.table.expected(i, m_ref, m_ref).decode_s_per_round for i in range(len(self.menu))])

    def reset_estimators(self) -> None:
        """Forget the syndrome-derived noise estimates (the EMA of observation index 9 and the
        last K windows' estimates that estimated recalibration averages); `reset` and the
        replay advisor (`qec_gym.monitor.advise`) start every episode/recording with this."""
        self._ema: float | None = None
        self._recent_log_m: collections.deque[float] = collections.deque(maxlen=self.recalibration_windows)

    def measured_observation(self, feats: np.ndarray, events: np.ndarray | None, *, entry: int,
                             windows_since_switch: int, windows_since_recalibration: int):
        """The observation of a window measured outside the env (a replayed recording).

        A control system builds it from the window's syndrome features alone: the running entry
        and the windows since the last switch / recalibration are the recording's, and the
        syndrome-derived estimates advance as in `step` (call `reset_estimators` first).

        Args:
            feats: float (8,) window features (`qec_gym.envs.table.window_features`).
            events: bool (shots, detectors) detection events (the raw-syndrome observation) or None.
            entry: Menu index of the recording's configuration.
            windows_since_switch, windows_since_recalibration: Counters of observation 12 and 13.

        Raises:
            ValueError: the observation holds elements only the simulator knows (``privileged``,
                ``calibration_readout``).
        """
        if self.privileged or self.calibration_readout:
            raise ValueError("this env's observation holds the true noise (privileged=True or calibration_readout=True), "
                             "which a measured window does not carry: make the env with both False.")
        self.entry = int(entry)
        self.since_switch, self.since_recal = int(windows_since_switch), int(windows_since_recalibration)
        return self._observation(feats, float("nan"), events)

    def _observation(self, feats: np.ndarray, m_true: float, events):
        n_menu = len(self.menu)
        obs = np.zeros(len(self._obs_low), dtype=np.float64)
        obs[0:7] = feats[0:7]
        obs[7] = feats[7] / max(1, int(self.table.num_detectors[self.entry]))
        m_hat = self.table.estimate_multiplier(self.entry, float(feats[0]))
        log_m_hat = math.log10(max(m_hat, 1e-12))
        self._ema = log_m_hat if self._ema is None else 0.7 * self._ema + 0.3 * log_m_hat
        self._recent_log_m.append(log_m_hat)
        obs[8] = log_m_hat
        obs[9] = self._ema
        obs[10] = math.log10(max(float(self._nominal_latency[self.entry]), 1e-12))
        obs[11] = self._qubits[self.entry] / self._qubits.max()
        obs[12] = min(self.since_switch, 100) / 100
        obs[13] = min(self.since_recal, 100) / 100
        obs[N_BASE_FEATURES + self.entry] = 1.0
        k = N_BASE_FEATURES + n_menu
        if self.calibration_state:
            obs[k] = math.log10(self.m_assumed)
            obs[k + 1] = float(np.mean(self._recent_log_m))
            obs[k + 2] = obs[k + 1] - obs[k]
            k += N_CALIBRATION_STATE
        if self.calibration_readout:
            lagged = float(self.m_true[max(0, self._t - self.readout_lag)])
            obs[k] = math.log10(lagged) + self.readout_noise * float(self.np_random.standard_normal())
            k += 1
        if self.privileged:
            obs[k] = math.log10(m_true)
            obs[k + 1] = math.log10(self.m_assumed)
        features = np.clip(obs, self._obs_low, self._obs_high).astype(np.float32)
        if not self.raw_syndrome:
            return features
        padded = np.zeros((self.raw_shots, self._max_det), dtype=np.float32)
        if events is not None:
            padded[: events.shape[0], : events.shape[1]] = events
        return {"features": features, "events": padded}

    # ------------------------------------------------------------------ hooks
    def _get_scenario(self, name: str) -> Any:
        """The scenario called ``name`` in ``scenario_registry``."""
        if self.scenario_registry is SCENARIOS:
            return get_scenario(name)
        try:
            return self.scenario_registry[name]
        except (KeyError, TypeError):
            raise ValueError(f"unknown scenario {name!r}; valid: {sorted(self.scenario_registry)}.") from None

    def _build_table(self, *, table_windows: int, calibration_table: bool, table_cache: str | None) -> WindowTable:
        """The `WindowTable` of the table backend (built or loaded from the cache)."""
        return build_table(self._table_config(table_windows=table_windows, calibration_table=calibration_table),
                           cache_dir=table_cache)

    def _table_config(self, *, table_windows: int, calibration_table: bool) -> TableConfig:
        """The `TableConfig` of the table backend (``table_options`` add its fitted-format fields)."""
        try:
            return TableConfig(self.axis, self.menu, window_shots=self.shots, windows=table_windows,
                               assumed=calibration_table, **self.table_options)
        except TypeError as e:
            raise TypeError(f"table_options must hold TableConfig fields (target_errors, max_shots, smoothing, "
                            f"posterior_draws, seed): {e}") from None

    def _assumed_for(self, entry: int) -> NoiseParams:
        """The noise ``menu[entry]``'s decoder priors come from (circuit backend)."""
        if self._estimated_priors:
            return self.assumed_noise
        return self._noise_for(entry, self._cal_step)

    def _noise_for(self, entry: int, step: int) -> NoiseParams:
        """The noise ``menu[entry]`` runs under at ``step`` of the episode (default: the same for all)."""
        return self.trajectory[step]

    def _expected_error_cost(self, p_shot: np.ndarray, rounds: np.ndarray) -> np.ndarray:
        """Expected error term of the reward, shaped like ``p_shot`` (see `expected_error_cost`).

        The exact binomial sum costs ~25 ms per reset for a 10-entry menu (more when p_shot is
        large), which dominated the table backend's throughput. The expected cost is smooth in
        log p_shot, so it is tabulated once per distance (96 points per decade over 1e-12..1;
        interpolation error < 1e-3, tested) and interpolated at each reset.
        """
        p = np.clip(np.asarray(p_shot, dtype=np.float64), 1e-12, 1.0)
        rounds = np.broadcast_to(np.asarray(rounds), p.shape)
        out = np.empty_like(p)
        for r in np.unique(rounds):
            mask = rounds == r
            log_grid, cost = self._cost_curve(int(r))
            out[mask] = np.interp(np.log(p[mask]), log_grid, cost)
        return out

    def _cost_curve(self, rounds: int) -> tuple[np.ndarray, np.ndarray]:
        return _cost_curve(self.reward_config, self.shots, rounds, self.reward_estimator == "expected")

    def _extra_failure_probability(self) -> np.ndarray | None:
        """Per-shot probability (entries, steps) of failures outside the simulated circuit; None: none."""
        return None

    def _coordinates(self, trajectory: list[NoiseParams]) -> np.ndarray:
        """Axis multipliers of a trajectory (checks a few points lie on the axis exactly)."""
        fields = [f for f in _axis_fields(self.axis) if getattr(self.axis.baseline, f) > 0]
        ref = fields[0]
        m = np.array([getattr(n, ref) for n in trajectory]) / getattr(self.axis.baseline, ref)
        for i in {0, int(np.argmin(m)), int(np.argmax(m))}:
            try:
                self.axis.coordinate(trajectory[i])
            except ValueError as e:
                raise ValueError(f"scenario {self.scenario.name!r} does not fit this env's noise axis: {e}") from None
        return self._check_in_grid(m, fix=self._grid_fix())

    def _grid_fix(self) -> str:
        """How to build a table over a wider axis (``{low}``, ``{high}``, ``{points}`` filled in by `_check_in_grid`)."""
        env_id = self.spec.id if self.spec is not None else "<env id>"
        return (f"build a table whose axis covers it, gym.make({env_id!r}, axis=dataclasses.replace("
                "env.unwrapped.axis, low={low}, high={high}, points={points}), ...) or NoiseAxis(baseline, "
                f"{self.axis.key!r}, low={{low}}, high={{high}}, points={{points}}) (built on first use, a few "
                "minutes, then cached), or use backend='circuit' (no table)")

    def _check_in_grid(self, m: np.ndarray, *, fix: str, scenario: str | None = None) -> np.ndarray:
        """``m`` if every multiplier lies on the table's grid, else a ValueError naming the ranges and ``fix``.

        ``fix`` may hold ``{low}``, ``{high}`` and ``{points}``: a grid covering both the table's
        and the scenario's range at the table's density. Values are never clipped to the grid.
        ``scenario``: the name in the message (default: the current episode's).
        """
        grid = self.table.grid
        lo, hi = grid[0], grid[-1]
        m_lo, m_hi = float(m.min()), float(m.max())
        if m_lo < lo * (1 - 1e-9) or m_hi > hi * (1 + 1e-9):
            low, high = _round_out(min(lo, m_lo), up=False), _round_out(max(hi, m_hi), up=True)
            per_decade = (len(grid) - 1) / math.log10(hi / lo)
            points = int(math.ceil(per_decade * math.log10(high / low))) + 1
            if "{low}" not in fix:
                fix += " to cover {low}..{high} ({points} points)"
            raise ValueError(
                f"scenario {scenario or self.scenario.name!r} reaches noise multipliers {m_lo:.3g}..{m_hi:.3g}, outside the "
                f"table's grid {lo:.3g}..{hi:.3g} (noise is never clipped to the grid): "
                + fix.format(low=low, high=high, points=points) + "."
            )
        return m

    def _check_decodable(self) -> None:
        for entry in self.menu:
            problem = _decoding_problem(entry, self.axis.baseline)
            if problem is not None:
                raise ValueError(f"menu entry {entry.label!r} is not decodable: {problem}")

    def _render_line(self, info: dict, reward: float) -> str:
        return (
            f"t={info['step']:4d} {info['scenario']:<22} m={info['true_multiplier']:.2f} "
            f"{info['entry_label']:<40} errors={info['logical_errors']:4d}/{info['shots']} "
            f"p_round={info['p_round']:.2e} reward={reward:+.3f}"
        )


def scenario_option(options: dict | None, names: Sequence[str], rng: np.random.Generator) -> str:
    """The scenario an env's ``reset`` runs: ``options["scenario"]`` when given, else one of
    ``names`` drawn uniformly with the env's own generator."""
    name = (options or {}).get("scenario")
    return names[int(rng.integers(len(names)))] if name is None else name


@functools.lru_cache(maxsize=256)
def _decoding_problem(entry: MenuEntry, noise: NoiseParams) -> str | None:
    """Why ``entry``'s decoder cannot decode its circuits under ``noise`` (None: it can).

    Pure and memoised: building the circuits and DEMs of a 10-entry menu takes ~3 s, paid by
    every env construction otherwise.
    """
    from qec_gym.decoders import get_decoder

    cache = SimulationCache()
    for spec in entry.specs():
        try:
            detector_error_model(cache.circuit(spec, noise), get_decoder(entry.decoder), spec)
        except ValueError as e:
            return str(e)
    return None


@functools.lru_cache(maxsize=128)
def _cost_curve(cfg: RewardConfig, shots: int, rounds: int, expected: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(log p_shot grid, expected error cost) of `QECSwitchEnv._expected_error_cost`, read-only.

    ``expected``: the reward's error term is computed at the window's expected rate
    (``reward_estimator="expected"``), so its cost is that term at ``per_round(p_shot)``, not an
    average over the binomial spread of a sampled count.
    A pure function of its (frozen, hashable) arguments, memoised: each costs ~1 s, and every
    new env (vector copies, fitting and evaluation envs) would otherwise pay it again.
    """
    grid = np.geomspace(1e-12, 1.0, 12 * 96 + 1)
    if expected:
        p_round = (1 - (1 - 2 * np.minimum(grid, 0.5)) ** (1 / rounds)) / 2  # `per_round`, elementwise
        decades = np.log10(np.maximum(p_round, 1e-15) / cfg.target)
        cost = cfg.error_weight * (np.maximum(0.0, decades) if cfg.hinge else np.maximum(decades, -cfg.floor_decades))
    else:
        cost = expected_error_cost(cfg, grid, np.array(rounds), shots)
    curve = (np.log(grid), cost)
    for a in curve:
        a.setflags(write=False)
    return curve


def _round_out(x: float, *, up: bool) -> float:
    """``x`` rounded outward to two significant digits (a grid end that covers ``x``)."""
    scale = 10.0 ** (math.floor(math.log10(x)) - 1)
    return round(float((math.ceil(x / scale) if up else math.floor(x / scale)) * scale), 12)


def _axis_fields(axis: NoiseAxis) -> tuple[str, ...]:
    from qec_gym.noise.drift import FIELD_GROUPS

    return tuple(FIELD_GROUPS[axis.key])


def _as_action(action, n: int) -> int:
    try:
        a = int(np.asarray(action).item())
    except (TypeError, ValueError):
        raise ValueError(f"action must be an integer in [0, {n - 1}], got {action!r}.") from None
    if not 0 <= a < n or a != np.asarray(action).item():
        raise ValueError(f"action {action!r} is outside the action space: valid actions are 0..{n - 1} "
                         "(0 keep, 1 recalibrate, 2+i switch to menu[i]).")
    return a


def _with_extra_failures(along: dict[str, np.ndarray], extra: np.ndarray, rounds: np.ndarray) -> dict[str, np.ndarray]:
    """``along`` with independent extra per-shot failures ``extra`` (entries, steps) folded in."""
    p = along["p_shot"]
    p_shot = p + extra - p * extra
    ps = np.minimum(p_shot, 0.5)
    p_round = (1 - (1 - 2 * ps) ** (1 / rounds[:, None])) / 2
    return {**along, "p_shot": p_shot, "p_round": p_round}


def _custom_scenarios(scenarios: Any, registry: Mapping[str, Any]) -> dict[str, Any]:
    """Name -> object of the scenario objects in ``scenarios`` that ``registry`` does not hold.

    An object equal to the registered scenario of its name is not custom. Raises TypeError for an
    object of another type than the registry's, ValueError for an object that reuses a registered
    name with other content or two different objects under one name.
    """
    if isinstance(scenarios, (str, bytes)):
        return {}
    items = [scenarios] if hasattr(scenarios, "name") and hasattr(scenarios, "split") else scenarios
    if isinstance(items, Mapping) or not isinstance(items, Iterable):
        return {}  # resolve_scenarios names the problem
    kinds = tuple({type(s) for s in registry.values()})
    out: dict[str, Any] = {}
    for item in items:
        if isinstance(item, (str, bytes)) or not (hasattr(item, "name") and hasattr(item, "split")):
            continue
        if kinds and not isinstance(item, kinds):
            wanted = " or ".join(k.__name__ for k in kinds)
            raise TypeError(
                f"this env draws {wanted} scenarios, got a {type(item).__name__} ({item.name!r}): build a "
                f"{wanted} with the same drift (e.g. drift=Replay(values) for a recorded trace), or use an env "
                f"whose scenarios are {type(item).__name__} objects."
            )
        known = out.get(item.name, registry.get(item.name))
        if known is None:
            out[item.name] = item
        elif known != item:
            raise ValueError(
                f"two different scenarios are both named {item.name!r} (a registered one or another object given "
                "here): rename yours, e.g. dataclasses.replace(scenario, name='my_" + item.name + "') or "
                "Scenario.from_trace(..., name=...)."
            )
    return out


def _resolve_scenarios(
    scenarios: Any, pool: Sequence[str], registry: Mapping[str, Any] = SCENARIOS
) -> tuple[str, ...]:
    # One resolver for every naming form (qec_gym.noise.scenarios.resolve_scenarios).
    return resolve_scenarios(scenarios, registry=registry, pool=pool)
