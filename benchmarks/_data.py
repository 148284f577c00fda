"""The benchmarks' synthetic problems and the fit parameters they share.

Only NumPy and SciPy: a child process measuring another commit's package
(``bench_kernel_ab.py``) builds its data from here without importing any
part of the package it measures.
"""

import numpy as np
from scipy import sparse

#: The fit parameters of the timing benchmarks, ours and scikit-learn's alike.
COMMON = dict(
    loss="log_loss",
    penalty="l2",
    alpha=1e-4,
    learning_rate="constant",
    eta0=0.01,
    tol=None,
)


def make_data(n_samples, n_features, dtype, seed=0):
    """A standardized logistic problem with 10% label noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)).astype(dtype)
    w = rng.standard_normal(n_features) / np.sqrt(n_features)
    y = (X @ w + 0.3 * rng.standard_normal(n_samples) > 0).astype(np.int64)
    return X, y


def make_sparse_data(n_samples, n_features, nnz_per_row, n_classes=2, seed=0):
    """CSR rows with ``nnz_per_row`` standard-normal values at random columns;
    labels from a linear model (ten-class labels from its score quantiles)."""
    rng = np.random.default_rng(seed)
    columns = rng.integers(0, n_features, size=(n_samples, nnz_per_row))
    X = sparse.csr_matrix(
        (
            rng.standard_normal(n_samples * nnz_per_row) / np.sqrt(nnz_per_row),
            np.sort(columns, axis=1).ravel(),
            np.arange(0, n_samples * nnz_per_row + 1, nnz_per_row),
        ),
        shape=(n_samples, n_features),
    )
    X.sum_duplicates()
    score = X @ rng.standard_normal(n_features) + 0.3 * rng.standard_normal(n_samples)
    cuts = np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1])
    return X, np.digitize(score, cuts)
