"""Simulated dense data: Gaussian features, a linear target with noise."""

import numpy as np
from benchopt import BaseDataset


class Dataset(BaseDataset):
    """``X`` with i.i.d. standard normal entries, ``y = X β + noise``.

    The objective keeps ``y`` for ridge and takes its sign around the median
    for logistic regression. ``β`` has i.i.d. normal entries scaled so that
    ``x·β`` has unit variance; the noise has standard deviation ``noise``.
    """

    name = "simulated-dense"

    parameters = {
        "n_samples, n_features": [(2_000, 50), (100_000, 400)],
        "noise": [0.5],
        "random_state": [0],
    }

    def get_data(self):
        rng = np.random.default_rng(self.random_state)
        X = rng.standard_normal((self.n_samples, self.n_features))
        beta = rng.standard_normal(self.n_features) / np.sqrt(self.n_features)
        y = X @ beta + self.noise * rng.standard_normal(self.n_samples)
        return dict(X=X, y=y)
