"""Score normalisation (z/t/s-norm, AS-norm) and calibration against NumPy formulas."""
import numpy as np
import pytest

import ivkit


def naive_stats(m, axis, top_k):
    if top_k:
        part = -np.sort(-m, axis=axis)
        part = part[:, :top_k] if axis == 1 else part[:top_k, :]
        return part.mean(axis=axis), part.std(axis=axis)
    return m.mean(axis=axis), m.std(axis=axis)


@pytest.mark.parametrize("top_k", [0, 5])
def test_score_norms_match_numpy(rng, top_k):
    S = rng.standard_normal((6, 9))
    E = rng.standard_normal((6, 40)) * 2 + 1    # enrolments x cohort
    T = rng.standard_normal((40, 9)) + 0.5       # cohort x tests
    me, se = naive_stats(E, 1, top_k)
    mt, st = naive_stats(T, 0, top_k)
    z = (S - me[:, None]) / se[:, None]
    t = (S - mt[None, :]) / st[None, :]
    np.testing.assert_allclose(ivkit.normalise_scores(S, "z", enrol_cohort=E, top_k=top_k), z, rtol=1e-12)
    np.testing.assert_allclose(ivkit.normalise_scores(S, "t", cohort_test=T, top_k=top_k), t, rtol=1e-12)
    s = ivkit.normalise_scores(S, "s", enrol_cohort=E, cohort_test=T, top_k=top_k, threads=2)
    np.testing.assert_allclose(s, (z + t) / 2, rtol=1e-12)
    # The trial-list form gives the matrix entries.
    ei, ti = np.array([0, 5, 2, 2]), np.array([8, 0, 3, 4])
    trial = ivkit.normalise_trial_scores(S[ei, ti], ei, ti, "s", enrol_cohort=E, cohort_test=T, top_k=top_k)
    np.testing.assert_allclose(trial, s[ei, ti], rtol=1e-12)


def test_score_norm_options_and_errors(rng):
    S, E = rng.standard_normal((2, 3)), rng.standard_normal((2, 10))
    unbiased = ivkit.normalise_scores(S, "z", enrol_cohort=E, std_convention="unbiased")
    np.testing.assert_allclose(unbiased, (S - E.mean(1)[:, None]) / E.std(1, ddof=1)[:, None], rtol=1e-12)
    with pytest.raises(ivkit.InvalidArgument, match="cohort_test"):
        ivkit.normalise_scores(S, "t")
    with pytest.raises(ivkit.InvalidArgument, match="method"):
        ivkit.normalise_scores(S, "x", enrol_cohort=E)
    with pytest.raises(ivkit.DimensionMismatch):
        ivkit.normalise_scores(S, "z", enrol_cohort=E[:1])
    with pytest.raises(ivkit.InvalidArgument):
        ivkit.normalise_scores(S, "z", enrol_cohort=E, top_k=11)
    flat = np.ones((2, 10))
    with pytest.raises(ivkit.NumericalError):
        ivkit.normalise_scores(S, "z", enrol_cohort=flat)


def test_calibration_is_the_logistic_regression_optimum(rng, tmp_path):
    tar, non = rng.normal(3, 1.5, 300), rng.normal(-1, 1.2, 3000)
    cal = ivkit.LinearCalibration.train(tar, non, prior=0.3)
    w, b = cal.weights[0], cal.offset
    # Gradient of the prior-weighted cross-entropy (BOSARIS) at the solution is zero.
    logit = np.log(0.3 / 0.7)
    pt = 1 / (1 + np.exp(-(w * tar + b + logit)))
    pn = 1 / (1 + np.exp(-(w * non + b + logit)))
    g_w = -0.3 * np.mean((1 - pt) * tar) + 0.7 * np.mean(pn * non)
    g_b = -0.3 * np.mean(1 - pt) + 0.7 * np.mean(pn)
    assert abs(g_w) < 1e-9 and abs(g_b) < 1e-9
    np.testing.assert_allclose(cal(tar), w * tar + b, rtol=1e-12)
    assert cal(1.0) == pytest.approx(w + b)
    # Calibrated scores: actual DCF close to minimum DCF, lower Cllr than the raw scores.
    assert ivkit.cllr(cal(tar), cal(non)) < ivkit.cllr(tar, non)
    cal.save(str(tmp_path / "cal.ivk"))
    assert ivkit.LinearCalibration.load(str(tmp_path / "cal.ivk")).offset == b


def test_fusion_of_two_systems(rng):
    n_t, n_n = 200, 2000
    truth_t, truth_n = rng.normal(2, 1, n_t), rng.normal(0, 1, n_n)
    tar = np.stack([truth_t + rng.normal(0, 1, n_t), truth_t + rng.normal(0, 1, n_t)], axis=1)
    non = np.stack([truth_n + rng.normal(0, 1, n_n), truth_n + rng.normal(0, 1, n_n)], axis=1)
    fusion = ivkit.LinearCalibration.train(tar, non)
    assert fusion.n_systems == 2
    fused_t, fused_n = fusion(tar), fusion(non)
    np.testing.assert_allclose(fused_t, tar @ fusion.weights + fusion.offset, rtol=1e-12)
    single = ivkit.LinearCalibration.train(tar[:, 0], non[:, 0])
    assert ivkit.cllr(fused_t, fused_n) < ivkit.cllr(single(tar[:, 0]), single(non[:, 0]))
    with pytest.raises(ivkit.InvalidArgument, match="separable"):  # no finite maximum-likelihood solution
        ivkit.LinearCalibration.train(np.array([2.0, 3.0]), np.array([0.0, 1.0]))
    assert np.isfinite(ivkit.LinearCalibration.train(np.array([2.0, 3.0]), np.array([0.0, 1.0]), l2=0.1).offset)
