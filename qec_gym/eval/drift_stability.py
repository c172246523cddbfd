"""Drift stability: how much of the logical error that injected drift causes a policy absorbs.

Google Quantum AI's 2025 RL-control experiment reports that learned calibration made the logical
error ~3.5x more stable against injected drift than the fixed calibration. This module measures
the same figure of merit in qec-gym's envs, for any policy:

* **Calm twin** (`calm_twin`): the scenario with its drift switched off and everything else kept
  (name ``<name>_calm``, same baseline noise, episode length, split, tags). Every drift process
  is wrapped in `Calmed`, which draws exactly the random numbers the process would draw and
  returns multiplier 1. So a calm episode consumes the env's random stream like its drifting
  twin: with common random numbers (the envs' default) the window-outcome stream of a seed is the
  same in both, and drift is the only difference between the paired episodes. Nothing is
  registered: the twins are user `Scenario` (or `CatScenario`) objects, which the envs accept.
* **Logical error of an episode**: the mean over its windows of ``info["expected_p_round"]``, the
  expected logical error per round of the configuration (and calibration) the policy runs in that
  window: the window's binomial sampling noise is integrated out, the policy's decisions are not.
* **Excess** of a policy: logical error(drifting) - logical error(calm), per (scenario, seed)
  pair, averaged over pairs. Same env, menu and reward (the same configuration budget), same seeds.
* **Drift-stability ratio** of policy P: excess(reference) / excess(P), the reference being the
  best fixed configuration; > 1: P absorbs drift better. We bootstrap the *relative excess*
  q = excess(P) / excess(reference) (always defined while the reference is hurt by drift) and
  report the ratio as 1/q with the interval [1/q_high, 1/q_low]; when q's interval reaches 0 or
  below (P shows no excess in some resamples) the upper end is infinite, and when the reference's
  own excess interval reaches 0 the ratio is not reported (NaN): the excesses are always reported.

Intervals: percentile intervals from `qec_gym.eval.aggregate.bootstrap` (stratified by scenario,
episodes resampled within each); the statistic reads every policy's pairs through the same
resampled episode indices, so the comparison stays paired across policies and across the
drifting / calm twins.

Learned policies: policies named ``<name>@<k>`` (the release harness's names of training seed k's
run, e.g. ``ppo@0`` .. ``ppo@4``) form one group ``<name>``, whose excess is the mean over its runs;
its interval resamples the runs too (the unit of an RL result is a training seed, docs/protocol.md),
the episode pairs staying shared between the group and the reference.

Example:
    >>> import numpy as np, pandas as pd
    >>> rows = [{"policy": p, "scenario": "s", "variant": v, "seed": k, "return": 0.0,
    ...          "logical_error": (1.0 + k) * 1e-4 * (1 + (v == "drift") * gain)}
    ...         for p, gain in (("best_fixed", 1.0), ("good", 0.25)) for v in ("drift", "calm") for k in range(4)]
    >>> t = drift_stability(pd.DataFrame(rows), reps=200)
    >>> round(float(t.set_index("policy").loc["good", "ratio"]), 6)
    4.0
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qec_gym.noise.drift import DriftProcess, FieldDrift

__all__ = [
    "CALM_SUFFIX",
    "EPISODE_COLUMNS",
    "Calmed",
    "calm_twin",
    "drift_stability",
    "results_table",
    "run_groups",
    "stability_episodes",
    "write_stability_report",
]

CALM_SUFFIX = "_calm"
"""Appended to a scenario's name to name its calm twin."""

EPISODE_COLUMNS = ("policy", "scenario", "variant", "seed", "steps", "return", "logical_error",
                   "logical_error_sampled", "mean_log10_p_round", "switches", "recalibrations")
"""Columns of `stability_episodes`' DataFrame (``variant``: ``"drift"`` or ``"calm"``;
``scenario``: the drifting scenario's name for both variants; logical errors per round)."""


@dataclass(frozen=True)
class Calmed(DriftProcess):
    """``process`` switched off: multiplier 1 at every step, drawing the same random numbers.

    The draws are made and discarded so that anything sampled after the drift from the same
    Generator (an env's window-outcome stream) is the same as under ``process``.

    Args:
        process: The drift process to silence.

    Raises:
        TypeError: ``process`` is not a `DriftProcess`.

    Example:
        >>> from qec_gym.noise.drift import OrnsteinUhlenbeck
        >>> a, b = np.random.default_rng(1), np.random.default_rng(1)
        >>> ou = OrnsteinUhlenbeck.from_stationary(0.3, 10)
        >>> Calmed(ou).sample(3, a).tolist(), a.random() == (ou.sample(3, b), b.random())[1]
        ([1.0, 1.0, 1.0], True)
    """

    process: DriftProcess

    def __post_init__(self) -> None:
        if not isinstance(self.process, DriftProcess):
            raise TypeError(f"Calmed.process must be a DriftProcess, got {self.process!r}.")

    def _sample(self, n_steps: int, rng: np.random.Generator) -> np.ndarray:
        self.process._sample(n_steps, rng)  # same draws as the drifting twin (common random numbers)
        return np.ones(n_steps)


def calm_twin(scenario: Any, *, suffix: str = CALM_SUFFIX) -> Any:
    """The scenario with its drift switched off: noise held at its baseline, all else kept.

    Args:
        scenario: A `qec_gym.noise.scenarios.Scenario` (field-wise ``drifts``) or a
            `qec_gym.envs.cat_env.CatScenario` (one ``drift``).
        suffix: Appended to the name (the twin is a different scenario and must not share it).

    Returns:
        A copy (``dataclasses.replace``) whose every drift process is `Calmed`; not registered.

    Raises:
        TypeError: an object with neither ``drifts`` nor ``drift``.

    Example:
        >>> from qec_gym.noise.scenarios import get_scenario
        >>> s = get_scenario("ou_drift")
        >>> c = calm_twin(s)
        >>> c.name, c.baseline == s.baseline, {n.p2 for n in c.trajectory(np.random.default_rng(0))} == {s.baseline.p2}
        ('ou_drift_calm', True, True)
    """
    if isinstance(scenario, (str, bytes)) or not dataclasses.is_dataclass(scenario):
        raise TypeError(f"calm_twin needs a Scenario or CatScenario object, got {type(scenario).__name__} "
                        f"{scenario!r}: look a name up with get_scenario(name) (or the env's scenario_registry).")
    name = f"{scenario.name}{suffix}"
    what = f"Calm twin of {scenario.name!r}: its drift switched off (multiplier 1 throughout), baseline kept."
    if isinstance(getattr(scenario, "drifts", None), FieldDrift):
        calm = FieldDrift({key: Calmed(p) for key, p in scenario.drifts.drifts})
        return dataclasses.replace(scenario, name=name, description=what, drifts=calm)
    if isinstance(getattr(scenario, "drift", None), DriftProcess):
        return dataclasses.replace(scenario, name=name, description=what, drift=Calmed(scenario.drift))
    raise TypeError(f"{type(scenario).__name__} {scenario.name!r} has neither a FieldDrift 'drifts' nor a "
                    "DriftProcess 'drift': calm_twin cannot switch its drift off.")


def stability_episodes(
    env_id: str,
    policies: Mapping[str, Any],
    *,
    scenarios: Any = "train",
    seeds: Sequence[int] = tuple(range(10_000, 10_005)),
    env_kwargs: Mapping[str, Any] | None = None,
    progress: Any = None,
):
    """Run every policy on every scenario and its calm twin, paired on the same episode seeds.

    Args:
        env_id: Registered env id.
        policies: Name -> a harness policy spec (``"best_fixed"``, ``"tree:PATH"``, ``"run:DIR"``,
            ... `qec_gym.eval.harness.make_policy`; fitted baselines are fitted on the env's
            training scenarios) or an already built policy with ``predict``.
        scenarios: The drifting scenarios, in any form the env accepts (``"train"``, names,
            objects). Default: the training scenarios; with seeds apart from the fitting seeds
            (the default 10,000..) this is the protocol's validation split (docs/protocol.md).
        seeds: Episode seeds (each scenario x seed is run drifting and calm, by every policy).
        env_kwargs: Extra ``gymnasium.make`` arguments (e.g. ``{"max_steps": 200}``).
        progress: Called with (done, total) episodes after each policy's batch, if given.

    Returns:
        pandas DataFrame with `EPISODE_COLUMNS`, one row per (policy, scenario, variant, seed).

    Raises:
        ValueError: no policy or seed, a spec the harness does not know, a calm-twin name that
            clashes with a registered scenario.
    """
    import pandas as pd

    from qec_gym.eval.harness import EvalConfig, make_policy, run_batch

    if not policies:
        raise ValueError("policies is empty: give at least one name -> spec (e.g. {'best_fixed': 'best_fixed'}).")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one episode seed.")
    kwargs = dict(env_kwargs or {})
    probe = EvalConfig(env_id, scenarios=scenarios, seeds=seeds, env_kwargs=kwargs).make_env()
    try:
        u = probe.unwrapped
        drifting = [u.scenario_registry[n] for n in u.scenario_names]
    finally:
        probe.close()
    twins = [calm_twin(s) for s in drifting]
    of_twin = {t.name: (s.name, "calm") for s, t in zip(drifting, twins)} | {s.name: (s.name, "drift") for s in drifting}
    config = EvalConfig(env_id, scenarios=(*drifting, *twins), seeds=seeds, env_kwargs=kwargs, trace_seeds=seeds)
    episodes = [(name, seed) for name in of_twin for seed in seeds]
    env = config.make_env()
    rows, done, total = [], 0, len(policies) * len(episodes)
    try:
        for name, spec in policies.items():
            policy = make_policy(spec, env) if isinstance(spec, str) else spec
            for row, trace in run_batch(name, config, episodes, policy=policy, env=env):
                base, variant = of_twin[row["scenario"]]
                expected = np.array([t["expected_p_round"] for t in trace])
                sampled = np.array([t["p_round"] for t in trace])
                rows.append({"policy": name, "scenario": base, "variant": variant, "seed": row["seed"],
                             "steps": row["steps"], "return": row["return"], "logical_error": float(expected.mean()),
                             "logical_error_sampled": float(sampled.mean()),
                             "mean_log10_p_round": row["mean_log10_p_round"], "switches": row["switches"],
                             "recalibrations": row["recalibrations"]})
            done += len(episodes)
            if progress is not None:
                progress(done, total)
    finally:
        env.close()
    return pd.DataFrame(rows, columns=list(EPISODE_COLUMNS))


def _paired_excess(df, metric: str) -> tuple[dict[str, np.ndarray], list[str], list[int]]:
    """Policy -> (seeds, scenarios) array of drift - calm ``metric``; the scenario and seed orders."""
    need = {"policy", "scenario", "variant", "seed", metric}
    missing = sorted(need - set(df.columns))
    if missing:
        raise ValueError(f"episodes lack columns {missing}: pass the DataFrame of stability_episodes.")
    scenarios = sorted(df.scenario.unique())
    seeds = sorted(df.seed.unique())
    out = {}
    for policy, sub in df.groupby("policy", sort=False):
        table = sub.pivot_table(index="seed", columns=["variant", "scenario"], values=metric, aggfunc="mean")
        try:
            d = (table["drift"] - table["calm"]).reindex(index=seeds, columns=scenarios).to_numpy()
        except KeyError:
            d = np.full((len(seeds), len(scenarios)), np.nan)
        if np.isnan(d).any():
            raise ValueError(f"policy {policy!r} lacks a drifting or calm episode of some (scenario, seed): every "
                             "pair must be run (stability_episodes runs both).")
        out[str(policy)] = d
    return out, scenarios, seeds


def drift_stability(
    episodes,
    *,
    reference: str = "best_fixed",
    metric: str = "logical_error",
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
):
    """Excess ``metric`` caused by drift per policy and the drift-stability ratio to ``reference``.

    Args:
        episodes: `stability_episodes` output (or any DataFrame with its key columns and ``metric``).
        reference: The policy whose excess is the numerator (the best fixed configuration).
        metric: Per-episode quantity whose drifting - calm difference is the excess; for
            ``"return"`` the sign is flipped (excess = calm - drifting return: what drift costs).
        reps: Bootstrap replicates.
        confidence: Two-sided level of every interval.
        seed: Seed of the bootstrap draws (the same draws for every statistic and policy).

    Returns:
        pandas DataFrame, one row per policy or group of runs (`run_groups`; reference first):
        ``policy`` (the group's name), ``runs``, ``pairs`` (scenario x seed pairs), ``drift``,
        ``calm`` (mean ``metric``), ``excess`` / ``excess_low`` /
        ``excess_high``, ``relative`` / ``relative_low`` / ``relative_high`` (excess / reference
        excess) and ``ratio`` / ``ratio_low`` / ``ratio_high`` (reference excess / excess; ``inf``
        where the policy shows no excess, NaN where the reference's excess interval reaches 0).

    Raises:
        ValueError: ``reference`` or a drifting / calm episode is missing; a policy named like a
            group of runs (`run_groups`).
    """
    import pandas as pd

    from qec_gym.eval.aggregate import bootstrap

    if reference not in set(episodes.policy):
        raise ValueError(f"reference policy {reference!r} has no episodes; have {sorted(set(episodes.policy))}.")
    sign = -1.0 if metric == "return" else 1.0
    excess, scenarios, seeds = _paired_excess(episodes, metric)
    excess = {p: sign * d for p, d in excess.items()}
    n_e, n_t = len(seeds), len(scenarios)
    # The bootstrap resamples this index array (stratified by scenario); each statistic reads every
    # policy's pairs through it, so all draws stay paired across policies.
    index = (np.arange(n_e)[:, None] * n_t + np.arange(n_t)[None, :]).astype(np.float64)[None]

    def interval(stat):
        return bootstrap(lambda x: stat(x[0].astype(np.int64)), index, reps=reps, confidence=confidence,
                         rng=np.random.default_rng(seed))

    def group_interval(stat, n_runs):
        # pairs as above, and the group's runs resampled by a second array (runs, 1, 1)
        runs = np.arange(n_runs, dtype=np.float64)[:, None, None]
        return bootstrap(lambda x, r: stat(x[0].astype(np.int64), r.ravel().astype(np.int64)), index, runs,
                         reps=reps, confidence=confidence, rng=np.random.default_rng(seed))

    ref = excess[reference].ravel()
    ref_iv = interval(lambda i: ref[i].mean())
    ref_hurt = ref_iv.low > 0 if ref_iv.exists else ref_iv.mean > 0
    groups = run_groups(list(excess))  # the reference, a policy name, is never a group's (clash refused)
    variant_means = episodes.groupby(["policy", "variant"])[metric].mean()
    rows = []
    for name in [reference, *[g for g in groups if g != reference]]:
        members = groups[name]
        runs = np.stack([excess[m].ravel() for m in members])  # (runs, pairs)
        means = {v: float(np.mean([variant_means[(m, v)] for m in members])) for v in ("drift", "calm")}
        if len(members) == 1:
            d = runs[0]
            iv = interval(lambda i, d=d: d[i].mean())
        else:
            iv = group_interval(lambda i, r, runs=runs: runs[r][:, i].mean(), len(members))
        row = {"policy": name, "runs": len(members), "pairs": runs.shape[1], "drift": means["drift"],
               "calm": means["calm"], "excess": iv.mean, "excess_low": iv.low, "excess_high": iv.high}
        nan = float("nan")
        if ref_hurt:
            if len(members) == 1:
                q = interval(lambda i, d=d: d[i].mean() / ref[i].mean())
            else:
                q = group_interval(lambda i, r, runs=runs: runs[r][:, i].mean() / ref[i].mean(), len(members))
            row.update(relative=q.mean, relative_low=q.low, relative_high=q.high, ratio=_inverse(q.mean),
                       ratio_low=_inverse(q.high), ratio_high=_inverse(q.low))
        else:
            row.update(relative=nan, relative_low=nan, relative_high=nan, ratio=nan, ratio_low=nan, ratio_high=nan)
        rows.append(row)
    return pd.DataFrame(rows)


def run_groups(policies: Sequence[str]) -> dict[str, list[str]]:
    """Group name -> member policies: ``<name>@<k>`` runs of two or more seeds form group ``<name>``.

    Example:
        >>> run_groups(["best_fixed", "ppo@0", "ppo@1", "tree@3"])
        {'best_fixed': ['best_fixed'], 'ppo': ['ppo@0', 'ppo@1'], 'tree@3': ['tree@3']}
    """
    def stem(p: str) -> str | None:
        head, at, k = p.rpartition("@")
        return head if at and head and k.isdigit() else None

    counts: dict[str, int] = {}
    for p in policies:
        if stem(p) is not None:
            counts[stem(p)] = counts.get(stem(p), 0) + 1
    clash = sorted(p for p in policies if counts.get(p, 0) > 1)
    if clash:
        raise ValueError(f"policies {clash} are also the names of groups of runs (<name>@<k>): rename them.")
    groups: dict[str, list[str]] = {}
    for p in policies:
        key = stem(p) if counts.get(stem(p) or "", 0) > 1 else p
        groups.setdefault(key, []).append(p)
    return groups


def _inverse(q: float) -> float:
    """1 / q for a relative excess q, with no excess (q <= 0) meaning an infinite ratio."""
    if math.isnan(q):
        return q
    return math.inf if q <= 0 else 1.0 / q


def results_table(
    episodes,
    *,
    low: str = "best_fixed",
    high: str = "clairvoyant",
    compare_to: Sequence[str] = (),
    reps: int = 2000,
    confidence: float = 0.95,
):
    """The plain results table on the drifting episodes: per policy, IQM and mean of the return
    and the IQM of normalised return (``low`` = 0, ``high`` = 1), and the probability of improvement
    over each policy in ``compare_to`` (none by default: rliable's costs ~15 ms per bootstrap draw),
    via `qec_gym.eval.aggregate` (intervals: its stratified bootstrap).

    Returns:
        The `qec_gym.eval.aggregate.aggregate_table` DataFrame plus ``iqm_return`` /
        ``iqm_return_low`` / ``iqm_return_high``; sorted by IQM normalised return. Where ``low`` and
        ``high`` are missing or tie on average (nothing to normalise by) the normalised columns are
        NaN and the rows are sorted by IQM return.

    Raises:
        ValueError: ``low`` / ``high`` / a ``compare_to`` policy has no episodes.
    """
    import pandas as pd

    from qec_gym.eval.aggregate import aggregate_table, iqm, mean, score_array

    drift = episodes[episodes.variant == "drift"]
    groups = run_groups(list(dict.fromkeys(drift.policy)))
    scenarios = sorted(drift.scenario.unique())
    kw = {"reps": reps, "confidence": confidence}
    # one policy column per group, its runs told apart by train_seed (score_array's run axis)
    tidy = drift.assign(train_seed=drift.policy.map({m: i for ms in groups.values() for i, m in enumerate(ms)}),
                        policy=drift.policy.map({m: g for g, ms in groups.items() for m in ms}))
    refs = drift[drift.policy.isin([low, high])].groupby(["policy", "scenario"])["return"].mean().unstack(0)
    if {low, high} <= set(refs) and abs(float((refs[high] - refs[low]).mean())) > 1e-12:
        table = aggregate_table(drift, groups, low=low, high=high,
                                compare_to=[c for c in compare_to if c in groups], **kw)
    else:  # no scale to normalise by (e.g. a tiny run where best fixed is already clairvoyant): returns only
        rows = []
        for g, members in groups.items():
            m = mean(score_array(tidy, policy=g, scenarios=scenarios), **kw)
            rows.append({"group": g, "runs": len(members), "episodes": m.n * len(scenarios), "iqm": math.nan,
                         "iqm_low": math.nan, "iqm_high": math.nan, "mean_return": m.mean, "mean_return_low": m.low,
                         "mean_return_high": m.high})
        table = pd.DataFrame(rows)
    raw = {g: iqm(score_array(tidy, policy=g, scenarios=scenarios), **kw) for g in groups}
    table["iqm_return"] = table.group.map(lambda g: raw[g].mean)
    table["iqm_return_low"] = table.group.map(lambda g: raw[g].low)
    table["iqm_return_high"] = table.group.map(lambda g: raw[g].high)
    if table.iqm.isna().all():
        table = table.sort_values("iqm_return", ascending=False).reset_index(drop=True)
    return table


def _f(x: float, digits: int) -> str:
    if math.isnan(x):
        return "n/a"
    return "inf" if math.isinf(x) else f"{x:.{digits}f}"


def _iv(row, key: str, digits: int = 2, scale: float = 1.0) -> str:
    return (f"{_f(row[key] * scale, digits)} [{_f(row[key + '_low'] * scale, digits)}, "
            f"{_f(row[key + '_high'] * scale, digits)}]")


def stability_section(episodes, *, title: str, reps: int = 2000, confidence: float = 0.95):
    """Markdown lines for one env's episodes, and its two stability tables (logical error, return).

    The first table: per policy the drifting logical error per round, its excess over the calm
    twin, the ratio to best fixed, the excess cost in return (calm - drifting) and its ratio. The
    second: `results_table` on the drifting episodes. Numbers of logical error are in units of 1e-4.

    Returns:
        (lines, {"logical error": table, "return": table, "results": `results_table`}), each with an
        ``env`` (= ``title``) column.
    """
    ler = drift_stability(episodes, metric="logical_error", reps=reps, confidence=confidence)
    ret = drift_stability(episodes, metric="return", reps=reps, confidence=confidence).set_index("policy")
    scen = sorted(episodes.scenario.unique())
    seeds = sorted(episodes.seed.unique())
    level = f"{confidence:.0%}"
    lines = [f"### `{title}`", "",
             f"Scenarios {', '.join(f'`{s}`' for s in scen)} x {len(seeds)} seeds ({seeds[0]}..{seeds[-1]}), "
             f"{int(episodes.steps.max())} windows per episode, each drifting and calm ({level} intervals).", "",
             "| policy | logical error / round, drifting (1e-4) | excess (1e-4) | ratio (logical error) | "
             "excess cost (return) | ratio (return) |", "|---|---|---|---|---|---|"]
    for _, r in ler.iterrows():
        q = ret.loc[r.policy]
        label = f"`{r.policy}`" + (f" ({r.runs} runs)" if r.runs > 1 else "")
        lines.append(f"| {label} | {_f(r.drift * 1e4, 3)} | {_iv(r, 'excess', 3, 1e4)} | {_iv(r, 'ratio')} | "
                     f"{_iv(q, 'excess', 1)} | {_iv(q, 'ratio')} |")
    results = results_table(episodes, reps=reps, confidence=confidence)
    lines += ["", "| policy | IQM return | mean return | IQM normalised return (0 best fixed, 1 clairvoyant) |",
              "|---|---|---|---|"]
    for _, r in results.iterrows():
        lines.append(f"| `{r.group}` | {_iv(r, 'iqm_return', 1)} | {_iv(r, 'mean_return', 1)} | {_iv(r, 'iqm', 3)} |")
    lines.append("")
    return lines, {"logical error": ler.assign(env=title), "return": ret.reset_index().assign(env=title),
                   "results": results.assign(env=title)}


def _summary(tables: list[dict]) -> list[str]:
    """Markdown: policy x env tables of the two ratios and of the IQM return."""
    envs = [t["return"].env.iloc[0].split("/")[-1] for t in tables]
    policies = list(dict.fromkeys(p for t in tables for p in t["return"].policy))
    head = ["| policy | " + " | ".join(envs) + " |", "|---" * (len(envs) + 1) + "|"]
    lines = []
    for caption, key, col, digits in (("Drift-stability ratio, logical error", "logical error", "ratio", 2),
                                      ("Drift-stability ratio, return (excess cost)", "return", "ratio", 2),
                                      ("IQM return on the drifting validation episodes", "results", "iqm_return", 1)):
        lines += [f"**{caption}**", "", *head]
        for p in policies:
            cells = []
            for t in tables:
                tab = t[key].set_index("group" if key == "results" else "policy")
                cells.append(_iv(tab.loc[p], col, digits) if p in tab.index else "-")
            lines.append(f"| `{p}` | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def write_stability_report(episode_csvs: Sequence[Any], out_dir: Any, *, reps: int = 2000,
                           confidence: float = 0.95, name: str = "drift_stability", intro: Sequence[str] = ()):
    """Tables (``<name>.md``) and figure (``<name>.png``) of stored `stability_episodes` CSVs.

    Args:
        episode_csvs: CSVs of `stability_episodes` rows, one env each (an ``env_id`` column names
            it; else the file's stem).
        out_dir: Folder to write to (created).
        reps, confidence: Bootstrap replicates and interval level.
        name: File stem of the outputs.
        intro: Extra Markdown lines after the definitions (e.g. the command that made the CSVs).

    Returns:
        (path of the Markdown, path of the PNG).

    Raises:
        FileNotFoundError: a CSV does not exist.
        ValueError: no CSV, or one without the episode columns.
    """
    from pathlib import Path

    import pandas as pd

    from qec_gym.eval.plots import plot_drift_stability

    if not episode_csvs:
        raise ValueError("no episode CSVs given: write them with stability_episodes (benchmarks/drift_stability.py).")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Drift stability (drifting vs calm twin, same seeds)", "",
        "Calm twin: the scenario with its drift switched off (baseline noise throughout, the same random draws). "
        "Excess = drifting - calm per (scenario, seed) pair; ratio = excess of `best_fixed` / excess of the policy "
        "(> 1: absorbs drift better; inf: no excess; n/a: best fixed not hurt within the interval). Logical "
        "error: mean over windows of the expected logical error per round of the running configuration; excess "
        "cost: calm - drifting return (the env's objective, qubit cost included). Intervals: bootstrap over "
        "pairs, stratified by scenario, paired across policies (`qec_gym.eval.drift_stability`).", "", *intro]
    tables, sections = [], []
    for csv in episode_csvs:
        path = Path(csv)
        if not path.exists():
            raise FileNotFoundError(f"no episodes CSV at {path}: write it with benchmarks/drift_stability.py.")
        df = pd.read_csv(path)
        missing = sorted(set(EPISODE_COLUMNS) - set(df.columns))
        if missing:
            raise ValueError(f"{path} lacks columns {missing}: it is not a stability_episodes CSV.")
        title = str(df.env_id.iloc[0]) if "env_id" in df else path.stem
        section, tabs = stability_section(df, title=title, reps=reps, confidence=confidence)
        sections += section
        tables.append(tabs)
    md = out / f"{name}.md"
    source = ["Episodes: " + ", ".join(f"`{Path(c).name}`" for c in episode_csvs)
              + " (`python benchmarks/drift_stability.py`); this file: `qec-gym report --drift-stability CSV... --out DIR`.", ""]
    md.write_text("\n".join([*lines, *source, "## Summary", "", *_summary(tables), "## Per env", "", *sections]))
    frames = [t[m].assign(metric=m) for t in tables for m in ("logical error", "return")]
    table = pd.concat(frames, ignore_index=True).assign(env=lambda d: d.env.str.split("/").str[-1])
    png = plot_drift_stability(table, out / f"{name}.png")
    return md, png
