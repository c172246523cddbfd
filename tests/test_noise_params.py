import math

import pytest

from qec_gym.noise import NoiseParams


@pytest.mark.parametrize("field", ["p1", "p2", "p_meas", "p_data", "idle_z", "crosstalk_zz", "p_loss"])
@pytest.mark.parametrize("value", [-0.1, 1.5, math.nan])
def test_probabilities_validated(field, value):
    with pytest.raises(ValueError, match=field):
        NoiseParams(**{field: value})


@pytest.mark.parametrize("eta", [0, -1, math.inf, math.nan])
def test_eta_validated(eta):
    with pytest.raises(ValueError, match="eta"):
        NoiseParams(eta=eta)


def test_type_error_on_string():
    with pytest.raises(TypeError, match="p2"):
        NoiseParams(p2="0.01")


def test_biased_at_half_is_uniform():
    assert NoiseParams.biased(1e-3, 0.5) == NoiseParams.uniform(1e-3)


def test_quantized_is_close_and_idempotent():
    n = NoiseParams.uniform(1.234e-3).replace(p_meas=7.7e-3)
    q = n.quantized(64)
    assert abs(q.p2 / n.p2 - 1) < 10 ** (0.5 / 64) - 1 + 1e-9
    assert q.quantized(64) == q
    assert NoiseParams.uniform(1.2345e-3).quantized() == NoiseParams.uniform(1.2346e-3).quantized()


def test_scaled_and_replace():
    n = NoiseParams.uniform(0.4).scaled(3)
    assert (n.p1, n.p2, n.p_meas) == (0.75, 15 / 16, 1.0)  # depolarising channels saturate below 1
    with pytest.raises(ValueError, match="unknown NoiseParams field"):
        NoiseParams().replace(p3=0.1)
    with pytest.raises(ValueError, match="scale factor"):
        NoiseParams().scaled(-1)


def test_scaled_keeps_exclusive_groups_valid():
    n = NoiseParams(idle_x=0.3, idle_y=0.3, idle_z=0.3, crosstalk_zz=0.4, crosstalk_xx=0.4).scaled(2)
    assert n.idle_x + n.idle_y + n.idle_z <= 1.0
    assert n.crosstalk_zz + n.crosstalk_xx <= 1.0
    assert n.idle_x == n.idle_y == n.idle_z
