"""sinter-backed sweeps over code family x distance x decoder x physical error rate.

A `SweepConfig` names what to sample; `make_tasks` turns it into ``sinter.Task`` objects built
from qec-gym's own circuits (`qec_gym.codes.build_circuit`) with the detector error model each
decoder needs; `run_sweep` hands them to ``sinter.collect`` with qec-gym's decoders
(`qec_gym.decoders.sinter_adapter`) and a save/resume CSV, so an interrupted sweep picks up where
it stopped and a finished one is not sampled again; `load_results` reads the CSV back as tidy
`SweepRow` records.

Backends. ``backend="sinter"`` (the default) hands the tasks to ``sinter.collect``, whose
worker processes draw their own random seeds: statistically, not bit-for-bit, reproducible.
``backend="local"`` and ``backend="ray"`` split each task into batches of ``batch_shots`` shots,
batch ``k`` sampled by stim with a seed derived from (``seed``, the task's strong id, ``k``) and
decoded by the same sinter decoders, and stop a task at the first batch (in batch order) at which
its shots or errors reach the limits: the stored counts are a function of the seed alone, the
same on this machine's processes as on Ray workers (`qec_gym.sim.executor`). All backends write
and resume the same sinter CSV. (stim's seeded output is fixed for one stim version and CPU
architecture; a cluster mixing CPUs with different SIMD widths may differ in individual shots.)
Everything derived from a stored CSV (thresholds, plots) is deterministic.

Example:
    >>> cfg = SweepConfig(families=("repetition",), distances=(3, 5), p_values=(0.01,),
    ...                   max_shots=200, max_errors=10, num_workers=1)
    >>> [t.json_metadata["d"] for t in make_tasks(cfg)]
    [3, 5]
    >>> cfg.rounds_for(5)
    5
"""

from __future__ import annotations

import functools
import io
import json
import math
import pathlib
import re
import time
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import sinter

from qec_gym.codes import FAMILIES, CodeSpec, build_circuit
from qec_gym.decoders import DECODERS, get_decoder
from qec_gym.decoders.sinter_adapter import collect, sinter_decoders
from qec_gym.noise.params import NoiseParams
from qec_gym.sim.cache import detector_error_model
from qec_gym.sim.csvstore import json_field, locked, readable_text, repair
from qec_gym.sim.stats import binomial_ci


def _biased(p: float, eta: float | None) -> NoiseParams:
    if eta is None:
        raise ValueError("noise model 'biased' needs a Z-bias: pass eta (e.g. eta=100).")
    return NoiseParams.biased(p, eta)


NOISE_MODELS: Mapping[str, Callable[[float, float | None], NoiseParams]] = types.MappingProxyType({
    "uniform": lambda p, eta: NoiseParams.uniform(p),
    "sd6": lambda p, eta: NoiseParams.sd6(p),
    "si1000": lambda p, eta: NoiseParams.si1000(p),
    "code_capacity": lambda p, eta: NoiseParams.code_capacity(p),
    "phenomenological": lambda p, eta: NoiseParams.phenomenological(p),
    "biased": _biased,
})
"""Noise model name -> ``f(p, eta) -> NoiseParams`` (the `NoiseParams` presets; read-only)."""

_ROUNDS_RULE = re.compile(r"^\s*(\d*)\s*\*?\s*d\s*$")


def noise_model(name: str, p: float, *, eta: float | None = None) -> NoiseParams:
    """The `NoiseParams` of noise model ``name`` at physical error rate ``p``.

    Raises:
        ValueError: unknown name, a p the preset rejects, or eta missing for ``biased``.

    Example:
        >>> noise_model("biased", 0.01, eta=100).eta
        100.0
    """
    if name not in NOISE_MODELS:
        raise ValueError(f"unknown noise model {name!r}; choose one of {sorted(NOISE_MODELS)}.")
    if eta is not None and name != "biased":
        raise ValueError(f"eta only applies to the 'biased' noise model, not {name!r}; drop eta.")
    return NOISE_MODELS[name](p, eta)


@dataclass(frozen=True)
class SweepConfig:
    """What a sweep samples: every family x distance x p x decoder combination.

    Args:
        families: Code families (see `qec_gym.codes.FAMILIES`).
        distances: Code distances, each valid for every family.
        p_values: Physical error rates handed to the noise model.
        decoders: Decoder names (see `qec_gym.decoders.DECODERS`).
        noise: Noise model name, a key of `NOISE_MODELS`.
        eta: Z-bias for the ``biased`` noise model (required there, rejected elsewhere).
        rounds: ``"d"`` (rounds = distance), ``"<k>d"`` (e.g. ``"3d"``) or a fixed int
            (``1`` for code-capacity noise).
        basis: Memory basis; ``None`` takes each family's default.
        max_shots: Stop a task after this many shots.
        max_errors: Stop a task after this many logical errors (the usual stopping rule:
            relative precision ~ 1/sqrt(max_errors)).
        num_workers: Worker processes of the ``sinter`` and ``local`` backends of `run_sweep`
            (the Ray backend uses the Ray CPUs instead).

    Raises:
        ValueError: any invalid field; the message names the fix.

    Example:
        >>> SweepConfig(families=["xzzx"], distances=[3], p_values=[0.01], noise="biased",
        ...             eta=100, rounds="3d").rounds_for(3)
        9
    """

    families: tuple[str, ...]
    distances: tuple[int, ...]
    p_values: tuple[float, ...]
    decoders: tuple[str, ...] = ("pymatching",)
    noise: str = "uniform"
    eta: float | None = None
    rounds: int | str = "d"
    basis: str | None = None
    max_shots: int = 100_000
    max_errors: int = 1_000
    num_workers: int = 2

    def __post_init__(self) -> None:
        for name in ("families", "distances", "p_values", "decoders"):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                raise ValueError(f"SweepConfig.{name} must be a sequence, e.g. ({value!r},); got {value!r}.")
            value = tuple(value)
            if not value:
                raise ValueError(f"SweepConfig.{name} is empty: give at least one value.")
            if len(set(value)) != len(value):
                raise ValueError(f"SweepConfig.{name} has duplicates {value!r}: list each value once.")
            object.__setattr__(self, name, value)
        for f in self.families:
            if f not in FAMILIES:
                raise ValueError(f"unknown code family {f!r}; choose from {list(FAMILIES)}.")
        for dec in self.decoders:
            if dec not in DECODERS:
                raise ValueError(f"unknown decoder {dec!r}; choose from {sorted(DECODERS)}.")
        for p in self.p_values:
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p < 1:
                raise ValueError(f"physical error rate {p!r} must lie in (0, 1); e.g. p_values=(0.005, 0.01).")
        object.__setattr__(self, "p_values", tuple(float(p) for p in self.p_values))
        if self.noise not in NOISE_MODELS:
            raise ValueError(f"unknown noise model {self.noise!r}; choose from {sorted(NOISE_MODELS)}.")
        if self.eta is not None:
            object.__setattr__(self, "eta", float(self.eta))
        for p in self.p_values:  # the preset validates p (e.g. si1000's 5p <= 1) and eta
            noise_model(self.noise, p, eta=self.eta)
        if isinstance(self.rounds, str):
            match = _ROUNDS_RULE.match(self.rounds)
            if match is None or (match.group(1) and int(match.group(1)) == 0):
                raise ValueError(
                    f"rounds rule {self.rounds!r} not understood: use 'd', a multiple such as '3d', or an int."
                )
        elif isinstance(self.rounds, bool) or not isinstance(self.rounds, int) or self.rounds < 1:
            raise ValueError(f"rounds must be 'd', e.g. '3d', or an int >= 1; got {self.rounds!r}.")
        for name in ("max_shots", "max_errors", "num_workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SweepConfig.{name} must be an int >= 1, got {value!r}.")
        self.specs()  # CodeSpec checks distance parity, basis and rounds per family

    def rounds_for(self, distance: int) -> int:
        """Rounds of the memory experiment at ``distance`` under the ``rounds`` rule."""
        if isinstance(self.rounds, int):
            return self.rounds
        factor = _ROUNDS_RULE.match(self.rounds).group(1)  # type: ignore[union-attr]
        return (int(factor) if factor else 1) * distance

    def specs(self) -> list[CodeSpec]:
        """Every `CodeSpec` of the sweep (family-major, then distance).

        Raises:
            ValueError: a distance or basis that some family does not support.
        """
        out = []
        for family in self.families:
            for d in self.distances:
                try:
                    out.append(CodeSpec(family, d, rounds=self.rounds_for(d), basis=self.basis))
                except (ValueError, TypeError) as e:
                    raise ValueError(f"SweepConfig: {family} at distance {d!r}: {e}") from None
        return out

    def noise_at(self, p: float) -> NoiseParams:
        """The `NoiseParams` this sweep uses at physical error rate ``p``."""
        return noise_model(self.noise, p, eta=self.eta)


def make_tasks(config: SweepConfig) -> list[sinter.Task]:
    """One ``sinter.Task`` per (family, distance, p, decoder), built from qec-gym's circuits.

    Each task carries the detector error model its decoder needs (decomposed for graphlike
    decoders, hyperedges kept for BP+OSD / BP+LSD), the same one `qec_gym.sim.SimulationCache`
    compiles, and ``json_metadata`` with keys ``family, d, rounds, basis, p, noise, eta,
    decoder, source`` (``source`` is ``"qec_gym"``; ``eta`` is ``None`` except for ``biased``).

    Raises:
        ValueError: a decoder that cannot decode some family (e.g. matching on the colour code).

    Example:
        >>> cfg = SweepConfig(families=("rotated_surface",), distances=(3,), p_values=(0.001, 0.002))
        >>> [(t.decoder, t.json_metadata["p"]) for t in make_tasks(cfg)]
        [('pymatching', 0.001), ('pymatching', 0.002)]
    """
    if not isinstance(config, SweepConfig):
        raise TypeError(f"config must be a SweepConfig, got {type(config).__name__}.")
    decoders = [get_decoder(name) for name in config.decoders]
    tasks = []
    for spec in config.specs():
        for p in config.p_values:
            circuit = build_circuit(spec, config.noise_at(p))
            dems: dict[bool, object] = {}  # one DEM per "needs graphlike" flavour
            for dec in decoders:
                if dec.needs_graphlike not in dems:
                    dems[dec.needs_graphlike] = detector_error_model(circuit, dec, spec)
                tasks.append(
                    sinter.Task(
                        circuit=circuit,
                        decoder=dec.name,
                        detector_error_model=dems[dec.needs_graphlike],
                        json_metadata={
                            "family": spec.family,
                            "d": spec.distance,
                            "rounds": spec.rounds,
                            "basis": spec.basis,
                            "p": p,
                            "noise": config.noise,
                            "eta": config.eta,
                            "decoder": dec.name,
                            "source": "qec_gym",
                        },
                    )
                )
    return tasks


SWEEP_BACKENDS = ("sinter", "local", "ray")


def run_sweep(
    config: SweepConfig,
    *,
    save_path: str | pathlib.Path | None,
    progress: Callable[[sinter.Progress], None] | None = None,
    backend: str = "sinter",
    seed: int = 0,
    batch_shots: int = 1_000,
    address: str | None = None,
    num_cpus: int | None = None,
) -> list[sinter.TaskStats]:
    """Sample every task of ``config``, saving (and resuming from) ``save_path``.

    Re-running with the same config and ``save_path`` counts the stored shots towards
    ``max_shots`` / ``max_errors``: finished tasks are not sampled again, unfinished ones
    continue. The file is sinter's CSV (`load_results` reads it).

    Args:
        config: The sweep.
        save_path: CSV to append results to and resume from (parent folders are created);
            ``None`` keeps results in memory only.
        progress: Called with each ``sinter.Progress`` (new stats and a status line); the CLI
            prints it. The library itself prints nothing.
        backend: ``"sinter"`` (sinter's workers, unseeded), ``"local"`` (seeded batches on
            ``config.num_workers`` local processes) or ``"ray"`` (the same seeded batches on Ray
            workers; same counts as ``"local"``); see the module docstring.
        seed: Root seed of the seeded backends (ignored by ``"sinter"``).
        batch_shots: Shots per seeded batch (the unit of work and of the stopping rule; a
            resumed sweep continues with the batch after the stored shots, so keep it fixed).
        address, num_cpus: Ray cluster address (None: start a local Ray) and the local Ray's
            CPUs (`qec_gym.sim.executor.Executor`).

    Raises:
        ValueError: unknown backend, bad seed or batch_shots, Ray options without ``backend="ray"``.
        ImportError: ``backend="ray"`` without Ray (install hint).
        ConnectionError: an ``address`` that does not answer within seconds.

    Returns:
        One merged ``sinter.TaskStats`` per task of ``config`` (stored and new shots together),
        and nothing else: a file shared by several sweeps (another noise model, other p values)
        contributes only the stored shots of this sweep's own tasks (matched by sinter's strong
        id, which covers the circuit, hence the full noise model, the decoder and the metadata).

    Example:
        >>> import tempfile, pathlib
        >>> cfg = SweepConfig(families=("repetition",), distances=(3,), p_values=(0.02,),
        ...                   max_shots=500, max_errors=500, num_workers=1)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     stats = run_sweep(cfg, save_path=pathlib.Path(tmp) / "r.csv")
        ...     rows = load_results(pathlib.Path(tmp) / "r.csv")
        >>> stats[0].shots, rows[0].family, rows[0].shots
        (500, 'repetition', 500)
    """
    if backend not in SWEEP_BACKENDS:
        raise ValueError(f"unknown sweep backend {backend!r}; choose one of {list(SWEEP_BACKENDS)}.")
    if backend != "ray" and (address is not None or num_cpus is not None):
        raise ValueError("address and num_cpus configure the Ray backend; pass backend='ray' (CLI: --backend ray).")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}.")
    if isinstance(batch_shots, bool) or not isinstance(batch_shots, (int, np.integer)) or batch_shots < 1:
        raise ValueError(f"batch_shots must be an int >= 1, got {batch_shots!r}.")
    tasks = make_tasks(config)
    if save_path is not None:
        save_path = pathlib.Path(save_path)
        save_path.parent.mkdir(parents=True, exist_ok=True)
    wanted = {t.strong_id() for t in tasks}

    def run() -> list[sinter.TaskStats]:
        if backend != "sinter":
            from qec_gym.sim.executor import Executor

            executor = Executor(backend, workers=config.num_workers if backend == "local" else 1,
                                address=address, num_cpus=num_cpus)
            return _run_seeded(config, tasks, executor, save_path=save_path, progress=progress, seed=int(seed),
                               batch_shots=int(batch_shots))
        return collect(  # sinter.collect that raises, never hangs, when a worker dies
            num_workers=config.num_workers,
            tasks=tasks,
            save_resume_filepath=save_path,
            progress_callback=progress,
            max_shots=config.max_shots,
            max_errors=config.max_errors,
            custom_decoders=sinter_decoders(config.decoders),
            hint_num_tasks=len(tasks),
        )

    if save_path is None:
        return run()
    # One writer per file (a second sweep into it waits, then resumes from what the first
    # saved); lines cut off by a killed sweep are dropped first so sinter can resume.
    with locked(save_path):
        repair(save_path, sinter_csv_row)
        stats = run()
    # sinter returns every task stored in the file; other sweeps' tasks are not this sweep's results.
    return [s for s in stats if s.strong_id in wanted]


def batch_seed(seed: int, strong_id: str, index: int) -> int:
    """The stim seed of batch ``index`` of the task ``strong_id`` under root ``seed`` (uint64).

    Example:
        >>> batch_seed(0, "ab" * 32, 3) == batch_seed(0, "ab" * 32, 3) != batch_seed(0, "ab" * 32, 4)
        True
    """
    words = [int(strong_id[i:i + 8], 16) for i in range(0, 32, 8)]  # 128 bits of the task's sha256
    return int(np.random.SeedSequence([seed, *words, index]).generate_state(1, np.uint64)[0])


@dataclass(frozen=True)
class _Unit:
    """Batches ``first .. first + len(shots) - 1`` of one task: all a worker needs (picklable)."""

    task: sinter.Task
    strong_id: str
    seed: int
    first: int
    shots: tuple[int, ...]


def _sample_unit(unit: _Unit) -> list[tuple[int, int, float]]:
    """(shots, errors, seconds) of each batch of ``unit``: stim samples with the batch's seed, the
    task's sinter decoder decodes, an error is a shot whose predicted observables differ."""
    start = time.perf_counter()
    decoder = sinter_decoders([unit.task.decoder])[unit.task.decoder]
    compiled = decoder.compile_decoder_for_dem(dem=unit.task.detector_error_model)
    out = []
    for k, shots in enumerate(unit.shots, start=unit.first):
        sampler = unit.task.circuit.compile_detector_sampler(seed=batch_seed(unit.seed, unit.strong_id, k))
        dets, obs = sampler.sample(shots, separate_observables=True, bit_packed=True)
        predicted = compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
        errors = int(np.count_nonzero(np.any(predicted != obs, axis=1)))
        now = time.perf_counter()
        out.append((shots, errors, now - start))
        start = now
    return out


def _run_seeded(config: SweepConfig, tasks: list[sinter.Task], executor, *, save_path: pathlib.Path | None,
                progress, seed: int, batch_shots: int) -> list[sinter.TaskStats]:
    """The ``local`` / ``ray`` backends of `run_sweep` (called holding the file's lock).

    Works in waves: each unfinished task gets its next batches (about two per worker in all),
    the executor runs them, and each task takes its batches in batch order up to the first at
    which its totals reach ``max_shots`` or ``max_errors``; later batches of a stopped task are
    dropped unsaved, so what is stored never depends on timing or worker count.
    """
    ids = [t.strong_id() for t in tasks]
    stored: dict[str, sinter.TaskStats] = {}
    if save_path is not None and save_path.exists() and save_path.stat().st_size:
        stored = {s.strong_id: s for s in _read_stats(save_path)}
    totals = {i: [stored[i].shots, stored[i].errors] if i in stored else [0, 0] for i in ids}
    # The next batch continues after the stored shots (batches of a seeded run are whole until the last).
    next_batch = {i: -(-totals[i][0] // batch_shots) for i in ids}
    new: dict[str, sinter.TaskStats] = {}

    def finished(i: str) -> bool:
        return totals[i][0] >= config.max_shots or totals[i][1] >= config.max_errors

    with executor as ex:
        slots = 2 * ex.parallelism
        while True:
            active = [(t, i) for t, i in zip(tasks, ids) if not finished(i)]
            if not active:
                break
            per_task = max(1, -(-slots // len(active)))
            units = []
            for t, i in active:
                left = config.max_shots - totals[i][0]
                shots = [min(batch_shots, left - j * batch_shots) for j in range(per_task) if left - j * batch_shots > 0]
                units.append(_Unit(t, i, seed, next_batch[i], tuple(shots)))
            lines = []
            for unit, batches in zip(units, ex.imap(_sample_unit, units)):
                i = unit.strong_id
                got = [0, 0, 0.0]
                for shots, errors, seconds in batches:
                    if finished(i):
                        break
                    totals[i][0] += shots
                    totals[i][1] += errors
                    next_batch[i] += 1
                    got = [got[0] + shots, got[1] + errors, got[2] + seconds]
                stats = sinter.TaskStats(strong_id=i, decoder=unit.task.decoder, json_metadata=unit.task.json_metadata,
                                         shots=got[0], errors=got[1], seconds=got[2])
                new[i] = new[i] + stats if i in new else stats
                lines.append(stats)
            if save_path is not None:
                with open(save_path, "a") as f:
                    if f.tell() == 0:
                        f.write(sinter.CSV_HEADER + "\n")
                    f.write("".join(s.to_csv_line() + "\n" for s in lines))
            if progress is not None:
                left = sum(not finished(i) for i in ids)
                progress(sinter.Progress(new_stats=tuple(lines), status_message=f"{left} of {len(ids)} tasks left"))
    merged = []
    for t, i in zip(tasks, ids):
        parts = [s for s in (stored.get(i), new.get(i)) if s is not None]
        merged.append(functools.reduce(lambda a, b: a + b, parts) if parts else sinter.TaskStats(
            strong_id=i, decoder=t.decoder, json_metadata=t.json_metadata))
    return merged


def sinter_csv_row(raw: dict[str, str]) -> dict:
    """One line of sinter's CSV (`sinter.CSV_HEADER`), parsed; raises ValueError on a damaged line."""
    r = {k.strip(): v.strip() for k, v in raw.items()}
    row = {"shots": int(r["shots"]), "errors": int(r["errors"]), "discards": int(r["discards"]),
           "seconds": float(r["seconds"]), "decoder": r["decoder"], "strong_id": r["strong_id"],
           "json_metadata": json.loads(r["json_metadata"]), "custom_counts": json_field(r.get("custom_counts", ""))}
    if not row["decoder"] or not row["strong_id"]:
        raise ValueError("empty decoder or strong_id")
    return row


def _read_stats(path: str | pathlib.Path) -> list[sinter.TaskStats]:
    """sinter's stats of ``path``, skipping damaged lines (warned, naming file and line)."""
    return sinter.read_stats_from_csv_files(io.StringIO(readable_text(path, sinter_csv_row)))


@dataclass(frozen=True)
class SweepRow:
    """One task's merged statistics, flattened for tables and plots.

    Attributes:
        family, distance, rounds, basis: The code (see `CodeSpec`).
        p: Physical error rate given to the noise model.
        noise: Noise model name; ``eta`` its bias (``None`` unless ``biased``).
        decoder: Decoder name.
        source: ``"qec_gym"`` for tasks from `make_tasks`; other producers (e.g. stim's
            generated reference circuits) set their own.
        shots, errors, discards: Counts (sinter's).
        seconds: CPU seconds spent sampling and decoding.
        strong_id: sinter's task id.
    """

    family: str
    distance: int
    rounds: int
    basis: str | None
    p: float
    noise: str
    eta: float | None
    decoder: str
    source: str
    shots: int
    errors: int
    discards: int = 0
    seconds: float = field(default=0.0, compare=False)
    strong_id: str = ""

    @property
    def noise_model(self) -> str:
        """The full noise model: its name, with the bias for ``biased`` (e.g. ``"biased eta=100"``)."""
        return self.noise if self.eta is None else f"{self.noise} eta={self.eta:g}"

    @property
    def per_shot(self) -> float:
        """Logical error per shot (errors / kept shots)."""
        kept = self.shots - self.discards
        return self.errors / kept if kept else math.nan

    @property
    def per_round(self) -> float:
        """Logical error per round (sinter's ``shot_error_rate_to_piece_error_rate``)."""
        return float(sinter.shot_error_rate_to_piece_error_rate(self.per_shot, pieces=self.rounds))

    def ci_per_round(self, confidence: float = 0.95) -> tuple[float, float]:
        """Clopper-Pearson interval of the per-shot rate, mapped to per-round rates.

        The map is monotone on [0, 1] (rates above 1/2 are reflected, as sinter does), so the
        bounds are mapped as they are; capping one at 1/2 would put it below the estimate.
        """
        lo, hi = binomial_ci(self.errors, self.shots - self.discards, confidence=confidence)
        return (
            float(sinter.shot_error_rate_to_piece_error_rate(lo, pieces=self.rounds)),
            float(sinter.shot_error_rate_to_piece_error_rate(hi, pieces=self.rounds)),
        )


_REQUIRED_KEYS = ("family", "d", "rounds", "p", "noise", "decoder")


def stats_to_rows(stats: Iterable[sinter.TaskStats]) -> list[SweepRow]:
    """Tidy `SweepRow` records from ``sinter.TaskStats``, sorted by (source, family, decoder, noise,
    eta, basis, rounds, d, p): rows of one noise model (name and bias) stay together.

    Raises:
        ValueError: a task whose ``json_metadata`` lacks the keys `make_tasks` writes.

    Example:
        >>> s = sinter.TaskStats(strong_id="x", decoder="pymatching", shots=100, errors=4,
        ...     json_metadata={"family": "repetition", "d": 3, "rounds": 3, "p": 0.01,
        ...                    "noise": "uniform", "decoder": "pymatching"})
        >>> stats_to_rows([s])[0].per_shot
        0.04
    """
    rows = []
    for s in stats:
        meta = s.json_metadata if isinstance(s.json_metadata, dict) else {}
        missing = [k for k in _REQUIRED_KEYS if k not in meta]
        if missing:
            raise ValueError(
                f"task {s.strong_id[:12]} has json_metadata {s.json_metadata!r} without {missing}; "
                "load only CSVs written by qec_gym.sim.sweep.run_sweep (or add those keys)."
            )
        rows.append(
            SweepRow(
                family=str(meta["family"]),
                distance=int(meta["d"]),
                rounds=int(meta["rounds"]),
                basis=meta.get("basis"),
                p=float(meta["p"]),
                noise=str(meta["noise"]),
                eta=None if meta.get("eta") is None else float(meta["eta"]),
                decoder=str(meta["decoder"]),
                source=str(meta.get("source", "qec_gym")),
                shots=int(s.shots),
                errors=int(s.errors),
                discards=int(s.discards),
                seconds=float(s.seconds),
                strong_id=s.strong_id,
            )
        )
    rows.sort(key=lambda r: (r.source, r.family, r.decoder, r.noise, -math.inf if r.eta is None else r.eta,
                             str(r.basis), r.rounds, r.distance, r.p))
    return rows


def load_results(paths: str | pathlib.Path | Sequence[str | pathlib.Path]) -> list[SweepRow]:
    """Read sinter CSV(s) written by `run_sweep` into tidy rows (repeated tasks merged).

    Raises:
        FileNotFoundError: a path that does not exist.
        ValueError: rows without qec-gym's metadata (see `stats_to_rows`).

    Example:
        >>> load_results("no/such/file.csv")
        Traceback (most recent call last):
        ...
        FileNotFoundError: no sweep results at no/such/file.csv; run `qec-gym sweep --out no/such/file.csv` first.
    """
    if isinstance(paths, (str, pathlib.Path)):
        paths = [paths]
    for path in paths:
        if not pathlib.Path(path).exists():
            raise FileNotFoundError(f"no sweep results at {path}; run `qec-gym sweep --out {path}` first.")
    return stats_to_rows([s for path in paths for s in _read_stats(path)])


def compact_results(path: str | pathlib.Path) -> int:
    """Rewrite a sinter CSV with one merged line per task (same totals; resume still works).

    sinter appends a line per flushed batch, so long sweeps leave thousands of lines; merging
    them keeps stored results small. The file is replaced atomically.

    Returns:
        The number of lines removed.

    Raises:
        FileNotFoundError: ``path`` does not exist.

    Example:
        >>> import tempfile, pathlib
        >>> s = sinter.TaskStats(strong_id="a", decoder="pymatching", json_metadata={}, shots=5, errors=1)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     f = pathlib.Path(tmp) / "r.csv"
        ...     _ = f.write_text(sinter.CSV_HEADER + "\\n" + (s.to_csv_line() + "\\n") * 3)
        ...     removed = compact_results(f)
        ...     removed, sinter.read_stats_from_csv_files(f)[0].shots
        (2, 15)
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no sweep results at {path}.")
    with locked(path):
        before = sum(1 for _ in path.open()) - 1
        merged = _read_stats(path)
        tmp = path.with_name(path.name + ".compact.tmp")
        tmp.write_text(sinter.CSV_HEADER + "\n" + "".join(s.to_csv_line() + "\n" for s in merged))
        tmp.replace(path)
    return before - len(merged)
