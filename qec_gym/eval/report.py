"""The evaluation report: stored harness results -> ``report.md`` + ``report.html`` + PNG figures.

`write_report` reads a results CSV of `qec_gym.eval.evaluate` (and its ``.traces.csv``),
optionally training run folders and a decision-tree model, and writes, into one folder:

* a policy comparison table: mean return [CI], paired difference to the reference [CI], regret
  to the oracle [CI], budget violations, qubit-rounds, switches;
* one sentence per compared policy saying whether it beats the reference with a paired
  confidence interval that excludes zero (whatever the sign, in plain words);
* a per-scenario table; figures (comparison, regret, per scenario, one example trajectory per
  scenario, learning curves); the decision tree's rules; the commands that redraw each figure.

Nothing is re-simulated: only the env's reward target is read (for the trajectory plots' target
line) by constructing the env, which loads its packaged table. A missing reference or oracle
gives a note in the report, not an error.

Example:
    >>> import tempfile, pathlib, pandas as pd
    >>> from qec_gym.eval.harness import COLUMNS
    >>> rows = [dict.fromkeys(COLUMNS, 0) | {"env_id": "qec_gym/SurfaceSwitch-v1", "env_version": 1, "policy": p,
    ...          "scenario": "s", "seed": k, "return": r + k} for p, r in (("a", 1.0), ("b", 2.0))
    ...         for k in range(3)]
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame(rows).to_csv(tmp / "r.csv", index=False)
    >>> rep = write_report(tmp / "r.csv", tmp / "out", reference="a", oracle=None, target=1e-3)
    >>> rep.markdown.name, "`b` beats `a`" in rep.markdown.read_text()
    ('report.md', True)
"""

from __future__ import annotations

import html
import json
import math
import os
import pathlib
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from qec_gym.eval.plots import (
    plot_learning_curves,
    plot_policy_comparison,
    plot_regret,
    plot_scenarios,
    plot_trajectories,
    read_results,
    read_traces,
    run_label,
)


@dataclass(frozen=True)
class Report:
    """What `write_report` (or `qec_gym.eval.qec_report.write_qec_report`) wrote.

    Attributes:
        markdown: ``report.md``.
        html: ``report.html`` (same content; figures referenced by relative path).
        figures: The PNGs, in the order they appear.
        notes: Caveats written into the report (missing reference, oracle, traces, ...).
    """

    markdown: pathlib.Path
    html: pathlib.Path
    figures: tuple[pathlib.Path, ...]
    notes: tuple[str, ...]


ORACLES = ("oracle", "clairvoyant")
"""Policy names that are oracles (they see the true noise): never judged against the reference."""


def write_report(
    results_csv: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    reference: str | None = "best_fixed",
    oracle: str | None = "clairvoyant",
    run_dirs: Sequence[str | os.PathLike] = (),
    tree_path: str | os.PathLike | None = None,
    title: str = "qec-gym evaluation report",
    confidence: float = 0.95,
    agents: Sequence[str] | None = None,
    trajectory_policies: Sequence[str] | None = None,
    target: float | None = None,
) -> Report:
    """Write ``report.md``, ``report.html`` and ``figures/*.png`` into ``out_dir``.

    Args:
        results_csv: Results of `qec_gym.eval.evaluate` (one env and version); its traces are
            read from ``<results>.traces.csv`` when present.
        out_dir: Output folder (created).
        reference: Policy that paired differences and verdicts refer to (a note if absent).
        oracle: Policy that regret is measured to (a note if absent; ``None``: no regret).
        run_dirs: Training run folders whose learning curves to include.
        tree_path: A saved `qec_gym.agents.tree.DecisionTreeAgent` whose rules to include.
        title: Report title.
        confidence: Confidence of every interval.
        agents: Policies to judge against the reference (default: every policy except the
            reference and the oracles).
        trajectory_policies: Policies drawn in the trajectory figures (default: every traced
            policy except ``random``, whose thrashing hides the others).
        target: Logical-error-per-round target of the trajectory figures (default: the env's
            ``reward_config.target``).

    Returns:
        A `Report` with the paths written and the notes.

    Raises:
        FileNotFoundError: no results file, or a run folder / tree file that does not exist.
        ValueError: not a results file, results of several envs or versions mixed, a tree for
            another env, or ``confidence`` outside (0, 1).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}.")
    results_path = pathlib.Path(results_csv)
    df = read_results(results_path)
    env_id = str(df.env_id.iloc[0]) if "env_id" in df.columns else "unknown env"
    env_version = str(df.env_version.iloc[0]) if "env_version" in df.columns else "?"
    run_dirs = [pathlib.Path(r) for r in run_dirs]
    for r in run_dirs:
        if not r.is_dir():
            raise FileNotFoundError(f"no run folder at {r}; pass the folder that `qec-gym train --out` wrote.")
    tree_rules = _tree_rules(tree_path, env_id) if tree_path is not None else None

    out = pathlib.Path(out_dir)
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    policies = list(df.policy.unique())
    if reference is not None and reference not in policies:
        notes.append(f"The reference policy `{reference}` is not in the results (policies: {', '.join(sorted(policies))}): "
                     "paired differences and verdicts are omitted. Evaluate it, or pass `--reference` with one of them.")
        reference = None
    if oracle is not None and oracle not in policies:
        notes.append(f"The oracle `{oracle}` is not in the results: regret is omitted. Evaluate it "
                     f"(`qec-gym eval --policies ... {oracle}`), or pass `--oracle` with another policy.")
        oracle = None
    unknown = [a for a in (agents or ()) if a not in policies]
    if unknown:
        raise ValueError(f"agents {unknown} are not in the results (policies: {sorted(policies)}).")
    episodes = {p: set(zip(df[df.policy == p].scenario, df[df.policy == p].seed)) for p in policies}
    if len({frozenset(e) for e in episodes.values()}) > 1:
        notes.append("Policies ran different sets of (scenario, seed) episodes: means use each policy's own "
                     "episodes, paired differences and regret only the episodes both policies ran.")

    from qec_gym.eval.stats import by_scenario, summarize

    table = summarize(df, reference=reference, oracle=oracle, confidence=confidence)
    figures: list[pathlib.Path] = []
    md: list[str] = []  # the body; the title, summary and notes go on top at the end
    scenarios = sorted(df.scenario.unique())
    seeds = sorted(df.seed.unique())
    header = [
        f"Results: `{results_path}`: env `{env_id}` (version {env_version}), {len(policies)} policies, "
        f"{len(scenarios)} scenarios ({', '.join(f'`{s}`' for s in scenarios)}), seeds {_ranges(seeds)}; "
        f"{len(df)} episodes. Policies that ran the same (scenario, seed) episode faced the same true noise "
        f"trajectory, so differences are paired by episode. Intervals are {confidence:.0%} Student-t "
        "intervals over episodes (`qec_gym.eval.stats`).",
        "",
    ]

    # ------------------------------------------------------------ comparison table + verdicts
    md += ["## Policy comparison", ""]
    md += _comparison_table(table, reference, oracle, confidence)
    md += [
        "",
        "Return: the episode's summed reward (higher is better). Budget violations: share of windows whose "
        "logical error per round exceeded the target. Qubit-rounds and switches: per episode.",
        "",
    ]
    if reference is not None:
        judged = list(agents) if agents is not None else [
            p for p in table.policy if p != reference and p not in ORACLES and p != oracle]
        md += [f"### Does each policy beat `{reference}`?", ""]
        md += [f"- {_verdict(df, a, reference, confidence)}" for a in judged if a != reference]
        md += [""]
    figures.append(plot_policy_comparison(df, figdir / "policy_comparison.png", reference=reference, confidence=confidence))
    md += [_image("Mean return per policy, and paired difference to the reference", figures[-1], out), ""]
    if oracle is not None and len(policies) > 1:
        figures.append(plot_regret(df, figdir / "regret.png", oracle=oracle, confidence=confidence))
        md += [_image(f"Regret to the {oracle} oracle (paired, per episode)", figures[-1], out), ""]

    # ------------------------------------------------------------ per scenario
    md += ["## Per scenario", "",
           f"Mean return [{confidence:.0%} CI] per scenario; the best mean in each scenario is bold.", ""]
    md += _scenario_table(by_scenario(df, confidence=confidence), list(table.policy))
    figures.append(plot_scenarios(df, figdir / "scenarios.png", confidence=confidence))
    md += ["", _image("Return per scenario", figures[-1], out), ""]

    # ------------------------------------------------------------ trajectories
    traces_path = results_path.with_suffix(".traces.csv")
    md += ["## Example trajectories", ""]
    trajectory_figs: dict[pathlib.Path, tuple[str, list[str]]] = {}
    if traces_path.is_file():
        traces = read_traces(traces_path)
        if target is None:
            target = _env_target(env_id)
            if target is None:
                notes.append(f"Could not read the reward target of `{env_id}`: the trajectory plots have no target line.")
        traced = sorted(traces.policy.unique())
        shown = list(trajectory_policies) if trajectory_policies is not None else [p for p in traced if p != "random"] or traced
        md += [
            "Each figure is one episode (same scenario and seed, hence the same true noise) as each policy played it: "
            "the true noise multiplier with each policy's syndrome-based estimate; the configuration it ran; the "
            "logical error per round (lines: expected for the chosen configuration; dots: the sampled window) "
            f"against the target{'' if target is None else f' ({target:g})'}."
            + ("" if trajectory_policies is not None or "random" not in traced else " `random` is left out (it thrashes)."),
            "",
        ]
        for scenario in sorted(traces.scenario.unique()):
            present = [p for p in shown if p in set(traces[traces.scenario == scenario].policy)]
            if not present:
                continue
            fig = plot_trajectories(traces, figdir / f"trajectory_{_slug(scenario)}.png", scenario=scenario,
                                    policies=present, target=target)
            figures.append(fig)
            trajectory_figs[fig] = (scenario, present)
            md += [_image(f"Trajectories in {scenario}", fig, out), ""]
    else:
        note = f"No traces file `{traces_path}`: trajectory plots are omitted (`qec-gym eval` writes it next to the results)."
        notes.append(note)
        md += [note, ""]

    # ------------------------------------------------------------ tree and learning curves
    if tree_rules is not None:
        md += ["## Decision tree", "", f"Rules of `{tree_path}` (scikit-learn `export_text`; features are observation "
               "entries, classes are actions):", "", "```", tree_rules[0].rstrip(), "```", ""]
        if tree_rules[1]:
            md += ["Fit: " + ", ".join(f"{k} = {_num(v)}" for k, v in sorted(tree_rules[1].items())) + ".", ""]
    if run_dirs:
        md += ["## Learning curves", ""]
        figures.append(plot_learning_curves(run_dirs, figdir / "learning_curves.png"))
        md += [_image("Learning curves (tensorboard scalars)", figures[-1], out), ""]
        md += _runs_table(run_dirs)
        md += [""]

    # ------------------------------------------------------------ reproduction
    md += ["## Reproduce", "", "The whole report (deterministic given the stored results):", "", "```"]
    cmd = ["qec-gym", "report", "--results", _abs(results_path), "--out", _abs(out)]
    cmd += ["--reference", reference] if reference is not None else []
    cmd += ["--oracle", oracle] if oracle is not None else []
    for r in run_dirs:
        cmd += ["--run", _abs(r)]
    if tree_path is not None:
        cmd += ["--tree", _abs(tree_path)]
    md += [shlex.join(cmd), "```", "", "Each figure on its own:", "", "```"]
    res = _abs(results_path)
    for fig in figures:
        md.append(_figure_command(fig, res, traces=_abs(traces_path), reference=reference, oracle=oracle,
                                  confidence=confidence, target=target, trajectory=trajectory_figs.get(fig),
                                  runs=[_abs(r) for r in run_dirs]))
    md += ["```", ""]
    top = [f"# {title}", ""] + header
    if notes:
        top += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    text = "\n".join(top + md).rstrip() + "\n"
    md_path = out / "report.md"
    md_path.write_text(text)
    html_path = out / "report.html"
    html_path.write_text(markdown_to_html(text, title=title))
    return Report(md_path, html_path, tuple(figures), tuple(notes))


# ---------------------------------------------------------------------------- pieces
def _comparison_table(table, reference: str | None, oracle: str | None, confidence: float) -> list[str]:
    head = ["policy", "episodes", f"mean return [{confidence:.0%} CI]"]
    if reference is not None:
        head.append(f"vs `{reference}` (paired) [CI]")
    if oracle is not None:
        head.append(f"regret to `{oracle}` [CI]")
    head += ["budget violations", "qubit-rounds", "switches", "mean log10 p_L/round"]
    lines = [_row(head), _row(["---"] * len(head))]
    for r in table.to_dict("records"):
        cells = [f"`{r['policy']}`", str(int(r["episodes"])), _ci(r["return"], r["return_low"], r["return_high"])]
        if reference is not None:
            diff = _ci(r.get("diff_vs_reference"), r.get("diff_low"), r.get("diff_high"), sign=True)
            cells.append("(reference)" if r["policy"] == reference else diff)
        if oracle is not None:
            regret = _ci(r.get("regret"), r.get("regret_low"), r.get("regret_high"))
            cells.append("(oracle)" if r["policy"] == oracle else regret)
        cells += [f"{100 * r['budget_violation_frac']:.1f}%", f"{r['qubit_rounds']:.3g}", f"{r['switches']:.1f}",
                  f"{r['log10_p_round']:.2f}"]
        lines.append(_row(cells))
    return lines


def _verdict(df, policy: str, reference: str, confidence: float) -> str:
    """One honest sentence: does ``policy`` beat ``reference`` with a paired CI excluding zero?"""
    from qec_gym.eval.stats import paired_difference

    try:
        d = paired_difference(df, policy, reference, confidence=confidence)
    except ValueError as e:
        return f"`{policy}` vs `{reference}`: not comparable ({e})"
    if not d.exists:
        return (f"`{policy}` vs `{reference}`: difference {d.mean:+.2f} (no interval: {d.n} paired episode); "
                "a single paired episode gives no interval, so no verdict.")
    ci = f"{d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}] ({confidence:.0%} CI, {d.n} paired episodes)"
    if d.low > 0:
        return f"**`{policy}` beats `{reference}`**: paired return difference {ci}, an interval that excludes zero."
    if d.high < 0:
        return (f"**`{policy}` does worse than `{reference}`**: paired return difference {ci}, an interval that "
                "excludes zero.")
    return (f"**`{policy}` does not beat `{reference}` significantly**: paired return difference {ci} includes zero; "
            "these episodes cannot tell the two apart.")


def _scenario_table(per, order: list[str]) -> list[str]:
    scenarios = sorted(per.scenario.unique())
    lines = [_row(["policy"] + [f"`{s}`" for s in scenarios]), _row(["---"] * (len(scenarios) + 1))]
    best = {s: per[per.scenario == s].sort_values("return").policy.iloc[-1] for s in scenarios}
    cell = {(r["scenario"], r["policy"]): (r["return"], r["low"], r["high"]) for r in per.to_dict("records")}
    for p in order:
        cells = [f"`{p}`"]
        for s in scenarios:
            if (s, p) not in cell:
                cells.append("-")
                continue
            text = _ci(*cell[(s, p)])
            cells.append(f"**{text}**" if best[s] == p else text)
        lines.append(_row(cells))
    return lines


def _runs_table(run_dirs: Sequence[pathlib.Path]) -> list[str]:
    """Final validation figures of each run (from ``evaluations.jsonl`` and ``run.json``)."""
    head = ["run", "env", "evaluations", "last eval step", "last eval return", "best eval return", "last regret", "git"]
    lines = [_row(head), _row(["---"] * len(head))]
    for r in run_dirs:
        try:
            meta = json.loads((r / "run.json").read_text())
        except (OSError, ValueError):
            meta = {}
        evals = []
        path = r / "evaluations.jsonl"
        if path.is_file():
            for line in path.read_text().splitlines():
                try:
                    evals.append(json.loads(line))
                except ValueError:
                    continue  # a line cut short by an interrupted run
        last = evals[-1] if evals else {}
        lines.append(_row([
            run_label(r), f"`{meta.get('env_id', '?')}`", str(len(evals)), str(last.get("timesteps", "-")),
            _num(last.get("return")), _num(max((e["return"] for e in evals), default=None)), _num(last.get("regret")),
            str(meta.get("git_revision", "?"))[:10],
        ]))
    return lines


def _tree_rules(tree_path, env_id: str) -> tuple[str, dict]:
    from qec_gym.agents.tree import DecisionTreeAgent

    path = pathlib.Path(tree_path)
    if not path.is_file():
        raise FileNotFoundError(f"no decision tree at {path}; pass the file `DecisionTreeAgent.save` wrote.")
    agent = DecisionTreeAgent.load(path, env_id=env_id if env_id.startswith("qec_gym/") else None)
    return agent.rules(), dict(agent.metrics)


def _env_target(env_id: str) -> float | None:
    """The env's logical-error-per-round target (None when the env cannot be built here)."""
    try:
        import gymnasium as gym

        import qec_gym  # noqa: F401  (registers the ids)

        env = gym.make(env_id)
        try:
            return float(env.unwrapped.reward_config.target)
        finally:
            env.close()
    except Exception:  # an unknown or unbuildable env only costs the plots their target line
        return None


def _figure_command(fig: pathlib.Path, results: str, *, traces: str, reference, oracle, confidence, target,
                    trajectory: tuple[str, list[str]] | None, runs: list[str]) -> str:
    """The one-line command that redraws ``fig`` from the stored results."""
    out, stem = _abs(fig), fig.stem
    if stem == "policy_comparison":
        name, args = "plot_policy_comparison", [results, out, ("reference", reference), ("confidence", confidence)]
    elif stem == "regret":
        name, args = "plot_regret", [results, out, ("oracle", oracle), ("confidence", confidence)]
    elif stem == "scenarios":
        name, args = "plot_scenarios", [results, out, ("confidence", confidence)]
    elif stem == "learning_curves":
        name, args = "plot_learning_curves", [runs, out]
    else:
        scenario, policies = trajectory
        name, args = "plot_trajectories", [traces, out, ("scenario", scenario), ("policies", policies), ("target", target)]
    text = ", ".join(f"{a[0]}={_py(a[1])}" if isinstance(a, tuple) else _py(a) for a in args)
    code = f"from qec_gym.eval.plots import {name}; {name}({text})"
    # Python literals with double quotes, so that the usual single-quoted shell argument needs no escaping.
    return f"python -c '{code}'" if "'" not in code else shlex.join(["python", "-c", code])


def _py(value) -> str:
    """A Python literal of ``value`` using double quotes (JSON strings are valid Python strings)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    return repr(value)


# ---------------------------------------------------------------------------- formatting
def table_lines(head: Sequence, rows: Sequence[Sequence]) -> list[str]:
    """A Markdown pipe table (header, separator, rows) as lines; ``|`` in cells is escaped.

    Example:
        >>> for line in table_lines(["a", "b"], [[1, "x|y"]]):
        ...     print(line)
        | a | b |
        | --- | --- |
        | 1 | x\\|y |
    """
    return [_row(head), _row(["---"] * len(head))] + [_row(r) for r in rows]


def _row(cells: Sequence) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def _ci(mean, low, high, *, sign: bool = False) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    f = "{:+.2f}" if sign else "{:.2f}"
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return f"{f.format(mean)} [n/a]"  # fewer than two episodes: no interval exists
    return f"{f.format(mean)} [{f.format(low)}, {f.format(high)}]"


def _num(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _ranges(values: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``'0-2, 5'``."""
    values = sorted(int(v) for v in values)
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(str(start) if start == v else f"{start}-{v}")
            start = None
    return ", ".join(parts)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def _abs(path) -> str:
    return str(pathlib.Path(path).resolve())


def _image(caption: str, path: pathlib.Path, root: pathlib.Path) -> str:
    return f"![{caption}]({path.relative_to(root).as_posix()})"


# ---------------------------------------------------------------------------- HTML
_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:0.3em 0.6em;text-align:left}
th{background:#f3f3f3}pre{background:#f6f8fa;padding:0.8em;overflow-x:auto;font-size:0.85em}
code{background:#f6f8fa;padding:0 0.2em}figure{margin:1em 0}img{max-width:100%}figcaption{color:#555;font-size:0.9em}"""


def markdown_to_html(text: str, *, title: str = "report") -> str:
    """A small Markdown subset as a standalone HTML page: headings, paragraphs, ``-`` lists,
    pipe tables, fenced code, images on their own line, inline code, bold and links.

    It covers what the reports write (no dependency on a Markdown package); anything else is
    shown as escaped text.

    Example:
        >>> page = markdown_to_html("# T\\n\\n| a | b |\\n|---|---|\\n| `x` | **1** |\\n", title="T")
        >>> "<th>a</th>" in page, "<td><code>x</code></td>" in page, "<strong>1</strong>" in page
        (True, True, True)
    """
    lines = text.splitlines()
    out: list[str] = []
    para: list[str] = []
    i = 0

    def flush() -> None:
        if para:
            out.append("<p>" + _inline(" ".join(para)) + "</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            out.append("<pre><code>" + html.escape("\n".join(lines[i + 1 : j])) + "</code></pre>")
            i = j + 1
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        image = re.match(r"^!\[([^\]]*)\]\(([^)]+)\)$", stripped)
        if not stripped:
            flush()
        elif heading:
            flush()
            n = len(heading.group(1))
            out.append(f"<h{n}>{_inline(heading.group(2))}</h{n}>")
        elif image:
            flush()
            alt, src = html.escape(image.group(1)), html.escape(image.group(2), quote=True)
            out.append(f'<figure><img src="{src}" alt="{alt}"><figcaption>{alt}</figcaption></figure>')
        elif stripped.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            body = rows[2:] if len(rows) > 1 and all(re.fullmatch(r":?-{3,}:?", c) for c in rows[1]) else rows[1:]
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in rows[0]) + "</tr></thead><tbody>")
            out += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body]
            out.append("</tbody></table>")
            continue
        elif stripped.startswith("- "):
            flush()
            items = []
            while i < len(lines) and lines[i].strip().startswith("- "):
                items.append(lines[i].strip()[2:])
                i += 1
            out.append("<ul>" + "".join(f"<li>{_inline(t)}</li>" for t in items) + "</ul>")
            continue
        else:
            para.append(stripped)
        i += 1
    flush()
    body = "\n".join(out)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n")


def _cells(line: str) -> list[str]:
    """Cells of a pipe-table row (``\\|`` is a literal bar)."""
    inner = line.strip()[1:]
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def _inline(text: str) -> str:
    parts = text.split("`")
    out = []
    for k, part in enumerate(parts):
        if k % 2 == 1 and k < len(parts) - 1:  # inside a code span: no further markup
            out.append(f"<code>{html.escape(part)}</code>")
            continue
        s = html.escape(part if k % 2 == 0 else "`" + part)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', s)
        out.append(s)
    return "".join(out)
