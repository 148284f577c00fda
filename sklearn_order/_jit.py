"""Numba settings, in one place.

Every compiled function in the package is decorated with :func:`jit`, so the
compilation policy is decided here and nowhere else:

- ``cache=True``: compiled machine code is written next to the sources and
  reused by later processes (and by worker processes of a grid search).
- no signatures: compilation is lazy, on the first call with a given set of
  argument types (float32 and float64 data get one specialization each), so
  importing :mod:`sklearn_order` compiles nothing.
- ``fastmath=False``: reductions keep the order written in the source, which
  is what makes a fit bit-identical run to run and keeps the kernels within
  rounding of the NumPy reference.
- ``nogil=True``: one-vs-rest classes are fitted concurrently in threads.
- ``error_model="numpy"``: division follows IEEE rules instead of raising,
  which lets LLVM drop the zero checks from the inner loops.

The kernels are written as plain Python over NumPy arrays, so
``NUMBA_DISABLE_JIT=1`` runs them uncompiled (slowly) for coverage and
debugging.
"""

import numba

JIT_OPTIONS = {
    "cache": True,
    "nogil": True,
    "fastmath": False,
    "error_model": "numpy",
}


def jit(function):
    """Compile ``function`` lazily with the package's Numba options."""
    return numba.njit(**JIT_OPTIONS)(function)
