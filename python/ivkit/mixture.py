"""A scikit-learn-style Gaussian mixture on ivkit's EM.

:class:`GaussianMixture` follows ``sklearn.mixture.GaussianMixture`` (same parameters, attributes and
methods, the same EM: ``reg_covar`` added to the covariances, ``tol`` on the change of the mean
log-likelihood, the best of ``n_init`` runs) so that code written for scikit-learn runs unchanged.
Each iteration's E-step and statistics are one pass of ivkit's batched C++ accumulator (no N x C
responsibility matrix is kept); the M-step on those statistics is a few (C, D) NumPy operations.
"""

import warnings

import numpy as np

from ._ivkit import DiagGmm, FullGmm, InvalidArgument, NumericalError, init_diag_gmm

__all__ = ["GaussianMixture", "ConvergenceWarning"]


class ConvergenceWarning(UserWarning):
    """EM stopped at max_iter before the change of the lower bound fell below tol."""


def _check_X(X, dim=None):
    X = np.asarray(X)
    if X.dtype.kind in "iub":
        X = X.astype(np.float64)
    if X.dtype not in (np.float32, np.float64):
        raise InvalidArgument(f"X: dtype {X.dtype} is not supported (float32 or float64)")
    if X.ndim != 2:
        raise InvalidArgument(f"X: expected a 2-D array (n_samples, n_features), got {X.ndim} dimensions")
    if X.shape[0] == 0:
        raise InvalidArgument("X: no samples")
    if dim is not None and X.shape[1] != dim:
        raise InvalidArgument(f"X has {X.shape[1]} features, but the model was fitted with {dim}")
    return X


class GaussianMixture:
    """Gaussian mixture fitted by EM, with scikit-learn's interface.

    Parameters are scikit-learn's (``n_components``, ``covariance_type`` "full" or "diag", ``tol``,
    ``reg_covar``, ``max_iter``, ``n_init``, ``init_params`` "kmeans", "random" or
    "random_from_data", ``weights_init``, ``means_init``, ``precisions_init``, ``random_state``,
    ``warm_start``, ``verbose``) plus ``threads`` (0 = all cores; the fit is the same for any count).
    Fitted attributes: ``weights_``, ``means_``, ``covariances_``, ``precisions_``,
    ``precisions_cholesky_``, ``converged_``, ``n_iter_``, ``lower_bound_``, ``n_features_in_``.
    The arithmetic runs in X's precision (float32 or float64); parameters are kept in float64.
    """

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1,
                 init_params="kmeans", weights_init=None, means_init=None, precisions_init=None, random_state=None,
                 warm_start=False, verbose=0, threads=1):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.threads = threads

    # scikit-learn's estimator protocol (clone, grid search).
    _param_names = ("n_components", "covariance_type", "tol", "reg_covar", "max_iter", "n_init", "init_params",
                    "weights_init", "means_init", "precisions_init", "random_state", "warm_start", "verbose", "threads")

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._param_names}

    def set_params(self, **params):
        for name, value in params.items():
            if name not in self._param_names:
                raise InvalidArgument(f"GaussianMixture: unknown parameter '{name}'")
            setattr(self, name, value)
        return self

    def __repr__(self):
        return f"GaussianMixture(n_components={self.n_components}, covariance_type='{self.covariance_type}')"

    # ---- fitting ----

    def _check_parameters(self, X):
        if self.covariance_type not in ("full", "diag"):
            raise InvalidArgument(f"covariance_type must be 'full' or 'diag', got '{self.covariance_type}'")
        if int(self.n_components) < 1:
            raise InvalidArgument(f"n_components must be >= 1, got {self.n_components}")
        if X.shape[0] < self.n_components:
            raise InvalidArgument(f"X has {X.shape[0]} samples, fewer than n_components = {self.n_components}")
        if self.tol < 0 or self.reg_covar < 0 or self.max_iter < 1 or self.n_init < 1:
            raise InvalidArgument("tol and reg_covar must be >= 0, max_iter and n_init >= 1")
        if self.init_params not in ("kmeans", "random", "random_from_data"):
            raise InvalidArgument(f"init_params must be 'kmeans', 'random' or 'random_from_data', got '{self.init_params}'")

    def fit(self, X, y=None):
        """Fits the mixture to X (n_samples, n_features); returns self."""
        self._fit(X)
        return self

    def fit_predict(self, X, y=None):
        """Fits, then returns the most likely component of each sample."""
        return self._fit(X).predict(X)

    def _fit(self, X):
        X = _check_X(X)
        self._check_parameters(X)
        rng = np.random.RandomState(self.random_state) if not isinstance(self.random_state, np.random.RandomState) \
            else self.random_state
        continue_fit = self.warm_start and hasattr(self, "converged_")
        n_init = 1 if continue_fit else self.n_init
        best = None
        for init in range(n_init):
            if not continue_fit:
                self._initialise(X, rng)
            lower_bound = -np.inf if not continue_fit else self.lower_bound_
            converged = False
            n_iter = 0
            for n_iter in range(1, self.max_iter + 1):
                previous = lower_bound
                stats = self._model(X.dtype).accumulate(X, threads=self.threads)
                lower_bound = stats.log_likelihood / stats.num_frames
                self._m_step(stats)
                if self.verbose:
                    print(f"  init {init + 1} iteration {n_iter}: lower bound {lower_bound:.6f}")
                if abs(lower_bound - previous) < self.tol:
                    converged = True
                    break
            if best is None or lower_bound > best[0]:
                best = (lower_bound, self._get_parameters(), n_iter, converged)
        lower_bound, params, n_iter, converged = best
        if not converged and self.max_iter > 0:
            warnings.warn("GaussianMixture: EM did not converge; try a larger max_iter or tol, or check the data",
                          ConvergenceWarning)
        self._set_parameters(params)
        self.n_iter_ = n_iter
        self.lower_bound_ = lower_bound
        self.converged_ = converged
        self.n_features_in_ = X.shape[1]
        return self

    def _initialise(self, X, rng):
        n, C = X.shape[0], self.n_components
        given = (self.weights_init, self.means_init, self.precisions_init)
        if all(p is not None for p in given):
            # Every parameter is given: nothing of an initial clustering would be used.
            weights, means, precisions = (np.array(p, dtype=np.float64) for p in given)
            covariances = 1.0 / precisions if self.covariance_type == "diag" else np.linalg.inv(precisions)
            self._set_parameters((weights, means, covariances))
            return
        if self.init_params == "kmeans":
            seed = int(rng.randint(np.iinfo(np.int32).max))
            centres = np.asarray(init_diag_gmm(X, C, method="kmeans", seed=seed).means, dtype=np.float64)
            Xd = X.astype(np.float64, copy=False)
            distances = (Xd * Xd).sum(1)[:, None] - 2.0 * Xd @ centres.T + (centres * centres).sum(1)[None, :]
            resp = np.zeros((n, C))
            resp[np.arange(n), distances.argmin(axis=1)] = 1.0
        elif self.init_params == "random":
            resp = rng.uniform(size=(n, C))
            resp /= resp.sum(axis=1)[:, None]
        else:
            resp = np.zeros((n, C))
            resp[rng.choice(n, size=C, replace=False), np.arange(C)] = 1.0
        weights, means, covariances = self._parameters_from_responsibilities(X.astype(np.float64, copy=False), resp)
        if self.weights_init is not None:
            weights = np.array(self.weights_init, dtype=np.float64)
        if self.means_init is not None:
            means = np.array(self.means_init, dtype=np.float64)
        if self.precisions_init is not None:
            precisions = np.array(self.precisions_init, dtype=np.float64)
            covariances = 1.0 / precisions if self.covariance_type == "diag" else np.linalg.inv(precisions)
        self._set_parameters((weights, means, covariances))

    def _parameters_from_responsibilities(self, X, resp):
        nk = resp.sum(axis=0) + 10 * np.finfo(resp.dtype).eps
        means = resp.T @ X / nk[:, None]
        if self.covariance_type == "diag":
            covariances = resp.T @ (X * X) / nk[:, None] - means ** 2 + self.reg_covar
        else:
            covariances = np.empty((self.n_components, X.shape[1], X.shape[1]))
            for k in range(self.n_components):
                diff = X - means[k]
                covariances[k] = (resp[:, k] * diff.T) @ diff / nk[k]
                covariances[k].flat[:: X.shape[1] + 1] += self.reg_covar
        return nk / X.shape[0], means, covariances

    def _m_step(self, stats):
        """scikit-learn's M-step from ivkit's statistics, which are centred on o (the model's centre):
        the same sums, computed without cancellation."""
        eps = 10 * np.finfo(np.float64).eps
        nk = np.asarray(stats.occupancy) + eps
        first = np.asarray(stats.first) / nk[:, None]
        o = np.asarray(stats.centre)
        weights = nk / stats.num_frames
        weights /= weights.sum()
        means = o + first
        D = o.size
        if self.covariance_type == "diag":
            covariances = np.asarray(stats.second) / nk[:, None] - first ** 2 + self.reg_covar
        else:
            upper = np.triu_indices(D)
            second = np.zeros((self.n_components, D, D))
            second[:, upper[0], upper[1]] = np.asarray(stats.second)
            second = second + np.triu(second, 1).transpose(0, 2, 1)
            covariances = second / nk[:, None, None] - first[:, :, None] * first[:, None, :]
            covariances[:, np.arange(D), np.arange(D)] += self.reg_covar
        if not np.all(np.isfinite(covariances)):
            raise NumericalError("GaussianMixture: a covariance is not finite (non-finite data?)")
        self._set_parameters((weights, means, covariances))

    # ---- parameters ----

    def _set_parameters(self, params):
        weights, means, covariances = params
        C = self.n_components
        if weights.shape != (C,) or means.ndim != 2 or means.shape[0] != C:
            raise InvalidArgument(f"GaussianMixture: weights must be ({C},) and means ({C}, n_features)")
        self.weights_, self.means_, self.covariances_ = weights, means, covariances
        D = means.shape[1]
        if self.covariance_type == "diag":
            if covariances.shape != (C, D):
                raise InvalidArgument(f"GaussianMixture: diagonal covariances must be ({C}, {D})")
            if np.any(covariances <= 0):
                raise NumericalError("GaussianMixture: a variance is not positive; increase reg_covar")
            self.precisions_cholesky_ = 1.0 / np.sqrt(covariances)
            self.precisions_ = 1.0 / covariances
        else:
            if covariances.shape != (C, D, D):
                raise InvalidArgument(f"GaussianMixture: full covariances must be ({C}, {D}, {D})")
            try:
                chol = np.linalg.cholesky(covariances)
            except np.linalg.LinAlgError:
                raise NumericalError("GaussianMixture: a covariance is not positive definite; increase reg_covar") from None
            eye = np.broadcast_to(np.eye(D), covariances.shape)
            self.precisions_cholesky_ = np.linalg.solve(chol, eye).transpose(0, 2, 1)
            self.precisions_ = self.precisions_cholesky_ @ self.precisions_cholesky_.transpose(0, 2, 1)
        self._models = {}

    def _get_parameters(self):
        return self.weights_, self.means_, self.covariances_

    def _model(self, dtype):
        """The ivkit model of the current parameters in the given precision (cached)."""
        key = np.dtype(dtype).name
        if key not in self._models:
            kind = DiagGmm if self.covariance_type == "diag" else FullGmm
            self._models[key] = kind(self.weights_ / self.weights_.sum(), self.means_, self.covariances_, dtype=dtype)
        return self._models[key]

    def _check_fitted(self):
        if not hasattr(self, "converged_"):
            raise InvalidArgument("GaussianMixture: call fit before using the model")

    # ---- evaluation ----

    def score_samples(self, X):
        """log p(x) of each sample (n_samples,)."""
        self._check_fitted()
        X = _check_X(X, self.n_features_in_)
        return self._model(X.dtype).log_likelihoods(X, threads=self.threads)

    def score(self, X, y=None):
        """Mean log-likelihood of the samples."""
        return float(np.mean(self.score_samples(X)))

    def predict_proba(self, X):
        """Posterior of each component for each sample (n_samples, n_components)."""
        self._check_fitted()
        X = _check_X(X, self.n_features_in_)
        return self._model(X.dtype).posteriors(X, threads=self.threads)[0]

    def predict(self, X):
        """The most likely component of each sample."""
        self._check_fitted()
        X = _check_X(X, self.n_features_in_)
        return self._model(X.dtype).component_log_likelihoods(X, threads=self.threads).argmax(axis=1)

    def _n_parameters(self):
        C, D = self.means_.shape
        cov = C * D if self.covariance_type == "diag" else C * D * (D + 1) / 2.0
        return int(cov + C * D + C - 1)

    def bic(self, X):
        """Bayesian information criterion of the fit on X (lower is better)."""
        X = _check_X(X)
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

    def aic(self, X):
        """Akaike information criterion of the fit on X (lower is better)."""
        X = _check_X(X)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()

    def sample(self, n_samples=1):
        """Draws n_samples from the fitted mixture: (X, component labels)."""
        self._check_fitted()
        if n_samples < 1:
            raise InvalidArgument(f"sample: n_samples must be >= 1, got {n_samples}")
        rng = np.random.RandomState(self.random_state) if not isinstance(self.random_state, np.random.RandomState) \
            else self.random_state
        counts = rng.multinomial(n_samples, self.weights_)
        parts = []
        for k, count in enumerate(counts):
            if self.covariance_type == "diag":
                parts.append(self.means_[k] + rng.standard_normal((count, self.means_.shape[1])) * np.sqrt(self.covariances_[k]))
            else:
                parts.append(rng.multivariate_normal(self.means_[k], self.covariances_[k], count))
        return np.vstack(parts), np.repeat(np.arange(self.n_components), counts)
