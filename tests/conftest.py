import zlib

import numpy as np
import pytest

from sklearn_order.losses import CLASSIFICATION_LOSSES, LOSSES, REGRESSION_LOSSES


@pytest.fixture
def rng(request):
    """A generator seeded from the test's name: fresh inputs per test, reproducible."""
    seed = zlib.crc32(request.node.name.encode())
    return np.random.default_rng(seed)


def make_targets(loss, rng, n):
    """Targets suited to ``loss``: ±1 for classification, reals for regression."""
    if LOSSES[loss].task == "classification":
        return rng.choice([-1.0, 1.0], size=n)
    return rng.normal(size=n)


ALL_LOSSES = CLASSIFICATION_LOSSES + REGRESSION_LOSSES
PENALTIES = [None, "l2", "l1", "elasticnet"]
