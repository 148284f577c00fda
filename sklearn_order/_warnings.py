"""Warnings that name the user's line, as scikit-learn's do."""

import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message, category):
    """``warnings.warn`` attributed to the first caller outside this package.

    A fixed ``stacklevel`` names the right line from one call path only: the
    same check runs under ``fit`` and ``partial_fit``, of a classifier or a
    regressor, behind decorators (:func:`~sklearn_order._base.atomic_fit`).
    Counting the package's own frames names the user's line from every path.

    Parameters
    ----------
    message : str
    category : type of Warning
    """
    level = 2  # the caller of this function
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
