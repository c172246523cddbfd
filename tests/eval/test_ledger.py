"""The held-out draw ledger: each (family, seed, env) used once, every use recorded."""

from __future__ import annotations

import json

import pytest

from qec_gym.eval.ledger import check_fresh, draw_uses, next_free_seed, record_draw


def test_a_recorded_draw_is_refused_for_its_env_only(tmp_path):
    path = tmp_path / "docs" / "draws.jsonl"
    assert next_free_seed(path, "surface") == 0 and draw_uses(path, "surface", 0) == []
    check_fresh(path, family="surface", seed=0, env_id="qec_gym/SurfaceSwitch-v1")  # nothing recorded yet
    record_draw(path, family="surface", seed=0, env_id="qec_gym/SurfaceSwitch-v1", out="runs/a")
    with pytest.raises(ValueError, match=r"surface/0 was already used for qec_gym/SurfaceSwitch-v1 .*runs/a.*--draw 1"):
        check_fresh(path, family="surface", seed=0, env_id="qec_gym/SurfaceSwitch-v1")
    check_fresh(path, family="surface", seed=0, env_id="qec_gym/SurfaceSwitch-v2")  # another env's test
    check_fresh(path, family="cat", seed=0, env_id="qec_gym/SurfaceSwitch-v1")  # another family's draw
    record_draw(path, family="surface", seed=3, env_id="qec_gym/SurfaceSwitch-v2", out="runs/b", reuse=True)
    assert next_free_seed(path, "surface") == 4 and next_free_seed(path, "cat") == 0
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["family"], e["seed"], e["reuse"]) for e in entries] == [("surface", 0, False), ("surface", 3, True)]
    assert {"at", "git_revision", "out", "env_id"} <= set(entries[0])


def test_a_damaged_ledger_is_named_with_the_fix(tmp_path):
    path = tmp_path / "draws.jsonl"
    path.write_text('{"family": "cat", "seed": 0}\nnot json\n')
    with pytest.raises(ValueError, match=r"draws.jsonl:2 is not a JSON line.*git checkout"):
        next_free_seed(path, "cat")
