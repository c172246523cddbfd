"""Policy recommendations on replayed detection events: what a trained policy or a baseline would do.

A replay (`qec_gym.monitor.ingest.ingest`) runs one recorded configuration; `ReplayAdvisor` turns
each replayed window into the observation a switching env (`qec_gym.envs.QECSwitchEnv`) would
have shown its policy, asks the policy, and reports the recommended action (keep, recalibrate,
switch to a menu entry). The observation is built by the env's own code (`window_features` and
the env's ``_observation``) from what the replay measures:

| observation | from the replay |
|---|---|
| 0-6 detection rates (all, by check type, by round, spread) | the window's detection events, the menu entry's detector layout |
| 7 decoder effort per detector | the replay's decoder (``decode_packed_with_effort``) |
| 8-9 syndrome noise estimate and its EMA | the env's table inverted at the window's detection rate |
| 10 nominal decode latency, 11 qubits, 14.. one-hot | the matched menu entry |
| 12-13 windows since switch / recalibration | windows since the replay started (the recording never switches) |
| ``raw_syndrome`` events | the window's first ``raw_shots`` shots |

Elements a replay cannot compute are refused with `ValueError`: the noisy calibration readout
(``calibration_readout=True``: the true noise some windows ago) and privileged elements
(``privileged=True``: the true noise now), as are privileged policies (``oracle``,
``clairvoyant``) and menu entries counted over two bases (their features average two circuits;
a recording holds one).

Recommendations are advisory: the recording's configuration keeps running, so the running entry
and the time since the last switch and recalibration evolve as if every recommendation were
declined. The noise estimate (index 8) inverts the env's table, so it means a multiplier of the
env's noise axis only when the recording's noise has that axis's form (e.g. SurfaceSwitch-v1:
stim-uniform noise around 1e-3).

Example:
    >>> import numpy as np
    >>> from qec_gym.monitor.advise import action_label
    >>> from qec_gym.envs import MenuEntry
    >>> menu = (MenuEntry("rotated_surface", 3), MenuEntry("rotated_surface", 5))
    >>> action_label(0, menu), action_label(1, menu), action_label(3, menu)
    ('keep', 'recalibrate', 'switch to rotated_surface d5 pymatching')
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import stim

from qec_gym.sim.window import detection_statistics

log = logging.getLogger(__name__)

PRIVILEGED_POLICIES = ("oracle", "clairvoyant")
"""Baselines that read the true noise: they cannot act on a recording."""


def action_label(action: int, menu: Sequence) -> str:
    """Readable name of a switching env's action: ``keep``, ``recalibrate`` or ``switch to <entry>``."""
    a = int(action)
    if a == 0:
        return "keep"
    if a == 1:
        return "recalibrate"
    if 2 <= a < 2 + len(menu):
        return f"switch to {menu[a - 2].label}"
    raise ValueError(f"action {a} is outside this menu's actions 0..{len(menu) + 1}.")


class ReplayAdvisor:
    """Runs ``policy`` on the observations of a switching env rebuilt from replayed windows.

    Args:
        env: A `QECSwitchEnv` (or a wrapper of one, as ``gymnasium.make`` returns) defining the
            observation, the menu and the actions.
        policy: Anything with SB3's ``predict`` (`qec_gym.agents` baselines, `TrainedPolicy`).
        circuit: The recording's circuit (detector structure; its noise is not used).
        decoder: The decoder the replay runs.
        name: Label of the policy in summaries.

    Raises:
        ValueError: an observation element the replay cannot compute, or no menu entry with the
            recording's code, distance, detectors and decoder (naming the menu and the fix).
    """

    def __init__(self, env, policy, circuit: stim.Circuit, decoder: str, *, name: str = "policy"):
        from qec_gym.envs.switch_env import QECSwitchEnv

        u = getattr(env, "unwrapped", env)
        if not isinstance(u, QECSwitchEnv):
            raise ValueError(f"recommendations need a qec_gym switching env (QECSwitchEnv), got {type(u).__name__}.")
        if u.privileged:
            raise ValueError("the env's observation holds privileged elements (the true noise multiplier): a replay "
                             "cannot compute them. Use a policy trained with privileged=False.")
        if u.calibration_readout:
            raise ValueError("the env's observation holds a calibration readout (the true noise some windows ago): a "
                             "replay cannot compute it. Use a policy trained with calibration_readout=False.")
        self.env, self.u, self.policy, self.name = env, u, policy, name
        self.entry = _match_entry(u, circuit, decoder)
        self.spec = u.menu[self.entry].specs()[0]
        from qec_gym.sim.cache import detector_layout

        self.layout = detector_layout(self.spec)
        self.windows = 0
        self._state = None
        # The env's noise estimates (EMA of index 9, recent windows) live on the env: start them
        # afresh as reset() does (reset itself would simulate a window the recording never ran).
        u.reset_estimators()

    @classmethod
    def load(cls, spec: str, circuit: stim.Circuit, decoder: str, *, env_id: str | None = None,
             env_kwargs: dict | None = None) -> "ReplayAdvisor":
        """An advisor from a training run folder or a baseline name.

        Args:
            spec: A run folder written by ``qec-gym train`` (its env id and env arguments are
                read from its ``config.yaml``), or a baseline name (`qec_gym.agents.BASELINE_NAMES`:
                ``threshold``, ``tree:<path>``, ``best_fixed``, ``fixed:<i>``, ...), fitted on the
                env's training scenarios where it needs fitting.
            circuit: The recording's circuit.
            decoder: The replay's decoder.
            env_id: The env of a baseline (default ``qec_gym/SurfaceSwitch-v1``); for a run
                folder it must be the run's own or None.
            env_kwargs: Extra ``gymnasium.make`` arguments of a baseline's env.

        Raises:
            ValueError: a privileged baseline, an unknown name, a run trained on another env than
                ``env_id``, or what the constructor refuses.
            FileNotFoundError: a run folder without its model.
        """
        import gymnasium as gym

        import qec_gym  # noqa: F401  (registers the envs)

        run = Path(spec)
        if run.is_dir():
            import yaml

            from qec_gym.training.policy import load_run

            cfg_path = run / "config.yaml"
            if not cfg_path.exists():
                raise ValueError(f"{run} has no config.yaml: it is not a run folder of `qec-gym train`.")
            cfg = yaml.safe_load(cfg_path.read_text()) or {}
            run_env = cfg.get("env_id") if isinstance(cfg, dict) else None
            if not isinstance(run_env, str):
                raise ValueError(f"{cfg_path} names no env_id: re-create the run with `qec-gym train`.")
            if env_id is not None and env_id != run_env:
                raise ValueError(f"{run} was trained on {run_env}, not {env_id}: omit --env to use the run's env.")
            env = gym.make(run_env, **{**(cfg.get("env_kwargs") or {}), **(env_kwargs or {})})
            policy = load_run(run, env=env)
            return cls(env, policy, circuit, decoder, name=f"run:{run.name}")
        kind = spec.partition(":")[0]
        if kind in PRIVILEGED_POLICIES:
            raise ValueError(f"{spec!r} reads the true noise, which a recording does not hold: use a trained run "
                             "folder or a deployable baseline (threshold, tree:<path>, best_fixed, fixed:<i>).")
        from qec_gym.agents import make_baseline

        env = gym.make(env_id or "qec_gym/SurfaceSwitch-v1", **(env_kwargs or {}))
        return cls(env, make_baseline(spec, env), circuit, decoder, name=spec)

    @property
    def menu(self) -> tuple:
        """The env's menu (actions ``2 + i`` switch to ``menu[i]``)."""
        return self.u.menu

    @property
    def running_label(self) -> str:
        """Label of the menu entry the recording runs."""
        return self.u.menu[self.entry].label

    def observation(self, detection_events: np.ndarray, effort: np.ndarray):
        """The env's observation of one replayed window.

        Args:
            detection_events: bool (shots, num_detectors) of the window.
            effort: float (shots,) per-shot decoder effort (``decode_packed_with_effort``).
        """
        from qec_gym.envs.table import window_features

        u = self.u
        dets = np.asarray(detection_events, dtype=bool)
        stats = _Window(dets, np.asarray(effort, dtype=np.float64), self.layout)
        # The recording never switches or recalibrates (advisory recommendations).
        events = dets[: u.raw_shots] if u.raw_syndrome else None
        return u.measured_observation(window_features(stats), events, entry=self.entry,
                                      windows_since_switch=self.windows, windows_since_recalibration=self.windows)

    def advise(self, detection_events: np.ndarray, effort: np.ndarray) -> int:
        """The policy's action on this window (and advance the replay's window count)."""
        obs = self.observation(detection_events, effort)
        action, self._state = self.policy.predict(obs, state=self._state, episode_start=self.windows == 0,
                                                  deterministic=True)
        self.windows += 1
        return int(np.asarray(action).reshape(-1)[0])

    def label(self, action: int) -> str:
        """`action_label` on this env's menu."""
        return action_label(action, self.u.menu)


class _Window:
    """The `qec_gym.sim.WindowStats` fields `window_features` reads, from replayed events
    (the same statistics `qec_gym.sim.simulate_window` computes for a simulated window)."""

    def __init__(self, dets: np.ndarray, effort: np.ndarray, layout):
        self.__dict__.update(detection_statistics(dets, layout))
        self.decoder_effort = float(effort.mean()) if len(effort) else 0.0


def _match_entry(u: Any, circuit: stim.Circuit, decoder: str) -> int:
    """Index of the menu entry whose circuit has the recording's detectors and whose decoder is ``decoder``."""
    from qec_gym.codes.templates import template_circuit

    coords = circuit.get_detector_coordinates()
    same, two_bases = [], []
    for i, entry in enumerate(u.menu):
        specs = entry.specs()
        t = template_circuit(specs[0])
        if (t.num_detectors, t.num_observables) != (circuit.num_detectors, circuit.num_observables):
            continue
        if t.get_detector_coordinates() != coords:
            continue
        (two_bases if len(specs) > 1 else same).append(i)
    labels = ", ".join(e.label for e in u.menu)
    if not same:
        if two_bases:
            raise ValueError(f"the recording matches {u.menu[two_bases[0]].label}, whose observation averages windows "
                             "of two memory bases; a recording holds one basis, so that observation cannot be rebuilt.")
        raise ValueError(f"the recording's circuit ({circuit.num_detectors} detectors) matches no entry of the env's "
                         f"menu ({labels}): replay a circuit of one of them (qec_gym.codes.build_circuit(entry.specs()[0], "
                         "noise)) or pick the env whose menu holds the recorded code.")
    for i in same:
        if u.menu[i].decoder == decoder:
            return i
    raise ValueError(f"the recording matches {', '.join(u.menu[i].label for i in same)}, but the replay decodes with "
                     f"{decoder!r}: pass --decoder {u.menu[same[0]].decoder} (the policy's features include the decoder's effort).")
