"""SB3 callbacks: ``qec/`` scalars beside SB3's ``rollout/`` and ``train/``, and the periodic
evaluation with regret to the clairvoyant oracle and best-model saving.

``qec/`` scalars (means over the rollout's steps unless said otherwise):
``log10_p_round`` (logical error per round, window estimate), ``expected_log10_p_round``,
``qubits``, ``switches_per_episode`` (finished episodes), ``recalibrations_per_step``,
``latency_us`` (decode latency per round), ``oracle_agreement`` (fraction of actions equal to
the myopic oracle's), ``action_frac/<a>`` (action histogram); from evaluations: ``eval_return``,
``eval_clairvoyant_return``, ``eval_regret`` (clairvoyant minus agent, paired on seeds).
"""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback


class QECMetricsCallback(BaseCallback):
    """Aggregates the envs' ``info`` into ``qec/`` scalars at the end of each rollout."""

    def __init__(self, n_actions: int, verbose: int = 0):
        super().__init__(verbose)
        self.n_actions = n_actions
        self._reset()

    def _reset(self) -> None:
        self.log_p: list[float] = []
        self.expected: list[float] = []
        self.qubits: list[float] = []
        self.latency: list[float] = []
        self.recal = 0
        self.agree: list[float] = []
        self.actions = np.zeros(self.n_actions, dtype=np.int64)
        self.episode_switches: list[int] = []
        self._running_switches: np.ndarray | None = None
        self._last_oracle: list[int | None] | None = None

    def _on_step(self) -> bool:
        infos = self.locals.get("infos", [])
        actions = np.asarray(self.locals.get("actions")).reshape(-1)
        dones = np.asarray(self.locals.get("dones", np.zeros(len(infos), bool))).reshape(-1)
        if self._running_switches is None:
            self._running_switches = np.zeros(len(infos), dtype=np.int64)
            self._last_oracle = [None] * len(infos)
        for i, info in enumerate(infos):
            a = int(actions[i])
            self.actions[a] += 1
            if self._last_oracle[i] is not None:
                self.agree.append(float(a == self._last_oracle[i]))
            self._last_oracle[i] = info.get("oracle_action")
            if "p_round" not in info:
                continue
            self.log_p.append(math.log10(max(info["p_round"], 1e-15)))
            self.expected.append(math.log10(max(info["expected_p_round"], 1e-15)))
            self.qubits.append(info["qubits"])
            self.latency.append(info.get("latency_s", 0.0) * 1e6)
            self.recal += int(info["recalibrated"])
            self._running_switches[i] += int(info["switched"])
            if dones[i]:
                self.episode_switches.append(int(self._running_switches[i]))
                self._running_switches[i] = 0
                self._last_oracle[i] = None
        return True

    def get_state(self) -> dict:
        """What carries over between rollouts (episodes span rollouts)."""
        return {"switches": self._running_switches, "oracle": self._last_oracle}

    def set_state(self, state: dict) -> None:
        self._running_switches, self._last_oracle = state["switches"], state["oracle"]

    def _on_rollout_end(self) -> None:
        if self.log_p:
            rec = self.logger.record
            rec("qec/log10_p_round", float(np.mean(self.log_p)))
            rec("qec/expected_log10_p_round", float(np.mean(self.expected)))
            rec("qec/qubits", float(np.mean(self.qubits)))
            rec("qec/latency_us", float(np.mean(self.latency)))
            rec("qec/recalibrations_per_step", self.recal / len(self.log_p))
            if self.agree:
                rec("qec/oracle_agreement", float(np.mean(self.agree)))
            if self.episode_switches:
                rec("qec/switches_per_episode", float(np.mean(self.episode_switches)))
            total = self.actions.sum()
            for a in range(self.n_actions):
                rec(f"qec/action_frac/{a}", float(self.actions[a] / max(total, 1)))
        switches = self._running_switches
        oracle = self._last_oracle
        self._reset()
        self._running_switches, self._last_oracle = switches, oracle  # episodes span rollouts


class QECEvalCallback(BaseCallback):
    """Every ``eval_freq`` steps: deterministic episodes on validation seeds, regret to the
    clairvoyant plan on the same seeds (paired), best model saved to ``best_model.zip``.

    Args:
        make_env: Builds one (unwrapped-accessible) evaluation env.
        eval_freq: Steps between evaluations (counted over all parallel envs).
        episodes: Episodes per evaluation; episode k uses seed ``seed + k``.
        out_dir: Where ``best_model.zip`` and ``evaluations.jsonl`` go.
    """

    def __init__(self, make_env, *, eval_freq: int, episodes: int, out_dir: str | Path, seed: int = 10_000, verbose: int = 0):
        super().__init__(verbose)
        self.make_env = make_env
        self.eval_freq = eval_freq
        self.episodes = episodes
        self.out_dir = Path(out_dir)
        self.seed = seed
        self.best = -math.inf
        self._env = None
        self._clairvoyant: list[float] | None = None
        self._next = eval_freq

    def _on_step(self) -> bool:
        if self.eval_freq > 0 and self.num_timesteps >= self._next:
            self._next = self.num_timesteps + self.eval_freq
            self.evaluate()
        return True

    def get_state(self) -> dict:
        """Best mean return so far and the step of the next evaluation."""
        return {"best": self.best, "next": self._next}

    def set_state(self, state: dict) -> None:
        self.best, self._next = state["best"], state["next"]

    def evaluate(self) -> dict:
        from qec_gym.training.policy import TrainedPolicy, run_episode

        if self._env is None:
            self._env = self.make_env()
        policy = TrainedPolicy(self.model, vec_normalize=self.model.get_vec_normalize_env())
        returns = [run_episode(self._env, policy, seed=self.seed + k)[0] for k in range(self.episodes)]
        if self._clairvoyant is None:
            self._clairvoyant = [self._clairvoyant_return(self.seed + k) for k in range(self.episodes)]
        mean = float(np.mean(returns))
        regret = float(np.mean(np.subtract(self._clairvoyant, returns)))
        self.logger.record("qec/eval_return", mean)
        self.logger.record("qec/eval_clairvoyant_return", float(np.mean(self._clairvoyant)))
        self.logger.record("qec/eval_regret", regret)
        row = {"timesteps": int(self.num_timesteps), "return": mean, "regret": regret, "returns": returns}
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / "evaluations.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        if mean > self.best:
            self.best = mean
            self.model.save(self.out_dir / "best_model.zip")
            vn = self.model.get_vec_normalize_env()
            if vn is not None:
                vn.save(str(self.out_dir / "best_vecnormalize.pkl"))
        return row

    def _clairvoyant_return(self, seed: int) -> float:
        env = self._env.unwrapped
        self._env.reset(seed=seed)
        plan, _ = env.clairvoyant_plan()
        total, done, k = 0.0, False, 0
        while not done:
            a = plan[k]
            _, r, term, trunc, _ = self._env.step(a)
            total += r
            done = term or trunc
            k += 1
        return total


class ReplayRecorder(gym.Wrapper):
    """Records what rebuilds this env's state exactly: how its episode began and the actions since.

    Every env draws only from ``self.np_random`` (the design's Gymnasium contract), so its state
    mid-episode is a function of (the reset's seed, or the generator state before an unseeded
    reset; the reset options; the actions since). `replay` rebuilds it through every wrapper
    (Monitor, TimeLimit, ...), which a pickle of the env could not do without also copying its
    large read-only tables. Memory: one action per step of the current episode.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._record: dict | None = None
        self._obs = None

    def reset(self, *, seed=None, options=None):
        rng = None if seed is not None else self.unwrapped.np_random.bit_generator.state
        self._record = {"seed": seed, "rng": rng, "options": options, "actions": []}
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs = obs
        return obs, info

    def step(self, action):
        self._record["actions"].append(np.array(action, copy=True))
        out = self.env.step(action)
        self._obs = out[0]
        return out

    def replay_record(self) -> dict:
        """The episode so far (deep copy safe to pickle), with the last observation for checking."""
        return copy.deepcopy({**(self._record or {}), "obs": self._obs})

    def replay(self, record: dict) -> bool:
        """Rebuild the recorded state; returns whether the last observation matches the record."""
        if record.get("seed") is None:
            state = record["rng"]
            bit_generator = getattr(np.random, state["bit_generator"])()
            bit_generator.state = state
            self.unwrapped.np_random = np.random.Generator(bit_generator)
        self.reset(seed=record.get("seed"), options=record.get("options"))
        for action in record["actions"]:
            self.step(action)
        return _same_obs(self._obs, record["obs"])


def _same_obs(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_obs(a[k], b[k]) for k in a)
    return np.array_equal(np.asarray(a), np.asarray(b))


# The SB3 attributes that carry a rollout across an update boundary (absent ones are skipped):
# the last observation(s) and episode starts, and the recurrent policies' hidden states.
_ROLLOUT_ATTRS = ("_last_obs", "_last_episode_starts", "_last_original_obs", "_last_lstm_states")


class ResumableCheckpoints(BaseCallback):
    """Checkpoints at update boundaries that resume bit for bit, and a clean stop on request.

    A checkpoint is taken at the start of a rollout (the last update finished, no step of the
    next one taken), the only point where SB3's whole state is at rest. It holds the model
    (parameters, optimiser, counters, ``ep_info_buffer``), VecNormalize statistics, the replay
    buffer (off-policy), and ``model_state_<steps>_steps.pkl``: python/numpy/torch RNG states,
    the action space's RNG, every env's `ReplayRecorder` record, SB3's rollout attributes
    (`_ROLLOUT_ATTRS`), the logger's values not yet written (the last update's ``train/*``) and
    the state of ``stateful`` callbacks. It is written every ``checkpoint_freq`` steps, when
    ``stop_requested()`` turns true (then training stops at once), and at the end of training
    (so a finished run can be extended).

    Args:
        save: ``save(model, steps, state) -> Path`` writes one checkpoint.
        checkpoint_freq: Steps between periodic checkpoints.
        stop_requested: Polled at each rollout start.
        stateful: Callbacks with ``get_state()`` / ``set_state(state)``, keyed by a name.
        restore: A state written by this class, restored when training starts.
    """

    def __init__(self, save, *, checkpoint_freq: int, stop_requested, stateful: dict, restore: dict | None = None):
        super().__init__()
        self.save = save
        self.freq = checkpoint_freq
        self.stop_requested = stop_requested
        self.stateful = stateful
        self.restore = restore
        self.stopped_at = None
        self._next = checkpoint_freq

    def _on_training_start(self) -> None:
        self._next = (self.model.num_timesteps // self.freq + 1) * self.freq
        if self.restore is None:
            return
        import torch

        state = self.restore
        rng = state["rng"]
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        self.model.action_space.np_random.bit_generator.state = state["action_space"]
        values, counts, excluded = state["logger"]
        self.logger.name_to_value.update(values)
        self.logger.name_to_count.update(counts)
        self.logger.name_to_excluded.update(excluded)
        for name, cb in self.stateful.items():
            cb.set_state(state["callbacks"][name])

    def snapshot(self) -> dict:
        """Everything beyond the model file that the next step depends on (see the class doc)."""
        import torch

        lg = self.logger
        return copy.deepcopy({
            "num_timesteps": int(self.model.num_timesteps),
            "rng": {
                "python": random.getstate(),
                "numpy": np.random.get_state(),
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            },
            "action_space": self.model.action_space.np_random.bit_generator.state,
            "envs": self.training_env.env_method("replay_record"),
            "model_attrs": {k: getattr(self.model, k) for k in _ROLLOUT_ATTRS if hasattr(self.model, k)},
            "logger": (dict(lg.name_to_value), dict(lg.name_to_count), dict(lg.name_to_excluded)),
            "callbacks": {name: cb.get_state() for name, cb in self.stateful.items()},
        })

    def _checkpoint(self):
        return self.save(self.model, int(self.model.num_timesteps), self.snapshot())

    def _on_rollout_start(self) -> None:
        if self.stop_requested():
            self.stopped_at = (self._checkpoint(), int(self.model.num_timesteps))  # (path, steps)
        elif self.model.num_timesteps >= self._next:
            self._checkpoint()
            self._next = (self.model.num_timesteps // self.freq + 1) * self.freq

    def _on_step(self) -> bool:
        return self.stopped_at is None  # False ends learn() cleanly (progress bar closed)

    def _on_training_end(self) -> None:
        if self.stopped_at is None:
            self._checkpoint()
