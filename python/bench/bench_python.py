"""Python-side figures (docs/python.md): GaussianMixture.fit against scikit-learn's on the same data,
initial parameters and iterations (whole fits, and per iteration from the difference of two
iteration counts), the two matrix products every exact EM iteration needs timed with NumPy's BLAS
(a floor for any float64 implementation), the binding's fixed cost per call, and large calls from
Python against the same calls from C++ on the same data (call_timer.cpp).

    cmake --build build/test --target ivkit_python_call_timer
    OPENBLAS_NUM_THREADS=1 PYTHONPATH=build/test/python /usr/bin/python3 python/bench/bench_python.py \
        --call-timer build/test/python/ivkit_python_call_timer

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
    parser.add_argument("--call-timer", help="python/bench/call_timer.cpp built (BUILD/python/ivkit_python_call_timer)")
    parser.add_argument("--call-repeats", type=int, default=7)
    parser.add_argument("--skip-fit", action="store_true", help="only the call figures")
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
    for shape in ([] if args.skip_fit else args.shapes.split(",")):
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
    print(f"\nDiagGmm.log_likelihoods (C = {C}, D = {D}): fixed cost of a call {fixed * 1e6:.1f} us; {N} frames "
          f"{large * 1e3:.2f} ms (the fixed cost is {100 * fixed / large:.3f}% of it)")
    call_overhead(args, gmm, X, rng)


def call_overhead(args, gmm, X, rng):
    """Large calls from Python against the same library calls from C++ (python/bench/call_timer.cpp)
    on the same files, one thread, medians; alternated so that both see the machine alike."""
    import subprocess
    import tempfile
    if not args.call_timer or not os.path.exists(args.call_timer):
        print("(no --call-timer: build it with cmake --build BUILD --target ivkit_python_call_timer)")
        return
    speakers = np.repeat(np.arange(300), 4)
    embeddings = rng.standard_normal((1200, 200)) + 2 * rng.standard_normal((300, 200))[speakers]
    plda = ivkit.Plda.train(embeddings, speakers)
    enrol, test = rng.standard_normal((2000, 200)), rng.standard_normal((2000, 200))
    with tempfile.TemporaryDirectory() as d:
        gmm.save(f"{d}/ubm.ivk")
        plda.save(f"{d}/plda.ivk")
        for name, a in (("frames", X), ("enrol", enrol), ("test", test)):
            np.save(f"{d}/{name}.npy", a)
        plda = ivkit.Plda.load(f"{d}/plda.ivk")  # the model the C++ side reads, with its default options
        calls = {"log_likelihoods": lambda: gmm.log_likelihoods(X), "accumulate": lambda: gmm.accumulate(X),
                 "plda_score_matrix": lambda: plda.score_matrix(enrol, test)}
        py_t = {k: [] for k in calls}
        cpp_t = {k: [] for k in calls}
        for _ in range(3):
            out = subprocess.run([args.call_timer, d, str(args.call_repeats)], check=True, capture_output=True, text=True).stdout
            for line in out.split("\n"):
                if line.strip():
                    k, v = line.split()
                    cpp_t[k].append(float(v))
            for k, f in calls.items():
                py_t[k].append(median_time(f, args.call_repeats))
    print("\nLarge calls, Python against C++ (same library call, data and models; one thread; medians):")
    print("| call | Python | C++ | Python / C++ |")
    print("|---|---|---|---|")
    labels = {"log_likelihoods": f"DiagGmm.log_likelihoods, {X.shape[0]} x {X.shape[1]}, C = {gmm.n_components}",
              "accumulate": f"DiagGmm.accumulate (EM statistics), same frames",
              "plda_score_matrix": f"Plda.score_matrix, 2000 x 2000, dim 200"}
    for k in calls:
        p, c = float(np.median(py_t[k])), float(np.median(cpp_t[k]))
        print(f"| {labels[k]} | {1e3 * p:.2f} ms | {1e3 * c:.2f} ms | {p / c:.3f} |")


if __name__ == "__main__":
    main()
