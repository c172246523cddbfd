"""Support fallback: the learned policy where its training data cover the state, a baseline elsewhere.

A network trained on a few drift families extrapolates arbitrarily in states those families seldom
produce (e.g. a code held under noise levels reached only in rare bursts), while a rule such as the
decision tree keeps its last region. `FallbackPolicy` plays the learned action only where the
observation lies inside the *support* of the policy's own training-scenario rollouts and the
baseline's (the teacher's) action elsewhere.

The support test is deep-nearest-neighbour out-of-distribution detection (Sun et al., ICML 2022,
arXiv:2204.06507) on the env's raw observation: features are standardised by the reference set's
mean and standard deviation; a state's score is the Euclidean distance to its ``k``-th nearest
reference observation; the threshold is the ``1 - alpha`` quantile of the scores of a calibration
split drawn from the same rollouts, so a fraction ``alpha`` of in-distribution states (in
expectation) fall back to the baseline: for fresh episodes only with the episode split
(``SupportConfig.split``), since steps of one episode are correlated. Only measured observations
enter (no true noise).

* `SupportConfig`: ``k``, ``alpha``, rollout episodes and their reset seeds, the calibration split.
* `ObservationSupport`: fitted on observations; ``scores``, ``contains``; saved as ``.npz``.
* `fit_support`: roll out a run folder's policy on its training scenarios and fit the support
  (held-out scenarios are refused by `qec_gym.agents.rollout.make_env`).
* `FallbackPolicy`: SB3's ``predict`` over a learned policy, a baseline and a support.
* `load_fallback`: the evaluation harness's ``fallback:<run>,<baseline>[,k=K][,alpha=A][,split=S]`` spec
  (`parse_spec`; without options, the default `SupportConfig`).
* `deferral_rate`: the fraction of steps handed to the baseline on given episodes.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> support = ObservationSupport.fit(rng.normal(size=(2000, 3)), SupportConfig(k=10, alpha=0.05), rng)
    >>> support.contains(np.array([[0.0, 0.0, 0.0], [8.0, 0.0, 0.0]])).tolist()
    [True, False]
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

log = logging.getLogger(__name__)

SEPARATOR = ","
"""Between the run folder and the baseline in a ``fallback:<run>,<baseline>`` spec (no shell quoting needed)."""

PRIVILEGED_BASELINES = ("oracle", "clairvoyant")
"""Baselines that read the true noise: not deployable, so not a fallback."""


@dataclass(frozen=True)
class SupportConfig:
    """How the support of a learned policy is estimated.

    Attributes:
        k: Neighbour rank of the score (distance to the ``k``-th nearest reference observation).
        alpha: Target fraction of in-distribution states scored outside (0 < alpha < 1).
        episodes: Training-scenario rollout episodes of the learned policy (balanced over scenarios).
        seed: Reset seed of the first rollout episode (episode ``i`` uses ``seed + i``); kept apart
            from training (0..), periodic validation (10,000+), validation scoring (20,000+) and the
            harness's held-out seeds (0..).
        calibration_frac: Fraction of the rollout observations (``split="step"``) or episodes
            (``split="episode"``) held back to set the threshold.
        split: How the calibration set is drawn. ``"step"`` (the default, and what every released
            number used): single steps, so a calibration step usually has its episode's
            neighbouring steps in the reference set and scores low; fresh episodes then fall outside
            more often than ``alpha`` (measured: 3-22% of validation steps at alpha = 0.05,
            docs/results.md). ``"episode"``: whole episodes, so calibration scores come from
            episodes the reference never saw, as a fresh episode's do; the threshold is then a split
            conformal quantile over exchangeable episodes (Vovk et al. 2005; Angelopoulos & Bates
            2021), and ``alpha`` is the expected share of a fresh in-distribution episode's steps
            deferred. The episodes are drawn per training scenario (``calibration_frac`` of each
            scenario's, at least one), so every scenario sets the threshold.

    Raises:
        ValueError: a value out of range (the message names it and its valid range).
    """

    k: int = 10
    alpha: float = 0.05
    episodes: int = 20
    seed: int = 30_000
    calibration_frac: float = 0.2
    split: str = "step"

    def __post_init__(self) -> None:
        if not (isinstance(self.k, int) and self.k >= 1):
            raise ValueError(f"SupportConfig.k must be an integer >= 1, got {self.k!r}.")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"SupportConfig.alpha must be in (0, 1) (e.g. 0.05), got {self.alpha!r}.")
        if not (isinstance(self.episodes, int) and self.episodes >= 1):
            raise ValueError(f"SupportConfig.episodes must be an integer >= 1, got {self.episodes!r}.")
        if not 0.0 < self.calibration_frac < 1.0:
            raise ValueError(f"SupportConfig.calibration_frac must be in (0, 1), got {self.calibration_frac!r}.")
        if self.split not in ("step", "episode"):
            raise ValueError(f"SupportConfig.split must be 'step' or 'episode', got {self.split!r}.")

    def key(self) -> dict:
        """The settings as a plain dict, without ``split`` at its default: the names of support files
        and the identities of fallback policies fitted before the option existed stay the same."""
        out = dataclasses.asdict(self)
        if out["split"] == "step":
            del out["split"]
        return out


class ObservationSupport:
    """The region of observation space covered by reference observations (k-NN distance test).

    Args:
        reference: (n, d) float array of standardised reference observations.
        mean, scale: (d,) standardisation of raw observations (``(x - mean) / scale``).
        threshold: Largest score counted as inside.
        config: The `SupportConfig` it was fitted with.
    """

    def __init__(self, reference: np.ndarray, mean: np.ndarray, scale: np.ndarray, threshold: float,
                 config: SupportConfig) -> None:
        from sklearn.neighbors import NearestNeighbors

        self.reference = np.asarray(reference, dtype=np.float64)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.threshold = float(threshold)
        self.config = config
        self._nn = NearestNeighbors(n_neighbors=config.k).fit(self.reference)

    @classmethod
    def fit(cls, observations: np.ndarray, config: SupportConfig, rng: np.random.Generator, *,
            episodes: np.ndarray | None = None, strata: np.ndarray | None = None) -> ObservationSupport:
        """Fit on raw observations (n, d): standardise, split reference / calibration, set the threshold.

        Args:
            observations: (n, d) raw observations.
            config: The settings; ``config.split`` says whether steps or whole episodes are held back.
            rng: Draws the calibration set.
            episodes: (n,) episode index of each observation; needed for ``split="episode"``.
            strata: (n,) label of each observation's stratum (its training scenario), constant within
                an episode; ``split="episode"`` then draws the calibration episodes per stratum.
                None: one stratum.

        Raises:
            ValueError: ``observations`` is not 2-D, holds non-finite values, or is too small for
                ``k`` neighbours after the calibration split; ``split="episode"`` without
                ``episodes`` (or with fewer than 2 episodes, or a length other than n).
        """
        x = np.asarray(observations, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"observations must be a 2-D (n, d) array, got shape {x.shape}.")
        if not np.isfinite(x).all():
            raise ValueError("observations hold NaN or infinite values; the support needs finite features.")
        if config.split == "episode":
            cal_mask = _calibration_episodes(episodes, strata, len(x), config, rng)
            n_cal = int(cal_mask.sum())
        else:
            n_cal = int(round(config.calibration_frac * len(x)))
        if len(x) - n_cal < config.k + 1 or n_cal < 1:
            raise ValueError(f"{len(x)} observations are too few for k={config.k} neighbours and a calibration "
                             f"split of {config.calibration_frac}; roll out more episodes (SupportConfig.episodes).")
        if config.split == "episode":
            ref, cal = x[~cal_mask], x[cal_mask]
        else:
            order = rng.permutation(len(x))
            ref, cal = x[order[n_cal:]], x[order[:n_cal]]
        mean = ref.mean(axis=0)
        # A floor keeps constant features (e.g. a code never run) from dividing by zero; any
        # departure from a constant then counts as far, which is what "unsupported" means.
        scale = np.maximum(ref.std(axis=0), 1e-3)
        z_ref = (ref - mean) / scale
        support = cls(z_ref, mean, scale, np.inf, config)
        support.threshold = float(np.quantile(support.scores(cal), 1.0 - config.alpha))
        return support

    def scores(self, observations: np.ndarray) -> np.ndarray:
        """Distance of each raw observation to its ``k``-th nearest reference point: (n,) float64.

        One observation (d,) gives a (1,) array.
        """
        x = np.atleast_2d(np.asarray(observations, dtype=np.float64))
        if x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"observations have {x.shape[1]} features; this support was fitted on "
                             f"{self.mean.shape[0]} (another env or observation version?).")
        dist, _ = self._nn.kneighbors((x - self.mean) / self.scale)
        return dist[:, -1]

    def contains(self, observations: np.ndarray) -> np.ndarray:
        """Boolean (n,) array: the observation's score is within the threshold."""
        return self.scores(observations) <= self.threshold

    def save(self, path: str | Path, *, fitted_to: str = "") -> None:
        """Write an ``.npz`` (arrays, the config as JSON and ``fitted_to``, e.g. the digest of the
        model files the rollouts came from; no pickle)."""
        np.savez_compressed(path, reference=self.reference, mean=self.mean, scale=self.scale,
                            threshold=np.float64(self.threshold),
                            config=np.array(json.dumps(self.config.key())),
                            fitted_to=np.array(fitted_to))

    @staticmethod
    def fitted_to(path: str | Path) -> str:
        """The ``fitted_to`` string stored by `save` ("" if none, or if the file is unreadable, e.g.
        truncated by a kill mid-write: `fit_support` then fits it anew)."""
        try:
            with np.load(path, allow_pickle=False) as f:
                return str(f["fitted_to"]) if "fitted_to" in f.files else ""
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            log.warning("unreadable support file %s (%s); it will be refitted", path, e)
            return ""

    @classmethod
    def load(cls, path: str | Path) -> ObservationSupport:
        """Read a file written by `save`.

        Raises:
            FileNotFoundError: no file at ``path``.
            ValueError: the file is not a support file.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no support file at {path}: fit one with qec_gym.training.fallback.fit_support.")
        try:
            with np.load(path, allow_pickle=False) as f:
                config = SupportConfig(**json.loads(str(f["config"])))
                return cls(f["reference"], f["mean"], f["scale"], float(f["threshold"]), config)
        except (KeyError, ValueError, OSError, TypeError):
            raise ValueError(f"{path} is not a support file written by ObservationSupport.save; fit one with "
                             "qec_gym.training.fallback.fit_support.") from None


def rollout_observations(run_dir: str | Path, config: SupportConfig, *, with_episodes: bool = False):
    """Raw observations (n, d) of a run's deterministic policy on its training scenarios.

    Episode ``i`` plays scenario ``i mod (number of training scenarios)`` with reset seed
    ``config.seed + i``, in the env and env keyword arguments the run was trained with.
    ``with_episodes=True`` returns ``(observations, episodes, scenarios)``: the (n,) int64 index
    ``i`` of each observation's episode and of its scenario (``i mod`` the number of scenarios).

    Raises:
        ValueError: the run folder is not a finished run, its env has Dict observations, or its
            policy is recurrent.
    """
    import yaml

    from qec_gym.agents.rollout import make_env
    from qec_gym.training.policy import load_run

    run = Path(run_dir)
    cfg_path = run / "config.yaml"
    if not cfg_path.exists():
        raise ValueError(f"{run} has no config.yaml: not a run folder written by `qec-gym train`.")
    cfg = yaml.safe_load(cfg_path.read_text())
    kwargs = dict(cfg.get("env_kwargs") or {})
    scenarios = kwargs.pop("scenarios", "train")
    env = make_env(cfg["env_id"], scenarios=scenarios, env_kwargs=kwargs, purpose="fitting a policy's support")
    if isinstance(env.observation_space, gym.spaces.Dict):
        raise ValueError(f"{run}: the support fallback needs a Box observation; this env's is a Dict.")
    names = list(env.unwrapped.scenario_names)
    policy = _memoryless(load_run(run, env=env), run)
    rows, index = [], []
    for i in range(config.episodes):
        obs, _ = env.reset(seed=config.seed + i, options={"scenario": names[i % len(names)]})
        done = False
        while not done:
            rows.append(np.asarray(obs, dtype=np.float64))
            index.append(i)
            action, _ = policy.predict(obs, deterministic=True)
            obs, _, term, trunc, _ = env.step(int(np.asarray(action).reshape(-1)[0]))
            done = term or trunc
    env.close()
    if not with_episodes:
        return np.stack(rows)
    index = np.asarray(index, dtype=np.int64)
    return np.stack(rows), index, index % len(names)


def _calibration_episodes(episodes, strata, n: int, config: SupportConfig, rng: np.random.Generator) -> np.ndarray:
    """Boolean (n,) mask of the observations of the calibration episodes: per stratum,
    ``round(calibration_frac * its episodes)`` (at least one, at most all but one) drawn without
    replacement; a stratum of one episode stays in the reference."""
    if episodes is None:
        raise ValueError("SupportConfig(split='episode') needs each observation's episode: pass episodes=... "
                         "(rollout_observations(..., with_episodes=True) returns them).")
    episodes = np.asarray(episodes).reshape(-1)
    if len(episodes) != n:
        raise ValueError(f"episodes has {len(episodes)} entries for {n} observations; give one per observation.")
    ids, first = np.unique(episodes, return_index=True)  # an episode's stratum: that of its first step
    if len(ids) < 2:
        raise ValueError(f"split='episode' needs at least 2 episodes, got {len(ids)}; roll out more "
                         "(SupportConfig.episodes).")
    strata = np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata).reshape(-1)
    if len(strata) != n:
        raise ValueError(f"strata has {len(strata)} entries for {n} observations; give one per observation.")
    chosen = []
    for label in np.unique(strata[first]):
        own = ids[strata[first] == label]
        if len(own) >= 2:
            n_cal = min(max(1, int(round(config.calibration_frac * len(own)))), len(own) - 1)
            chosen.append(rng.permutation(own)[:n_cal])
    if not chosen:
        raise ValueError("split='episode' needs a stratum with at least 2 episodes; roll out more "
                         "(SupportConfig.episodes).")
    return np.isin(episodes, np.concatenate(chosen))


def _memoryless(policy, run):
    """``policy``, refused if recurrent: the fallback swaps actions step by step, which would leave a
    recurrent policy's hidden state following actions it did not take."""
    if type(policy.model).__name__ == "RecurrentPPO":
        raise ValueError(f"{run} holds a recurrent policy; the support fallback needs a memoryless one "
                         "(PPO, MaskablePPO, A2C, DQN, ...).")
    return policy


def support_path(run_dir: str | Path, config: SupportConfig = SupportConfig()) -> Path:
    """Where `fit_support` keeps the support of ``run_dir`` for ``config``: one file per setting
    (``support-<digest of the config>.npz``), so supports fitted with other settings are kept."""
    text = json.dumps(config.key(), sort_keys=True)
    return Path(run_dir) / f"support-{hashlib.sha256(text.encode()).hexdigest()[:12]}.npz"


def model_digest(run_dir: str | Path) -> str:
    """Digest of the files the support's rollouts depend on: the policy (``model.zip``,
    ``vecnormalize.pkl``) and the env it was trained in (``config.yaml``)."""
    h = hashlib.sha256()
    for name in ("model.zip", "vecnormalize.pkl", "config.yaml"):
        f = Path(run_dir) / name
        if f.exists():
            h.update(name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def support_is_current(run_dir: str | Path, config: SupportConfig = SupportConfig()) -> bool:
    """Whether `fit_support` would load (True) rather than fit: a support for ``config`` fitted to
    the run's current model files exists."""
    path = support_path(run_dir, config)
    return path.exists() and ObservationSupport.fitted_to(path) == model_digest(run_dir)


def fit_support(run_dir: str | Path, config: SupportConfig = SupportConfig()) -> ObservationSupport:
    """The support of a run's policy for ``config``: loaded from `support_path` if it was fitted to
    the run's current model, else fitted on `rollout_observations` and written there (under a file
    lock, so parallel evaluation workers fit it once). A model changed since (``--resume``, a
    retrained folder) is refitted: a support is a deterministic function of the model files and
    ``config``. The split uses ``numpy.random.default_rng(config.seed)``.

    Raises:
        ValueError: as `rollout_observations`.
    """
    from filelock import FileLock

    path = support_path(run_dir, config)
    digest = model_digest(run_dir)
    with FileLock(str(path) + ".lock"):
        if support_is_current(run_dir, config):
            return ObservationSupport.load(path)
        if path.exists():
            log.warning("%s was fitted to another model of %s (changed since); refitting", path.name, run_dir)
        obs, episodes, scenarios = rollout_observations(run_dir, config, with_episodes=True)
        support = ObservationSupport.fit(obs, config, np.random.default_rng(config.seed), episodes=episodes,
                                         strata=scenarios)
        tmp = path.with_name(path.stem + ".partial.npz")
        support.save(tmp, fitted_to=digest)
        tmp.replace(path)  # atomic: a kill mid-write leaves no half file under the real name
        return support


class FallbackPolicy:
    """A learned policy inside its support, a baseline outside (SB3's ``predict``).

    Args:
        policy: The learned policy (e.g. `qec_gym.training.policy.TrainedPolicy`); stateless.
        baseline: The fallback (e.g. a `DecisionTreeAgent`); stateless.
        support: The learned policy's `ObservationSupport`.
        name: Label in tables.

    ``deferred`` and ``steps`` count the observations handed to the baseline and all observations
    seen, for reporting the fallback rate.
    """

    def __init__(self, policy: Any, baseline: Any, support: ObservationSupport, *, name: str = "fallback") -> None:
        self.policy, self.baseline, self.support, self.name = policy, baseline, support, name
        self.deferred = 0
        self.steps = 0

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = True):
        """``(action, state)``: the baseline's action where ``observation`` is outside the support.

        A single observation gives a 0-d int64 array, a batch (n, d) an (n,) array.
        """
        obs = np.asarray(observation)
        learned, _ = self.policy.predict(obs, deterministic=deterministic)
        fallback, _ = self.baseline.predict(obs, deterministic=True)
        inside = self.support.contains(obs)
        single = obs.ndim == 1
        action = np.where(inside, np.asarray(learned).reshape(-1), np.asarray(fallback).reshape(-1)).astype(np.int64)
        self.deferred += int((~inside).sum())
        self.steps += len(inside)
        return (action[0] if single else action), state


def deferral_rate(policy: FallbackPolicy, env, episodes) -> float:
    """Fraction of steps ``policy`` hands to its baseline over ``episodes`` ((scenario, seed) pairs) of ``env``.

    Example:
        >>> import gymnasium as gym, qec_gym
        >>> from qec_gym.agents import FixedAgent
        >>> support = ObservationSupport.fit(np.zeros((50, 24)), SupportConfig(k=3), np.random.default_rng(0))
        >>> policy = FallbackPolicy(FixedAgent(0, 10), FixedAgent(3, 10), support)
        >>> deferral_rate(policy, gym.make("qec_gym/SurfaceSwitch-v2", max_steps=4), [("calm", 0)])
        1.0
    """
    before_deferred, before_steps = policy.deferred, policy.steps
    for scenario, seed in episodes:
        obs, _ = env.reset(seed=seed, options={"scenario": scenario})
        done = False
        while not done:
            action, _ = policy.predict(obs)
            obs, _, term, trunc, _ = env.step(int(action))
            done = term or trunc
    steps = policy.steps - before_steps
    return (policy.deferred - before_deferred) / steps if steps else float("nan")


_OPTIONS = {"k": int, "alpha": float, "split": str}
"""`SupportConfig` fields a ``fallback:`` spec may set, after the baseline (``,alpha=0.1,split=episode``)."""


def parse_spec(spec: str) -> tuple[str, str, SupportConfig]:
    """``"<run>,<baseline>[,k=K][,alpha=A][,split=S]"`` -> (run folder, baseline spec, support settings).

    Trailing ``key=value`` parts set `SupportConfig` fields (``k``, ``alpha``, ``split``); the rest
    is split at its last ``,`` into the run folder and the baseline, which is checked. Without
    options the settings are the default `SupportConfig` (what every released number used).

    Raises:
        ValueError: no ``,`` separator or an empty part (the message shows the form); an option
            given twice or with a bad value (as `SupportConfig`); an unknown baseline; a baseline
            that must be fitted (``best_fixed``, ``threshold``: save a tree instead) or reads the
            true noise (``oracle``, ``clairvoyant``: not deployable).

    Example:
        >>> parse_spec("runs/seed0,tree:t.joblib,alpha=0.1,split=episode")[2]
        SupportConfig(k=10, alpha=0.1, episodes=20, seed=30000, calibration_frac=0.2, split='episode')
    """
    from qec_gym.agents import FITTED_BASELINES, check_baseline_name

    parts = spec.split(SEPARATOR)
    options: dict[str, Any] = {}
    while len(parts) > 2 and parts[-1].partition("=")[0] in _OPTIONS:
        key, _, value = parts.pop().partition("=")
        if key in options:
            raise ValueError(f"the fallback option {key!r} is given twice in 'fallback:{spec}'; give it once.")
        try:
            options[key] = _OPTIONS[key](value)
        except ValueError:
            raise ValueError(f"the fallback option {key}={value!r} is not a {_OPTIONS[key].__name__} "
                             f"(e.g. k=10, alpha=0.05, split=episode).") from None
    run, sep, baseline = SEPARATOR.join(parts).rpartition(SEPARATOR)
    if not sep or not run or not baseline or baseline.partition("=")[0] in _OPTIONS:
        raise ValueError(f"a fallback policy is written 'fallback:<run folder>{SEPARATOR}<baseline>', e.g. "
                         f"'fallback:runs/ppo/seed0{SEPARATOR}tree:runs/tree.joblib' (optionally followed by "
                         f"',alpha=0.1', ',split=episode', ',k=10'); got 'fallback:{spec}'.")
    kind = check_baseline_name(baseline).partition(":")[0]
    if kind in FITTED_BASELINES:
        raise ValueError(f"the fallback baseline {baseline!r} would be fitted anew wherever it is built; save a "
                         f"fitted rule as a tree (`qec-gym tree --out PATH`) and use 'tree:PATH'.")
    if kind in PRIVILEGED_BASELINES:
        raise ValueError(f"the fallback baseline {baseline!r} reads the true noise, which a control system cannot; "
                         "use a deployable one (e.g. 'tree:PATH', 'fixed:<i>').")
    return run, baseline, SupportConfig(**options)


def split_spec(spec: str) -> tuple[str, str]:
    """``"<run>,<baseline>[,options]"`` -> (run folder, baseline spec): `parse_spec` without the settings.

    Raises:
        ValueError: as `parse_spec`.
    """
    run, baseline, _ = parse_spec(spec)
    return run, baseline


def load_fallback(spec: str, env) -> FallbackPolicy:
    """The policy of a ``fallback:<run>,<baseline>[,options]`` spec (without ``fallback:``) for ``env``.

    Raises:
        ValueError: as `parse_spec`, `qec_gym.training.load_run`, `make_baseline`, `fit_support`.
    """
    from qec_gym.agents import make_baseline
    from qec_gym.training.policy import load_run

    run, baseline, config = parse_spec(spec)
    return FallbackPolicy(_memoryless(load_run(run, env=env), run), make_baseline(baseline, env), fit_support(run, config),
                          name=f"fallback:{Path(run).name}")
