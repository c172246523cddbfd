"""The one interface every baseline shares: SB3's ``predict``.

``policy.predict(observation, state=None, episode_start=None, deterministic=True)`` returns
``(action, state)``, exactly like a stable-baselines3 model, so the evaluation harness treats SB3
models and baselines alike:

* a single observation (shape ``observation_space.shape``) gives a 0-d ``int64`` array;
* a batch (shape ``(n, *observation_space.shape)``, e.g. from a vector env) gives shape ``(n,)``;
* a ``Dict`` observation (``raw_syndrome=True``) is read through its ``"features"`` entry.

Baselines are stateless between calls (``state`` is passed through untouched) except `CusumRecalAgent`
(its detector lives in ``state``: pass it back) and the
privileged ones, which hold a reference to their env.

Example:
    >>> import numpy as np
    >>> from qec_gym.agents.base import Policy
    >>> class Keep(Policy):
    ...     name = "keep"
    ...     def _act(self, features):
    ...         return np.zeros(len(features), dtype=np.int64)
    >>> Keep().predict(np.zeros(24, dtype=np.float32))
    (array(0), None)
    >>> Keep().predict(np.zeros((3, 24), dtype=np.float32))[0]
    array([0, 0, 0])
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol, runtime_checkable

import numpy as np

from qec_gym.envs.table import FEATURES

N_BASE_FEATURES = 14
"""Features before the one-hot of the running menu entry (`QECSwitchEnv`'s observation table)."""

IDX_LOG_NOISE = 8
"""log10 of the syndrome-derived noise multiplier estimate of the last window."""
IDX_LOG_NOISE_EMA = 9
"""Exponential moving average (0.3) of `IDX_LOG_NOISE`."""
IDX_SINCE_SWITCH = 12
"""Steps since the last switch / 100, clipped to [0, 1]."""
IDX_SINCE_RECAL = 13
"""Steps since the last recalibration / 100, clipped to [0, 1]."""

_BASE_NAMES = (*FEATURES, "log_noise", "log_noise_ema", "log_latency", "qubits_frac", "since_switch", "since_recal")


@runtime_checkable
class SupportsPredict(Protocol):
    """Anything with SB3's ``predict`` (an SB3 model or a `Policy`)."""

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]: ...


class Policy(ABC):
    """Base class of the baselines: SB3's ``predict`` on top of one batched ``_act``.

    Subclasses set ``name`` and implement ``_act(features) -> actions`` on a 2-D float array
    (one row per observation). ``privileged = True`` marks policies that read the env's hidden
    state (true noise, future trajectory): they are references for evaluation only, never
    deployable controllers, and must not be used to tune anything on held-out scenarios.
    """

    name: str = "policy"
    privileged: bool = False

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """SB3's interface: the action(s) for ``observation`` and the (unchanged) ``state``.

        Args:
            observation: One observation or a batch (leading axis); a ``Dict`` observation is
                read through ``"features"``.
            state: Recurrent state; baselines have none and return it unchanged.
            episode_start: Per-row flags that a new episode starts (SB3 recurrent convention);
                privileged policies re-plan on it, the others ignore it.
            deterministic: Accepted for compatibility; only `RandomAgent` is stochastic.

        Returns:
            ``(actions, state)``: a 0-d int64 array for one observation, shape ``(n,)`` for a batch.
        """
        features, batched = self._as_batch(observation)
        starts = _episode_starts(episode_start, len(features))
        actions = np.asarray(self._act_with_starts(features, starts), dtype=np.int64).reshape(len(features))
        return (actions if batched else actions.squeeze(axis=0)), state

    def _act_with_starts(self, features: np.ndarray, starts: np.ndarray) -> np.ndarray:
        # Only privileged policies care about episode starts; they override this hook.
        return self._act(features)

    @abstractmethod
    def _act(self, features: np.ndarray) -> np.ndarray:
        """Actions (int, shape ``(n,)``) for a 2-D float array of observations."""

    def _as_batch(self, observation: Any) -> tuple[np.ndarray, bool]:
        if isinstance(observation, dict):
            if "features" not in observation:
                raise ValueError(f"{self.name}: a Dict observation needs a 'features' entry, got keys {sorted(observation)}.")
            observation = observation["features"]
        obs = np.asarray(observation, dtype=np.float64)
        if obs.ndim == 1:
            return obs[None, :], False
        if obs.ndim == 2:
            return obs, True
        raise ValueError(
            f"{self.name}: observation must be 1-D (one) or 2-D (a batch), got shape {obs.shape}; "
            "flatten image-like observations first."
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _episode_starts(episode_start: Any, n: int) -> np.ndarray:
    if episode_start is None:
        return np.zeros(n, dtype=bool)
    starts = np.asarray(episode_start, dtype=bool).reshape(-1)
    if starts.size == 1:
        return np.full(n, bool(starts[0]))
    if starts.size != n:
        raise ValueError(f"episode_start has {starts.size} flags for a batch of {n} observations: give one per row.")
    return starts


def running_entry(features: np.ndarray, menu_size: int) -> np.ndarray:
    """Index of the running menu entry read from the observation's one-hot (-1 where none is set).

    Args:
        features: 2-D array of observations.
        menu_size: Length of the env's menu.

    Returns:
        int64 array of shape ``(n,)``.

    Example:
        >>> import numpy as np
        >>> obs = np.zeros((2, 17)); obs[0, 14 + 1] = 1.0
        >>> running_entry(obs, 3)
        array([ 1, -1])
    """
    if features.shape[1] < N_BASE_FEATURES + menu_size:
        raise ValueError(
            f"observations have {features.shape[1]} features but a menu of {menu_size} needs at least "
            f"{N_BASE_FEATURES + menu_size}: is menu_size right for this env?"
        )
    onehot = features[:, N_BASE_FEATURES : N_BASE_FEATURES + menu_size]
    entry = np.argmax(onehot, axis=1).astype(np.int64)
    entry[onehot.max(axis=1) < 0.5] = -1
    return entry


def observation_feature_names(env: Any) -> tuple[str, ...]:
    """Names of a `QECSwitchEnv`'s observation features, in order (the env docstring's table).

    ``rate, rate_z, rate_x, rate_first, rate_bulk, rate_last, spread, effort, log_noise,
    log_noise_ema, log_latency, qubits_frac, since_switch, since_recal``, then
    ``running[<menu label>]`` per menu entry, then ``log_noise_priors, log_noise_recal_estimate,
    log_noise_mismatch`` (calibration state), ``readout_log_noise`` (calibration readout)
    and ``priv_log_noise_true, priv_log_noise_assumed`` (privileged) where the env has them.

    Args:
        env: A `QECSwitchEnv`, possibly wrapped.

    Example:
        >>> import gymnasium as gym, qec_gym
        >>> names = observation_feature_names(gym.make("qec_gym/SurfaceSwitch-v1"))
        >>> names[8], names[14], len(names)
        ('log_noise', 'running[rotated_surface d3 pymatching]', 24)
    """
    u = env.unwrapped
    names = [*_BASE_NAMES, *(f"running[{e.label}]" for e in u.menu)]
    if getattr(u, "calibration_state", False):
        names += ["log_noise_priors", "log_noise_recal_estimate", "log_noise_mismatch"]
    if getattr(u, "calibration_readout", False):
        names.append("readout_log_noise")
    if getattr(u, "privileged", False):
        names += ["priv_log_noise_true", "priv_log_noise_assumed"]
    space = u.observation_space
    shape = space["features"].shape if hasattr(space, "spaces") and "features" in space.spaces else space.shape
    if shape != (len(names),):
        raise ValueError(f"observation shape {shape} does not match the {len(names)} known feature names: "
                         "is this a QECSwitchEnv?")
    return tuple(names)


def features_shape(env: Any) -> tuple[int, ...]:
    """Shape of the env's feature vector (the ``"features"`` entry of a ``Dict`` observation)."""
    space = env.observation_space
    if hasattr(space, "spaces") and "features" in getattr(space, "spaces", {}):
        return tuple(space["features"].shape)
    return tuple(space.shape)
