"""PhotonicSwitch: the code-family choice matters in the phase regime and not under loss (intervals)."""

import numpy as np
import pytest

from qec_gym.envs import PHOTONIC_AXIS, PHOTONIC_PHASE_AXIS, make_photonic_switch
from qec_gym.envs.menu import MenuEntry
from qec_gym.sim import simulate_window
from qec_gym.sim.stats import binomial_ci


def _errors(family, noise, shots, seed):
    entry = MenuEntry(family, 5, bases=("x", "z"))
    return sum(simulate_window(s, noise, shots=shots, rng=np.random.default_rng(seed), bins_per_decade=None).errors
               for s in entry.specs())


@pytest.mark.slow
def test_xzzx_wins_only_in_the_phase_regime():
    shots = 10_000
    css, xzzx = (_errors(f, PHOTONIC_PHASE_AXIS.baseline, shots, 1) for f in ("rotated_surface", "xzzx"))
    # disjoint 99% intervals: XZZX strictly better under phase noise
    assert binomial_ci(xzzx, 2 * shots, confidence=0.99)[1] < binomial_ci(css, 2 * shots, confidence=0.99)[0]
    css_l, xzzx_l = (_errors(f, PHOTONIC_AXIS.baseline, shots, 2) for f in ("rotated_surface", "xzzx"))
    # under unbiased loss the intervals overlap: the family is not a choice there
    lo_c, hi_c = binomial_ci(css_l, 2 * shots, confidence=0.99)
    lo_x, hi_x = binomial_ci(xzzx_l, 2 * shots, confidence=0.99)
    assert lo_c <= hi_x and lo_x <= hi_c


def test_unknown_regime_is_refused():
    with pytest.raises(ValueError, match="regime"):
        make_photonic_switch(regime="loud")
