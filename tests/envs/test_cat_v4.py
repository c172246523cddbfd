"""CatSwitch-v4: v3's fitted phase-flip table with the CX bit-flip law solved to nbar 6 ("solved");
v1..v3 unchanged."""

import gymnasium as gym
import pytest

import qec_gym  # noqa: F401  (registers the ids)
from qec_gym.bosonic.channel import CatOperatingPoint, cat_channel, cx_bitflip_probability
from qec_gym.envs import ENV_IDS, VECTOR_ENV_IDS

V4 = "qec_gym/CatSwitch-v4"


def test_registered_reuses_v3s_table_and_leaves_v1_to_v3_alone(tmp_path, monkeypatch):
    assert V4 in ENV_IDS and V4 in VECTOR_ENV_IDS
    monkeypatch.setenv("QEC_GYM_CACHE", str(tmp_path))  # a rebuild would land here
    ids = ("qec_gym/CatSwitch-v1", "qec_gym/CatSwitch-v2", "qec_gym/CatSwitch-v3", V4)
    envs = {i: gym.make(i, max_steps=5).unwrapped for i in ids}
    assert not any(tmp_path.rglob("*.npz")), "v4 must use v3's packaged phase-flip table"
    assert envs[V4].table.config.key() == envs["qec_gym/CatSwitch-v3"].table.config.key()
    laws = {i: e.kappa_axis.point.cx_bitflip for i, e in envs.items()}
    assert laws == {ids[0]: "gouzien2023", ids[1]: "simulated", ids[2]: "simulated", V4: "solved"}


def test_bit_flips_follow_the_solved_law():
    env = gym.make(V4, max_steps=10).unwrapped
    _, info = env.reset(seed=0, options={"scenario": "cat_ou_drift"})
    entry = env.menu[env.entry]
    point = CatOperatingPoint(entry.nbar, info["kappa1_over_kappa2"], cx_bitflip="solved")
    assert info["true_noise"] == cat_channel(point).noise  # the phase-flip channel does not depend on the law
    assert info["bit_flip_round"] == pytest.approx(cat_channel(point).bit_flip_per_round(entry.distance), rel=1e-9)
    v3_point = CatOperatingPoint(entry.nbar, info["kappa1_over_kappa2"], cx_bitflip="simulated")
    assert info["bit_flip_round"] != pytest.approx(cat_channel(v3_point).bit_flip_per_round(entry.distance), rel=1e-3)


@pytest.mark.parametrize("nbar", [2.0, 3.0, 4.0, 5.0, 6.0, 8.0])
def test_solved_law_agrees_with_v3s_where_v3_solved_and_falls_below_its_extrapolation(nbar):
    """At nbar 2..4 both laws are Fock solves (v3's at the default truncation, ~0-2% high); above 4 v3
    extrapolates the nbar 3..4 slope, which the converged solves show to be too high."""
    solved = cx_bitflip_probability(CatOperatingPoint(nbar, 1e-3, cx_bitflip="solved"))
    v3 = cx_bitflip_probability(CatOperatingPoint(nbar, 1e-3, cx_bitflip="simulated"))
    if nbar <= 4.0:
        assert 0.97 < solved / v3 <= 1.0 + 1e-9, solved / v3
    else:
        assert solved / v3 < 0.95, solved / v3
