"""The contract with the interpreter: the GIL is released in long calls, results own or pin their
memory, and bad arrays are refused with an error instead of a crash."""
import gc
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import ivkit


def test_long_calls_release_the_gil(rng):
    C, D = 512, 40
    gmm = ivkit.DiagGmm(np.full(C, 1.0 / C), rng.standard_normal((C, D)), np.ones((C, D)))
    X = rng.standard_normal((100000, D))
    ticks = 0
    done = threading.Event()

    def count():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.0005)

    worker = threading.Thread(target=count)
    worker.start()
    start = time.perf_counter()
    gmm.log_likelihoods(X)
    elapsed = time.perf_counter() - start
    done.set()
    worker.join()
    # A thread that holds the GIL for the whole call would let the counter run about once.
    assert elapsed > 0.02 and ticks >= 5


def test_result_arrays_own_their_memory_and_views_pin_the_model(rng):
    w = np.array([0.5, 0.5])
    gmm = ivkit.DiagGmm(w, rng.standard_normal((2, 3)), np.ones((2, 3)))
    weights = gmm.weights
    before = sys.getrefcount(gmm)
    view2 = gmm.variances
    assert sys.getrefcount(gmm) == before + 1  # the view holds the model
    del gmm, view2
    gc.collect()
    np.testing.assert_array_equal(weights, w)
    out = ivkit.cosine_score_matrix(rng.standard_normal((3, 4)), rng.standard_normal((5, 4)))
    assert out.base is not None and out.flags.owndata is False and out.flags.writeable


@pytest.mark.parametrize("bad,error", [
    (np.zeros((4, 3), dtype=np.complex128), ivkit.InvalidArgument),
    (np.array([["a", "b", "c"]]), ivkit.InvalidArgument),
    (np.zeros((2, 3, 1)), ivkit.DimensionMismatch),
    (np.zeros((4, 2)), ivkit.DimensionMismatch),
])
def test_bad_arrays_raise(rng, bad, error):
    gmm = ivkit.DiagGmm([1.0], np.zeros((1, 3)), np.ones((1, 3)))
    with pytest.raises(error):
        gmm.log_likelihoods(bad)


def test_non_finite_input_names_the_frame():
    gmm = ivkit.DiagGmm([1.0], np.zeros((1, 2)), np.ones((1, 2)))
    X = np.zeros((10, 2))
    X[7, 1] = np.inf
    with pytest.raises(ivkit.NonFiniteInput, match="frame 7"):
        gmm.posteriors(X)
    with pytest.raises(ivkit.InvalidArgument, match="threads"):
        gmm.log_likelihoods(np.zeros((1, 2)), threads=-1)
    with pytest.raises(ivkit.InvalidArgument, match="variance"):
        ivkit.DiagGmm([1.0], np.zeros((1, 2)), np.array([[1.0, -1.0]]))
    with pytest.raises(ivkit.InvalidArgument):
        ivkit.DiagGmm([0.3, 0.3], np.zeros((2, 2)), np.ones((2, 2)))


def test_dtype_arguments_are_checked():
    with pytest.raises(ivkit.InvalidArgument, match="dtype"):
        ivkit.Plda.load("unused.ivk", dtype=np.int32)
    with pytest.raises(ivkit.InvalidArgument, match="dtype"):
        ivkit.io.read("ark:unused.ark", dtype=np.int16)
    with pytest.raises(ivkit.InvalidArgument, match="dtype"):
        ivkit.DiagGmm([1.0], np.zeros((1, 2)), np.ones((1, 2)), dtype=np.complex64)


def _run_with_isa(value, code, *args):
    env = dict(os.environ, IVKIT_ISA=value)
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)


def test_the_kernel_path_is_visible_and_can_be_forced(tmp_path):
    order = ["baseline", "avx2", "avx512"]
    assert ivkit.isa in order and ivkit.cpu_isa in order
    assert order.index(ivkit.isa) <= order.index(ivkit.cpu_isa)
    assert ivkit.isa in ivkit.isa_description
    # Each path the CPU has, forced through IVKIT_ISA, reports itself and gives the same
    # log-likelihoods and posteriors within float32 rounding.
    code = (
        "import sys, numpy as np, ivkit\n"
        "r = np.random.default_rng(0); C, D = 64, 20\n"
        "g = ivkit.DiagGmm(np.full(C, 1.0 / C), r.standard_normal((C, D)), 0.5 + r.random((C, D)), dtype=np.float32)\n"
        "X = r.standard_normal((500, D)).astype(np.float32)\n"
        "post, ll = g.posteriors(X)\n"
        "np.save(sys.argv[1], np.hstack([np.asarray(ll)[:, None], np.asarray(post)]))\n"
        "print(ivkit.isa)\n")
    results = {}
    for path in order[: order.index(ivkit.cpu_isa) + 1]:
        out_file = tmp_path / f"{path}.npy"
        out = _run_with_isa(path, code, str(out_file))
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == path
        results[path] = np.load(out_file)
    for path, values in results.items():
        np.testing.assert_allclose(values, results["baseline"], rtol=1e-5, atol=1e-5, err_msg=path)


def test_an_invalid_kernel_path_fails_the_import_with_its_name():
    out = _run_with_isa("sse9", "import ivkit")
    assert out.returncode != 0
    assert "sse9" in out.stderr and "avx2" in out.stderr
