"""ivkit: GMM-UBM, i-vector and PLDA speaker recognition on NumPy arrays.

The numerical work runs in ivkit's C++ core (the extension ``ivkit._ivkit``): arrays go in and come
out without copies where their dtype (float32 or float64) and layout allow, long calls release the
GIL and take ``threads=`` (0 = all cores; results do not depend on it), and errors are raised as
:class:`ivkit.Error` subclasses that are also ``ValueError``/``OSError``/``ArithmeticError``.

The module is built for the CPU baseline and picks its kernels at import: ``ivkit.isa`` names the
path in use ("avx512", "avx2" or "baseline"), ``ivkit.cpu_isa`` the best this CPU has; the
environment variable ``IVKIT_ISA`` forces a lower one (docs/conventions.md).
"""

from ._ivkit import (  # noqa: F401
    __version__,
    isa,
    cpu_isa,
    isa_description,
    Error,
    InvalidArgument,
    DimensionMismatch,
    NonFiniteInput,
    NumericalError,
    FormatError,
    IoError,
    DiagGmm,
    FullGmm,
    EmStats,
    SparsePosteriors,
    GaussianSelection,
    init_diag_gmm,
    train_diag_gmm,
    Plda,
    cosine_score_matrix,
    cosine_score_trials,
    EerResult,
    DcfResult,
    eer,
    min_dcf,
    act_dcf,
    cllr,
    min_cllr,
    det_curve,
    IvectorExtractor,
    utterance_stats,
    normalise_scores,
    normalise_trial_scores,
    LinearCalibration,
    TransformPipeline,
    read_kaldi_vector,
    read_kaldi_matrix,
    mfcc,
    fbank,
    compute_vad,
    add_deltas,
    apply_cmvn_sliding,
    map_adapt,
    gmm_ubm_score,
    mean_supervector,
)
from .mixture import GaussianMixture  # noqa: F401
from .ivector import Statistics, extract_ivectors  # noqa: F401
from .features import read_kaldi_config, sid_features  # noqa: F401

try:  # built when libsndfile was found (libsndfile1-dev)
    from ._ivkit import read_wav  # noqa: F401
except ImportError:
    pass
from .plot import det_axes_points, plot_det  # noqa: F401
from . import io  # noqa: F401

__all__ = [
    "__version__", "isa", "cpu_isa", "isa_description", "Error", "InvalidArgument", "DimensionMismatch", "NonFiniteInput", "NumericalError",
    "FormatError", "IoError", "DiagGmm", "FullGmm", "EmStats", "SparsePosteriors", "GaussianSelection",
    "init_diag_gmm", "train_diag_gmm", "GaussianMixture", "Plda", "cosine_score_matrix", "cosine_score_trials",
    "EerResult", "DcfResult", "eer", "min_dcf", "act_dcf", "cllr", "min_cllr", "det_curve", "io",
    "IvectorExtractor", "utterance_stats", "Statistics", "extract_ivectors", "normalise_scores",
    "normalise_trial_scores", "LinearCalibration", "TransformPipeline", "read_kaldi_vector", "read_kaldi_matrix",
    "mfcc", "fbank", "compute_vad", "add_deltas", "apply_cmvn_sliding", "read_kaldi_config", "sid_features",
    "map_adapt", "gmm_ubm_score", "mean_supervector", "det_axes_points", "plot_det",
    "read_wav",
]
