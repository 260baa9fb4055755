"""ivkit.GaussianMixture against scikit-learn's GaussianMixture from the same initial parameters."""
import warnings

import numpy as np
import pytest

import ivkit

sklearn_mixture = pytest.importorskip("sklearn.mixture", reason="python3-sklearn is the reference")


def blobs(rng, n=3000, D=4, C=5):
    centres = rng.standard_normal((C, D)) * 4
    scales = rng.uniform(0.5, 1.5, (C, D))
    labels = rng.integers(0, C, n)
    return centres[labels] + rng.standard_normal((n, D)) * scales[labels]


def initial_parameters(rng, X, C, covariance_type):
    means = X[rng.choice(X.shape[0], C, replace=False)]
    weights = np.full(C, 1.0 / C)
    var = X.var(axis=0)
    if covariance_type == "diag":
        precisions = np.tile(1.0 / var, (C, 1))
    else:
        precisions = np.tile(np.diag(1.0 / var), (C, 1, 1))
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_same_fit_as_sklearn_from_the_same_start(rng, covariance_type):
    X = blobs(rng)
    init = initial_parameters(rng, X, 5, covariance_type)
    kw = dict(n_components=5, covariance_type=covariance_type, tol=1e-6, max_iter=60, **init)
    ours = ivkit.GaussianMixture(**kw).fit(X)
    ref = sklearn_mixture.GaussianMixture(**kw).fit(X)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.converged_ == ref.converged_
    np.testing.assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-10)
    np.testing.assert_allclose(ours.weights_, ref.weights_, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.precisions_cholesky_, ref.precisions_cholesky_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.precisions_, ref.precisions_, rtol=1e-6, atol=1e-9)
    Y = blobs(rng, n=500)
    np.testing.assert_allclose(ours.score_samples(Y), ref.score_samples(Y), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.predict_proba(Y), ref.predict_proba(Y), atol=1e-9)
    np.testing.assert_array_equal(ours.predict(Y), ref.predict(Y))
    np.testing.assert_allclose(ours.score(Y), ref.score(Y), rtol=1e-10)
    np.testing.assert_allclose(ours.bic(Y), ref.bic(Y), rtol=1e-10)
    np.testing.assert_allclose(ours.aic(Y), ref.aic(Y), rtol=1e-10)


def test_same_iterations_as_sklearn_one_at_a_time(rng):
    """Every EM step equals scikit-learn's (warm_start with max_iter=1)."""
    X = blobs(rng, n=2000, D=3, C=4)
    init = initial_parameters(rng, X, 4, "diag")
    ours = ivkit.GaussianMixture(4, covariance_type="diag", max_iter=1, warm_start=True, **init)
    ref = sklearn_mixture.GaussianMixture(4, covariance_type="diag", max_iter=1, warm_start=True, **init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(5):
            ours.fit(X)
            ref.fit(X)
            np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-12)


def test_default_initialisation_finds_the_clusters(rng):
    X = blobs(rng, n=4000, D=2, C=3)
    ours = ivkit.GaussianMixture(3, covariance_type="full", random_state=0).fit(X)
    ref = sklearn_mixture.GaussianMixture(3, covariance_type="full", random_state=0).fit(X)
    assert ours.converged_
    # Different k-means implementations, same optimum.
    np.testing.assert_allclose(ours.score(X), ref.score(X), rtol=1e-4)
    np.testing.assert_allclose(np.sort(ours.means_[:, 0]), np.sort(ref.means_[:, 0]), atol=1e-2)


@pytest.mark.parametrize("init_params", ["random", "random_from_data"])
def test_other_initialisations_converge(rng, init_params):
    X = blobs(rng, n=2000, D=3, C=3)
    gm = ivkit.GaussianMixture(3, covariance_type="diag", init_params=init_params, random_state=1, max_iter=300).fit(X)
    assert gm.converged_ and np.isfinite(gm.lower_bound_)


def test_float32_fit_is_close_to_float64(rng):
    X = blobs(rng)
    init = initial_parameters(rng, X, 5, "diag")
    a = ivkit.GaussianMixture(5, covariance_type="diag", tol=1e-8, max_iter=20, **init).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = ivkit.GaussianMixture(5, covariance_type="diag", tol=1e-8, max_iter=20, **init).fit(X.astype(np.float32))
    np.testing.assert_allclose(b.means_, a.means_, atol=1e-3)


@pytest.mark.filterwarnings("ignore::ivkit.mixture.ConvergenceWarning")
def test_threads_do_not_change_the_fit(rng):
    X = blobs(rng, n=20000)
    init = initial_parameters(rng, X, 5, "full")
    a = ivkit.GaussianMixture(5, max_iter=10, **init).fit(X)
    b = ivkit.GaussianMixture(5, max_iter=10, threads=2, **init).fit(X)
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.covariances_, b.covariances_)


def test_sample_and_estimator_protocol(rng):
    X = blobs(rng, n=1000, D=2, C=2)
    gm = ivkit.GaussianMixture(2, covariance_type="diag", random_state=3).fit(X)
    S, labels = gm.sample(500)
    assert S.shape == (500, 2) and labels.shape == (500,)
    params = gm.get_params()
    assert params["n_components"] == 2 and params["covariance_type"] == "diag"
    gm.set_params(max_iter=5)
    assert gm.max_iter == 5
    with pytest.raises(ivkit.InvalidArgument):
        gm.set_params(bogus=1)


def test_bad_input_is_refused_clearly(rng):
    gm = ivkit.GaussianMixture(3)
    with pytest.raises(ValueError, match="2-D"):
        gm.fit(np.zeros(10))
    with pytest.raises(ivkit.InvalidArgument, match="fewer than n_components"):
        gm.fit(np.zeros((2, 2)))
    with pytest.raises(ivkit.InvalidArgument, match="covariance_type"):
        ivkit.GaussianMixture(2, covariance_type="tied").fit(rng.standard_normal((10, 2)))
    X = rng.standard_normal((100, 2))
    X[50, 1] = np.nan
    with pytest.raises(ivkit.NonFiniteInput, match="frame 50"):
        ivkit.GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    with pytest.raises(ivkit.InvalidArgument, match="call fit"):
        ivkit.GaussianMixture(2).predict(X)
    fitted = ivkit.GaussianMixture(2, covariance_type="diag", random_state=0).fit(rng.standard_normal((100, 2)))
    with pytest.raises(ivkit.InvalidArgument, match="features"):
        fitted.predict(np.zeros((4, 3)))
