"""Hybrid baseline + RL: behaviour-clone a baseline into the policy, then fine-tune with PPO.

Two ways in:

* `warm_start` (the ``warm_start`` run key of a config, e.g. the packaged ``SurfaceSwitch-v2``
  entry of ``ppo.yml``; so ``qec-gym train`` and ``benchmarks/release_eval.py`` run it): any
  baseline of `qec_gym.agents.make_baseline` (the fitted threshold ladder, best fixed, a tree
  file, ...) fitted on training scenarios is the teacher. Its actions are cloned on states the
  training envs visit under the teacher with an ``epsilon`` share of random actions (so the
  clone has seen, and learnt the teacher's answer to, states off the teacher's own path), then
  the critic is warmed up on the clone's own returns (`warm_up_value`) before PPO starts: a
  critic that starts at zero gives advantages that are mostly its own error, and the first
  updates tear the cloned actor apart. With ``dagger_iters`` > 0 the clone is refined by DAgger
  (Ross, Gordon & Bagnell 2011, "A reduction of imitation learning and structured prediction to
  no-regret online learning", AISTATS): the clone acts, the teacher labels the states the clone
  visits, the data are aggregated and the clone refitted, so it learns the teacher's answer on
  its *own* state distribution (a plain clone errs on the rare decisions and then drifts into
  states the teacher's rollouts seldom show).
* `train_hybrid`: the decision tree cloned on a dataset CSV (``qec-gym train --hybrid-tree``).

The tree (trained on the myopic oracle's labels) is a good, cheap prior but cannot weigh switch
costs or anticipate drift; PPO from scratch spends its first ~10^5 steps rediscovering what the
tree already knows. The hybrid starts PPO's actor as a copy of the tree (cross-entropy on the
tree's actions over the tree's own training observations; observation-normalisation statistics
are fitted on the same data first), then lets PPO improve on it. `compare` in the docs' results:
tree vs PPO vs hybrid, paired on held-out scenarios.

Example (shape of use; see ``tests/training/test_hybrid.py`` for a tiny run)::

    cfg = resolve_config("qec_gym/SurfaceSwitch-v1", "ppo")
    train_hybrid(cfg, "runs/hybrid", tree_path="runs/demo/tree.joblib",
                 dataset="runs/demo/tree_dataset.csv")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qec_gym.training.config import TrainConfig
from qec_gym.training.train import train


def behaviour_clone(model, observations: np.ndarray, actions: np.ndarray, *, epochs: int = 30,
                    batch_size: int = 256, lr: float = 1e-3, seed: int = 0) -> float:
    """Fit ``model``'s policy to ``actions`` by cross-entropy; returns the final accuracy.

    Args:
        model: An SB3 on-policy model with a discrete action space (PPO, A2C, MaskablePPO).
        observations: float32 (n, obs_dim), already normalised as the model will see them.
        actions: int (n,), the teacher's actions.
        epochs: Passes over the data.
        batch_size: Minibatch size.
        lr: Adam learning rate.
        seed: Shuffling seed.
    """
    import torch

    if len(observations) != len(actions) or len(actions) == 0:
        raise ValueError("observations and actions must be non-empty and of equal length.")
    policy = model.policy
    obs = torch.as_tensor(np.asarray(observations, dtype=np.float32))
    act = torch.as_tensor(np.asarray(actions, dtype=np.int64))
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    gen = np.random.default_rng(seed)
    policy.set_training_mode(True)
    for _ in range(epochs):
        order = gen.permutation(len(act))
        for start in range(0, len(order), batch_size):
            idx = torch.as_tensor(order[start:start + batch_size])
            logits = policy.get_distribution(obs[idx]).distribution.logits
            loss = torch.nn.functional.cross_entropy(logits, act[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    policy.set_training_mode(False)
    with torch.no_grad():
        pred = policy.get_distribution(obs).distribution.logits.argmax(dim=1)
    return float((pred == act).float().mean())


@dataclass(frozen=True)
class WarmStart:
    """Settings of `warm_start` (the ``warm_start`` mapping of a training config).

    Args:
        teacher: A `qec_gym.agents.make_baseline` name (``"threshold"``, ``"best_fixed"``,
            ``"tree:<path>"``, ...), fitted on the training scenarios, or ``"tree"``: the decision
            tree of the release evaluation's recipe (`fit_tree_teacher`), fitted here.
        teacher_episodes: Training episodes the teacher's fit rolls out (fitted baselines and
            ``"tree"``; 30 gives ``benchmarks/release_eval.py``'s tree).
        teacher_seed: First reset seed of the teacher's fit. Default 0, the evaluation harness's
            own fit of the same baseline (`qec_gym.eval.harness`), so the clone starts from the
            very baseline it is compared with, and every training seed shares one fit (cached,
            see `make_teacher`).
        bc_steps: Environment steps (all copies together) of teacher rollouts to clone on.
        epsilon: Share of those steps that take a uniformly random action instead of the
            teacher's (the label stays the teacher's answer to the state), in [0, 1).
        bc_epochs: Behaviour-cloning passes over the data.
        value_steps: Environment steps per critic warm-up round, acting with the clone.
        value_rounds: Critic warm-up rounds (each re-computes the bootstrapped targets).
        dagger_iters: DAgger iterations after the first clone (0: none). Each rolls out the
            current clone (greedy, with the same ``epsilon`` share of random actions) for
            ``dagger_steps``, labels every visited state with the teacher's action, aggregates
            and refits (``bc_epochs`` passes over all data so far).
        dagger_steps: Environment steps (all copies together) per DAgger iteration.
        freeze_normalization: Keep the observation-normalisation statistics the clone was fitted
            with (after cloning and DAgger) for the rest of the run: the critic warm-up and PPO.
            Otherwise the clone's own rollouts keep updating them (on SurfaceSwitch-v2 the
            time-since-switch feature's mean moved by 1.9 of its standard deviations: the clone
            switches far less than the teacher with random actions), so the cloned actor's inputs
            drift from those it was fitted on even at a learning rate of ~0 (docs/results.md,
            SurfaceSwitch-v2, session 5).

    The warm start's environment steps (``bc_steps + dagger_iters * dagger_steps +
    value_rounds * value_steps``) come on top of ``n_timesteps``; ``run.json`` records them.

    Example:
        >>> WarmStart.from_mapping({"teacher": "threshold", "bc_steps": 1000}).bc_steps
        1000
        >>> WarmStart.from_mapping({"teacher": "threshold", "bc_step": 1})
        Traceback (most recent call last):
        ...
        ValueError: warm_start takes no key(s) ['bc_step']; it takes ['bc_epochs', 'bc_steps', 'dagger_iters', 'dagger_steps', 'epsilon', 'freeze_normalization', 'teacher', 'teacher_episodes', 'teacher_seed', 'value_rounds', 'value_steps'].
    """

    teacher: str = "threshold"
    teacher_episodes: int = 5
    teacher_seed: int = 0
    bc_steps: int = 100_000
    epsilon: float = 0.2
    bc_epochs: int = 20
    value_steps: int = 50_000
    value_rounds: int = 3
    dagger_iters: int = 0
    dagger_steps: int = 50_000
    freeze_normalization: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.teacher, str) or not self.teacher:
            raise ValueError(f"warm_start.teacher must be a baseline name such as 'threshold', got {self.teacher!r}.")
        from qec_gym.agents import BASELINE_NAMES

        # named at config time, not after a training job has started; oracles read the hidden noise
        kinds = {"tree", *(n.partition(":")[0] for n in BASELINE_NAMES)} - {"oracle", "clairvoyant"}
        if self.teacher.partition(":")[0] not in kinds:
            raise ValueError(f"warm_start.teacher {self.teacher!r} is not a deployable baseline (oracle and clairvoyant "
                             f"read the hidden noise); choose one of {sorted(kinds)} (fixed:<i> and tree:<path> take "
                             "their argument after the colon).")
        if self.teacher != "tree":
            from qec_gym.agents import check_baseline_name

            try:  # e.g. a malformed certainty_equivalent:<model error>
                check_baseline_name(self.teacher)
            except ValueError as e:
                raise ValueError(f"warm_start.teacher {self.teacher!r}: {e}") from None
        for name, low in (("teacher_episodes", 1), ("teacher_seed", 0), ("bc_steps", 1), ("bc_epochs", 1), ("value_steps", 1),
                          ("value_rounds", 0), ("dagger_iters", 0), ("dagger_steps", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"warm_start.{name} must be an integer >= {low}, got {value!r}: fix it in the config.")
        if not isinstance(self.freeze_normalization, bool):
            raise ValueError(f"warm_start.freeze_normalization must be true or false, got {self.freeze_normalization!r}.")
        if isinstance(self.epsilon, bool) or not isinstance(self.epsilon, (int, float)) or not 0 <= self.epsilon < 1:
            raise ValueError(f"warm_start.epsilon must be a number in [0, 1), got {self.epsilon!r}: fix it in the config.")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> WarmStart:
        """Validated settings from a config mapping; unknown keys are an error naming them."""
        if not isinstance(data, Mapping):
            raise ValueError(f"warm_start must be a mapping such as {{teacher: threshold}}, got {data!r}.")
        extra = sorted(set(data) - set(cls.__dataclass_fields__))
        if extra:
            raise ValueError(f"warm_start takes no key(s) {extra}; it takes {sorted(cls.__dataclass_fields__)}.")
        return cls(**data)


def make_teacher(config: TrainConfig, settings: WarmStart, *, cache: str | Path | None = None):
    """The teacher baseline of ``settings``, fitted on ``config``'s training scenarios.

    ``cache``: a JSON file of fitted baselines' parameters (`qec_gym.agents.fitted_parameters`) keyed
    by env id, env arguments, teacher and fit settings (a fit is deterministic given those), so the
    seeds of one configuration fit the teacher once (a threshold fit is ~10^5 table-env steps).
    Written under a file lock (`qec_gym.sim.csvstore.locked`); None: always fit.
    """
    import hashlib
    import json

    from qec_gym.agents import FITTED_BASELINES, fitted_parameters, from_fitted_parameters, make_baseline
    from qec_gym.agents.rollout import make_env
    from qec_gym.sim import csvstore

    key = json.dumps([config.env_id, config.env_kwargs, settings.teacher, settings.teacher_episodes,
                      settings.teacher_seed], sort_keys=True, default=str)
    if settings.teacher == "tree":
        return fit_tree_teacher(config, settings, cache=None if cache is None else
                                Path(cache).with_name(f"warm_start_tree_{hashlib.sha256(key.encode()).hexdigest()[:12]}.joblib"))
    env = make_env(config.env_id, scenarios=config.env_kwargs.get("scenarios", "train"),
                   env_kwargs={k: v for k, v in config.env_kwargs.items() if k != "scenarios"},
                   purpose="fitting the warm-start teacher")
    kind = settings.teacher.partition(":")[0]
    cacheable = cache is not None and kind in FITTED_BASELINES
    path = Path(cache) if cacheable else None
    try:
        params = json.loads(path.read_text()).get(key) if path is not None and path.exists() else None
        if params is not None:
            teacher = from_fitted_parameters(settings.teacher, env, params)
        else:
            kw: dict[str, Any] = {}
            if kind in FITTED_BASELINES:  # every fitted baseline gets the configured fit, none its defaults
                kw = {"episodes": settings.teacher_episodes, "seed": settings.teacher_seed}
            try:
                teacher = make_baseline(settings.teacher, env, **kw)
            except ValueError as e:
                raise ValueError(f"warm_start.teacher {settings.teacher!r}: {e} (as a teacher also 'tree', the "
                                 "release recipe's tree fitted here; not oracle or clairvoyant, which read the "
                                 "hidden noise)") from None
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                with csvstore.locked(path):
                    store = json.loads(path.read_text()) if path.exists() else {}
                    store.setdefault(key, fitted_parameters(settings.teacher, teacher))
                    tmp = path.with_name(path.name + ".tmp")
                    tmp.write_text(json.dumps(store, indent=1, sort_keys=True))
                    tmp.replace(path)
    finally:
        env.close()
    if getattr(teacher, "privileged", False):
        raise ValueError(f"warm_start.teacher {settings.teacher!r} reads the hidden noise; it cannot act in the "
                         "training envs: choose a deployable baseline (tree, tree:<path>, threshold, best_fixed, "
                         "periodic_recal, cusum_recal, drift_recal, certainty_equivalent).")
    return teacher


def _fits_teacher(settings: WarmStart) -> bool:
    """Whether the teacher is fitted here (on training episodes), as `make_teacher` decides."""
    from qec_gym.agents import FITTED_BASELINES

    return settings.teacher == "tree" or settings.teacher.partition(":")[0] in FITTED_BASELINES


def settings_in_effect(settings: WarmStart, *, normalized: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """``settings`` split into (those that took effect, those that did not), as plain data.

    Without effect: ``teacher_episodes`` and ``teacher_seed`` for a teacher not fitted here (a
    fixed rule, ``tree:<path>``), ``value_steps`` with ``value_rounds=0``, ``dagger_steps`` with
    ``dagger_iters=0``, ``freeze_normalization`` without observation normalisation (``normalized``).

    Example:
        >>> used, unused = settings_in_effect(WarmStart(teacher="fixed:3", dagger_iters=2), normalized=True)
        >>> unused
        {'teacher_episodes': 5, 'teacher_seed': 0}
        >>> sorted(settings_in_effect(WarmStart(value_rounds=0), normalized=False)[1])
        ['dagger_steps', 'freeze_normalization', 'value_steps']
    """
    idle = {"value_steps": not settings.value_rounds, "dagger_steps": not settings.dagger_iters,
            "freeze_normalization": not normalized, "teacher_episodes": not _fits_teacher(settings),
            "teacher_seed": not _fits_teacher(settings)}
    values = asdict(settings)
    return ({k: v for k, v in values.items() if not idle.get(k)}, {k: v for k, v in values.items() if idle.get(k)})


def teacher_scenarios(config: TrainConfig, settings: WarmStart) -> list[str] | None:
    """Names of the scenarios the warm-start teacher of ``settings`` is fitted on for ``config``.

    Those of the training envs (``config.env_kwargs``' ``scenarios``, default ``"train"``, resolved
    as `make_teacher` and `fit_tree_teacher` resolve them); None for a teacher not fitted here
    (a fixed rule, or ``tree:<path>``, whose file does not name its dataset's scenarios).

    Example:
        >>> from qec_gym.training import resolve_config
        >>> cfg = resolve_config("qec_gym/SurfaceSwitch-v3", "ppo")
        >>> teacher_scenarios(cfg, WarmStart(teacher="threshold")), teacher_scenarios(cfg, WarmStart(teacher="fixed:3"))
        (['randomised_surface_drift'], None)
    """
    from qec_gym.training.config import check_training_scenarios

    if not _fits_teacher(settings):
        return None
    return list(check_training_scenarios(config.env_id, config.env_kwargs.get("scenarios", "train"),
                                         pool=config.env_kwargs.get("scenario_pool"),
                                         purpose="fitting the warm-start teacher"))


def teacher_record(teacher) -> dict[str, Any]:
    """What a warm start's teacher is, as plain data for ``run.json``: a fitted rule's parameters
    (its config dataclass or fixed entry) or a tree's if/else rules, so a run says which teacher it
    cloned without the teacher's file.

    Example:
        >>> from qec_gym.agents import FixedAgent
        >>> teacher_record(FixedAgent(3, 10, name="best_fixed"))
        {'name': 'best_fixed', 'entry': 3}
    """
    import dataclasses
    import json

    def json_safe(value):  # numpy scalars and arrays (a fitted rule's thresholds) as plain JSON
        return json.loads(json.dumps(value, default=lambda o: o.tolist() if hasattr(o, "tolist") else repr(o)))

    record: dict[str, Any] = {"name": getattr(teacher, "name", type(teacher).__name__)}
    config = getattr(teacher, "config", None)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {**record, "config": json_safe(asdict(config))}
    if hasattr(teacher, "entry_index"):
        return {**record, "entry": int(teacher.entry_index)}
    if hasattr(teacher, "rules"):
        return {**record, "rules": teacher.rules(), "metrics": json_safe(getattr(teacher, "metrics", {}))}
    return {**record, "repr": repr(teacher)}


def fit_tree_teacher(config: TrainConfig, settings: WarmStart, *, cache: str | Path | None = None):
    """The decision tree of ``benchmarks/release_eval.py``'s recipe, as a warm-start teacher.

    `qec_gym.agents.fit_reference_tree` on ``settings.teacher_episodes`` training-scenario
    episodes from ``settings.teacher_seed``; deterministic, so with 30 episodes and seed 0 it is
    the release evaluation's own tree. ``cache``: a ``.joblib`` path to save it to and load it
    from (fitted once, under a file lock, for every seed of a configuration); None: always fit.
    """
    from qec_gym.agents import fit_reference_tree

    return fit_reference_tree(config.env_id, cache, episodes=settings.teacher_episodes, seed=settings.teacher_seed,
                              env_kwargs=config.env_kwargs)


def teacher_rollouts(venv, teacher, *, steps: int, epsilon: float, seed: int,
                     student=None) -> tuple[np.ndarray, np.ndarray, float]:
    """Raw observations and the teacher's actions on them, from ``steps`` transitions of ``venv``.

    ``venv`` is the (possibly ``VecNormalize``-wrapped) training VecEnv; the teacher reads raw
    observations. The teacher acts, or, if ``student`` (an SB3 model of ``venv``) is given, the
    student acts greedily on the observations ``venv`` returns (DAgger's rollouts). With
    probability ``epsilon`` a copy takes a uniformly random action instead; the recorded label
    is always the teacher's.

    Returns:
        (observations float32 (n, obs_dim), actions int64 (n,), agreement), n = ceil(steps /
        n_envs) * n_envs; agreement: the share of steps on which the actor's own (non-random)
        choice equalled the teacher's (1.0 when the teacher acts).
    """
    gen = np.random.default_rng(seed)
    n = venv.num_envs
    obs = venv.reset()
    raw = _raw(venv, obs)
    obs_rows, act_rows, agree = [], [], []
    for _ in range(-(-steps // n)):
        teach = np.asarray(teacher.predict(raw)[0], dtype=np.int64).reshape(n)
        own = teach if student is None else np.asarray(student.predict(obs, deterministic=True)[0], dtype=np.int64)
        explore = gen.random(n) < epsilon
        act = np.where(explore, gen.integers(0, venv.action_space.n, n), own)
        obs_rows.append(raw)
        act_rows.append(teach)
        agree.append(own == teach)
        obs, _, _, _ = venv.step(act)
        raw = _raw(venv, obs)
    return np.concatenate(obs_rows).astype(np.float32), np.concatenate(act_rows), float(np.mean(agree))


def _raw(venv, obs: np.ndarray) -> np.ndarray:
    get = getattr(venv, "get_original_obs", None)
    return np.asarray(get() if get is not None else obs, dtype=np.float32)


def warm_up_value(model, venv, *, steps: int, rounds: int, epochs: int = 10, batch_size: int = 256,
                  lr: float = 1e-3) -> float:
    """Fit ``model``'s critic (only) to the returns of its own policy; returns the final explained variance.

    Each round acts with the policy (sampled, as PPO's rollouts are) for ``steps`` transitions
    of ``venv``, computes GAE(``gamma``, ``gae_lambda``) returns bootstrapped on the current
    critic (at time-limit truncations from the terminal observation, at the end of the batch
    from the last one), and regresses the critic on them. Rounds refine the bootstrap.
    """
    import torch

    policy = model.policy
    gamma, lam = float(model.gamma), float(model.gae_lambda)
    critic = [p for name, p in policy.named_parameters() if "value" in name]  # mlp_extractor.value_net, value_net
    opt = torch.optim.Adam(critic, lr=lr)
    n = venv.num_envs
    T = -(-steps // n)
    obs = venv.reset()
    explained = float("nan")
    for _ in range(rounds):
        obs_buf = np.zeros((T, n, *obs.shape[1:]), dtype=np.float32)
        rew = np.zeros((T, n))
        done = np.zeros((T, n), dtype=bool)
        boot_obs: dict[tuple[int, int], np.ndarray] = {}
        for t in range(T):
            obs_buf[t] = obs
            with torch.no_grad():
                act, _, _ = policy(torch.as_tensor(obs, dtype=torch.float32))
            obs, r, d, infos = venv.step(act.numpy())
            rew[t], done[t] = r, d
            for i in np.flatnonzero(d):
                if infos[i].get("TimeLimit.truncated", False):
                    boot_obs[(t, i)] = infos[i]["terminal_observation"]

        def values(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return policy.predict_values(torch.as_tensor(x, dtype=torch.float32)).numpy().reshape(-1)

        v = values(obs_buf.reshape(-1, *obs.shape[1:])).reshape(T, n)
        v_last = values(obs)
        boot = np.zeros((T, n))
        for (t, i), o in boot_obs.items():
            boot[t, i] = values(np.asarray(o)[None])[0]
        adv = np.zeros((T, n))
        last = np.zeros(n)
        for t in reversed(range(T)):
            nxt = v_last if t == T - 1 else v[t + 1]
            nxt = np.where(done[t], boot[t], nxt)  # terminated episodes would bootstrap 0; these envs only truncate
            delta = rew[t] + gamma * nxt - v[t]
            last = delta + gamma * lam * np.where(done[t], 0.0, last)
            adv[t] = last
        targets = torch.as_tensor((adv + v).reshape(-1), dtype=torch.float32)
        x = torch.as_tensor(obs_buf.reshape(-1, *obs.shape[1:]))
        policy.set_training_mode(True)
        for _ in range(epochs):
            order = torch.randperm(len(x))
            for start in range(0, len(x), batch_size):
                idx = order[start:start + batch_size]
                loss = torch.nn.functional.mse_loss(policy.predict_values(x[idx]).reshape(-1), targets[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        policy.set_training_mode(False)
        pred = values(obs_buf.reshape(-1, *obs.shape[1:]))
        explained = float(1 - np.var(targets.numpy() - pred) / max(np.var(targets.numpy()), 1e-12))
    return explained


def warm_start(config: TrainConfig, settings: WarmStart | Mapping[str, Any], record: dict | None = None, *,
               teacher_cache: str | Path | None = None):
    """A ``prepare_model(model, venv)`` for `qec_gym.training.train` that warm-starts from a teacher.

    1. fit the teacher (`make_teacher`, cached in ``teacher_cache``) on the training scenarios;
    2. roll it out in the training envs (`teacher_rollouts`; the observation-normalisation
       statistics are updated on these steps, as in training) and clone it (`behaviour_clone`),
       then ``dagger_iters`` DAgger rounds (the clone acts, the teacher labels, refit on all);
    3. warm up the critic on the clone's returns (`warm_up_value`).

    ``record`` (if given) receives the settings that took effect (`settings_in_effect`; the others
    under ``"unused_settings"``), the teacher (``teacher_config``) and the names of the scenarios
    it was fitted on (``teacher_scenarios``; None for a teacher not fitted here), the clone's
    accuracy (and per DAgger round the clone's agreement with the teacher on its own rollout and
    the refit's accuracy), the critic's explained variance and the environment steps used; `train`
    writes it to ``run.json["warm_start"]``. Runs written before this record list every setting at the
    top level, used or not, and have no ``teacher_scenarios``: read them with ``.get``.

    Raises:
        ValueError: a recurrent or DQN config, bad settings, or a privileged teacher.
    """
    if config.algo not in ("ppo", "a2c", "maskableppo"):
        raise ValueError(f"warm_start clones into a feed-forward actor-critic: use ppo, a2c or maskableppo, not {config.algo}.")
    ws = settings if isinstance(settings, WarmStart) else WarmStart.from_mapping(settings)
    out = {} if record is None else record

    def prepare(model, venv) -> None:
        teacher = make_teacher(config, ws, cache=teacher_cache)
        obs_raw, actions, _ = teacher_rollouts(venv, teacher, steps=ws.bc_steps, epsilon=ws.epsilon, seed=config.seed)
        vn = model.get_vec_normalize_env()

        def clone(i: int) -> float:  # normalised with the statistics the policy will see now
            obs = vn.normalize_obs(obs_raw) if vn is not None else obs_raw
            return behaviour_clone(model, obs, actions, epochs=ws.bc_epochs, seed=config.seed + i)

        used, unused = settings_in_effect(ws, normalized=vn is not None)
        out.update(used)
        if unused:
            out["unused_settings"] = unused
        out["teacher_config"] = teacher_record(teacher)
        out["teacher_scenarios"] = teacher_scenarios(config, ws)
        out["bc_accuracy"] = clone(0)
        out["dagger"] = []
        for i in range(1, ws.dagger_iters + 1):
            new_obs, new_act, agreement = teacher_rollouts(venv, teacher, steps=ws.dagger_steps, epsilon=ws.epsilon,
                                                           seed=config.seed + 1000 * i, student=model)
            obs_raw, actions = np.concatenate([obs_raw, new_obs]), np.concatenate([actions, new_act])
            out["dagger"].append({"on_policy_agreement": agreement, "bc_accuracy": clone(i)})
        if ws.freeze_normalization and vn is not None:
            vn.training = False  # VecNormalize updates its statistics only while training
        out["critic_explained_variance"] = (warm_up_value(model, venv, steps=ws.value_steps, rounds=ws.value_rounds)
                                            if ws.value_rounds else None)
        out["env_steps"] = int(len(actions) + ws.value_rounds * (-(-ws.value_steps // venv.num_envs)) * venv.num_envs)

    return prepare


def train_hybrid(config: TrainConfig, run_dir: str | Path, *, tree_path: str | Path, dataset: str | Path,
                 bc_epochs: int = 30, resume: bool = False, progress_bar: bool = False):
    """Train ``config`` starting from a behaviour clone of the tree at ``tree_path``.

    Args:
        config: A PPO / A2C / MaskablePPO config (recurrent and DQN policies are not supported).
        run_dir: Run folder (as `train`); ``run.json`` records the tree and the clone's accuracy.
        tree_path: A saved `qec_gym.agents.DecisionTreeAgent` for the same env.
        dataset: The observations to clone on (a dataset CSV from `qec_gym.agents.generate_dataset`).
        bc_epochs: Behaviour-cloning epochs.

    Raises:
        ValueError: an unsupported algorithm, or a tree for another env.
    """
    import json

    from qec_gym.agents.dataset import feature_columns, load_dataset, refuse_heldout_rows
    from qec_gym.agents.tree import DecisionTreeAgent

    if config.algo not in ("ppo", "a2c", "maskableppo"):
        raise ValueError(f"the hybrid clones into a feed-forward actor-critic: use ppo, a2c or maskableppo, not {config.algo}.")
    tree = DecisionTreeAgent.load(tree_path, env_id=config.env_id)
    data = load_dataset(dataset)
    refuse_heldout_rows(data, purpose="training (behaviour cloning)")
    observations = data[feature_columns(data)].to_numpy(dtype=np.float32)
    teacher, _ = tree.predict(observations, deterministic=True)
    record: dict = {}

    def prepare(model, venv) -> None:
        obs = observations
        vn = model.get_vec_normalize_env()
        if vn is not None:
            # start the running statistics from the cloning data, so the clone sees at
            # training time the inputs it was fitted on
            vn.obs_rms.mean = observations.mean(axis=0).astype(np.float64)
            vn.obs_rms.var = observations.var(axis=0).astype(np.float64)
            vn.obs_rms.count = float(len(observations))
            obs = vn.normalize_obs(observations)
        record["bc_accuracy"] = behaviour_clone(model, obs, np.asarray(teacher), epochs=bc_epochs, seed=config.seed)

    model = train(config, run_dir, resume=resume, progress_bar=progress_bar, prepare_model=prepare)
    meta_path = Path(run_dir) / "run.json"
    meta = json.loads(meta_path.read_text())
    meta.setdefault("hybrid", {"tree": str(tree_path), "dataset": str(dataset), **record})
    meta_path.write_text(json.dumps(meta, indent=1))
    return model
