"""`QECSwitchVectorEnv`: N copies of a table-backend `QECSwitchEnv` stepped together in batched numpy.

The single env (`qec_gym.envs.switch_env.QECSwitchEnv`) stays the reference: this class reads
everything it needs (menu, `WindowTable`, reward, observation bounds, nominal latencies, scenario
registry) from a *template* single env and reproduces its dynamics copy by copy, as gymnasium's
own ``CartPoleVectorEnv`` does for CartPole. Same spaces, same distributions, not the same
random stream: one `numpy.random.Generator` (``self.np_random``) draws for all copies at once.

Per copy and step (all copies in one numpy call each):

* drift: at a copy's reset its scenario is drawn uniformly from the env's scenarios and its
  trajectory from ``Scenario.multipliers`` (arrays; no `NoiseParams` objects), converted to the
  table axis' multiplier exactly as the single env's ``_coordinates`` does (checked at
  construction against ``NoiseAxis.coordinate``);
* table lookup: linear in log m (1-D tables, as `WindowTable.along`) or bilinear in log true x
  log assumed multiplier (calibration tables, as `WindowTable.expected`);
* logical failures ``Binomial(shots, p_shot)`` (cat: analytic bit flips folded in as independent,
  as `CatSwitchEnv`), features ``mean + std * N(0, 1)``;
* observation: the single env's layout (index 8 the syndrome-derived estimate, 9 its EMA, 10 the
  running entry's nominal latency, optional calibration state, calibration readout and privileged indices);
* reward `qec_gym.envs.reward.step_rewards` (elementwise `step_reward`) of the sampled or, with
  ``reward_estimator="expected"``, the expected logical error per round;
* recalibration: the true multiplier now (``recalibration="oracle"``) or the geometric mean of the
  copy's last ``recalibration_windows`` syndrome-derived estimates (``"estimate"``, a ring buffer
  per copy), as the single env.

Autoreset follows gymnasium 1.x (`gymnasium.vector.AutoresetMode`): ``NEXT_STEP`` (default;
the step after a truncation resets that copy, ignores its action and returns reward 0) or
``SAME_STEP`` (the truncating step resets at once; ``info["final_obs"]`` and
``info["final_info"]`` hold the last observation and info, as `gymnasium.vector.SyncVectorEnv`).
An episode is truncated after its scenario's ``episode_length`` steps (or ``max_steps``), never
terminated; reset runs the first window without advancing time, as the single env.

Info (arrays of shape (N,), each with its ``_key`` mask): ``scenario`` (object), ``step``,
``true_multiplier``, ``assumed_multiplier``, ``entry``, ``logical_errors``, ``shots``,
``p_round``, ``expected_p_round``, ``qubits``, ``latency_s``, ``switched``, ``recalibrated``
(cat: also ``kappa1_over_kappa2``, ``nbar``, ``distance``, ``bit_flip_round``). ``drift_draw``
(object: the single env's reset ``drift_draw`` dict) is present, masked, for the copies whose episode
began in this call: at ``reset``, at the ``NEXT_STEP`` step that resets a copy, and at a ``SAME_STEP``
truncation (for the new episode; ``final_info`` has none). Not provided
(they cost Python objects or a per-copy search every step): ``true_noise``, ``entry_label``,
``oracle_action``; use the single env for those.

Supported: the table backend of `QECSwitchEnv` and `CatSwitchEnv` (SurfaceSwitch, PhotonicSwitch,
DecoderCalibration, CatSwitch). Refused with a ValueError: the circuit backend and raw-syndrome
observations (SurfaceSwitchRaw), and subclasses whose hooks this class does not know.

Example:
    >>> import gymnasium as gym
    >>> import qec_gym
    >>> envs = gym.make_vec("qec_gym/SurfaceSwitch-v1", num_envs=4, vectorization_mode="vector_entry_point")
    >>> obs, info = envs.reset(seed=0)
    >>> obs.shape, obs.dtype, envs.single_action_space
    ((4, 24), dtype('float32'), Discrete(12))
    >>> obs, reward, terminated, truncated, info = envs.step(np.zeros(4, dtype=np.int64))
    >>> reward.shape, info["entry"].tolist()
    ((4,), [2, 2, 2, 2])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from qec_gym.envs.cat_env import CatSwitchEnv
from qec_gym.envs.reward import step_rewards
from qec_gym.envs.switch_env import N_BASE_FEATURES, N_CALIBRATION_STATE, QECSwitchEnv, _axis_fields
from qec_gym.envs.table import FEATURES
from qec_gym.noise.drift import FIELD_GROUPS

__all__ = ["QECSwitchVectorEnv", "vector_entry_point"]

_INFO_KEYS = (
    "scenario", "step", "true_multiplier", "assumed_multiplier", "entry", "logical_errors", "shots", "p_round",
    "expected_p_round", "qubits", "latency_s", "switched", "recalibrated",
)


def _per_round(p_shot: np.ndarray, rounds: np.ndarray) -> np.ndarray:
    """`qec_gym.sim.stats.per_round` elementwise for p_shot in [0, 1/2] (callers clip)."""
    return (1 - (1 - 2 * p_shot) ** (1 / rounds)) / 2


class QECSwitchVectorEnv(VectorEnv):
    """N copies of a table-backend `QECSwitchEnv` (or `CatSwitchEnv`) in batched numpy (module doc).

    Args:
        env: The template single env (unwrapped or wrapped; its ``unwrapped`` is used). Its
            arguments (menu, table, reward, scenarios, ``max_steps``, readouts, ...) define every
            copy; it is never stepped.
        num_envs: Copies N (>= 1).
        autoreset_mode: ``AutoresetMode.NEXT_STEP`` (default) or ``SAME_STEP`` (or their values).

    Raises:
        TypeError: ``env`` is not a `QECSwitchEnv`, or a subclass other than `CatSwitchEnv`.
        ValueError: circuit backend or raw syndromes, ``num_envs < 1``, an unknown autoreset mode, or
            a scenario that does not lie on the table's axis.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, env: QECSwitchEnv, num_envs: int, *, autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP):
        base = getattr(env, "unwrapped", env)
        if type(base) not in (QECSwitchEnv, CatSwitchEnv):
            raise TypeError(
                f"QECSwitchVectorEnv steps QECSwitchEnv or CatSwitchEnv copies, got {type(base).__name__}: a subclass "
                "may override hooks this class does not reproduce; vectorise it with gymnasium.vector.SyncVectorEnv."
            )
        if base.backend != "table" or base.raw_syndrome:
            raise ValueError(
                "QECSwitchVectorEnv needs backend='table' without raw syndromes (it samples windows from the "
                "table); for the circuit backend use gym.make_vec(..., vectorization_mode='sync') or 'async'."
            )
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be an int >= 1, got {num_envs!r}.")
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ValueError(f"autoreset_mode must be NextStep or SameStep, got {autoreset_mode!r}.") from None
        if mode == AutoresetMode.DISABLED:
            raise ValueError("autoreset_mode DISABLED is not supported: use NEXT_STEP or SAME_STEP.")
        self.env = base
        self.num_envs = int(num_envs)
        self.autoreset_mode = mode
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.render_mode = None
        self.single_observation_space = base.observation_space
        self.single_action_space = base.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

        table = base.table
        self._table = table
        self._two_d = table.features.shape[2] > 1
        self._n_actions = int(base.action_space.n)
        self._n_menu = len(base.menu)
        self._rounds = table.rounds  # (E,) float64: rounds per shot = distance
        self._qubits = base._qubits
        self._qubit_frac = base._qubits / base._qubits.max()
        self._log_nominal = np.log10(np.maximum(base._nominal_latency, 1e-12))
        self._num_det = np.maximum(1, table.num_detectors.astype(np.int64)).astype(np.float64)
        self._curves = np.stack(table._monotone_rates)  # (E, G), each nondecreasing
        # All entries' curves in one nondecreasing array (entry e shifted by 2e; rates lie in [0, 1]):
        # one searchsorted finds every copy's interval in its own entry's curve.
        self._curves_flat = (self._curves + 2.0 * np.arange(len(self._curves))[:, None]).ravel()
        if not self._two_d:
            # (E, G, 2 + 2 F): log p_shot, features, features_std, decode_s of the 1-D table side by side,
            # so a step's lookup is two gathers; elementwise the same lerp as `WindowTable.along`.
            self._packed = np.concatenate(
                [table._log_p[:, :, 0, None], table.features[:, :, 0], table.features_std[:, :, 0],
                 table.decode_s[:, :, 0, None]], axis=2)
        # p_round estimated from a window's failures takes shots + 1 values per entry: tabulated
        # (same formula as `estimated_p_round`), a gather instead of a power per copy and step.
        q = np.minimum((np.arange(base.shots + 1) + 0.5) / (base.shots + 1.0), 0.5)
        self._p_round_of_errors = _per_round(q[None, :], table.rounds[:, None])
        self._log_grid = table._log_grid
        self._obs_low, self._obs_high = base._obs_low, base._obs_high
        self._is_cat = isinstance(base, CatSwitchEnv)
        if self._is_cat:
            from qec_gym.bosonic.channel import cx_bitflip_probability, cx_bitflip_table

            point = base.kappa_axis.point
            self._nbar = np.array([x.nbar for x in base.menu])
            if point.cx_bitflip != "gouzien2023":  # a solved table ("simulated", "simulated-shifted")
                # log p_cx is multilinear in (nbar, log k1, log T) in the CX table, so at one entry's
                # nbar and T it is piecewise linear in log k1 with nodes at the table's k1 grid:
                # np.interp over those nodes reproduces `cx_bitflip_probability` for every copy at once.
                grid_k1 = np.asarray(cx_bitflip_table(point.cx_bitflip).grid.kappa1_over_kappa2, dtype=np.float64)
                self._cx_log_k1 = np.log(grid_k1)
                self._cx_log_p = np.log([[cx_bitflip_probability(point.replace(nbar=x.nbar), k) for k in grid_k1]
                                         for x in base.menu])
            else:  # Gouzien et al.'s law does not depend on kappa_1
                self._cx_log_k1 = None
                self._p_cx = np.array([cx_bitflip_probability(point.replace(nbar=x.nbar)) for x in base.menu])
        self._names = np.array(base.scenario_names, dtype=object)
        self._scenarios = [base._get_scenario(n) for n in base.scenario_names]
        self._lengths = np.array(
            [s.episode_length if base.max_steps is None else base.max_steps for s in self._scenarios], dtype=np.int64
        )
        self._scale = np.array([self._axis_scale(s) for s in self._scenarios])
        t_max = int(self._lengths.max())
        n = self.num_envs
        self._m = np.ones((n, t_max))
        self._gi = np.zeros((n, t_max), dtype=np.int64)  # grid interval of m_true per step
        self._gw = np.zeros((n, t_max))  # weight of its upper point
        self._scen = np.zeros(n, dtype=np.int64)
        self._len = np.ones(n, dtype=np.int64)
        self._t = np.zeros(n, dtype=np.int64)
        self._entry = np.full(n, base.initial_entry, dtype=np.int64)
        self._m_assumed = np.ones(n)
        self._since_switch = np.zeros(n, dtype=np.int64)
        self._since_recal = np.zeros(n, dtype=np.int64)
        self._ema = np.zeros(n)
        self._estimate_mode = base.recalibration == "estimate"
        # the ring buffer serves estimated recalibration and the calibration-state observation
        self._track_recent = self._estimate_mode or base.calibration_state
        self._recent = np.full((n, base.recalibration_windows), np.nan)  # log10 estimates, ring buffer
        self._recent_pos = np.zeros(n, dtype=np.int64)
        self._autoreset = np.zeros(n, dtype=bool)
        self._started = False

    # ------------------------------------------------------------------ construction helpers
    def _axis_scale(self, scenario) -> Callable[[Any], np.ndarray]:
        """Function: ``scenario.multipliers(...)`` -> this table's axis multiplier per step.

        Surface/photonic scenarios: the axis' reference field (its first non-zero field, as
        `QECSwitchEnv._coordinates`) is the scenario baseline's times every drift key covering it,
        clipped to [0, 1] (`qec_gym.noise.drift.noise_trajectory`), over the axis baseline's.
        Checked once here against `NoiseAxis.coordinate` of the scenario's `NoiseParams`
        trajectory (which also checks every other field lies on the axis). Cat scenarios drive
        ``kappa_1 / kappa_2`` directly.
        """
        base = self.env
        if self._is_cat:
            ratio = scenario.kappa1_over_kappa2

            def convert(mult):
                return ratio * np.asarray(mult, dtype=np.float64) / base.kappa_axis.kappa1_over_kappa2

            return convert
        axis = base.axis
        ref = next(f for f in _axis_fields(axis) if getattr(axis.baseline, f) > 0)
        keys = [k for k in scenario.drifts.keys if k != "eta" and ref in FIELD_GROUPS[k]]
        start, denominator = getattr(scenario.baseline, ref), getattr(axis.baseline, ref)

        def convert(mult):
            v = np.full(len(next(iter(mult.values()))), start)
            for k in keys:
                v = v * mult[k]
            return np.clip(v, 0.0, 1.0) / denominator

        probe = 32
        m = convert(scenario.multipliers(np.random.default_rng(0), n_steps=probe))
        trajectory = scenario.trajectory(np.random.default_rng(0), n_steps=probe)
        try:
            reference = np.array([axis.coordinate(noise) for noise in trajectory])
        except ValueError as e:
            raise ValueError(f"scenario {scenario.name!r} does not fit this env's noise axis: {e}") from None
        if not np.allclose(m, reference, rtol=1e-9, atol=0.0):
            raise ValueError(
                f"scenario {scenario.name!r}: its multipliers do not map onto the table's axis as its noise "
                "trajectory does; vectorise this env with gymnasium.vector.SyncVectorEnv."
            )
        return convert

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Reset every copy (or those of ``options["reset_mask"]``); returns (obs (N, n_obs), info).

        ``options["scenario"]``: a scenario name for the copies reset (else drawn uniformly).
        """
        super().reset(seed=seed)
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        mask = np.ones(self.num_envs, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        if mask.shape != (self.num_envs,):
            raise ValueError(f"options['reset_mask'] must have shape ({self.num_envs},), got {mask.shape}.")
        if not self._started and not mask.all():
            raise ValueError("the first reset must reset every copy: leave out options['reset_mask'].")
        idx = np.flatnonzero(mask)
        draws = self._reset_copies(idx, options.get("scenario"))
        self._started = True
        self._autoreset[idx] = False
        obs, _, info = self._window(idx, np.zeros(len(idx), bool), np.zeros(len(idx), bool))
        if len(idx) < self.num_envs:
            full_obs = np.zeros(self.observation_space.shape, dtype=np.float32)
            full_obs[idx] = obs
            obs, info = full_obs, _scatter_info(info, idx, self.num_envs)
        info.update(_draw_info(draws, idx, self.num_envs))
        return obs, info

    def step(self, actions):
        """Step every copy with ``actions`` (N,) ints; returns (obs, reward, terminated, truncated, info)."""
        if not self._started:
            raise RuntimeError("call reset() before step().")
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or not (np.issubdtype(a.dtype, np.integer) or _integral(a)):
            raise ValueError(f"actions must be {self.num_envs} integers (shape ({self.num_envs},)), got {a!r}.")
        a = a.astype(np.int64)
        if a.min() < 0 or a.max() >= self._n_actions:
            raise ValueError(f"actions must lie in 0..{self._n_actions - 1} (0 keep, 1 recalibrate, 2+i switch "
                             f"to menu[i]), got {a.min()}..{a.max()}.")
        all_idx = np.arange(self.num_envs)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            resetting = self._autoreset.copy()
            acting = ~resetting
        else:
            resetting = np.zeros(self.num_envs, dtype=bool)
            acting = np.ones(self.num_envs, dtype=bool)
        recal = acting & (a == 1)
        switched = acting & (a >= 2) & (a - 2 != self._entry)
        r = np.flatnonzero(recal)
        if self._estimate_mode:
            self._m_assumed[r] = 10.0 ** np.nanmean(self._recent[r], axis=1)
        else:
            self._m_assumed[r] = self._m[r, self._t[r]]
        self._since_recal[r] = 0
        s = np.flatnonzero(switched)
        self._entry[s] = a[s] - 2
        self._since_switch[s] = 0
        draws = self._reset_copies(np.flatnonzero(resetting), None) if resetting.any() else None
        obs, reward, info = self._window(all_idx, switched, recal)
        if draws is not None:  # the reset's info of the copies reset now (NEXT_STEP)
            info.update(_draw_info(draws, np.flatnonzero(resetting), self.num_envs))
        self._t += acting
        self._since_switch += acting
        self._since_recal += acting
        truncated = acting & (self._t >= self._len)
        reward[resetting] = 0.0
        terminated = np.zeros(self.num_envs, dtype=bool)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._autoreset = truncated.copy()
            return obs, reward, terminated, truncated, info
        done = np.flatnonzero(truncated)
        if len(done):
            final_obs = np.full(self.num_envs, None, dtype=object)
            final_obs[done] = list(obs[done])
            final_info = _select_info(info, done, self.num_envs)
            draws = self._reset_copies(done, None)
            n0 = np.zeros(len(done), bool)
            new_obs, _, new_info = self._window(done, n0, n0)
            obs[done] = new_obs
            for k, v in new_info.items():
                if not k.startswith("_"):
                    info[k][done] = v
            mask = np.zeros(self.num_envs, dtype=bool)
            mask[done] = True
            info.update(final_obs=final_obs, _final_obs=mask, final_info=final_info, _final_info=mask.copy(),
                        **_draw_info(draws, done, self.num_envs))
        return obs, reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """Valid actions per copy, bool (N, n_actions): switching to the running entry is masked (MaskablePPO)."""
        mask = np.ones((self.num_envs, self._n_actions), dtype=bool)
        mask[np.arange(self.num_envs), 2 + self._entry] = False
        return mask

    def get_state(self) -> dict:
        """A deep copy of every copy's state and of ``np_random`` (for exact checkpoint/resume)."""
        names = ("_m", "_gi", "_gw", "_scen", "_len", "_t", "_entry", "_m_assumed", "_since_switch", "_since_recal",
                 "_ema", "_recent", "_recent_pos", "_autoreset", "_started")
        state = {k: np.copy(getattr(self, k)) for k in names}
        state["rng"] = self.np_random.bit_generator.state
        return state

    def set_state(self, state: dict) -> None:
        """Restore a `get_state` snapshot (of an env with the same template and ``num_envs``)."""
        if state["_t"].shape != (self.num_envs,):
            raise ValueError(f"the state is of {state['_t'].shape[0]} copies, this env has {self.num_envs}.")
        for k, v in state.items():
            if k == "rng":
                bit_generator = getattr(np.random, v["bit_generator"])()
                bit_generator.state = v
                self._np_random = np.random.Generator(bit_generator)
            elif k == "_started":
                self._started = bool(v)
            else:
                setattr(self, k, np.copy(v))

    # ------------------------------------------------------------------ internals
    def _reset_copies(self, idx: np.ndarray, scenario: str | None) -> list[dict]:
        """Draw a scenario and its trajectory for copies ``idx`` (NumPy ints) and reset their state.

        Returns each copy's ``drift_draw`` (what its scenario drew for the episode), in ``idx`` order.
        """
        if scenario is None:
            choice = self.np_random.integers(len(self._scenarios), size=len(idx))
        else:
            if scenario not in self.env.scenario_registry:
                raise ValueError(f"unknown scenario {scenario!r}; valid: {sorted(self.env.scenario_registry)}.")
            names = list(self._names)
            if scenario not in names:  # allowed by the single env too: any registered name via options
                self._add_scenario(scenario)
                names = list(self._names)
            choice = np.full(len(idx), names.index(scenario))
        fix = "widen kappa1_range" if self._is_cat else self.env._grid_fix()
        draws = []
        for i, c in zip(idx.tolist(), choice.tolist()):
            n = int(self._lengths[c])
            draws.append({})
            m = self._scale[c](self._scenarios[c].multipliers(self.np_random, n_steps=n, draws=draws[-1]))
            self.env._check_in_grid(m, fix=fix, scenario=str(self._names[c]))
            self._m[i, :n] = m
            self._m[i, n:] = m[-1]
        self._scen[idx] = choice
        self._len[idx] = self._lengths[choice]
        self._gi[idx], self._gw[idx] = self._grid_weights(self._m[idx])
        self._t[idx] = 0
        self._entry[idx] = self.env.initial_entry
        self._m_assumed[idx] = self._m[idx, 0]
        self._since_switch[idx] = 0
        self._since_recal[idx] = 0
        self._ema[idx] = np.nan  # the first window's estimate starts the EMA
        self._recent[idx] = np.nan
        self._recent_pos[idx] = 0
        return draws

    def _add_scenario(self, name: str) -> None:
        scenario = self.env._get_scenario(name)
        self._scenarios.append(scenario)
        self._names = np.append(self._names, np.array([name], dtype=object))
        length = scenario.episode_length if self.env.max_steps is None else self.env.max_steps
        self._lengths = np.append(self._lengths, length)
        self._scale = np.append(self._scale, np.array([self._axis_scale(scenario)], dtype=object))
        if length > self._m.shape[1]:
            pad = length - self._m.shape[1]
            self._m = np.pad(self._m, ((0, 0), (0, pad)), mode="edge")
            self._gi = np.pad(self._gi, ((0, 0), (0, pad)), mode="edge")
            self._gw = np.pad(self._gw, ((0, 0), (0, pad)), mode="edge")

    def _grid_weights(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid interval i and weight w of the upper point for multipliers ``m`` (as `WindowTable.along`)."""
        g = self._log_grid
        lm = np.log(m)
        i = np.clip(np.searchsorted(g, lm) - 1, 0, len(g) - 2)
        w = np.clip((lm - g[i]) / (g[i + 1] - g[i]), 0.0, 1.0)
        return i, w

    def _lookup(self, e: np.ndarray, i: np.ndarray, w: np.ndarray, m_assumed: np.ndarray):
        """Interpolated (log p_shot, features, features_std, decode_s) of entries ``e`` at grid weights (i, w)."""
        tab = self._table
        if not self._two_d:  # one gather per grid side from the packed columns (see __init__)
            w2 = w[:, None]
            v = (1 - w2) * self._packed[e, i] + w2 * self._packed[e, i + 1]
            nf = len(FEATURES)
            return v[:, 0], v[:, 1:1 + nf], v[:, 1 + nf:1 + 2 * nf], v[:, 1 + 2 * nf]
        j, wj = self._grid_weights(m_assumed)
        corners = [(ti, tw, aj, aw) for ti, tw in ((i, 1 - w), (i + 1, w)) for aj, aw in ((j, 1 - wj), (j + 1, wj))]

        def bilinear(arr):
            out = 0.0
            for ti, tw, aj, aw in corners:
                c = tw * aw
                out = out + (c[:, None] if arr.ndim == 4 else c) * arr[e, ti, aj]
            return out

        return bilinear(tab._log_p), bilinear(tab.features), bilinear(tab.features_std), bilinear(tab.decode_s)

    def _window(self, idx: np.ndarray, switched: np.ndarray, recal: np.ndarray):
        """Run the current window of copies ``idx`` (k,), whose actions switched / recalibrated (bool (k,)).

        Returns (obs (k, n_obs) float32, reward (k,) float64, info arrays (k,)).
        """
        base = self.env
        k = len(idx)
        sw, rc = switched, recal
        t = self._t[idx]
        e = self._entry[idx]
        m_true = self._m[idx, t]
        m_assumed = self._m_assumed[idx]
        lp, mean, std, latency = self._lookup(e, self._gi[idx, t], self._gw[idx, t], m_assumed)
        p_shot = np.exp(lp)
        rounds = self._rounds[e]
        if self._is_cat:
            k1 = m_true * base.kappa_axis.kappa1_over_kappa2
            flip_round = self._bit_flips(e, k1)
            extra = (1.0 - (1.0 - 2.0 * flip_round) ** rounds) / 2.0
            p_shot = p_shot + extra - p_shot * extra
        expected_p = _per_round(np.minimum(p_shot, 0.5), rounds)
        rng = self.np_random
        errors = rng.binomial(base.shots, np.minimum(p_shot, 1.0))
        feats = mean + std * rng.standard_normal((k, len(FEATURES)))
        p_round = self._p_round_of_errors[e, errors]
        reward = step_rewards(base.reward_config, p_round=p_round if base.reward_estimator == "sampled" else expected_p, qubits=self._qubits[e], latency_s=latency,
                              switched=sw, recalibrated=rc)
        obs = self._observation(idx, e, t, feats, m_true, m_assumed)
        info = {
            "scenario": self._names[self._scen[idx]],
            "step": t.copy(),
            "true_multiplier": m_true,
            "assumed_multiplier": m_assumed.copy(),
            "entry": e.copy(),
            "logical_errors": errors,
            "shots": np.full(k, base.shots, dtype=np.int64),
            "p_round": p_round,
            "expected_p_round": expected_p,
            "qubits": self._qubits[e].astype(np.int64),
            "latency_s": latency,
            "switched": sw.copy(),
            "recalibrated": rc.copy(),
        }
        if self._is_cat:
            info.update(kappa1_over_kappa2=k1, nbar=self._nbar[e], distance=rounds.astype(np.int64), bit_flip_round=flip_round)
        ones = np.ones(k, dtype=bool)
        info.update({f"_{key}": ones for key in list(info)})
        return obs, reward, info

    def _bit_flips(self, e: np.ndarray, k1: np.ndarray) -> np.ndarray:
        """Logical bit flip per round of cat entries ``e`` at loss ``k1``: `bit_flip_per_round_array` batched.

        That function takes one (distance, nbar) per call and costs ~1 ms (an interpolator call),
        so a loop over the running entries would dominate a step. Here one `rates_batch` call
        serves every copy (nbar broadcast per copy), and the CX bit flips come from `_cx_bitflips`
        (once per entry for Gouzien's law, which ignores kappa_1; interpolated per copy for the
        simulated law); the closed form
        ``(1 - (1 - 2 p_idle)^(2d - 1) (1 - 2 p_cx)^(2(d - 1))) / 2`` is that function's (tested equal).
        Without the packaged rate table, or outside it, falls back to that function per entry.
        """
        from qec_gym.bosonic.channel import bit_flip_per_round_array, flip_probability, packaged_cat_table

        base = self.env
        point = base.kappa_axis.point
        source = packaged_cat_table()
        try:
            if source is None:
                raise ValueError("no packaged cat rate table")
            gamma_x, _ = source.rates_batch(self._nbar[e], k1, kappaphi_over_kappa2=point.kappaphi_over_kappa2)
        except ValueError:
            out = np.empty(len(e))
            for entry in np.unique(e):
                sel = e == entry
                x = base.menu[entry]
                out[sel] = bit_flip_per_round_array(x.distance, point.replace(nbar=x.nbar), k1[sel])
            return out
        d = self._rounds[e]
        p_idle = np.asarray(flip_probability(gamma_x, point.t_round))
        return 0.5 * (1.0 - (1.0 - 2.0 * p_idle) ** (2 * d - 1) * (1.0 - 2.0 * self._cx_bitflips(e, k1)) ** (2 * (d - 1)))

    def _cx_bitflips(self, e: np.ndarray, k1: np.ndarray) -> np.ndarray:
        """CX bit-flip probability of cat entries ``e`` at loss ``k1`` (`cx_bitflip_probability`, batched)."""
        if self._cx_log_k1 is None:
            return self._p_cx[e]
        log_k1 = np.log(k1)
        lo, hi = self._cx_log_k1[0], self._cx_log_k1[-1]
        if np.any(log_k1 < lo - 1e-9) or np.any(log_k1 > hi + 1e-9):
            raise ValueError(f"kappa1/kappa2 outside the CX bit-flip table ({np.exp(lo):g}..{np.exp(hi):g}); "
                             "build a table on a wider CXTableGrid (benchmarks/cx_bitflip_table.py)")
        out = np.empty(len(e))
        for entry in np.unique(e):
            sel = e == entry
            out[sel] = np.exp(np.interp(log_k1[sel], self._cx_log_k1, self._cx_log_p[entry]))
        return out

    def _observation(self, idx, e, t, feats, m_true, m_assumed) -> np.ndarray:
        """The single env's `_observation` for copies ``idx`` (updates their EMA)."""
        base = self.env
        k = len(idx)
        obs = np.zeros((k, len(self._obs_low)))
        obs[:, 0:7] = feats[:, 0:7]
        obs[:, 7] = feats[:, 7] / self._num_det[e]
        log_m_hat = np.log10(np.maximum(np.exp(self._estimate_log_m(e, feats[:, 0])), 1e-12))
        ema = self._ema[idx]
        ema = np.where(np.isnan(ema), log_m_hat, 0.7 * ema + 0.3 * log_m_hat)
        self._ema[idx] = ema
        if self._track_recent:  # only these read the ring buffer; keep it off the hot path
            self._recent[idx, self._recent_pos[idx] % self._recent.shape[1]] = log_m_hat
            self._recent_pos[idx] += 1
        obs[:, 8] = log_m_hat
        obs[:, 9] = ema
        obs[:, 10] = self._log_nominal[e]
        obs[:, 11] = self._qubit_frac[e]
        obs[:, 12] = np.minimum(self._since_switch[idx], 100) / 100
        obs[:, 13] = np.minimum(self._since_recal[idx], 100) / 100
        obs[np.arange(k), N_BASE_FEATURES + e] = 1.0
        col = N_BASE_FEATURES + self._n_menu
        if base.calibration_state:
            obs[:, col] = np.log10(m_assumed)
            obs[:, col + 1] = np.nanmean(self._recent[idx], axis=1)
            obs[:, col + 2] = obs[:, col + 1] - obs[:, col]
            col += N_CALIBRATION_STATE
        if base.calibration_readout:
            lagged = self._m[idx, np.maximum(0, t - base.readout_lag)]
            obs[:, col] = np.log10(lagged) + base.readout_noise * self.np_random.standard_normal(k)
            col += 1
        if base.privileged:
            obs[:, col] = np.log10(m_true)
            obs[:, col + 1] = np.log10(m_assumed)
        return np.clip(obs, self._obs_low, self._obs_high).astype(np.float32)

    def _estimate_log_m(self, e: np.ndarray, rate: np.ndarray) -> np.ndarray:
        """ln of `WindowTable.estimate_multiplier` for each (entry, rate): np.interp of the entry's curve.

        np.interp picks the interval with ``xp[j] <= x < xp[j+1]`` (so flat stretches of the
        nondecreasing curve are never interpolated over) and returns the end values outside.
        """
        g = self._log_grid
        n_g = len(g)
        shift = 2.0 * e
        j = np.searchsorted(self._curves_flat, rate + shift, side="right") - 1 - e * n_g
        j = np.clip(j, 0, n_g - 2)
        x0, x1 = self._curves[e, j], self._curves[e, j + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (g[j + 1] - g[j]) / (x1 - x0) * (rate - x0) + g[j]
        out = np.where(x1 > x0, out, g[j])
        out = np.where(rate < self._curves[e, 0], g[0], out)
        return np.where(rate >= self._curves[e, -1], g[-1], out)

def _integral(a: np.ndarray) -> bool:
    return np.issubdtype(a.dtype, np.floating) and bool(np.all(np.isfinite(a)) and np.all(a == np.round(a)))


def _select_info(info: dict, rows: np.ndarray, n: int) -> dict:
    """Copies of ``info``'s arrays with only ``rows`` marked present (others zero / None)."""
    return _scatter_info({k: v[rows] for k, v in info.items() if not k.startswith("_")}, rows, n)


def _draw_info(draws: list[dict], rows: np.ndarray, n: int) -> dict:
    """``drift_draw`` (object (n,): the draws of the copies ``rows`` just reset, None elsewhere) and its mask."""
    full = np.full(n, None, dtype=object)
    for i, drawn in zip(rows.tolist(), draws):
        full[i] = drawn
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return {"drift_draw": full, "_drift_draw": mask}


def _scatter_info(info: dict, rows: np.ndarray, n: int) -> dict:
    """Info arrays of ``len(rows)`` copies spread to ``n`` copies, with ``_key`` masks."""
    out = {}
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    for k, v in info.items():
        if k.startswith("_"):
            continue
        full = np.full(n, None, dtype=object) if v.dtype == object else np.zeros(n, dtype=v.dtype)
        full[rows] = v
        out[k] = full
        out[f"_{k}"] = mask.copy()
    return out


def vector_entry_point(factory: Callable[..., QECSwitchEnv]) -> Callable[..., QECSwitchVectorEnv]:
    """The ``vector_entry_point`` of a registered id: ``creator(num_envs=N, **env_kwargs)``.

    ``autoreset_mode`` may be passed among the keyword arguments; the rest go to ``factory``.
    """

    def create(num_envs: int = 1, autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP, **kwargs):
        return QECSwitchVectorEnv(factory(**kwargs), num_envs, autoreset_mode=autoreset_mode)

    create.__name__ = f"{factory.__name__}_vector"
    create.__doc__ = f"`QECSwitchVectorEnv` of N copies of ``{factory.__name__}(**kwargs)``."
    return create

