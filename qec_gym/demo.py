"""The end-to-end demo behind the README's first command (``qec-gym demo``).

On the default environment (``qec_gym/SurfaceSwitch-v0``, table backend) it:

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
from dataclasses import dataclass
from pathlib import Path

ENV_ID = "qec_gym/SurfaceSwitch-v0"


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
    """

    timesteps: int = 200_000
    tree_episodes: int = 30
    seeds: int = 5
    max_steps: int | None = None
    seed: int = 0
    quick_qec: bool = True

    @classmethod
    def smoke(cls) -> DemoConfig:
        """A seconds-long configuration for tests."""
        return cls(timesteps=1024, tree_episodes=2, seeds=1, max_steps=30)


def run_demo(out_dir: str | Path, config: DemoConfig = DemoConfig(), *, log: Callable[[str], None] = lambda s: None) -> dict[str, Path]:
    """Run the demo into ``out_dir``; returns the paths of its products."""
    from qec_gym.agents import DecisionTreeAgent, generate_dataset
    from qec_gym.eval import EvalConfig, evaluate, summarize
    from qec_gym.eval.qec_report import write_qec_report
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
                             eval_freq=max(config.timesteps // 4, 1), eval_episodes=3)
        train(cfg, run, resume=latest_checkpoint(run) is not None)

    tree_path = out / "tree.joblib"
    if tree_path.exists():
        log(f"[2/5] decision tree already fitted: {tree_path}")
    else:
        log(f"[2/5] oracle-labelled dataset ({config.tree_episodes} training episodes) and decision tree")
        data = generate_dataset(ENV_ID, episodes=config.tree_episodes, seed=config.seed,
                                out_path=out / "tree_dataset.csv", env_kwargs=env_kwargs)
        DecisionTreeAgent.train(data, max_depth=4).save(tree_path)

    log(f"[3/5] paired evaluation on the held-out scenarios ({config.seeds} seeds each)")
    policies = [f"ppo=run:{run}", f"tree=tree:{tree_path}", "best_fixed", "threshold", "random", "oracle", "clairvoyant"]
    results = out / "eval" / "results.csv"
    df = evaluate(policies, EvalConfig(ENV_ID, scenarios="heldout", seeds=tuple(range(config.seeds)), env_kwargs=env_kwargs),
                  out_path=results)
    table = summarize(df, reference="best_fixed", oracle="clairvoyant")
    log(table[["policy", "episodes", "return", "return_low", "return_high", "regret"]].to_string(
        index=False, float_format=lambda x: f"{x:.2f}"))

    log("[4/5] policy report")
    report = write_report(results, out / "report", reference="best_fixed", oracle="clairvoyant", run_dirs=(run,),
                          tree_path=tree_path, title="qec-gym demo: SurfaceSwitch-v0, held-out scenarios")
    log("[5/5] QEC simulation report")
    qec = write_qec_report(out / "qec_report", quick=config.quick_qec)
    paths = {"run": run, "tree": tree_path, "results": results, "report": report.html, "qec_report": qec.html}
    log(f"report: {report.markdown} (HTML: {report.html})\nQEC report: {qec.markdown} (HTML: {qec.html})\n"
        f"tensorboard: tensorboard --logdir {run / 'tb'}")
    return paths


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
