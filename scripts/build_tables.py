"""Rebuild the packaged window tables of the registered envs (``qec_gym/envs/data``), with progress bars.

Each env id is constructed with its own constants (``qec_gym.envs``); a table that is not packaged
under its current key is computed into a scratch cache and copied into the package. Tables that
are already packaged are left alone (``--force`` recomputes them). Run from the repository root
after merging changes that alter a table's key (TableConfig, noise model, menus, axes):

    nice -n 10 python scripts/build_tables.py                                # every registered id
    nice -n 10 python scripts/build_tables.py qec_gym/DecoderCalibration-v2  # one id

Prints each table's file, build time and (fitted format) its shots and monotonicity.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    import gymnasium as gym

    import qec_gym  # noqa: F401  (registers the ids)
    from qec_gym.cli import _ProgressHandler
    from qec_gym.envs import ENV_IDS
    from qec_gym.envs.table import PACKAGED_TABLES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env_ids", nargs="*", help=f"ids to build (default: all of {', '.join(ENV_IDS)})")
    parser.add_argument("--force", action="store_true", help="recompute tables that are already packaged")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.env_ids) - set(ENV_IDS))
    if unknown:
        parser.error(f"unknown env ids {unknown}; choose from {list(ENV_IDS)}.")

    handler = _ProgressHandler()
    logger = logging.getLogger("qec_gym")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for env_id in args.env_ids or ENV_IDS:
            with tempfile.TemporaryDirectory() as scratch:
                moved = []
                if args.force:  # hide the packaged copies of this id's table so it is recomputed
                    probe = gym.make(env_id, backend="table").unwrapped if "Raw" not in env_id else None
                    if probe is not None:
                        name = f"table-{probe.table.config.key()}.npz"
                        if (PACKAGED_TABLES / name).exists():
                            shutil.move(PACKAGED_TABLES / name, Path(scratch) / ("packaged-" + name))
                            moved.append(name)
                start = time.perf_counter()
                try:
                    env = gym.make(env_id, table_cache=scratch).unwrapped
                except BaseException:
                    for name in moved:  # never lose a packaged table to an interrupted rebuild
                        shutil.move(Path(scratch) / ("packaged-" + name), PACKAGED_TABLES / name)
                    raise
                seconds = time.perf_counter() - start
                table = env.table
                name = f"table-{table.config.key()}.npz"
                built = Path(scratch) / name
                if built.exists():
                    shutil.copyfile(built, PACKAGED_TABLES / name)
                    print(f"{env_id}: built {name} in {seconds:.0f} s", file=sys.stderr)
                else:
                    print(f"{env_id}: {name} already packaged", file=sys.stderr)
                if getattr(table.config, "fitted", False):
                    monotone = bool(np.all(np.diff(table.log_p_fit, axis=1) >= 0))
                    print(f"  shots per cell {table.shots.min()}..{table.shots.max()}, errors {table.errors.min()}.."
                          f"{table.errors.max()}, fit monotone in true noise: {monotone}", file=sys.stderr)
    finally:
        logger.removeHandler(handler)
        handler.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
