"""The one import of ``numba.cuda`` in the package (:func:`numba_cuda`).

A module of its own, importing nothing of the package: the host side of
``device="cuda"`` imports it without importing :mod:`sklearn_order._jit`,
whose importers are the modules that declare kernels (their sources key the
kernel cache).
"""


def numba_cuda():
    """``numba.cuda``, imported where NumPy may lack what numba-cuda expects.

    numba-cuda (in maintenance mode; 0.30 is current) registers a compiled
    ``np.row_stack`` when its CUDA target first compiles, and NumPy 2.5
    removed that alias of ``np.vstack``: the first CUDA kernel would fail
    with an ``AttributeError`` inside numba-cuda. Where it is missing, the
    alias is put back (``np.row_stack = np.vstack``, what NumPy had until
    2.5) before ``numba.cuda`` is imported. Every import of ``numba.cuda`` in
    this package goes through here.

    Returns
    -------
    module
        ``numba.cuda``.
    """
    import numpy as np

    if not hasattr(np, "row_stack"):
        np.row_stack = np.vstack  # noqa: NPY201 (the alias itself, put back)
    from numba import cuda

    return cuda
