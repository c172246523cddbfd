"""Teacher override ("the baseline proposes, RL overrides"): a residual action space over a baseline.

The agent sees the env's observation plus a one-hot of the teacher's proposed action and picks
one of ``1 + k`` actions: `FOLLOW` (0) plays the teacher's proposal, ``1 + i`` plays the env's
action ``alternatives[i]``; by default every env action (keep, recalibrate, switch to an entry),
or a subset, e.g. ``(0,)``: "veto" (keep instead of the teacher's switch). The policy starts as "always follow"
(`init_follow`: a bias on the follow logit), so its greedy policy is the teacher exactly, and
PPO only has to learn *when deviating pays* (e.g. a climb the teacher takes too late, a switch
not worth its cost), instead of re-learning the teacher (cf. residual policy learning,
Silver et al. 2018, arXiv:1812.06298, here over a discrete baseline).

* `TeacherOverride`: the wrapper for one gymnasium env (passes gymnasium's env checker).
* `TeacherOverrideVecEnv`: the same over a batched SB3 VecEnv (`NativeVecEnv`), for training.
* `OverridePolicy`: a trained override model and its teacher behind the baselines' ``predict``
  (raw env observations in, env actions out), for the evaluation harness's `run_one`.
* `train_override`: PPO on the override env from a packaged config, follow-initialised, with
  the critic warmed up on the teacher's returns (`qec_gym.training.hybrid.warm_up_value`).

The teacher reads only the env's observation (deployable baselines: threshold, best_fixed,
tree), so the wrapped env's observation holds nothing a control system could not measure.

Example:
    >>> import gymnasium as gym, qec_gym
    >>> from qec_gym.agents import FixedAgent
    >>> env = TeacherOverride(gym.make("qec_gym/SurfaceSwitch-v2", max_steps=3), FixedAgent(3, 10))
    >>> obs, _ = env.reset(seed=0)
    >>> int(env.action_space.n), obs.shape, int(obs[24 + 5])   # 1 + 12 actions; proposal: switch to 3
    (13, (36,), 1)
    >>> obs, reward, term, trunc, info = env.step(FOLLOW)
    >>> info["played"], info["entry"], info["overrode"]
    (5, 3, False)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnvWrapper

FOLLOW = 0


def override_action(choice, proposal, alternatives=None) -> np.ndarray:
    """Env actions of override ``choice`` given the teacher's ``proposal`` (int arrays, same shape);
    ``alternatives``: the env actions of choices 1, 2, ... (None: every env action, ``choice - 1``)."""
    choice = np.asarray(choice, dtype=np.int64)
    other = choice - 1 if alternatives is None else np.asarray(alternatives, dtype=np.int64)[np.maximum(choice - 1, 0)]
    return np.where(choice == FOLLOW, np.asarray(proposal, dtype=np.int64), other)


def augment(obs: np.ndarray, proposal, n_actions: int) -> np.ndarray:
    """``obs`` (obs_dim,) or (n, obs_dim) with the one-hot of ``proposal`` appended (float32)."""
    obs = np.asarray(obs, dtype=np.float32)
    onehot = np.eye(n_actions, dtype=np.float32)[np.asarray(proposal, dtype=np.int64)]
    return np.concatenate([obs, onehot], axis=-1)


def _alternatives(alternatives, n_actions: int) -> np.ndarray:
    alt = np.arange(n_actions) if alternatives is None else np.asarray(alternatives, dtype=np.int64).reshape(-1)
    if alt.size == 0 or alt.min() < 0 or alt.max() >= n_actions or len(set(alt.tolist())) != alt.size:
        raise ValueError(f"alternatives must be distinct env actions in 0..{n_actions - 1}, got {alternatives!r}: "
                         "e.g. (0,) to let the agent veto the teacher's switches, or None for every action.")
    return alt


def _spaces(obs_space: gym.spaces.Box, n_actions: int, n_alt: int) -> tuple[gym.spaces.Box, gym.spaces.Discrete]:
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise TypeError(f"the teacher override needs a flat Box observation, got {obs_space}: use a feature-vector env.")
    low = np.concatenate([obs_space.low.astype(np.float32), np.zeros(n_actions, np.float32)])
    high = np.concatenate([obs_space.high.astype(np.float32), np.ones(n_actions, np.float32)])
    return gym.spaces.Box(low, high, dtype=np.float32), gym.spaces.Discrete(1 + n_alt)


def _proposals(teacher, obs: np.ndarray) -> np.ndarray:
    return np.asarray(teacher.predict(obs, deterministic=True)[0], dtype=np.int64).reshape(-1)


class TeacherOverride(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """One env with the override action space (see the module doc).

    Args:
        env: A qec_gym switching env with a flat Box observation and a Discrete action space.
        teacher: A baseline with ``predict(obs)`` on the env's raw observations.
        alternatives: The env actions the agent may play instead of following (None: all).

    Raises:
        TypeError: a Dict observation or a non-Discrete action space.
        ValueError: ``alternatives`` that are not distinct env actions.
    """

    def __init__(self, env: gym.Env, teacher: Any, alternatives=None) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, teacher=teacher, alternatives=alternatives)
        gym.Wrapper.__init__(self, env)
        if not isinstance(env.action_space, gym.spaces.Discrete):
            raise TypeError(f"the teacher override needs a Discrete action space, got {env.action_space}.")
        self.teacher = teacher
        self.n_env_actions = int(env.action_space.n)
        self.alternatives = _alternatives(alternatives, self.n_env_actions)
        self.observation_space, self.action_space = _spaces(env.observation_space, self.n_env_actions,
                                                            len(self.alternatives))
        self._proposal = 0

    def _observe(self, obs):
        self._proposal = int(_proposals(self.teacher, obs)[0])
        return augment(obs, self._proposal, self.n_env_actions)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return self._observe(obs), info

    def step(self, action):
        played = int(override_action(action, self._proposal, self.alternatives))
        obs, reward, term, trunc, info = self.env.step(played)
        info = {**info, "overrode": int(action) != FOLLOW, "played": played}
        return self._observe(obs), reward, term, trunc, info


class TeacherOverrideVecEnv(VecEnvWrapper):
    """`TeacherOverride` over a batched SB3 VecEnv (terminal observations augmented too)."""

    def __init__(self, venv, teacher: Any, alternatives=None) -> None:
        self.teacher = teacher
        self.n_env_actions = int(venv.action_space.n)
        self.alternatives = _alternatives(alternatives, self.n_env_actions)
        obs_space, act_space = _spaces(venv.observation_space, self.n_env_actions, len(self.alternatives))
        super().__init__(venv, observation_space=obs_space, action_space=act_space)
        self._proposal = np.zeros(venv.num_envs, dtype=np.int64)

    def _observe(self, obs: np.ndarray) -> np.ndarray:
        self._proposal = _proposals(self.teacher, obs)
        return augment(obs, self._proposal, self.n_env_actions)

    def reset(self):
        return self._observe(self.venv.reset())

    def step_async(self, actions) -> None:
        self.venv.step_async(override_action(np.asarray(actions).reshape(-1), self._proposal, self.alternatives))

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        for info in infos:
            if "terminal_observation" in info:
                term = np.asarray(info["terminal_observation"])[None]
                info["terminal_observation"] = augment(term, _proposals(self.teacher, term), self.n_env_actions)[0]
        return self._observe(obs), rewards, dones, infos


class OverridePolicy:
    """A trained override policy and its teacher as one deployable policy (raw obs -> env action).

    Args:
        policy: ``predict`` on augmented observations (e.g. `qec_gym.training.policy.TrainedPolicy`).
        teacher: The teacher it was trained over.
        n_env_actions: The env's action count.
        alternatives: As `TeacherOverride`'s (the ones it was trained with).
        name: Label in tables.
    """

    def __init__(self, policy: Any, teacher: Any, n_env_actions: int, *, alternatives=None, name: str = "override") -> None:
        self.policy, self.teacher, self.n_env_actions, self.name = policy, teacher, int(n_env_actions), name
        self.alternatives = _alternatives(alternatives, self.n_env_actions)

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = True):
        obs = np.asarray(observation, dtype=np.float32)
        batch = obs.reshape(-1, obs.shape[-1])
        proposal = _proposals(self.teacher, batch)
        choice, _ = self.policy.predict(augment(batch, proposal, self.n_env_actions), deterministic=deterministic)
        action = override_action(np.asarray(choice).reshape(-1), proposal, self.alternatives)
        return (action if obs.ndim > 1 else action[0]), state


def init_follow(model, follow_prob: float = 0.98) -> None:
    """Set the actor's output so that it follows the teacher with probability ``follow_prob``
    everywhere (zero output weights, a bias on `FOLLOW`): greedy, it is the teacher exactly;
    sampled, it deviates (uniformly) on the remaining share, PPO's exploration.

    Raises:
        ValueError: ``follow_prob`` outside (0, 1).
    """
    import torch

    if not 0 < follow_prob < 1:
        raise ValueError(f"follow_prob must be in (0, 1), got {follow_prob!r}.")
    net = model.policy.action_net
    k = net.out_features
    with torch.no_grad():
        net.weight.zero_()
        net.bias.zero_()
        net.bias[FOLLOW] = float(np.log(follow_prob * (k - 1) / (1 - follow_prob)))


def train_override(config, run_dir: str | Path, teacher, *, alternatives=None, follow_prob: float = 0.98,
                   value_steps: int = 50_000, value_rounds: int = 3) -> dict:
    """Train PPO (``config``: a resolved feed-forward PPO config, native vec env) over ``teacher``.

    Writes ``model.zip``, ``vecnormalize.pkl`` (if ``config.normalize``) and ``override.json``
    (teacher, alternatives, follow_prob, critic explained variance, env steps, the share of
    greedy deviations on the last rollout) to ``run_dir``; returns the record.
    Not resumable, and not a `qec_gym.training.train` run: load it with `load_override`.

    Raises:
        ValueError: an algorithm other than PPO, or an env without a native vector env.
    """
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from qec_gym.training.config import parse_schedule
    from qec_gym.training.hybrid import warm_up_value
    from qec_gym.training.native_vec import NativeVecEnv

    if config.algo != "ppo":
        raise ValueError(f"train_override trains PPO, not {config.algo}.")
    torch.set_num_threads(config.torch_threads)
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    venv = TeacherOverrideVecEnv(NativeVecEnv(config.env_id, config.n_envs, seed=config.seed,
                                              env_kwargs=config.env_kwargs), teacher, alternatives)
    if config.normalize:
        venv = VecNormalize(venv, norm_obs=True, norm_reward=False)
    hp = {k: parse_schedule(v) for k, v in config.hyperparams.items()}
    model = PPO(config.policy, venv, seed=config.seed, verbose=0, **hp)
    init_follow(model, follow_prob)
    record: dict[str, Any] = {"teacher": repr(getattr(teacher, "config", teacher)), "follow_prob": follow_prob,
                              "alternatives": None if alternatives is None else [int(a) for a in alternatives]}
    record["critic_explained_variance"] = (warm_up_value(model, venv, steps=value_steps, rounds=value_rounds)
                                           if value_rounds else None)
    model.learn(total_timesteps=config.total_timesteps)
    record["env_steps"] = int(model.num_timesteps + value_rounds * value_steps)
    obs = model.rollout_buffer.observations.reshape(-1, *venv.observation_space.shape)
    with torch.no_grad():
        greedy = model.policy.get_distribution(torch.as_tensor(obs)).distribution.probs.argmax(dim=1).numpy()
    record["greedy_deviation_share"] = float(np.mean(greedy != FOLLOW))
    model.save(run / "model.zip")
    if config.normalize:
        venv.save(str(run / "vecnormalize.pkl"))
    (run / "override.json").write_text(json.dumps(record, indent=1))
    venv.close()
    return record


def load_override(run_dir: str | Path, teacher, n_env_actions: int, *, name: str = "override") -> OverridePolicy:
    """The `OverridePolicy` of a `train_override` folder (``teacher``: the one it was trained over)."""
    from stable_baselines3 import PPO

    from qec_gym.training.policy import TrainedPolicy, _load_vecnormalize

    run = Path(run_dir)
    model = PPO.load(run / "model.zip", device="cpu")
    path = run / "vecnormalize.pkl"
    vn = _load_vecnormalize(None, path) if path.exists() else None
    alternatives = json.loads((run / "override.json").read_text()).get("alternatives")
    return OverridePolicy(TrainedPolicy(model, vec_normalize=vn, name=name), teacher, n_env_actions,
                          alternatives=alternatives, name=name)

