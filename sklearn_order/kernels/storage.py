"""How the CPU kernels read and use the rows of ``X``, for each storage.

The update map and the loop over maps (``cpu.py``) are written once, against
the row operations defined here; Numba compiles one specialization per
storage (and dtype):

- dense: a C-contiguous 2-D ndarray;
- CSR: a :class:`CSRRows` tuple holding the three arrays of a SciPy CSR
  matrix (32- or 64-bit indices). Every operation costs the row's non-zeros,
  never ``n_features``.

Each operation is a plain-Python function that dispatches on the storage
(so ``NUMBA_DISABLE_JIT=1`` still runs the kernels) and is overloaded for
compiled callers, where the dispatch happens at compile time and the chosen
implementation is inlined.

Coefficients may carry a lazy scale ``s`` (CSR only): the weights are
``s · v`` with ``v`` stored. The L2 weight decay ``w ← (1 − η l2) w`` is then
``s ← (1 − η l2) s``, one multiplication instead of a pass over all
``n_features`` (scikit-learn's ``WeightVector`` does the same for sparse
rows). Dense storage applies the decay explicitly, fused into the first
row's update, and keeps ``s = 1``.
"""

from typing import NamedTuple

import numpy as np
from numba import types
from numba.extending import overload
from scipy import sparse

from .._jit import CACHE_LINE_BYTES, jit_inline, jit_inline_dual, prefetch_item
from .._jit import prefetch_row as prefetch_dense_row

#: Below this the lazy scale is folded into the stored weights (scikit-learn's
#: threshold), long before ``v = w / s`` could overflow.
MIN_SCALE = 1e-9


class CSRRows(NamedTuple):
    """The rows of a CSR matrix, as the kernels take them.

    Attributes
    ----------
    data : ndarray of shape (nnz,), float32 or float64
    indices : ndarray of shape (nnz,), uint32 or uint64
        Column of each stored value (SciPy's indices viewed as unsigned).
    indptr : ndarray of shape (n_samples + 1,), int32 or int64
        Row ``i`` is ``data[indptr[i]:indptr[i + 1]]``.
    n_features : int
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_features: int


def kernel_rows(X):
    """``X`` in the form the kernels take: the array itself, or :class:`CSRRows`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or scipy CSR matrix/array
        C-contiguous when dense; a valid CSR structure when sparse (see
        :func:`check_csr_structure`): the kernels do not check indices.

    Returns
    -------
    ndarray or CSRRows
    """
    if sparse.issparse(X):
        unsigned = np.dtype(f"uint{X.indices.dtype.itemsize * 8}")
        return CSRRows(X.data, X.indices.view(unsigned), X.indptr, int(X.shape[1]))
    return X


def check_csr_structure(X):
    """Check that a CSR matrix's indices and row pointers are in range.

    The kernels read ``X.data``/``X.indices`` at the positions the row
    pointers give and write the weights at the column indices, without
    bounds checks: a malformed matrix must be rejected before training.

    Parameters
    ----------
    X : scipy CSR matrix or array

    Raises
    ------
    ValueError
        If a column index is negative or ``>= n_features``, or the row
        pointers are not non-decreasing from 0 to ``nnz``.
    """
    try:
        X.check_format(full_check=True)
    except ValueError as error:
        raise ValueError(f"malformed sparse matrix: {error}") from None


# -- dense rows ---------------------------------------------------------------


@jit_inline_dual
def dense_row_dot(X, i, w, offset):
    """``X[i] · w[offset : offset + n_features]`` for a dense 2-D ``X``.

    Eight partial sums, combined in a fixed order: independent accumulators
    let the CPU overlap the additions (one sum is bound by the latency of one
    addition per feature); the fixed combination keeps results stable. Also
    compiled for the CUDA kernels (each GPU thread computes whole rows with
    it), so both targets share this arithmetic.
    """
    n = X.shape[1]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    s4 = 0.0
    s5 = 0.0
    s6 = 0.0
    s7 = 0.0
    j = 0
    while j + 8 <= n:
        s0 += X[i, j] * w[offset + j]
        s1 += X[i, j + 1] * w[offset + j + 1]
        s2 += X[i, j + 2] * w[offset + j + 2]
        s3 += X[i, j + 3] * w[offset + j + 3]
        s4 += X[i, j + 4] * w[offset + j + 4]
        s5 += X[i, j + 5] * w[offset + j + 5]
        s6 += X[i, j + 6] * w[offset + j + 6]
        s7 += X[i, j + 7] * w[offset + j + 7]
        j += 8
    while j < n:
        s0 += X[i, j] * w[offset + j]
        j += 1
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@jit_inline
def _dense_add_row(X, i, a, w, offset):
    for j in range(X.shape[1]):
        w[offset + j] += a * X[i, j]


@jit_inline
def _dense_subtract_batch(X, order, start, stop, work, n_outputs, decay, w, scale):
    # w_k ← decay·w_k − Σ_r work[r, k] x_r, the decay fused into the first
    # row that moves w_k (a separate pass if none does)
    d = X.shape[1]
    batch = stop - start
    for k in range(n_outputs):
        offset = k * d
        pending_decay = decay != 1.0
        for r in range(batch):
            g = work[r * n_outputs + k]
            if g == 0.0:
                continue
            i = order[start + r]
            if pending_decay:
                for j in range(d):
                    w[offset + j] = decay * w[offset + j] - g * X[i, j]
                pending_decay = False
            else:
                for j in range(d):
                    w[offset + j] -= g * X[i, j]
        if pending_decay:
            for j in range(d):
                w[offset + j] *= decay


# -- CSR rows -----------------------------------------------------------------


# Positions and columns are unsigned: Numba then skips the negative-index
# (wraparound) test it adds to every access with a signed index of unknown
# sign, which costs a third of the time of these loops. The constants keep
# the arithmetic unsigned (uint64 mixed with int64 would become float64).
_ONE = np.uint64(1)
_TWO = np.uint64(2)
_THREE = np.uint64(3)
_FOUR = np.uint64(4)


@jit_inline
def _csr_row_dot(X, i, w, offset):
    # four partial sums in a fixed combination, as in the dense dot product
    data, columns = X.data, X.indices
    base = np.uint64(offset)
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    p = np.uint64(X.indptr[i])
    end = np.uint64(X.indptr[i + 1])
    while p + _FOUR <= end:
        s0 += data[p] * w[base + columns[p]]
        s1 += data[p + _ONE] * w[base + columns[p + _ONE]]
        s2 += data[p + _TWO] * w[base + columns[p + _TWO]]
        s3 += data[p + _THREE] * w[base + columns[p + _THREE]]
        p += _FOUR
    while p < end:
        s0 += data[p] * w[base + columns[p]]
        p += _ONE
    return (s0 + s1) + (s2 + s3)


@jit_inline
def _csr_add_row(X, i, a, w, offset):
    data, columns = X.data, X.indices
    base = np.uint64(offset)
    p = np.uint64(X.indptr[i])
    end = np.uint64(X.indptr[i + 1])
    while p < end:
        w[base + columns[p]] += a * data[p]
        p += _ONE


@jit_inline
def fold_scale(w, scale):
    """Multiply the lazy scale into the stored weights: ``v ← s v``, ``s ← 1``."""
    s = scale[0]
    if s != 1.0:
        for j in range(w.shape[0]):
            w[j] *= s
        scale[0] = 1.0


@jit_inline
def _csr_subtract_batch(X, order, start, stop, work, n_outputs, decay, w, scale):
    # s ← decay·s, then v_k ← v_k − (work[r, k] / s) x_r: w = s v moves by
    # −work[r, k] x_r, at the cost of the rows' non-zeros
    if decay == 0.0:
        for j in range(w.shape[0]):
            w[j] = 0.0
        scale[0] = 1.0
    else:
        scale[0] *= decay
    s = scale[0]
    d = X.n_features
    batch = stop - start
    for r in range(batch):
        i = order[start + r]
        for k in range(n_outputs):
            g = work[r * n_outputs + k]
            if g != 0.0:
                _csr_add_row(X, i, -g / s, w, k * d)
    if s < MIN_SCALE:
        fold_scale(w, scale)


@jit_inline
def _prefetch_csr_row(X, i):
    step = CACHE_LINE_BYTES // X.data.itemsize
    for p in range(X.indptr[i], X.indptr[i + 1], step):
        prefetch_item(X.data, p)
        prefetch_item(X.indices, p)


# -- the operations, dispatched on the storage --------------------------------


def _is_dense(X):
    return isinstance(X, (np.ndarray, types.Array))


def row_dot(X, i, w, offset):
    """``x_i · w[offset : offset + n_features]``.

    Parameters
    ----------
    X : ndarray or CSRRows
    i : int
        Row index.
    w : ndarray, float64
        Weights (possibly several models' weights, one after the other).
    offset : int
        Where the model's weights start in ``w``.

    Returns
    -------
    float
    """
    return (dense_row_dot if _is_dense(X) else _csr_row_dot)(X, i, w, offset)


def add_row(X, i, a, w, offset):
    """``w[offset : offset + n_features] += a x_i``, in place."""
    return (_dense_add_row if _is_dense(X) else _csr_add_row)(X, i, a, w, offset)


def subtract_batch(X, order, start, stop, work, n_outputs, decay, w, scale):
    """``w_k ← decay · w_k − Σ_r work[r, k] x_r`` for each output ``k``, in place.

    Parameters
    ----------
    X : ndarray or CSRRows
    order : ndarray of int64
        The batch is rows ``order[start:stop]``.
    start, stop : int
    work : ndarray of shape (>= (stop - start) * n_outputs,), float64
        ``work[r * n_outputs + k]``: the step of row ``r`` for output ``k``.
    n_outputs : int
        Number of linear models in ``w`` (``w_k = w[k d : (k + 1) d]``).
    decay : float
        The L2 weight-decay factor of this map.
    w : ndarray of shape (n_outputs * n_features,), float64
        Stored weights ``v`` (the weights are ``scale[0] · v``).
    scale : ndarray of shape (1,), float64
        The lazy scale ``s`` (see the module notes; always 1 for dense rows).
    """
    implementation = _dense_subtract_batch if _is_dense(X) else _csr_subtract_batch
    return implementation(X, order, start, stop, work, n_outputs, decay, w, scale)


def prefetch_row(X, i):
    """Ask for row ``i`` of ``X`` to be loaded into cache (a hint)."""
    return (prefetch_dense_row if _is_dense(X) else _prefetch_csr_row)(X, i)


# The compiled versions: chosen by the type of X at compile time and inlined
# (the implementations' own source, so that nothing is compiled twice).


@overload(row_dot)
def _row_dot_overload(X, i, w, offset):
    return (dense_row_dot if _is_dense(X) else _csr_row_dot).py_func


@overload(add_row)
def _add_row_overload(X, i, a, w, offset):
    return (_dense_add_row if _is_dense(X) else _csr_add_row).py_func


@overload(subtract_batch)
def _subtract_batch_overload(X, order, start, stop, work, n_outputs, decay, w, scale):
    return (_dense_subtract_batch if _is_dense(X) else _csr_subtract_batch).py_func


@overload(prefetch_row)
def _prefetch_row_overload(X, i):
    return (prefetch_dense_row if _is_dense(X) else _prefetch_csr_row).py_func
