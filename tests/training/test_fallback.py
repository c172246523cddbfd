"""Support fallback (qec_gym.training.fallback): the k-NN support test, the policy, the harness spec."""

import gymnasium as gym
import numpy as np
import pytest

import qec_gym  # noqa: F401
from qec_gym.agents import FixedAgent
from qec_gym.eval import EvalConfig, evaluate
from qec_gym.eval.harness import policy_identity
from qec_gym.training import resolve_config, train
from qec_gym.training.fallback import (FallbackPolicy, ObservationSupport, SupportConfig, fit_support, load_fallback,
                                       model_digest, rollout_observations, split_spec, support_path)


def _gaussian_support(seed=0, n=4000, d=3, **cfg):
    rng = np.random.default_rng(seed)
    return ObservationSupport.fit(rng.normal(size=(n, d)), SupportConfig(**cfg), rng), rng


def test_fresh_in_distribution_states_fall_outside_at_about_alpha():
    """The threshold is the calibration split's (1 - alpha) quantile, so fresh draws of the same law
    score outside at rate ~alpha: 8,000 draws, within 5 binomial standard errors (one fit's threshold
    adds its own spread, ~1.5 SE at 800 calibration points, inside that margin)."""
    support, rng = _gaussian_support(alpha=0.1)
    outside = 1.0 - support.contains(rng.normal(size=(8000, 3))).mean()
    se = np.sqrt(0.1 * 0.9 / 8000)
    assert abs(outside - 0.1) < 5 * se + 0.015


def test_score_is_the_distance_to_the_kth_nearest_standardised_reference():
    """Hand computation on a tiny reference set: scale by the reference's mean and std, then the
    k-th smallest Euclidean distance."""
    ref = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [2.0, 4.0]])  # already standardised
    support = ObservationSupport(ref, mean=np.array([1.0, 2.0]), scale=np.array([1.0, 2.0]), threshold=1.5,
                                 config=SupportConfig(k=2))
    # raw (1, 2) -> standardised (0, 0); distances to the reference: 0, 2, 4, sqrt(20); 2nd smallest = 2
    assert support.scores(np.array([1.0, 2.0])) == pytest.approx([2.0])
    assert support.contains(np.array([[1.0, 2.0], [1.0, 3.0]])).tolist() == [False, False]
    # raw (1, 1) -> (0, -0.5): distances 0.5, 2.06, 4.5, 4.92; 2nd smallest = sqrt(4.25)
    assert support.scores(np.array([1.0, 1.0])) == pytest.approx([np.sqrt(4.25)])


def test_far_states_fall_back_and_the_support_round_trips_through_its_file(tmp_path):
    support, _ = _gaussian_support()
    probe = np.array([[0.0, 0.0, 0.0], [0.5, -0.5, 0.2], [9.0, 0.0, 0.0], [0.0, -7.0, 3.0]])
    assert support.contains(probe).tolist() == [True, True, False, False]
    support.save(tmp_path / "s.npz")
    again = ObservationSupport.load(tmp_path / "s.npz")
    assert again.config == support.config and again.threshold == support.threshold
    assert np.array_equal(again.scores(probe), support.scores(probe))


@pytest.mark.parametrize("kwargs, message", [
    ({"k": 0}, "k must be an integer >= 1"), ({"alpha": 0.0}, r"alpha must be in \(0, 1\)"),
    ({"alpha": 1.5}, r"alpha must be in \(0, 1\)"), ({"episodes": 0}, "episodes must be an integer >= 1"),
    ({"calibration_frac": 1.0}, r"calibration_frac must be in \(0, 1\)"),
    ({"split": "episodes"}, "split must be 'step' or 'episode'")])
def test_support_config_refuses_out_of_range_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SupportConfig(**kwargs)


def _clustered_episodes(rng, n_episodes, steps=20):
    """Episodes whose steps sit close together (as consecutive env states do): centre ~ N(0, I) per
    episode, steps centre + 0.05 N(0, I)."""
    centres = rng.normal(size=(n_episodes, 1, 2))
    x = (centres + 0.05 * rng.normal(size=(n_episodes, steps, 2))).reshape(-1, 2)
    return x, np.repeat(np.arange(n_episodes), steps)


def test_an_episode_split_calibrates_alpha_on_fresh_episodes_and_a_step_split_does_not():
    """With correlated steps a step split's calibration points have their own episode in the
    reference, so the threshold is far too tight; holding out whole episodes makes the calibration
    scores exchangeable with a fresh episode's, and ~alpha of fresh steps fall outside (500 training
    episodes, 100 held back: the rate's spread is ~sqrt(0.1 * 0.9 / 100) = 0.03)."""
    rng = np.random.default_rng(1)
    x, episodes = _clustered_episodes(rng, 500)
    fresh, _ = _clustered_episodes(rng, 400)
    by_step = ObservationSupport.fit(x, SupportConfig(alpha=0.1), np.random.default_rng(0))
    by_episode = ObservationSupport.fit(x, SupportConfig(alpha=0.1, split="episode"), np.random.default_rng(0),
                                        episodes=episodes)
    assert 1.0 - by_step.contains(fresh).mean() > 0.25  # measured 0.32-0.37 over four data seeds
    assert abs((1.0 - by_episode.contains(fresh).mean()) - 0.1) < 0.06
    # whole episodes are held back: 100 of 500, so the reference keeps 400 x 20 steps
    assert len(by_episode.reference) == 400 * 20


def test_the_split_option_keeps_the_released_support_files_and_identities():
    """`key` leaves ``split`` out at its default, so supports fitted before the option existed keep
    their file name (the released runs' ``support-a189c611edf5.npz``)."""
    assert "split" not in SupportConfig().key() and SupportConfig(split="episode").key()["split"] == "episode"
    assert support_path("r").name == "support-a189c611edf5.npz"
    assert support_path("r", SupportConfig(split="episode")).name != support_path("r").name


def test_an_episode_split_needs_the_episodes():
    x, episodes = _clustered_episodes(np.random.default_rng(0), 10)
    cfg = SupportConfig(k=3, split="episode")
    with pytest.raises(ValueError, match=r"needs each observation's episode: pass episodes=\.\.\."):
        ObservationSupport.fit(x, cfg, np.random.default_rng(0))
    with pytest.raises(ValueError, match="episodes has 5 entries for 200 observations"):
        ObservationSupport.fit(x, cfg, np.random.default_rng(0), episodes=episodes[:5])
    with pytest.raises(ValueError, match="at least 2 episodes, got 1"):
        ObservationSupport.fit(x, cfg, np.random.default_rng(0), episodes=np.zeros(len(x), dtype=int))
    with pytest.raises(ValueError, match="strata has 3 entries for 200 observations"):
        ObservationSupport.fit(x, cfg, np.random.default_rng(0), episodes=episodes, strata=[0, 1, 2])
    with pytest.raises(ValueError, match="a stratum with at least 2 episodes"):  # each episode its own stratum
        ObservationSupport.fit(x, cfg, np.random.default_rng(0), episodes=episodes, strata=episodes)


def test_an_episode_split_holds_back_episodes_of_every_stratum():
    """10 episodes in 2 strata of 5 (even and odd): round(0.2 x 5) = 1 calibration episode from each,
    never 2 from one and none from the other."""
    from qec_gym.training.fallback import _calibration_episodes

    episodes = np.repeat(np.arange(10), 20)
    for seed in range(20):
        mask = _calibration_episodes(episodes, episodes % 2, len(episodes), SupportConfig(split="episode"),
                                     np.random.default_rng(seed))
        held = np.unique(episodes[mask])
        assert len(held) == 2 and sorted(held % 2) == [0, 1]
        assert mask.sum() == 2 * 20  # whole episodes


def test_bad_observations_and_files_are_refused_with_the_fix(tmp_path):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"2-D \(n, d\) array"):
        ObservationSupport.fit(np.zeros(10), SupportConfig(), rng)
    with pytest.raises(ValueError, match="NaN or infinite"):
        ObservationSupport.fit(np.full((100, 2), np.nan), SupportConfig(), rng)
    with pytest.raises(ValueError, match="too few for k=10 neighbours"):
        ObservationSupport.fit(np.zeros((12, 2)), SupportConfig(), rng)
    support, _ = _gaussian_support()
    with pytest.raises(ValueError, match="observations have 5 features; this support was fitted on 3"):
        support.scores(np.zeros(5))
    with pytest.raises(FileNotFoundError, match="fit_support"):
        ObservationSupport.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a support file"):
        ObservationSupport.load(tmp_path / "other.npz")
    import joblib

    joblib.dump({"a": 1}, tmp_path / "tree.joblib")  # a pickle: refused without numpy's allow_pickle advice
    with pytest.raises(ValueError, match="not a support file written by ObservationSupport.save; fit one") as e:
        ObservationSupport.load(tmp_path / "tree.joblib")
    assert "allow_pickle" not in str(e.value)


class _Always:
    def __init__(self, action):
        self.action = action

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        obs = np.asarray(observation)
        return (np.int64(self.action) if obs.ndim == 1 else np.full(len(obs), self.action, dtype=np.int64)), state


def test_fallback_policy_plays_the_learned_action_inside_and_the_baseline_outside():
    support, _ = _gaussian_support()
    policy = FallbackPolicy(_Always(1), _Always(2), support)
    action, _ = policy.predict(np.zeros(3))
    assert action.shape == () and int(action) == 1
    assert int(policy.predict(np.array([9.0, 0.0, 0.0]))[0]) == 2
    batch, _ = policy.predict(np.array([[0.0, 0.0, 0.0], [9.0, 0.0, 0.0], [0.1, 0.1, 0.1]]))
    assert batch.tolist() == [1, 2, 1]
    assert (policy.deferred, policy.steps) == (2, 5)


@pytest.mark.parametrize("spec", ["runs/seed0", "runs/seed0,", ",tree:t.joblib", "runs/seed0|tree:t.joblib"])
def test_a_malformed_fallback_spec_shows_the_form(spec):
    with pytest.raises(ValueError, match="'fallback:<run folder>,<baseline>'"):
        split_spec(spec)


@pytest.mark.parametrize("baseline, message", [
    ("best_fixed", "use 'tree:PATH'"), ("threshold", "use 'tree:PATH'"),
    ("oracle", "reads the true noise"), ("clairvoyant", "reads the true noise"),
    ("nonsense", "unknown baseline 'nonsense'")])
def test_fallback_baselines_must_be_deployable_and_saved(baseline, message):
    with pytest.raises(ValueError, match=message):
        split_spec(f"runs/seed0,{baseline}")
    with pytest.raises(ValueError, match=message):  # the Python entry point applies the same rule
        load_fallback(f"runs/seed0,{baseline}", gym.make("qec_gym/SurfaceSwitch-v1", max_steps=5))
    assert split_spec("runs/a,b/seed0,tree:t.joblib") == ("runs/a,b/seed0", "tree:t.joblib")  # last comma splits


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("fb") / "run"
    over = {"n_timesteps": 128, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1,
            "env_kwargs": {"max_steps": 30}}
    train(resolve_config("qec_gym/SurfaceSwitch-v1", "ppo", overrides=over, eval_freq=0), run)
    return run


def test_the_support_is_fitted_on_training_rollouts_once_and_reused(tiny_run):
    cfg = SupportConfig(episodes=3, k=5)
    obs = rollout_observations(tiny_run, cfg)
    assert obs.shape == (3 * 30, 24)  # 3 episodes of the run's max_steps, the env's 24 features
    support = fit_support(tiny_run, cfg)
    path = support_path(tiny_run, cfg)
    assert path.exists() and support.reference.shape == (72, 24)
    mtime = path.stat().st_mtime_ns
    assert fit_support(tiny_run, cfg).threshold == support.threshold
    assert path.stat().st_mtime_ns == mtime  # loaded, not refitted
    other = fit_support(tiny_run, SupportConfig(episodes=3, k=6))  # other settings: their own file
    assert other.config.k == 6 and support_path(tiny_run, other.config) != path
    assert path.stat().st_mtime_ns == mtime  # the first setting's support is kept
    # an episode split holds back round(0.2 x 5) = 1 whole episode of 30 steps
    obs, episodes, scenarios = rollout_observations(tiny_run, SupportConfig(episodes=10, k=5), with_episodes=True)
    n_train = len(gym.make("qec_gym/SurfaceSwitch-v1", scenarios="train").unwrapped.scenario_names)  # 5
    assert obs.shape == (300, 24) and episodes.tolist() == [i for i in range(10) for _ in range(30)]
    assert scenarios.tolist() == [i % n_train for i in range(10) for _ in range(30)]
    # stratified by scenario: 5 scenarios x 2 episodes, round(0.2 x 2) -> 1 held back from each
    by_episode = fit_support(tiny_run, SupportConfig(episodes=10, k=5, split="episode"))
    assert by_episode.reference.shape == (150, 24) and by_episode.config.split == "episode"
    assert ObservationSupport.load(support_path(tiny_run, by_episode.config)).config.split == "episode"


def test_a_support_is_refitted_when_the_model_changes(tiny_run, tmp_path):
    """A run resumed or retrained in place has new model files: its old support (rollouts of the old
    policy) must not be reused."""
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run)
    cfg = SupportConfig(episodes=3, k=5)
    before = fit_support(run, cfg)
    assert ObservationSupport.fitted_to(support_path(run, cfg)) == model_digest(run)
    other = tmp_path / "other"
    over = {"n_timesteps": 128, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1,
            "env_kwargs": {"max_steps": 30}}
    train(resolve_config("qec_gym/SurfaceSwitch-v1", "ppo", overrides=over, seed=7, eval_freq=0), other)
    for name in ("model.zip", "vecnormalize.pkl"):
        shutil.copy(other / name, run / name)
    after = fit_support(run, cfg)
    assert ObservationSupport.fitted_to(support_path(run, cfg)) == model_digest(run) != model_digest(tiny_run)
    assert not np.array_equal(after.mean, before.mean)  # rollouts of the new policy
    support_path(run, cfg).write_bytes(b"PK\x03\x04 truncated by a kill")  # a half-written file
    again = fit_support(run, cfg)  # refitted, not a crash
    assert np.array_equal(again.mean, after.mean) and again.threshold == after.threshold  # deterministic


def test_harness_evaluates_a_fallback_spec_and_keys_it_by_both_parts(tiny_run, tmp_path):
    cfg = EvalConfig("qec_gym/SurfaceSwitch-v1", scenarios=("calm",), seeds=(0,), env_kwargs={"max_steps": 30})
    df = evaluate([f"fb=fallback:{tiny_run},fixed:3", "fixed:3", f"rl=run:{tiny_run}"], cfg, out_path=tmp_path / "r.csv")
    assert sorted(df.policy) == ["fb", "fixed:3", "rl"] and (df.steps == 30).all()
    ids = {policy_identity(f"fallback:{tiny_run},fixed:{i}") for i in (2, 3)}
    assert len(ids) == 2 and all(i.startswith("fallback:") for i in ids)
    with pytest.raises(ValueError, match="use 'tree:PATH'"):
        policy_identity(f"fallback:{tiny_run},best_fixed")


def test_a_run_evaluated_plain_and_with_fallback_records_its_heldout_use_once(tiny_run, tmp_path):
    import json
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run)
    cfg = EvalConfig("qec_gym/SurfaceSwitch-v1", scenarios=("heldout_ramp",), seeds=(0,), env_kwargs={"max_steps": 30})
    evaluate([f"fb=fallback:{run},fixed:3", f"rl=run:{run}"], cfg, out_path=tmp_path / "r.csv")
    seen = json.loads((run / "splits.json").read_text())
    assert [entry["scenarios"] for entry in seen["heldout"]] == [["heldout_ramp"]]


def test_eval_cli_fits_the_support_first_and_reports_the_deferred_share(tiny_run, tmp_path, capsys):
    from qec_gym.cli import main

    argv = ["eval", "--env", "qec_gym/SurfaceSwitch-v1", "--policies", f"fb=fallback:{tiny_run},fixed:3", "fixed:3",
            "--scenarios", "calm", "--seeds", "1", "--out", str(tmp_path / "r.csv")]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "steps deferred to the baseline (episode seed 0 of each scenario): fb " in text


def test_a_fallback_to_a_fixed_entry_equals_that_entry_where_nothing_is_supported(tiny_run):
    """With every state outside (threshold below any distance), the fallback policy is its baseline."""
    env = gym.make("qec_gym/SurfaceSwitch-v1", max_steps=30)
    support = fit_support(tiny_run, SupportConfig(episodes=3, k=5))
    support.threshold = -1.0
    from qec_gym.training import load_run

    policy = FallbackPolicy(load_run(tiny_run, env=env), FixedAgent(3, 10), support)
    obs, _ = env.reset(seed=0)
    for _ in range(10):
        action, _ = policy.predict(obs)
        assert int(action) == int(FixedAgent(3, 10).predict(obs)[0])
        obs, *_ = env.step(int(action))
    assert policy.deferred == policy.steps == 10


def test_a_recurrent_run_is_refused_with_the_reason(tmp_path):
    over = {"n_timesteps": 64, "n_steps": 32, "batch_size": 32, "n_epochs": 1, "env_kwargs": {"max_steps": 10}}
    run = tmp_path / "rnn"
    train(resolve_config("qec_gym/SurfaceSwitch-v1", "recurrentppo", overrides=over, eval_freq=0), run)
    with pytest.raises(ValueError, match="recurrent policy; the support fallback needs a memoryless one"):
        rollout_observations(run, SupportConfig(episodes=2, k=2))


def test_a_spec_sets_support_options_after_the_baseline():
    from qec_gym.training.fallback import parse_spec

    assert parse_spec("runs/a,b/seed0,tree:t.joblib") == ("runs/a,b/seed0", "tree:t.joblib", SupportConfig())
    run, baseline, config = parse_spec("runs/seed0,tree:t.joblib,alpha=0.1,split=episode,k=5")
    assert (run, baseline) == ("runs/seed0", "tree:t.joblib")
    assert config == SupportConfig(k=5, alpha=0.1, split="episode")
    for spec, message in (("runs/seed0,tree:t.joblib,alpha=0.1,alpha=0.2", "given twice"),
                          ("runs/seed0,tree:t.joblib,k=ten", "k='ten' is not a int"),
                          ("runs/seed0,tree:t.joblib,split=weekly", "split must be 'step' or 'episode'"),
                          ("runs/seed0,tree:t.joblib,alpha=2", "alpha must be in")):
        with pytest.raises(ValueError, match=message):
            parse_spec(spec)
    with pytest.raises(ValueError, match="written 'fallback:<run folder>,<baseline>'"):
        parse_spec("tree:t.joblib,alpha=0.1")


def test_support_options_change_a_fallback_identity_and_their_absence_keeps_it(tmp_path):
    from qec_gym.eval.harness import policy_identity

    run = tmp_path / "seed0"
    run.mkdir()
    (run / "run.json").write_text("{}")
    (run / "model.zip").write_bytes(b"m")
    tree = tmp_path / "t.joblib"
    tree.write_bytes(b"t")
    plain = policy_identity(f"fallback:{run},tree:{tree}")
    assert policy_identity(f"fallback:{run},tree:{tree},alpha=0.05,split=step") == plain  # the defaults, spelled out
    assert policy_identity(f"fallback:{run},tree:{tree},split=episode") != plain
    assert policy_identity(f"fallback:{run},tree:{tree},alpha=0.1") != plain
    from qec_gym.eval.harness import policy_name, spec_body

    # the options' "=" is not a label's: unnamed, the spec is its own name; named, the label comes off
    spec = f"fallback:{run},tree:{tree},split=episode"
    assert policy_name(spec) == spec_body(spec) == spec
    assert (policy_name(f"fb[episode]@0={spec}"), spec_body(f"fb[episode]@0={spec}")) == ("fb[episode]@0", spec)
    # nor is the "=" of a path (it used to split 'run:/tmp/a=b' into a name 'run:/tmp/a' and a body 'b')
    assert policy_name("run:/tmp/a=b") == spec_body("run:/tmp/a=b") == "run:/tmp/a=b"
    assert (policy_name("ppo=run:/tmp/a=b"), spec_body("ppo=run:/tmp/a=b")) == ("ppo", "run:/tmp/a=b")
