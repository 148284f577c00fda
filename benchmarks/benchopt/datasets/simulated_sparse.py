"""Simulated sparse CSR data with a text-like (power-law) column profile."""

import numpy as np
from benchopt import BaseDataset
from scipy import sparse


class Dataset(BaseDataset):
    """Bag-of-words-like rows: Zipf-distributed columns, unit-norm rows.

    Each row draws ``nnz_per_row`` column indices from ``P(j) ∝ (j + 1)^-s``
    (``s = zipf_exponent``), so a few columns appear in most rows and most
    columns in a handful, as word counts do; repeated draws add up. Values are
    the counts times a log-normal weight, and each row is scaled to unit
    Euclidean norm (as a tf-idf vectorizer does). ``y = X β / std(X β) +
    noise`` with ``β`` i.i.d. standard normal; the objective keeps ``y`` for
    ridge and takes its sign around the median for logistic regression.
    """

    name = "simulated-sparse"

    parameters = {
        "n_samples, n_features": [(2_000, 2_000), (100_000, 100_000)],
        "nnz_per_row": [50],
        "zipf_exponent": [1.1],
        "noise": [0.1],
        "random_state": [0],
    }

    def get_data(self):
        rng = np.random.default_rng(self.random_state)
        n, d, k = self.n_samples, self.n_features, self.nnz_per_row
        frequency = (np.arange(d) + 1.0) ** -self.zipf_exponent
        columns = rng.choice(d, size=n * k, p=frequency / frequency.sum())
        rows = np.repeat(np.arange(n), k)
        values = rng.lognormal(size=n * k)
        X = sparse.csr_matrix((values, (rows, columns)), shape=(n, d))
        X.sum_duplicates()
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        X = sparse.csr_matrix(sparse.diags(1.0 / norms) @ X)
        beta = rng.standard_normal(d)
        prediction = X @ beta
        y = prediction / prediction.std() + self.noise * rng.standard_normal(n)
        return dict(X=X, y=y)
