"""Statistics and i-vector extraction against naive formulas and against Kaldi's ivector-extract."""
import numpy as np
import pytest

import ivkit
from conftest import random_diag_gmm_params


def naive_stats(X, w, mu, var):
    ll = np.stack([np.log(w[c]) - 0.5 * (np.log(2 * np.pi * var[c]).sum() + (((X - mu[c]) ** 2) / var[c]).sum(axis=1))
                   for c in range(w.size)], axis=1)
    post = np.exp(ll - ll.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    zeroth = post.sum(axis=0)
    first = np.stack([post[:, c] @ (X - mu[c]) for c in range(w.size)])
    return zeroth, first


def test_utterance_stats_match_naive(rng):
    w, mu, var = random_diag_gmm_params(rng, 6, 4)
    X = rng.standard_normal((800, 4)) * 2
    ubm = ivkit.DiagGmm(w, mu, var)
    n, f = ivkit.utterance_stats(ubm, X)
    n_ref, f_ref = naive_stats(X, w, mu, var)
    np.testing.assert_allclose(n, n_ref, rtol=1e-9)
    np.testing.assert_allclose(f, f_ref, rtol=1e-8, atol=1e-9)
    # With a selection of every component, the sid pipeline gives the same statistics.
    n2, f2 = ivkit.utterance_stats(ubm.to_full(), X, gselect=6)
    np.testing.assert_allclose(n2, n_ref, rtol=1e-9)
    np.testing.assert_allclose(f2, f_ref, rtol=1e-8, atol=1e-9)


def test_extraction_matches_the_posterior_formula(rng, tmp_path):
    """Kaldi's model (means M_c w, w ~ N(p e_1, I), covariances S_c) read from a Kaldi file: the
    i-vector is w = L^-1 (sum_c M_c' S_c^-1 F_c + p e_1) - p e_1 with L = I + sum_c N_c M_c' S_c^-1 M_c
    and F_c the uncentred first-order statistics; the posterior variances are diag(L^-1)."""
    C, D, R, U, p = 5, 3, 4, 7, 2.5
    w, mu, var = random_diag_gmm_params(rng, C, D)
    ubm = ivkit.DiagGmm(w, mu, var)
    frames = {f"u{i}": rng.standard_normal((200 + 30 * i, D)) * 2 for i in range(U)}
    stats = ivkit.Statistics.from_features(ubm, frames, dtype=np.float64)
    assert stats.ids == list(frames) and stats.zeroth.shape == (U, C) and stats.first.shape == (U, C * D)
    M = rng.standard_normal((C, D, R)) * 0.5
    extractor = ivkit.IvectorExtractor.read_kaldi(str(_write_kaldi_extractor(tmp_path, M, var, p)), ubm)
    means, variances = ivkit.extract_ivectors(extractor, stats, uncertainty=True)
    for u in range(U):
        L = np.eye(R)
        b = np.zeros(R)
        b[0] = p
        for c in range(C):
            L += stats.zeroth[u, c] * M[c].T @ (M[c] / var[c][:, None])
            raw = stats.first[u, c * D:(c + 1) * D] + stats.zeroth[u, c] * mu[c]
            b += M[c].T @ (raw / var[c])
        expected = np.linalg.solve(L, b)
        expected[0] -= p
        np.testing.assert_allclose(means[u], expected, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(variances[u], np.diag(np.linalg.inv(L)), rtol=1e-8)
    kept = extractor.extract(stats.zeroth, stats.first, keep_prior_mean=True)
    np.testing.assert_allclose(kept[:, 0], means[:, 0] + p, rtol=1e-12)
    # Threads, batch size and the (U, C, D) shape of the first-order statistics change nothing.
    same = extractor.extract(stats.zeroth, stats.first.reshape(U, C, D), threads=2, batch_size=3)
    np.testing.assert_array_equal(same, means)
    approx = extractor.extract(stats.zeroth, stats.first, method="approximate")
    assert approx.shape == means.shape and np.all(np.isfinite(approx))
    with pytest.raises(ivkit.DimensionMismatch):
        extractor.extract(stats.zeroth[:, :4], stats.first)


def _write_kaldi_extractor(tmp_path, M, var, offset):
    """A text final.ie (Kaldi's IvectorExtractor::Write): w_ empty, w_vec_, M_c, SigmaInv_c packed."""
    C, D, R = M.shape
    fmt = lambda values: " ".join("%.17g" % v for v in values)
    parts = ["<IvectorExtractor> <w>  [ ]\n<w_vec>  [ " + fmt(np.full(C, 1.0 / C)) + " ]\n<M> " + str(C) + " "]
    for c in range(C):
        parts.append("[\n" + "\n".join("  " + fmt(row) for row in M[c]) + " ]\n")
    parts.append("<SigmaInv> ")
    for c in range(C):
        rows = [fmt([1.0 / var[c][i] if i == j else 0.0 for j in range(i + 1)]) for i in range(D)]
        parts.append("[\n" + "\n".join(rows) + " ]\n")
    parts.append("<IvectorOffset> %.17g </IvectorExtractor> " % offset)
    path = tmp_path / "final.ie"
    path.write_text("".join(parts))
    return path


def test_kaldi_extractor_gives_kaldi_ivectors(kaldi_dir, monkeypatch):
    """Kaldi's final.ubm and final.ie on Kaldi's sid features, with Kaldi's pipeline (gselect 20,
    min-post 0.025): the i-vectors ivector-extract wrote."""
    monkeypatch.chdir(kaldi_dir)
    ubm = ivkit.FullGmm.read_kaldi("final.ubm")
    extractor = ivkit.IvectorExtractor.read_kaldi("final.ie", ubm)
    assert extractor.ivector_dim == 32
    stats = ivkit.Statistics.from_features(ubm, ivkit.io.read("scp:feats_sid.scp"), gselect=20, min_post=0.025)
    ours = ivkit.extract_ivectors(extractor, stats)
    kaldi = ivkit.io.read_dict("scp:ivectors_kept.scp", kind="vector", dtype=np.float64)
    assert set(kaldi) == set(stats.ids)
    for i, key in enumerate(stats.ids):
        ref = kaldi[key]
        cosine = ours[i] @ ref / np.linalg.norm(ours[i]) / np.linalg.norm(ref)
        assert cosine > 0.99999, key
        np.testing.assert_allclose(ours[i], ref, rtol=1e-3, atol=2e-3 * np.abs(ref).max())
    with pytest.raises(ivkit.InvalidArgument, match="use-weights|weights"):
        ivkit.IvectorExtractor.read_kaldi("final_weights.ie", ubm)


def test_training_increases_the_objective_and_separates_speakers(rng):
    """EM on statistics of synthetic speakers (each a shift of the UBM means): the objective never
    decreases, the result is the same for any thread count, and i-vectors of one speaker agree."""
    C, D, R = 8, 4, 3
    w, mu, var = random_diag_gmm_params(rng, C, D)
    ubm = ivkit.DiagGmm(w, mu, var)
    speakers = rng.standard_normal((12, D)) * 1.5
    frames = {}
    for s in range(12):
        for u in range(4):
            comps = rng.choice(C, 300, p=w)
            frames[f"s{s}-u{u}"] = mu[comps] + speakers[s] + rng.standard_normal((300, D)) * np.sqrt(var[comps])
    stats = ivkit.Statistics.from_features(ubm, frames, dtype=np.float64)
    model, objective = ivkit.IvectorExtractor.train(ubm, stats.zeroth, stats.first, R, num_iterations=6)
    assert objective.shape == (6,) and np.all(np.diff(objective) >= -1e-9 * np.abs(objective[:-1]))
    same, _ = ivkit.IvectorExtractor.train(ubm, stats.zeroth, stats.first, R, num_iterations=6, threads=2)
    np.testing.assert_array_equal(same.T, model.T)
    iv = ivkit.extract_ivectors(model, stats)
    iv /= np.linalg.norm(iv, axis=1, keepdims=True)
    scores = iv @ iv.T
    label = np.repeat(np.arange(12), 4)
    target = (label[:, None] == label[None, :]) & ~np.eye(48, dtype=bool)
    assert ivkit.eer(scores[target], scores[label[:, None] != label[None, :]]).eer < 0.1
    pca, _ = ivkit.IvectorExtractor.train(ubm, stats.zeroth, stats.first, R, init="pca", num_iterations=2)
    assert pca.ivector_dim == R
    # A full-covariance UBM trains a full-covariance extractor; its EM objective never decreases either.
    full_ubm = ubm.to_full()
    full_stats = ivkit.Statistics.from_features(full_ubm, frames, dtype=np.float64)
    full, objective = ivkit.IvectorExtractor.train(full_ubm, full_stats.zeroth, full_stats.first, R, num_iterations=4)
    assert np.all(np.diff(objective) >= -1e-9 * np.abs(objective[:-1]))
    iv_full = ivkit.extract_ivectors(full, full_stats)
    iv_full /= np.linalg.norm(iv_full, axis=1, keepdims=True)
    s_full = iv_full @ iv_full.T
    assert ivkit.eer(s_full[target], s_full[label[:, None] != label[None, :]]).eer < 0.1
    with pytest.raises(ivkit.InvalidArgument, match="convention"):
        ivkit.IvectorExtractor.train(ubm, stats.zeroth, stats.first, R, convention="sidekit")


def test_a_given_selector_gives_the_same_statistics(rng):
    w, mu, var = random_diag_gmm_params(rng, 12, 3)
    full = ivkit.DiagGmm(w, mu, var).to_full()
    X = rng.standard_normal((300, 3)) * 2
    n1, f1 = ivkit.utterance_stats(full, X, gselect=4, min_post=0.025)
    n2, f2 = ivkit.utterance_stats(full, X, gselect=4, min_post=0.025, selector=full.to_diag())
    np.testing.assert_array_equal(n1, n2)
    np.testing.assert_array_equal(f1, f2)
    with pytest.raises(ivkit.InvalidArgument, match="selector"):
        ivkit.utterance_stats(full, X, gselect=4, selector=full)
    with pytest.raises(ivkit.InvalidArgument, match="selector"):
        ivkit.utterance_stats(full, X, gselect=4, selector=ivkit.DiagGmm([1.0], np.zeros((1, 3)), np.ones((1, 3))))
