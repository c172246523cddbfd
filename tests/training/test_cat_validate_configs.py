"""The named configurations of ``scripts/cat_validate.py`` (session 6, CatSwitch-v4) resolve to valid configs."""

import importlib.util
from pathlib import Path

import pytest

from qec_gym.training import resolve_config
from qec_gym.training.config import load_hyperparams
from qec_gym.training.hybrid import WarmStart

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "cat_validate.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("cat_validate", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["clone_tree", "tree_ppo200k", "tree_ppo600k", "dagger_tree_ppo600k",
                                  "tree_ppo600k_lr1e-4", "ce_dagger_ppo600k", "ce_dagger_ppo200k"])
def test_config_resolves_on_the_recipe(script, name, tmp_path):
    over = script.config_overrides(name, tmp_path)
    # the warm start is merged key by key onto the recipe's: statistics stay frozen, the teacher is the tree file
    assert over["warm_start"]["freeze_normalization"] is True
    if name.startswith("ce_"):  # session 11: the certainty-equivalent controller, fitted on 8 training episodes
        assert (over["warm_start"]["teacher"], over["warm_start"]["teacher_episodes"]) == ("certainty_equivalent", 8)
    else:
        assert over["warm_start"]["teacher"] == f"tree:{tmp_path}/tree.joblib"
        assert over["warm_start"]["teacher_episodes"] == 30
    cfg = resolve_config("qec_gym/CatSwitch-v4", "ppo", overrides=over, vec_env="native", eval_freq=0)
    WarmStart.from_mapping(cfg.warm_start)
    assert cfg.hyperparams["ent_coef"] == 0.0 and cfg.hyperparams["clip_range"] == 0.1


def test_clone_only_keeps_the_actor(script, tmp_path):
    over = script.config_overrides("clone_tree", tmp_path)
    assert (over["n_timesteps"], over["learning_rate"], over["warm_start"]["value_rounds"]) == (1, 1e-12, 0)
    assert script.config_overrides("tree_ppo600k", tmp_path)["n_timesteps"] == 600_000


def test_packaged_v4_entry_is_the_validated_config(script, tmp_path):
    """The packaged CatSwitch-v4 entry is session 11's ``ce_dagger_ppo200k``."""
    assert load_hyperparams("ppo", "qec_gym/CatSwitch-v4") == script.config_overrides("ce_dagger_ppo200k", tmp_path)


def test_packaged_v5_entry_keeps_the_session6_recipe(script, tmp_path):
    """CatSwitch-v5 keeps v4's session-6 entry, ``tree_ppo600k`` with the teacher refitted by the same recipe."""
    chosen = script.config_overrides("tree_ppo600k", tmp_path)
    chosen["warm_start"]["teacher"] = "tree"  # `fit_tree_teacher`: the tree file's recipe (30 episodes, seed 0, depth 4)
    assert load_hyperparams("ppo", "qec_gym/CatSwitch-v5") == chosen


def test_committed_surface_v1_config_is_the_validated_candidate(script, tmp_path):
    """docs/configs/SurfaceSwitch-v1_ce_dagger_ppo200k.yml (session 13's held-out surface draw 2) is
    ``ce_dagger_ppo200k`` as validated, and trains on SurfaceSwitch-v1 (whose packaged entry it does not replace)."""
    from qec_gym.training.config import read_user_config

    path = SCRIPT.parents[1] / "docs" / "configs" / "SurfaceSwitch-v1_ce_dagger_ppo200k.yml"
    committed = read_user_config(path)
    assert committed == script.config_overrides("ce_dagger_ppo200k", tmp_path)
    cfg = resolve_config("qec_gym/SurfaceSwitch-v1", "ppo", overrides=committed, vec_env="native", eval_freq=0)
    assert cfg.total_timesteps == 200_000 and WarmStart.from_mapping(cfg.warm_start).teacher == "certainty_equivalent"
    assert load_hyperparams("ppo", "qec_gym/SurfaceSwitch-v1") != committed
