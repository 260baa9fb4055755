"""MAP adaptation and GMM-UBM scoring against Reynolds' formulas in NumPy."""
import numpy as np
import pytest

import ivkit
from conftest import random_diag_gmm_params
from test_gmm import logsumexp, naive_diag_component_ll


def test_map_adaptation_matches_the_formulas(rng):
    w, mu, var = random_diag_gmm_params(rng, 6, 3)
    ubm = ivkit.DiagGmm(w, mu, var)
    X = rng.standard_normal((500, 3)) + 1.0
    ll = naive_diag_component_ll(X, w, mu, var)
    post = np.exp(ll - logsumexp(ll)[:, None])
    n = post.sum(axis=0)
    sx, sxx = post.T @ X, post.T @ X ** 2
    adapted = ivkit.map_adapt(ubm, X, mean_tau=10, variance_tau=50, weight_tau=10)
    mean = (10 * mu + sx) / (10 + n[:, None])
    np.testing.assert_allclose(adapted.means, mean, rtol=1e-9)
    np.testing.assert_allclose(adapted.variances, (50 * (var + mu ** 2) + sxx) / (50 + n[:, None]) - mean ** 2, rtol=1e-8)
    np.testing.assert_allclose(adapted.weights, (n + 10 * w) / (n.sum() + 10), rtol=1e-9)
    means_only = ivkit.map_adapt(ubm, X, mean_tau=16, update_variances=False, update_weights=False)
    np.testing.assert_array_equal(means_only.variances, ubm.variances)
    np.testing.assert_allclose(ivkit.mean_supervector(means_only), ((16 * mu + sx) / (16 + n[:, None])).ravel(), rtol=1e-9)


def test_gmm_ubm_score_is_the_average_llr(rng):
    w, mu, var = random_diag_gmm_params(rng, 8, 3)
    ubm = ivkit.DiagGmm(w, mu, var)
    adapted = ivkit.map_adapt(ubm, rng.standard_normal((400, 3)) + 0.5)
    X = rng.standard_normal((300, 3)) + 0.5
    full = ivkit.gmm_ubm_score(adapted, ubm, X, top_n=0)
    np.testing.assert_allclose(full, np.mean(adapted.log_likelihoods(X) - ubm.log_likelihoods(X)), rtol=1e-9)
    assert abs(ivkit.gmm_ubm_score(adapted, ubm, X, top_n=5) - full) < 0.05
    with pytest.raises(ivkit.InvalidArgument):
        ivkit.gmm_ubm_score(adapted, ubm.to_full(), X)
