"""Validation of SurfaceSwitch-v2 agents (issue 17, session 5): training scenarios, fresh seeds only.

Every configuration choice of session 5 was taken from this script's output, never from a
held-out scenario (docs/protocol.md). Named configurations (``CONFIGS``) are overrides of the
packaged ``ppo.yml`` entry; ``--train`` trains one into ``<out>/<name>/seed<k>`` (native vec env,
one torch thread; wall time in ``wall.json``), ``--eval`` scores runs against the tree (the
release recipe's, fitted on training scenarios: ``<out>/tree.joblib``, see
``scripts/cat_validate.py``), the threshold ladder, best fixed and the clairvoyant plan on the
*training* scenarios with episode seeds ``--first-seed`` + k (20,000+: apart from the training
envs', the periodic validation's and the harness's held-out seeds), paired.

    python scripts/surface_v2_validate.py --out runs/v2val --train dagger_thr --seed 0
    python scripts/surface_v2_validate.py --out runs/v2val --eval dagger_thr clone_thr
    python scripts/surface_v2_validate.py --out runs/v2val --train ovr_tree --seed 0   # teacher override
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

ENV = "qec_gym/SurfaceSwitch-v2"
TREE = "tree:{out}/tree.joblib"
# the clone alone: PPO's one update at a negligible learning rate leaves the warm-started actor as it is
CLONE_ONLY = {"n_timesteps": 1, "learning_rate": 1e-12, "n_epochs": 1}
# every key set: resolve_config merges warm_start into the packaged entry's, which now freezes the statistics
_WS = {"teacher": "threshold", "teacher_episodes": 5, "teacher_seed": 0, "bc_steps": 100_000, "epsilon": 0.2,
       "bc_epochs": 20, "value_steps": 50_000, "value_rounds": 3, "freeze_normalization": False}
CONFIGS = {
    "clone_thr": {**CLONE_ONLY, "warm_start": {**_WS, "value_rounds": 0}},
    "dagger_thr": {**CLONE_ONLY, "warm_start": {**_WS, "value_rounds": 0, "dagger_iters": 4, "dagger_steps": 50_000}},
    # the session-4 clone-only measurement: the packaged warm start with its critic warm-up (3 x 50k clone steps)
    "clone_thr_critic": {**CLONE_ONLY, "warm_start": _WS},
    "clone_thr_critic_frozen": {**CLONE_ONLY, "warm_start": {**_WS, "freeze_normalization": True}},
    "clone_tree": {**CLONE_ONLY, "warm_start": {**_WS, "teacher": TREE, "value_rounds": 0}},
    "dagger_tree": {**CLONE_ONLY, "warm_start": {**_WS, "teacher": TREE, "value_rounds": 0, "dagger_iters": 4,
                                                  "dagger_steps": 50_000}},
    # the packaged fine-tune (100k PPO steps) on a clone / a DAgger clone
    "clone_tree_ppo": {"warm_start": {**_WS, "teacher": TREE}},
    "clone_tree_ppo_lr1e-5": {"learning_rate": "lin_1e-5", "warm_start": {**_WS, "teacher": TREE}},
    # the same fine-tunes with the normalisation statistics frozen after the warm start
    "clone_tree_ppo_frozen": {"warm_start": {**_WS, "teacher": TREE, "freeze_normalization": True}},
    "clone_tree_ppo_frozen_long": {"n_timesteps": 300_000, "learning_rate": "lin_3e-4",
                                   "warm_start": {**_WS, "teacher": TREE, "freeze_normalization": True}},
    "clone_tree_ppo_frozen_xlong": {"n_timesteps": 600_000, "learning_rate": "lin_3e-4",
                                    "warm_start": {**_WS, "teacher": TREE, "freeze_normalization": True}},
    # the packaged (threshold) configuration with the statistics frozen
    "thr_ppo_frozen": {"warm_start": {**_WS, "freeze_normalization": True}},
    "clone_tree_ppo_lr1e-5_frozen": {"learning_rate": "lin_1e-5", "warm_start": {**_WS, "teacher": TREE,
                                                                                 "freeze_normalization": True}},
    "dagger_thr_ppo": {"warm_start": {**_WS, "dagger_iters": 4, "dagger_steps": 50_000}},
    "dagger_tree_ppo": {"warm_start": {**_WS, "teacher": TREE, "dagger_iters": 4, "dagger_steps": 50_000}},
}
# teacher override (qec_gym.training.override): teacher, follow_prob, PPO overrides of the packaged entry
_OVR_PPO = {"n_timesteps": 200_000, "learning_rate": 3e-4, "n_epochs": 10, "clip_range": 0.2, "ent_coef": 0.0}
OVERRIDES = {
    "ovr_thr": {"teacher": "threshold", "follow_prob": 0.98, "ppo": _OVR_PPO},
    "ovr_tree": {"teacher": TREE, "follow_prob": 0.98, "ppo": _OVR_PPO},
    # veto: the only alternative to following is keep (0), so exploration happens at the teacher's switches only
    "veto_tree": {"teacher": TREE, "alternatives": [0], "follow_prob": 0.8, "ppo": _OVR_PPO},
    "veto_thr": {"teacher": "threshold", "alternatives": [0], "follow_prob": 0.8, "ppo": _OVR_PPO},
}


def resolved(name: str, out: Path, configs: dict | None = None) -> dict:
    """``configs[name]`` (default: this env's ``CONFIGS`` and ``OVERRIDES``) with the tree path filled in."""
    return json.loads(json.dumps((configs or {**CONFIGS, **OVERRIDES})[name]).replace("{out}", str(out)))


def override_teacher(name: str, out: Path, cfg):
    from qec_gym.training.hybrid import WarmStart, make_teacher

    return make_teacher(cfg, WarmStart(teacher=resolved(name, out)["teacher"]), cache=out / "warm_start_teachers.json")


def train_override_one(name: str, seed: int, out: Path) -> None:
    from qec_gym.training import resolve_config
    from qec_gym.training.override import train_override

    spec = resolved(name, out)
    run = out / name / f"seed{seed}"
    cfg = resolve_config(ENV, "ppo", overrides=spec["ppo"], seed=seed, vec_env="native", eval_freq=0)
    t0 = time.perf_counter()
    record = train_override(cfg, run, override_teacher(name, out, cfg), alternatives=spec.get("alternatives"),
                            follow_prob=spec["follow_prob"])
    wall = time.perf_counter() - t0
    (run / "wall.json").write_text(json.dumps({"wall_s": wall}))
    print(json.dumps({"run": str(run), "wall_s": round(wall), **record}))


def override_rows(name: str, out: Path, episodes) -> list[dict]:
    """Validation rows of each seed of override run ``name`` on ``episodes`` ((scenario, seed) pairs)."""
    from qec_gym.eval import EvalConfig
    from qec_gym.eval.harness import run_one
    from qec_gym.training import resolve_config
    from qec_gym.training.override import load_override

    rows = []
    cfg = resolve_config(ENV, "ppo", vec_env="native")
    teacher = override_teacher(name, out, cfg)
    env = EvalConfig(ENV, scenarios="train", seeds=(0,)).make_env()
    for run in sorted((out / name).glob("seed*")):
        if not (run / "model.zip").exists():
            continue
        policy = load_override(run, teacher, env.action_space.n)
        label = f"{name}@{run.name[4:]}"
        rows += [run_one(policy, env, label, sc, seed, trace=False)[0] for sc, seed in episodes]
    env.close()
    return rows


def train_one(name: str, seed: int, out: Path, *, env: str = ENV, configs: dict | None = None) -> None:
    """Train ``configs[name]`` (overrides of ``env``'s packaged ppo.yml entry) into ``<out>/<name>/seed<seed>``."""
    import torch

    from qec_gym.training import resolve_config, train

    torch.set_num_threads(1)
    run = out / name / f"seed{seed}"
    cache = out / "warm_start_teachers.json"  # the harness's threshold fit on training scenarios
    if cache.exists() and not (run.parent / cache.name).exists():
        run.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(cache, run.parent / cache.name)
    cfg = resolve_config(env, "ppo", overrides=resolved(name, out, configs), seed=seed, vec_env="native", eval_freq=0)
    t0 = time.perf_counter()
    train(cfg, run)
    wall = time.perf_counter() - t0
    (run / "wall.json").write_text(json.dumps({"wall_s": wall}))
    meta = json.loads((run / "run.json").read_text()).get("warm_start", {})
    print(json.dumps({"run": str(run), "wall_s": round(wall), "bc_accuracy": meta.get("bc_accuracy"),
                      "dagger": meta.get("dagger")}))


def paired_table(df, rows: list[str], compare: list[str], *, counts: tuple[str, ...] = ("switches",),
                 walls: dict | None = None) -> list[str]:
    """Markdown table: per policy of ``rows`` its mean return, paired difference (95% t interval) to each
    of ``compare`` and regret to ``clairvoyant`` (both in ``df``), the mean per episode of each
    ``counts`` column of ``df`` and its training wall time in seconds (``walls``: policy -> s)."""
    from qec_gym.eval.stats import paired_difference

    walls = walls or {}
    means = df.groupby("policy")["return"].mean()
    per_ep = df.groupby("policy")[list(counts)].mean()
    lines = ["| run | mean return | " + " | ".join(f"vs {c}" for c in compare) + " | regret to clairvoyant | "
             + " | ".join(f"{c}/ep" for c in counts) + " | train wall s |",
             "|---|---|" + "---|" * len(compare) + "---|" + "---|" * len(counts) + "---|"]
    for k in rows:
        vs = " | ".join("-" if c == k else str(paired_difference(df, k, c)) for c in compare)
        wall = f"{walls[k]:.0f}" if k in walls else "-"
        lines.append(f"| {k} | {means[k]:.1f} | {vs} | {paired_difference(df, 'clairvoyant', k)} | "
                     + " | ".join(f"{per_ep.at[k, c]:.1f}" for c in counts) + f" | {wall} |")
    return lines


def evaluate_runs(names: list[str], out: Path, episodes: int, first_seed: int, *, env: str = ENV,
                  configs: dict | None = None, baselines: tuple[str, ...] = ("threshold", "best_fixed"),
                  compare: tuple[str, ...] = ("tree", "threshold"), counts: tuple[str, ...] = ("switches",)) -> None:
    """Score the runs of ``names`` (``configs``, default ``CONFIGS``; ``OVERRIDES`` names too), the tree at
    ``<out>/tree.joblib``, ``baselines`` and the clairvoyant plan on ``env``'s training scenarios with
    episode seeds ``first_seed`` + k, paired (``<out>/validation.csv``); print `paired_table`."""
    from qec_gym.eval import EvalConfig, evaluate

    import pandas as pd

    configs = CONFIGS if configs is None else configs
    runs = {f"{n}@{p.name[4:]}": p for n in names for p in sorted((out / n).glob("seed*")) if (p / "model.zip").exists()}
    policies = [f"{k}=run:{p}" for k, p in runs.items() if k.split("@")[0] in configs]
    policies += [f"tree={TREE.format(out=out)}", *baselines, "clairvoyant"]
    seeds = tuple(range(first_seed, first_seed + episodes))
    df = evaluate(policies, EvalConfig(env, scenarios="train", seeds=seeds), out_path=out / "validation.csv")
    episodes_run = sorted(set(zip(df.scenario, df.seed)))
    extra = [r for n in names if n in OVERRIDES for r in override_rows(n, out, episodes_run)]
    df = pd.concat([df, pd.DataFrame(extra)], ignore_index=True) if extra else df
    print(f"validation: {env}, training scenarios x seeds {seeds[0]}..{seeds[-1]} ({df.groupby('policy').size().max()} episodes)")
    walls = {k: json.loads((p / "wall.json").read_text())["wall_s"] for k, p in runs.items() if (p / "wall.json").exists()}
    print("\n".join(paired_table(df, [*runs, "tree", *baselines], list(compare), counts=counts, walls=walls)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--train", choices=sorted({**CONFIGS, **OVERRIDES}))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval", nargs="*", default=None, metavar="NAME")
    ap.add_argument("--episodes", type=int, default=8, help="episode seeds per training scenario")
    ap.add_argument("--first-seed", type=int, default=20_000)
    args = ap.parse_args(argv)
    if args.train in OVERRIDES:
        train_override_one(args.train, args.seed, args.out)
    elif args.train:
        train_one(args.train, args.seed, args.out)
    if args.eval is not None:
        evaluate_runs(args.eval, args.out, args.episodes, args.first_seed)


if __name__ == "__main__":
    main()
