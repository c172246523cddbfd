"""CatSwitch-v3: fitted phase-flip table (monotone, unfloored, checked against an independent stim run),
v2's CX law; v1 and v2 unchanged."""

import math

import gymnasium as gym
import numpy as np
import pymatching
import pytest

import qec_gym  # noqa: F401  (registers the ids)
from qec_gym.bosonic.channel import CatOperatingPoint, cat_channel
from qec_gym.codes import build_circuit
from qec_gym.envs import ENV_IDS, VECTOR_ENV_IDS

V3 = "qec_gym/CatSwitch-v3"
V1_V2_TABLE_KEY = "4d63465dd73891055761"  # the packaged v1/v2 table: its key must never move


@pytest.fixture(scope="module")
def v3():
    return gym.make(V3, max_steps=10).unwrapped


def test_registered_packaged_and_v1_v2_unchanged(tmp_path, monkeypatch):
    assert V3 in ENV_IDS and V3 in VECTOR_ENV_IDS
    monkeypatch.setenv("QEC_GYM_CACHE", str(tmp_path))  # a rebuild would land here
    envs = {i: gym.make(i, max_steps=5).unwrapped for i in ("qec_gym/CatSwitch-v1", "qec_gym/CatSwitch-v2", V3)}
    assert not any(tmp_path.rglob("*.npz")), "every CatSwitch table must ship in qec_gym/envs/data"
    keys = {i: e.table.config.key() for i, e in envs.items()}
    assert keys["qec_gym/CatSwitch-v1"] == keys["qec_gym/CatSwitch-v2"] == V1_V2_TABLE_KEY
    assert keys[V3] != V1_V2_TABLE_KEY and envs[V3].table.config.fitted
    assert not envs["qec_gym/CatSwitch-v2"].table.config.fitted
    laws = {i: e.kappa_axis.point.cx_bitflip for i, e in envs.items()}
    assert laws == {"qec_gym/CatSwitch-v1": "gouzien2023", "qec_gym/CatSwitch-v2": "simulated", V3: "simulated"}


def test_fitted_table_is_monotone_unfloored_and_follows_its_counts(v3):
    t = v3.table
    fit = t.log_p_fit[:, :, 0]
    assert np.all(np.diff(fit, axis=1) >= 0), "the per-shot rate must not fall as kappa_1 grows"
    assert np.all(t.log_p_lo[:, :, 0] <= fit) and np.all(fit <= t.log_p_hi[:, :, 0])
    errors, shots = t.errors[:, :, 0], t.shots[:, :, 0]
    # no (e + 0.5) / (N + 1) floor: cells without errors follow the fitted curve (different values at
    # equal shots, mostly far below 1 / (2 N)) and the lowest rate is far below v2's floor 1 / 40,002
    zero = errors == 0
    assert zero.any() and np.all(shots[zero] == shots[zero][0])
    floor = math.log(0.5 / (shots[zero][0] + 1.0))
    assert np.ptp(fit[zero]) > 2.0 and np.median(fit[zero]) < floor
    assert math.exp(fit.min()) < 1e-6 < 0.5 / 40_001
    # every cell either reached its 100 errors or its cap; the fit follows well-measured cells
    caps = np.array([t.config.shot_cap(e) for e in range(len(t.menu))])[:, None]
    assert np.all((errors >= t.config.target_errors) | (shots >= caps))
    good = errors >= 100
    se = 1.0 / np.sqrt(errors[good])
    assert np.all(np.abs(fit[good] - np.log(errors[good] / shots[good])) < 3.0 * se)


def test_low_noise_cell_agrees_with_an_independent_stim_run(v3):
    """d = 5, nbar = 4 at the lowest loss (kappa_1 / kappa_2 = 2.5e-4): the table's fitted rate against
    stim sampling + pymatching of the same circuit, written here without the table or window code."""
    t = v3.table
    e = next(i for i, x in enumerate(t.menu) if x.distance == 5 and x.nbar == 4.0)
    m = float(t.grid[0])
    noise = v3.kappa_axis.noise(4.0, m)
    assert noise == cat_channel(CatOperatingPoint(4.0, 1e-3 * m)).noise  # exactly the labelled noise
    (spec,) = t.menu[e].specs()
    circuit = build_circuit(spec, noise)
    matching = pymatching.Matching.from_detector_error_model(circuit.detector_error_model(decompose_errors=True, approximate_disjoint_errors=True))
    sampler = circuit.compile_detector_sampler(seed=12345)
    errors = shots = 0
    while shots < 600_000:
        det, obs = sampler.sample(100_000, separate_observables=True)
        errors += int(np.any(matching.decode_batch(det) != obs, axis=1).sum())
        shots += 100_000
    from scipy.stats import beta

    lo, hi = beta.ppf([0.005, 0.995], errors + 0.5, shots - errors + 0.5)  # Jeffreys 99%
    p_fit = math.exp(t.log_p_fit[e, 0, 0])
    t_lo, t_hi = math.exp(t.log_p_lo[e, 0, 0]), math.exp(t.log_p_hi[e, 0, 0])
    assert errors > 30, errors
    assert lo <= p_fit <= hi, (errors, shots, p_fit)
    assert t_lo <= hi and lo <= t_hi  # the two intervals overlap


def test_bit_flips_follow_v2s_cx_law(v3):
    _, info = v3.reset(seed=0, options={"scenario": "cat_ou_drift"})
    entry = v3.menu[v3.entry]
    point = CatOperatingPoint(entry.nbar, info["kappa1_over_kappa2"], cx_bitflip="simulated")
    assert info["true_noise"] == cat_channel(point).noise
    assert info["bit_flip_round"] == pytest.approx(cat_channel(point).bit_flip_per_round(entry.distance), rel=1e-9)


@pytest.mark.parametrize("env_id,cx_law", [(V3, "simulated"), ("qec_gym/CatSwitch-v4", "solved")])
def test_vector_env_serves_v3_and_v4_with_their_cx_laws(env_id, cx_law):
    """(Its bit flips equal the channel's: `test_vector_env.test_cat_bit_flips_equal_channel`.)"""
    venv = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point").unwrapped
    assert venv.env.kappa_axis.point.cx_bitflip == cx_law
    obs, _ = venv.reset(seed=1)
    obs, reward, _, _, info = venv.step(np.zeros(2, dtype=np.int64))
    assert obs.shape == (2, venv.single_observation_space.shape[0]) and np.all(np.isfinite(reward))


def test_cat_table_config_refuses_what_it_cannot_build():
    from qec_gym.bosonic.channel import CatOperatingPoint as Point
    from qec_gym.envs.cat_env import CatSwitchEnv, CatTableConfig, KappaAxis, cat_menu

    axis = KappaAxis(Point(4.0, 1e-3))
    with pytest.raises(ValueError, match="assumed=False"):
        CatTableConfig(axis, cat_menu([4], [3]), assumed=True)
    with pytest.raises(ValueError, match="max_shots"):
        CatTableConfig(axis, cat_menu([4], [3]), target_errors=100)
    with pytest.raises(TypeError, match="table_options"):
        CatSwitchEnv(table_options={"shots_per_cell": 5})
