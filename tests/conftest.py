import signal
import zlib

import numpy as np
import pytest

from sklearn_order.kernels import UpdateRule
from sklearn_order.losses import (
    CLASSIFICATION_LOSSES,
    LOSSES,
    REGRESSION_LOSSES,
    loss_parameter,
)
from sklearn_order.penalties import penalty_strengths
from sklearn_order.schedules import CONSTANT, passive_aggressive_variant


@pytest.fixture(scope="session", autouse=True)
def ctrl_c_is_handled():
    """Let Ctrl-C raise ``KeyboardInterrupt`` here and in child processes.

    A shell starts a background command (``cmd &`` in a script, ``nohup``)
    with SIGINT ignored, and children inherit that: the Ctrl-C tests would
    then send a signal nobody receives. Python handles SIGINT when it is
    started from a terminal; this gives the test process (and, through it,
    the children it starts) that same handling.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield


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
#: The epsilon of the kernel tests' Huber and epsilon-insensitive losses.
EPSILON = 0.3


def update_rule(
    loss,
    penalty,
    *,
    alpha=0.05,
    l1_ratio=0.4,
    schedule=CONSTANT,
    power_t=0.5,
    fit_intercept=True,
):
    """The :class:`UpdateRule` a kernel test applies (``epsilon`` = :data:`EPSILON`)."""
    l2, l1 = penalty_strengths(penalty, alpha, l1_ratio)
    return UpdateRule(
        LOSSES[loss].code,
        loss_parameter(loss, EPSILON),
        l2,
        l1,
        fit_intercept,
        schedule,
        power_t,
        alpha,
        0.0,
        passive_aggressive_variant(schedule),
    )


PENALTIES = [None, "l2", "l1", "elasticnet"]
