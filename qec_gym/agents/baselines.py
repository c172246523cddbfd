"""Simple baselines: random, fixed entry (and the best fixed entry), the two oracles.

`OracleAgent` (myopic) and `ClairvoyantAgent` (dynamic programming over the whole true noise
trajectory) read the env's hidden state: they are references for evaluation only (regret is
measured to the clairvoyant bound), never controllers one could deploy.

Example:
    >>> import gymnasium as gym, qec_gym
    >>> from qec_gym.agents import ClairvoyantAgent, FixedAgent, OracleAgent, RandomAgent
    >>> env = gym.make("qec_gym/SurfaceSwitch-v1", max_steps=5)
    >>> obs, _ = env.reset(seed=0)
    >>> RandomAgent(env.action_space, seed=0).predict(obs)[0].shape
    ()
    >>> int(FixedAgent(4, menu_size=10).predict(obs)[0])  # switch to menu[4]
    6
    >>> oracle, clairvoyant = OracleAgent(env), ClairvoyantAgent(env)
    >>> int(oracle.predict(obs)[0]) == env.unwrapped.oracle_action()
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from qec_gym.agents.base import Policy, running_entry
from qec_gym.agents.rollout import EnvSource, episode_returns, make_env


class RandomAgent(Policy):
    """Uniformly random actions from a seeded generator (the floor of every table).

    Args:
        action_space: A ``Discrete`` space.
        seed: Seed of the agent's own ``numpy.random.Generator`` (never the global RNG).

    Example:
        >>> from gymnasium.spaces import Discrete
        >>> a = RandomAgent(Discrete(12), seed=1)
        >>> a.predict([[0.0] * 24] * 3)[0].shape
        (3,)
    """

    name = "random"

    def __init__(self, action_space: gym.spaces.Space, seed: int | None = 0) -> None:
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ValueError(f"RandomAgent needs a Discrete action space, got {action_space}.")
        self.n = int(action_space.n)
        self.start = int(action_space.start)
        self.rng = np.random.default_rng(seed)

    def _act(self, features: np.ndarray) -> np.ndarray:
        # `deterministic` is ignored on purpose: a random baseline is random.
        return self.start + self.rng.integers(self.n, size=len(features))


class FixedAgent(Policy):
    """Switch once to ``menu[entry_index]``, then keep it.

    Reads the running entry from the observation's one-hot (indices ``14 .. 14+menu_size``), so
    it needs no env access: action ``2 + entry_index`` while another entry runs, else ``0``.

    Args:
        entry_index: Menu entry to run.
        menu_size: Length of the env's menu.
        name: Display name (default ``"fixed:<i>"``).

    Example:
        >>> import numpy as np
        >>> obs = np.zeros(24); obs[14 + 3] = 1.0
        >>> int(FixedAgent(3, menu_size=10).predict(obs)[0]), int(FixedAgent(5, menu_size=10).predict(obs)[0])
        (0, 7)
    """

    def __init__(self, entry_index: int, menu_size: int, *, name: str | None = None) -> None:
        if not 0 <= int(entry_index) < int(menu_size):
            raise ValueError(f"entry_index must be in 0..{menu_size - 1} (the menu has {menu_size} entries), got {entry_index}.")
        self.entry_index = int(entry_index)
        self.menu_size = int(menu_size)
        self.name = name or f"fixed:{self.entry_index}"

    def _act(self, features: np.ndarray) -> np.ndarray:
        running = running_entry(features, self.menu_size)
        return np.where(running == self.entry_index, 0, 2 + self.entry_index)


@dataclass(frozen=True)
class FixedEntryScores:
    """Returns of every fixed entry on paired training episodes.

    Attributes:
        returns: float64 ``(menu_size, episodes)``.
        labels: Menu labels.
    """

    returns: np.ndarray
    labels: tuple[str, ...]

    @property
    def means(self) -> np.ndarray:
        """Mean return per entry."""
        return self.returns.mean(axis=1)

    @property
    def best(self) -> int:
        """Index of the entry with the highest mean return."""
        return int(np.argmax(self.means))


def fixed_entry_scores(
    source: EnvSource,
    *,
    scenarios: str | list[str] = "train",
    episodes: int = 10,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
) -> FixedEntryScores:
    """Mean return of every fixed menu entry on training scenarios (paired seeds).

    Args:
        source: Env id, factory or env made by ``gym.make`` (see `make_env`).
        scenarios: Training scenarios; held-out ones are refused.
        episodes: Episodes per entry (cycled over the scenarios).
        seed: First reset seed.
        env_kwargs: Extra env keyword arguments (e.g. ``{"max_steps": 100}``).

    Example:
        >>> s = fixed_entry_scores("qec_gym/SurfaceSwitch-v1", episodes=1, env_kwargs={"max_steps": 5})
        >>> s.returns.shape
        (10, 1)
    """
    env = make_env(source, scenarios=scenarios, env_kwargs=env_kwargs, table_twin=True)
    try:
        menu = env.unwrapped.menu
        returns = np.stack([
            episode_returns(env, FixedAgent(i, len(menu)), episodes=episodes, seed=seed) for i in range(len(menu))
        ])
    finally:
        env.close()
    return FixedEntryScores(returns, tuple(e.label for e in menu))


def best_fixed_entry(
    source: EnvSource,
    *,
    scenarios: str | list[str] = "train",
    episodes: int = 10,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
) -> int:
    """The menu entry with the highest mean return on TRAINING scenarios.

    The "best fixed choice" that adaptive switching must beat; chosen without ever looking at
    held-out scenarios. Arguments as in `fixed_entry_scores`.

    Example:
        >>> best_fixed_entry("qec_gym/SurfaceSwitch-v1", episodes=1, env_kwargs={"max_steps": 5}) in range(10)
        True
    """
    return fixed_entry_scores(source, scenarios=scenarios, episodes=episodes, seed=seed, env_kwargs=env_kwargs).best


def _unwrapped_envs(env: Any, who: str) -> list[Any]:
    """The QECSwitchEnv(s) behind ``env``: one env, or each sub-env of a SyncVectorEnv."""
    if hasattr(env, "envs"):  # SyncVectorEnv: batch row i is sub-env i
        envs = [e.unwrapped for e in env.envs]
    elif isinstance(env, gym.vector.VectorEnv):
        raise ValueError(f"{who} reads the env's hidden state, which an AsyncVectorEnv keeps in other processes: "
                         "use a SyncVectorEnv or one agent per env.")
    else:
        envs = [env.unwrapped]
    for u in envs:
        if not hasattr(u, "oracle_action"):
            raise ValueError(f"{who} needs a QECSwitchEnv (with oracle_action), got {type(u).__name__}.")
    return envs


class _Privileged(Policy):
    privileged = True

    def __init__(self, env: Any) -> None:
        self.env = env
        self._envs = _unwrapped_envs(env, type(self).__name__)

    def _act(self, features: np.ndarray) -> np.ndarray:
        return self._act_with_starts(features, np.zeros(len(features), dtype=bool))

    def _act_with_starts(self, features: np.ndarray, starts: np.ndarray) -> np.ndarray:
        if len(features) != len(self._envs):
            raise ValueError(
                f"{self.name} is bound to {len(self._envs)} env(s) but got {len(features)} observations: it acts on "
                "its own env's hidden state, so pass that env's observation (or a SyncVectorEnv's batch)."
            )
        return np.array([self._act_one(i, u, bool(s)) for i, (u, s) in enumerate(zip(self._envs, starts))])

    def _act_one(self, i: int, u: Any, start: bool) -> int:
        raise NotImplementedError


class OracleAgent(_Privileged):
    """The myopic oracle: ``env.unwrapped.oracle_action()`` (true noise now, cheapest window).

    EVALUATION ONLY: it reads the true noise. It labels the decision-tree dataset and is the
    upper reference of a one-window-ahead controller; it thrashes near entry boundaries
    because it ignores switch costs.

    Args:
        env: The env it acts in (wrapped or not), or a ``SyncVectorEnv``.
    """

    name = "oracle"

    def _act_one(self, i: int, u: Any, start: bool) -> int:
        return int(u.oracle_action())


@dataclass
class _Plan:
    trajectory: Any  # the planned episode's trajectory object: a new one means a new episode
    start: int
    actions: list[int]
    entries: list[int]  # running entry before each planned action
    expected_return: float


class ClairvoyantAgent(_Privileged):
    """The clairvoyant bound: follows ``env.unwrapped.clairvoyant_plan()``.

    EVALUATION ONLY: it knows the whole true noise trajectory of the episode. It plans by
    dynamic programming (menu x time, with switch costs) at the start of each episode and
    follows the plan; it re-plans whenever the episode or the running entry is not the one
    planned (a new ``reset``, ``episode_start``, or an action taken by someone else).

    Its expected return is the exact upper bound for the env's expected costs; realized returns
    scatter around it with the window sampling noise. With a calibration table
    (``DecoderCalibration-v1``) the plan also chooses when to recalibrate.

    Args:
        env: The env it acts in (wrapped or not), or a ``SyncVectorEnv``.

    Attributes:
        planned_return: Expected return of the latest plan of each sub-env (from its start).
    """

    name = "clairvoyant"

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self._plans: list[_Plan | None] = [None] * len(self._envs)

    @property
    def planned_return(self) -> list[float | None]:
        return [None if p is None else p.expected_return for p in self._plans]

    def _act_one(self, i: int, u: Any, start: bool) -> int:
        t = int(u._t)
        if t >= len(u.trajectory):  # terminal observation of a finished episode: nothing to plan
            return 0
        plan = self._plans[i]
        stale = (
            start or plan is None or plan.trajectory is not u.trajectory
            or not plan.start <= t < plan.start + len(plan.actions) or plan.entries[t - plan.start] != u.entry
        )
        if stale:
            actions, value = u.clairvoyant_plan()
            entries, entry = [], int(u.entry)
            for a in actions:
                entries.append(entry)
                entry = a - 2 if a >= 2 else entry
            plan = self._plans[i] = _Plan(u.trajectory, t, actions, entries, value)
        return int(plan.actions[t - plan.start])
