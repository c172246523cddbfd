"""CatSwitchEnv: Gymnasium contract, cat scenarios, bit flips in the reward, table vs circuit."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import qec_gym  # noqa: F401  (registers the ids)
from qec_gym.bosonic.channel import CatOperatingPoint, cat_channel
from qec_gym.envs import ENV_IDS
from qec_gym.envs.cat_env import (
    CAT_HELDOUT_SCENARIOS,
    CAT_SCENARIOS,
    CAT_TRAINING_SCENARIOS,
    CatMenuEntry,
    CatSwitchEnv,
    cat_menu,
)
from qec_gym.noise.params import NoiseParams
from qec_gym.sim.stats import binomial_ci

ENV_ID = "qec_gym/CatSwitch-v1"
ENV_ID_V2 = "qec_gym/CatSwitch-v2"

SMALL = dict(
    menu=cat_menu([3.0, 6.0], [3, 5]),
    kappa1_range=(0.25, 8.0, 5),
    table_windows=3,
    shots=300,
)


@pytest.fixture
def small(tmp_path):
    return {**SMALL, "table_cache": str(tmp_path)}


def test_registered_and_uses_the_packaged_table(tmp_path, monkeypatch):
    assert ENV_ID in ENV_IDS
    monkeypatch.setenv("QEC_GYM_CACHE", str(tmp_path))  # a rebuild would land here
    env = gym.make(ENV_ID, max_steps=20)
    assert env.unwrapped.action_space.n == 26
    assert not any(tmp_path.rglob("*.npz")), "the default table must ship in qec_gym/envs/data"


def test_circuit_backend_passes_check_env(small):
    env = gym.make(ENV_ID, backend="circuit", max_steps=6, **small).unwrapped
    check_env(env)
    obs, info = env.reset(seed=1)
    for a in (0, 3, 1, 4):
        obs, r, term, trunc, info = env.step(a)
        assert env.observation_space.contains(obs) and np.isfinite(r) and not term


@pytest.mark.parametrize("env_id", [ENV_ID, ENV_ID_V2])
def test_info_holds_the_cat_state_and_the_true_channel(env_id):
    env = gym.make(env_id, max_steps=10).unwrapped
    _, info = env.reset(seed=0, options={"scenario": "cat_ou_drift"})
    for key in ("true_noise", "oracle_action", "kappa1_over_kappa2", "nbar", "distance", "modes", "photons",
                "bit_flip_round", "expected_p_round"):
        assert key in info
    entry = env.menu[env.entry]
    assert (info["modes"], info["photons"]) == (2 * entry.distance - 1, entry.nbar * (2 * entry.distance - 1))
    law = {ENV_ID: "gouzien2023", ENV_ID_V2: "simulated"}[env_id]
    point = CatOperatingPoint(entry.nbar, info["kappa1_over_kappa2"], cx_bitflip=law)
    assert info["true_noise"] == cat_channel(point).noise
    assert info["bit_flip_round"] == pytest.approx(cat_channel(point).bit_flip_per_round(entry.distance), rel=1e-9)
    assert isinstance(info["true_noise"], NoiseParams)


@pytest.mark.parametrize("env_id", [ENV_ID, ENV_ID_V2])
def test_reward_counts_the_analytic_bit_flips(env_id):
    """At nbar = 2 bit flips dominate: the window's logical error sits at the analytic bit-flip rate."""
    env = gym.make(env_id, max_steps=40).unwrapped
    env.reset(seed=2, options={"scenario": "cat_calm"})
    nbar2 = [i for i, e in enumerate(env.menu) if e.nbar == 2.0 and e.distance == 5][0]
    env.step(2 + nbar2)
    errors = shots = 0
    for _ in range(30):
        _, _, _, _, info = env.step(0)
        errors, shots = errors + info["logical_errors"], shots + info["shots"]
        assert info["expected_p_round"] >= info["bit_flip_round"]
    p_shot = (1 - (1 - 2 * info["bit_flip_round"]) ** 5) / 2
    lo, hi = binomial_ci(errors, shots, confidence=0.999)
    assert lo <= p_shot * 1.02 and p_shot * 0.98 <= hi * 1.1


def test_v2_changes_only_the_cx_bit_flips(tmp_path, monkeypatch):
    """v1 and v2 share the packaged phase-flip table and the observation; v2's CX bit flips are the
    simulated ones (packaged CX table), larger than v1's 0.5 exp(-2 nbar) at every menu nbar."""
    from qec_gym.bosonic.cx import packaged_cx_table

    monkeypatch.setenv("QEC_GYM_CACHE", str(tmp_path))
    v1, v2 = gym.make(ENV_ID, max_steps=5).unwrapped, gym.make(ENV_ID_V2, max_steps=5).unwrapped
    assert not any(tmp_path.rglob("*.npz"))
    assert v1.table.config.key() == v2.table.config.key()
    o1, i1 = v1.reset(seed=3)
    o2, i2 = v2.reset(seed=3)
    assert np.array_equal(o1, o2) and i1["true_noise"] == i2["true_noise"]
    d, nbar, k1 = i1["distance"], i1["nbar"], i1["kappa1_over_kappa2"]
    p_cx = packaged_cx_table().p_bitflip(nbar, k1, 1.0)
    ratio = i2["bit_flip_round"] / i1["bit_flip_round"]
    assert ratio > 1
    # the CX dominates the bit flips at these nbar: v2 / v1 ~ p_cx / (0.5 exp(-2 nbar))
    assert ratio == pytest.approx(p_cx / (0.5 * np.exp(-2 * nbar)), rel=0.05), (d, nbar)


def test_scenarios_split_and_stay_on_the_table():
    assert set(CAT_SCENARIOS) == set(CAT_TRAINING_SCENARIOS) | set(CAT_HELDOUT_SCENARIOS)
    assert not set(CAT_TRAINING_SCENARIOS) & set(CAT_HELDOUT_SCENARIOS)
    train_drifts = {s.drift for s in CAT_TRAINING_SCENARIOS.values()}
    assert all(s.drift not in train_drifts and s.is_heldout for s in CAT_HELDOUT_SCENARIOS.values())
    # nor nested inside a training scenario (the domain-randomised one is a mixture)
    inside = {q for s in CAT_TRAINING_SCENARIOS.values() for q in s.drift.walk()}
    assert not {s.drift for s in CAT_HELDOUT_SCENARIOS.values()} & inside
    env = gym.make(ENV_ID).unwrapped
    lo, hi = env.table.grid[0], env.table.grid[-1]
    gen = np.random.default_rng(7)
    for s in CAT_SCENARIOS.values():
        m = np.concatenate([s.multipliers(gen) for _ in range(10)])
        assert lo <= m.min() and m.max() <= hi, s.name
        assert m.max() / m.min() > 1.5, s.name
        assert (s.trajectory(np.random.default_rng(0)) == s.trajectory(np.random.default_rng(0))).all()
    held = gym.make(ENV_ID, scenarios="heldout", max_steps=5).unwrapped
    assert set(held.scenario_names) == set(CAT_HELDOUT_SCENARIOS)
    assert set(env.scenario_names) == set(CAT_TRAINING_SCENARIOS) - {"cat_randomised_drift"}  # CatSwitch-v5's


def test_same_seed_same_episode(small):
    def run():
        env = CatSwitchEnv(**small, max_steps=8)
        obs, _ = env.reset(seed=4)
        out = [obs]
        for a in (0, 2, 0, 1, 5, 0):
            obs, r, _, _, info = env.step(a)
            out += [obs, r, info["logical_errors"], info["kappa1_over_kappa2"]]
        return out

    assert all(np.array_equal(x, y) for x, y in zip(run(), run()))


def test_oracle_moves_between_photon_numbers_and_distances():
    """Informative env: over the training scenarios the myopic oracle uses several nbar and d."""
    env = gym.make(ENV_ID).unwrapped
    used = set()
    for seed, name in enumerate(env.scenario_names):
        env.reset(seed=seed, options={"scenario": name})
        done = False
        while not done:
            a = env.oracle_action()
            used.add(env.menu[env.entry if a == 0 else a - 2])
            _, _, _, done, _ = env.step(a)
    assert len({e.nbar for e in used}) >= 2 and len({e.distance for e in used}) >= 2, used


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(menu=[]), TypeError, "CatMenuEntry"),
        (dict(calibration_table=True), ValueError, "calibration_table"),
        (dict(scenarios="calm"), ValueError, "unknown scenario"),
        (dict(kappa1_range=(1.0, 1.5, 3)), ValueError, "widen kappa1_range"),
    ],
)
def test_bad_construction(small, kwargs, exc, match):
    if match == "widen kappa1_range":
        env = CatSwitchEnv(**{**small, **kwargs})
        with pytest.raises(exc, match=match):
            env.reset(seed=0, options={"scenario": "cat_ou_drift"})
        return
    with pytest.raises(exc, match=match):
        CatSwitchEnv(**{**small, **kwargs})


def test_menu_entry_validation():
    with pytest.raises(ValueError, match="family"):
        CatMenuEntry("repetition", 3, nbar=4.0)
    with pytest.raises(ValueError, match="nbar"):
        CatMenuEntry("cat_repetition", 3, nbar=0.0)
    with pytest.raises(ValueError, match="bases"):
        CatMenuEntry("cat_repetition", 3, bases=("x",), nbar=4.0)


@pytest.mark.slow
def test_table_within_circuit_ci():
    """The packaged table's phase-flip counts agree with fresh circuit sampling at its grid points
    (99% interval of the difference of two binomial rates contains 0)."""
    from qec_gym.sim import simulate_window
    from qec_gym.sim.cache import SimulationCache
    from qec_gym.sim.stats import difference_ci

    env = gym.make(ENV_ID).unwrapped
    grid = env.table.grid
    cache = SimulationCache()
    rng = np.random.default_rng(99)
    for index in (8, 15, 20):  # d5 nbar4, d7 nbar5, d9 nbar4
        entry = env.menu[index]
        (spec,) = entry.specs()
        for i in (3, 6):
            w = simulate_window(spec, env.kappa_axis.noise(entry.nbar, float(grid[i])), shots=40_000, rng=rng, cache=cache)
            table_errors = int(env.table.errors[index, i, 0])
            lo, hi = difference_ci(table_errors, env.table.config.total_shots, w.errors, w.shots, confidence=0.99)
            assert lo <= 0 <= hi, (entry.label, grid[i], table_errors, w.errors)
