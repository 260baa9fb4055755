"""Python-side figures (docs/python.md): GaussianMixture.fit against scikit-learn's on the same data,
initial parameters and iterations (whole fits, and per iteration from the difference of two
iteration counts), the two matrix products every exact EM iteration needs timed with NumPy's BLAS
(a floor for any float64 implementation), and the binding's fixed cost per call.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=build/test/python /usr/bin/python3 python/bench/bench_python.py

One thread everywhere (BLAS included: set the variable before Python starts). Medians of --repeats runs.
"""
import argparse
import os
import time

import numpy as np

import ivkit


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def fit_seconds(make, X, repeats):
    return min(median_time(lambda: make().fit(X), 1) for _ in range(repeats))


def gemm_bound(N, D, C, repeats):
    """The two products an exact diagonal EM iteration cannot avoid (scores of [x, x^2] against C
    components, and the posterior-weighted sums of [x, x^2]) timed with NumPy's BLAS."""
    rng = np.random.default_rng(1)
    Y, W, R = rng.standard_normal((N, 2 * D)), rng.standard_normal((C, 2 * D)), rng.random((N, C))
    return median_time(lambda: (Y @ W.T, R.T @ Y), repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default="100000x20x64,100000x40x64,50000x60x256", help="N x D x C, comma-separated")
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        print("note: OPENBLAS_NUM_THREADS is not 1; scikit-learn's products may use several threads")
    import warnings
    warnings.simplefilter("ignore")
    try:
        from sklearn.mixture import GaussianMixture as SkGaussianMixture
    except ImportError:
        SkGaussianMixture = None
    print(f"GaussianMixture.fit, diagonal, one thread, {args.iterations} EM iterations from the same initial parameters")
    print("| N x D x C | ivkit float64 | scikit-learn | ratio | per iteration: ivkit, scikit-learn, ratio | two BLAS DGEMMs | ivkit float32 |")
    print("|---|---|---|---|---|---|---|")
    for shape in args.shapes.split(","):
        N, D, C = (int(v) for v in shape.split("x"))
        rng = np.random.default_rng(0)
        centres = rng.standard_normal((C, D)) * 3
        X = centres[rng.integers(0, C, N)] + rng.standard_normal((N, D))
        init = dict(weights_init=np.full(C, 1.0 / C), means_init=X[rng.choice(N, C, replace=False)],
                    precisions_init=np.tile(1.0 / X.var(axis=0), (C, 1)))
        times = {}
        for its in (5, args.iterations):
            kw = dict(n_components=C, covariance_type="diag", tol=0.0, max_iter=its, **init)
            times["ivkit", its] = fit_seconds(lambda: ivkit.GaussianMixture(**kw), X, args.repeats)
            if SkGaussianMixture is not None:
                times["sklearn", its] = fit_seconds(lambda: SkGaussianMixture(**kw), X, args.repeats)
        kw = dict(n_components=C, covariance_type="diag", tol=0.0, max_iter=args.iterations, **init)
        try:
            f32 = fit_seconds(lambda: ivkit.GaussianMixture(**kw), X.astype(np.float32), args.repeats)
        except ivkit.NumericalError:
            f32 = float("nan")  # a variance lost to float32 cancellation (a component far from the data's centre)
        ours = times["ivkit", args.iterations]
        per_ours = (ours - times["ivkit", 5]) / (args.iterations - 5)
        bound = gemm_bound(N, D, C, args.repeats)
        if SkGaussianMixture is not None:
            theirs = times["sklearn", args.iterations]
            per_theirs = (theirs - times["sklearn", 5]) / (args.iterations - 5)
            print(f"| {N} x {D} x {C} | {ours:.3f} s | {theirs:.3f} s | {theirs / ours:.1f}x | {1e3 * per_ours:.1f} ms, "
                  f"{1e3 * per_theirs:.1f} ms, {per_theirs / per_ours:.1f}x | {1e3 * bound:.1f} ms | {f32:.3f} s "
                  f"({theirs / f32:.1f}x) |")
        else:
            print(f"| {N} x {D} x {C} | {ours:.3f} s | - | - | {1e3 * per_ours:.1f} ms | {1e3 * bound:.1f} ms | {f32:.3f} s |")

    C, D, N = 64, 40, 100000
    rng = np.random.default_rng(2)
    gmm = ivkit.DiagGmm(np.full(C, 1.0 / C), rng.standard_normal((C, D)), np.ones((C, D)))
    X = rng.standard_normal((N, D))
    one = X[:1].copy()
    fixed = median_time(lambda: [gmm.log_likelihoods(one) for _ in range(1000)], 3) / 1000
    large = median_time(lambda: gmm.log_likelihoods(X), 3)
    print(f"DiagGmm.log_likelihoods (C = {C}, D = {D}): fixed cost of a call {fixed * 1e6:.1f} us; {N} frames "
          f"{large * 1e3:.2f} ms (the fixed cost is {100 * fixed / large:.3f}% of it)")


if __name__ == "__main__":
    main()
