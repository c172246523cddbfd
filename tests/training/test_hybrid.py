import dataclasses

import gymnasium as gym
import numpy as np
import pytest

from qec_gym.agents import DecisionTreeAgent, generate_dataset
from qec_gym.training import load_run, resolve_config
from qec_gym.training.hybrid import train_hybrid

ENV = "qec_gym/SurfaceSwitch-v1"


@pytest.fixture(scope="module")
def tree_and_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("hybrid")
    data = generate_dataset(ENV, episodes=4, seed=0, out_path=d / "data.csv", env_kwargs={"max_steps": 60})
    tree = DecisionTreeAgent.train(data, max_depth=3)
    tree.save(d / "tree.joblib")
    return d, tree, data


def test_hybrid_starts_as_the_tree(tree_and_data, tmp_path):
    d, tree, data = tree_and_data
    cfg = resolve_config(ENV, "ppo", overrides={"n_timesteps": 64, "n_envs": 1, "n_steps": 64, "batch_size": 64,
                                                "n_epochs": 1, "learning_rate": 1e-9, "env_kwargs": {"max_steps": 60}},
                         eval_freq=0)
    train_hybrid(cfg, tmp_path / "run", tree_path=d / "tree.joblib", dataset=d / "data.csv", bc_epochs=300)
    import json

    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["hybrid"]["bc_accuracy"] > 0.9
    # with a negligible learning rate the fine-tuned policy still acts as the tree on fresh states
    env = gym.make(ENV, max_steps=60)
    policy = load_run(tmp_path / "run", env=env)
    obs, _ = env.reset(seed=123)
    agree = []
    for _ in range(60):
        a_tree, _ = tree.predict(obs)
        a_rl, _ = policy.predict(obs)
        agree.append(int(a_tree) == int(a_rl))
        obs, *_ = env.step(int(a_rl))
    assert np.mean(agree) > 0.8


def test_hybrid_rejects_recurrent_algorithms(tree_and_data, tmp_path):
    d, _, _ = tree_and_data
    cfg = resolve_config(ENV, "recurrentppo", overrides={"n_timesteps": 64}, eval_freq=0)
    with pytest.raises(ValueError, match="feed-forward"):
        train_hybrid(cfg, tmp_path / "r", tree_path=d / "tree.joblib", dataset=d / "data.csv")


# ---------------------------------------------------------------- warm start from any baseline teacher
from qec_gym.training.hybrid import WarmStart, warm_up_value  # noqa: E402

_TINY = {"n_envs": 4, "n_steps": 64, "batch_size": 64, "n_epochs": 1, "learning_rate": 1e-9, "normalize": True,
         "env_kwargs": {"max_steps": 40}}


def test_warm_start_clones_the_teacher_and_records_it(tmp_path):
    ws = {"teacher": "fixed:3", "bc_steps": 2000, "epsilon": 0.3, "bc_epochs": 40, "value_steps": 800, "value_rounds": 2}
    cfg = resolve_config(ENV, "ppo", overrides={**_TINY, "n_timesteps": 256, "warm_start": ws}, eval_freq=0,
                         vec_env="native")
    from qec_gym.training import train

    train(cfg, tmp_path / "run")
    import json

    meta = json.loads((tmp_path / "run" / "run.json").read_text())["warm_start"]
    assert meta["teacher"] == "fixed:3" and meta["bc_accuracy"] > 0.95
    assert meta["teacher_config"] == {"name": "fixed:3", "entry": 3}  # plain data, not a repr
    # 2000 clone steps (500 per copy) + 2 rounds x 800 critic steps
    assert meta["env_steps"] == 2000 + 2 * 800
    # only settings that took effect at the top level: no DAgger rounds, a teacher not fitted here
    assert meta["value_steps"] == 800 and meta["dagger_iters"] == 0 and meta["freeze_normalization"] is False
    assert "dagger_steps" not in meta and "teacher_episodes" not in meta and "teacher_seed" not in meta
    assert meta["unused_settings"] == {"dagger_steps": 50_000, "teacher_episodes": 5, "teacher_seed": 0}
    assert meta["teacher_scenarios"] is None  # a fixed rule is fitted on nothing
    # the saved config keeps the warm start, so a resume or a release run sees the same recipe
    import yaml

    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["warm_start"]["teacher"] == "fixed:3"
    # with a negligible learning rate the policy still acts as the teacher (switch to entry 3, then keep)
    env = gym.make(ENV, max_steps=40)
    policy = load_run(tmp_path / "run", env=env)
    obs, _ = env.reset(seed=7)
    actions = []
    for _ in range(40):
        a = int(policy.predict(obs)[0])
        actions.append(a)
        obs, *_ = env.step(a)
    assert actions[0] == 2 + 3 and all(a == 0 for a in actions[1:])


def test_critic_warm_up_fits_the_returns_of_the_policy():
    """A policy cloned to 'keep' (the initial entry all episode): its returns follow the noise,
    which the observation shows, so the warmed-up critic explains most of their variance, and
    more rounds and epochs explain more than one short pass."""
    from stable_baselines3 import PPO

    from qec_gym.training.hybrid import behaviour_clone
    from qec_gym.training.native_vec import NativeVecEnv

    venv = NativeVecEnv(ENV, n_envs=4, seed=0, env_kwargs={"max_steps": 50})
    model = PPO("MlpPolicy", venv, seed=0, n_steps=32, batch_size=32)
    obs = np.stack([venv.reset() for _ in range(64)]).reshape(-1, venv.observation_space.shape[0])
    assert behaviour_clone(model, obs, np.zeros(len(obs), dtype=np.int64), epochs=50) == 1.0
    first = warm_up_value(model, venv, steps=1000, rounds=1, epochs=1)
    later = warm_up_value(model, venv, steps=4000, rounds=3, epochs=10)
    assert later > 0.5 and later > first


def test_warm_start_settings_are_checked():
    with pytest.raises(ValueError, match="epsilon"):
        WarmStart(epsilon=1.0)
    with pytest.raises(ValueError, match="bc_steps"):
        WarmStart(bc_steps=0)
    with pytest.raises(ValueError, match="no key"):
        resolve_config(ENV, "ppo", overrides={"warm_start": {"teachr": "threshold"}})
    with pytest.raises(ValueError, match="feed-forward"):
        resolve_config(ENV, "recurrentppo", overrides={"warm_start": {"teacher": "threshold"}})


def test_config_without_warm_start_keeps_its_old_dict():
    """Runs saved before warm_start existed must still resume: the key appears only when set."""
    assert "warm_start" not in resolve_config(ENV, "ppo").to_dict()
    assert resolve_config(ENV, "ppo", overrides={"warm_start": {"teacher": "best_fixed"}}).to_dict()["warm_start"] == {
        "teacher": "best_fixed"}


def test_privileged_teacher_is_refused():
    for teacher in ("oracle", "clairvoyant"):  # with the config: no run folder is ever made
        with pytest.raises(ValueError, match=f"'{teacher}' is not a deployable baseline .*read the hidden noise"):
            resolve_config(ENV, "ppo", overrides={**_TINY, "n_timesteps": 64, "warm_start": {"teacher": teacher}})


# ---------------------------------------------------------------- DAgger (warm_start.dagger_iters)
def test_dagger_rollouts_follow_the_student_and_label_with_the_teacher():
    """With ``student`` the student acts and the teacher only labels: a student that always keeps
    never leaves the env's initial entry, so every recorded state runs it and every label is the
    teacher's switch to entry 3 (action 2 + 3); without a student the teacher acts and switches."""
    from qec_gym.agents import FixedAgent
    from qec_gym.agents.base import running_entry
    from qec_gym.training.hybrid import teacher_rollouts
    from qec_gym.training.native_vec import NativeVecEnv

    class Keep:
        def predict(self, obs, deterministic=True):
            return np.zeros(len(obs), dtype=np.int64), None

    venv = NativeVecEnv(ENV, n_envs=2, seed=0, env_kwargs={"max_steps": 40})
    menu = 10
    teacher = FixedAgent(3, menu)
    obs, act, agree = teacher_rollouts(venv, teacher, steps=100, epsilon=0.0, seed=0, student=Keep())
    start = running_entry(obs, menu)
    assert obs.shape == (100, 24) and start[0] != 3 and np.all(start == start[0])
    assert np.all(act == 2 + 3) and agree == 0.0
    obs, act, agree = teacher_rollouts(venv, teacher, steps=80, epsilon=0.0, seed=0)  # one episode per copy
    assert agree == 1.0 and np.all(running_entry(obs, menu)[2:] == 3) and np.all(act[2:] == 0)


def test_warm_start_dagger_records_its_rounds(tmp_path):
    ws = {"teacher": "fixed:3", "bc_steps": 800, "epsilon": 0.3, "bc_epochs": 20, "value_rounds": 0,
          "dagger_iters": 2, "dagger_steps": 400}
    cfg = resolve_config(ENV, "ppo", overrides={**_TINY, "n_timesteps": 256, "warm_start": ws}, eval_freq=0,
                         vec_env="native")
    from qec_gym.training import train

    train(cfg, tmp_path / "run")
    import json

    meta = json.loads((tmp_path / "run" / "run.json").read_text())["warm_start"]
    assert meta["env_steps"] == 800 + 2 * 400 and len(meta["dagger"]) == 2
    # the clone acts as the teacher on its own rollouts (random steps excluded) and refits it
    assert all(r["on_policy_agreement"] > 0.9 and r["bc_accuracy"] > 0.95 for r in meta["dagger"])
    assert meta["critic_explained_variance"] is None
    assert meta["dagger_steps"] == 400 and "value_steps" not in meta and meta["unused_settings"]["value_steps"] == 50_000
    with pytest.raises(ValueError, match="dagger_iters"):
        WarmStart(dagger_iters=-1)


def test_teacher_record_is_plain_data_that_identifies_the_teacher():
    import json

    from qec_gym.agents import DecisionTreeAgent, generate_dataset, make_baseline
    from qec_gym.training.hybrid import teacher_record

    threshold = make_baseline("periodic_recal", gym.make("qec_gym/DecoderCalibration-v3", max_steps=20), episodes=1)
    record = teacher_record(threshold)
    assert record == {"name": "periodic_recal", "config": json.loads(json.dumps(dataclasses.asdict(threshold.config)))}
    tree = DecisionTreeAgent.train(generate_dataset(ENV, episodes=2, seed=0, env_kwargs={"max_steps": 20}),
                                   max_depth=2, min_samples_leaf=2)
    record = teacher_record(tree)
    assert record["rules"] == tree.rules() and "|---" in record["rules"]
    json.dumps(record)  # fits run.json as it is


def test_tree_teacher_is_the_release_recipe_fitted_once(tmp_path):
    """``teacher: tree`` fits the release evaluation's tree (myopic-oracle dataset, depth 4) on
    training scenarios, saves it beside the teacher cache, and later seeds load that same file."""
    from qec_gym.agents import DecisionTreeAgent, generate_dataset
    from qec_gym.training.hybrid import make_teacher

    cfg = resolve_config(ENV, "ppo", overrides={**_TINY, "n_timesteps": 64}, eval_freq=0)
    ws = WarmStart(teacher="tree", teacher_episodes=2, teacher_seed=0)
    cache = tmp_path / "warm_start_teachers.json"
    first = make_teacher(cfg, ws, cache=cache)
    (saved,) = tmp_path.glob("warm_start_tree_*.joblib")
    written = saved.stat().st_mtime_ns
    again = make_teacher(cfg, ws, cache=cache)  # loaded, not refitted
    assert saved.stat().st_mtime_ns == written
    reference = DecisionTreeAgent.train(generate_dataset(ENV, episodes=2, seed=0, env_kwargs={"max_steps": 40}),
                                        max_depth=4)
    data = generate_dataset(ENV, episodes=1, seed=5, env_kwargs={"max_steps": 40})
    from qec_gym.agents.dataset import feature_columns

    obs = data[feature_columns(data)].to_numpy(dtype=np.float32)
    expected = reference.predict(obs)[0]
    assert np.array_equal(first.predict(obs)[0], expected) and np.array_equal(again.predict(obs)[0], expected)
    assert len(set(expected.tolist())) > 1  # a tree that switches, so agreement is not trivial


def test_freeze_normalization_keeps_the_warm_start_statistics(tmp_path):
    """With freeze_normalization the saved statistics are those the clone was fitted with, through
    the critic warm-up, PPO's rollouts and a resume; without it those rollouts move them."""
    import pickle

    from qec_gym.training import train

    ws = {"teacher": "fixed:3", "bc_steps": 400, "epsilon": 0.3, "bc_epochs": 2, "value_rounds": 1, "value_steps": 200}
    means = {}
    for frozen in (False, True):
        over = {**_TINY, "n_timesteps": 256, "warm_start": {**ws, "freeze_normalization": frozen}}
        cfg = resolve_config(ENV, "ppo", overrides=over, eval_freq=0, vec_env="native")
        model = train(cfg, tmp_path / f"run{frozen}")
        means[frozen] = pickle.loads((tmp_path / f"run{frozen}" / "vecnormalize.pkl").read_bytes()).obs_rms.count
        if frozen:  # extend the run: the resumed statistics stay frozen too
            cfg2 = resolve_config(ENV, "ppo", overrides={**over, "n_timesteps": 512}, eval_freq=0, vec_env="native")
            train(cfg2, tmp_path / f"run{frozen}", resume=True)
            after = pickle.loads((tmp_path / f"run{frozen}" / "vecnormalize.pkl").read_bytes()).obs_rms.count
            assert after == means[True]
    assert model.num_timesteps == 256
    # frozen after cloning: the critic warm-up's 200 steps and PPO's 256 are counted only when not frozen
    assert means[False] - means[True] == pytest.approx(200 + 256, abs=12)


def test_every_fitted_teacher_is_fitted_with_the_configured_episodes_and_seed(monkeypatch):
    """``teacher_episodes``/``teacher_seed`` reach every baseline make_baseline fits (drift_recal was
    fitted with its own defaults: the settings were silently ignored)."""
    import qec_gym.agents as agents
    from qec_gym.training.hybrid import make_teacher

    assert set(agents.FITTED_BASELINES) == {"best_fixed", "threshold", "periodic_recal", "cusum_recal", "drift_recal",
                                            "certainty_equivalent"}
    seen = {}

    def fake(name, env, /, **kw):
        seen[name] = kw
        return agents.FixedAgent(0, len(env.unwrapped.menu))

    monkeypatch.setattr(agents, "make_baseline", fake)
    cfg = resolve_config(ENV, "ppo", overrides={**_TINY, "n_timesteps": 64}, eval_freq=0)
    for kind in agents.FITTED_BASELINES:
        make_teacher(cfg, WarmStart(teacher=kind, teacher_episodes=3, teacher_seed=7))
        assert seen[kind] == {"episodes": 3, "seed": 7}, kind


def test_a_misspelt_teacher_is_named_as_the_warm_start_teacher():
    from qec_gym.training.hybrid import make_teacher

    # refused with the config, before any training job starts
    for bad in ("treee", "clairvoyant:x"):
        with pytest.raises(ValueError, match=rf"warm_start.teacher '{bad}' is not a deployable baseline.*"
                                             r"'certainty_equivalent'.*'tree'"):
            resolve_config(ENV, "ppo", overrides={**_TINY, "warm_start": {"teacher": bad}})
    cfg = resolve_config(ENV, "ppo", overrides={**_TINY, "n_timesteps": 64}, eval_freq=0)
    with pytest.raises(ValueError, match=r"warm_start.teacher 'fixed:99': .*also 'tree'"):  # a bad argument
        make_teacher(cfg, WarmStart(teacher="fixed:99"))
    # a malformed model error of the certainty-equivalent teacher, also at config time
    with pytest.raises(ValueError, match=r"warm_start.teacher 'certainty_equivalent:decode=x': .*not a number"):
        resolve_config(ENV, "ppo", overrides={**_TINY, "warm_start": {"teacher": "certainty_equivalent:decode=x"}})


@pytest.mark.parametrize(("env_id", "scenarios"), [
    (ENV, None), (ENV, ["calm", "bursts"]), ("qec_gym/SurfaceSwitch-v3", None), ("qec_gym/CatSwitch-v5", None),
])
def test_teacher_scenarios_are_those_the_teacher_is_fitted_on(monkeypatch, env_id, scenarios):
    """``run.json["warm_start"]["teacher_scenarios"]`` names the scenarios of the env the teacher's
    fit really rolls out (captured from make_teacher), for every fitted kind; None when not fitted."""
    import qec_gym.agents as agents
    from qec_gym.training.hybrid import make_teacher, teacher_scenarios

    fitted_on = {}

    def fake(name, env, /, **kw):
        fitted_on[name] = list(env.unwrapped.scenario_names)
        return agents.FixedAgent(0, len(env.unwrapped.menu))

    monkeypatch.setattr(agents, "make_baseline", fake)
    kwargs = {"max_steps": 40, **({"scenarios": scenarios} if scenarios else {})}
    cfg = resolve_config(env_id, "ppo", overrides={**_TINY, "env_kwargs": kwargs, "n_timesteps": 64}, eval_freq=0)
    for kind in agents.FITTED_BASELINES:
        make_teacher(cfg, WarmStart(teacher=kind))
        assert teacher_scenarios(cfg, WarmStart(teacher=kind)) == fitted_on[kind], kind
    if scenarios:
        expected = scenarios
    elif env_id == ENV:
        expected = ["calm", "ou_drift", "telegraph_tls", "bursts", "sinusoid_day"]
    else:  # the randomised versions train on one domain-randomised scenario
        expected = ["cat_randomised_drift" if "Cat" in env_id else "randomised_surface_drift"]
    assert fitted_on["threshold"] == expected
    assert teacher_scenarios(cfg, WarmStart(teacher="tree")) == expected  # fit_tree_teacher's dataset: the same env
    assert teacher_scenarios(cfg, WarmStart(teacher="fixed:2")) is None
    assert teacher_scenarios(cfg, WarmStart(teacher="tree:/some/tree.joblib")) is None


def test_a_fitted_teacher_run_records_its_scenarios_and_settings(tmp_path):
    import json

    from qec_gym.training import train

    ws = {"teacher": "best_fixed", "teacher_episodes": 1, "bc_steps": 200, "bc_epochs": 1, "value_rounds": 0}
    cfg = resolve_config(ENV, "ppo", overrides={**_TINY, "normalize": False, "n_timesteps": 64, "warm_start": ws},
                         eval_freq=0, vec_env="native")
    train(cfg, tmp_path / "run")
    meta = json.loads((tmp_path / "run" / "run.json").read_text())["warm_start"]
    assert meta["teacher_scenarios"] == ["calm", "ou_drift", "telegraph_tls", "bursts", "sinusoid_day"]
    assert (meta["teacher_episodes"], meta["teacher_seed"]) == (1, 0)  # a fitted teacher: they took effect
    assert meta["unused_settings"] == {"value_steps": 50_000, "dagger_steps": 50_000, "freeze_normalization": False}


@pytest.mark.parametrize("teacher", ["certainty_equivalent", "drift_recal", "certainty_equivalent:decode=1.5"])
def test_every_fitted_teacher_is_fitted_once_and_loaded_after(tmp_path, monkeypatch, teacher):
    """The teacher cache holds every fitted baseline's parameters (it held only best_fixed and threshold,
    so each training seed refitted the others); the loaded teacher acts as the fitted one."""
    import qec_gym.agents as agents
    from qec_gym.training.hybrid import make_teacher

    env_id = "qec_gym/DecoderCalibration-v3"
    cfg = resolve_config(env_id, "ppo", overrides={**_TINY, "n_timesteps": 64}, eval_freq=0)
    ws = WarmStart(teacher=teacher, teacher_episodes=1, teacher_seed=0)
    cache = tmp_path / "warm_start_teachers.json"
    first = make_teacher(cfg, ws, cache=cache)
    assert cache.exists()

    def refit(*args, **kwargs):
        raise AssertionError("refitted although the cache holds the fit")

    monkeypatch.setattr(agents, "fit_certainty_equivalent", refit)
    monkeypatch.setattr(agents, "fit_drift", refit)
    again = make_teacher(cfg, ws, cache=cache)
    assert again.config == first.config and again.name == first.name == teacher  # a model error is kept
    obs = np.stack([gym.make(env_id).observation_space.sample() for _ in range(16)])
    assert np.array_equal(first.predict(obs)[0], again.predict(obs)[0])
