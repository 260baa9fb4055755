"""Metrics against naive implementations and against Kaldi's compute-eer and compute_min_dcf.py."""
import numpy as np
import pytest

import ivkit


def naive_min_dcf(tar, non, p_target):
    thresholds = np.concatenate([np.sort(np.concatenate([tar, non])), [np.inf]])
    p_miss = np.array([(tar < t).mean() for t in thresholds])
    p_fa = np.array([(non >= t).mean() for t in thresholds])
    cost = p_target * p_miss + (1 - p_target) * p_fa
    return cost.min() / min(p_target, 1 - p_target)


def test_kaldi_eer_and_min_dcf_of_kaldi_scores(kaldi_dir):
    scores, labels = [], []
    for line in open(kaldi_dir / "eer_input_plda"):
        s, label = line.split()
        scores.append(float(s))
        labels.append(label == "target")
    scores, labels = np.array(scores), np.array(labels)
    kaldi_eer = float(open(kaldi_dir / "eer_plda.txt").read())
    result = ivkit.eer(scores[labels], scores[~labels], convention="kaldi")
    assert round(100 * result.eer, 2) == pytest.approx(kaldi_eer, abs=0.006)
    assert result.convention == "kaldi" and result.num_targets == labels.sum()
    for line in open(kaldi_dir / "mindcf_plda.txt"):
        p, value = line.split()
        p_target = float(p.split("=")[1])
        assert ivkit.min_dcf(scores[labels], scores[~labels], p_target=p_target).value == pytest.approx(float(value), abs=6e-5)


def test_metrics_match_naive_definitions(rng):
    tar = rng.normal(2, 1, 400)
    non = rng.normal(0, 1, 4000)
    for p in (0.01, 0.05, 0.5):
        np.testing.assert_allclose(ivkit.min_dcf(tar, non, p_target=p).value, naive_min_dcf(tar, non, p), rtol=1e-12)
    cllr = (np.log2(1 + np.exp(-tar)).mean() + np.log2(1 + np.exp(non)).mean()) / 2
    np.testing.assert_allclose(ivkit.cllr(tar, non), cllr, rtol=1e-12)
    assert ivkit.min_cllr(tar, non) <= ivkit.cllr(tar, non)
    # The interpolated EER lies between the error rates of the operating points around it.
    e = ivkit.eer(tar, non, convention="interpolated").eer
    p_miss, p_fa, thr = ivkit.det_curve(tar, non)
    assert p_miss.size == p_fa.size == thr.size and np.all(np.diff(p_miss) >= 0)
    k = np.argmax(p_miss >= p_fa)
    assert min(p_miss[k - 1], p_fa[k]) - 1e-12 <= e <= max(p_miss[k], p_fa[k - 1]) + 1e-12
    # ROCCH EER is at most the interpolated one; float32 scores give the same EER.
    assert ivkit.eer(tar, non).eer <= e + 1e-12
    assert ivkit.eer(tar.astype(np.float32), non.astype(np.float32), convention="kaldi").eer == pytest.approx(
        ivkit.eer(tar, non, convention="kaldi").eer, abs=1.0 / tar.size)
    act = ivkit.act_dcf(tar, non, p_target=0.01)
    assert act.value >= ivkit.min_dcf(tar, non, p_target=0.01).value - 1e-12
    assert float(act) == act.value and "actDCF" in repr(act)


def test_metric_errors(rng):
    with pytest.raises(ivkit.InvalidArgument, match="convention"):
        ivkit.eer([1.0], [0.0], convention="bosaris")
    with pytest.raises(ivkit.InvalidArgument):
        ivkit.eer([], [0.0])
    with pytest.raises(ivkit.InvalidArgument, match="NaN|nan"):
        ivkit.eer([1.0, np.nan], [0.0])
    with pytest.raises(ivkit.DimensionMismatch):
        ivkit.eer(np.zeros((2, 2)), [0.0])


def test_det_points_on_the_probit_scale(rng):
    from statistics import NormalDist
    tar, non = rng.normal(2, 1, 300), rng.normal(0, 1, 3000)
    x, y = ivkit.det_axes_points(tar, non)
    p_miss, p_fa, _ = ivkit.det_curve(tar, non)
    inv = NormalDist().inv_cdf
    k = p_miss.size // 2
    assert x[k] == pytest.approx(inv(min(max(p_fa[k], 1e-4), 1 - 1e-4)))
    assert y[k] == pytest.approx(inv(min(max(p_miss[k], 1e-4), 1 - 1e-4)))
    assert np.all(np.diff(y) >= 0) and np.all(np.diff(x) <= 0)
    try:
        import matplotlib
        matplotlib.use("Agg")
    except ImportError:
        with pytest.raises(ImportError, match="python3-matplotlib"):
            ivkit.plot_det({"system": (tar, non)})
        return
    ax = ivkit.plot_det({"system": (tar, non)})
    assert len(ax.lines) == 1
