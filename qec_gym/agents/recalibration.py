"""Recalibration baselines that practitioners use: on a schedule, or when a CUSUM sees the noise move.

Both run one menu entry (fitted: the best fixed entry on TRAINING scenarios) and add a rule for
action ``1`` (recalibrate the decoder's priors):

* ``periodic_recal`` (`fit_periodic`): recalibrate every ``K`` windows (read from observation
  index 13, the age of the calibration). It is `ThresholdAgent` with a one-rung ladder, so it shares that
  class's code and its ``ThresholdConfig``; ``K`` is the period with the highest mean return on
  training episodes.
* ``cusum_recal`` (`CusumRecalAgent`): a two-sided CUSUM (Page 1954) on a per-window statistic
  (default: observation index 8, the log10 syndrome noise estimate; index 0, the detection
  fraction, is the alternative) since the last recalibration. After each recalibration (and at
  reset, when the decoder is calibrated to the noise of step 0) the reference level is the mean
  of the first ``warmup`` windows; then ``z = (x - ref) / sigma``, ``s+ = max(0, s+ + z - k)``,
  ``s- = max(0, s- - z - k)``, and the agent recalibrates when either exceeds ``h``. ``h`` comes
  from the in-control average run length ``arl0`` through the project's detector threshold
  `qec_gym.monitor.anomaly.cusum_threshold` (Siegmund's approximation, as `AnomalyMonitor` uses);
  ``sigma`` is the window-to-window spread of the statistic measured on training rollouts
  (median absolute successive difference x 1.4826 / sqrt 2, robust to the drifts themselves);
  ``arl0`` and ``k`` are fitted on training episodes. The recursion is written here because
  `AnomalyMonitor.update` consumes raw detection events, which a policy does not see.

* ``drift_recal`` (`DriftRecalAgent`, `fit_drift`): recalibrate when the decoder's priors have
  drifted from the current syndrome estimate: ``|mismatch| > threshold`` with ``mismatch`` the
  calibration-state observation (``calibration_state=True``, e.g. ``DecoderCalibration-v3``):
  log10 of the estimate a recalibration would set now (mean of the last K windows' estimates) minus
  log10 of the multiplier the priors were built from; at least ``min_age`` windows after the last
  recalibration (observation index 13). ``threshold`` and ``min_age`` are fitted on training
  episodes. Stateless: the env keeps the priors' multiplier, as a control system does.

The drift-tracking threshold policy (hysteresis on the moving average of the syndrome estimate,
observation index 9, climbing a ladder of configurations, optionally with periodic
recalibration) is `ThresholdAgent` (``threshold``): not duplicated here.

Where recalibration can never pay: an env on the table backend whose table is 1-D (decoders
calibrated to the truth at every window: ``SurfaceSwitch``, ``PhotonicSwitch``, ``CatSwitch`` by
default) ignores the calibration, so these baselines refuse it (`require_calibration`); use
``DecoderCalibration-v1``, ``calibration_table=True`` or ``backend="circuit"``.

`CusumRecalAgent` has memory. It keeps it in SB3's recurrent ``state`` (pass the returned state
back, as `qec_gym.eval` and ``stable_baselines3.common.evaluation.evaluate_policy`` do) and resets a
row on ``episode_start``; ``state=None`` starts a fresh detector.

Example:
    >>> import numpy as np
    >>> agent = CusumRecalAgent(CusumRecalConfig(entry=1, menu_size=3, sigma=0.1, arl0=100, warmup=2))
    >>> round(agent.config.h, 2)                          # decision interval (sigma units)
    2.84
    >>> obs = np.zeros(17); obs[14 + 1] = 1.0             # running menu[1], estimate x = 0
    >>> state, actions = None, []
    >>> for x in (0.0, 0.0, 0.01, 0.2, 0.2, 0.2):          # two reference windows, then x rises by 2 sigma
    ...     obs[8] = x
    ...     a, state = agent.predict(obs, state, episode_start=state is None)
    ...     actions.append(int(a))
    >>> actions              # s+ = 0, 1.5, 3.0 > h: recalibrate, then learn the new reference
    [0, 0, 0, 0, 1, 0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from qec_gym.agents.base import IDX_LOG_NOISE, IDX_SINCE_RECAL, N_BASE_FEATURES, Policy, _episode_starts, running_entry
from qec_gym.agents.baselines import FixedAgent, fixed_entry_scores
from qec_gym.agents.rollout import EnvSource, episode_returns, make_env
from qec_gym.agents.threshold import ThresholdAgent, ThresholdConfig
from qec_gym.monitor.anomaly import cusum_threshold

_STATE = 4  # per row: windows seen since the last recalibration, their sum, s+, s-


def require_calibration(env: Any, who: str) -> None:
    """Raise unless recalibrating can change outcomes in ``env`` (a 2-D table or the circuit backend).

    Raises:
        ValueError: not a qec_gym switching env, or its decoders are always calibrated to the truth.

    Example:
        >>> import gymnasium as gym, qec_gym
        >>> require_calibration(gym.make("qec_gym/DecoderCalibration-v1"), "periodic_recal")
        >>> try:
        ...     require_calibration(gym.make("qec_gym/SurfaceSwitch-v1"), "periodic_recal")
        ... except ValueError as e:
        ...     print(str(e)[:60])
        periodic_recal: in SurfaceSwitch-v1 recalibrating never pays
    """
    u = getattr(env, "unwrapped", env)
    table = getattr(u, "table", None)
    if table is None or not hasattr(u, "menu"):
        raise ValueError(f"{who} needs a qec_gym switching env (one of qec_gym.envs.ENV_IDS); got {type(u).__name__}.")
    if getattr(u, "backend", "table") == "table" and table.features.shape[2] == 1:
        name = getattr(getattr(env, "spec", None), "id", None) or type(u).__name__
        raise ValueError(
            f"{who}: in {name.split('/')[-1]} recalibrating never pays: its table backend uses a 1-D table whose "
            "decoders are calibrated to the true noise at every window, so a recalibration only costs "
            "recalibration_cost. Use qec_gym/DecoderCalibration-v1, or make the env with calibration_table=True "
            "or backend='circuit'."
        )


def periodic_recalibration(entry: int, period: int, menu_size: int, *, name: str = "periodic_recal") -> ThresholdAgent:
    """Run ``menu[entry]`` and recalibrate every ``period`` windows (2..100): a one-rung `ThresholdAgent`.

    `QECSwitchEnv`'s observed calibration age (index 13) is the number of windows decoded under
    the calibration *before* the one just observed (0 right after a recalibration), so a
    recalibration every ``period`` windows is ``recalibrate_every = period - 1``.

    Example:
        >>> import numpy as np
        >>> agent = periodic_recalibration(1, 10, 3)
        >>> obs = np.zeros(17); obs[14 + 1] = 1.0; obs[13] = 0.08   # 8 windows before this one
        >>> int(agent.predict(obs)[0]), int(agent.predict(obs + np.eye(17)[13] * 0.01)[0])
        (0, 1)
    """
    if not 2 <= int(period) <= 100:
        raise ValueError(f"period must be 2..100 windows (the observed calibration age saturates at 100), got {period}; "
                         "for never, use fixed:<i> or best_fixed.")
    return ThresholdAgent(ThresholdConfig(ladder=(entry,), up=(), down=(), menu_size=menu_size,
                                          recalibrate_every=int(period) - 1), name=name)


def fit_periodic(
    source: EnvSource,
    *,
    episodes: int = 8,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    periods: Sequence[int] = (2, 5, 10, 20, 40, 80),
    entry: int | None = None,
    name: str = "periodic_recal",
) -> ThresholdAgent:
    """Fit `periodic_recalibration` on TRAINING scenarios: the best fixed entry, then the best period.

    Every candidate is scored by its mean return on the same paired training episodes (reset
    seeds ``seed + k``, scenarios cycled, table backend as in `make_env`).

    Args:
        source: Env id, factory or env (held-out scenarios are refused).
        episodes: Training episodes per candidate.
        seed: First reset seed.
        env_kwargs: Extra env keyword arguments (e.g. ``{"max_steps": 200}``).
        periods: Candidate periods (2..100 windows).
        entry: Menu entry to run; ``None``: the best fixed entry on the same episodes.
        name: Display name.

    Raises:
        ValueError: bad candidates, held-out scenarios, or an env where recalibrating cannot pay.

    Example:
        >>> agent = fit_periodic("qec_gym/DecoderCalibration-v1", episodes=1, periods=(5, 50), env_kwargs={"max_steps": 20})
        >>> agent.config.recalibrate_every + 1 in (5, 50)
        True
    """
    if episodes < 1 or not periods:
        raise ValueError("fit_periodic needs episodes >= 1 and at least one candidate period.")
    with _fitting_env(source, env_kwargs, name, entry, episodes, seed) as (env, n_menu, entry):
        scores = {int(k): float(episode_returns(env, periodic_recalibration(entry, k, n_menu), episodes=episodes, seed=seed).mean())
                  for k in periods}
    best = max(scores, key=scores.__getitem__)
    agent = periodic_recalibration(entry, best, n_menu, name=name)
    agent.fit_score = scores[best]
    return agent


@dataclass(frozen=True)
class CusumRecalConfig:
    """Parameters of `CusumRecalAgent`.

    Args:
        entry: Menu entry to run.
        menu_size: Length of the env's menu.
        sigma: Window-to-window standard deviation of the statistic under steady noise (> 0; in the
            statistic's units: decades for index 8).
        feature: Observation index of the statistic (8: log10 noise estimate; 0: detection fraction).
        k: CUSUM reference value in sigma units (> 0): tuned to shifts of about ``2 k`` sigma.
        arl0: In-control average run length in windows (> 1): sets the threshold ``h``.
        warmup: Windows after a recalibration that set the reference level (>= 1).
    """

    entry: int
    menu_size: int
    sigma: float
    feature: int = IDX_LOG_NOISE
    k: float = 0.5
    arl0: float = 100.0
    warmup: int = 3

    def __post_init__(self) -> None:
        if not 0 <= int(self.entry) < int(self.menu_size):
            raise ValueError(f"entry must be a menu index in 0..{self.menu_size - 1}, got {self.entry}.")
        if not (np.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma must be a positive finite spread of the statistic, got {self.sigma}.")
        if not 0 <= int(self.feature) < N_BASE_FEATURES:
            raise ValueError(f"feature must index one of the {N_BASE_FEATURES} base observation features, got {self.feature}.")
        if not self.k > 0:
            raise ValueError(f"k (reference value, sigma units) must be > 0, got {self.k}.")
        if not self.arl0 > 1:
            raise ValueError(f"arl0 (windows between false alarms) must be > 1, got {self.arl0}.")
        if int(self.warmup) < 1:
            raise ValueError(f"warmup must be >= 1 window (the reference level needs one), got {self.warmup}.")

    @property
    def h(self) -> float:
        """Decision interval in sigma units (`qec_gym.monitor.anomaly.cusum_threshold`)."""
        return cusum_threshold(self.arl0, self.k)


class CusumRecalAgent(Policy):
    """Run one entry; recalibrate when a two-sided CUSUM since the last recalibration alarms.

    See the module docstring. ``state`` is a float64 array of shape ``(n, 4)`` (one row per
    observation of the batch); pass it back on the next call.

    Args:
        config: The detector and the entry.
        name: Display name.
    """

    def __init__(self, config: CusumRecalConfig, *, name: str = "cusum_recal") -> None:
        self.config = config
        self.name = name
        self._h = config.h
        self.fit_score: float | None = None  # mean training return, set by `fit`

    def _act(self, features: np.ndarray) -> np.ndarray:
        return self._step(features, None, np.ones(len(features), dtype=bool))[0]

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """SB3's interface with recurrent ``state`` (see the class docstring)."""
        features, batched = self._as_batch(observation)
        n = len(features)
        starts = _episode_starts(episode_start, n)
        if state is not None:
            state = np.asarray(state, dtype=np.float64)
            if state.shape != (n, _STATE):
                raise ValueError(f"{self.name}: state must be the (n, {_STATE}) array this agent returned for a batch of "
                                 f"{n}, got shape {state.shape}; pass state=None to start a fresh detector.")
        actions, state = self._step(features, state, starts)
        return (actions if batched else actions.squeeze(axis=0)), state

    def _step(self, features: np.ndarray, state: np.ndarray | None, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        state = np.zeros((len(features), _STATE)) if state is None else state.copy()
        state[starts] = 0.0
        x = features[:, cfg.feature]
        warm = state[:, 0] < cfg.warmup
        # Learning the reference level (windows since the last recalibration, or since reset).
        state[warm, 0] += 1
        state[warm, 1] += x[warm]
        run = ~warm
        z = (x[run] - state[run, 1] / state[run, 0]) / cfg.sigma
        state[run, 2] = np.maximum(0.0, state[run, 2] + z - cfg.k)
        state[run, 3] = np.maximum(0.0, state[run, 3] - z - cfg.k)
        alarm = run & (np.maximum(state[:, 2], state[:, 3]) > self._h)
        running = running_entry(features, cfg.menu_size)
        switch = running != cfg.entry
        actions = np.where(switch, 2 + cfg.entry, np.where(alarm, 1, 0)).astype(np.int64)
        # A recalibration re-learns the reference from the next window (the first one it decodes).
        state[alarm & ~switch] = 0.0
        return actions, state

    @classmethod
    def fit(
        cls,
        source: EnvSource,
        *,
        episodes: int = 8,
        seed: int = 0,
        env_kwargs: Mapping[str, Any] | None = None,
        feature: int = IDX_LOG_NOISE,
        arl0s: Sequence[float] = (10.0, 30.0, 100.0, 300.0, 1000.0),
        ks: Sequence[float] = (0.25, 0.5, 1.0),
        warmup: int = 3,
        entry: int | None = None,
        name: str = "cusum_recal",
    ) -> CusumRecalAgent:
        """Fit on TRAINING scenarios: the best fixed entry, ``sigma`` from its rollouts, then ``arl0`` x ``k``.

        Every candidate is scored by its mean return on the same paired training episodes
        (reset seeds ``seed + k``, scenarios cycled, table backend as in `make_env`).

        Args:
            source: Env id, factory or env (held-out scenarios are refused).
            episodes: Training episodes per candidate.
            seed: First reset seed.
            env_kwargs: Extra env keyword arguments (e.g. ``{"max_steps": 200}``).
            feature: Observation index of the statistic.
            arl0s: Candidate in-control run lengths (windows, > 1).
            ks: Candidate reference values (sigma units, > 0).
            warmup: Windows that set the reference after each recalibration.
            entry: Menu entry to run; ``None``: the best fixed entry on the same episodes.
            name: Display name.

        Raises:
            ValueError: bad candidates, held-out scenarios, or an env where recalibrating cannot pay.

        Example:
            >>> agent = CusumRecalAgent.fit("qec_gym/DecoderCalibration-v1", episodes=1, arl0s=(30.0,), ks=(0.5,),
            ...                             env_kwargs={"max_steps": 20})
            >>> agent.config.arl0, agent.config.sigma > 0
            (30.0, True)
        """
        if episodes < 1 or not arl0s or not ks:
            raise ValueError("CusumRecalAgent.fit needs episodes >= 1 and at least one candidate arl0 and k.")
        with _fitting_env(source, env_kwargs, name, entry, episodes, seed) as (env, n_menu, entry):
            sigma = _window_spread(env, FixedAgent(entry, n_menu), feature, episodes=episodes, seed=seed)
            scores = {}
            for arl0 in arl0s:
                for k in ks:
                    cfg = CusumRecalConfig(entry=entry, menu_size=n_menu, sigma=sigma, feature=feature, k=float(k),
                                           arl0=float(arl0), warmup=warmup)
                    scores[cfg] = float(episode_returns(env, cls(cfg), episodes=episodes, seed=seed).mean())
        best = max(scores, key=scores.__getitem__)
        agent = cls(best, name=name)
        agent.fit_score = scores[best]
        return agent


@dataclass(frozen=True)
class DriftRecalConfig:
    """Parameters of `DriftRecalAgent`.

    Args:
        entry: Menu entry to run.
        menu_size: Length of the env's menu.
        threshold: Recalibrate when ``|mismatch|`` exceeds this (decades of the noise multiplier, > 0).
        min_age: Windows the calibration must have run before another recalibration (1..99; the
            observed age, index 13, saturates at 100).
    """

    entry: int
    menu_size: int
    threshold: float
    min_age: int = 1

    def __post_init__(self) -> None:
        if not 0 <= int(self.entry) < int(self.menu_size):
            raise ValueError(f"entry must be a menu index in 0..{self.menu_size - 1}, got {self.entry}.")
        if not (np.isfinite(self.threshold) and self.threshold > 0):
            raise ValueError(f"threshold must be a positive number of decades, got {self.threshold}.")
        if not 1 <= int(self.min_age) <= 99:
            raise ValueError(f"min_age must be 1..99 windows (the observed calibration age saturates at 100), "
                             f"got {self.min_age}.")

    @property
    def mismatch_index(self) -> int:
        """Observation index of the mismatch (`qec_gym.envs.switch_env.N_CALIBRATION_STATE` features after the one-hot)."""
        return N_BASE_FEATURES + int(self.menu_size) + 2


class DriftRecalAgent(Policy):
    """Run one entry; recalibrate when the priors' multiplier and the current estimate differ by > ``threshold`` decades.

    Needs the calibration-state observation (``calibration_state=True``): the observation must
    hold at least ``mismatch_index + 1`` features (checked on every call).

    Example:
        >>> import numpy as np
        >>> agent = DriftRecalAgent(DriftRecalConfig(entry=1, menu_size=3, threshold=0.3, min_age=5))
        >>> obs = np.zeros(20); obs[14 + 1] = 1.0; obs[13] = 0.05   # running menu[1], calibration 5 windows old
        >>> obs[19] = 0.2; int(agent.predict(obs)[0])
        0
        >>> obs[19] = -0.4; int(agent.predict(obs)[0])
        1
        >>> obs[13] = 0.03; int(agent.predict(obs)[0])                # too soon after the last recalibration
        0
    """

    def __init__(self, config: DriftRecalConfig, *, name: str = "drift_recal") -> None:
        self.config = config
        self.name = name
        self.fit_score: float | None = None  # mean training return, set by `fit_drift`

    def _act(self, features: np.ndarray) -> np.ndarray:
        cfg = self.config
        i = cfg.mismatch_index
        if features.shape[1] <= i:
            raise ValueError(f"{self.name} reads the calibration-state mismatch at observation index {i}, but the "
                             f"observation has {features.shape[1]} features: use an env with calibration_state=True "
                             "(qec_gym/DecoderCalibration-v3).")
        running = running_entry(features, cfg.menu_size)
        age = np.rint(features[:, IDX_SINCE_RECAL] * 100)
        recal = (np.abs(features[:, i]) > cfg.threshold) & (age >= cfg.min_age - 1)
        return np.where(running != cfg.entry, 2 + cfg.entry, np.where(recal, 1, 0)).astype(np.int64)


def fit_drift(
    source: EnvSource,
    *,
    episodes: int = 8,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    thresholds: Sequence[float] = (0.1, 0.2, 0.3, 0.5, 0.8),
    min_ages: Sequence[int] = (1, 5, 20),
    entry: int | None = None,
    name: str = "drift_recal",
) -> DriftRecalAgent:
    """Fit `DriftRecalAgent` on TRAINING scenarios: the best fixed entry, then ``threshold`` x ``min_age``.

    Every candidate is scored by its mean return on the same paired training episodes (reset
    seeds ``seed + k``, scenarios cycled, table backend as in `make_env`).

    Raises:
        ValueError: bad candidates, held-out scenarios, an env where recalibrating cannot pay, or
            one without the calibration-state observation.

    Example:
        >>> agent = fit_drift("qec_gym/DecoderCalibration-v3", episodes=1, thresholds=(0.3,), min_ages=(5,),
        ...                   env_kwargs={"max_steps": 20})
        >>> agent.config.threshold, agent.config.min_age
        (0.3, 5)
    """
    if episodes < 1 or not thresholds or not min_ages:
        raise ValueError("fit_drift needs episodes >= 1 and at least one candidate threshold and min_age.")
    with _fitting_env(source, env_kwargs, name, entry, episodes, seed) as (env, n_menu, entry):
        if not getattr(env.unwrapped, "calibration_state", False):
            raise ValueError(f"{name} needs the calibration-state observation: use qec_gym/DecoderCalibration-v3 or "
                             "make the env with calibration_state=True.")
        scores = {}
        for threshold in thresholds:
            for age in min_ages:
                cfg = DriftRecalConfig(entry=entry, menu_size=n_menu, threshold=float(threshold), min_age=int(age))
                scores[cfg] = float(episode_returns(env, DriftRecalAgent(cfg, name=name), episodes=episodes, seed=seed).mean())
    best = max(scores, key=scores.__getitem__)
    agent = DriftRecalAgent(best, name=name)
    agent.fit_score = scores[best]
    return agent


@contextmanager
def _fitting_env(source: EnvSource, env_kwargs, name: str, entry: int | None, episodes: int, seed: int):
    """(training env, menu size, entry: the given one or the best fixed one) for fitting ``name``."""
    env = make_env(source, scenarios="train", env_kwargs=env_kwargs, table_twin=True)
    try:
        require_calibration(env, name)
        yield env, len(env.unwrapped.menu), _best_entry(env, episodes, seed) if entry is None else entry
    finally:
        env.close()


def _best_entry(env, episodes: int, seed: int) -> int:
    return fixed_entry_scores(env, scenarios=list(env.unwrapped.scenario_names), episodes=episodes, seed=seed).best


def _window_spread(env, policy, feature: int, *, episodes: int, seed: int) -> float:
    """Robust window-to-window sd of one feature along ``policy``'s training rollouts."""
    names = env.unwrapped.scenario_names
    diffs = []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep, options={"scenario": names[ep % len(names)]})
        xs, done = [], False
        while True:
            xs.append(float((obs["features"] if isinstance(obs, dict) else obs)[feature]))
            if done:
                break
            obs, _, terminated, truncated, _ = env.step(policy.predict(obs)[0])
            done = terminated or truncated
        diffs.append(np.diff(xs))
    d = np.concatenate(diffs)
    sigma = float(1.4826 * np.median(np.abs(d)) / np.sqrt(2.0))
    if not sigma > 0:
        raise ValueError(f"observation index {feature} does not vary along training rollouts: a CUSUM on it cannot detect "
                         "anything; choose another feature (8: log10 noise estimate, 0: detection fraction).")
    return sigma


__all__ = ["CusumRecalAgent", "CusumRecalConfig", "DriftRecalAgent", "DriftRecalConfig", "fit_drift", "fit_periodic",
           "periodic_recalibration", "require_calibration"]
