"""A hand-interpretable heuristic: climb a ladder of configurations on a syndrome-derived noise estimate.

The ladder is a sequence of menu entries, from the one for the least noise to the one for the
most: the entries of one code family and decoder (and, for cat codes, one photon number) sorted
by distance, or, for menus with more than a distance to choose (cat codes: photon number x
distance; CSS vs XZZX), the entries the myopic oracle runs on training scenarios, ordered by the
noise at which it runs them (`oracle_ladder`). The agent reads one observation feature ``x``
(default: index 9, the EMA of the log10 noise-multiplier estimate; index 8 is the last window's
estimate, index 0 the raw detection rate) and moves:

* up from rung ``k`` when ``x > up[k]`` (to the highest rung whose ``up`` threshold ``x`` exceeds);
* down from rung ``k`` when ``x < down[k-1]`` (to the lowest rung it does not fall below);
* never within ``min_dwell`` steps of the last switch (read from observation index 12);
* and, if ``recalibrate_every > 0``, recalibrates (action 1) when it does not switch and the last
  recalibration is at least that many steps old (observation index 13): the periodic schedule
  that stale decoder priors call for (``DecoderCalibration-v1``).

``down[k] <= up[k]`` is the hysteresis band that stops it from thrashing on noisy estimates.
It sees only the observation, so it is deployable as is; only fitting reads the oracle's choices
(on training scenarios, as the decision tree's labels do).

Example:
    >>> import numpy as np
    >>> cfg = ThresholdConfig(ladder=(1, 3, 5), up=(0.2, 0.6), down=(0.15, 0.5), menu_size=10)
    >>> agent = ThresholdAgent(cfg)
    >>> obs = np.zeros(24); obs[14 + 1] = 1.0; obs[12] = 1.0   # running menu[1], long dwell
    >>> obs[9] = 0.3; int(agent.predict(obs)[0])               # above up[0]: switch to menu[3]
    5
    >>> obs[9] = 0.1; int(agent.predict(obs)[0])               # in the bottom rung already: keep
    0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qec_gym.agents.base import (
    IDX_LOG_NOISE,
    IDX_LOG_NOISE_EMA,
    IDX_SINCE_RECAL,
    IDX_SINCE_SWITCH,
    N_BASE_FEATURES,
    Policy,
    running_entry,
)
from qec_gym.agents.rollout import EnvSource, episode_returns, make_env


@dataclass(frozen=True)
class ThresholdConfig:
    """Thresholds of `ThresholdAgent`.

    Args:
        ladder: Menu indices from the entry for the least noise to the one for the most (>= 1
            entry, distinct; e.g. one family's distances, smallest first).
        up: ``len(ladder) - 1`` thresholds: leave rung ``k`` upwards when ``x > up[k]``
            (non-decreasing).
        down: ``len(ladder) - 1`` thresholds: leave rung ``k+1`` downwards when ``x < down[k]``;
            ``down[k] <= up[k]``.
        menu_size: Length of the env's menu.
        feature: Observation index of ``x`` (9: EMA of the log10 noise estimate; 8: last window's).
        min_dwell: Steps after a switch during which the agent never switches (>= 0, < 100:
            the observation's steps-since-switch saturates at 100).
        recalibrate_every: Recalibrate when the last recalibration is at least this many steps
            old and no switch is due (0: never; else 1..99, the observation saturates at 100).
    """

    ladder: tuple[int, ...]
    up: tuple[float, ...]
    down: tuple[float, ...]
    menu_size: int
    feature: int = IDX_LOG_NOISE_EMA
    min_dwell: int = 0
    recalibrate_every: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "ladder", tuple(int(i) for i in self.ladder))
        object.__setattr__(self, "up", tuple(float(v) for v in self.up))
        object.__setattr__(self, "down", tuple(float(v) for v in self.down))
        n = len(self.ladder)
        if n < 1 or len(set(self.ladder)) != n or not all(0 <= i < self.menu_size for i in self.ladder):
            raise ValueError(f"ladder must be distinct menu indices in 0..{self.menu_size - 1}, got {self.ladder}.")
        if len(self.up) != n - 1 or len(self.down) != n - 1:
            raise ValueError(f"a ladder of {n} rungs needs {n - 1} up and down thresholds, got {len(self.up)} and {len(self.down)}.")
        if any(b < a for a, b in zip(self.up, self.up[1:])):
            raise ValueError(f"up thresholds must be non-decreasing along the ladder, got {self.up}.")
        if any(d > u for d, u in zip(self.down, self.up)):
            raise ValueError(f"each down threshold must be <= its up threshold (hysteresis), got up={self.up}, down={self.down}.")
        if not 0 <= self.feature < N_BASE_FEATURES:
            raise ValueError(f"feature must index one of the {N_BASE_FEATURES} base observation features, got {self.feature}.")
        if not 0 <= int(self.min_dwell) < 100:
            raise ValueError(f"min_dwell must be in 0..99 steps (the observed dwell saturates at 100), got {self.min_dwell}.")
        if not 0 <= int(self.recalibrate_every) < 100:
            raise ValueError(f"recalibrate_every must be in 0..99 steps (0: never; the observed age of the "
                             f"calibration saturates at 100), got {self.recalibrate_every}.")


def ladder_for(menu: Sequence[Any], *, family: str | None = None, decoder: str | None = None) -> tuple[int, ...]:
    """Menu indices of one family and decoder, sorted by distance.

    Defaults: the family of the first entry; the decoder ``pymatching-correlated`` if that
    family has it (it is never worse than plain matching at the same qubits), else the first
    entry's decoder.

    Example:
        >>> from qec_gym.envs import MenuEntry
        >>> menu = [MenuEntry("rotated_surface", d, dec) for d in (5, 3) for dec in ("pymatching", "pymatching-correlated")]
        >>> ladder_for(menu)
        (3, 1)
    """
    family = menu[0].family if family is None else family
    of_family = [e for e in menu if e.family == family]
    if not of_family:
        raise ValueError(f"no menu entry has family {family!r}; the menu has {sorted({e.family for e in menu})}.")
    if decoder is None:
        decoder = "pymatching-correlated" if any(e.decoder == "pymatching-correlated" for e in of_family) else of_family[0].decoder
    idx = [i for i, e in enumerate(menu) if e.family == family and e.decoder == decoder]
    if not idx:
        raise ValueError(f"no {family} entry uses decoder {decoder!r}; it has {sorted({e.decoder for e in of_family})}.")
    # One rung per distance (the first entry of each, e.g. one basis set).
    by_distance: dict[int, int] = {}
    for i in idx:
        by_distance.setdefault(menu[i].distance, i)
    return tuple(by_distance[d] for d in sorted(by_distance))


class ThresholdAgent(Policy):
    """Distance-ladder heuristic with hysteresis and a minimum dwell (see the module docstring).

    Build it from thresholds (`ThresholdConfig`) or fit them on training scenarios with
    `ThresholdAgent.fit`.

    Args:
        config: The thresholds.
        name: Display name.
    """

    def __init__(self, config: ThresholdConfig, *, name: str = "threshold") -> None:
        self.config = config
        self.name = name
        self._ladder = np.array(config.ladder)
        self._up = np.array(config.up)
        self._down = np.array(config.down)
        self.fit_score: float | None = None  # mean training return, set by `fit`

    def _act(self, features: np.ndarray) -> np.ndarray:
        cfg = self.config
        running = running_entry(features, cfg.menu_size)
        x = features[:, cfg.feature]
        since = np.rint(features[:, IDX_SINCE_SWITCH] * 100)
        recal_due = cfg.recalibrate_every > 0 and np.rint(features[:, IDX_SINCE_RECAL] * 100) >= cfg.recalibrate_every
        recal_due = np.broadcast_to(recal_due, (len(features),))
        # Rung suggested when climbing / descending: how many thresholds x exceeds.
        up_rung = (x[:, None] > self._up[None, :]).sum(axis=1)
        down_rung = (x[:, None] > self._down[None, :]).sum(axis=1)
        actions = np.zeros(len(features), dtype=np.int64)
        for r in range(len(features)):
            hits = np.flatnonzero(self._ladder == running[r])
            if hits.size == 0:  # off the ladder (e.g. the env's initial entry): join it now
                target = int(up_rung[r])
            else:
                k = int(hits[0])
                if up_rung[r] > k:
                    target = int(up_rung[r])
                elif down_rung[r] < k:
                    target = int(down_rung[r])
                else:
                    target = k
                if since[r] < cfg.min_dwell:
                    target = k
            entry = int(self._ladder[target])
            if entry != running[r]:
                actions[r] = 2 + entry
            elif recal_due[r]:
                actions[r] = 1
        return actions

    @classmethod
    def fit(
        cls,
        source: EnvSource,
        *,
        episodes: int = 5,
        seed: int = 0,
        env_kwargs: Mapping[str, Any] | None = None,
        features: Sequence[int] = (IDX_LOG_NOISE_EMA, IDX_LOG_NOISE),
        hysteresis: Sequence[float] = (0.0, 0.02, 0.05, 0.1),
        dwell: Sequence[int] = (0, 2, 5, 10),
        recalibrate: Sequence[int] = (0, 5, 10, 25, 50),
        quantiles: int = 12,
        passes: int = 2,
        name: str = "threshold",
    ) -> ThresholdAgent:
        """Fit the thresholds on TRAINING scenarios by coordinate-wise grid search.

        1. Ladders: every distance ladder of the menu (`candidate_ladders`) and the oracle's
           ladder (`oracle_ladder`) are screened once with evenly spaced thresholds; the best
           is kept.
        2. Thresholds: each boundary in turn is set to the best of ``quantiles`` candidate
           values (quantiles of the feature seen in training rollouts), keeping the order;
           then the hysteresis half-width, the dwell, the recalibration period and the feature.
           ``passes`` rounds.

        Every candidate is scored by its mean return on the same paired training episodes.
        The search is greedy (coordinate-wise), not exhaustive: a full grid over 4 boundaries,
        hysteresis and dwell would be ~10^5 rollouts. Rollouts run on the table backend (see
        `qec_gym.agents.rollout.make_env`'s ``table_twin``): the features are the same, and a
        circuit-backend fit would take hours.

        Args:
            source: Env id, factory or env made by ``gym.make``; held-out scenarios are refused.
            episodes: Training episodes per candidate (cycled over the scenarios).
            seed: First reset seed.
            env_kwargs: Extra env keyword arguments (e.g. ``{"max_steps": 100}`` to fit faster).
            features: Candidate observation indices for ``x``.
            hysteresis: Candidate half-widths of the band (``down = b - h``, ``up = b + h``).
            dwell: Candidate minimum dwells.
            recalibrate: Candidate recalibration periods (0: never).
            quantiles: Candidate values per boundary.
            passes: Rounds of the coordinate search.
            name: Display name of the agent.

        Example:
            >>> agent = ThresholdAgent.fit("qec_gym/SurfaceSwitch-v1", episodes=1, quantiles=2, passes=1,
            ...                            hysteresis=(0.0,), dwell=(0,), recalibrate=(0,), env_kwargs={"max_steps": 5})
            >>> len(agent.config.up) == len(agent.config.ladder) - 1
            True
        """
        if episodes < 1 or passes < 1 or quantiles < 1:
            raise ValueError("episodes, passes and quantiles must be >= 1.")
        if not features or not hysteresis or not dwell or not recalibrate:
            raise ValueError("features, hysteresis, dwell and recalibrate need at least one candidate each.")
        env = make_env(source, scenarios="train", env_kwargs=env_kwargs, table_twin=True)
        try:
            return _fit(cls, env, episodes=episodes, seed=seed, features=tuple(features), hysteresis=tuple(hysteresis),
                        dwell=tuple(dwell), recalibrate=tuple(recalibrate), quantiles=quantiles, passes=passes,
                        name=name)
        finally:
            env.close()


def candidate_ladders(menu: Sequence[Any]) -> list[tuple[int, ...]]:
    """Every distance ladder of ``menu``: entries equal in all but distance, sorted by distance.

    For a cat menu that is one ladder per photon number; for a surface menu one per decoder
    (and memory bases); a menu of one distance gives one-rung ladders.

    Example:
        >>> from qec_gym.envs.cat_env import cat_menu
        >>> candidate_ladders(cat_menu([2, 4], [3, 5]))
        [(0, 2), (1, 3)]
    """
    groups: dict[tuple, dict[int, int]] = {}
    for i, e in enumerate(menu):
        key = tuple(sorted((k, repr(v)) for k, v in vars(e).items() if k != "distance"))
        groups.setdefault(key, {}).setdefault(e.distance, i)  # one rung per distance
    return sorted(tuple(rungs[d] for d in sorted(rungs)) for rungs in groups.values())


def oracle_ladder(env, *, episodes: int, seed: int, min_share: float = 0.02) -> tuple[int, ...]:
    """The entries the myopic oracle runs on training episodes, ordered by the noise it runs them at.

    Each entry the oracle runs in at least ``min_share`` of the steps becomes a rung, ordered by
    the median log10 true multiplier of those steps (ties: fewer qubits first). It reads the
    true noise, so it is for FITTING on training scenarios only (as the decision tree's labels);
    the agent that climbs it sees only its observation.

    Args:
        env: An env on training scenarios (as `make_env` gives).
        episodes: Episodes rolled out (reset seeds ``seed + k``, scenarios cycled).
        seed: First reset seed.
        min_share: Smallest share of steps that makes an entry a rung.

    Returns:
        Menu indices (>= 1).
    """
    u = env.unwrapped
    names = u.scenario_names
    chosen, log_m = [], []
    for k in range(episodes):
        _, info = env.reset(seed=seed + k, options={"scenario": names[k % len(names)]})
        done = False
        while not done:
            action = int(u.oracle_action())
            _, _, terminated, truncated, info = env.step(action)
            chosen.append(int(info["entry"]))
            log_m.append(np.log10(info["true_multiplier"]))
            done = terminated or truncated
    chosen_a, log_m_a = np.asarray(chosen), np.asarray(log_m)
    qubits = [e.qubits for e in u.menu]
    rungs = [i for i in np.unique(chosen_a) if np.mean(chosen_a == i) >= min_share] or [int(np.bincount(chosen_a).argmax())]
    return tuple(int(i) for i in sorted(rungs, key=lambda i: (float(np.median(log_m_a[chosen_a == i])), qubits[i])))


def _fit(cls, env, *, episodes, seed, features, hysteresis, dwell, recalibrate, quantiles, passes, name) -> ThresholdAgent:
    menu = env.unwrapped.menu
    n_menu = len(menu)
    scores: dict[tuple, float] = {}  # memo per fit call: coordinate passes revisit candidates

    def config(ladder, bounds, h, d, c, f) -> ThresholdConfig:
        return ThresholdConfig(ladder=ladder, up=tuple(b + h for b in bounds), down=tuple(b - h for b in bounds),
                               menu_size=n_menu, feature=f, min_dwell=d, recalibrate_every=c)

    def score(ladder, bounds, h, d, c, f) -> float:
        key = (ladder, tuple(round(b, 12) for b in bounds), h, d, c, f)
        if key not in scores:
            agent = cls(config(ladder, bounds, h, d, c, f), name=name)
            scores[key] = float(episode_returns(env, agent, episodes=episodes, seed=seed).mean())
        return scores[key]

    # Candidate boundaries: quantiles of each feature along training rollouts of a middle rung
    # (the estimate is calibrated per entry, so its distribution barely depends on the entry).
    values = _feature_samples(env, features, episodes=episodes, seed=seed)
    probs = np.linspace(0.02, 0.98, quantiles) if quantiles > 1 else np.array([0.5])
    grids = {f: np.unique(np.quantile(values[f], probs)) for f in features}

    def initial(ladder, f) -> tuple[float, ...]:
        n = len(ladder) - 1
        return tuple(float(v) for v in np.quantile(values[f], np.linspace(0, 1, n + 2)[1:-1])) if n else ()

    f = features[0]
    h, d, c = hysteresis[0], dwell[0], recalibrate[0]
    ladders = sorted({*candidate_ladders(menu), oracle_ladder(env, episodes=episodes, seed=seed)})
    ladder = max(ladders, key=lambda lad: score(lad, initial(lad, f), h, d, c, f))
    bounds = list(initial(ladder, f))
    for _ in range(passes):
        for k in range(len(bounds)):
            lo = bounds[k - 1] if k > 0 else -np.inf
            hi = bounds[k + 1] if k + 1 < len(bounds) else np.inf
            cands = [v for v in grids[f] if lo <= v <= hi] + [bounds[k]]
            bounds[k] = max(cands, key=lambda v: score(ladder, (*bounds[:k], v, *bounds[k + 1:]), h, d, c, f))
        h = max(hysteresis, key=lambda v: score(ladder, tuple(bounds), v, d, c, f))
        d = max(dwell, key=lambda v: score(ladder, tuple(bounds), h, v, c, f))
        c = max(recalibrate, key=lambda v: score(ladder, tuple(bounds), h, d, v, f))
        f = max(features, key=lambda v: score(ladder, tuple(bounds), h, d, c, v))
    agent = cls(config(ladder, tuple(bounds), h, d, c, f), name=name)
    agent.fit_score = score(ladder, tuple(bounds), h, d, c, f)
    return agent


def _feature_samples(env, features, *, episodes: int, seed: int) -> dict[int, np.ndarray]:
    from qec_gym.agents.baselines import FixedAgent

    menu = env.unwrapped.menu
    agent = FixedAgent(len(menu) // 2, len(menu))
    names = env.unwrapped.scenario_names
    rows = []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k, options={"scenario": names[k % len(names)]})
        done = False
        while not done:
            rows.append(np.asarray(obs["features"] if isinstance(obs, dict) else obs, dtype=np.float64))
            obs, _, terminated, truncated, _ = env.step(agent.predict(obs)[0])
            done = terminated or truncated
    data = np.stack(rows)
    return {f: data[:, f] for f in features}


__all__ = ["ThresholdAgent", "ThresholdConfig", "candidate_ladders", "ladder_for", "oracle_ladder"]
