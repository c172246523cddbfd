"""scripts/calib_v3_validate.py: its configurations resolve, and its paired table is right."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import calib_v3_validate as cv  # noqa: E402
from surface_v2_validate import resolved  # noqa: E402


@pytest.mark.parametrize("name", sorted(cv.CONFIGS))
def test_configs_resolve_against_the_packaged_entry(name, tmp_path):
    from qec_gym.training import resolve_config
    from qec_gym.training.hybrid import WarmStart

    cfg = resolve_config(cv.ENV, "ppo", overrides=resolved(name, tmp_path, cv.CONFIGS), vec_env="native")
    ws = WarmStart.from_mapping(cfg.warm_start)
    assert ws.freeze_normalization
    assert cfg.hyperparams["ent_coef"] == 0.0


def test_the_packaged_entry_is_the_chosen_configuration(tmp_path):
    from qec_gym.training import resolve_config

    chosen = resolve_config(cv.ENV, "ppo", overrides=resolved(cv.CHOSEN, tmp_path, cv.CONFIGS), vec_env="native")
    assert resolve_config(cv.ENV, "ppo", vec_env="native") == chosen


def _episodes(policy: str, returns: list[float], recal: list[int]) -> list[dict]:
    return [{"policy": policy, "scenario": "s", "seed": k, "return": r, "recalibrations": c, "switches": 0}
            for k, (r, c) in enumerate(zip(returns, recal))]


def test_release_table_pairs_each_seed_with_every_baseline(tmp_path):
    rows = _episodes("ppo@0", [3.0, 5.0, 7.0], [2, 4, 6]) + _episodes("clairvoyant", [10.0, 10.0, 10.0], [1, 1, 1])
    for b in cv.COMPARE:
        rows += _episodes(b, [1.0, 2.0, 3.0], [0, 0, 0])
    pd.DataFrame(rows).to_csv(tmp_path / "results.csv", index=False)
    table = cv.release_table(tmp_path)
    assert table[0].startswith("| run | mean return | vs tree | vs best_fixed |")
    seed_row = table[2].split(" | ")
    assert seed_row[0] == "| ppo@0" and seed_row[1] == "5.0"
    # differences 2, 3, 4: mean 3, t interval 3 -+ 4.303 * 1 / sqrt(3)
    assert seed_row[2] == "3.00 [0.52, 5.48]"
    assert seed_row[-3:] == ["4.0", "0.0", "- |"]  # recalibrations/ep, switches/ep, no wall time
    assert table[3].split(" | ")[2] == "-"  # the tree is not compared with itself
