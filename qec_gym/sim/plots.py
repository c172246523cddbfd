"""Plots of stored sweep results (PNG; they read rows, never re-simulate).

matplotlib is imported inside the functions and drives an Agg canvas directly (no pyplot, no
global backend switch), so importing this module is free and plotting works headless.

Curves are grouped by (source, family, decoder, noise, eta, basis): line style and marker
encode the group, colour the distance (or p). Points with zero logical errors are left out (a
log axis cannot show them), and so are saturated points (per-shot error above ``saturation``,
where the per-round rate of a near-coin-flip decoder is noise); error bars are Clopper-Pearson
intervals mapped to per-round rates.

Example:
    >>> import tempfile, pathlib
    >>> from qec_gym.sim.sweep import SweepRow
    >>> rows = [SweepRow("repetition", d, d, "z", p, "uniform", None, "pymatching", "qec_gym",
    ...                  10_000, int(2e5 * p ** 2 * d)) for d in (3, 5) for p in (0.01, 0.03)]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = plot_threshold(rows, pathlib.Path(tmp) / "t.png")
    ...     out.stat().st_size > 1000
    True
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Iterable, Sequence

from qec_gym.sim.threshold import ThresholdEstimate

_STYLES = [("o", "-"), ("s", "--"), ("^", ":"), ("D", "-."), ("v", (0, (5, 1))), ("P", (0, (1, 1)))]
_GROUP_KEYS = ("source", "family", "decoder", "noise", "eta", "basis")


def _group_label(key: tuple, varying: list[int]) -> str:
    names = dict(zip(_GROUP_KEYS, key))
    parts = []
    for i in varying:
        k = _GROUP_KEYS[i]
        v = names[k]
        parts.append(f"eta={v:g}" if k == "eta" and v is not None else str(v))
    return " ".join(parts)


def _groups(rows: list) -> tuple[dict[tuple, list], list[int]]:
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault(tuple(getattr(r, k) for k in _GROUP_KEYS), []).append(r)
    keys = list(groups)
    varying = [i for i in range(len(_GROUP_KEYS)) if len({k[i] for k in keys}) > 1]
    return groups, varying


def _errorbar(ax, rows: list, x_of, *, confidence: float, saturation: float | None, **style) -> None:
    cap = 1.0 if saturation is None else saturation
    pts = sorted(((x_of(r), r) for r in rows if r.errors > 0 and r.per_shot <= cap), key=lambda t: t[0])
    if not pts:
        return
    xs = [x for x, _ in pts]
    ys = [r.per_round for _, r in pts]
    cis = [r.ci_per_round(confidence) for _, r in pts]
    yerr = [[max(0.0, y - lo) for y, (lo, _) in zip(ys, cis)], [max(0.0, hi - y) for y, (_, hi) in zip(ys, cis)]]
    ax.errorbar(xs, ys, yerr=yerr, capsize=2, markersize=4, linewidth=1.2, **style)


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize=(6.0, 4.5), sharex: bool = False, height_ratios=None):
    """A pyplot-free Agg figure and its axes as a flat list (safe in worker processes and tests)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=110)
    FigureCanvasAgg(fig)
    grid = {"height_ratios": height_ratios} if height_ratios else None
    axes = fig.subplots(nrows, ncols, sharex=sharex, squeeze=False, gridspec_kw=grid)
    return fig, list(axes.ravel())


def _new_axes(figsize=(6.0, 4.5)):
    fig, (ax,) = new_figure(figsize=figsize)
    return fig, ax


def save_figure(fig, path: str | pathlib.Path) -> pathlib.Path:
    """Lay out ``fig`` and write it as PNG to ``path`` (folders created); returns the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def plot_threshold(
    rows: Iterable,
    path: str | pathlib.Path,
    *,
    threshold: ThresholdEstimate | None = None,
    title: str | None = None,
    confidence: float = 0.95,
    saturation: float | None = 0.4,
) -> pathlib.Path:
    """Logical error per round vs physical error rate (log-log), one curve per distance and group.

    Args:
        rows: `qec_gym.sim.sweep.SweepRow` records (e.g. from `load_results`).
        path: PNG to write (parent folders are created).
        threshold: Marked as a vertical line with its interval shaded.
        title: Figure title.
        confidence: Confidence of the error bars.
        saturation: Leave out points whose per-shot error exceeds this (``None``: keep all).

    Returns:
        ``path`` as a ``pathlib.Path``.

    Raises:
        ValueError: no rows.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("no rows to plot: run a sweep first (qec-gym sweep ... --out results.csv).")
    import matplotlib

    fig, ax = _new_axes()
    groups, varying = _groups(rows)
    distances = sorted({r.distance for r in rows})
    cmap = matplotlib.colormaps["viridis"]
    colour = {d: cmap(i / max(1, len(distances) - 1) * 0.85) for i, d in enumerate(distances)}
    for gi, (key, members) in enumerate(groups.items()):
        marker, line = _STYLES[gi % len(_STYLES)]
        prefix = _group_label(key, varying)
        for d in distances:
            sel = [r for r in members if r.distance == d]
            if sel:
                label = f"{prefix} d={d}".strip()
                _errorbar(ax, sel, lambda r: r.p, confidence=confidence, saturation=saturation,
                          marker=marker, linestyle=line, color=colour[d], label=label)
    if threshold is not None:
        ax.axvspan(threshold.low, threshold.high, color="tab:red", alpha=0.12, linewidth=0)
        ax.axvline(threshold.value, color="tab:red", linewidth=1,
                   label=f"threshold {threshold.value:.3%} [{threshold.low:.3%}, {threshold.high:.3%}]")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("physical error rate p")
    ax.set_ylabel("logical error per round")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def plot_vs_distance(
    rows: Iterable,
    path: str | pathlib.Path,
    *,
    p: float | Sequence[float],
    title: str | None = None,
    confidence: float = 0.95,
    saturation: float | None = 0.4,
) -> pathlib.Path:
    """Logical error per round vs code distance (log y) at fixed physical error rate(s).

    Args:
        rows: `qec_gym.sim.sweep.SweepRow` records.
        path: PNG to write.
        p: The physical error rate(s) to show (matched with a relative tolerance of 1e-9).
        title: Figure title.
        confidence: Confidence of the error bars.
        saturation: Leave out points whose per-shot error exceeds this (``None``: keep all).

    Raises:
        ValueError: no row at the requested p.

    Example:
        >>> import tempfile, pathlib
        >>> from qec_gym.sim.sweep import SweepRow
        >>> rows = [SweepRow("rotated_surface", d, d, "x", 0.003, "uniform", None, "pymatching",
        ...                  "qec_gym", 10_000, 300 // d) for d in (3, 5, 7)]
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     plot_vs_distance(rows, pathlib.Path(tmp) / "d.png", p=0.003).name
        'd.png'
    """
    ps = [p] if isinstance(p, (int, float)) else list(p)
    rows = [r for r in rows if any(math.isclose(r.p, q, rel_tol=1e-9) for q in ps)]
    if not rows:
        raise ValueError(f"no rows at p={ps}; pass a p value that the sweep sampled.")
    import matplotlib

    fig, ax = _new_axes()
    groups, varying = _groups(rows)
    cmap = matplotlib.colormaps["plasma"]
    colour = {q: cmap(i / max(1, len(ps) - 1) * 0.8) for i, q in enumerate(ps)}
    for gi, (key, members) in enumerate(groups.items()):
        marker, line = _STYLES[gi % len(_STYLES)]
        prefix = _group_label(key, varying)
        for q in ps:
            sel = [r for r in members if math.isclose(r.p, q, rel_tol=1e-9)]
            if sel:
                _errorbar(ax, sel, lambda r: r.distance, confidence=confidence, saturation=saturation,
                          marker=marker, linestyle=line, color=colour[q], label=f"{prefix} p={q:g}".strip())
    ax.set_yscale("log")
    ax.set_xlabel("code distance d")
    ax.set_ylabel("logical error per round")
    ax.set_xticks(sorted({r.distance for r in rows}))
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)
