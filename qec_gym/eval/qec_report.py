"""The QEC Simulation Report: thresholds, logical error vs distance, resources, suitability.

`write_qec_report` writes ``report.md`` + ``report.html`` + ``figures/*.png`` from stored data:

* **thresholds** per code x decoder x noise model (x rounds rule) with their uncertainties, from
  sinter CSVs of `qec_gym.sim.sweep` through `qec_gym.sim.threshold.estimate_threshold`, each
  with its logical-error-vs-p plot, a logical-error-vs-distance plot below threshold and the
  error-suppression factor Lambda;
* **resources** (qubits, two-qubit gates per round, round duration) of every code family at
  d = 3, 5, 7 (`qec_gym.codes.resources`);
* **photonic suitability**: from the PhotonicSwitch-v2 env's packaged (fitted) table, the cheapest
  menu entry meeting the reward's target at each photon-loss level, with each cell's real shot count;
* **cat qubits**: the optimum table ``docs/figures/cat_optimum.csv`` when present;
* **STIRAP control**: the optimum pulse width and the winning code per regime, from
  ``docs/figures/stirap_optimum.csv`` (``benchmarks/stirap_optimum.py``) when present.

Sweep CSVs come from ``sweep_csvs``; without them, ``quick=True`` samples the small sweeps of
`QUICK_SWEEPS` itself (under a minute on 2 cores; resumable CSVs under ``<out>/sweeps``), and
otherwise the stored CSVs of ``docs/figures`` (written by ``benchmarks/threshold_report.py``)
are used. Everything after sampling is deterministic (bootstrap seed 0).

Example:
    >>> rows = resource_rows(("repetition",), distances=(3, 5))
    >>> [(r["family"], r["distance"], r["qubits"]) for r in rows]
    [('repetition', 3, 5), ('repetition', 5, 9)]
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import pathlib
import shlex
import types
from collections.abc import Callable, Mapping, Sequence

from qec_gym.eval.report import Report, markdown_to_html, table_lines
from qec_gym.sim.sweep import SweepConfig

REPO_FIGURES = pathlib.Path(__file__).resolve().parents[2] / "docs" / "figures"
"""Where a source checkout keeps the stored sweeps and the cat optimum table."""

STORED_SWEEPS = ("threshold_code_capacity.csv", "threshold_rotated_circuit.csv", "xzzx_vs_css_bias100.csv", "repetition.csv")
"""Sweep CSVs of ``benchmarks/threshold_report.py`` used when none are given (those present)."""

QUICK_SWEEPS: Mapping[str, SweepConfig] = types.MappingProxyType({
    # Code capacity (Z flips on data, perfect syndromes, one round): literature 10.3% (WHP 2003).
    # Distances from 7 up: d = 3, 5 cross visibly lower (finite-size drift).
    "code_capacity": SweepConfig(
        families=("rotated_surface",), distances=(7, 11, 15), p_values=(0.09, 0.095, 0.1, 0.105, 0.11),
        noise="code_capacity", rounds=1, max_shots=100_000, max_errors=10_000,
    ),
    # stim-uniform circuit noise, rounds = d: ~1.0-1.1%. p = 0.004 serves logical error vs distance.
    "circuit": SweepConfig(
        families=("rotated_surface",), distances=(3, 5, 7), p_values=(0.004, 0.006, 0.008, 0.01, 0.012, 0.014),
        noise="uniform", rounds="d", max_shots=100_000, max_errors=5_000,
    ),
})
"""The sweeps ``quick=True`` samples (rotated surface code, MWPM; read-only)."""

PHOTONIC_ENV = "qec_gym/PhotonicSwitch-v2"
"""The env whose table the suitability section reads: v2's fitted table (v1's 20,000-shot counts are noisy
at low loss)."""


def write_qec_report(
    out_dir: str | os.PathLike,
    *,
    sweep_csvs: Sequence[str | os.PathLike] | None = None,
    quick: bool = False,
    workers: int = 2,
    quick_sweeps: Mapping[str, SweepConfig] | None = None,
    cat_csv: str | os.PathLike | None = None,
    stirap_csv: str | os.PathLike | None = None,
    distances: Sequence[int] = (3, 5, 7),
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    progress: Callable[[str], None] | None = None,
    title: str = "QEC Simulation Report",
) -> Report:
    """Write the QEC Simulation Report into ``out_dir``.

    Args:
        out_dir: Output folder (created); quick sweeps are stored in ``<out_dir>/sweeps``.
        sweep_csvs: sinter CSVs of `qec_gym.sim.sweep.run_sweep` (or ``qec-gym sweep``).
        quick: Without ``sweep_csvs``, sample `QUICK_SWEEPS` (resumable) instead of using the
            stored CSVs.
        workers: sinter worker processes of the quick sweeps.
        quick_sweeps: Replaces `QUICK_SWEEPS` (name -> config), e.g. for tests.
        cat_csv: Cat-qubit optimum table (default ``docs/figures/cat_optimum.csv``).
        stirap_csv: STIRAP pulse-width study (default ``docs/figures/stirap_optimum.csv``).
        distances: Distances of the resource table.
        n_bootstrap: Bootstrap replicates per threshold.
        confidence: Confidence of every interval.
        progress: Called with a short line at each stage (the CLI prints it).
        title: Report title.

    Returns:
        A `qec_gym.eval.report.Report`.

    Raises:
        FileNotFoundError: a given sweep CSV does not exist.
        ValueError: no sweep results to use (pass ``sweep_csvs`` or ``quick=True``).
    """
    from qec_gym.sim.sweep import load_results

    say = progress or (lambda _msg: None)
    out = pathlib.Path(out_dir)
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    commands: list[str] = []
    if sweep_csvs:
        csvs = [pathlib.Path(p) for p in sweep_csvs]
        for p in csvs:
            if not p.is_file():
                raise FileNotFoundError(f"no sweep results at {p}; run `qec-gym sweep --out {p}` first.")
        origin = "the given sweep CSVs"
    elif quick:
        csvs = []
        for name, cfg in (quick_sweeps if quick_sweeps is not None else QUICK_SWEEPS).items():
            cfg = dataclasses.replace(cfg, num_workers=workers)
            path = out / "sweeps" / f"{name}.csv"
            say(f"sampling quick sweep {name!r} -> {path}")
            run_quick_sweep(cfg, path)
            csvs.append(path)
            commands.append(sweep_command(cfg, path))
        origin = "the quick sweeps sampled for this report"
    else:
        csvs = [REPO_FIGURES / name for name in STORED_SWEEPS if (REPO_FIGURES / name).is_file()]
        if not csvs:
            raise ValueError(
                f"no sweep results: none of {list(STORED_SWEEPS)} is in {REPO_FIGURES}. Pass sweep CSVs "
                "(--sweeps results.csv ...), use --quick to sample small sweeps now, or run "
                "`python benchmarks/threshold_report.py`."
            )
        origin = f"the stored sweeps of `{REPO_FIGURES}` (`python benchmarks/threshold_report.py`)"
        commands.append("python benchmarks/threshold_report.py  # regenerates the stored sweep CSVs")
    rows = load_results(csvs)
    figures: list[pathlib.Path] = []

    say("estimating thresholds")
    md = [f"# {title}", "",
          f"Sweeps: {origin}: {', '.join(f'`{p}`' for p in csvs)} ({len(rows)} sampled points). "
          f"Intervals are {confidence:.0%}.", ""]
    md += ["## Thresholds", "",
           "Threshold: mean of the crossings of consecutive distances' logical-error-per-round curves; interval: "
           f"parametric bootstrap ({n_bootstrap} replicates, seed 0), widened to contain every pair's crossing "
           "(`qec_gym.sim.threshold.estimate_threshold`). Lambda = eps_d / eps_d+2 at the lowest p sampled with errors "
           "at every distance (conservative interval from per-point Clopper-Pearson bounds).", ""]
    studies = threshold_studies(rows, n_bootstrap=n_bootstrap, confidence=confidence)
    head = ["code", "decoder", "noise", "rounds", "distances", "p range", "threshold [CI]", "pair crossings", "Lambda", "shots"]
    md += table_lines(head, [s.cells() for s in studies])
    md += [""]
    for s in studies:
        figs = s.plot(figdir, confidence=confidence)
        figures += figs
        md += [f"### {s.title}", ""]
        md += [f"![{s.title}: {f.stem.split('__')[-1].replace('_', ' ')}]({f.relative_to(out).as_posix()})" for f in figs]
        md += [""]

    say("counting resources")
    md += ["## Resources per code", "",
           "One round of syndrome extraction, counted from the noiseless circuit template (`qec_gym.codes.resources`); "
           "durations with the default `GateTimes` (those of `HardwareParams.superconducting`: 25 ns 1q, 42 ns 2q, 500 ns measure, 160 ns reset). For "
           "`cat_repetition` the qubits are bosonic modes.", ""]
    res = resource_rows(distances=distances)
    md += table_lines(["code", "d", "data", "ancilla", "qubits", "2q gates / round", "layers", "round (us)"],
                      [[f"`{r['family']}`", r["distance"], r["data"], r["ancilla"], r["qubits"], r["two_qubit_gates"],
                        r["layers"], f"{r['round_ns'] / 1000:.3f}"] if "error" not in r else
                       [f"`{r['family']}`", r["distance"], "-", "-", "-", "-", "-", r["error"]] for r in res])
    md += [""]

    say(f"reading the {PHOTONIC_ENV} table")
    md += ["## Suitability: photonic preset", ""]
    try:
        suit = photonic_suitability(confidence=confidence)
    except Exception as e:  # the env's packaged table may be missing on a partial install
        note = f"The {PHOTONIC_ENV} table could not be read ({type(e).__name__}: {e}); suitability omitted."
        notes.append(note)
        md += [note, ""]
    else:
        figures.append(plot_suitability(suit, figdir / "photonic_suitability.png"))
        md += suit.markdown(figures[-1].relative_to(out).as_posix(), confidence=confidence)

    md += ["## Suitability: cat qubits", ""]
    cat = pathlib.Path(cat_csv) if cat_csv is not None else REPO_FIGURES / "cat_optimum.csv"
    md += cat_optimum_lines(cat)

    md += ["## Suitability: STIRAP control", ""]
    stirap = pathlib.Path(stirap_csv) if stirap_csv is not None else REPO_FIGURES / "stirap_optimum.csv"
    md += stirap_lines(stirap)
    if stirap.with_suffix(".png").is_file():
        figures.append(figdir / "stirap_optimum.png")
        figures[-1].write_bytes(stirap.with_suffix(".png").read_bytes())
        md += [f"![logical error vs pulse width]({figures[-1].relative_to(out).as_posix()})", ""]

    md += ["## Reproduce", "", "```"]
    cmd = ["qec-gym", "report", "--qec", "--out", str(out.resolve())]
    if sweep_csvs:
        cmd += ["--sweeps", *[str(p.resolve()) for p in csvs]]
    elif quick:
        cmd += ["--quick", "--workers", str(workers)]
    md += [shlex.join(cmd) + "  # this report (figures included); deterministic given the sweep CSVs"]
    md += [c + ("" if c.startswith("python benchmarks") else "  # the same sweep on its own (resumes)") for c in commands]
    md += ["```", ""]
    if notes:
        md[2:2] = ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    text = "\n".join(md).rstrip() + "\n"
    md_path = out / "report.md"
    md_path.write_text(text)
    html_path = out / "report.html"
    html_path.write_text(markdown_to_html(text, title=title))
    return Report(md_path, html_path, tuple(figures), tuple(notes))


def run_quick_sweep(config: SweepConfig, path: str | os.PathLike):
    """`qec_gym.sim.sweep.run_sweep` into ``path`` (resumes: finished points are not resampled)."""
    from qec_gym.sim.sweep import run_sweep

    return run_sweep(config, save_path=path)


def sweep_command(config: SweepConfig, path: str | os.PathLike) -> str:
    """The ``qec-gym sweep`` command line that samples ``config`` into ``path``.

    Example:
        >>> cfg = SweepConfig(families=("repetition",), distances=(3, 5), p_values=(0.01,))
        >>> sweep_command(cfg, "r.csv").split(" --max-shots")[0]
        'qec-gym sweep --code repetition --distances 3 5 --p 0.01 --decoder pymatching --noise uniform --rounds d'
    """
    cmd = ["qec-gym", "sweep", "--code", *config.families, "--distances", *map(str, config.distances),
           "--p", *(f"{p:g}" for p in config.p_values), "--decoder", *config.decoders, "--noise", config.noise]
    if config.eta is not None:
        cmd += ["--eta", f"{config.eta:g}"]
    cmd += ["--rounds", str(config.rounds)]
    if config.basis is not None:
        cmd += ["--basis", config.basis]
    cmd += ["--max-shots", str(config.max_shots), "--max-errors", str(config.max_errors),
            "--workers", str(config.num_workers), "--out", str(path)]
    return shlex.join(cmd)


# ---------------------------------------------------------------------------- thresholds
def rounds_rule(row) -> str:
    """How a row's rounds relate to its distance: ``"1"``, ``"d"``, ``"3d"`` or a fixed count.

    Example:
        >>> from qec_gym.sim.sweep import SweepRow
        >>> rounds_rule(SweepRow("repetition", 5, 15, "z", 0.01, "uniform", None, "pymatching", "qec_gym", 10, 1))
        '3d'
    """
    if row.rounds == 1:
        return "1"
    if row.rounds % row.distance == 0:
        k = row.rounds // row.distance
        return "d" if k == 1 else f"{k}d"
    return str(row.rounds)


@dataclasses.dataclass(frozen=True)
class ThresholdStudy:
    """One curve family (code, decoder, noise, rounds rule, source) and what was estimated from it.

    Attributes:
        key: (source, family, decoder, noise, eta, basis, rounds rule).
        rows: Its sweep rows.
        estimate: The threshold (None when it could not be estimated; ``error`` says why).
        error: Why there is no estimate.
        suppression: Lambda factors at the lowest p with errors at every distance.
    """

    key: tuple
    rows: tuple
    estimate: object | None
    error: str | None
    suppression: tuple

    @property
    def title(self) -> str:
        source, family, decoder, noise, eta, basis, rule = self.key
        noise = f"{noise} (eta={eta:g})" if eta is not None else noise
        extra = "" if source == "qec_gym" else f", {source} circuits"
        return f"{family}, {decoder}, {noise} noise, rounds = {rule}{extra}"

    @property
    def slug(self) -> str:
        source, family, decoder, noise, eta, basis, rule = self.key
        parts = [family, decoder, noise] + ([f"eta{eta:g}"] if eta is not None else []) + [f"r{rule}"]
        parts += [] if source == "qec_gym" else [source]
        return "_".join(str(p) for p in parts).replace("/", "-")

    def cells(self) -> list[str]:
        source, family, decoder, noise, eta, basis, rule = self.key
        ds = sorted({r.distance for r in self.rows})
        ps = sorted({r.p for r in self.rows})
        est = self.estimate
        if est is not None:
            thr = f"**{est.value:.3%}** [{est.low:.3%}, {est.high:.3%}]"
            pairs = "; ".join(f"d{c.d_small}/d{c.d_large}: {c.value:.3%} [{c.low:.3%}, {c.high:.3%}]" for c in est.pairs)
        else:
            thr, pairs = f"not estimated: {self.error}", "-"
        lam = "; ".join(f"d{f.d_small}/d{f.d_large}: {f.value:.2f} [{f.low:.2f}, {f.high:.2f}] at p={f.p:g}"
                        for f in self.suppression) or "-"
        return [
            f"`{family}`" + ("" if source == "qec_gym" else f" ({source})"), f"`{decoder}`",
            noise + (f", eta={eta:g}" if eta is not None else ""), rule, ", ".join(map(str, ds)),
            f"{ps[0]:g}-{ps[-1]:g}", thr, pairs, lam, f"{sum(r.shots for r in self.rows):,}",
        ]

    def plot(self, figdir: pathlib.Path, *, confidence: float) -> list[pathlib.Path]:
        """Logical error vs p (with the threshold) and vs distance (below threshold)."""
        from qec_gym.sim.plots import plot_threshold, plot_vs_distance

        est, title = self.estimate, self.title
        if est is not None and not (est.low > 0 and math.isfinite(est.high)):
            # An interval reaching 0 or infinity cannot be shaded on a log axis: say it in the title.
            est, title = None, f"{title} (threshold {self.estimate.value:.3%}, interval unbounded)"
        figs = [plot_threshold(self.rows, figdir / f"threshold__{self.slug}__vs_p.png", threshold=est,
                               title=title, confidence=confidence)]
        ps = self.distance_plot_ps()
        if ps and len({r.distance for r in self.rows}) >= 2:
            figs.append(plot_vs_distance(self.rows, figdir / f"threshold__{self.slug}__vs_distance.png", p=ps,
                                         title=f"{self.title}: below threshold", confidence=confidence))
        return figs

    def distance_plot_ps(self) -> list[float]:
        """Up to three p values below the threshold (all p without an estimate) sampled with
        errors at every distance: lowest, middle, highest."""
        ds = {r.distance for r in self.rows}
        ok = sorted(p for p in {r.p for r in self.rows}
                    if {r.distance for r in self.rows if r.p == p and r.errors > 0} == ds
                    and (self.estimate is None or p < self.estimate.value))
        if len(ok) <= 3:
            return ok
        return [ok[0], ok[len(ok) // 2], ok[-1]]


def threshold_studies(rows: Sequence, *, n_bootstrap: int = 1000, confidence: float = 0.95) -> list[ThresholdStudy]:
    """Group sweep rows into curve families and estimate each one's threshold and Lambda.

    A family with a single distance, or whose curves do not cross in the sampled range, gets
    ``estimate=None`` and the reason in ``error`` (the table says how to extend the sweep).

    Example:
        >>> from qec_gym.sim.sweep import SweepRow
        >>> rows = [SweepRow("repetition", d, d, "z", p, "uniform", None, "pymatching", "qec_gym",
        ...                  10_000, e) for d, p, e in ((3, .01, 90), (3, .1, 900), (5, .01, 30), (5, .1, 1500))]
        >>> s = threshold_studies(rows, n_bootstrap=0)[0]
        >>> 0.01 < s.estimate.value < 0.1, s.suppression[0].d_large
        (True, 5)
    """
    from qec_gym.sim.threshold import curves_from_rows, estimate_threshold, suppression_factors

    groups: dict[tuple, list] = {}
    for r in rows:
        key = (r.source, r.family, r.decoder, r.noise, r.eta, r.basis, rounds_rule(r))
        groups.setdefault(key, []).append(r)
    studies = []
    for key in sorted(groups, key=str):
        members = groups[key]
        curves = curves_from_rows(members)
        estimate, error = None, None
        if len(curves) < 2:
            error = f"one distance only ({sorted(curves)}); sample a second distance."
        else:
            try:
                estimate = estimate_threshold(curves, n_bootstrap=n_bootstrap, confidence=confidence, seed=0)
            except ValueError as e:  # NoCrossingError included: its message says which way to extend
                error = str(e)
        lam: tuple = ()
        ds = set(curves)
        low = sorted(p for p in {r.p for r in members}
                     if {r.distance for r in members if r.p == p and r.errors > 0} == ds)
        if len(ds) >= 2 and low:
            try:
                lam = suppression_factors(curves, low[0], confidence=confidence)
            except ValueError:
                lam = ()
        studies.append(ThresholdStudy(key, tuple(members), estimate, error, lam))
    return studies


# ---------------------------------------------------------------------------- resources
def resource_rows(families: Sequence[str] | None = None, *, distances: Sequence[int] = (3, 5, 7)) -> list[dict]:
    """Resources of one round for each family x distance (`qec_gym.codes.resources`).

    Returns:
        Dicts with ``family, distance, data, ancilla, qubits, two_qubit_gates, layers,
        round_ns``, or ``family, distance, error`` where the family rejects the distance.
    """
    from qec_gym.codes import FAMILIES, CodeSpec, resources

    out = []
    for family in families if families is not None else FAMILIES:
        for d in distances:
            try:
                r = resources(CodeSpec(family, d))
            except (ValueError, TypeError) as e:
                out.append({"family": family, "distance": d, "error": str(e)})
                continue
            out.append({"family": family, "distance": d, "data": r.data_qubits, "ancilla": r.ancilla_qubits,
                        "qubits": r.qubits, "two_qubit_gates": r.two_qubit_gates_per_round,
                        "layers": r.layers_per_round, "round_ns": r.round_duration_ns})
    return out


# ---------------------------------------------------------------------------- photonic suitability
@dataclasses.dataclass(frozen=True)
class Suitability:
    """Expected logical error per round of each menu entry over an env table's noise grid.

    Attributes:
        env_id: The env whose table this is.
        axis_key: The drift key of the noise axis (``p_loss`` for the photonic env).
        grid: Noise multipliers m.
        level: The axis's probability at each m (e.g. photon loss per round), or None.
        labels: Menu entry labels; ``qubits`` their qubit counts.
        p_round: [entry][grid point] expected logical error per round (``table.expected``).
        low, high: Bounds on ``p_round``: for a fitted table (`qec_gym.envs.table.TableConfig` with
            ``target_errors``) the fit's interval (`WindowTable.p_shot_interval`); for a v1 table
            approximate Clopper-Pearson bounds from the cell's raw counts (errors of both memory
            bases summed and treated as one binomial).
        target: The reward's logical-error-per-round target.
        shots: [entry][grid point] shots the table simulated in that cell (per memory basis).
        interval: How ``low``/``high`` were obtained (``"fit"`` or ``"Clopper-Pearson"``).
    """

    env_id: str
    axis_key: str
    grid: tuple[float, ...]
    level: tuple[float, ...] | None
    labels: tuple[str, ...]
    qubits: tuple[int, ...]
    p_round: tuple[tuple[float, ...], ...]
    low: tuple[tuple[float, ...], ...]
    high: tuple[tuple[float, ...], ...]
    target: float
    shots: tuple[tuple[int, ...], ...]
    interval: str

    def best(self, t: int) -> int | None:
        """Cheapest entry (fewest qubits, then lowest p) meeting the target at grid point t."""
        ok = [e for e in range(len(self.labels)) if self.p_round[e][t] <= self.target]
        return min(ok, key=lambda e: (self.qubits[e], self.p_round[e][t])) if ok else None

    def tied(self, t: int) -> tuple[int, ...]:
        """The best entry and the entries of equal qubit count whose intervals overlap its
        interval at grid point t: the table cannot rank them (empty when none meets the target)."""
        b = self.best(t)
        if b is None:
            return ()
        same = [e for e in range(len(self.labels)) if self.qubits[e] == self.qubits[b] and e != b
                and self.low[e][t] <= self.high[b][t] and self.low[b][t] <= self.high[e][t]]
        return (b, *sorted(same))

    def lowest(self, t: int) -> int:
        """Entry with the lowest expected logical error at grid point t."""
        return min(range(len(self.labels)), key=lambda e: self.p_round[e][t])

    def markdown(self, figure: str, *, confidence: float) -> list[str]:
        md = [
            f"From `{self.env_id}`'s packaged table (`env.unwrapped.table`, sampled stim circuits decoded with "
            f"calibrated priors): the expected logical error per round of each menu entry at each level of the drifting "
            f"`{self.axis_key}`. **Best**: the fewest qubits whose expected p_L/round meets the reward's target "
            f"{self.target:g} (ties: lower p_L). {self.interval_note(confidence)} 'Marginal' marks a best entry whose "
            "interval reaches above the target.", "",
        ]
        head = ["m", self.axis_key, "best entry", "qubits", "p_L/round [CI]", "lowest-p_L entry", "its p_L/round"]
        rows = []
        for t, m in enumerate(self.grid):
            b, lo = self.best(t), self.lowest(t)
            level = f"{self.level[t]:.4g}" if self.level is not None else "-"
            if b is None:
                best = ["none meets the target", "-", "-"]
            else:
                mark = " (marginal)" if self.high[b][t] > self.target else ""
                ties = [f"`{self.labels[e]}`" for e in self.tied(t)[1:]]
                mark += f"; tied with {', '.join(ties)}" if ties else ""
                best = [f"`{self.labels[b]}`{mark}", str(self.qubits[b]),
                        f"{self.p_round[b][t]:.2e} [{self.low[b][t]:.1e}, {self.high[b][t]:.1e}]"]
            rows.append([f"{m:.3g}", level, *best, f"`{self.labels[lo]}`", f"{self.p_round[lo][t]:.2e}"])
        md += table_lines(head, rows) + [""]
        md += ["Which entry wins where (entries joined by '=' are tied within their intervals): " + self.regimes() + ".",
               "", f"![{self.env_id}: logical error per round by loss level]({figure})", ""]
        return md

    def interval_note(self, confidence: float) -> str:
        """One sentence: the table's real shots per cell and where the interval comes from."""
        flat = [n for row in self.shots for n in row]
        lo, hi = min(flat), max(flat)
        shots = f"{lo:,} shots" if lo == hi else f"{lo:,} to {hi:,} shots (adaptive)"
        if self.interval == "fit":
            return (f"Each table cell holds {shots} per memory basis; p_L is the table's monotone log-log fit and "
                    f"the interval its {confidence:.0%} posterior interval.")
        return (f"Each table cell holds {shots} per memory basis; the interval is an approximate {confidence:.0%} "
                "Clopper-Pearson interval from the cell's counts.")

    def regimes(self) -> str:
        """Consecutive grid ranges with the same best entries (ties merged), e.g.
        ``'`rotated_surface d5 ...` = `xzzx d5 ...` for m = 0.3-0.85; ...'``."""
        parts = []
        t = 0
        while t < len(self.grid):
            b = frozenset(self.tied(t))
            u = t
            while u + 1 < len(self.grid) and frozenset(self.tied(u + 1)) == b:
                u += 1
            name = "no entry meets the target" if not b else " = ".join(f"`{self.labels[e]}`" for e in sorted(b))
            span = f"m = {self.grid[t]:.3g}" if t == u else f"m = {self.grid[t]:.3g}-{self.grid[u]:.3g}"
            parts.append(f"{name} for {span}")
            t = u + 1
        return "; ".join(parts)


def photonic_suitability(env_id: str = PHOTONIC_ENV, *, confidence: float = 0.95) -> Suitability:
    """Read `Suitability` from a registered env's table (no simulation: the packaged table).

    Example:
        >>> s = photonic_suitability()
        >>> s.axis_key, len(s.grid) == len(s.p_round[0]), s.target
        ('p_loss', True, 0.001)
    """
    import gymnasium as gym

    import qec_gym  # noqa: F401  (registers the ids)
    from qec_gym.noise.params import PROBABILITY_FIELDS
    from qec_gym.sim.stats import binomial_ci, per_round

    env = gym.make(env_id)
    try:
        u = env.unwrapped
        table, menu, target = u.table, u.menu, float(u.reward_config.target)
        axis = table.config.axis
        grid = [float(m) for m in table.grid]
        fitted = bool(getattr(table.config, "fitted", False))
        p, lo, hi, shots = [], [], [], []
        for e, entry in enumerate(menu):
            rounds = int(entry.distance)
            p.append(tuple(float(table.expected(e, m).p_round) for m in grid))
            cells = [int(n) for n in table.shots[e, :, 0]]  # per cell: v1 tables all equal, fitted ones adaptive
            if fitted:  # the fit's interval: p_L is the fit, not the raw counts
                if not math.isclose(confidence, 0.95):
                    raise ValueError(f"{env_id}'s fitted table stores a 95% interval; pass confidence=0.95, "
                                     f"got {confidence}.")
                bounds = [table.p_shot_interval(e, m) for m in grid]
            else:
                bounds = [binomial_ci(min(int(table.errors[e, t, 0]), n), n, confidence=confidence)
                          for t, n in enumerate(cells)]
            lo.append(tuple(per_round(min(b[0], 0.5), rounds) for b in bounds))
            hi.append(tuple(per_round(min(b[1], 0.5), rounds) for b in bounds))
            shots.append(tuple(cells))
        level = tuple(float(getattr(axis.noise(m), axis.key)) for m in grid) if axis.key in PROBABILITY_FIELDS else None
        return Suitability(env_id, axis.key, tuple(grid), level, tuple(m.label for m in menu),
                           tuple(int(m.qubits) for m in menu), tuple(p), tuple(lo), tuple(hi), target,
                           tuple(shots), "fit" if fitted else "Clopper-Pearson")
    finally:
        env.close()


def plot_suitability(suit: Suitability, path: str | os.PathLike, *, title: str | None = None) -> pathlib.Path:
    """Expected logical error per round of each entry vs the noise multiplier, with the target."""
    from qec_gym.eval.plots import _plain_log_ticks
    from qec_gym.sim.plots import new_figure, save_figure

    fig, axes = new_figure(1, 1, figsize=(7.4, 4.6))
    ax = axes[0]
    styles = {}
    markers = ["o", "s", "^", "D", "v", "P"]
    for e, label in enumerate(suit.labels):
        family = label.split()[0]
        styles.setdefault(family, ("-", "--", ":", "-.")[len(styles) % 4])
        p = suit.p_round[e]
        err = [[max(0.0, a - b) for a, b in zip(p, suit.low[e])], [max(0.0, b - a) for a, b in zip(p, suit.high[e])]]
        ax.errorbar(suit.grid, p, yerr=err, linestyle=styles[family], marker=markers[e % len(markers)], markersize=3,
                    capsize=2, linewidth=1.1, label=f"{label} ({suit.qubits[e]} q)")
    ax.axhline(suit.target, color="tab:red", linestyle=":", linewidth=1.5, label=f"target {suit.target:g}")
    ax.set_xscale("log")
    _plain_log_ticks(ax, "x")
    ax.set_yscale("log")
    ax.set_xlabel(f"{suit.axis_key} multiplier m")
    ax.set_ylabel("logical error per round")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7)
    ax.set_title(title or f"{suit.env_id}: menu entries by noise level", fontsize=10)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------- STIRAP
def stirap_optima(rows: Sequence[Mapping]) -> list[dict]:
    """Per (regime, family, distance) of `benchmarks/stirap_optimum.py` rows: the row of least
    logical error per round (its ``width_s``, ``p_round``, ``p_round_lo``, ``p_round_hi``).

    Example:
        >>> rows = [dict(regime="a", family="f", distance=3, width_s=w, p_round=p, p_round_lo=p, p_round_hi=p)
        ...         for w, p in ((1e-8, 3e-3), (5e-8, 1e-3), (1e-7, 2e-3))]
        >>> stirap_optima(rows)[0]["width_s"]
        5e-08
    """
    best: dict[tuple, Mapping] = {}
    for r in rows:
        key = (r["regime"], r["family"], int(r["distance"]))
        if key not in best or float(r["p_round"]) < float(best[key]["p_round"]):
            best[key] = r
    return [dict(regime=k[0], family=k[1], distance=k[2], **{c: float(r[c]) for c in
                                                              ("width_s", "p_round", "p_round_lo", "p_round_hi")})
            for k, r in sorted(best.items())]


def stirap_lines(path: str | os.PathLike) -> list[str]:
    """Markdown for the STIRAP width study: per regime, each code's optimum pulse width, and the
    code that wins at the largest distance (its interval clear of every other code's; else a tie).

    Example:
        >>> stirap_lines("no/such/stirap_optimum.csv")[0].startswith("Not available")
        True
    """
    path = pathlib.Path(path)
    rows = _stored_rows(path, "STIRAP study", "`python benchmarks/stirap_optimum.py`")
    if isinstance(rows, str):
        return [rows, ""]
    opt = stirap_optima([dict(zip(rows[0], r)) for r in rows[1:]])
    md = [f"From `{path}` (`qec_gym.noise.stirap`: three-level STIRAP gates, T1/T2 idling; rotated memory, "
          "rounds = d, both bases, pymatching; 95% intervals).", ""]
    md += table_lines(["regime", "code", "d", "optimum width (ns)", "logical error / round"],
                      [[o["regime"], f"`{o['family']}`", o["distance"], f"{o['width_s'] * 1e9:.0f}",
                        f"{o['p_round']:.2e} [{o['p_round_lo']:.1e}, {o['p_round_hi']:.1e}]"] for o in opt])
    md += [""]
    for regime in sorted({o["regime"] for o in opt}):
        d = max(o["distance"] for o in opt if o["regime"] == regime)
        mine = sorted((o for o in opt if o["regime"] == regime and o["distance"] == d), key=lambda o: o["p_round"])
        first = mine[0]
        clear = all(first["p_round_hi"] < o["p_round_lo"] for o in mine[1:])
        verdict = (f"`{first['family']}` wins" if clear else
                   f"no code wins clearly (`{first['family']}` lowest, intervals overlap)")
        md += [f"- **{regime}**, d={d}: {verdict} at {first['width_s'] * 1e9:.0f} ns pulses "
               f"({first['p_round']:.2e} per round)."]
    return md + [""]


# ---------------------------------------------------------------------------- cats
def cat_optimum_lines(path: str | os.PathLike, *, max_rows: int = 50) -> list[str]:
    """Markdown for the cat-qubit optimum CSV: the minimum of ``total`` per (distance,
    kappa1_over_kappa2) where those columns exist, then the table itself; a sentence saying it
    is not available when the file is missing.

    Example:
        >>> cat_optimum_lines("no/such/cat_optimum.csv")[0].startswith("Not available")
        True
    """
    path = pathlib.Path(path)
    table = _stored_rows(path, "cat optimum table", "`python benchmarks/cat_optimum.py`")
    if isinstance(table, str):
        return [table, ""]
    head, body = table[0], table[1:]
    md = [f"From `{path}` (cat qubits + repetition code; CX bit flips from the two-mode simulation of "
          "`qec_gym.bosonic.cx`).", ""]
    col = {name: i for i, name in enumerate(head)}
    if "nbar" in col and "total" in col:
        keys = [k for k in ("distance", "kappa1_over_kappa2") if k in col]
        best: dict[tuple, list[str]] = {}
        for row in body:
            try:
                total = float(row[col["total"]])
            except (ValueError, IndexError):
                continue
            key = tuple(row[col[k]] for k in keys)
            if key not in best or total < float(best[key][col["total"]]):
                best[key] = row
        shown = [c for c in head if c in ("distance", "kappa1_over_kappa2", "nbar", "phase_flip", "bit_flip", "total",
                                          "modes", "photons")]
        md += ["Optimum mean photon number (least `total` logical error) per "
               + (", ".join(f"`{k}`" for k in keys) or "table") + ":", ""]
        ordered = [r for _, r in sorted(best.items(), key=lambda kv: [_num(x) for x in kv[0]])]
        md += table_lines(shown, [[_short(r[col[c]]) for c in shown] for r in ordered])
        md += ["", "All rows:", ""]
    md += table_lines(head, [[_short(c) for c in r] for r in body[:max_rows]])
    md += [""] + ([f"({len(body) - max_rows} more rows in the CSV.)", ""] if len(body) > max_rows else [])
    return md


def _stored_rows(path: pathlib.Path, what: str, producer: str) -> list[list[str]] | str:
    """The CSV at ``path`` as [header, *rows], or the sentence to print when it is missing or empty."""
    if not path.is_file():
        return f"Not available: no {what} at `{path}` ({producer} writes it)."
    with open(path, newline="") as f:
        table = list(csv.reader(f))
    return table if len(table) >= 2 else f"`{path}` holds no rows."


def _num(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _short(cell: str) -> str:
    """Numbers in a CSV cell to 4 significant digits (tables stay readable)."""
    try:
        x = float(cell)
    except ValueError:
        return cell
    if math.isfinite(x) and x != int(x):
        return f"{x:.4g}"
    return cell
