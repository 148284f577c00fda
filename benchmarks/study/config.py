"""The order study's settings: the methods compared and the run sizes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

METHODS = ("forward", "backward", "forward_averaged", "forward_invscaling")


@dataclass(frozen=True)
class StudyConfig:
    """Parameters shared by every run of the study.

    Attributes
    ----------
    epochs : int
        Epochs per run (``max_iter``, with ``tol=None``).
    batch_size : int
        Rows per update map.
    alpha : float
        L2 strength.
    power_t : float
        Exponent of the ``invscaling`` schedule.
    seeds : tuple of int
        ``random_state`` of each run (the data split is fixed).
    ridge_grid, logistic_grid : tuple of float
        The ``eta0`` grids.
    same_law_seeds : int
        Seeds of the many-seed check that forward and backward final
        iterates have the same law (fits only, seeds disjoint from ``seeds``).
    reference_eta : dict
        ``eta0`` of the per-step trajectory figure, by problem kind.
    quick : bool
        Whether this is the smoke-test configuration.
    """

    epochs: int
    batch_size: int
    alpha: float
    power_t: float
    seeds: tuple
    ridge_grid: tuple
    logistic_grid: tuple
    same_law_seeds: int
    reference_eta: dict = field(default_factory=lambda: {"ridge": 0.1, "logistic": 1.0})
    quick: bool = False


def geometric_grid(low_exponent, high_exponent, per_decade):
    """Geometric grid ``10**e`` for ``e`` from ``low`` to ``high`` in ``1/per_decade``.

    Parameters
    ----------
    low_exponent, high_exponent : float
        Decimal exponents of the first and last grid points.
    per_decade : int
        Points per factor of ten.

    Returns
    -------
    tuple of float
    """
    n = round((high_exponent - low_exponent) * per_decade) + 1
    return tuple(float(v) for v in np.logspace(low_exponent, high_exponent, n))


def study_config(quick, epochs=None, n_seeds=None):
    """The full or the quick configuration, with optional overrides.

    Parameters
    ----------
    quick : bool
        Smoke-test configuration (few seeds, epochs and step sizes).
    epochs, n_seeds : int, default=None
        Override the configuration's epochs or number of seeds.

    Returns
    -------
    StudyConfig
    """
    # what the two configurations share: the problem setting
    setting = dict(batch_size=4, alpha=1e-2, power_t=0.5)
    if quick:
        config = StudyConfig(
            epochs=5,
            seeds=tuple(range(2)),
            ridge_grid=(0.01, 0.1, 0.316, 1.0),
            logistic_grid=(0.01, 0.1, 1.0, 10.0),
            same_law_seeds=20,
            quick=True,
            **setting,
        )
    else:
        config = StudyConfig(
            epochs=20,
            seeds=tuple(range(10)),
            # Ridge reaches past the constant-step stability edge (~0.3-0.5
            # here) so the invscaling schedule's own edge shows too.
            ridge_grid=geometric_grid(-2.5, 0.5, 6),
            # Logistic loss has a bounded derivative and cannot diverge; the
            # grid stops at eta0 * alpha = 0.32 (the library refuses >= 1).
            logistic_grid=geometric_grid(-2.0, 1.5, 4),
            same_law_seeds=200,
            **setting,
        )
    overrides = {}
    if epochs is not None:
        overrides["epochs"] = epochs
    if n_seeds is not None:
        overrides["seeds"] = tuple(range(n_seeds))
    if overrides:
        config = StudyConfig(**{**config.__dict__, **overrides})
    return config
