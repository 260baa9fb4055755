"""DiagGmm and FullGmm against naive NumPy formulas, across dtypes, layouts and thread counts."""
import numpy as np
import pytest

import ivkit
from conftest import random_diag_gmm_params, random_spd


def naive_diag_component_ll(X, w, mu, var):
    X = X.astype(np.float64)
    out = np.empty((X.shape[0], w.size))
    for c in range(w.size):
        out[:, c] = (np.log(w[c]) - 0.5 * (np.log(2 * np.pi * var[c]).sum())
                     - 0.5 * (((X - mu[c]) ** 2) / var[c]).sum(axis=1))
    return out


def naive_full_component_ll(X, w, mu, cov):
    out = np.empty((X.shape[0], w.size))
    for c in range(w.size):
        L = np.linalg.cholesky(cov[c])
        z = np.linalg.solve(L, (X - mu[c]).T)
        out[:, c] = (np.log(w[c]) - 0.5 * X.shape[1] * np.log(2 * np.pi) - np.log(np.diag(L)).sum()
                     - 0.5 * (z * z).sum(axis=0))
    return out


def logsumexp(a):
    m = a.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)))[:, 0]


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-9), (np.float32, 2e-3)])
def test_diag_scoring_matches_naive(rng, dtype, tol):
    w, mu, var = random_diag_gmm_params(rng, 16, 7)
    X = (rng.standard_normal((3000, 7)) * 2).astype(dtype)
    gmm = ivkit.DiagGmm(w, mu, var, dtype=dtype)
    assert gmm.dtype == np.dtype(dtype) and gmm.n_components == 16 and gmm.dim == 7
    ref = naive_diag_component_ll(X, w, mu, var)
    comp = gmm.component_log_likelihoods(X)
    assert comp.dtype == dtype and comp.shape == (3000, 16)
    np.testing.assert_allclose(comp, ref, rtol=tol, atol=tol * 10)
    ll = gmm.log_likelihoods(X)
    np.testing.assert_allclose(ll, logsumexp(ref), rtol=tol, atol=tol * 10)
    post, ll2 = gmm.posteriors(X)
    np.testing.assert_allclose(post, np.exp(ref - logsumexp(ref)[:, None]), atol=tol * 10)
    np.testing.assert_allclose(ll2, ll, rtol=tol)


def test_full_scoring_matches_naive(rng):
    C, D = 6, 5
    w = np.full(C, 1.0 / C)
    mu = rng.standard_normal((C, D))
    cov = np.stack([random_spd(rng, D) for _ in range(C)])
    X = rng.standard_normal((2000, D))
    gmm = ivkit.FullGmm(w, mu, cov)
    np.testing.assert_allclose(gmm.covariances, cov, rtol=1e-12)
    ref = naive_full_component_ll(X, w, mu, cov)
    np.testing.assert_allclose(gmm.component_log_likelihoods(X), ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(gmm.log_likelihoods(X), logsumexp(ref), rtol=1e-9)
    # The diagonal of a full model is the diagonal model.
    diag = gmm.to_diag()
    np.testing.assert_allclose(diag.variances, np.diagonal(cov, axis1=1, axis2=2), rtol=1e-12)


def test_fortran_order_and_threads_give_identical_results(rng):
    w, mu, var = random_diag_gmm_params(rng, 32, 10)
    X = rng.standard_normal((5000, 10)).astype(np.float32)
    gmm = ivkit.DiagGmm(w, mu, var, dtype=np.float32)
    ref = gmm.log_likelihoods(X)
    np.testing.assert_allclose(gmm.log_likelihoods(np.asfortranarray(X)), ref, rtol=1e-5)
    np.testing.assert_array_equal(gmm.log_likelihoods(X, threads=2), ref)
    np.testing.assert_array_equal(gmm.log_likelihoods(X, threads=0), ref)
    # A strided view (every other frame) is accepted (copied).
    np.testing.assert_array_equal(gmm.log_likelihoods(X[::2]), ref[::2])
    # Integer frames are read as float64 and converted to the model's precision.
    Xi = np.round(X * 3).astype(np.int32)
    np.testing.assert_allclose(gmm.log_likelihoods(Xi), gmm.log_likelihoods(Xi.astype(np.float32)), rtol=1e-6)


def test_top_n_and_gaussian_selection_agree_with_dense(rng):
    w, mu, var = random_diag_gmm_params(rng, 40, 6)
    X = rng.standard_normal((500, 6)) * 2
    gmm = ivkit.DiagGmm(w, mu, var)
    comp = gmm.component_log_likelihoods(X)
    sel = gmm.gaussian_selection(X, 5)
    assert sel.indices.shape == (500, 5) and sel.indices.dtype == np.int32
    best = np.argsort(-comp, axis=1)[:, :5]
    np.testing.assert_array_equal(np.sort(sel.indices, axis=1), np.sort(best, axis=1))
    np.testing.assert_allclose(sel.log_likelihoods, logsumexp(np.take_along_axis(comp, best, axis=1)), rtol=1e-9)

    top = gmm.top_n_posteriors(X, 5)
    assert top.offsets.shape == (501,) and top.offsets[-1] == top.values.size
    dense, _ = gmm.posteriors(X)
    for t in (0, 17, 499):
        a, b = top.offsets[t], top.offsets[t + 1]
        comps = top.components[a:b]
        np.testing.assert_array_equal(np.sort(comps), np.sort(best[t]))
        kept = dense[t, comps]
        np.testing.assert_allclose(top.values[a:b], kept / kept.sum(), rtol=1e-9)

    post = gmm.selected_posteriors(X, sel.indices)
    np.testing.assert_allclose(np.add.reduceat(post.values, post.offsets[:-1]), 1.0, rtol=1e-9)
    with pytest.raises(ivkit.InvalidArgument):
        gmm.selected_posteriors(X, np.full((500, 5), 40, dtype=np.int32))


def test_em_statistics_and_update_match_numpy(rng):
    w, mu, var = random_diag_gmm_params(rng, 8, 4)
    X = rng.standard_normal((4000, 4)) * 2
    gmm = ivkit.DiagGmm(w, mu, var)
    stats = gmm.accumulate(X)
    post, ll = gmm.posteriors(X)
    o = np.asarray(stats.centre)
    np.testing.assert_allclose(stats.occupancy, post.sum(axis=0), rtol=1e-10)
    np.testing.assert_allclose(stats.first, post.T @ (X - o), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(stats.second, post.T @ (X - o) ** 2, rtol=1e-9)
    assert stats.num_frames == 4000
    np.testing.assert_allclose(stats.log_likelihood, ll.sum(), rtol=1e-12)
    # Statistics of two halves add up to those of the whole.
    half = gmm.accumulate(X[:2000])
    half += gmm.accumulate(X[2000:])
    np.testing.assert_allclose(half.second, stats.second, rtol=1e-12)

    new = gmm.em_update(stats, variance_floor=0.0, min_weight=0.0, min_occupancy=0.0)
    nk = post.sum(axis=0)
    means = post.T @ X / nk[:, None]
    np.testing.assert_allclose(new.weights, nk / nk.sum(), rtol=1e-9)
    np.testing.assert_allclose(new.means, means, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(new.variances, post.T @ X ** 2 / nk[:, None] - means ** 2, rtol=1e-8)
    # EM does not decrease the likelihood.
    assert new.log_likelihoods(X).mean() >= ll.mean()


def test_train_diag_gmm_fits_a_known_mixture(rng):
    centres = np.array([[-4.0, 0.0], [4.0, 0.0], [0.0, 5.0]])
    X = np.vstack([c + rng.standard_normal((3000, 2)) * 0.5 for c in centres])
    gmm = ivkit.train_diag_gmm(X, 3, init="kmeans", num_iterations=10)
    found = np.asarray(gmm.means)[np.argsort(gmm.means[:, 0] + 0.1 * gmm.means[:, 1])]
    np.testing.assert_allclose(found, centres[np.argsort(centres[:, 0] + 0.1 * centres[:, 1])], atol=0.1)
    np.testing.assert_allclose(gmm.variances, 0.25, rtol=0.15)
    same = ivkit.train_diag_gmm(X, 3, init="kmeans", num_iterations=10, threads=2)
    np.testing.assert_array_equal(same.means, gmm.means)


def test_train_em_is_repeated_naive_em(rng):
    """train_em against iterations written here with posteriors and NumPy sums, diagonal and full."""
    centres = np.array([[-3.0, 0.0, 1.0], [3.0, 0.5, -1.0], [0.0, 4.0, 0.0]])
    X = np.vstack([c + rng.standard_normal((1500, 3)) * [0.5, 1.0, 0.7] for c in centres])
    start = ivkit.DiagGmm(np.full(3, 1 / 3), centres + 0.5, np.ones((3, 3)))
    model = start
    for _ in range(3):
        post, _ = model.posteriors(X)
        nk = post.sum(axis=0)
        means = post.T @ X / nk[:, None]
        model = ivkit.DiagGmm(nk / nk.sum(), means, post.T @ X ** 2 / nk[:, None] - means ** 2)
    trained = start.train_em(X, num_iterations=3, variance_floor=0.0, min_weight=0.0, min_occupancy=0.0)
    np.testing.assert_allclose(trained.weights, model.weights, rtol=1e-9)
    np.testing.assert_allclose(trained.means, model.means, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(trained.variances, model.variances, rtol=1e-7)
    np.testing.assert_array_equal(start.train_em(X, num_iterations=3, threads=2).means, start.train_em(X, num_iterations=3).means)

    full = start.to_full()
    post, _ = full.posteriors(X)
    nk = post.sum(axis=0)
    means = post.T @ X / nk[:, None]
    covs = np.stack([(post[:, k, None] * (X - means[k])).T @ (X - means[k]) / nk[k] for k in range(3)])
    one = full.train_em(X, num_iterations=1, variance_floor=0.0, min_weight=0.0, min_occupancy=0.0)
    assert isinstance(one, ivkit.FullGmm)
    np.testing.assert_allclose(one.means, means, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(one.covariances, covs, rtol=1e-7, atol=1e-10)
    with pytest.raises(ivkit.InvalidArgument):
        start.train_em(X[:0], num_iterations=1)


def test_train_diag_gmm_options_reach_the_trainer(rng):
    X = rng.standard_normal((5000, 2)) + np.repeat([[-3.0, 0.0], [3.0, 0.0]], 2500, axis=0)
    mixed = ivkit.train_diag_gmm(X, 4, initial_components=2, num_iterations=6, max_init_frames=1000, min_weight=1e-4)
    assert mixed.n_components == 4
    assert not np.array_equal(mixed.means, ivkit.train_diag_gmm(X, 4, initial_components=2, num_iterations=6).means)
    with pytest.raises(ivkit.InvalidArgument, match="low_occupancy"):
        ivkit.train_diag_gmm(X, 4, low_occupancy="drop")


def test_model_files_round_trip(tmp_path, rng):
    w, mu, var = random_diag_gmm_params(rng, 4, 3)
    gmm = ivkit.DiagGmm(w, mu, var)
    gmm.save(str(tmp_path / "ubm.ivk"))
    back = ivkit.DiagGmm.load(str(tmp_path / "ubm.ivk"))
    np.testing.assert_array_equal(back.means, gmm.means)
    gmm.write_kaldi(str(tmp_path / "final.dubm"))
    kaldi = ivkit.DiagGmm.read_kaldi(str(tmp_path / "final.dubm"))
    np.testing.assert_allclose(kaldi.variances, gmm.variances, rtol=1e-12)
    full = gmm.to_full()
    full.write_kaldi(str(tmp_path / "final.ubm"), binary=False)
    np.testing.assert_allclose(ivkit.FullGmm.read_kaldi(str(tmp_path / "final.ubm")).covariances, full.covariances, rtol=1e-6)


def test_kaldi_ubm_scores_kaldi_features(kaldi_dir, monkeypatch):
    """Kaldi's own final.dubm, final.ubm and features, scored against the naive formulas."""
    ubm = ivkit.DiagGmm.read_kaldi(str(kaldi_dir / "final.dubm"), dtype=np.float32)
    full = ivkit.FullGmm.read_kaldi(str(kaldi_dir / "final.ubm"))
    assert ubm.n_components == 64 and ubm.dim == full.dim
    monkeypatch.chdir(kaldi_dir)  # the script file's paths are relative to its folder
    feats = ivkit.io.read_dict("scp:feats_sid.scp")
    X = next(iter(feats.values()))
    ref = naive_diag_component_ll(X, np.asarray(ubm.weights, np.float64), np.asarray(ubm.means, np.float64),
                                  np.asarray(ubm.variances, np.float64))
    np.testing.assert_allclose(ubm.component_log_likelihoods(X), ref, rtol=2e-4, atol=2e-3)
    ref_full = naive_full_component_ll(X.astype(np.float64), np.asarray(full.weights), np.asarray(full.means), full.covariances)
    np.testing.assert_allclose(full.component_log_likelihoods(X.astype(np.float64)), ref_full, rtol=1e-8, atol=1e-8)


def test_parameter_views_are_read_only_and_keep_the_model_alive(rng):
    w, mu, var = random_diag_gmm_params(rng, 3, 2)
    gmm = ivkit.DiagGmm(w, mu, var)
    means = gmm.means
    assert not means.flags.writeable
    with pytest.raises(ValueError):
        means[0, 0] = 1.0
    del gmm
    import gc
    gc.collect()
    np.testing.assert_array_equal(means, mu)
    # Results own their memory.
    post, _ = ivkit.DiagGmm(w, mu, var).posteriors(rng.standard_normal((10, 2)))
    assert post.flags.writeable and post.flags.c_contiguous
    post[0, 0] = 2.0
