"""Performance benchmarks, measured side by side in one run and saved as JSON for comparison over time.

Four groups (`run_benchmarks`):

* **window**: `qec_gym.sim.simulate_window` with a warm cache vs the same shots done by hand
  (stim sampling + PyMatching ``decode_batch`` of stim's own rotated-memory circuit), interleaved
  so machine noise hits both alike; the ratio is the simulator's overhead (target <= 1.15).
* **env**: the circuit backend's env step vs `simulate_window` of the same window (target ratio
  <= 1.2), and table-backend steps per second (target >= 10,000 for SurfaceSwitch-v1).
* **decoders**: throughput (shots/s) and latency of every decoder of `qec_gym.decoders.DECODERS`
  by distance on the rotated surface code (rounds = d, stim-uniform p = 1e-3). Each
  (decoder, distance) gets a time budget, so slow decoders decode fewer shots (the row says
  how many); BP+OSD / BP+LSD are skipped above ``bp_max_distance`` (seconds per shot there).
* **training**: env steps per second of a short SB3 run (`qec_gym.training.train`, packaged
  hyperparameters), timed from the start to the end of ``learn`` (setup excluded).

Benchmarks are never timed unit tests: timings depend on the machine, so the results carry
machine information and a timestamp, and only ratios measured in the same run are comparable
across machines. ``benchmarks/bench_window.py`` and ``benchmarks/bench_env.py`` are thin
wrappers around the functions here.

Example:
    >>> cfg = BenchConfig.quick()
    >>> cfg.window_distances, cfg.train_steps
    ((5, 11), 2048)
    >>> row = bench_window(3, 1e-3, shots=200, repeats=1)
    >>> row["shots"], row["ratio"] > 0
    (200, True)
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import pathlib
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ENV_IDS_CIRCUIT = ("qec_gym/SurfaceSwitch-v1", "qec_gym/PhotonicSwitch-v1")
ENV_IDS_TABLE = ("qec_gym/SurfaceSwitch-v1", "qec_gym/PhotonicSwitch-v1", "qec_gym/DecoderCalibration-v1")
BP_DECODERS = ("bposd", "bplsd", "beliefmatching", "tesseract")
"""Decoders with per-shot costs of seconds at large distance (capped by ``bp_max_distance``)."""


@dataclass(frozen=True)
class BenchConfig:
    """Sizes of every benchmark (`BenchConfig.quick` for a smoke run of ~30 s).

    Args:
        window_distances: Distances of the window-vs-raw comparison.
        window_p: Physical error rates of that comparison.
        window_shots: Shots per timed window.
        repeats: Interleaved repeats (medians are reported).
        circuit_envs: Env ids whose circuit backend is timed against `simulate_window`.
        circuit_repeats: Steps timed per circuit env.
        table_envs: Env ids whose table backend steps/s are measured.
        table_steps: Random-action steps per table env.
        decoder_distances: Distances of the decoder benchmark.
        decoder_p: Physical error rate of the decoder benchmark (stim-uniform noise).
        decoder_shots: Most shots decoded per (decoder, distance).
        decoder_seconds: Time budget per (decoder, distance) for batch decoding and again for
            single-shot latency; slow decoders stop early.
        latency_samples: Most single-shot decodes timed for the latency.
        bp_max_distance: BP+OSD / BP+LSD are skipped above this distance.
        train_env: Env of the training benchmark.
        train_algo: Algorithm (packaged hyperparameters).
        train_steps: Env steps learned.
        train_torch_threads: torch thread counts to train with, one run each (0: torch's default).

    Raises:
        ValueError: an empty tuple or a non-positive size.
    """

    window_distances: tuple[int, ...] = (5, 11)
    window_p: tuple[float, ...] = (1e-3, 5e-3)
    window_shots: int = 10_000
    repeats: int = 7
    circuit_envs: tuple[str, ...] = ENV_IDS_CIRCUIT
    circuit_repeats: int = 30
    table_envs: tuple[str, ...] = ENV_IDS_TABLE
    table_steps: int = 20_000
    decoder_distances: tuple[int, ...] = (3, 5, 7, 9, 11)
    decoder_p: float = 1e-3
    decoder_shots: int = 20_000
    decoder_seconds: float = 1.0
    latency_samples: int = 500
    bp_max_distance: int = 7
    train_env: str = "qec_gym/SurfaceSwitch-v1"
    train_algo: str = "ppo"
    train_steps: int = 8192
    train_torch_threads: tuple[int, ...] = (0, 1)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, list):
                v = tuple(v)
                object.__setattr__(self, f.name, v)
            may_be_empty = ("circuit_envs", "table_envs", "decoder_distances", "train_torch_threads")
            if isinstance(v, tuple) and not v and f.name not in may_be_empty:
                raise ValueError(f"BenchConfig.{f.name} is empty: give at least one value.")
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not v > 0:
                raise ValueError(f"BenchConfig.{f.name} must be > 0, got {v!r}.")

    @classmethod
    def quick(cls) -> BenchConfig:
        """Small sizes: every benchmark runs, in about half a minute on 2 cores."""
        return cls(window_p=(1e-3,), window_shots=2_000, repeats=3, circuit_repeats=10, table_steps=3_000,
                   decoder_distances=(3, 5, 7), decoder_shots=2_000, decoder_seconds=0.2, latency_samples=50,
                   bp_max_distance=5, train_steps=2048)


# ---------------------------------------------------------------------------- (a) window vs raw
def stim_uniform(d: int, p: float):
    """stim's rotated-surface X-memory circuit (rounds = d) under stim-uniform noise p."""
    import stim

    return stim.Circuit.generated(
        "surface_code:rotated_memory_x", distance=d, rounds=d, after_clifford_depolarization=p,
        after_reset_flip_probability=p, before_measure_flip_probability=p, before_round_data_depolarization=p,
    )


def bench_window(d: int, p: float, *, shots: int, repeats: int) -> dict:
    """`simulate_window` (warm cache) vs raw stim sampling + PyMatching on the same shots.

    Returns:
        ``d, p, shots, raw_s, ours_s, ratio`` (ours / raw, medians), shots per second of each,
        ``cold_compile_s`` (our first call: circuit, DEM, sampler and decoder) and
        ``raw_compile_s`` (building the matching graph by hand).
    """
    import pymatching

    from qec_gym.codes import CodeSpec
    from qec_gym.noise import NoiseParams
    from qec_gym.sim import SimulationCache, simulate_window

    circuit = stim_uniform(d, p)
    t0 = time.perf_counter()
    matching = pymatching.Matching.from_detector_error_model(circuit.detector_error_model(decompose_errors=True))
    raw_compile = time.perf_counter() - t0

    spec, noise = CodeSpec("rotated_surface", d), NoiseParams.uniform(p)
    cache = SimulationCache()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    simulate_window(spec, noise, shots=1, rng=rng, cache=cache)  # cold: compiles everything
    cold = time.perf_counter() - t0

    raw_times, ours_times = [], []
    for r in range(repeats):
        # Interleaved: a slow moment of the machine slows both sides of one repeat.
        t0 = time.perf_counter()
        sampler = circuit.compile_detector_sampler(seed=r)
        dets, obs = sampler.sample(shots, separate_observables=True)
        pred = matching.decode_batch(dets)
        _ = int(np.any(pred != obs, axis=1).sum())
        raw_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        simulate_window(spec, noise, shots=shots, rng=rng, cache=cache)
        ours_times.append(time.perf_counter() - t0)
    raw, ours = statistics.median(raw_times), statistics.median(ours_times)
    return {
        "d": d, "p": p, "shots": shots,
        "raw_s": raw, "ours_s": ours, "ratio": ours / raw,
        "raw_shots_per_s": shots / raw, "ours_shots_per_s": shots / ours,
        "cold_compile_s": cold, "raw_compile_s": raw_compile,
    }


# ---------------------------------------------------------------------------- (b) environments
def circuit_vs_window(env_id: str, *, repeats: int) -> dict:
    """One circuit-backend env step vs `simulate_window` of the same window (same code, noise,
    assumed noise, decoder, shots; caches warmed alike): the env's own overhead.

    Returns:
        ``env, entry, shots, env_step_s, window_s`` (medians), ``ratio`` (total env time /
        total window time over the repeats) and ``repeats``.
    """
    import gymnasium as gym

    import qec_gym  # noqa: F401  (registers the ids)
    from qec_gym.sim import SimulationCache, simulate_window
    from qec_gym.sim.window import DEFAULT_BINS_PER_DECADE

    env = gym.make(env_id, backend="circuit").unwrapped
    try:
        env.reset(seed=0)
        entry = env.menu[env.entry]
        cache = SimulationCache()
        rng = np.random.default_rng(0)

        def window() -> None:
            # The noise the env itself runs the current entry under (its documented hook).
            noise = env._noise_for(env.entry, env._t)
            for spec in entry.specs():
                simulate_window(spec, noise, decoder=entry.decoder, assumed_noise=env.assumed_noise, shots=env.shots,
                                rng=rng, cache=cache, bins_per_decade=DEFAULT_BINS_PER_DECADE)  # as the env does

        window()  # reset compiled the env's first window: warm ours alike, or repeat 1 compares cold to warm
        env_t, win_t = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            window()
            win_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _, _, _, trunc, _ = env.step(0)
            env_t.append(time.perf_counter() - t0)
            if trunc:
                env.reset()
    finally:
        env.close()
    e, w = statistics.median(env_t), statistics.median(win_t)
    # The ratio of totals, not of medians: steps whose quantised noise enters a new bin compile
    # (on both sides alike), which makes both timings bimodal and their medians unstable.
    return {"env": env_id, "entry": entry.label, "shots": env.shots, "env_step_s": e, "window_s": w,
            "ratio": sum(env_t) / sum(win_t), "repeats": repeats}


def table_steps_per_second(env_id: str, *, steps: int) -> dict:
    """Table-backend env steps per second with random actions (resets included), one core."""
    import gymnasium as gym

    import qec_gym  # noqa: F401

    env = gym.make(env_id)
    try:
        env.reset(seed=0)
        actions = np.random.default_rng(0).integers(env.action_space.n, size=steps)
        t0 = time.perf_counter()
        for a in actions:
            _, _, term, trunc, _ = env.step(int(a))
            if term or trunc:
                env.reset()
        dt = time.perf_counter() - t0
    finally:
        env.close()
    return {"env": env_id, "steps": steps, "steps_per_s": steps / dt}


# ---------------------------------------------------------------------------- (c) decoders
def bench_decoder(name: str, distance: int, *, p: float = 1e-3, shots: int = 20_000, seconds: float = 1.0,
                  latency_samples: int = 500, seed: int = 0) -> dict:
    """Throughput and latency of decoder ``name`` on the rotated surface code at ``distance``.

    Detection events of ``shots`` shots (rounds = d, stim-uniform p) are sampled once; batches
    of doubling size are decoded until all are done or ``seconds`` have passed (so slow decoders
    decode fewer shots); then up to ``latency_samples`` single shots are decoded one call each,
    again within ``seconds``.

    Returns:
        ``decoder, d, rounds, p, shots`` (decoded in batches), ``compile_s``, ``shots_per_s``,
        ``us_per_round`` (batch time per shot per round), ``latency_us`` (median single-shot
        call), ``latency_us_per_round``, ``latency_p99_us``, ``latency_p99_us_per_round`` (99th
        percentile), ``latency_shots``, ``logical_error_rate`` (of the
        decoded shots: a sanity check), ``capped`` (True when the time budget stopped it).

    Example:
        >>> r = bench_decoder("pymatching", 3, shots=500, seconds=0.1, latency_samples=10)
        >>> r["d"], r["shots"] > 0, r["latency_us"] > 0
        (3, True, True)
    """
    from qec_gym.codes import CodeSpec, build_circuit
    from qec_gym.decoders import get_decoder
    from qec_gym.noise import NoiseParams
    from qec_gym.sim.cache import detector_error_model

    spec = CodeSpec("rotated_surface", distance)
    circuit = build_circuit(spec, NoiseParams.uniform(p))
    decoder = get_decoder(name)
    t0 = time.perf_counter()
    compiled = decoder.compile(detector_error_model(circuit, decoder, spec))
    compile_s = time.perf_counter() - t0
    dets, obs = circuit.compile_detector_sampler(seed=seed).sample(shots, separate_observables=True)
    compiled.decode_batch(dets[:1])  # untimed: first-call set-up inside the decoder is not throughput

    done, elapsed, errors, chunk = 0, 0.0, 0, 16
    while done < shots and elapsed < seconds:
        batch = dets[done : done + chunk]
        t0 = time.perf_counter()
        pred = compiled.decode_batch(batch)
        elapsed += time.perf_counter() - t0
        errors += int(np.any(pred != obs[done : done + len(batch)], axis=1).sum())
        done += len(batch)
        chunk *= 2
    latencies: list[float] = []
    spent = 0.0
    for i in range(min(latency_samples, shots)):
        if spent >= seconds:
            break
        t0 = time.perf_counter()
        compiled.decode_batch(dets[i : i + 1])
        dt = time.perf_counter() - t0
        latencies.append(dt)
        spent += dt
    latency = statistics.median(latencies)
    p99 = float(np.quantile(latencies, 0.99))  # the real-time budget is set by the tail, not the median
    rounds = spec.rounds
    return {
        "decoder": name, "d": distance, "rounds": rounds, "p": p, "shots": done, "compile_s": compile_s,
        "shots_per_s": done / elapsed, "us_per_round": elapsed / done / rounds * 1e6,
        "latency_us": latency * 1e6, "latency_us_per_round": latency / rounds * 1e6, "latency_shots": len(latencies),
        "latency_p99_us": p99 * 1e6, "latency_p99_us_per_round": p99 / rounds * 1e6,
        "logical_error_rate": errors / done, "capped": done < shots,
    }


# ---------------------------------------------------------------------------- (d) training
def bench_training(env_id: str = "qec_gym/SurfaceSwitch-v1", *, algo: str = "ppo", steps: int = 2048, seed: int = 0,
                   torch_threads: int = 0) -> dict:
    """Env steps per second of `qec_gym.training.train` (packaged hyperparameters, no periodic
    evaluation), timed from the start to the end of ``learn`` (env and model setup excluded).

    Args:
        env_id: Env to train on.
        algo: Algorithm (its packaged hyperparameters).
        steps: Env steps to learn.
        seed: Training seed.
        torch_threads: torch intra-op threads during the run (0: torch's default); the
            previous setting is restored afterwards. Small MLP policies gain nothing from
            several threads, and on a busy machine the threads' spin-waiting can cost far more.

    Raises:
        ImportError: the ``rl`` extra (torch, stable-baselines3) is not installed.
    """
    import torch
    from stable_baselines3.common.callbacks import BaseCallback

    from qec_gym.training import resolve_config, train

    class _Timer(BaseCallback):
        def _on_training_start(self) -> None:
            self.start = time.perf_counter()

        def _on_step(self) -> bool:
            return True

        def _on_training_end(self) -> None:
            self.end = time.perf_counter()

    cfg = resolve_config(env_id, algo, overrides={"n_timesteps": steps}, seed=seed, eval_freq=0,
                         checkpoint_freq=10 * steps)
    timer = _Timer()
    before = torch.get_num_threads()
    threads = torch_threads or before
    t0 = time.perf_counter()
    try:
        torch.set_num_threads(threads)
        with tempfile.TemporaryDirectory() as tmp:
            model = train(cfg, pathlib.Path(tmp) / "run", callbacks=[timer])
            learned = int(model.num_timesteps)
    finally:
        torch.set_num_threads(before)
    total = time.perf_counter() - t0
    learn = timer.end - timer.start
    return {"env": env_id, "algo": algo, "steps": learned, "n_envs": cfg.n_envs, "torch_threads": threads,
            "learn_s": learn, "steps_per_s": learned / learn, "total_s": total}


# ---------------------------------------------------------------------------- the run
def machine_info() -> dict:
    """Where the numbers were measured: host, CPU, Python and library versions, git revision."""

    import pymatching
    import stim

    import qec_gym

    info = {
        "hostname": platform.node(), "platform": platform.platform(), "machine": platform.machine(),
        "processor": platform.processor() or _cpu_model(), "cpu_count": os.cpu_count(),
        "python": platform.python_version(), "numpy": np.__version__, "stim": stim.__version__,
        "pymatching": pymatching.__version__, "qec_gym": getattr(qec_gym, "__version__", None),
    }
    for mod in ("ldpc", "stable_baselines3", "torch", "sinter"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # missing or broken optional packages are just not listed
            info[mod] = None
    from qec_gym.provenance import git_revision

    info["git_revision"] = git_revision()
    return info


def _cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def run_benchmarks(*, quick: bool = False, config: BenchConfig | None = None,
                   progress: Callable[[str], None] | None = None) -> dict:
    """Run every benchmark once, side by side, and return the results (JSON-ready).

    Args:
        quick: Use `BenchConfig.quick` (ignored when ``config`` is given).
        config: Sizes of the benchmarks.
        progress: Called with a short line before each measurement (the CLI prints it).

    Returns:
        ``{"timestamp", "machine", "config", "window": [...], "env": {"circuit": [...],
        "table": [...]}, "decoders": [...], "training": [...], "notes": [...]}``;
        ``format_table`` prints it, ``write_json`` saves it.
    """
    cfg = config or (BenchConfig.quick() if quick else BenchConfig())
    say = progress or (lambda _msg: None)
    notes: list[str] = []
    out: dict = {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(), "config": dataclasses.asdict(cfg), "quick": config is None and quick,
    }
    out["window"] = []
    for d in cfg.window_distances:
        for p in cfg.window_p:
            say(f"window d={d} p={p:g}")
            out["window"].append(bench_window(d, p, shots=cfg.window_shots, repeats=cfg.repeats))
    out["env"] = {"circuit": [], "table": []}
    for env_id in cfg.circuit_envs:
        say(f"env {env_id} (circuit backend)")
        out["env"]["circuit"].append(circuit_vs_window(env_id, repeats=cfg.circuit_repeats))
    for env_id in cfg.table_envs:
        say(f"env {env_id} (table backend)")
        out["env"]["table"].append(table_steps_per_second(env_id, steps=cfg.table_steps))
    from qec_gym.decoders import DECODERS

    out["decoders"] = []
    skipped: dict[str, list[int]] = {}
    for name in DECODERS:
        for d in cfg.decoder_distances:
            if name in BP_DECODERS and d > cfg.bp_max_distance:
                skipped.setdefault(name, []).append(d)
                continue
            say(f"decoder {name} d={d}")
            try:
                out["decoders"].append(bench_decoder(name, d, p=cfg.decoder_p, shots=cfg.decoder_shots,
                                                     seconds=cfg.decoder_seconds, latency_samples=cfg.latency_samples))
            except (ImportError, ValueError) as e:  # package missing, or a code it cannot decode (chromobius)
                notes.append(f"decoder {name}: skipped ({e})")
                break
    for name, ds in skipped.items():
        notes.append(f"decoder {name}: skipped at d = {', '.join(map(str, ds))} (above bp_max_distance="
                     f"{cfg.bp_max_distance}: seconds per shot there)")
    capped = sorted({(r["decoder"], r["d"]) for r in out["decoders"] if r["capped"]})
    if capped:
        notes.append(f"time budget of {cfg.decoder_seconds:g} s capped the shots of "
                     + ", ".join(f"{n} d={d}" for n, d in capped) + " (the table gives the shots decoded)")
    out["training"] = []
    for threads in cfg.train_torch_threads:
        say(f"training {cfg.train_algo} on {cfg.train_env}, {cfg.train_steps} steps, torch threads {threads or 'default'}")
        try:
            out["training"].append(bench_training(cfg.train_env, algo=cfg.train_algo, steps=cfg.train_steps,
                                                  torch_threads=threads))
        except ImportError as e:
            notes.append(f"training: skipped ({e})")
            break
    out["notes"] = notes
    return out


def write_json(results: dict, path: str | os.PathLike) -> pathlib.Path:
    """Save `run_benchmarks` results as JSON (parent folders created); returns the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=str))
    return path


# ---------------------------------------------------------------------------- printing
def format_window(rows: list[dict]) -> str:
    """Table of `bench_window` rows."""
    lines = [f"{'d':>3} {'p':>8} {'raw s':>8} {'ours s':>8} {'ratio':>6} {'raw shots/s':>12} {'ours shots/s':>13} "
             f"{'cold compile s':>15}"]
    for r in rows:
        lines.append(f"{r['d']:>3} {r['p']:>8.0e} {r['raw_s']:>8.4f} {r['ours_s']:>8.4f} {r['ratio']:>6.3f} "
                     f"{r['raw_shots_per_s']:>12,.0f} {r['ours_shots_per_s']:>13,.0f} {r['cold_compile_s']:>15.4f}")
    return "\n".join(lines)


def format_env(env: dict) -> str:
    """Tables of `circuit_vs_window` and `table_steps_per_second` rows."""
    lines = [f"{'env (circuit backend)':<32}{'entry':<44}{'shots':>6}{'env step s':>12}{'window s':>10}{'ratio':>7}"
             "   (medians; ratio of totals)"]
    for r in env.get("circuit", []):
        lines.append(f"{r['env']:<32}{r['entry']:<44}{r['shots']:>6}{r['env_step_s']:>12.5f}{r['window_s']:>10.5f}"
                     f"{r['ratio']:>7.3f}")
    lines += ["", f"{'env (table backend)':<32}{'steps/s':>12}"]
    for r in env.get("table", []):
        lines.append(f"{r['env']:<32}{r['steps_per_s']:>12,.0f}")
    return "\n".join(lines)


def format_decoders(rows: list[dict]) -> str:
    """Table of `bench_decoder` rows."""
    lines = [f"{'decoder':<23}{'d':>3}{'shots':>8}{'shots/s':>12}{'us/round':>10}{'latency us':>12}"
             f"{'lat. us/round':>14}{'compile s':>10}{'p_L/shot':>10}"]
    for r in rows:
        lines.append(f"{r['decoder']:<23}{r['d']:>3}{r['shots']:>8}{r['shots_per_s']:>12,.0f}{r['us_per_round']:>10.2f}"
                     f"{r['latency_us']:>12.1f}{r['latency_us_per_round']:>14.2f}{r['compile_s']:>10.3f}"
                     f"{r['logical_error_rate']:>10.2e}")
    return "\n".join(lines)


def format_training(rows: list[dict]) -> str:
    """Lines of `bench_training` rows."""
    if not rows:
        return "training: not measured"
    return "\n".join(
        f"training {r['algo']} on {r['env']}, torch threads {r['torch_threads']}: {r['steps']} steps ({r['n_envs']} envs) "
        f"in {r['learn_s']:.2f} s = {r['steps_per_s']:,.0f} steps/s (with setup: {r['total_s']:.2f} s)" for r in rows)


def format_table(results: dict) -> str:
    """All `run_benchmarks` results as plain-text tables (what ``qec-gym bench`` prints).

    Example:
        >>> print(format_table({"timestamp": "t", "machine": {"cpu_count": 2, "processor": "x"},
        ...                     "window": [], "env": {}, "decoders": [], "training": [], "notes": []}).splitlines()[0])
        qec-gym benchmarks, t, x, 2 CPUs
    """
    m = results.get("machine", {})
    parts = [f"qec-gym benchmarks, {results.get('timestamp')}, {m.get('processor') or m.get('machine', '?')}, "
             f"{m.get('cpu_count')} CPUs"]
    if results.get("window"):
        parts += ["", "(a) simulate_window (warm cache) vs raw stim + PyMatching, same shots (target ratio <= 1.15)",
                  format_window(results["window"])]
    if results.get("env"):
        parts += ["", "(b) environments (circuit: env step / window, target <= 1.2; table: target >= 10,000 steps/s)",
                  format_env(results["env"])]
    if results.get("decoders"):
        parts += ["", "(c) decoders: rotated surface, rounds = d, stim-uniform p = "
                  f"{results['decoders'][0]['p']:g}; us/round = batch time per shot per round, latency = one-shot call",
                  format_decoders(results["decoders"])]
    parts += ["", "(d) training steps/s (learn only)", format_training(results.get("training") or [])]
    if results.get("notes"):
        parts += ["", "notes:"] + [f"  - {n}" for n in results["notes"]]
    return "\n".join(parts)

