"""Figures of stored evaluation results (PNG): they read the harness's CSVs and tensorboard
events, never re-simulate.

Every function takes the results as a DataFrame or as the path of the CSV that
`qec_gym.eval.evaluate` wrote (so each figure can be redrawn with a one-line command), writes one
PNG and returns its path. matplotlib is imported inside the functions and draws on an Agg canvas
directly (no pyplot, no global backend switch): importing this module is free and plotting works
headless. Each policy keeps its colour across figures (colours follow the sorted policy names).

Example:
    >>> import tempfile, pathlib, pandas as pd
    >>> df = pd.DataFrame([dict.fromkeys(COLUMNS, 0) | {"policy": p, "scenario": "s", "seed": k, "return": r + k}
    ...                    for p, r in (("a", 1.0), ("b", 1.5)) for k in range(3)])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = plot_policy_comparison(df, pathlib.Path(tmp) / "p.png", reference="a")
    ...     out.name, out.stat().st_size > 1000
    ('p.png', True)
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from qec_gym.eval.harness import COLUMNS, TRACE_COLUMNS, TRACE_FIELDS, TRACE_KEY, read_results_file
from qec_gym.sim import csvstore
from qec_gym.sim.plots import new_figure, save_figure

if TYPE_CHECKING:  # pandas is imported inside the functions
    import pandas as pd

LEARNING_TAGS = ("rollout/ep_rew_mean", "qec/eval_return", "qec/eval_regret")
"""Tensorboard scalars drawn by `plot_learning_curves` by default."""

_TAG_LABELS = {
    "rollout/ep_rew_mean": "training episode return (rollout/ep_rew_mean)",
    "qec/eval_return": "validation return (qec/eval_return)",
    "qec/eval_regret": "regret to clairvoyant (qec/eval_regret)",
}


# ---------------------------------------------------------------------------- reading
def read_results(results: str | pathlib.Path | pd.DataFrame) -> pd.DataFrame:
    """The results of one env and version as a DataFrame, validated.

    Args:
        results: Path of a results CSV written by `qec_gym.eval.evaluate`, or its DataFrame.

    Raises:
        FileNotFoundError: no file at the path.
        ValueError: not a results file (columns missing, unreadable, empty), or results of
            several envs / env versions mixed in one file.

    Example:
        >>> read_results("no/such/results.csv")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no results at no/such/results.csv; run `qec-gym eval --out no/such/results.csv` first.
    """
    import pandas as pd

    if isinstance(results, pd.DataFrame):
        df, where = results, "the results"
    else:
        path = pathlib.Path(results)
        if not path.is_file():
            raise FileNotFoundError(f"no results at {path}; run `qec-gym eval --out {path}` first.")
        # One row per resume key, damaged lines skipped (warned), old formats refused.
        df = pd.DataFrame(read_results_file(path), columns=list(COLUMNS))
        where = str(path)
    missing = [c for c in ("policy", "scenario", "seed", "return") if c not in df.columns]
    if missing:
        raise ValueError(f"{where} lacks columns {missing} (expected {list(COLUMNS)}): not a qec-gym results file.")
    if df.empty:
        raise ValueError(f"{where} holds no episodes; run `qec-gym eval` to fill it.")
    if "env_id" in df.columns and "env_version" in df.columns:
        envs = sorted({(str(e), str(v)) for e, v in zip(df.env_id, df.env_version)})
        if len(envs) > 1:
            raise ValueError(
                f"{where} mixes results of {len(envs)} envs/versions {envs}: results of different environments "
                "or versions are not comparable; split the file by env_id/env_version and report each."
            )
    return df


def read_traces(traces: str | pathlib.Path | pd.DataFrame) -> pd.DataFrame:
    """Step-level traces (``<results>.traces.csv``) as a DataFrame, validated.

    Raises:
        FileNotFoundError: no file at the path.
        ValueError: columns missing or no rows.
    """
    import pandas as pd

    if isinstance(traces, pd.DataFrame):
        df, where = traces, "the traces"
    else:
        path = pathlib.Path(traces)
        if not path.is_file():
            raise FileNotFoundError(
                f"no traces at {path}; `qec-gym eval` writes them next to the results (<results>.traces.csv)."
            )
        df, where = pd.DataFrame(csvstore.read_rows(path, TRACE_FIELDS, key=TRACE_KEY), columns=list(TRACE_COLUMNS)), str(path)
    missing = [c for c in TRACE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{where} lacks columns {missing}: not a qec-gym traces file.")
    if df.empty:
        raise ValueError(f"{where} holds no steps.")
    return df


def policy_colours(policies: Iterable[str]) -> dict[str, tuple]:
    """A fixed colour per policy name (sorted names -> tab10/tab20), the same in every figure.

    Example:
        >>> c = policy_colours(["b", "a"])
        >>> c["a"] != c["b"], len(c["a"])
        (True, 4)
    """
    import matplotlib

    names = sorted(set(policies))
    cmap = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


# ---------------------------------------------------------------------------- figures
def plot_policy_comparison(
    results,
    path: str | pathlib.Path,
    *,
    reference: str | None = None,
    confidence: float = 0.95,
    title: str | None = None,
) -> pathlib.Path:
    """Mean episode return per policy with its confidence interval (`summarize`); with a
    ``reference``, a second panel shows the paired difference to it, whose interval is much
    tighter (every policy faced the same noise trajectories).

    Args:
        results: Results DataFrame or CSV path.
        path: PNG to write (parent folders are created).
        reference: Policy to difference against (ignored when absent from the results).
        confidence: Confidence of the intervals.
        title: Figure title.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    from qec_gym.eval.stats import summarize

    df = read_results(results)
    ref = reference if reference in set(df.policy) else None
    table = summarize(df, reference=ref, oracle=None, confidence=confidence)
    colours = policy_colours(df.policy)
    panels = 2 if ref is not None and len(table) > 1 else 1
    fig, axes = new_figure(1, panels, figsize=(5.2 * panels, 0.42 * len(table) + 1.6))
    names = list(table.policy)[::-1]  # best at the top
    y = range(len(names))
    rows = table.set_index("policy")
    ax = axes[0]
    means = [rows.loc[n, "return"] for n in names]
    err = _err([rows.loc[n, "return_low"] for n in names], means, [rows.loc[n, "return_high"] for n in names])
    ax.barh(list(y), means, xerr=err, color=[colours[n] for n in names], capsize=3, alpha=0.85,
            hatch=["//" if n == ref else "" for n in names], edgecolor="black", linewidth=0.5)
    ax.set_yticks(list(y), [f"{n} (ref.)" if n == ref else n for n in names])
    ax.set_xlabel(f"mean episode return, {confidence:.0%} CI (higher is better)")
    ax.axvline(0, color="black", linewidth=0.6)
    _grid(ax, axis="x")
    if panels == 2:
        ax = axes[1]
        others = [n for n in names if n != ref]
        yy = range(len(others))
        diff = [rows.loc[n, "diff_vs_reference"] for n in others]
        err = _err([rows.loc[n, "diff_low"] for n in others], diff, [rows.loc[n, "diff_high"] for n in others])
        ax.barh(list(yy), diff, xerr=err, color=[colours[n] for n in others], capsize=3, alpha=0.85,
                edgecolor="black", linewidth=0.5)
        ax.set_yticks(list(yy), others)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(f"paired return difference vs {ref}, {confidence:.0%} CI")
        _grid(ax, axis="x")
    fig.suptitle(title or "Policy comparison", fontsize=11)
    return save_figure(fig, path)


def plot_regret(
    results,
    path: str | pathlib.Path,
    *,
    oracle: str = "clairvoyant",
    confidence: float = 0.95,
    title: str | None = None,
) -> pathlib.Path:
    """Regret to the oracle per policy (oracle's return minus the policy's, paired by episode)
    with its confidence interval; lower is better, 0 is the oracle.

    Raises:
        ValueError: ``oracle`` is not among the results' policies.
    """
    from qec_gym.eval.stats import summarize

    df = read_results(results)
    if oracle not in set(df.policy):
        raise ValueError(f"oracle policy {oracle!r} is not in the results (policies: {sorted(df.policy.unique())}); "
                         "evaluate it too, or name another oracle.")
    table = summarize(df, reference=None, oracle=oracle, confidence=confidence)
    table = table[table.policy != oracle].sort_values("regret", ascending=False)
    if table.empty:
        raise ValueError(f"the results hold only the oracle {oracle!r}: there is nothing to compare with it.")
    colours = policy_colours(df.policy)
    fig, axes = new_figure(1, 1, figsize=(6.4, 0.42 * len(table) + 1.6))
    ax = axes[0]
    names = list(table.policy)
    reg = list(table.regret)
    ax.barh(range(len(names)), reg, xerr=_err(list(table.regret_low), reg, list(table.regret_high)),
            color=[colours[n] for n in names], capsize=3, alpha=0.85, edgecolor="black", linewidth=0.5)
    ax.set_yticks(range(len(names)), names)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"regret to {oracle} per episode, {confidence:.0%} CI (lower is better)")
    _grid(ax, axis="x")
    ax.set_title(title or f"Regret to the {oracle} oracle", fontsize=11)
    return save_figure(fig, path)


def plot_scenarios(
    results,
    path: str | pathlib.Path,
    *,
    confidence: float = 0.95,
    title: str | None = None,
) -> pathlib.Path:
    """Per-scenario breakdown: one panel per scenario (returns differ in scale between
    scenarios), mean return per policy with its confidence interval; policies in the same order
    (overall mean, best at the top) in every panel."""
    from qec_gym.eval.stats import by_scenario

    df = read_results(results)
    table = by_scenario(df, confidence=confidence)
    order = list(df.groupby("policy")["return"].mean().sort_values().index)  # worst first: best on top
    scenarios = sorted(table.scenario.unique())
    colours = policy_colours(df.policy)
    ncols = min(3, len(scenarios))
    nrows = math.ceil(len(scenarios) / ncols)
    fig, axes = new_figure(nrows, ncols, figsize=(4.3 * ncols, (0.36 * len(order) + 1.3) * nrows))
    for ax, scenario in zip(axes, scenarios):
        sub = table[table.scenario == scenario].set_index("policy")
        names = [n for n in order if n in sub.index]
        means = [sub.loc[n, "return"] for n in names]
        err = _err([sub.loc[n, "low"] for n in names], means, [sub.loc[n, "high"] for n in names])
        ax.barh(range(len(names)), means, xerr=err, color=[colours[n] for n in names], capsize=2, alpha=0.85,
                edgecolor="black", linewidth=0.5)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.axvline(0, color="black", linewidth=0.6)
        n_eps = int(sub["n"].max())
        ax.set_title(f"{scenario} ({n_eps} episodes)", fontsize=9)
        ax.set_xlabel(f"mean return, {confidence:.0%} CI", fontsize=8)
        _grid(ax, axis="x")
    for ax in axes[len(scenarios):]:
        ax.set_visible(False)
    fig.suptitle(title or "Return per scenario", fontsize=11)
    return save_figure(fig, path)


def plot_trajectories(
    traces,
    path: str | pathlib.Path,
    *,
    scenario: str | None = None,
    seed: int | None = None,
    policies: Sequence[str] | None = None,
    target: float | None = None,
    title: str | None = None,
) -> pathlib.Path:
    """One episode (same scenario and seed, hence the same true noise) as each policy played it.

    Panels, sharing the step axis: the true noise multiplier (black) and each policy's noise
    estimate from its syndromes (the estimate depends on the code it ran); the configuration
    (menu entry) each policy chose; the logical error per round of each window (line: expected
    from the env's table for the chosen entry; dots: the sampled window) against the target.

    Args:
        traces: Traces DataFrame or the ``<results>.traces.csv`` path.
        path: PNG to write.
        scenario: Scenario to show (default: the first, alphabetically).
        seed: Episode seed (default: the smallest seed traced for every shown policy).
        policies: Policies to show (default: all traced).
        target: Logical-error-per-round target, drawn as a horizontal line.
        title: Figure title.

    Raises:
        ValueError: the scenario, seed or a policy is not in the traces.
    """
    df = read_traces(traces)
    scenarios = sorted(df.scenario.unique())
    scenario = scenarios[0] if scenario is None else scenario
    if scenario not in scenarios:
        raise ValueError(f"scenario {scenario!r} is not in the traces; have {scenarios}.")
    sub = df[df.scenario == scenario]
    names = sorted(sub.policy.unique()) if policies is None else list(policies)
    unknown = [n for n in names if n not in set(sub.policy)]
    if unknown:
        raise ValueError(f"policies {unknown} have no trace in scenario {scenario!r}; traced: {sorted(sub.policy.unique())}.")
    if seed is None:
        common = set.intersection(*(set(sub[sub.policy == n].seed) for n in names))
        if not common:
            raise ValueError(f"no seed of {scenario!r} was traced for all of {names}; pass policies= or seed=.")
        seed = int(min(common))
    sub = sub[(sub.seed == seed) & sub.policy.isin(names)]
    missing = [n for n in names if n not in set(sub.policy)]
    if missing:
        raise ValueError(f"seed {seed} of {scenario!r} has no trace for {missing}.")
    colours = policy_colours(df.policy)
    labels = dict(zip(df.entry, df.entry_label))
    fig, axes = new_figure(3, 1, figsize=(9.0, 8.6), sharex=True, height_ratios=(1.0, 1.2, 1.2))
    ax_noise, ax_entry, ax_p = axes
    first = sub[sub.policy == names[0]].sort_values("step")
    ax_noise.plot(first.step, first.true_multiplier, color="black", linewidth=2.0, label="true multiplier")
    spread = 0.5 / max(1, len(names))
    for k, name in enumerate(names):
        tr = sub[sub.policy == name].sort_values("step")
        c = colours[name]
        ax_noise.plot(tr.step, tr.noise_estimate, color=c, linewidth=0.9, alpha=0.8, linestyle="--")
        offset = (k - (len(names) - 1) / 2) * spread
        ax_entry.step(tr.step, tr.entry + offset, where="post", color=c, linewidth=1.3, label=name)
        ax_p.plot(tr.step, tr.expected_p_round, color=c, linewidth=1.2)
        sampled = tr[tr.p_round > 0]
        ax_p.scatter(sampled.step, sampled.p_round, color=c, s=6, alpha=0.35, linewidths=0)
    ax_noise.set_yscale("log")
    _plain_log_ticks(ax_noise)
    ax_noise.set_ylabel("noise multiplier")
    ax_noise.plot([], [], color="gray", linestyle="--", label="policies' estimates")
    ax_noise.legend(fontsize=7, loc="upper right")
    used = sorted(set(sub.entry))
    ax_entry.set_yticks(used, [labels.get(e, str(e)) for e in used], fontsize=7)
    ax_entry.set_ylim(min(used) - 0.6, max(used) + 0.6)
    ax_entry.set_ylabel("configuration")
    ax_entry.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if target is not None:
        line = ax_p.axhline(target, color="tab:red", linestyle=":", linewidth=1.5)
        ax_p.legend([line], [f"target {target:g}"], fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax_p.set_yscale("log")
    ax_p.set_ylabel("logical error per round")
    ax_p.set_xlabel("step (window)")
    for ax in axes:
        _grid(ax)
    fig.suptitle(title or f"Trajectories: {scenario}, seed {seed}", fontsize=11)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------- learning curves
def read_scalars(run_dir: str | pathlib.Path, tags: Sequence[str] | None = None) -> dict[str, tuple[list[int], list[float]]]:
    """Scalars of a training run folder's tensorboard events (``<run>/tb/*/events.*``).

    Event files of one run (several after a resume, possibly in several sub-folders) are merged
    by step; where two files hold the same step, the later file wins.

    Args:
        run_dir: A run folder written by `qec_gym.training.train` (or its ``tb`` folder).
        tags: Tags to read (default: every scalar tag).

    Returns:
        tag -> (steps, values), steps increasing; tags absent from the events are left out.

    Raises:
        FileNotFoundError: no tensorboard event file under the folder.
        ImportError: tensorboard is not installed (with the install hint).
    """
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise ImportError("learning curves need tensorboard: pip install tensorboard (or qec-gym[rl]).") from e
    run = pathlib.Path(run_dir)
    files = sorted(run.rglob("events.out.tfevents.*"))
    if not files:
        raise FileNotFoundError(f"no tensorboard events under {run}; is it a run folder from `qec-gym train`?")
    merged: dict[str, dict[int, float]] = {}
    for folder in sorted({f.parent for f in files}):
        # size_guidance 0 = keep every point (the default keeps a reservoir sample of 10,000).
        acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            if tags is not None and tag not in tags:
                continue
            points = merged.setdefault(tag, {})
            for ev in acc.Scalars(tag):
                points[int(ev.step)] = float(ev.value)
    return {tag: (sorted(p), [p[s] for s in sorted(p)]) for tag, p in merged.items()}


def run_label(run_dir: str | pathlib.Path) -> str:
    """A short label of a run folder: ``<algo> s<seed> (<folder>)`` from its ``run.json``."""
    import json

    run = pathlib.Path(run_dir)
    try:
        meta = json.loads((run / "run.json").read_text())
        return f"{meta.get('algo', '?')} s{meta.get('seed', '?')} ({run.name})"
    except (OSError, ValueError):
        return run.name


def plot_learning_curves(
    run_dirs: Sequence[str | pathlib.Path] | str | pathlib.Path,
    path: str | pathlib.Path,
    *,
    tags: Sequence[str] = LEARNING_TAGS,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
) -> pathlib.Path:
    """Learning curves of training runs: one panel per tag, one line per run (x: env steps).

    Args:
        run_dirs: Run folders (`qec_gym.training.train`).
        path: PNG to write.
        tags: Scalar tags, one panel each (default `LEARNING_TAGS`); a tag no run logged is
            shown as an empty panel saying so.
        labels: Run folder -> legend label (default `run_label`).
        title: Figure title.

    Raises:
        ValueError: no run folders given.
        FileNotFoundError: a folder without tensorboard events.
    """
    if isinstance(run_dirs, (str, pathlib.Path)):
        run_dirs = [run_dirs]
    run_dirs = list(run_dirs)
    if not run_dirs:
        raise ValueError("no run folders given: pass the folders that `qec-gym train --out` wrote.")
    from matplotlib.ticker import FuncFormatter

    data = {str(r): read_scalars(r, tags) for r in run_dirs}
    fig, axes = new_figure(1, len(tags), figsize=(4.4 * len(tags), 3.6))
    for ax, tag in zip(axes, tags):
        drawn = 0
        for r in run_dirs:
            if tag in data[str(r)]:
                steps, values = data[str(r)][tag]
                label = (labels or {}).get(str(r)) or run_label(r)
                ax.plot(steps, values, marker="o" if len(steps) < 30 else None, markersize=3, linewidth=1.3, label=label)
                drawn += 1
        if not drawn:
            ax.text(0.5, 0.5, f"{tag}\nnot logged", ha="center", va="center", transform=ax.transAxes, fontsize=9)
        ax.set_title(_TAG_LABELS.get(tag, tag), fontsize=9)
        ax.set_xlabel("environment steps")
        ax.xaxis.set_major_formatter(FuncFormatter(_si))
        if tag == "qec/eval_regret":
            ax.axhline(0, color="black", linewidth=0.6)
        _grid(ax)
        if drawn:
            ax.legend(fontsize=7)
    fig.suptitle(title or "Learning curves", fontsize=11)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------- helpers
def _si(x: float, _pos=None) -> str:
    """Axis label 150000 -> '150k' (long step counts otherwise overlap)."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:g}{suffix}"
    return f"{x:g}"


def _plain_log_ticks(ax, which: str = "y") -> None:
    """Ticks at 1, 2, 3, 5 x 10^k labelled as plain numbers (a log axis over one decade or so
    otherwise gets labels such as 6 x 10^0)."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    axis = ax.yaxis if which == "y" else ax.xaxis
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    axis.set_minor_locator(LogLocator(base=10, subs=(4.0, 6.0, 7.0, 8.0, 9.0)))
    axis.set_major_formatter(FormatStrFormatter("%g"))
    axis.set_minor_formatter(FormatStrFormatter(""))


def _err(low, mid, high) -> list[list[float]]:
    """matplotlib's asymmetric error bars from interval bounds (never negative)."""
    # NaN (no interval: one episode) stays NaN, so no error bar is drawn rather than a zero-width one.
    def half(a: float, b: float) -> float:
        return math.nan if math.isnan(a) or math.isnan(b) else max(0.0, b - a)

    return [[half(lo, m) for lo, m in zip(low, mid)], [half(m, hi) for m, hi in zip(mid, high)]]


def _grid(ax, axis: str = "both") -> None:
    ax.grid(True, axis=axis, which="major", alpha=0.3)


def plot_drift_stability(
    table: pd.DataFrame,
    path: str | pathlib.Path,
    *,
    title: str | None = None,
) -> pathlib.Path:
    """Drift-stability ratio per policy with its interval, one panel per env
    (`qec_gym.eval.drift_stability.drift_stability`; log scale, 1 = as stable as best fixed).

    Args:
        table: `drift_stability` rows with an ``env`` column and optionally a ``metric`` column
            (one marker per metric, e.g. logical error and return).
        path: PNG to write.
        title: Figure title.

    The axis ends at 10 at most: a larger (or infinite: the policy shows no excess) ratio or upper
    bound is drawn at the panel's right edge with an arrow; a NaN ratio (the reference is not hurt by drift) is written as "n/a".

    Raises:
        ValueError: ``table`` lacks ``env``, ``policy``, ``ratio``, ``ratio_low`` or ``ratio_high``.

    Example:
        >>> import tempfile, pathlib, pandas as pd
        >>> t = pd.DataFrame({"env": ["A", "A"], "policy": ["best_fixed", "p"], "ratio": [1.0, float("inf")],
        ...                   "ratio_low": [1.0, 2.0], "ratio_high": [1.0, float("inf")]})
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     plot_drift_stability(t, pathlib.Path(tmp) / "d.png").stat().st_size > 1000
        True
    """
    import numpy as np

    missing = sorted({"env", "policy", "ratio", "ratio_low", "ratio_high"} - set(table.columns))
    if missing:
        raise ValueError(f"drift-stability table lacks columns {missing}: pass drift_stability() rows with an 'env' column.")
    table = table.assign(metric=table["metric"] if "metric" in table else "ratio")
    envs = list(dict.fromkeys(table.env))
    metrics = list(dict.fromkeys(table.metric))
    finite = table[["ratio", "ratio_low", "ratio_high"]].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    lo = min(0.3, float(finite.min()) / 1.5) if finite.size else 0.3
    hi = min(10.0, max(3.0, float(finite.max()) * 1.5)) if finite.size else 3.0  # beyond: an arrow
    n_pol = max(len(set(table[table.env == e].policy)) for e in envs)
    fig, axes = new_figure(1, len(envs), figsize=(3.6 * len(envs), 0.45 * n_pol + 1.8))
    markers = ("o", "s", "D", "^")
    for ax, env in zip(axes, envs):
        sub = table[table.env == env]
        names = list(dict.fromkeys(sub.policy))[::-1]
        for k, metric in enumerate(metrics):
            rows = sub[sub.metric == metric].set_index("policy")
            offset = (k - (len(metrics) - 1) / 2) * 0.22
            for y, name in enumerate(names):
                if name not in rows.index:
                    continue
                r = rows.loc[name]
                yy = y + offset
                if math.isnan(r.ratio):
                    ax.text(lo * 1.1, yy, "n/a", va="center", fontsize=7, color=f"C{k}")
                    continue
                mid = min(r.ratio, hi)
                left = r.ratio_low if math.isfinite(r.ratio_low) else hi
                right = min(r.ratio_high, hi) if not math.isnan(r.ratio_high) else mid
                ax.plot([max(left, lo), right], [yy, yy], color=f"C{k}", linewidth=1.5)
                ax.plot([mid], [yy], marker=">" if r.ratio > hi else markers[k % len(markers)], color=f"C{k}",
                        linestyle="none", markersize=5, label=metric if y == 0 else None)
                if r.ratio_high > hi:
                    ax.plot([hi], [yy], marker=">", color=f"C{k}", markersize=5)
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        _plain_log_ticks(ax, "x")
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_yticks(range(len(names)), names)
        ax.set_title(env, fontsize=10)
        ax.set_xlabel("best fixed excess / policy excess")
        _grid(ax, axis="x")
    if len(metrics) > 1:
        handles, labels = axes[0].get_legend_handles_labels()
        axes[0].legend(handles, labels, fontsize=7, loc="upper right")
    fig.suptitle(title or "Drift stability: excess caused by drift, best fixed / policy\n"
                 "(> 1: absorbs drift better than the best fixed configuration; 95% CI)", fontsize=10)
    return save_figure(fig, path)
