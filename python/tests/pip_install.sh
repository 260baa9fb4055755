#!/usr/bin/env bash
# The second way in: pip install --no-build-isolation ./python into a venv of Debian's Python that
# sees Debian's numpy and pybind11 (--system-site-packages), then import it from outside the
# checkout. Usage: pip_install.sh PYTHON WORKDIR [CMAKE_ARGS...]
set -euo pipefail
python=$1 work=$2
shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work"
"$python" -m venv --system-site-packages "$work/venv"
export IVKIT_CMAKE_ARGS="$*"
"$work/venv/bin/python" -m pip install --no-build-isolation --no-index --no-deps -q "$root/python"
cd "$work"
"$work/venv/bin/python" - <<'PY'
import numpy as np
import ivkit
assert ivkit.__file__.startswith(__import__("sys").prefix), ivkit.__file__
X = np.random.default_rng(0).standard_normal((2000, 3))
gm = ivkit.GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
assert gm.converged_ and np.isfinite(gm.score(X))
print("ivkit", ivkit.__version__, "installed by pip in", ivkit.__file__)
PY
