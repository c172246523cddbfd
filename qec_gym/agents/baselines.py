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

from qec_gym.agents.base import N_BASE_FEATURES, Policy, _episode_starts, running_entry
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
        self.nvec = None  # MultiDiscrete (many-patch envs): one uniform draw per dimension
        if isinstance(action_space, gym.spaces.MultiDiscrete) and action_space.nvec.ndim == 1:
            self.nvec = np.asarray(action_space.nvec, dtype=np.int64)
            self.start = np.asarray(action_space.start, dtype=np.int64)
            self.rng = np.random.default_rng(seed)
            return
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ValueError(f"RandomAgent needs a Discrete (or 1-D MultiDiscrete) action space, got {action_space}.")
        self.n = int(action_space.n)
        self.start = int(action_space.start)
        self.rng = np.random.default_rng(seed)

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        """As `Policy.predict`; with a MultiDiscrete space the actions have a last axis of ``len(nvec)``."""
        if self.nvec is None:
            return super().predict(observation, state, episode_start, deterministic)
        features, batched = self._as_batch(observation)
        actions = self.start + self.rng.integers(self.nvec, size=(len(features), len(self.nvec)))
        return (actions if batched else actions[0]), state

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


# ---------------------------------------------------------------------------------- many patches
class _PatchPolicy(Policy):
    """A policy for `qec_gym.envs.MultiPatchSwitchEnv`: actions of shape (n_patches,) per observation."""

    def __init__(self, env: Any) -> None:
        u = getattr(env, "unwrapped", env)
        if getattr(u, "n_patches", None) is None:
            raise ValueError(f"{type(self).__name__} needs a MultiPatchSwitchEnv, got {type(u).__name__}.")
        self.n_patches, self.n_patch_features = int(u.n_patches), int(u.n_patch_features)
        self.menu_size, self.qubits, self.budget = len(u.menu), np.asarray(u._qubits), float(u.budget)

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        """SB3's interface: (n_patches,) int64 actions for one observation, (n, n_patches) for a batch."""
        features, batched = self._as_batch(observation)
        starts = _episode_starts(episode_start, len(features))
        actions, state = self._act_patches(features, starts, state)
        actions = np.asarray(actions, dtype=np.int64).reshape(len(features), self.n_patches)
        return (actions if batched else actions[0]), state

    def _rows(self, features: np.ndarray) -> np.ndarray:
        """(n * n_patches, 14 + menu) rows: each patch's observation in SurfaceSwitch's layout."""
        rows = features[:, : self.n_patches * self.n_patch_features].reshape(-1, self.n_patch_features)
        return rows[:, : N_BASE_FEATURES + self.menu_size]

    def _act(self, features: np.ndarray) -> np.ndarray:
        return self._act_patches(features, np.zeros(len(features), dtype=bool), None)[0]

    def _act_patches(self, features: np.ndarray, starts: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        raise NotImplementedError


class PerPatchAgent(_PatchPolicy):
    """A single-patch policy (`FixedAgent`, `ThresholdAgent`, ...) applied to every patch of a many-patch env.

    Each patch's observation row holds SurfaceSwitch's observation (`MultiPatchSwitchEnv`), and
    per-patch actions ``0 .. 1 + menu`` mean what they mean in the single env, so ``inner`` acts
    on the rows unchanged (it never remaps). With ``respect_budget`` (default) the switches that
    the env's budget rule (`qec_gym.envs.multipatch_env.apply_budget`) would refuse are turned
    into keep, so the policy pays no refusal penalty. ``entry_index`` and ``config`` are
    ``inner``'s (the harness stores them).

    Args:
        inner: A policy for SurfaceSwitch-v1's observation.
        env: The many-patch env (for its patch count, menu qubits and budget).
        name: Display name (default: ``inner.name``).
        respect_budget: Drop the switches the budget refuses.

    Example:
        >>> import gymnasium as gym, qec_gym
        >>> env = gym.make("qec_gym/MultiPatchSwitch-v1", max_steps=3)
        >>> obs, _ = env.reset(seed=0)
        >>> PerPatchAgent(FixedAgent(4, menu_size=10), env).predict(obs)[0].tolist()[:4]  # d=7 for all: fits
        [6, 6, 6, 6]
    """

    def __init__(self, inner: Any, env: Any, *, name: str | None = None, respect_budget: bool = True) -> None:
        super().__init__(env)
        self.inner = inner
        self.name = name or getattr(inner, "name", "per_patch")
        self.respect_budget = bool(respect_budget)
        for attr in ("entry_index", "config"):
            if hasattr(inner, attr):
                setattr(self, attr, getattr(inner, attr))

    def _act_patches(self, features, starts, state):
        from qec_gym.envs.multipatch_env import apply_budget

        rows = self._rows(features)
        actions, state = self.inner.predict(rows, state=state, episode_start=np.repeat(starts, self.n_patches),
                                            deterministic=True)
        actions = np.asarray(actions, dtype=np.int64).reshape(len(features), self.n_patches)
        if self.respect_budget:
            running = running_entry(rows, self.menu_size).reshape(len(features), self.n_patches)
            for r in range(len(features)):
                switch = (actions[r] >= 2) & (actions[r] < 2 + self.menu_size)
                requested = np.where(switch, actions[r] - 2, running[r])
                granted = apply_budget(running[r], requested, self.qubits, self.budget)
                actions[r, granted != requested] = 0
        return actions, state


class PatchOracleAgent(_PatchPolicy):
    """The myopic oracle of a many-patch env: ``env.unwrapped.oracle_action()`` (EVALUATION ONLY).

    Per patch the cheapest configuration for this window knowing the true noise, jointly within
    the qubit budget, and a remap where moving pays this window (`MultiPatchSwitchEnv.oracle_action`).

    Args:
        env: The env it acts in (wrapped or not).
        remap: If False, never remap (keep instead): the ablation that measures what remapping buys.
    """

    privileged = True

    def __init__(self, env: Any, *, remap: bool = True) -> None:
        super().__init__(env)
        self.env = env
        self.remap = bool(remap)
        self.name = "oracle" if self.remap else "oracle_no_remap"

    def _act_patches(self, features, starts, state):
        if len(features) != 1:
            raise ValueError(f"{self.name} is bound to one env but got {len(features)} observations: pass that env's own.")
        u = self.env.unwrapped
        actions = u.oracle_action()
        if not self.remap:
            actions = np.where(actions == u.remap_action, 0, actions)
        return actions[None, :], state


def patch_fixed_entry_scores(
    source: EnvSource,
    *,
    scenarios: str | list[str] = "train",
    episodes: int = 4,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
) -> FixedEntryScores:
    """Returns of every menu entry run on ALL patches of a many-patch env (paired training episodes).

    Entries that do not fit the budget on every patch (``n_patches * qubits > budget``) are not
    rolled out: their returns are ``-inf``. Arguments as in `fixed_entry_scores`.
    """
    env = make_env(source, scenarios=scenarios, env_kwargs=env_kwargs)
    try:
        u = env.unwrapped
        returns = np.full((len(u.menu), episodes), -np.inf)
        for i in range(len(u.menu)):
            if u.n_patches * u._qubits[i] <= u.budget:
                agent = PerPatchAgent(FixedAgent(i, len(u.menu)), env)
                returns[i] = episode_returns(env, agent, episodes=episodes, seed=seed)
    finally:
        env.close()
    return FixedEntryScores(returns, tuple(e.label for e in u.menu))


def make_patch_baseline(name: str, env: Any, /, **kw: Any) -> Policy:
    """`qec_gym.agents.make_baseline` for a many-patch env (`MultiPatchSwitchEnv`).

    ``random``, ``fixed:<i>`` (every patch on ``menu[i]``), ``best_fixed`` (one entry for all
    patches within the budget, chosen on training episodes: `patch_fixed_entry_scores`),
    ``threshold`` (`ThresholdAgent` per patch, ``config=`` or fitted on SurfaceSwitch-v1, the
    single patch with the same table, menu and reward: a per-patch rule that sees neither the
    budget nor the neighbours; the budget rule drops what does not fit), ``oracle``
    (`PatchOracleAgent`). Options as `make_baseline`'s.

    Raises:
        ValueError: another baseline name (those need the single env's actions or info).
    """
    kind, _, arg = name.partition(":")
    u = env.unwrapped
    if kind == "random":
        return RandomAgent(env.action_space, seed=kw.get("seed", 0))
    if kind == "oracle":
        return PatchOracleAgent(env)
    if kind == "fixed" and arg:
        return PerPatchAgent(FixedAgent(int(arg), len(u.menu)), env, name=kw.get("name"))
    if kind == "best_fixed":
        source = kw.pop("source", env)
        best = patch_fixed_entry_scores(source, **kw).best
        return PerPatchAgent(FixedAgent(best, len(u.menu)), env, name="best_fixed")
    if kind == "threshold":
        from qec_gym.agents.threshold import ThresholdAgent, ThresholdConfig
        from qec_gym.envs import make_surface_switch

        if "config" in kw:
            cfg = kw["config"]
            if not isinstance(cfg, ThresholdConfig) or cfg.menu_size != len(u.menu):
                raise ValueError(f"threshold: config must be a ThresholdConfig for a menu of {len(u.menu)} entries.")
            return PerPatchAgent(ThresholdAgent(cfg), env)
        t = u.template
        twin = dict(shots=t.shots, reward=t.reward_config, max_steps=u.max_steps)

        def single_patch(**kwargs):
            return make_surface_switch(**{**twin, **kwargs})

        kw.pop("source", None)
        return PerPatchAgent(ThresholdAgent.fit(single_patch, **kw), env)
    raise ValueError(f"baseline {name!r} is not available on a many-patch env; use random, fixed:<i>, best_fixed, "
                     "threshold or oracle.")
