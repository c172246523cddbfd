"""Learning curves aggregated over training seeds: mean and 95% interval band against timesteps.

The unit of an RL result is a training seed (``docs/protocol.md``), so a learning curve is a group
of run folders (one per seed, e.g. ``qec-gym train --seeds 0 1 2 3 4``). Each run's validation
evaluations (``evaluations.jsonl``, written by `qec_gym.training.callbacks.QECEvalCallback`: per
evaluation the timesteps and every episode's return) give, at every timestep all runs share, an
array ``(runs, episodes, 1)``; its mean and interval come from the two-stage stratified bootstrap
of `qec_gym.eval.aggregate` (runs, then each drawn run's episodes). A tensorboard scalar (e.g.
``rollout/ep_rew_mean``) can be read instead (`qec_gym.eval.plots.read_scalars`): one value per
run and step, so the band is over runs only.

Example:
    >>> import json, tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     runs = []
    ...     for s in range(3):
    ...         run = pathlib.Path(tmp) / f"seed{s}"; run.mkdir(); runs.append(run)
    ...         rows = [{"timesteps": t, "returns": [t / 100 + s, t / 100 - s]} for t in (100, 200)]
    ...         _ = (run / "evaluations.jsonl").write_text("".join(json.dumps(r) + "\\n" for r in rows))
    ...     df = learning_curve(runs, reps=200)
    ...     out = plot_curves({"ppo": df}, pathlib.Path(tmp) / "curves.png")
    ...     df[["timesteps", "runs", "mean"]].values.tolist(), out.stat().st_size > 1000
    ([[100.0, 3.0, 1.0], [200.0, 3.0, 2.0]], True)
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

EVALUATIONS = "evaluations"
"""``source`` value: the validation evaluations of ``evaluations.jsonl`` (per-episode returns)."""


def expand_runs(paths: Sequence[str | pathlib.Path]) -> list[pathlib.Path]:
    """Run folders: each path itself, or, for the parent of ``train --seeds``, its ``seed*`` folders.

    Raises:
        ValueError: nothing given, or a path that is neither a run folder nor holds ``seed*`` ones.
    """
    def is_run(d: pathlib.Path) -> bool:
        return (d / "run.json").exists() or (d / "evaluations.jsonl").exists()

    runs: list[pathlib.Path] = []
    for p in map(pathlib.Path, paths):
        if is_run(p):
            runs.append(p)
            continue
        seeds = sorted((d for d in p.glob("seed*") if is_run(d)), key=lambda d: (len(d.name), d.name))
        if not seeds:
            raise ValueError(f"{p} is neither a run folder (no run.json) nor the parent of seed<K> run folders: "
                             "pass the folders `qec-gym train --out` / `--seeds` wrote.")
        runs += seeds
    if not runs:
        raise ValueError("no run folders given: pass the folders `qec-gym train --out` / `--seeds` wrote.")
    return runs


def read_evaluations(run_dir: str | pathlib.Path) -> dict[int, list[float]]:
    """Timesteps -> episode returns of a run's validation evaluations (``evaluations.jsonl``).

    Raises:
        FileNotFoundError: the run has no evaluations (trained with ``--eval-freq 0``).
    """
    path = pathlib.Path(run_dir) / "evaluations.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the run was trained without periodic validation "
                                "(--eval-freq 0); retrain with --eval-freq > 0, or pass a tensorboard tag as source.")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {int(r["timesteps"]): [float(x) for x in r["returns"]] for r in rows}


def _read_tag(run_dir: pathlib.Path, tag: str) -> dict[int, list[float]]:
    from qec_gym.eval.plots import read_scalars

    scalars = read_scalars(run_dir, [tag])
    if tag not in scalars:
        raise ValueError(f"{run_dir} logged no tensorboard scalar {tag!r}: pick a tag it logged "
                         f"(e.g. rollout/ep_rew_mean or qec/eval_return).")
    steps, values = scalars[tag]
    return {int(s): [float(v)] for s, v in zip(steps, values)}


def learning_curve(
    run_dirs: Sequence[str | pathlib.Path],
    *,
    source: str = EVALUATIONS,
    reps: int = 2000,
    confidence: float = 0.95,
):
    """Mean over seeds with its bootstrap interval at every timestep all runs evaluated.

    Args:
        run_dirs: Run folders of one configuration (one per training seed), or parents of
            ``seed*`` folders (`expand_runs`).
        source: `EVALUATIONS` (validation returns) or a tensorboard scalar tag.
        reps: Bootstrap replicates per timestep.
        confidence: Interval level.

    Returns:
        pandas DataFrame with columns ``timesteps``, ``runs``, ``episodes`` (per run), ``mean``,
        ``low``, ``high`` (NaN bounds where there is nothing to resample), sorted by timesteps.

    Raises:
        ValueError: the runs share no timestep (different ``eval_freq`` or ``n_envs``), or
            evaluated different numbers of episodes at one.
        FileNotFoundError: a run without evaluations (see `read_evaluations`).
    """
    import pandas as pd

    from qec_gym.eval.aggregate import mean

    runs = expand_runs(run_dirs)
    per_run = [read_evaluations(r) if source == EVALUATIONS else _read_tag(r, source) for r in runs]
    common = sorted(set.intersection(*(set(p) for p in per_run)))
    if not common:
        raise ValueError(f"runs {[str(r) for r in runs]} share no evaluated timestep: compare runs of one "
                         "configuration (same eval_freq and n_envs).")
    rows = []
    rng = np.random.default_rng(0)  # tables and figures reproduce
    for t in common:
        lengths = {len(p[t]) for p in per_run}
        if len(lengths) != 1:
            raise ValueError(f"at timestep {t} the runs evaluated {sorted(lengths)} episodes: compare runs of one "
                             "configuration (same eval_episodes).")
        scores = np.array([p[t] for p in per_run])[:, :, None]  # (runs, episodes, 1 task)
        interval = mean(scores, reps=reps, confidence=confidence, rng=rng)
        rows.append({"timesteps": t, "runs": len(runs), "episodes": scores.shape[1],
                     "mean": interval.mean, "low": interval.low, "high": interval.high})
    return pd.DataFrame(rows)


def plot_curves(curves: Mapping[str, object], path: str | pathlib.Path, *, title: str | None = None,
                ylabel: str = "validation return") -> pathlib.Path:
    """One line per group (mean over seeds) with its interval band; writes a PNG, returns its path.

    Args:
        curves: Group label -> `learning_curve` DataFrame.
        path: PNG to write (folders created).

    Raises:
        ValueError: no curves.
    """
    from qec_gym.sim.plots import new_figure, save_figure

    if not curves:
        raise ValueError("no learning curves to plot: pass at least one group of run folders.")
    fig, (ax,) = new_figure(figsize=(6.5, 4.2))
    for label, df in curves.items():
        runs = int(df["runs"].iloc[0])
        line = ax.plot(df["timesteps"], df["mean"], label=f"{label} ({runs} seeds)")[0]
        ax.fill_between(df["timesteps"], df["low"], df["high"], color=line.get_color(), alpha=0.25, linewidth=0)
    ax.set_xlabel("environment steps")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "Learning curves: mean over training seeds, 95% stratified bootstrap band", fontsize=9)
    return save_figure(fig, path)
