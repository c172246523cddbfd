"""The ``qec-gym`` command line: a thin layer over the library (``main(argv=None)`` is testable).

Each subcommand is registered by one ``_add_<name>`` function that builds its parser and sets
its handler; handlers import what they need lazily so ``qec-gym --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def _add_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate memory experiments and print logical error rates")
    p.add_argument("--code", default="rotated_surface", help="code family (default: rotated_surface)")
    p.add_argument("--distance", "-d", type=int, nargs="+", default=[3, 5], help="code distance(s)")
    p.add_argument("--rounds", type=int, default=None, help="rounds (default: the distance)")
    p.add_argument("--noise", default="uniform", help="noise preset: uniform, sd6, si1000, code_capacity, phenomenological")
    p.add_argument("-p", type=float, nargs="+", default=[1e-3, 5e-3], help="physical error rate(s)")
    p.add_argument("--decoder", default="pymatching", help="decoder name (see qec_gym.decoders)")
    p.add_argument("--shots", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object per line")
    p.set_defaults(handler=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    import numpy as np

    from qec_gym.codes import CodeSpec
    from qec_gym.noise import NoiseParams
    from qec_gym.sim import SimulationCache, simulate_window

    presets = {
        "uniform": NoiseParams.uniform,
        "sd6": NoiseParams.sd6,
        "si1000": NoiseParams.si1000,
        "code_capacity": NoiseParams.code_capacity,
        "phenomenological": NoiseParams.phenomenological,
    }
    if args.noise not in presets:
        raise ValueError(f"unknown noise preset {args.noise!r}; choose one of {sorted(presets)}.")
    rng = np.random.default_rng(args.seed)
    cache = SimulationCache()
    if not args.json:
        print(f"{'code':<18}{'d':>3}{'p':>10}{'shots':>9}{'errors':>8}{'p_L/shot':>11}{'p_L/round':>11}  99% CI (per shot)")
    for d in args.distance:
        for p in args.p:
            spec = CodeSpec(args.code, d, rounds=args.rounds)
            w = simulate_window(
                spec, presets[args.noise](p), decoder=args.decoder, shots=args.shots, rng=rng, cache=cache
            )
            lo, hi = w.ci(0.99)
            if args.json:
                print(json.dumps({
                    "code": spec.family, "distance": d, "rounds": spec.rounds, "p": p,
                    "decoder": w.decoder, "shots": w.shots, "errors": w.errors,
                    "per_shot": w.logical_error_rate, "per_round": w.logical_error_per_round,
                    "ci99": [lo, hi], "detection_rate": w.detection_rate,
                }))
            else:
                print(
                    f"{spec.family:<18}{d:>3}{p:>10.2e}{w.shots:>9}{w.errors:>8}"
                    f"{w.logical_error_rate:>11.2e}{w.logical_error_per_round:>11.2e}  [{lo:.2e}, {hi:.2e}]"
                )
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the end-to-end demo (the README's first command)")
    p.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    p.add_argument("--shots", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from qec_gym.demo import run_demo

    path = run_demo(args.out, shots=args.shots, seed=args.seed, log=print)
    print(f"results: {path}")
    return 0


_COMMANDS = [_add_simulate, _add_demo]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="qec-gym",
        description="Simulate, learn and evaluate adaptive quantum error correction under drifting noise.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``qec-gym`` command; returns the exit status.

    Bad input (ValueError/TypeError from the library) prints one clear line, not a traceback.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as e:
        print(f"qec-gym {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"qec-gym {args.command}: interrupted; partial results were saved where supported.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
