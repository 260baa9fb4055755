"""Transform pipelines: LDA's defining properties, Kaldi's transform.mat on Kaldi's i-vectors."""
import numpy as np
import pytest

import ivkit


def labelled(rng, n_classes=30, per_class=8, D=10):
    centres = rng.standard_normal((n_classes, D)) * 2
    mix = rng.standard_normal((D, D))
    labels = np.repeat(np.arange(n_classes), per_class)
    return (centres[labels] + rng.standard_normal((labels.size, D))) @ mix.T + 5, labels


def within_between(Y, labels):
    means = np.stack([Y[labels == k].mean(axis=0) for k in np.unique(labels)])
    within = sum((Y[labels == k] - means[k]).T @ (Y[labels == k] - means[k]) for k in np.unique(labels)) / Y.shape[0]
    centred = means - means.mean(axis=0)
    return within, centred.T @ centred / means.shape[0]


def test_lda_makes_within_class_identity_and_between_class_diagonal(rng):
    X, labels = labelled(rng)
    pipe = ivkit.TransformPipeline().centre().lda(5)
    Y = pipe.fit_transform(X, labels)
    assert Y.shape == (X.shape[0], 5) and pipe.fitted and pipe.out_dim == 5 and pipe.n_stages == 2
    np.testing.assert_allclose(Y.mean(axis=0), 0, atol=1e-10)
    within, between = within_between(Y, labels)
    np.testing.assert_allclose(within, np.eye(5), atol=1e-8)
    np.testing.assert_allclose(between, np.diag(np.diag(between)), atol=1e-8)
    assert np.all(np.diff(np.diag(between)) <= 1e-12)  # most discriminative first


def test_pipeline_stages_match_numpy(rng, tmp_path):
    X, labels = labelled(rng)
    pipe = ivkit.TransformPipeline().centre().whiten().length_norm()
    Y = pipe.fit_transform(X)
    np.testing.assert_allclose(np.linalg.norm(Y, axis=1), 1.0, rtol=1e-12)
    Z = ivkit.TransformPipeline().centre().whiten().fit_transform(X)
    np.testing.assert_allclose(np.cov(Z.T, bias=True), np.eye(X.shape[1]), atol=1e-8)
    A, b = rng.standard_normal((3, X.shape[1])), rng.standard_normal(3)
    np.testing.assert_allclose(ivkit.TransformPipeline().affine(A, b).transform(X), X @ A.T + b, rtol=1e-12)
    pipe.save(str(tmp_path / "p.ivk"))
    np.testing.assert_array_equal(ivkit.TransformPipeline.load(str(tmp_path / "p.ivk")).transform(X), Y)
    f32 = ivkit.TransformPipeline(dtype=np.float32).centre().lda(4).fit(X, labels).transform(X)
    assert f32.dtype == np.float32


def test_kaldi_mean_lda_and_length_norm_give_kaldis_vectors(kaldi_dir, monkeypatch):
    """ivector-subtract-global-mean mean.vec, transform-vec transform.mat, ivector-normalize-length
    on Kaldi's i-vectors: kept_lda_lnorm.txt, which Kaldi wrote."""
    monkeypatch.chdir(kaldi_dir)
    mean = ivkit.read_kaldi_vector("mean.vec")
    raw = ivkit.io.read_dict("scp:ivectors_kept.scp", kind="vector", dtype=np.float64)
    expected = ivkit.io.read_dict("ark,t:kept_lda_lnorm.txt", kind="vector", dtype=np.float64)
    pipe = (ivkit.TransformPipeline().affine(np.eye(mean.size), -mean).kaldi_transform("transform.mat")
            .length_norm(scale_to_sqrt_dim=True))
    keys = list(expected)
    ours = pipe.transform(np.stack([raw[k] for k in keys]))
    np.testing.assert_allclose(ours, np.stack([expected[k] for k in keys]), atol=2e-5)
    assert ivkit.read_kaldi_matrix("transform.mat").shape == (11, 33)


def test_transform_errors(rng):
    X, labels = labelled(rng)
    with pytest.raises(ivkit.InvalidArgument, match="label"):
        ivkit.TransformPipeline().lda(3).fit(X)
    with pytest.raises(ivkit.Error):
        ivkit.TransformPipeline().lda(3).transform(X)
    with pytest.raises(ivkit.InvalidArgument):
        ivkit.TransformPipeline().whiten(mode="other")
