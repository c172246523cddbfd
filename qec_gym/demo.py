"""The end-to-end demo behind the README's first command (``qec-gym demo``).

On the default environment (``qec_gym/SurfaceSwitch-v1``, table backend) it:

1. trains PPO with the packaged hyperparameters (tensorboard logs in ``<out>/ppo/tb``);
2. generates an oracle-labelled dataset on the *training* scenarios and fits a decision tree;
3. evaluates the trained agent, the tree, the best fixed configuration (chosen on training
   scenarios), the threshold heuristic, random, the myopic oracle and the clairvoyant oracle on
   the *held-out* scenarios, paired on seeds;
4. writes the policy report (Markdown + HTML + PNG) and the QEC simulation report.

Every stage is resumable: re-running skips what is done (a trained model, the dataset, finished
episodes, sweep points), so an interrupted demo continues where it stopped. A folder remembers
the configuration that made it (``demo.json``, with the env id): re-running into it with another
configuration (other timesteps, episode length, seeds...) is refused rather than mixing its
models and 30-step episodes with 500-step ones.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ENV_ID = "qec_gym/SurfaceSwitch-v1"


@dataclass(frozen=True)
class DemoConfig:
    """Budgets of the demo (the defaults fit in about ten minutes on 2 cores).

    Args:
        timesteps: PPO training steps.
        tree_episodes: Training-scenario episodes for the decision tree's dataset.
        seeds: Held-out episodes per scenario.
        max_steps: Episode length override (None: the scenarios' own, 500 steps).
        seed: Seed of training and data generation.
        quick_qec: Let the QEC report run its own small sweeps when no stored ones exist.
        train_evaluations: Validation evaluations during training (evenly spaced).
        heldout_scenarios: How many held-out scenarios to evaluate on (None: all).
        qec_max_shots: Cap of the QEC report's quick sweeps' shots per point (None: theirs).
        qec_bootstrap: Bootstrap replicates per threshold interval of the QEC report.
    """

    timesteps: int = 200_000
    tree_episodes: int = 30
    seeds: int = 5
    max_steps: int | None = None
    seed: int = 0
    quick_qec: bool = True
    train_evaluations: int = 4
    heldout_scenarios: int | None = None
    qec_max_shots: int | None = None
    qec_bootstrap: int = 1000

    def __post_init__(self) -> None:
        for name in ("timesteps", "tree_episodes", "seeds", "train_evaluations", "qec_bootstrap"):
            if getattr(self, name) < 1:
                raise ValueError(f"DemoConfig.{name} must be >= 1, got {getattr(self, name)}.")
        for name in ("max_steps", "heldout_scenarios", "qec_max_shots"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"DemoConfig.{name} must be >= 1 or None, got {value}.")

    @classmethod
    def smoke(cls) -> DemoConfig:
        """A configuration that checks the pipeline in well under a minute, not its results.

        Measured (``qec-gym demo --smoke``, see the README): the cost is mostly imports (torch,
        SB3, scipy), one validation during training, one held-out scenario and QEC sweeps of
        2,000 shots per point.
        """
        return cls(timesteps=1024, tree_episodes=2, seeds=1, max_steps=30, train_evaluations=1,
                   heldout_scenarios=1, qec_max_shots=2_000, qec_bootstrap=100)


def run_demo(
    out_dir: str | Path,
    config: DemoConfig = DemoConfig(),
    *,
    log: Callable[[str], None] = lambda s: None,
    progress: bool = False,
) -> dict[str, Path]:
    """Run the demo into ``out_dir``; returns the paths of its products.

    Args:
        out_dir: Output folder (created); re-running resumes.
        config: Budgets.
        log: Called with one line per stage (and the results table).
        progress: Draw tqdm bars for training, the dataset and the evaluation (for the CLI).
    """
    log(f"qec-gym demo into {out_dir}: loading torch, stable-baselines3 and scikit-learn")
    import dataclasses

    import gymnasium as gym

    from qec_gym.agents import DecisionTreeAgent, generate_dataset
    from qec_gym.eval import EvalConfig, evaluate, summarize
    from qec_gym.eval.qec_report import QUICK_SWEEPS, REPO_FIGURES, STORED_SWEEPS, write_qec_report
    from qec_gym.eval.report import write_report
    from qec_gym.training import latest_checkpoint, resolve_config, train

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _claim_folder(out, config)
    env_kwargs = {} if config.max_steps is None else {"max_steps": config.max_steps}

    run = out / "ppo"
    if (run / "model.zip").exists():
        log(f"[1/5] PPO already trained: {run}")
    else:
        log(f"[1/5] training PPO on {ENV_ID} for {config.timesteps} steps (tensorboard --logdir {run / 'tb'})")
        overrides = {"n_timesteps": config.timesteps}
        if env_kwargs:
            overrides["env_kwargs"] = env_kwargs
        if config.timesteps < 10_000:
            overrides.update(n_steps=64, batch_size=64, n_epochs=2)
        cfg = resolve_config(ENV_ID, "ppo", overrides=overrides, seed=config.seed,
                             eval_freq=max(config.timesteps // config.train_evaluations, 1), eval_episodes=3)
        train(cfg, run, resume=latest_checkpoint(run) is not None, progress_bar=progress)

    tree_path = out / "tree.joblib"
    if tree_path.exists():
        log(f"[2/5] decision tree already fitted: {tree_path}")
    else:
        log(f"[2/5] oracle-labelled dataset ({config.tree_episodes} training episodes) and decision tree")
        data = generate_dataset(ENV_ID, episodes=config.tree_episodes, seed=config.seed,
                                out_path=out / "tree_dataset.csv", env_kwargs=env_kwargs, progress=progress)
        DecisionTreeAgent.train(data, max_depth=4).save(tree_path)

    probe = gym.make(ENV_ID, scenarios="heldout", **env_kwargs)
    heldout = list(probe.unwrapped.scenario_names)
    probe.close()
    scenarios = "heldout" if config.heldout_scenarios is None else tuple(heldout[: config.heldout_scenarios])
    log(f"[3/5] paired evaluation on {len(heldout) if scenarios == 'heldout' else len(scenarios)} held-out "
        f"scenario(s) ({config.seeds} seeds each; baselines are fitted on training scenarios first)")
    policies = [f"ppo=run:{run}", f"tree=tree:{tree_path}", "best_fixed", "threshold", "random", "oracle", "clairvoyant"]
    results = out / "eval" / "results.csv"
    eval_cfg = EvalConfig(ENV_ID, scenarios=scenarios, seeds=tuple(range(config.seeds)), env_kwargs=env_kwargs)
    with tqdm_progress("episodes", enabled=progress) as bar:
        df = evaluate(policies, eval_cfg, out_path=results, progress=bar, status=getattr(bar, "status", None))
    table = summarize(df, reference="best_fixed", oracle="clairvoyant")
    log(table[["policy", "episodes", "return", "return_low", "return_high", "regret"]].to_string(
        index=False, float_format=lambda x: f"{x:.2f}"))

    store = _record_telemetry(out, {"ppo": f"run:{run}", "tree": f"tree:{tree_path}"}, heldout[0], env_kwargs)
    log(f"      telemetry of one held-out episode per learned policy: {store} (live view: qec-gym monitor --run {out})")

    log("[4/5] policy report")
    report = write_report(results, out / "report", reference="best_fixed", oracle="clairvoyant", run_dirs=(run,),
                          tree_path=tree_path,
                          title="qec-gym demo: SurfaceSwitch-v1, held-out scenarios (one PPO training seed: a pipeline "
                                "check, not an RL claim; the 5-seed release evaluation is benchmarks/release_eval.py)")
    log("[5/5] QEC simulation report")
    sweeps = None
    if config.qec_max_shots is not None:
        cap = config.qec_max_shots
        sweeps = {name: dataclasses.replace(c, max_shots=min(c.max_shots, cap), max_errors=min(c.max_errors, cap))
                  for name, c in QUICK_SWEEPS.items()}
    # As documented on DemoConfig: a source checkout's stored sweeps are used; sampling is the fallback.
    stored = any((REPO_FIGURES / name).is_file() for name in STORED_SWEEPS)
    qec = write_qec_report(out / "qec_report", quick=config.quick_qec and not stored, quick_sweeps=sweeps,
                           n_bootstrap=config.qec_bootstrap, progress=lambda msg: log(f"      {msg}"))
    paths = {"run": run, "tree": tree_path, "results": results, "report": report.html, "qec_report": qec.html}
    log(f"report: {report.markdown} (HTML: {report.html})\nQEC report: {qec.markdown} (HTML: {qec.html})\n"
        f"tensorboard: tensorboard --logdir {run / 'tb'}")
    return paths


def _record_telemetry(out: Path, policies: dict[str, str], scenario: str, env_kwargs: dict) -> Path:
    """One held-out episode (seed 0) of each policy, written through `TelemetryWrapper` to
    ``out/telemetry.sqlite``: what ``qec-gym monitor --run out`` shows. Redone unless finished."""
    import gymnasium as gym

    from qec_gym.agents.rollout import episode_returns
    from qec_gym.eval.harness import make_policy
    from qec_gym.monitor.telemetry import TELEMETRY_FILENAME, TelemetryWrapper, TelemetryWriter

    store, done_marker = out / TELEMETRY_FILENAME, out / (TELEMETRY_FILENAME + ".done")
    if done_marker.exists():
        return store
    for leftover in out.glob(TELEMETRY_FILENAME + "*"):  # an interrupted recording: start it again
        leftover.unlink()
    with TelemetryWriter(out) as writer:
        for name, spec in policies.items():
            env = TelemetryWrapper(gym.make(ENV_ID, scenarios=[scenario], **env_kwargs), writer, run_id=name)
            episode_returns(env, make_policy(spec, env), episodes=1, seed=0)
            env.close()
    done_marker.touch()
    return store


@contextmanager
def tqdm_progress(desc: str, *, enabled: bool = True, unit: str = "ep"):
    """A ``progress(done, total)`` callback that draws a tqdm bar (None when not ``enabled``);
    its ``status(message)`` attribute relabels the bar (e.g. while a baseline is being fitted)."""
    if not enabled:
        yield None
        return
    from tqdm.auto import tqdm

    with tqdm(desc=desc, unit=unit) as bar:
        def update(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        update.status = bar.set_description_str
        yield update


def _claim_folder(out: Path, config: DemoConfig) -> None:
    """Record ``config`` in ``out/demo.json``, or refuse a folder made with another one."""
    record = {"env_id": ENV_ID, **dataclasses.asdict(config)}
    path = out / "demo.json"
    products = [p.name for p in (out / "ppo", out / "tree.joblib", out / "tree_dataset.csv", out / "eval") if p.exists()]
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is corrupt ({e}): delete {out} or choose another --out.") from None
        if stored != record:
            diff = sorted(k for k in set(stored) | set(record) if stored.get(k) != record.get(k))
            what = ", ".join(f"{k}: {stored.get(k)!r} there, {record.get(k)!r} now" for k in diff)
            raise ValueError(
                f"{out} holds a demo made with another configuration ({what}); its models and results would be "
                "mixed with this one's. Choose another --out, or re-run with the same options to resume."
            )
        return
    if products:
        raise ValueError(
            f"{out} already holds demo products ({', '.join(products)}) but no demo.json saying how they were made "
            "(an older demo): choose another --out or delete the folder."
        )
    path.write_text(json.dumps(record, indent=1, sort_keys=True))
