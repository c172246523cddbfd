"""MultiPatchSwitch-v1: spaces, reproducibility, the single env's observation per patch, budget, remap, events, no leak."""

import functools
import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from scipy.stats import spearmanr

import qec_gym  # noqa: F401  (registers the ids)
from qec_gym.agents.base import IDX_LOG_NOISE, IDX_LOG_NOISE_EMA
from qec_gym.envs import MULTI_PATCH_ENV_IDS, MultiPatchSwitchEnv, RemapConfig, SharedEvents
from qec_gym.envs.multipatch_env import apply_budget

ENV_ID = MULTI_PATCH_ENV_IDS[0]


@functools.cache
def _env(n_patches: int = 16, max_steps: int = 60, **kw) -> MultiPatchSwitchEnv:
    return gym.make(ENV_ID, n_patches=n_patches, max_steps=max_steps, **kw).unwrapped


def test_registered_and_listed():
    assert ENV_ID == "qec_gym/MultiPatchSwitch-v1" and ENV_ID in gym.registry


@pytest.mark.parametrize("n_patches", [16, 64])
def test_check_env_and_spaces(n_patches):
    env = gym.make(ENV_ID, n_patches=n_patches, max_steps=10)
    check_env(env.unwrapped)
    u = env.unwrapped
    obs, info = env.reset(seed=2)
    n_menu = len(u.menu)
    assert env.action_space == gym.spaces.MultiDiscrete([3 + n_menu] * n_patches)
    assert obs.shape == (n_patches * (16 + n_menu) + 2,) and obs.dtype == np.float32
    done = False
    while not done:
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs) and np.isfinite(r) and not term
        assert info["qubits"] <= u.budget == info["budget"]
        assert info["patch_reward"].shape == (n_patches,) and math.isclose(r, info["patch_reward"].sum())
        done = trunc
    assert info["step"] == 9


def test_same_seed_same_episode():
    def run():
        env = gym.make(ENV_ID, max_steps=30)
        obs, _ = env.reset(seed=5)
        rng = np.random.default_rng(0)
        out = [obs]
        for _ in range(30):
            obs, r, _, _, info = env.step(rng.integers(0, env.action_space.nvec))
            out += [obs, r, info["patch_logical_errors"], info["patch_true_multiplier"], info["patch_region"]]
        return out

    a, b = run(), run()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    env = gym.make(ENV_ID, max_steps=30)
    env.reset(seed=6)
    assert not np.array_equal(env.unwrapped.m_region, _reset(5))


def _reset(seed):
    env = gym.make(ENV_ID, max_steps=30)
    env.reset(seed=seed)
    return env.unwrapped.m_region


def test_patch_rows_are_the_single_envs_observation():
    """Each row is what `QECSwitchEnv._observation` (the reference) gives for that patch's window."""
    env = _env()
    env.reset(seed=1)
    rng = np.random.default_rng(3)
    for _ in range(4):
        env.step(rng.integers(0, env.n_actions - 1, env.n_patches))  # switches and recalibrations, no remap
    ema_before = env._ema.copy()
    feats = rng.uniform(0.0, 0.3, (env.n_patches, 8)) * np.array([1, 1, 1, 1, 1, 1, 0.1, 50])
    rows = env.patch_rows(env._observation(feats))
    single = env.template
    single.reset(seed=0)
    for p in range(env.n_patches):
        single.entry, single.since_switch, single.since_recal = int(env.entry[p]), int(env.since_switch[p]), int(
            env.since_recal[p])
        single._ema = float(ema_before[p])
        want = single._observation(feats[p], 1.0, None)
        np.testing.assert_allclose(rows[p, : len(want)], want, rtol=1e-6, atol=1e-6)


def test_budget_rule_pinned():
    q = np.array([17.0, 49.0, 97.0, 241.0])
    # shrinking first (patch 2 frees 80), then growth by smallest increase: patch 1 (+48) fits, patch 0 (+192) not
    assert apply_budget(np.array([1, 1, 2]), np.array([3, 2, 0]), q, 49 + 49 + 97 + 48).tolist() == [1, 2, 0]
    env = gym.make(ENV_ID, max_steps=5)
    env.reset(seed=0)
    u = env.unwrapped
    assert u.budget == 97 * 16 and int(u._qubits[u.entry].sum()) == 49 * 16
    d11 = 2 + 8  # menu[8]: rotated_surface d11 pymatching, 241 qubits
    _, r, _, _, info = env.step(np.full(16, d11))
    # free budget 768 = 4 x (241 - 49): patches 0..3 granted (ties by index), 12 refused
    assert info["qubits"] == 1552 and info["refused"] == 12 and info["switched"] == 4
    assert info["patch_entry"].tolist() == [8] * 4 + [2] * 12
    assert info["patch_refused"].tolist() == [False] * 4 + [True] * 12
    mask = u.action_masks().reshape(16, -1)  # the budget is now full: only shrinking or equal switches are open
    assert mask[:, :2].all() and mask[:, u.remap_action].all()
    assert mask[:4, 2 + np.r_[0:8, 9]].all() and not mask[:4, 2 + 8].any()
    assert mask[4:, 2 + np.array([0, 1, 3])].all() and not mask[4:, 2 + np.r_[2, 4:10]].any()


def test_refusal_costs_exactly_the_penalty():
    def patch_rewards(penalty):
        env = gym.make(ENV_ID, max_steps=5, refusal_penalty=penalty)
        env.reset(seed=0)
        return env.step(np.full(16, 10))[4]["patch_reward"]

    diff = patch_rewards(0.0) - patch_rewards(0.7)
    np.testing.assert_allclose(diff, [0.0] * 4 + [0.7] * 12, atol=1e-12)


def test_remap_moves_to_a_spare_with_a_transient_and_blocks_the_old_region():
    env = gym.make(ENV_ID, max_steps=60, n_spares=1, remap=RemapConfig(transient_windows=2, recalibration_windows=5))
    env.reset(seed=4)
    u = env.unwrapped
    remap = u.remap_action
    a = np.zeros(16, dtype=np.int64)
    a[3] = remap
    _, _, _, _, info = env.step(a)
    assert info["patch_region"][3] == 16 and info["remapped"] == 1  # the only spare region
    assert info["patch_true_multiplier"][3] == pytest.approx(min(u.m_region[16, 0] * 2.0, 10.0))
    assert not u.action_masks().reshape(16, -1)[:, remap].any()  # no free region: masked
    a[:] = 0
    a[5] = remap
    _, _, _, _, info = env.step(a)  # refused: region 3 is being recalibrated
    assert info["patch_refused"][5] and info["patch_region"][5] == 5
    _, _, _, _, info = env.step(np.zeros(16, dtype=np.int64))
    assert info["patch_true_multiplier"][3] == pytest.approx(u.m_region[16, 2])  # transient over after 2 windows
    for _ in range(2):
        env.step(np.zeros(16, dtype=np.int64))
    _, _, _, _, info = env.step(a)  # step 5: region 3 is free again
    assert info["patch_region"][5] == 3 and info["remapped"] == 1


def test_shared_events_bursts_are_local_and_the_defect_sits_in_one_region():
    env = _env(n_patches=16, max_steps=500, scenarios="calm", events=SharedEvents(burst_rate=0.0, defect_low=3.0,
                                                                                 defect_high=3.0))
    env.reset(seed=0)
    mean = env.m_region.mean(axis=1)
    assert np.argmax(mean) == env.defect_region and mean[env.defect_region] > 2 * np.delete(mean, env.defect_region).max()
    assert env._burst_kernel[0, 0] == 1.0 and env._burst_kernel[0, 1] == pytest.approx(math.exp(-1.0))
    bursty = _env(n_patches=16, max_steps=500, scenarios="calm", events=SharedEvents(burst_rate=0.2, defect_high=1.0))
    near, far = [], []
    for seed in range(3):
        bursty.reset(seed=seed)
        lm = np.log(bursty.m_region)
        near.append(np.corrcoef(lm[0], lm[1])[0, 1])  # neighbours on the grid
        far.append(np.corrcoef(lm[0], lm[15])[0, 1])  # opposite corners (distance 3 sqrt 2)
    assert np.mean(near) > 0.5 and np.mean(near) > np.mean(far) + 0.3


def _abs_spearman(x, y):
    return 0.0 if np.ptp(x) == 0 or np.ptp(y) == 0 else abs(float(spearmanr(x, y)[0]))


@pytest.mark.parametrize("policy", ["keep", "random"])
def test_no_patch_feature_predicts_the_true_noise_better_than_the_syndromes(policy):
    """As tests/envs/test_observation_leak.py, per patch: rows of the observation vs each patch's true noise."""
    env = _env(n_patches=16, max_steps=150)
    rng = np.random.default_rng(7)
    X, y = [], []
    for seed in (11, 12):
        obs, info = env.reset(seed=seed)
        for _ in range(150):
            X.append(env.patch_rows(obs))
            y.append(np.log10(info["patch_true_multiplier"]))
            a = np.zeros(16, dtype=np.int64) if policy == "keep" else rng.integers(0, env.n_actions, 16)
            obs, _, _, _, info = env.step(a)
    X, y = np.concatenate(X).astype(np.float64), np.concatenate(y)
    best = max(_abs_spearman(X[:, IDX_LOG_NOISE], y), _abs_spearman(X[:, IDX_LOG_NOISE_EMA], y))
    assert best > 0.5
    for j in range(X.shape[1]):
        assert _abs_spearman(X[:, j], y) <= best + 0.005, f"feature {j} knows the true noise"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_patches": 0}, "n_patches"),
    ({"budget": 100}, "budget"),
    ({"events": {"burst_rate": 1}}, "SharedEvents"),
    ({"scenarios": "readout_drift"}, "readout_drift"),
])
def test_bad_construction(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        MultiPatchSwitchEnv(max_steps=5, **kwargs)


def test_bad_actions():
    env = gym.make(ENV_ID, max_steps=5)
    env.reset(seed=0)
    for bad in (3, np.zeros(15, dtype=int), np.full(16, 99), np.full(16, 0.5)):
        with pytest.raises(ValueError, match="one per patch"):
            env.unwrapped.step(bad)
    with pytest.raises(ValueError, match="transient_factor"):
        RemapConfig(transient_factor=0.5)


def test_each_region_reports_its_drift_draw_and_the_chip_is_unchanged():
    import hashlib

    env = gym.make(ENV_ID, n_patches=16, max_steps=3, scenarios=["randomised_surface_drift"]).unwrapped
    h = hashlib.sha256()
    for seed in range(2):
        obs, info = env.reset(seed=seed)
        for x in (env.m_region, obs):  # rounded to 1e-6: machines' libm builds differ in the last bits
            h.update(np.ascontiguousarray(np.round(np.asarray(x, dtype=np.float64), 6) + 0.0).tobytes())
        assert len(info["drift_draw"]) == env.n_regions  # one per region: they drift independently
        assert all([d["process"] for d in r["all"]] == ["RandomLevel", "Mixture"] for r in info["drift_draw"])
        assert len({r["all"][0]["level"] for r in info["drift_draw"]}) == env.n_regions
    assert h.hexdigest()[:16] == "c16cf1d5d2431292"  # the chip computed before draws were recorded (4fe5f08^)
    assert "drift_draw" not in env.step(np.zeros(16, dtype=np.int64))[4]
    plain = _env(16, 3)
    assert plain.reset(seed=0)[1]["drift_draw"] == [{}] * plain.n_regions
