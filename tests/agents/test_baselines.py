import gymnasium as gym
import numpy as np
import pytest

import qec_gym  # noqa: F401  (registers the ids)
from qec_gym.agents import (
    BASELINE_NAMES,
    ClairvoyantAgent,
    FixedAgent,
    OracleAgent,
    RandomAgent,
    ThresholdAgent,
    ThresholdConfig,
    best_fixed_entry,
    candidate_ladders,
    episode_returns,
    ladder_for,
    make_baseline,
    make_env,
    observation_feature_names,
    oracle_ladder,
)

ENV_ID = "qec_gym/SurfaceSwitch-v1"
STEPS = 50


@pytest.fixture(scope="module")
def env():
    e = gym.make(ENV_ID, max_steps=STEPS)
    yield e
    e.close()


def _paired_ok(better: np.ndarray, worse: np.ndarray, k: float = 3.0) -> tuple[bool, str]:
    """better >= worse up to k standard errors of the paired difference."""
    d = better - worse
    se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
    return bool(d.mean() >= -k * se - 1e-9), f"mean diff {d.mean():.3f}, se {se:.3f}"


def test_predict_single_and_batch(env):
    obs, _ = env.reset(seed=0)
    batch = np.stack([obs, obs, obs])
    cfg = ThresholdConfig(ladder=(1, 3, 5), up=(0.2, 0.6), down=(0.15, 0.5), menu_size=10)
    for policy in (RandomAgent(env.action_space, seed=0), FixedAgent(4, 10), ThresholdAgent(cfg)):
        action, state = policy.predict(obs)
        assert action.shape == () and state is None and env.action_space.contains(int(action))
        actions, _ = policy.predict(batch, state="s", episode_start=np.array([True, False, False]))
        assert actions.shape == (3,) and actions.dtype == np.int64
    # Dict observations are read through "features".
    assert FixedAgent(4, 10).predict({"features": obs, "events": np.zeros((2, 3))})[0] == 6
    with pytest.raises(ValueError, match="1-D"):
        FixedAgent(4, 10).predict(np.zeros((2, 2, 24)))


def test_privileged_predict_single_and_sync_vector():
    venv = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="sync", max_steps=10)
    obs, _ = venv.reset(seed=[1, 2])
    for cls in (OracleAgent, ClairvoyantAgent):
        agent = cls(venv)
        assert agent.privileged
        actions, _ = agent.predict(obs, episode_start=np.ones(2, bool))
        assert actions.shape == (2,)
        with pytest.raises(ValueError, match="bound to 2 env"):
            agent.predict(obs[0])
    oracle = OracleAgent(venv)
    for _ in range(12):  # across the autoreset
        actions, _ = oracle.predict(obs)
        assert [int(a) for a in actions] == [e.unwrapped.oracle_action() for e in venv.envs]
        obs, *_ = venv.step(actions)
    venv.close()
    single = gym.make(ENV_ID, max_steps=5)
    obs, _ = single.reset(seed=0)
    assert OracleAgent(single).predict(obs)[0].shape == ()


def test_random_agent_is_seeded(env):
    obs, _ = env.reset(seed=0)
    a = [int(RandomAgent(env.action_space, seed=3).predict(obs)[0]) for _ in range(2)]
    b = RandomAgent(env.action_space, seed=3).predict(np.stack([obs] * 20))[0]
    assert a[0] == a[1] and len(set(b.tolist())) > 1
    with pytest.raises(ValueError, match="Discrete"):
        RandomAgent(gym.spaces.Box(0, 1, (2,)))


def test_fixed_agent_reaches_and_keeps_its_entry(env):
    for target in (0, 2, 9):  # 2 is the env's initial entry: no switch at all
        agent = FixedAgent(target, menu_size=10)
        obs, info = env.reset(seed=5)
        entries, switches, done = [], 0, False
        while not done:
            obs, _, term, trunc, info = env.step(agent.predict(obs)[0])
            entries.append(info["entry"])
            switches += info["switched"]
            done = term or trunc
        assert set(entries) == {target}
        assert switches == (0 if target == 2 else 1)
    with pytest.raises(ValueError, match="entry_index"):
        FixedAgent(10, menu_size=10)


def test_oracle_beats_random(env):
    oracle = episode_returns(env, OracleAgent(env), episodes=4, seed=0)
    rand = episode_returns(env, RandomAgent(env.action_space, seed=0), episodes=4, seed=0)
    assert np.all(oracle > rand), (oracle, rand)


def test_clairvoyant_bounds_oracle_and_every_fixed_entry(env):
    # The clairvoyant plan is the exact DP optimum of the *expected* return, so its realized
    # return can fall below another policy's only by window-sampling noise: allow 3 standard
    # errors of the paired difference (measured: it is above every one on these seeds).
    n = 6
    clair = episode_returns(env, ClairvoyantAgent(env), episodes=n, seed=0)
    others = {"oracle": episode_returns(env, OracleAgent(env), episodes=n, seed=0)}
    for i in range(len(env.unwrapped.menu)):
        others[f"fixed:{i}"] = episode_returns(env, FixedAgent(i, 10), episodes=n, seed=0)
    for name, r in others.items():
        ok, msg = _paired_ok(clair, r)
        assert ok, f"clairvoyant < {name}: {msg}"


def test_clairvoyant_follows_its_plan_and_replans_after_reset(env):
    u = env.unwrapped
    agent = ClairvoyantAgent(env)
    for seed in (3, 4):  # the second reset must trigger a new plan without episode_start
        obs, _ = env.reset(seed=seed)
        plan, value = u.clairvoyant_plan()
        taken, done = [], False
        while not done:
            a = int(agent.predict(obs)[0])
            taken.append(a)
            obs, _, term, trunc, _ = env.step(a)
            done = term or trunc
        assert taken == plan
        assert agent.planned_return[0] == pytest.approx(value)
    # An action taken by someone else puts the env off-plan: the agent re-plans from there.
    obs, _ = env.reset(seed=3)
    agent.predict(obs)
    obs, *_ = env.step(2 + 9)
    assert int(agent.predict(obs)[0]) == u.clairvoyant_plan()[0][0]


def test_best_fixed_entry_uses_training_scenarios_only():
    best = best_fixed_entry(ENV_ID, episodes=2, seed=0, env_kwargs={"max_steps": 20})
    assert 0 <= best < 10
    with pytest.raises(ValueError, match="held-out"):
        best_fixed_entry(ENV_ID, scenarios="heldout", episodes=1, env_kwargs={"max_steps": 5})
    heldout_env = gym.make(ENV_ID, scenarios="heldout", max_steps=5)
    train_env = make_env(heldout_env)  # the eval env's config, training scenarios
    assert set(train_env.unwrapped.scenario_names).isdisjoint(heldout_env.unwrapped.scenario_names)
    assert train_env.unwrapped.max_steps == 5


def test_threshold_config_validation():
    with pytest.raises(ValueError, match="up and down"):
        ThresholdConfig(ladder=(1, 3), up=(), down=(), menu_size=10)
    with pytest.raises(ValueError, match="hysteresis"):
        ThresholdConfig(ladder=(1, 3), up=(0.2,), down=(0.3,), menu_size=10)
    with pytest.raises(ValueError, match="non-decreasing"):
        ThresholdConfig(ladder=(1, 3, 5), up=(0.5, 0.2), down=(0.4, 0.1), menu_size=10)
    with pytest.raises(ValueError, match="ladder"):
        ThresholdConfig(ladder=(1, 1), up=(0.2,), down=(0.1,), menu_size=10)


def test_threshold_hysteresis_and_dwell():
    cfg = ThresholdConfig(ladder=(1, 3, 5), up=(0.2, 0.6), down=(0.1, 0.5), menu_size=10, min_dwell=3)
    agent = ThresholdAgent(cfg)

    def act(entry, x, since):
        obs = np.zeros(24)
        obs[14 + entry], obs[9], obs[12] = 1.0, x, since / 100
        return int(agent.predict(obs)[0])

    assert act(3, 0.15, 10) == 0  # inside the band of rung 1: keep
    assert act(3, 0.05, 10) == 2 + 1  # below down[0]: descend
    assert act(3, 0.55, 10) == 0  # above down[1] but below up[1]: keep
    assert act(3, 0.65, 10) == 2 + 5  # above up[1]: climb
    assert act(1, 0.9, 10) == 2 + 5  # jumps two rungs at once
    assert act(3, 0.65, 2) == 0  # within the minimum dwell
    assert act(0, 0.3, 0) == 2 + 3  # off the ladder: joins it at once


def test_threshold_fit_smoke():
    agent = ThresholdAgent.fit(ENV_ID, episodes=1, seed=0, env_kwargs={"max_steps": 20}, quantiles=3, passes=1,
                               hysteresis=(0.0, 0.05), dwell=(0,), features=(9,))
    menu = gym.make(ENV_ID).unwrapped.menu
    ladders = {ladder_for(menu, decoder=d) for d in ("pymatching", "pymatching-correlated")}
    assert ladders == set(candidate_ladders(menu))
    fit_env = make_env(ENV_ID, env_kwargs={"max_steps": 20})
    assert agent.config.ladder in ladders | {oracle_ladder(fit_env, episodes=1, seed=0)}
    assert np.isfinite(agent.fit_score)


def test_threshold_recalibrates_on_its_period_unless_it_switches():
    cfg = ThresholdConfig(ladder=(1, 3), up=(0.2,), down=(0.1,), menu_size=10, recalibrate_every=10)

    def act(entry, x, since_recal, config=cfg):
        obs = np.zeros(24)
        obs[14 + entry], obs[9], obs[12], obs[13] = 1.0, x, 0.5, since_recal / 100
        return int(ThresholdAgent(config).predict(obs)[0])

    assert act(1, 0.0, 9) == 0  # calibration young enough: keep
    assert act(1, 0.0, 10) == 1  # due: recalibrate
    assert act(1, 0.5, 10) == 2 + 3  # a switch is due as well: the switch goes first
    assert act(1, 0.0, 100, ThresholdConfig(ladder=(1, 3), up=(0.2,), down=(0.1,), menu_size=10)) == 0  # 0: never
    with pytest.raises(ValueError, match="recalibrate_every"):
        ThresholdConfig(ladder=(1,), up=(), down=(), menu_size=10, recalibrate_every=100)


def test_cat_menu_ladders_cover_every_photon_number():
    """issue 10 item 7: the threshold baseline on CatSwitch only climbed distances at nbar = 2."""
    from qec_gym.envs.cat_env import CAT_MENU

    ladders = candidate_ladders(CAT_MENU)
    assert len(ladders) == 6
    for ladder in ladders:
        assert len({CAT_MENU[i].nbar for i in ladder}) == 1
        assert [CAT_MENU[i].distance for i in ladder] == [3, 5, 7, 9]
    assert sorted(CAT_MENU[lad[0]].nbar for lad in ladders) == [2.0, 3.0, 4.0, 5.0, 6.0, 8.0]


def test_make_baseline_names_and_errors(env):
    assert make_baseline("fixed:7", env).entry_index == 7
    assert isinstance(make_baseline("random", env, seed=1), RandomAgent)
    assert isinstance(make_baseline("oracle", env), OracleAgent)
    assert isinstance(make_baseline("clairvoyant", env), ClairvoyantAgent)
    cfg = ThresholdConfig(ladder=(1, 3), up=(0.3,), down=(0.2,), menu_size=10)
    assert make_baseline("threshold", env, config=cfg).config == cfg
    best = make_baseline("best_fixed", env, episodes=1)
    assert isinstance(best, FixedAgent) and best.name == "best_fixed"
    for bad in ("nope", "fixed", "fixed:x", "tree", "oracle:1"):
        with pytest.raises(ValueError) as e:
            make_baseline(bad, env)
        if bad != "fixed:x":
            assert all(n in str(e.value) for n in BASELINE_NAMES)
    with pytest.raises(ValueError, match="takes no option"):
        make_baseline("oracle", env, seed=3)
    # fixed's ``name`` option shares its spelling with the positional parameter (a TypeError before)
    assert make_baseline("fixed:3", env, name="mine").name == "mine"


def test_feature_names_match_the_observation():
    env = gym.make(ENV_ID, calibration_readout=True, privileged=True, max_steps=5)
    names = observation_feature_names(env)
    assert names[:3] == ("rate", "rate_z", "rate_x") and names[9] == "log_noise_ema"
    assert names[14] == "running[rotated_surface d3 pymatching]"
    assert names[-3:] == ("readout_log_noise", "priv_log_noise_true", "priv_log_noise_assumed")
    assert len(names) == env.observation_space.shape[0]


def test_clairvoyant_plans_recalibration_on_calibration_tables():
    """The (entry, last-recalibration) DP: expected return at least the myopic oracle's and any
    keep-only or periodic-recalibration schedule's, and its plan recalibrates."""
    env = gym.make("qec_gym/DecoderCalibration-v1", max_steps=120).unwrapped
    env.reset(seed=4)
    plan, expected = env.clairvoyant_plan()
    assert 1 in plan
    cal_env = gym.make("qec_gym/DecoderCalibration-v1", max_steps=120)
    agent = ClairvoyantAgent(cal_env)  # constructs (no longer refused) and follows the plan
    obs, _ = cal_env.reset(seed=4)
    action, _ = agent.predict(obs, episode_start=True)
    assert int(action) == plan[0]
    u = env
    # realised returns, paired on seeds, of the plan against two fixed schedules
    def run(policy):
        out = []
        for seed in range(4):
            u.reset(seed=seed)
            p, _ = u.clairvoyant_plan()
            total, k, done = 0.0, 0, False
            while not done:
                a = policy(p, k)
                _, r, _, done, _ = u.step(a)
                total, k = total + r, k + 1
            out.append(total)
        return np.array(out)

    dp = run(lambda p, k: p[k])
    keep = run(lambda p, k: 0)
    periodic = run(lambda p, k: 1 if k % 10 == 0 else 0)
    for other in (keep, periodic):
        diff = dp - other
        se = diff.std(ddof=1) / np.sqrt(len(diff))
        assert diff.mean() > -3 * se, (dp, other)
