"""Aggregate RL metrics over training seeds and episodes (Agarwal et al. 2021, "Deep RL at the
edge of the statistical precipice", NeurIPS; the `rliable` library).

The unit of an RL result is a *training seed* (a run). Each run is evaluated on several episodes of
several scenarios (tasks). Scores are held as an array ``(runs, episodes, tasks)``; a baseline that
is not trained has one run. Point estimates come from ``rliable.metrics`` (interquartile mean,
probability of improvement). Their intervals come from a two-stage stratified bootstrap written
here: per task, resample runs with replacement, then each drawn run's episodes with replacement.
The probability of improvement follows the paper's definition, on runs (a run's score is its mean
over episodes); because every policy is evaluated on the same episode seeds (common random numbers),
its interval resamples the shared episodes jointly for both groups (`probability_of_improvement`).
(``rliable.library.get_interval_estimates`` would do the first stage, but it needs ``arch``, whose
releases that import with pandas 3 no longer accept rliable's ``random_state`` argument.)

Scores are made comparable across scenarios by `normalize`: 0 is a low reference (e.g. the best
fixed configuration) on each scenario, and 1 its mean gap to a high one (the clairvoyant oracle).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(1.0, 0.1, size=(5, 4, 3))   # 5 seeds x 4 episodes x 3 scenarios
    >>> b = rng.normal(0.0, 0.1, size=(1, 4, 3))   # a baseline: one run
    >>> iqm(a).mean > 0.9, probability_of_improvement(a, b).mean
    (True, 1.0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from qec_gym.eval.stats import Interval


def _as_scores(scores) -> np.ndarray:
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim == 2:  # (runs, tasks): one episode per run
        x = x[:, None, :]
    if x.ndim != 3 or 0 in x.shape:
        raise ValueError(f"scores must have shape (runs, episodes, tasks) with none empty, got {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("scores contain NaN or inf: drop unfinished episodes before aggregating.")
    return x


def _resample(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One two-stage stratified bootstrap draw of ``x`` (runs, episodes, tasks)."""
    n_r, n_e, n_t = x.shape
    runs = rng.integers(n_r, size=(n_r, n_t))  # per task, which runs
    eps = rng.integers(n_e, size=(n_r, n_e, n_t))  # per drawn run and task, which episodes
    task = np.broadcast_to(np.arange(n_t), (n_r, n_e, n_t))
    return x[runs[:, None, :], eps, task]


def bootstrap(
    statistic: Callable[..., float],
    *scores,
    reps: int = 2000,
    confidence: float = 0.95,
    rng: np.random.Generator | None = None,
) -> Interval:
    """Percentile interval of ``statistic(*scores)`` by the two-stage stratified bootstrap.

    Args:
        statistic: Function of one or more score arrays ``(runs, episodes, tasks)``.
        *scores: The arrays; each is resampled independently (two groups are independent samples).
        reps: Bootstrap replicates.
        confidence: Two-sided level.
        rng: Source of the resampling draws (default: seeded 0, so tables reproduce).

    Returns:
        `Interval` with ``n`` = the number of runs x episodes of the first array. With a single
        run and a single episode there is nothing to resample: the interval is NaN.
    """
    xs = [_as_scores(s) for s in scores]
    point = float(statistic(*xs))
    n = xs[0].shape[0] * xs[0].shape[1]
    if all(x.shape[0] * x.shape[1] == 1 for x in xs):
        return Interval(point, float("nan"), float("nan"), n)
    rng = np.random.default_rng(0) if rng is None else rng
    draws = np.array([statistic(*(_resample(x, rng) for x in xs)) for _ in range(reps)])
    lo, hi = np.quantile(draws, [(1 - confidence) / 2, (1 + confidence) / 2])
    return Interval(point, float(lo), float(hi), n)


def _flat(x: np.ndarray) -> np.ndarray:
    """(runs, episodes, tasks) -> (runs x episodes, tasks), rliable's (runs, tasks) layout."""
    return x.reshape(-1, x.shape[2])


def iqm(scores, **kwargs) -> Interval:
    """Interquartile mean of all scores (rliable's ``aggregate_iqm``) with its bootstrap interval."""
    from rliable import metrics

    return bootstrap(lambda x: metrics.aggregate_iqm(_flat(x)), scores, **kwargs)


def mean(scores, **kwargs) -> Interval:
    """Mean of all scores with its bootstrap interval."""
    return bootstrap(lambda x: float(x.mean()), scores, **kwargs)


def _run_means(x: np.ndarray) -> np.ndarray:
    """(runs, episodes, tasks) -> (runs, tasks): each run's score on a task, its mean over episodes."""
    return x.mean(axis=1)


def _resample_paired(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One bootstrap draw of two groups evaluated on the same episodes (a crossed runs x episodes
    design): per task, each group's runs are resampled on their own (independent training runs),
    and one draw of episode indices is shared by every run of both groups, so common random numbers
    stay paired."""
    n_e, n_t = x.shape[1], x.shape[2]
    eps = rng.integers(n_e, size=(n_e, n_t))
    task = np.broadcast_to(np.arange(n_t), (n_e, n_t))

    def draw(z):
        runs = rng.integers(z.shape[0], size=(z.shape[0], n_t))
        return z[runs[:, None, :], eps[None], task[None]]

    return draw(x), draw(y)


def probability_of_improvement(scores_x, scores_y, *, paired: bool = True, reps: int = 2000,
                               confidence: float = 0.95, rng: np.random.Generator | None = None) -> Interval:
    """P(X > Y) as defined by Agarwal et al. (2021, eq. 2; rliable's ``probability_of_improvement``):
    per task, the Mann-Whitney probability that a *run* of X scores above a run of Y (ties count
    half), a run's score on a task being its mean over the evaluation episodes; averaged over tasks.

    Args:
        scores_x, scores_y: ``(runs, episodes, tasks)``; a baseline that is not trained has one run.
        paired: The two groups were evaluated on the same episodes (same episode seeds, common
            random numbers), episode ``e`` of task ``t`` being the same draw for both. The interval
            then resamples episode indices jointly for both groups (runs independently per group),
            which keeps the pairing. ``False``: the groups' episodes are independent and each group
            is resampled on its own (`bootstrap`).
        reps, confidence, rng: As in `bootstrap`.

    Returns:
        `Interval` of P(X > Y) in [0, 1].

    Raises:
        ValueError: the groups cover different numbers of tasks, or ``paired`` with different
            numbers of episodes (pass ``paired=False`` when the episodes are not shared).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> episode = rng.normal(0, 10, size=(1, 20, 2))   # shared episode difficulty, large
        >>> x = episode + 1 + rng.normal(0, 0.1, size=(5, 20, 2))
        >>> float(probability_of_improvement(x, episode, reps=200).low)   # paired: resolved
        1.0
    """
    from rliable import metrics

    x, y = _as_scores(scores_x), _as_scores(scores_y)
    if x.shape[2] != y.shape[2]:
        raise ValueError(f"X and Y cover {x.shape[2]} and {y.shape[2]} tasks: compare them on the same scenarios.")

    def stat(a, b):
        return metrics.probability_of_improvement(_run_means(a), _run_means(b))

    if not paired:
        return bootstrap(stat, x, y, reps=reps, confidence=confidence, rng=rng)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"paired comparison needs the same episodes for both groups, got {x.shape[1]} and {y.shape[1]} "
            "episodes per task: evaluate both on the same episode seeds, or pass paired=False.")
    point = float(stat(x, y))
    n = x.shape[0] * x.shape[1]
    if x.shape[0] * x.shape[1] == 1 and y.shape[0] * y.shape[1] == 1:
        return Interval(point, float("nan"), float("nan"), n)
    rng = np.random.default_rng(0) if rng is None else rng
    draws = np.array([stat(*_resample_paired(x, y, rng)) for _ in range(reps)])
    lo, hi = np.quantile(draws, [(1 - confidence) / 2, (1 + confidence) / 2])
    return Interval(point, float(lo), float(hi), n)


def performance_profile(scores, taus: Sequence[float]) -> np.ndarray:
    """Fraction of (run, episode, task) scores above each threshold in ``taus``; shape ``(len(taus),)``."""
    x = _as_scores(scores).ravel()
    return np.array([(x > t).mean() for t in taus])


def score_array(df, *, policy: str, scenarios: Sequence[str], metric: str = "return", run_column: str = "train_seed"):
    """Tidy results -> ``(runs, episodes, tasks)`` for one policy group.

    Args:
        df: One row per episode with columns ``policy``, ``scenario``, ``seed`` (episode seed),
            ``metric`` and optionally ``run_column`` (training seed; absent or NaN: one run).
        policy: The group's name in ``df.policy``.
        scenarios: Task order.

    Raises:
        ValueError: the group has no rows, or its runs did not all finish the same episodes.
    """
    sub = df[df.policy == policy]
    if sub.empty:
        raise ValueError(f"no results for policy {policy!r}; have {sorted(df.policy.unique())}.")
    runs = sorted(sub[run_column].dropna().unique()) if run_column in sub else []
    seeds = sorted(sub.seed.unique())
    out = np.full((max(1, len(runs)), len(seeds), len(scenarios)), np.nan)
    for (r, run) in enumerate(runs or [None]):
        rows = sub if run is None else sub[sub[run_column] == run]
        table = rows.pivot_table(index="seed", columns="scenario", values=metric, aggfunc="mean")
        out[r] = table.reindex(index=seeds, columns=list(scenarios)).to_numpy()
    if np.isnan(out).any():
        raise ValueError(
            f"policy {policy!r} lacks some (run, scenario, seed) episodes: finish the evaluation "
            "(re-run the same command resumes it) before aggregating."
        )
    return out


def normalize(df, *, low: str, high: str, metric: str = "return"):
    """``df`` with ``metric`` rescaled so that policy ``low`` scores 0 on every scenario and the
    unit is the mean gap from ``low`` to ``high`` over scenarios; the result goes to column
    ``normalized``. (Per-scenario offsets keep tasks comparable; one pooled scale keeps a scenario
    where the two references tie, e.g. a calm one, from dividing by zero.)

    Raises:
        ValueError: a reference policy is missing, or the two references tie on average.
    """
    ref = df[df.policy.isin([low, high])].groupby(["policy", "scenario"])[metric].mean().unstack(0)
    for p in (low, high):
        if p not in ref:
            raise ValueError(f"normalisation needs results for {p!r}; have {sorted(df.policy.unique())}.")
    missing = sorted(set(df.scenario) - set(ref.dropna().index))
    if missing:
        raise ValueError(f"{low!r} and {high!r} lack results on scenarios {missing}: evaluate them there too.")
    scale = float((ref[high] - ref[low]).mean())
    if abs(scale) < 1e-12:
        raise ValueError(f"{low!r} and {high!r} score the same on average: pick references that differ.")
    out = df.copy()
    out["normalized"] = (df[metric] - df.scenario.map(ref[low])) / scale
    return out


def aggregate_table(
    df,
    groups: Mapping[str, Sequence[str]],
    *,
    low: str,
    high: str,
    compare_to: Sequence[str] = (),
    reps: int = 2000,
    confidence: float = 0.95,
):
    """One row per policy group: IQM of normalised return, mean return, and probability of
    improvement over each group in ``compare_to`` (paired on the shared episodes), all with
    two-stage stratified bootstrap intervals.

    Args:
        df: Harness results (one row per episode: ``policy``, ``scenario``, ``seed``, ``return``).
        groups: Group name -> the policies that are its runs (one per training seed; a baseline
            group has one policy).
        low, high: Policies whose per-scenario mean return defines normalised 0 and 1 (`normalize`).
        compare_to: Group names to report P(this group > that group) against.

    Returns:
        pandas DataFrame with columns ``group``, ``runs``, ``episodes``, ``iqm``, ``iqm_low``,
        ``iqm_high``, ``mean_return``, ``mean_return_low``, ``mean_return_high`` and
        ``poi_vs_<g>``, ``poi_vs_<g>_low``, ``poi_vs_<g>_high`` per compared group.

    Raises:
        ValueError: a group names no policy, a policy lacks results, or two compared groups were
            evaluated on different episodes.
    """
    import pandas as pd

    missing = [g for g in compare_to if g not in groups]
    if missing:
        raise ValueError(f"compare_to names groups {missing} that are not in groups {sorted(groups)}.")
    normed = normalize(df, low=low, high=high)
    scenarios = sorted(normed.scenario.unique())
    arrays, returns, episodes = {}, {}, {}
    for name, members in groups.items():
        if not members:
            raise ValueError(f"group {name!r} has no policies.")
        episodes[name] = frozenset(map(tuple, normed.loc[normed.policy.isin(members), ["scenario", "seed"]].to_numpy()))
        tidy = normed[normed.policy.isin(members)].assign(
            train_seed=lambda d: d.policy.map({m: i for i, m in enumerate(members)}), policy=name)
        arrays[name] = score_array(tidy, policy=name, scenarios=scenarios, metric="normalized")
        returns[name] = score_array(tidy, policy=name, scenarios=scenarios, metric="return")
    rows = []
    for name, x in arrays.items():
        q, m = iqm(x, reps=reps, confidence=confidence), mean(returns[name], reps=reps, confidence=confidence)
        row = {"group": name, "runs": x.shape[0], "episodes": x.shape[0] * x.shape[1] * x.shape[2],
               "iqm": q.mean, "iqm_low": q.low, "iqm_high": q.high,
               "mean_return": m.mean, "mean_return_low": m.low, "mean_return_high": m.high}
        for other in compare_to:
            if other != name:
                if episodes[name] != episodes[other]:
                    raise ValueError(
                        f"groups {name!r} and {other!r} were evaluated on different (scenario, seed) episodes; "
                        "the probability of improvement pairs them: evaluate both on the same episode seeds.")
                p = probability_of_improvement(returns[name], returns[other], reps=reps, confidence=confidence)
                row.update({f"poi_vs_{other}": p.mean, f"poi_vs_{other}_low": p.low, f"poi_vs_{other}_high": p.high})
        rows.append(row)
    return pd.DataFrame(rows).sort_values("iqm", ascending=False).reset_index(drop=True)
