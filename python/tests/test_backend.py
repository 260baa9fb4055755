"""PLDA and cosine scoring against naive NumPy formulas and against Kaldi's own scores."""
import numpy as np
import pytest

import ivkit


def naive_plda_llr(plda, enrol, test, counts=None):
    """Kaldi's PLDA log-likelihood ratio (ivector-plda-scoring without length normalisation):
    u = A (x - m) makes the within-class covariance I and the between-class one diag(psi); a model
    averaged over n embeddings predicts N(n psi / (n psi + 1) u_e, 1 + psi / (n psi + 1))."""
    A, m, psi = np.asarray(plda.transform), np.asarray(plda.mean), np.asarray(plda.psi)
    ue, ut = (enrol - m) @ A.T, (test - m) @ A.T
    counts = np.ones(len(enrol)) if counts is None else np.asarray(counts, dtype=np.float64)
    scores = np.empty((len(enrol), len(test)))
    for i, (u, n) in enumerate(zip(ue, counts)):
        mean = n * psi / (n * psi + 1) * u
        var = 1 + psi / (n * psi + 1)
        same = -0.5 * (np.log(2 * np.pi * var) + (ut - mean) ** 2 / var).sum(axis=1)
        diff = -0.5 * (np.log(2 * np.pi * (1 + psi)) + ut ** 2 / (1 + psi)).sum(axis=1)
        scores[i] = same - diff
    return scores


def speakers(rng, n_speakers=40, per_speaker=6, D=8):
    centres = rng.standard_normal((n_speakers, D)) * 2
    labels = np.repeat(np.arange(n_speakers), per_speaker)
    return centres[labels] + rng.standard_normal((len(labels), D)), labels


def test_plda_training_and_scoring_match_the_formulas(rng):
    X, labels = speakers(rng)
    plda = ivkit.Plda.train(X, labels, normalise_length=False)
    assert plda.dim == 8 and plda.dtype == np.float64
    # The transform diagonalises both covariances.
    A = np.asarray(plda.transform)
    np.testing.assert_allclose(A @ plda.within_covariance @ A.T, np.eye(8), atol=1e-8)
    np.testing.assert_allclose(A @ plda.between_covariance @ A.T, np.diag(plda.psi), atol=1e-8)
    enrol, test = X[:10], X[100:130]
    np.testing.assert_allclose(plda.score_matrix(enrol, test), naive_plda_llr(plda, enrol, test), rtol=1e-9, atol=1e-9)
    counts = np.arange(1, 11)
    np.testing.assert_allclose(plda.score_matrix(enrol, test, enrol_counts=counts),
                               naive_plda_llr(plda, enrol, test, counts), rtol=1e-9, atol=1e-9)
    ei, ti = np.array([0, 3, 9, 9]), np.array([5, 0, 29, 2])
    np.testing.assert_allclose(plda.score_trials(enrol, test, ei, ti), plda.score_matrix(enrol, test)[ei, ti], rtol=1e-12)
    # float32 scores are close; any thread count gives the same bits.
    p32 = ivkit.Plda.train(X.astype(np.float32), labels, normalise_length=False)
    assert p32.dtype == np.float32
    np.testing.assert_allclose(p32.score_matrix(enrol, test), plda.score_matrix(enrol, test), rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(plda.score_matrix(enrol, test, threads=2), plda.score_matrix(enrol, test))


def test_same_speaker_scores_higher(rng):
    X, labels = speakers(rng)
    plda = ivkit.Plda.train(X, labels)
    s = plda.score_matrix(X[::6], X[1::6])
    assert (np.diag(s)[:, None] > s).mean() > 0.9


def test_kaldi_plda_reproduces_kaldi_scores(kaldi_dir):
    """Kaldi's plda and its LDA-projected, length-normalised i-vectors: the scores of
    ivector-plda-scoring --normalize-length=true (scores_plda) for the trials among them."""
    plda = ivkit.Plda.read_kaldi(str(kaldi_dir / "plda"))
    vectors = ivkit.io.read_dict(f"ark,t:{kaldi_dir / 'kept_lda_lnorm.txt'}", kind="vector", dtype=np.float64)
    keys = list(vectors)
    X = np.stack([vectors[k] for k in keys])
    index = {k: i for i, k in enumerate(keys)}
    trials = [line.split() for line in open(kaldi_dir / "scores_plda")]
    trials = [(index[a], index[b], float(s)) for a, b, s in trials if a in index and b in index]
    assert len(trials) == 9
    ei, ti, expected = (np.array(c) for c in zip(*trials))
    np.testing.assert_allclose(plda.score_trials(X, X, ei, ti), expected, atol=2e-5)


def test_plda_files_round_trip(tmp_path, rng):
    X, labels = speakers(rng, n_speakers=10, per_speaker=4, D=4)
    plda = ivkit.Plda.train(X, labels)
    plda.save(str(tmp_path / "plda.ivk"))
    plda.write_kaldi(str(tmp_path / "plda"))
    for back in (ivkit.Plda.load(str(tmp_path / "plda.ivk")), ivkit.Plda.read_kaldi(str(tmp_path / "plda"))):
        np.testing.assert_allclose(back.psi, plda.psi, rtol=1e-12)
        np.testing.assert_allclose(back.score_matrix(X, X), plda.score_matrix(X, X), rtol=1e-10, atol=1e-10)


def test_cosine_matches_numpy(rng):
    E, T = rng.standard_normal((7, 5)), rng.standard_normal((9, 5))
    ref = (E / np.linalg.norm(E, axis=1)[:, None]) @ (T / np.linalg.norm(T, axis=1)[:, None]).T
    np.testing.assert_allclose(ivkit.cosine_score_matrix(E, T), ref, rtol=1e-12)
    np.testing.assert_allclose(ivkit.cosine_score_trials(E, T, [0, 6], [8, 1]), ref[[0, 6], [8, 1]], rtol=1e-12)
    assert ivkit.cosine_score_matrix(E.astype(np.float32), T.astype(np.float32)).dtype == np.float32


def test_backend_errors_name_the_problem(rng):
    X, labels = speakers(rng, n_speakers=5, per_speaker=3, D=4)
    plda = ivkit.Plda.train(X, labels)
    with pytest.raises(ivkit.DimensionMismatch):
        plda.score_matrix(X, X[:, :3])
    with pytest.raises(ivkit.DimensionMismatch, match="indices"):
        plda.score_trials(X, X, [0, 1], [0])
    with pytest.raises(ivkit.InvalidArgument):
        plda.score_trials(X, X, [0], [99])
    with pytest.raises(ivkit.InvalidArgument, match="integers"):
        ivkit.Plda.train(X, labels.astype(np.float64) + 0.5)
    with pytest.raises(OSError):
        ivkit.Plda.read_kaldi("/nonexistent/plda")


def test_score_embeddings_example_runs():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "examples" / "score_embeddings.py"
    spec = importlib.util.spec_from_file_location("score_embeddings", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    scores, is_target = example.main([])
    assert ivkit.eer(scores[is_target], scores[~is_target]).eer < 0.1


def test_simplified_plda_has_a_rank_r_between_class_covariance(rng):
    X, labels = speakers(rng, n_speakers=60, per_speaker=5, D=8)
    plda, loglik = ivkit.Plda.train_simplified(X, labels, rank=3, num_iters=8, normalise_length=False)
    assert loglik.ndim == 1 and loglik.size >= 8
    assert np.all(np.diff(loglik) >= -1e-9 * np.abs(loglik[:-1]))  # EM never lowers the likelihood
    assert np.sum(np.asarray(plda.psi) > 1e-8) == 3  # B = F F' has rank 3
    s = plda.score_matrix(X[::5], X[1::5])
    np.testing.assert_allclose(s, naive_plda_llr(plda, X[::5], X[1::5]), rtol=1e-9, atol=1e-9)
    assert (np.diag(s)[:, None] > s).mean() > 0.9


def test_plda_adaptation_moves_the_model_to_the_new_domain(rng):
    X, labels = speakers(rng, n_speakers=40, per_speaker=6, D=6)
    plda = ivkit.Plda.train(X, labels, normalise_length=False)
    shifted = X[:120] * 1.5 + 3.0  # in-domain data: another mean, more variance
    adapted = plda.adapt(shifted)
    assert adapted.dim == plda.dim and adapted.normalise_length == plda.normalise_length
    np.testing.assert_allclose(adapted.mean, shifted.mean(axis=0), rtol=1e-9, atol=1e-9)
    # The adapted total covariance is at least the in-domain one in every direction (Kaldi adds
    # variance where the data has more than the model, never removes it).
    total = adapted.within_covariance + adapted.between_covariance
    gap = np.linalg.eigvalsh(total - np.cov(shifted.T, bias=True))
    assert gap.min() > -1e-6 * np.abs(gap).max()
    unchanged = plda.adapt(X, mean_diff_scale=0.0, within_covar_scale=0.0, between_covar_scale=0.0)
    np.testing.assert_allclose(unchanged.within_covariance, plda.within_covariance, rtol=1e-6, atol=1e-9)
