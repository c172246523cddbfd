import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import qec_gym  # noqa: F401  (registers the ids)
from qec_gym.envs import ENV_IDS, MULTI_PATCH_ENV_IDS, RETIRED_ENV_IDS, MenuEntry, NoiseAxis, QECSwitchEnv, RewardConfig
from qec_gym.noise import NoiseParams

# single-patch ids; the many-patch env has its own tests (tests/envs/test_multipatch_env.py)
REGISTERED = [i for i in gym.registry if i.startswith("qec_gym/") and i not in RETIRED_ENV_IDS
              and i not in MULTI_PATCH_ENV_IDS]

SMALL = dict(
    menu=[MenuEntry("rotated_surface", 3), MenuEntry("rotated_surface", 5)],
    axis=NoiseAxis(NoiseParams.uniform(1e-3), low=0.5, high=10.0, points=6),
    scenario_pool=["calm", "ou_drift", "heldout_ramp"],
    table_windows=4,
    shots=300,
)


@pytest.fixture
def small_kwargs(tmp_path):
    return {**SMALL, "table_cache": str(tmp_path)}


def test_every_id_is_listed():
    assert sorted(REGISTERED) == sorted(ENV_IDS)


@pytest.mark.parametrize("env_id", REGISTERED)
def test_check_env_on_every_registered_id(env_id):
    env = gym.make(env_id, max_steps=20)
    check_env(env.unwrapped)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    for _ in range(5):
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs) and np.isfinite(r) and not term
    assert "true_noise" in info and "oracle_action" in info


@pytest.mark.parametrize("backend", ["table", "circuit"])
def test_same_seed_same_trajectory(small_kwargs, backend):
    actions = [0, 3, 0, 1, 2, 0, 0, 3]

    def run():
        env = QECSwitchEnv(backend=backend, **small_kwargs)
        obs, _ = env.reset(seed=11)
        out = [obs]
        for a in actions:
            obs, r, _, _, info = env.step(a)
            out += [obs, r, info["logical_errors"], info["true_multiplier"]]
        return out

    a, b = run(), run()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_vector_envs_run_8_copies():
    for cls in (gym.vector.SyncVectorEnv, gym.vector.AsyncVectorEnv):
        venv = cls([lambda: gym.make("qec_gym/SurfaceSwitch-v1", max_steps=10) for _ in range(8)])
        obs, _ = venv.reset(seed=list(range(8)))
        assert obs.shape[0] == 8
        for _ in range(12):  # crosses the truncation: autoreset
            obs, rew, term, trunc, _ = venv.step(venv.action_space.sample())
        assert rew.shape == (8,)
        venv.close()


def test_switch_and_recalibrate_semantics(small_kwargs):
    env = QECSwitchEnv(**small_kwargs, reward=RewardConfig(switch_cost=0.3, recalibration_cost=0.1))
    env.reset(seed=0)
    start = env.entry
    _, _, _, _, info = env.step(2 + (1 - start))
    assert info["switched"] and env.entry == 1 - start
    _, _, _, _, info = env.step(2 + env.entry)  # switching to the running entry = keep
    assert not info["switched"]
    assert not env.action_masks()[2 + env.entry]
    _, _, _, _, info = env.step(1)
    assert info["recalibrated"] and info["assumed_multiplier"] == info["true_multiplier"]


def test_privileged_and_readout_extend_the_observation(small_kwargs):
    base = QECSwitchEnv(**small_kwargs)
    more = QECSwitchEnv(**small_kwargs, privileged=True, calibration_readout=True)
    assert more.observation_space.shape[0] == base.observation_space.shape[0] + 3
    obs, info = more.reset(seed=0)
    assert obs[-2] == pytest.approx(np.log10(info["true_multiplier"]), abs=1e-6)


def test_noise_estimate_tracks_the_truth(small_kwargs):
    env = QECSwitchEnv(**small_kwargs)
    env.reset(seed=1, options={"scenario": "ou_drift"})
    est, true = [], []
    for _ in range(60):
        obs, _, _, _, info = env.step(0)
        est.append(obs[8])
        true.append(np.log10(info["true_multiplier"]))
    assert np.corrcoef(est, true)[0, 1] > 0.8


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(scenarios="no_such"), ValueError, "unknown scenario"),
        (dict(menu=[]), ValueError, "menu is empty"),
        (dict(shots=0), ValueError, "shots"),
        (dict(backend="gpu"), ValueError, "backend"),
        (dict(menu=[MenuEntry("color", 5, "pymatching")]), ValueError, "not decodable"),
        (dict(raw_syndrome=True), ValueError, "circuit"),
        (dict(scenarios="photonic_loss_drift"), ValueError, "axis"),
    ],
)
def test_bad_construction(small_kwargs, kwargs, exc, match):
    kw = {**small_kwargs, **kwargs}
    if match == "axis":
        kw["scenario_pool"] = None
        env = QECSwitchEnv(**kw)
        with pytest.raises(exc, match=match):
            env.reset(seed=0)
        return
    with pytest.raises(exc, match=match):
        QECSwitchEnv(**kw)


def test_action_outside_the_space(small_kwargs):
    env = QECSwitchEnv(**small_kwargs)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"valid actions are 0\.\.3"):
        env.step(7)
    with pytest.raises(ValueError, match="integer"):
        env.step("keep")


def test_oracle_action_varies_and_no_fixed_choice_is_always_best():
    """Informative env: the myopic oracle's choice changes over the default training scenarios."""
    env = gym.make("qec_gym/SurfaceSwitch-v1").unwrapped
    counts = np.zeros(env.action_space.n, dtype=int)
    best_entries = set()
    for seed, name in enumerate(env.scenario_names):
        env.reset(seed=seed, options={"scenario": name})
        done = False
        while not done:
            a = env.oracle_action()
            counts[a] += 1
            best_entries.add(env.entry if a == 0 else a - 2)
            _, _, _, done, _ = env.step(a)
    assert len(best_entries) >= 3, counts


@pytest.mark.parametrize("env_id", ["qec_gym/SurfaceSwitch-v1", "qec_gym/PhotonicSwitch-v1"])
def test_tabulated_expected_error_cost_matches_the_exact_sum(env_id):
    from qec_gym.envs.reward import expected_error_cost

    env = gym.make(env_id, max_steps=200).unwrapped
    env.reset(seed=5)
    rounds = env.table.rounds[:, None]
    exact = expected_error_cost(env.reward_config, env._along["p_shot"], rounds, env.shots)
    # within 1e-3, relative where the cost exceeds one decade
    assert (np.abs(env._error_cost - exact) / np.maximum(1.0, exact)).max() < 1e-3
