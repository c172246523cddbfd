"""A hand-interpretable heuristic: climb a distance ladder on a syndrome-derived noise estimate.

The ladder is the menu's entries of one code family and decoder, sorted by distance. The agent
reads one observation feature ``x`` (default: index 9, the EMA of the log10 noise-multiplier
estimate; index 8 is the last window's estimate, index 0 the raw detection rate) and moves:

* up from rung ``k`` when ``x > up[k]`` (to the highest rung whose ``up`` threshold ``x`` exceeds);
* down from rung ``k`` when ``x < down[k-1]`` (to the lowest rung it does not fall below);
* never within ``min_dwell`` steps of the last switch (read from observation index 12).

``down[k] <= up[k]`` is the hysteresis band that stops it from thrashing on noisy estimates.
It sees only the observation, so it is deployable as is. It never recalibrates (action 1) and
only moves along one ladder, so on a menu with one distance per decoder
(``DecoderCalibration-v1``) it is a fixed entry.

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

from qec_gym.agents.base import IDX_LOG_NOISE, IDX_LOG_NOISE_EMA, IDX_SINCE_SWITCH, N_BASE_FEATURES, Policy, running_entry
from qec_gym.agents.rollout import EnvSource, episode_returns, make_env


@dataclass(frozen=True)
class ThresholdConfig:
    """Thresholds of `ThresholdAgent`.

    Args:
        ladder: Menu indices from the smallest to the largest distance (>= 1 entry, distinct).
        up: ``len(ladder) - 1`` thresholds: leave rung ``k`` upwards when ``x > up[k]``
            (non-decreasing).
        down: ``len(ladder) - 1`` thresholds: leave rung ``k+1`` downwards when ``x < down[k]``;
            ``down[k] <= up[k]``.
        menu_size: Length of the env's menu.
        feature: Observation index of ``x`` (9: EMA of the log10 noise estimate; 8: last window's).
        min_dwell: Steps after a switch during which the agent never switches (>= 0, < 100:
            the observation's steps-since-switch saturates at 100).
    """

    ladder: tuple[int, ...]
    up: tuple[float, ...]
    down: tuple[float, ...]
    menu_size: int
    feature: int = IDX_LOG_NOISE_EMA
    min_dwell: int = 0

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
                    continue
                if since[r] < cfg.min_dwell:
                    continue
            entry = int(self._ladder[target])
            actions[r] = 0 if entry == running[r] else 2 + entry
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
        quantiles: int = 12,
        passes: int = 2,
        name: str = "threshold",
    ) -> ThresholdAgent:
        """Fit the thresholds on TRAINING scenarios by coordinate-wise grid search.

        1. Ladders: every (family, decoder) of the menu is screened once with evenly spaced
           thresholds; the best is kept.
        2. Thresholds: each boundary in turn is set to the best of ``quantiles`` candidate
           values (quantiles of the feature seen in training rollouts), keeping the order;
           then the hysteresis half-width, the dwell and the feature. ``passes`` rounds.

        Every candidate is scored by its mean return on the same paired training episodes.
        The search is greedy (coordinate-wise), not exhaustive: a full grid over 4 boundaries,
        hysteresis and dwell would be ~10^5 rollouts.

        Args:
            source: Env id, factory or env made by ``gym.make``; held-out scenarios are refused.
            episodes: Training episodes per candidate (cycled over the scenarios).
            seed: First reset seed.
            env_kwargs: Extra env keyword arguments (e.g. ``{"max_steps": 100}`` to fit faster).
            features: Candidate observation indices for ``x``.
            hysteresis: Candidate half-widths of the band (``down = b - h``, ``up = b + h``).
            dwell: Candidate minimum dwells.
            quantiles: Candidate values per boundary.
            passes: Rounds of the coordinate search.
            name: Display name of the agent.

        Example:
            >>> agent = ThresholdAgent.fit("qec_gym/SurfaceSwitch-v1", episodes=1, quantiles=2, passes=1,
            ...                            hysteresis=(0.0,), dwell=(0,), env_kwargs={"max_steps": 5})
            >>> len(agent.config.up) == len(agent.config.ladder) - 1
            True
        """
        if episodes < 1 or passes < 1 or quantiles < 1:
            raise ValueError("episodes, passes and quantiles must be >= 1.")
        if not features or not hysteresis or not dwell:
            raise ValueError("features, hysteresis and dwell need at least one candidate each.")
        env = make_env(source, scenarios="train", env_kwargs=env_kwargs)
        try:
            return _fit(cls, env, episodes=episodes, seed=seed, features=tuple(features), hysteresis=tuple(hysteresis),
                        dwell=tuple(dwell), quantiles=quantiles, passes=passes, name=name)
        finally:
            env.close()


def _fit(cls, env, *, episodes, seed, features, hysteresis, dwell, quantiles, passes, name) -> ThresholdAgent:
    menu = env.unwrapped.menu
    n_menu = len(menu)
    scores: dict[tuple, float] = {}  # memo per fit call: coordinate passes revisit candidates

    def config(ladder, bounds, h, d, f) -> ThresholdConfig:
        return ThresholdConfig(ladder=ladder, up=tuple(b + h for b in bounds), down=tuple(b - h for b in bounds),
                               menu_size=n_menu, feature=f, min_dwell=d)

    def score(ladder, bounds, h, d, f) -> float:
        key = (ladder, tuple(round(b, 12) for b in bounds), h, d, f)
        if key not in scores:
            agent = cls(config(ladder, bounds, h, d, f), name=name)
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
    h, d = hysteresis[0], dwell[0]
    ladders = sorted({ladder_for(menu, family=e.family, decoder=e.decoder) for e in menu})
    ladder = max(ladders, key=lambda lad: score(lad, initial(lad, f), h, d, f))
    bounds = list(initial(ladder, f))
    for _ in range(passes):
        for k in range(len(bounds)):
            lo = bounds[k - 1] if k > 0 else -np.inf
            hi = bounds[k + 1] if k + 1 < len(bounds) else np.inf
            cands = [v for v in grids[f] if lo <= v <= hi] + [bounds[k]]
            bounds[k] = max(cands, key=lambda v: score(ladder, (*bounds[:k], v, *bounds[k + 1:]), h, d, f))
        h = max(hysteresis, key=lambda v: score(ladder, tuple(bounds), v, d, f))
        d = max(dwell, key=lambda v: score(ladder, tuple(bounds), h, v, f))
        f = max(features, key=lambda v: score(ladder, tuple(bounds), h, d, v))
    agent = cls(config(ladder, tuple(bounds), h, d, f), name=name)
    agent.fit_score = score(ladder, tuple(bounds), h, d, f)
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
            rows.append(np.asarray(obs, dtype=np.float64))
            obs, _, terminated, truncated, _ = env.step(agent.predict(obs)[0])
            done = terminated or truncated
    data = np.stack(rows)
    return {f: data[:, f] for f in features}


__all__ = ["ThresholdAgent", "ThresholdConfig", "ladder_for"]
