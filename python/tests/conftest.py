import os
from pathlib import Path

import numpy as np
import pytest

DATA = Path(os.environ.get("IVKIT_TEST_DATA", Path(__file__).resolve().parents[2] / "tests" / "data"))


@pytest.fixture
def kaldi_dir():
    """Files written by Kaldi's own binaries (tests/data/kaldi_recipe/README.md)."""
    return DATA / "kaldi_recipe"


@pytest.fixture
def rng():
    return np.random.default_rng(20261206)


def random_diag_gmm_params(rng, C, D):
    weights = rng.uniform(0.5, 1.5, C)
    weights /= weights.sum()
    return weights, rng.standard_normal((C, D)) * 2.0, rng.uniform(0.3, 2.0, (C, D))


def random_spd(rng, D):
    A = rng.standard_normal((D, D))
    return A @ A.T / D + 0.5 * np.eye(D)
