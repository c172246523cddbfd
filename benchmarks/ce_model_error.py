"""How much `certainty_equivalent` control loses when its characterisation table is wrong (issue 17).

The `certainty_equivalent` baseline (`qec_gym.agents.certainty_equivalent`) plans on the env's own
table, which is exact here and never on a device. This script fits it on training scenarios once, then
runs the same fitted controller (same horizon and estimate) with a *perturbed* model on a drawn
validation set (`qec_gym.noise.draws`, split ``validation``: tuning data, never a held-out draw):

- ``p_shot xK``: every entry's logical error per shot multiplied by K;
- ``decode xK``: every decode time per round multiplied by K (the latency term);
- ``bit flips xK``: the analytic bit-flip law of a cat env multiplied by K (`CatBitFlips`)
  (all three: `WindowCostModel.scaled`);
- ``table of ENV``: another env's table as the model (same menu; e.g. DecoderCalibration-v1's
  independently built table for DecoderCalibration-v3).

The env, its reward and its noise are untouched: only the controller's beliefs change. Printed per
variant: mean return over the paired episodes and its mean paired difference (95% t interval) to the
exact model and to the reference baselines (``--references``, e.g. the tree and periodic
recalibration), on the same episodes.

    python benchmarks/ce_model_error.py --env qec_gym/DecoderCalibration-v3 --references periodic_recal \\
        --table-of qec_gym/DecoderCalibration-v1
    python benchmarks/ce_model_error.py --env qec_gym/CatSwitch-v4 --seeds 3 --references tree
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _variants(env, table_of: list[str]) -> dict[str, object]:
    """Row label -> the model the controller plans on (`ModelError`, as ``certainty_equivalent:<options>``)."""
    from qec_gym.agents import ModelError

    errors = {"exact model": ModelError()}
    for k in (0.67, 1.5):
        errors[f"p_shot x{k}"] = ModelError(p_shot=k)
    for k in (0.67, 1.5):
        errors[f"decode x{k}"] = ModelError(decode=k)
    if env.unwrapped.cost_model().extra_failure is not None:
        for k in (0.5, 2.0):
            errors[f"bit flips x{k}"] = ModelError(bit_flips=k)
    for env_id in table_of:
        errors[f"table of {env_id.split('/')[-1]}"] = ModelError(table_of=env_id)
    try:
        return {name: error.apply(env) for name, error in errors.items()}
    except ValueError as e:
        raise SystemExit(f"--table-of: {e}") from None


def main(argv=None) -> None:
    from qec_gym.cli import _COUNT, _SEED

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="qec_gym/DecoderCalibration-v3")
    ap.add_argument("--draw", type=_SEED, default=0, help="drawn validation set (never a held-out draw)")
    ap.add_argument("--seeds", type=_COUNT, default=5, help="episode seeds per scenario of the draw")
    ap.add_argument("--references", nargs="*", default=["tree"], metavar="BASELINE",
                    help="baselines run on the same episodes (e.g. tree, periodic_recal)")
    ap.add_argument("--table-of", nargs="*", default=[], metavar="ENV", help="envs whose tables serve as a model")
    ap.add_argument("--out", type=Path, default=None, help="also write the table here (markdown)")
    args = ap.parse_args(argv)

    from tqdm import tqdm

    from qec_gym.agents import fit_reference_tree, make_baseline
    from qec_gym.agents.certainty_equivalent import CertaintyEquivalentAgent
    from qec_gym.eval import EvalConfig
    from qec_gym.eval.harness import run_one
    from qec_gym.eval.stats import paired_difference
    from qec_gym.noise.draws import draw_scenarios, family_for_env

    import pandas as pd

    t0 = time.perf_counter()
    scenarios = draw_scenarios(family_for_env(args.env), args.draw, split="validation")
    config = EvalConfig(args.env, scenarios=scenarios, seeds=tuple(range(args.seeds)))
    env = config.make_env()
    fitted = make_baseline("certainty_equivalent", env)  # fitted on the env's training scenarios
    policies = {name: CertaintyEquivalentAgent(fitted.config, model, calibration_state=fitted.calibration_state)
                for name, model in _variants(env, args.table_of).items()}
    for ref in args.references:
        policies[ref] = fit_reference_tree(args.env) if ref == "tree" else make_baseline(ref, env)
    rows = []
    episodes = [(s.name, seed) for s in scenarios for seed in config.seeds]
    for name, policy in tqdm(policies.items(), desc="policies", file=sys.stderr):
        for scenario, seed in episodes:
            row, _ = run_one(policy, env, name, scenario, seed, trace=False)
            rows.append(row)
    env.close()
    df = pd.DataFrame(rows)
    lines = [f"# certainty_equivalent with a perturbed model: {args.env}, validation draw {args.draw}", "",
             f"Fitted on training scenarios: horizon {fitted.config.horizon:g}, estimate {fitted.config.estimate}; "
             f"{len(episodes)} paired episodes ({len(scenarios)} scenarios x {args.seeds} seeds); {time.perf_counter() - t0:.0f} s.",
             "", "| model | mean return | vs exact model | " + " | ".join(f"vs `{r}`" for r in args.references) + " |",
             "|---|---|---|" + "---|" * len(args.references)]
    for name in policies:
        if name in args.references:
            continue
        cells = [str(paired_difference(df, name, "exact model")) if name != "exact model" else "-"]
        cells += [str(paired_difference(df, name, r)) for r in args.references]
        lines.append(f"| {name} | {df[df.policy == name]['return'].mean():.1f} | " + " | ".join(cells) + " |")
    refs = "; ".join(f"`{r}` {df[df.policy == r]['return'].mean():.1f}" for r in args.references)
    lines += ["", f"References, mean return: {refs}."]
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
