"""Certainty-equivalent control: act as if the syndrome estimate were the true noise.

``certainty_equivalent`` (`CertaintyEquivalentAgent`) is the model-based controller a control team
would write first: take the env's characterisation table (logical error and decode time of every
configuration over the noise axis, true x assumed noise where calibration matters; measured offline,
`qec_gym.envs.cost_model.WindowCostModel`), plug in the noise the syndromes say (observation index 9,
the moving average of the estimate, or index 8, the last window's), and take the action whose
expected window cost is least, with one-off costs amortised over ``horizon`` windows (certainty
equivalence: Bertsekas, *Dynamic Programming and Optimal Control*, vol. 1, sec. 6.1; with a
one-step lookahead and amortised transition costs, a standard receding-horizon simplification).
Per step, for the running entry ``e``, estimate ``m``, priors' multiplier ``a`` and the multiplier a
recalibration would set now ``r`` (the calibration-state observation)::

    keep:         cost(e, m, a)
    recalibrate:  cost(e, m, r) + recalibration_cost / horizon      (calibration-sensitive tables only)
    switch to j:  cost(j, m, a) + switch_cost / horizon

It reads only the observation and the table, never the true noise (the myopic oracle minimises the
same costs at the true multiplier). ``horizon`` and the estimate are fitted on training scenarios
(`fit_certainty_equivalent`). On CatSwitch the estimate is the ``kappa_1`` multiplier, the table's
axis, and the model adds the analytic bit-flip law of each entry's photon number (`CatBitFlips`).

Example:
    >>> import gymnasium as gym, numpy as np, qec_gym
    >>> env = gym.make("qec_gym/DecoderCalibration-v3")
    >>> agent = CertaintyEquivalentAgent.from_env(env, CertaintyEquivalentConfig(menu_size=3, horizon=20))
    >>> obs = np.zeros(20, dtype=np.float32); obs[14] = 1.0      # running menu[0], priors at x1
    >>> obs[9], obs[17], obs[18] = 1.2, 0.0, 1.2                  # estimate x16: the priors are stale
    >>> int(agent.predict(obs)[0]) in (1, 3, 4)                   # recalibrate or switch, not keep
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qec_gym.agents.base import IDX_LOG_NOISE, IDX_LOG_NOISE_EMA, N_BASE_FEATURES, Policy, running_entry
from qec_gym.agents.rollout import EnvSource, episode_returns, make_env
from qec_gym.envs.cost_model import WindowCostModel, check_factor

ESTIMATES = {"ema": IDX_LOG_NOISE_EMA, "last": IDX_LOG_NOISE}
"""Observation index of the noise estimate each ``estimate`` option reads."""

_FACTORS = {"p_shot": "p_shot", "decode": "decode", "bit_flips": "extra_failure"}  # option -> `WindowCostModel.scaled`


@dataclass(frozen=True)
class ModelError:
    """A characterisation error in the controller's model: the env keeps its true table, the
    controller plans on this one (what a real device's table is: measured, never exact).

    The baseline spec ``certainty_equivalent:<options>`` names one: comma-separated ``p_shot=K``
    (every entry's logical error per shot x K), ``decode=K`` (decode times x K), ``bit_flips=K`` (a
    cat env's analytic bit-flip law x K; `WindowCostModel.scaled`) and ``table_of=ENV_ID`` (another
    env's table, with the same menu, as the model; the factors then apply to it).

    Raises:
        ValueError: a factor that is not a finite number > 0, a ``table_of`` that is not a registered
            env id, an unknown or repeated option (from `parse`), or (from `apply`) a ``table_of`` env
            whose menu differs.

    Example:
        >>> ModelError.parse("decode=1.5,table_of=qec_gym/DecoderCalibration-v1")
        ModelError(p_shot=1.0, decode=1.5, bit_flips=1.0, table_of='qec_gym/DecoderCalibration-v1')
        >>> str(ModelError(p_shot=0.67))
        'p_shot=0.67'
    """

    p_shot: float = 1.0
    decode: float = 1.0
    bit_flips: float = 1.0
    table_of: str | None = None

    def __post_init__(self) -> None:
        for name in _FACTORS:
            check_factor(name, getattr(self, name), owner="certainty_equivalent model error")
        if self.table_of is not None:
            import gymnasium as gym

            # refused with the spec (a config, a --baselines list), not when a job first builds the model
            if not isinstance(self.table_of, str) or self.table_of not in gym.registry:
                raise ValueError(f"certainty_equivalent model error: table_of={self.table_of!r} is not a registered env "
                                 "id; name one with the same menu, e.g. qec_gym/DecoderCalibration-v1.")

    @classmethod
    def parse(cls, text: str) -> ModelError:
        """The options of a ``certainty_equivalent:<options>`` spec (class docstring)."""
        options: dict[str, Any] = {}
        for item in text.split(","):
            key, eq, value = (part.strip() for part in item.partition("="))
            if not eq or key not in (*_FACTORS, "table_of") or not value:
                raise ValueError(f"certainty_equivalent:{text}: {item!r} is not an option; write "
                                 "certainty_equivalent:decode=1.5 (options p_shot=K, decode=K, bit_flips=K, "
                                 "table_of=ENV_ID, comma-separated).")
            if key in options:
                raise ValueError(f"certainty_equivalent:{text}: {key} is given twice; give it once.")
            if key == "table_of":
                options[key] = value
                continue
            try:
                options[key] = float(value)
            except ValueError:
                raise ValueError(f"certainty_equivalent:{text}: {key}={value!r} is not a number.") from None
        return cls(**options)

    def __str__(self) -> str:
        parts = [f"{k}={getattr(self, k):g}" for k in _FACTORS if getattr(self, k) != 1.0]
        return ",".join(parts + ([f"table_of={self.table_of}"] if self.table_of else []))

    def apply(self, env: Any) -> WindowCostModel:
        """The model the controller believes for ``env``: its table (or ``table_of``'s), scaled."""
        import gymnasium as gym

        u = getattr(env, "unwrapped", env)
        model = u.cost_model()
        if self.table_of is not None:
            other = gym.make(self.table_of).unwrapped
            try:
                if not hasattr(other, "cost_model") or [e.label for e in other.menu] != [e.label for e in u.menu]:
                    raise ValueError(f"certainty_equivalent table_of={self.table_of}: its menu differs from this env's "
                                     f"({type(u).__name__}); name an env with the same menu.")
                model = other.cost_model()
            finally:
                other.close()
        if self.bit_flips != 1.0 and model.extra_failure is None:
            raise ValueError(f"certainty_equivalent bit_flips={self.bit_flips:g}: this env's model has no bit-flip law "
                             "(only the CatSwitch envs have one); drop the option.")
        return model.scaled(**{field: getattr(self, name) for name, field in _FACTORS.items()})


@dataclass(frozen=True)
class CertaintyEquivalentConfig:
    """Parameters of `CertaintyEquivalentAgent`.

    Args:
        menu_size: Length of the env's menu.
        horizon: Windows over which a switch or recalibration cost is amortised (>= 1): larger
            values act less often.
        estimate: ``"ema"`` (observation index 9, moving average 0.3 of the estimate) or ``"last"``
            (index 8, the last window's estimate).
    """

    menu_size: int
    horizon: float
    estimate: str = "ema"

    def __post_init__(self) -> None:
        if int(self.menu_size) < 1:
            raise ValueError(f"menu_size must be >= 1, got {self.menu_size}.")
        if not (np.isfinite(self.horizon) and self.horizon >= 1):
            raise ValueError(f"horizon must be a number of windows >= 1, got {self.horizon}.")
        if self.estimate not in ESTIMATES:
            raise ValueError(f"estimate must be one of {sorted(ESTIMATES)}, got {self.estimate!r}.")


class CertaintyEquivalentAgent(Policy):
    """Least expected window cost at the syndrome estimate, transition costs amortised (module docstring).

    Args:
        config: `CertaintyEquivalentConfig`.
        model: The env's `WindowCostModel` (``env.unwrapped.cost_model()``).
        calibration_state: Whether the observation holds the calibration state (priors' multiplier,
            the recalibration estimate; ``calibration_state=True``). Needed when the model's table is
            calibration-sensitive; otherwise recalibration is never chosen.

    Raises:
        ValueError: a calibration-sensitive model without the calibration-state observation, or a
            model whose menu size differs from the config's.
    """

    def __init__(self, config: CertaintyEquivalentConfig, model: WindowCostModel, *, calibration_state: bool,
                 name: str = "certainty_equivalent") -> None:
        if len(model.qubits) != config.menu_size:
            raise ValueError(f"{name}: the config is for a menu of {config.menu_size} entries, the model's has "
                             f"{len(model.qubits)}: make it for this env.")
        if model.calibrated and not calibration_state:
            raise ValueError(f"{name}: this env's outcomes depend on the decoder's priors, but its observation does "
                             "not hold the calibration state: use qec_gym/DecoderCalibration-v3 (or make the env "
                             "with calibration_state=True).")
        self.config = config
        self.model = model
        self.calibration_state = bool(calibration_state)
        self.name = name
        self.fit_score: float | None = None  # mean training return, set by `fit_certainty_equivalent`

    @classmethod
    def from_env(cls, env: Any, config: CertaintyEquivalentConfig, *, name: str = "certainty_equivalent",
                 model_error: ModelError | None = None) -> CertaintyEquivalentAgent:
        """The agent for ``env`` (its cost model, or that model with ``model_error``, and whether it
        observes the calibration state)."""
        u = getattr(env, "unwrapped", env)
        if not hasattr(u, "cost_model"):
            raise ValueError(f"{name} needs a qec_gym switching env with a table (SurfaceSwitch, PhotonicSwitch, "
                             f"CatSwitch, DecoderCalibration); got {type(u).__name__}.")
        model = u.cost_model() if model_error is None else model_error.apply(u)
        return cls(config, model, calibration_state=bool(getattr(u, "calibration_state", False)), name=name)

    def _act(self, features: np.ndarray) -> np.ndarray:
        cfg, model = self.config, self.model
        n = cfg.menu_size
        cal = N_BASE_FEATURES + n
        recal_considered = model.calibrated and self.calibration_state
        if recal_considered and features.shape[1] < cal + 2:
            raise ValueError(f"{self.name} reads the calibration state at observation indices {cal}, {cal + 1}, but the "
                             f"observation has {features.shape[1]} features.")
        running = running_entry(features, n)
        out = np.zeros(len(features), dtype=np.int64)
        switch = model.reward.switch_cost / cfg.horizon
        recal = model.reward.recalibration_cost / cfg.horizon
        for i, row in enumerate(features):
            e = int(running[i])
            m = 10.0 ** float(row[ESTIMATES[cfg.estimate]])
            a = 10.0 ** float(row[cal]) if recal_considered else None
            costs = model.costs(m, a) + switch
            costs[e] -= switch
            best = int(np.argmin(costs))
            action, cost = (0, costs[e]) if costs[best] >= costs[e] else (2 + best, costs[best])
            if recal_considered and model.cost(e, m, 10.0 ** float(row[cal + 1])) + recal < cost:
                action = 1
            out[i] = action
        return out


def fit_certainty_equivalent(
    source: EnvSource,
    *,
    episodes: int = 8,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    horizons: Sequence[float] = (2, 5, 10, 20, 40, 80),
    estimates: Sequence[str] = ("ema", "last"),
    name: str = "certainty_equivalent",
    model_error: ModelError | None = None,
) -> CertaintyEquivalentAgent:
    """Fit `CertaintyEquivalentAgent` on TRAINING scenarios: ``horizon`` x ``estimate`` by mean return.

    Every candidate is scored on the same paired training episodes (reset seeds ``seed + k``,
    scenarios cycled, table backend as in `make_env`). With ``model_error`` the controller plans on
    that wrong model throughout, the fit included (its returns are the env's true ones): a team tunes
    its controller on the device, with the table it has.

    Raises:
        ValueError: no candidates, held-out scenarios, an env without a cost model, or a
            calibration-sensitive env without the calibration-state observation.

    Example:
        >>> agent = fit_certainty_equivalent("qec_gym/DecoderCalibration-v3", episodes=1, horizons=(20,),
        ...                                  estimates=("ema",), env_kwargs={"max_steps": 20})
        >>> agent.config.horizon, agent.config.estimate
        (20.0, 'ema')
    """
    if episodes < 1 or not horizons or not estimates:
        raise ValueError("fit_certainty_equivalent needs episodes >= 1 and at least one horizon and estimate.")
    env = make_env(source, scenarios="train", env_kwargs=env_kwargs, table_twin=True)
    try:
        n_menu = len(env.unwrapped.menu)
        # built once: a table_of model makes another env
        first = CertaintyEquivalentAgent.from_env(env, CertaintyEquivalentConfig(n_menu, float(horizons[0])), name=name,
                                                  model_error=model_error)
        scores = {}
        for horizon in horizons:
            for estimate in estimates:
                cfg = CertaintyEquivalentConfig(menu_size=n_menu, horizon=float(horizon), estimate=estimate)
                agent = CertaintyEquivalentAgent(cfg, first.model, calibration_state=first.calibration_state, name=name)
                scores[cfg] = float(episode_returns(env, agent, episodes=episodes, seed=seed).mean())
        best = max(scores, key=scores.__getitem__)
        agent = CertaintyEquivalentAgent(best, first.model, calibration_state=first.calibration_state, name=name)
    finally:
        env.close()
    agent.fit_score = scores[best]
    return agent


__all__ = ["ESTIMATES", "CertaintyEquivalentAgent", "CertaintyEquivalentConfig", "ModelError", "fit_certainty_equivalent"]
