"""`NativeVecEnv`: stable-baselines3's `VecEnv` interface over the batched `QECSwitchVectorEnv`.

``TrainConfig(vec_env="native")`` (``qec-gym train --vec-env native --n-envs N``) trains on it
instead of N single envs in a ``DummyVecEnv``: one numpy call steps every copy. It gives SB3 what
its Monitor + DummyVecEnv stack gives: SAME_STEP autoreset with ``terminal_observation`` and
``TimeLimit.truncated`` in the finishing copy's info, ``info["episode"] = {"r", "l", "t"}`` at
episode end (SB3's ``ep_info_buffer``), the per-step info keys the training callbacks read, and
``env_method("action_masks")`` (MaskablePPO), ``env_method("replay_record")`` / ``("replay", ...)``
(exact checkpoint resume: the vector env's whole state and generator, kept in copy 0's record).

Example:
    >>> from qec_gym.training.native_vec import NativeVecEnv
    >>> venv = NativeVecEnv("qec_gym/SurfaceSwitch-v1", n_envs=2, seed=0, env_kwargs={"max_steps": 2})
    >>> obs = venv.reset()
    >>> obs.shape
    (2, 24)
    >>> for _ in range(2):
    ...     obs, rewards, dones, infos = venv.step(np.zeros(2, dtype=np.int64))
    >>> dones.tolist(), sorted(infos[0]["episode"]), infos[0]["TimeLimit.truncated"]
    ([True, True], ['l', 'r', 't'], True)
"""

from __future__ import annotations

import copy
import time
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from qec_gym.envs.vector_env import QECSwitchVectorEnv

# Per-step info keys copied into SB3's per-copy dicts (what qec_gym.training.callbacks reads).
_STEP_KEYS = ("p_round", "expected_p_round", "qubits", "latency_s", "switched", "recalibrated", "entry")


class NativeVecEnv(VecEnv):
    """N copies of ``env_id`` (table backend) as one SB3 `VecEnv` (see the module doc).

    Args:
        env_id: A registered id with a native vector env (`qec_gym.envs.VECTOR_ENV_IDS`).
        n_envs: Copies (>= 1).
        seed: Seed of the first reset (later resets continue the generator); None: fresh entropy.
        env_kwargs: Keyword arguments of the single env (as ``gymnasium.make``).

    Raises:
        ValueError: an id without a native vector env, or a circuit-backend configuration.
    """

    def __init__(self, env_id: str, n_envs: int, *, seed: int | None = 0, env_kwargs: dict | None = None):
        spec = gym.spec(env_id)
        if spec.vector_entry_point is None:
            from qec_gym.envs import VECTOR_ENV_IDS

            raise ValueError(f"{env_id} has no native vector env (ids with one: {list(VECTOR_ENV_IDS)}); "
                             "use vec_env='dummy' or 'subproc'.")
        self.venv: QECSwitchVectorEnv = spec.vector_entry_point(
            num_envs=n_envs, autoreset_mode="SameStep", **(env_kwargs or {})
        )
        super().__init__(n_envs, self.venv.single_observation_space, self.venv.single_action_space)
        self._first_seed = seed
        self._returns = np.zeros(n_envs)
        self._lengths = np.zeros(n_envs, dtype=np.int64)
        self._t0 = time.time()
        self._actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        seed = self._seeds[0] if self._seeds and self._seeds[0] is not None else self._first_seed
        self._first_seed = None  # a later reset continues the generator instead of repeating episodes
        obs, _ = self.venv.reset(seed=seed)
        self._reset_seeds()
        self._returns[:] = 0.0
        self._lengths[:] = 0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self):
        obs, rewards, terminated, truncated, info = self.venv.step(self._actions)
        dones = terminated | truncated
        self._returns += rewards
        self._lengths += 1
        columns = {k: info[k].tolist() for k in _STEP_KEYS}
        infos: list[dict[str, Any]] = [{k: columns[k][i] for k in _STEP_KEYS} for i in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            infos[i]["terminal_observation"] = info["final_obs"][i]
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            infos[i]["episode"] = {"r": float(self._returns[i]), "l": int(self._lengths[i]),
                                   "t": round(time.time() - self._t0, 6)}
            self._returns[i] = 0.0
            self._lengths[i] = 0
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self.venv.env, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        raise AttributeError("NativeVecEnv copies share one template env: set attributes before building it.")

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        idx = list(self._get_indices(indices))
        if method_name == "action_masks":
            masks = self.venv.action_masks()
            return [masks[i] for i in idx]
        if method_name == "replay_record":
            return [self._record() if i == 0 else {"in_record_of": 0} for i in idx]
        if method_name == "replay":
            (record,) = method_args
            if "in_record_of" not in record:
                self._restore(record)
            return [True for _ in idx]
        raise AttributeError(f"NativeVecEnv supports env_method 'action_masks', 'replay_record' and 'replay', "
                             f"not {method_name!r}.")

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self):
        raise NotImplementedError("NativeVecEnv does not render; use the single env for images.")

    def _record(self) -> dict:
        return copy.deepcopy({"native": self.venv.get_state(), "returns": self._returns, "lengths": self._lengths})

    def _restore(self, record: dict) -> None:
        self.venv.set_state(record["native"])
        self._returns = np.copy(record["returns"])
        self._lengths = np.copy(record["lengths"])
