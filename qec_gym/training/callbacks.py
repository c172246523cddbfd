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

import json
import math
from pathlib import Path

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


class RolloutTracker(BaseCallback):
    """Remembers the step count at the end of the last complete rollout (for clean interrupts)."""

    def __init__(self, start: int = 0):
        super().__init__()
        self.completed = start

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.completed = self.num_timesteps
