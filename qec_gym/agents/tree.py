"""A decision tree imitating the myopic oracle: readable rules from a generated dataset.

Trained (scikit-learn ``DecisionTreeClassifier``) on `qec_gym.agents.dataset.generate_dataset`
data from TRAINING scenarios. Two targets, both from the oracle's labels:

* ``"action"``: the oracle's action itself (``0`` keep, ``1`` recalibrate, ``2+i`` switch);
* ``"entry"``: the menu entry that should run after the oracle's action; the agent keeps when it
  is the running one. Much easier to learn: "keep" vs "switch to i" depends on the running entry
  *and* the noise, the entry mostly on the noise (on SurfaceSwitch-v0 held-out scenarios a
  depth-4 tree scored -123 with ``"entry"`` vs -157 with ``"action"``). It cannot express
  recalibration, so ``train(target="auto")`` (default) uses ``"entry"`` unless the dataset's
  oracle ever recalibrates.

``save`` writes the model (joblib) plus a JSON sidecar ``<path>.json`` with the env id,
observation shape, feature names and library versions; ``load`` checks them. Joblib files are
pickles: load only files you trust.

Example:
    >>> from qec_gym.agents.dataset import generate_dataset
    >>> df = generate_dataset("qec_gym/SurfaceSwitch-v1", episodes=2, seed=0, epsilon=0.2,
    ...                       env_kwargs={"max_steps": 20})
    >>> agent = DecisionTreeAgent.train(df, max_depth=2, min_samples_leaf=2)
    >>> "|---" in agent.rules(), agent.predict(df[list(agent.feature_names)].to_numpy()[:3])[0].shape
    (True, (3,))
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from qec_gym.agents.base import Policy, features_shape, observation_feature_names, running_entry

_FORMAT = "qec_gym.tree/1"
TARGETS = ("action", "entry")


def _sklearn():
    try:
        import sklearn
        from sklearn.tree import DecisionTreeClassifier, export_text
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise ImportError("DecisionTreeAgent needs scikit-learn: pip install scikit-learn (or qec-gym[rl]).") from e
    return sklearn, DecisionTreeClassifier, export_text


def sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON metadata file next to a saved tree."""
    return Path(str(path) + ".json")


class DecisionTreeAgent(Policy):
    """A fitted ``DecisionTreeClassifier`` behind SB3's ``predict``.

    Build one with `DecisionTreeAgent.train` or `DecisionTreeAgent.load`.

    Args:
        tree: A fitted ``sklearn.tree.DecisionTreeClassifier``.
        feature_names: Observation feature names, in order (its input columns).
        target: ``"action"`` or ``"entry"`` (see the module docstring).
        env_id: The env it was trained for (checked on load).
        metrics: Training/validation accuracies and sizes.
        name: Display name.
    """

    def __init__(
        self,
        tree: Any,
        feature_names: list[str] | tuple[str, ...],
        *,
        target: str = "action",
        env_id: str | None = None,
        metrics: dict[str, float] | None = None,
        name: str = "tree",
    ) -> None:
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}.")
        self.tree = tree
        self.feature_names = tuple(feature_names)
        n_in = getattr(tree, "n_features_in_", len(self.feature_names))
        if n_in != len(self.feature_names):
            raise ValueError(f"the tree takes {n_in} features but {len(self.feature_names)} names were given.")
        self.menu_labels = tuple(n[len("running["):-1] for n in self.feature_names if n.startswith("running["))
        if not self.menu_labels:
            raise ValueError("feature_names have no 'running[<label>]' one-hot columns: use observation_feature_names(env).")
        self.target = target
        self.env_id = env_id
        self.metrics = dict(metrics or {})
        self.name = name

    @property
    def observation_shape(self) -> tuple[int]:
        """Shape of one observation (feature vector) the tree takes."""
        return (len(self.feature_names),)

    # ------------------------------------------------------------------ acting
    def _act(self, features: np.ndarray) -> np.ndarray:
        if features.shape[1] != len(self.feature_names):
            raise ValueError(
                f"{self.name}: observations have {features.shape[1]} features but this tree was trained on "
                f"{len(self.feature_names)} ({self.env_id or 'unknown env'}): use a tree trained for this env."
            )
        # float32 like the env's observations: sklearn trees compare in float32, so identical
        # inputs give identical leaves whatever the caller's dtype.
        pred = self.tree.predict(features.astype(np.float32)).astype(np.int64)
        running = running_entry(features, len(self.menu_labels))
        if self.target == "entry":
            return np.where(pred == running, 0, 2 + pred)
        return np.where(pred == 2 + running, 0, pred)  # "switch to the running entry" is keep

    # ------------------------------------------------------------------ training
    @classmethod
    def train(
        cls,
        data: Any,
        *,
        max_depth: int | None = 4,
        min_samples_leaf: int = 20,
        target: str = "auto",
        validation_fraction: float = 0.2,
        seed: int = 0,
        class_weight: str | None = None,
        name: str = "tree",
    ) -> DecisionTreeAgent:
        """Fit a tree on a dataset from `generate_dataset` (or `load_dataset`).

        Validation holds out whole episodes (steps of one episode are correlated, so a row-wise
        split would overstate accuracy); the tree is then refitted on all episodes.

        Args:
            data: DataFrame with the feature columns, ``label``/``label_entry`` and ``episode``.
            max_depth: Tree depth (``None``: unlimited).
            min_samples_leaf: Minimum rows per leaf.
            target: ``"entry"``, ``"action"`` or ``"auto"`` (``"entry"`` unless the oracle
                recalibrates somewhere in the dataset).
            validation_fraction: Share of episodes held out for the validation accuracy
                (0 skips validation).
            seed: Seed of the episode split and of sklearn's tie-breaking.
            class_weight: Passed to sklearn (e.g. ``"balanced"``).
            name: Display name.

        Returns:
            The agent; ``agent.metrics`` holds ``train_accuracy``, ``validation_accuracy``,
            ``n_train``, ``n_validation`` (accuracies of the split fit) and ``accuracy_all``.
        """
        from qec_gym.agents.dataset import feature_columns, refuse_heldout_rows

        _, Tree, _ = _sklearn()
        if target not in (*TARGETS, "auto"):
            raise ValueError(f"target must be one of {(*TARGETS, 'auto')}, got {target!r}.")
        if "label" in data.columns and target == "auto":
            target = "action" if (data["label"] == 1).any() else "entry"
        if not 0.0 <= validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}.")
        names = feature_columns(data)
        missing = [c for c in (*names, "label", "label_entry", "episode") if c not in data.columns]
        if missing:
            raise ValueError(f"the dataset lacks columns {missing}: make it with generate_dataset / `qec-gym dataset`.")
        if target == "entry" and (data["label"] == 1).any():
            raise ValueError("the oracle recalibrates in this dataset, which target='entry' cannot express: use target='action'.")
        refuse_heldout_rows(data, purpose="fitting a decision tree")
        X = data[names].to_numpy(dtype=np.float32)
        y = data["label" if target == "action" else "label_entry"].to_numpy(dtype=np.int64)
        episodes = np.unique(data["episode"].to_numpy())
        rng = np.random.default_rng(seed)
        n_val = int(round(validation_fraction * len(episodes)))
        if validation_fraction > 0 and len(episodes) >= 2:
            n_val = min(max(n_val, 1), len(episodes) - 1)
        else:
            n_val = 0
        val_eps = rng.choice(episodes, size=n_val, replace=False) if n_val else np.array([], dtype=episodes.dtype)
        is_val = np.isin(data["episode"].to_numpy(), val_eps)

        def make():
            return Tree(max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=seed, class_weight=class_weight)

        metrics: dict[str, float] = {"n_train": int((~is_val).sum()), "n_validation": int(is_val.sum())}
        if n_val:
            split = make().fit(X[~is_val], y[~is_val])
            metrics["train_accuracy"] = float(split.score(X[~is_val], y[~is_val]))
            metrics["validation_accuracy"] = float(split.score(X[is_val], y[is_val]))
        tree = make().fit(X, y)
        metrics["accuracy_all"] = float(tree.score(X, y))
        if not n_val:
            metrics["train_accuracy"] = metrics["accuracy_all"]
        return cls(tree, names, target=target, env_id=data.attrs.get("env_id"), metrics=metrics, name=name)

    # ------------------------------------------------------------------ reading
    def class_names(self) -> list[str]:
        """Readable names of the tree's classes, in ``tree.classes_`` order."""
        out = []
        for c in self.tree.classes_:
            c = int(c)
            if self.target == "entry":
                out.append(f"run {self.menu_labels[c]}")
            elif c == 0:
                out.append("keep")
            elif c == 1:
                out.append("recalibrate")
            else:
                out.append(f"switch to {self.menu_labels[c - 2]}")
        return out

    def rules(self, *, decimals: int = 3) -> str:
        """The tree as indented if/else rules with feature and action names (sklearn's export_text).

        With ``target="action"``, ``keep`` means the oracle would not switch from the running
        entry; the one-hot features ``running[...]`` tell which entry that is.
        """
        _, _, export_text = _sklearn()
        return export_text(self.tree, feature_names=list(self.feature_names), class_names=self.class_names(),
                           decimals=decimals)

    # ------------------------------------------------------------------ persistence
    def metadata(self) -> dict[str, Any]:
        """What `save` writes to the JSON sidecar."""
        import qec_gym

        sklearn, _, _ = _sklearn()
        return {
            "format": _FORMAT,
            "env_id": self.env_id,
            "observation_shape": list(self.observation_shape),
            "feature_names": list(self.feature_names),
            "target": self.target,
            "name": self.name,
            "max_depth": self.tree.get_params().get("max_depth"),
            "min_samples_leaf": self.tree.get_params().get("min_samples_leaf"),
            "metrics": self.metrics,
            "sklearn_version": sklearn.__version__,
            "qec_gym_version": getattr(qec_gym, "__version__", None),
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model (joblib) to ``path`` and its metadata to ``<path>.json``; returns ``path``."""
        import joblib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = self.metadata()
        joblib.dump({"format": _FORMAT, "tree": self.tree, "meta": meta}, path)
        sidecar_path(path).write_text(json.dumps(meta, indent=1))
        return path

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        *,
        env: Any = None,
        env_id: str | None = None,
        observation_shape: tuple[int, ...] | None = None,
    ) -> DecisionTreeAgent:
        """Load a tree saved by `save`, checking it fits the env it will act in.

        Args:
            path: The joblib file (its ``<path>.json`` sidecar must be next to it).
            env: The env it will act in: its id, observation shape and feature names are checked.
            env_id: Expected env id (when no env is given).
            observation_shape: Expected observation shape (when no env is given).

        Raises:
            FileNotFoundError: no such file.
            ValueError: corrupt or foreign file, missing sidecar, or a tree for another env /
                observation shape (the message names both).
        """
        import joblib

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no tree model at {path}: train one with `qec-gym tree --out {path}`.")
        side = sidecar_path(path)
        if not side.exists():
            raise ValueError(f"{path} has no metadata sidecar {side.name}: re-save it with DecisionTreeAgent.save.")
        try:
            meta = json.loads(side.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{side} is corrupt ({e}): re-create the model with `qec-gym tree`.") from None
        try:
            payload = joblib.load(path)
        except Exception as e:  # unpickling a damaged file can raise almost anything
            raise ValueError(f"{path} is not a readable tree model (corrupt or truncated: {type(e).__name__}: {e}); "
                             "re-create it with `qec-gym tree`.") from None
        _, Tree, _ = _sklearn()
        if (not isinstance(payload, dict) or payload.get("format") != _FORMAT or not isinstance(payload.get("tree"), Tree)
                or not isinstance(meta, dict) or meta.get("format") != _FORMAT):
            raise ValueError(f"{path} is not a DecisionTreeAgent file (format {_FORMAT}): re-create it with `qec-gym tree`.")
        inner = payload["meta"]
        if inner.get("feature_names") != meta.get("feature_names") or inner.get("observation_shape") != meta.get("observation_shape"):
            raise ValueError(f"{side.name} does not belong to {path.name} (feature names differ): re-save the model.")
        saved_version = meta.get("sklearn_version")
        sklearn, _, _ = _sklearn()
        if saved_version != sklearn.__version__:
            warnings.warn(f"{path} was saved with scikit-learn {saved_version}, this is {sklearn.__version__}; "
                          "predictions may differ.", stacklevel=2)
        shape = tuple(meta["observation_shape"])
        if env is not None:
            env_id = env_id or getattr(getattr(env, "spec", None), "id", None)
            observation_shape = observation_shape or features_shape(env)
        if env_id is not None and meta.get("env_id") is not None and env_id != meta["env_id"]:
            raise ValueError(f"{path} was trained for {meta['env_id']!r}, not {env_id!r}: train a tree for {env_id!r}.")
        if observation_shape is not None and tuple(observation_shape) != shape:
            raise ValueError(f"{path} takes observations of shape {shape} ({meta.get('env_id')}), but this env's are "
                             f"{tuple(observation_shape)}: train a tree on a dataset from this env.")
        if env is not None:
            try:
                names = observation_feature_names(env)
            except (AttributeError, ValueError):
                names = None
            if names is not None and list(names) != meta["feature_names"]:
                raise ValueError(f"{path} was trained on other features (e.g. another menu) than this env has: "
                                 "train a tree on a dataset from this env.")
        return cls(payload["tree"], meta["feature_names"], target=meta.get("target", "action"), env_id=meta.get("env_id"),
                   metrics=meta.get("metrics"), name=meta.get("name", "tree"))


REFERENCE_TREE_EPISODES = 30
"""Training episodes of the reference tree (`fit_reference_tree`), as in the release evaluation."""


def fit_reference_tree(
    env_id: str,
    path: str | os.PathLike | None = None,
    *,
    episodes: int = REFERENCE_TREE_EPISODES,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    dataset_path: str | os.PathLike | None = None,
) -> DecisionTreeAgent:
    """The evaluation protocol's decision-tree baseline for ``env_id``, fitted once and saved at ``path``.

    The recipe (docs/protocol.md): myopic-oracle labels with 20% random actions on ``episodes``
    training-scenario episodes from reset seed ``seed`` (`generate_dataset`), then a depth-4 tree
    (`DecisionTreeAgent.train` defaults). Deterministic given its arguments, so the release
    evaluation, the warm-start teacher and the validation scripts share one tree. If ``path``
    exists it is loaded (and checked to be a tree for ``env_id``) instead of refitted; the fit
    runs under a file lock, so parallel training seeds fit it once. ``path=None``: fit and
    return it without saving.

    Args:
        env_id: Registered env id (training scenarios are used; held-out ones are refused).
        path: Where the tree is saved (joblib, with its ``.json`` sidecar); None: not saved.
        episodes: Labelled training episodes.
        seed: First reset seed of the dataset.
        env_kwargs: Extra env keyword arguments (e.g. ``{"max_steps": 100}``).
        dataset_path: CSV to write the dataset to (and resume from); None keeps it in memory.

    Raises:
        ValueError: ``path`` holds a tree for another env, or bad dataset arguments.

    Example:
        >>> import tempfile, os
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = os.path.join(d, "tree.joblib")
        ...     a = fit_reference_tree("qec_gym/SurfaceSwitch-v1", p, episodes=2, env_kwargs={"max_steps": 20})
        ...     b = fit_reference_tree("qec_gym/SurfaceSwitch-v1", p, episodes=2, env_kwargs={"max_steps": 20})
        >>> a.rules() == b.rules()
        True
    """
    from qec_gym.agents.dataset import generate_dataset
    from qec_gym.sim import csvstore

    def fit() -> DecisionTreeAgent:
        data = generate_dataset(env_id, episodes=episodes, seed=seed, env_kwargs=env_kwargs, out_path=dataset_path)
        return DecisionTreeAgent.train(data, max_depth=4)

    if path is None:
        return fit()
    path = Path(path)
    with csvstore.locked(path):
        if not path.exists():
            fit().save(path)
    return DecisionTreeAgent.load(path, env_id=env_id)
