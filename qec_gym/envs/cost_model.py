"""`WindowCostModel`: the expected cost of one window as a function of the noise, from an env's table.

The reward of a `QECSwitchEnv` window (`qec_gym.envs.reward.step_reward`) is a known function of the
configuration run, the true noise and the noise the decoder's priors assume: the error term of the
window's logical error per round, the qubit cost and the decode-latency term. Its expectation at
given multipliers is what the myopic oracle minimises (at the true noise) and what a model-based
controller minimises at its *estimate* of the noise (`qec_gym.agents.certainty_equivalent`). Both
read it from this one object, so they cannot disagree on the formula.

The model holds only the env's characterisation (its `WindowTable`: logical error and decode time
per configuration over the noise axis, measured offline as a device team would) and the reward's
weights; nothing of an episode's noise.

Example:
    >>> import gymnasium as gym, qec_gym
    >>> env = gym.make("qec_gym/DecoderCalibration-v3")
    >>> model = env.unwrapped.cost_model()
    >>> stale, fresh = model.cost(0, 10.0, 1.0), model.cost(0, 10.0, 10.0)
    >>> bool(stale > fresh)             # priors built at x1 cost more at x10 than priors built at x10
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from qec_gym.envs.reward import RewardConfig
from qec_gym.envs.table import WindowTable


def check_factor(name: str, k: object, *, owner: str) -> None:
    """Refuse a characterisation-error factor that is not a finite number > 0 (named, with ``owner``).

    Raises:
        ValueError: ``k`` is a bool, not a number, not finite or <= 0.
    """
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not (math.isfinite(k) and k > 0):
        raise ValueError(f"{owner}: {name} must be a finite factor > 0, got {k!r}.")


@dataclass(frozen=True, eq=False)
class WindowCostModel:
    """Expected cost of one window of ``menu[entry]`` at given noise multipliers (read-only arrays).

    Args:
        table: The env's `WindowTable` (1-D: decoders calibrated to the truth; 2-D: true x assumed).
        reward: The env's `RewardConfig`.
        qubits: Qubits of each menu entry, shape (entries,).
        rounds: Rounds (the distance) of each menu entry, shape (entries,), int.
        cost_curves: Per distance, ``(log p_shot grid, expected error cost)`` of the reward's error
            term (`qec_gym.envs.switch_env._cost_curve`).
        extra_failure: Per-shot probability of failures the table does not hold (cat bit flips), of
            every entry at a multiplier: ``m -> array (entries,)``, combined as independent with the
            table's; None: none.
    """

    table: WindowTable
    reward: RewardConfig
    qubits: np.ndarray
    rounds: np.ndarray
    cost_curves: Mapping[int, tuple[np.ndarray, np.ndarray]]
    extra_failure: Callable[[float], np.ndarray] | None = None

    @property
    def calibrated(self) -> bool:
        """True for a 2-D table: the decoder's priors change the outcome (recalibration can pay)."""
        return self.table.errors.shape[2] > 1

    def cost(self, entry: int, m_true: float, m_assumed: float | None = None) -> float:
        """Expected cost (minus expected reward, before switch / recalibration costs) of one window.

        Args:
            entry: Menu index.
            m_true: Noise multiplier the window runs at (> 0; clamped to the table's grid, so an
                estimate beyond the characterised range is priced at the range's edge).
            m_assumed: Multiplier the decoder's priors were built from (2-D tables, clamped alike;
                ignored by 1-D tables, whose decoders are calibrated to the truth). None: calibrated
                to ``m_true``.

        Returns:
            error term of the expected logical error + qubit cost + latency cost (as `step_reward`).
        """
        m_true, m_assumed = self._clamped(m_true, m_assumed)
        if not self.calibrated:
            return float(self.costs(m_true)[entry])
        ex = self.table.expected(int(entry), m_true, m_assumed)
        extra = None if self.extra_failure is None else float(self.extra_failure(m_true)[entry])
        return float(self._window([entry], np.array([ex.p_shot]), np.array([ex.decode_s_per_round]),
                                  None if extra is None else np.array([extra]))[0])

    def costs(self, m_true: float, m_assumed: float | None = None) -> np.ndarray:
        """`cost` of every menu entry at once, shape (entries,), float64 (vectorised for 1-D tables)."""
        m_true, m_assumed = self._clamped(m_true, m_assumed)
        entries = list(range(len(self.qubits)))
        if self.calibrated:
            ex = [self.table.expected(e, m_true, m_assumed) for e in entries]
            p_shot = np.array([x.p_shot for x in ex])
            decode_s = np.array([x.decode_s_per_round for x in ex])
        else:
            along = self.table.along(np.array([m_true]))
            p_shot, decode_s = along["p_shot"][:, 0], along["decode_s"][:, 0]
        extra = None if self.extra_failure is None else np.asarray(self.extra_failure(m_true), dtype=np.float64)
        return self._window(entries, p_shot, decode_s, extra)

    def scaled(self, *, p_shot: float = 1.0, decode: float = 1.0, extra_failure: float = 1.0) -> WindowCostModel:
        """This model with a characterisation error: per-shot logical errors x ``p_shot``, decode times
        x ``decode``, extra (cat bit-flip) failures x ``extra_failure`` (capped at 1); self unchanged.

        For model-error studies of a model-based controller (``benchmarks/ce_model_error.py``): the env
        keeps its true table, the controller plans on this one.

        Raises:
            ValueError: a factor that is not a finite number > 0.

        Example:
            >>> import gymnasium as gym, qec_gym
            >>> model = gym.make("qec_gym/SurfaceSwitch-v2").unwrapped.cost_model()
            >>> worse = model.scaled(p_shot=2.0)
            >>> bool(worse.cost(0, 3.0) > model.cost(0, 3.0))
            True
        """
        for name, k in (("p_shot", p_shot), ("decode", decode), ("extra_failure", extra_failure)):
            check_factor(name, k, owner="scaled")
        t = self.table
        arrays = {"errors": t.errors, "features": t.features, "features_std": t.features_std,
                  "decode_s": t.decode_s * decode, "num_detectors": t.num_detectors}
        if getattr(t.config, "fitted", False):
            shift = math.log(p_shot)
            arrays.update(shots=t.shots, log_p_fit=t.log_p_fit + shift, log_p_lo=t.log_p_lo + shift,
                          log_p_hi=t.log_p_hi + shift)
        else:  # the v1 format's per-shot rate is (errors + 0.5) / (shots + 1)
            arrays["errors"] = (t.errors + 0.5) * p_shot - 0.5
        extra = self.extra_failure
        if extra is not None and extra_failure != 1.0:
            law = extra

            def extra(m: float) -> np.ndarray:
                return np.minimum(law(m) * extra_failure, 1.0)
        return dataclasses.replace(self, table=type(t)(t.config, arrays), extra_failure=extra)

    def _clamped(self, m_true: float, m_assumed: float | None) -> tuple[float, float | None]:
        # an estimate beyond the characterised range is priced at its edge, not extrapolated
        lo, hi = float(self.table.grid[0]), float(self.table.grid[-1])
        m_true = min(max(float(m_true), lo), hi)
        if not self.calibrated:
            return m_true, None
        return m_true, m_true if m_assumed is None else min(max(float(m_assumed), lo), hi)

    def _window(self, entries: list[int], p_shot: np.ndarray, decode_s: np.ndarray,
                extra: np.ndarray | None) -> np.ndarray:
        """Expected window cost of ``entries`` from their per-shot logical error and decode time per round."""
        cfg = self.reward
        if extra is not None:
            p_shot = p_shot + extra - p_shot * extra  # independent failure sources
        p = np.clip(p_shot, 1e-12, 1.0)
        error = np.empty(len(entries))
        for i, e in enumerate(entries):
            log_grid, curve = self.cost_curves[int(self.rounds[e])]
            error[i] = np.interp(np.log(p[i]), log_grid, curve)
        qubits = self.qubits[entries]
        return error + cfg.qubit_weight * qubits / cfg.reference_qubits + cfg.latency_weight * np.maximum(
            0.0, decode_s / cfg.latency_budget_s - 1.0)
