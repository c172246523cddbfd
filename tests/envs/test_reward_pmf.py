"""The fast binomial pmf behind `expected_error_cost` equals scipy's (independent implementation)."""

import numpy as np
from scipy.stats import binom

from qec_gym.envs.reward import _binom_pmf


def test_binom_pmf_matches_scipy_including_the_edges():
    k = np.arange(201.0)
    p = np.concatenate([[0.0, 1.0], np.geomspace(1e-12, 1.0, 97)])[:, None]
    ours, ref = _binom_pmf(k, 200, p), binom.pmf(k, 200, p)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(ours.sum(axis=1), 1.0, rtol=1e-12)
