"""How the CPU kernels read and use the rows of ``X``, for each storage.

The update map and the loop over maps (``cpu.py``) are written once, against
the row operations defined here. The kernels take ``X`` as one of two
types (:func:`kernel_rows`):

- :class:`DenseRows`: a C-contiguous 2-D ndarray;
- :class:`CSRRows`: the three arrays of a SciPy CSR matrix (32- or 64-bit
  indices). Every operation costs the row's non-zeros, never ``n_features``.

Each operation is bound to its implementation for one storage in the
kernel's twin for that storage (:func:`.dispatch.specialize`; kernels called
from Python are :func:`rows_kernel`), so a kernel compiled for dense rows
contains no CSR code and the reverse. The implementation is inlined into the
kernel (an earlier compile-time dispatch that called its implementations
once per row was measured 9% slower on dense data); epoch times stay those
of the run-time branch this replaced (``benchmarks/bench_kernel_ab.py``,
``docs/benchmarks/kernel_ab.md``).

Coefficients may carry a lazy scale ``s`` (CSR only): the weights are
``s · v`` with ``v`` stored. The L2 weight decay ``w ← (1 − η l2) w`` is then
``s ← (1 − η l2) s``, one multiplication instead of a pass over all
``n_features`` (scikit-learn's ``WeightVector`` does the same for sparse
rows). Dense storage applies the decay explicitly, fused into the first
row's update, and keeps ``s = 1``.
"""

from typing import NamedTuple

import numpy as np
from scipy import sparse

from .._jit import CACHE_LINE_BYTES, jit_inline, jit_inline_dual, prefetch_item
from .._jit import prefetch_row as prefetch_dense_row
from .dispatch import specialized_entry, variant_operation

#: Below this the lazy scale is folded into the stored weights (scikit-learn's
#: threshold), long before ``v = w / s`` could overflow.
MIN_SCALE = 1e-9


class DenseRows(NamedTuple):
    """Dense rows of ``X``, as the kernels take them.

    Attributes
    ----------
    array : ndarray of shape (n_samples, n_features), float32 or float64
        C-contiguous.
    n_features : int
    subset : ndarray of shape (n_visited,), int64
        The rows the kernels visit, in data order (the training rows when
        ``early_stopping`` holds some out); empty for every row. An epoch's
        order is then drawn over the ``n_visited`` positions and mapped
        through ``subset``, so training on a subset reads ``X`` in place.
    """

    array: np.ndarray
    n_features: int
    subset: np.ndarray


class CSRRows(NamedTuple):
    """CSR rows of ``X``, as the kernels take them.

    Attributes
    ----------
    data : ndarray of shape (nnz,), float32 or float64
        The stored values.
    indices : ndarray of shape (nnz,), uint32 or uint64
        The column of each stored value (SciPy's indices viewed as unsigned).
    indptr : ndarray of shape (n_samples + 1,), int32 or int64
        Row ``i`` is ``data[indptr[i]:indptr[i + 1]]``.
    n_features : int
    subset : ndarray of shape (n_visited,), int64
        As :attr:`DenseRows.subset`.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_features: int
    subset: np.ndarray


ALL_ROWS = np.empty(0, dtype=np.int64)


def kernel_rows(X, subset=None):
    """``X`` in the form the kernels take: :class:`DenseRows` or :class:`CSRRows`.

    The two are different types, so a kernel is compiled for one storage
    at a time, with no code for the other.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or scipy CSR matrix/array
        C-contiguous when dense; a valid CSR structure when sparse (see
        :func:`check_csr_structure`): the kernels do not check indices.
    subset : ndarray of shape (n_visited,), int64, default=None
        Increasing row indices the kernels visit; ``None`` for every row.

    Returns
    -------
    DenseRows or CSRRows
    """
    subset = ALL_ROWS if subset is None else subset
    if sparse.issparse(X):
        unsigned = np.dtype(f"uint{X.indices.dtype.itemsize * 8}")
        return CSRRows(
            X.data, X.indices.view(unsigned), X.indptr, int(X.shape[1]), subset
        )
    return DenseRows(X, int(X.shape[1]), subset)


@jit_inline
def n_visited(X, y):
    """Number of rows the kernels visit: ``X.subset``'s length, or every row."""
    return X.subset.shape[0] if X.subset.shape[0] > 0 else y.shape[0]


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
    # a view of the model's weights, indexed from 0: Numba then drops its
    # negative-index test, which `w[offset + j]` would pay on every access
    v = w[offset : offset + n]
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
        s0 += X[i, j] * v[j]
        s1 += X[i, j + 1] * v[j + 1]
        s2 += X[i, j + 2] * v[j + 2]
        s3 += X[i, j + 3] * v[j + 3]
        s4 += X[i, j + 4] * v[j + 4]
        s5 += X[i, j + 5] * v[j + 5]
        s6 += X[i, j + 6] * v[j + 6]
        s7 += X[i, j + 7] * v[j + 7]
        j += 8
    while j < n:
        s0 += X[i, j] * v[j]
        j += 1
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@jit_inline_dual
def dense_row_sqnorm(X, i):
    """``‖X[i]‖²`` for a dense 2-D ``X``, each square formed in float64.

    Four partial sums in a fixed combination (as :func:`dense_row_dot`);
    ``np.float64``, not ``float``: Numba types ``float`` of a float32 as float32.
    Also compiled for the CUDA kernels.
    """
    n = X.shape[1]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    j = 0
    while j + 4 <= n:
        z0 = np.float64(X[i, j])
        z1 = np.float64(X[i, j + 1])
        z2 = np.float64(X[i, j + 2])
        z3 = np.float64(X[i, j + 3])
        s0 += z0 * z0
        s1 += z1 * z1
        s2 += z2 * z2
        s3 += z3 * z3
        j += 4
    while j < n:
        z = np.float64(X[i, j])
        s0 += z * z
        j += 1
    return (s0 + s1) + (s2 + s3)


@jit_inline
def _dense_row_dot(X, i, w, offset):
    return dense_row_dot(X.array, i, w, offset)


@jit_inline
def _dense_row_sqnorm(X, i):
    return dense_row_sqnorm(X.array, i)


@jit_inline
def _dense_add_row(X, i, a, w, offset):
    A = X.array
    n = A.shape[1]
    v = w[offset : offset + n]
    for j in range(n):
        v[j] += a * A[i, j]


@jit_inline
def _dense_subtract_batch(X, order, start, stop, work, n_outputs, decay, w, scale):
    # w_k ← decay·w_k − Σ_r work[r, k] x_r, the decay fused into the first
    # row that moves w_k (a separate pass if none does)
    A = X.array
    d = A.shape[1]
    batch = stop - start
    for k in range(n_outputs):
        v = w[k * d : (k + 1) * d]
        pending_decay = decay != 1.0
        for r in range(batch):
            g = work[r * n_outputs + k]
            if g == 0.0:
                continue
            i = order[start + r]
            if pending_decay:
                for j in range(d):
                    v[j] = decay * v[j] - g * A[i, j]
                pending_decay = False
            else:
                for j in range(d):
                    v[j] -= g * A[i, j]
        if pending_decay:
            for j in range(d):
                v[j] *= decay


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
def _csr_strided_dot(X, i, w, offset, stride):
    """``Σ_p data[p] · w[offset + column_p · stride]`` over row ``i``'s non-zeros.

    Four partial sums in a fixed combination, as in the dense dot product.
    ``stride`` (unsigned) is 1 for one model's weights; a feature-major group
    of ``M`` models reads model ``m``'s with ``offset = m``, ``stride = M``:
    the same arithmetic either way.
    """
    data, columns = X.data, X.indices
    base = np.uint64(offset)
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    p = np.uint64(X.indptr[i])
    end = np.uint64(X.indptr[i + 1])
    while p + _FOUR <= end:
        s0 += data[p] * w[base + columns[p] * stride]
        s1 += data[p + _ONE] * w[base + columns[p + _ONE] * stride]
        s2 += data[p + _TWO] * w[base + columns[p + _TWO] * stride]
        s3 += data[p + _THREE] * w[base + columns[p + _THREE] * stride]
        p += _FOUR
    while p < end:
        s0 += data[p] * w[base + columns[p] * stride]
        p += _ONE
    return (s0 + s1) + (s2 + s3)


@jit_inline
def _csr_row_dot(X, i, w, offset):
    return _csr_strided_dot(X, i, w, offset, _ONE)


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
def _csr_row_sqnorm(X, i):
    data = X.data
    total = 0.0
    p = np.uint64(X.indptr[i])
    end = np.uint64(X.indptr[i + 1])
    while p < end:
        z = np.float64(data[p])
        total += z * z
        p += _ONE
    return total


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
def _dense_prefetch_row(X, i):
    prefetch_dense_row(X.array, i)


@jit_inline
def _dense_prefetch_row_start(X, i):
    pass


@jit_inline
def _csr_prefetch_row_start(X, i):
    prefetch_item(X.indptr, i)


@jit_inline
def _csr_prefetch_row(X, i):
    step = CACHE_LINE_BYTES // X.data.itemsize
    for p in range(X.indptr[i], X.indptr[i + 1], step):
        prefetch_item(X.data, p)
        prefetch_item(X.indices, p)


@jit_inline
def _dense_updates_touch_only_nonzeros(X):
    return False


@jit_inline
def _csr_updates_touch_only_nonzeros(X):
    return True


# -- the operations, for either storage -------------------------------------


def _storage_of(rows):
    return _STORAGE_NAMES[type(rows)]


_STORAGE_NAMES = {DenseRows: "dense", CSRRows: "csr"}


def _by_storage(dense, csr):
    """The decorated operation, as ``dense`` or ``csr`` in each kernel's twin."""
    return variant_operation({"dense": dense, "csr": csr}, _storage_of)


#: Decorator of the kernels called from Python with the rows first: each call
#: runs the kernel's twin for the rows' storage (``"dense"`` or ``"csr"``).
rows_kernel = specialized_entry(lambda args: _storage_of(args[0]))


@_by_storage(_dense_row_dot, _csr_row_dot)
def row_dot(X, i, w, offset):
    """``x_i · w[offset : offset + n_features]``.

    Parameters
    ----------
    X : DenseRows or CSRRows
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


@_by_storage(_dense_row_sqnorm, _csr_row_sqnorm)
def row_sqnorm(X, i):
    """``‖x_i‖²``, each square formed in float64 (the row's non-zeros for CSR)."""


@_by_storage(_dense_add_row, _csr_add_row)
def add_row(X, i, a, w, offset):
    """``w[offset : offset + n_features] += a x_i``, in place."""


@_by_storage(_dense_subtract_batch, _csr_subtract_batch)
def subtract_batch(X, order, start, stop, work, n_outputs, decay, w, scale):
    """``w_k ← decay · w_k − Σ_r work[r, k] x_r`` for each output ``k``, in place.

    Parameters
    ----------
    X : DenseRows or CSRRows
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


@_by_storage(_dense_updates_touch_only_nonzeros, _csr_updates_touch_only_nonzeros)
def updates_touch_only_nonzeros(X):
    """Whether a row's update writes only its non-zeros' weights (CSR rows).

    A constant of the compiled kernel. Where it holds, the other weights
    change only through the lazy scale, so state that follows the weights
    (the running mean) can be kept lazily at the rows' cost instead of
    ``n_features`` a map.
    """


@_by_storage(_dense_prefetch_row_start, _csr_prefetch_row_start)
def prefetch_row_start(X, i):
    """Ask for where row ``i`` starts to be loaded into cache (CSR; a hint).

    A CSR row's address is read from ``indptr``, itself a random access:
    fetched a few maps before the row is, it does not delay the row's
    prefetch. Dense rows need nothing.
    """


@_by_storage(_dense_prefetch_row, _csr_prefetch_row)
def prefetch_row(X, i):
    """Ask for row ``i`` of ``X`` to be loaded into cache (a hint)."""


# -- the row operations of a group of models ----------------------------------
# A group holds ``n_models`` linear models over the same rows. Each operation
# computes, for every model, exactly the floating-point operations of the
# one-model operation above, in the same order (the same partial sums,
# combined the same way): a model trained in a group is bit-identical to the
# model trained alone. The weights' layout is the storage's:
#
# - dense rows: model-major, ``W[m * n_features + j]``. A dense row is read
#   once from memory and then from cache by every model, and each model's
#   dot product and update run along contiguous features as alone (measured
#   1.7x faster for ten models than running across the models);
# - CSR rows: feature-major, ``W[j * n_models + m]``. A non-zero's weights
#   for every model are then adjacent (one cache line), where model-major
#   weights would cost a random access per model.


@jit_inline
def _dense_model_weights(X, n_models, m):
    d = X.n_features
    return m * d, (m + 1) * d, 1


@jit_inline
def _csr_model_weights(X, n_models, m):
    return m, X.n_features * n_models, n_models


@jit_inline
def _dense_group_row_dots(X, i, W, n_models, out):
    d = X.n_features
    for m in range(n_models):
        out[m] = dense_row_dot(X.array, i, W, m * d)


@jit_inline
def _csr_group_row_dots(X, i, W, n_models, out):
    # model by model: the row's non-zeros and their weights' cache lines are
    # read from memory for the first model, from cache for the others
    stride = np.uint64(n_models)
    for m in range(n_models):
        out[m] = _csr_strided_dot(X, i, W, m, stride)


@jit_inline
def _dense_group_subtract_batch(
    X, order, start, stop, work, n_models, decay, W, scale, factor
):
    # each model as `_dense_subtract_batch` moves it, on its own weights
    A = X.array
    d = A.shape[1]
    M = n_models
    for m in range(M):
        v = W[m * d : (m + 1) * d]
        pending_decay = decay[m] != 1.0
        for r in range(stop - start):
            g = work[r * M + m]
            if g == 0.0:
                continue
            i = order[start + r]
            if pending_decay:
                for j in range(d):
                    v[j] = decay[m] * v[j] - g * A[i, j]
                pending_decay = False
            else:
                for j in range(d):
                    v[j] -= g * A[i, j]
        if pending_decay:
            for j in range(d):
                v[j] *= decay[m]


@jit_inline
def _csr_group_subtract_batch(
    X, order, start, stop, work, n_models, decay, W, scale, factor
):
    # per model, as `_csr_subtract_batch`: s ← decay·s (a zero decay zeroes
    # the model's weights), then v ← v − (g / s) x_r on the rows' non-zeros
    M = n_models
    d = X.n_features
    for m in range(M):
        if decay[m] == 0.0:
            for j in range(m, d * M, M):
                W[j] = 0.0
            scale[m] = 1.0
        else:
            scale[m] *= decay[m]
    data, columns = X.data, X.indices
    stride = np.uint64(M)
    for r in range(stop - start):
        g = work[r * M : (r + 1) * M]
        moves = False
        for m in range(M):
            factor[m] = -g[m] / scale[m]
            moves = moves or g[m] != 0.0
        if not moves:
            continue
        i = order[start + r]
        p = np.uint64(X.indptr[i])
        end = np.uint64(X.indptr[i + 1])
        while p < end:
            x = data[p]
            c = columns[p] * stride
            w = W[c : c + stride]
            for m in range(M):
                v = w[m]
                w[m] = v if g[m] == 0.0 else v + factor[m] * x
            p += _ONE
    for m in range(M):
        if scale[m] < MIN_SCALE:
            fold_group_scale(X, W, M, scale, m)


@jit_inline
def fold_group_scale(X, W, n_models, scale, m):
    """Model ``m``'s :func:`fold_scale` in a group: ``v_m ← s_m v_m``, ``s_m ← 1``."""
    s = scale[m]
    if s != 1.0:
        first, end, step = model_weights(X, n_models, m)
        for q in range(first, end, step):
            W[q] *= s
        scale[m] = 1.0


@_by_storage(_dense_model_weights, _csr_model_weights)
def model_weights(X, n_models, m):
    """Where model ``m``'s weights are in a group's ``W``: ``(first, end, step)``.

    ``W[first:end:step]``, in the storage's layout (see the notes above).
    """


@jit_inline
def _dense_model_slice(X, W, n_models, m):
    size = W.shape[0] // n_models
    return slice(m * size, (m + 1) * size)


@jit_inline
def _csr_model_slice(X, W, n_models, m):
    return slice(m, None, n_models)


@_by_storage(_dense_model_slice, _csr_model_slice)
def model_slice(X, W, n_models, m):
    """Where model ``m``'s part is in an array laid out as a group's weights.

    ``W`` holds ``n_models`` parts of one size in the storage's layout (see
    the notes above): the weights (``n_features`` a model, as
    :func:`model_weights` says), or each model's running mean with its
    intercept as one more feature (``n_features + 1``). ``W[model_slice(…)]``
    is model ``m``'s part, a view: contiguous on dense rows
    (``W[m * size : (m + 1) * size]``), strided on CSR rows
    (``W[m::n_models]``). A one-model operation given such views does that
    model's arithmetic in place, on the group's arrays. (A slice, not the
    view: the kernels, compiled without reference counting, return no view.)
    """


@jit_inline
def _dense_prefetch_group_weights(X, i, W, n_models):
    pass


@jit_inline
def _csr_prefetch_group_weights(X, i, W, n_models):
    columns = X.indices
    stride = np.uint64(n_models)
    last = stride - _ONE
    p = np.uint64(X.indptr[i])
    end = np.uint64(X.indptr[i + 1])
    while p < end:
        c = columns[p] * stride
        prefetch_item(W, c)
        prefetch_item(W, c + last)
        p += _ONE


@_by_storage(_dense_prefetch_group_weights, _csr_prefetch_group_weights)
def prefetch_group_weights(X, i, W, n_models):
    """Ask for the weights row ``i`` touches in a feature-major group (a hint).

    CSR rows: the ``n_models`` weights of each non-zero's feature, a random
    place in weights that outgrow the cache when there are many models.
    Dense rows read every weight in order: nothing to ask.
    """


@_by_storage(_dense_group_row_dots, _csr_group_row_dots)
def group_row_dots(X, i, W, n_models, out):
    """``out[m] = x_i · w_m`` for every model ``m`` of a group.

    Parameters
    ----------
    X : DenseRows or CSRRows
    i : int
        Row index.
    W : ndarray of shape (n_features * n_models,), float64
        Stored weights, in the storage's layout (:func:`model_weights`).
    n_models : int
    out : ndarray of shape (>= n_models,), float64
    """


@_by_storage(_dense_group_subtract_batch, _csr_group_subtract_batch)
def group_subtract_batch(
    X, order, start, stop, work, n_models, decay, W, scale, factor
):
    """:func:`subtract_batch` for every model of a group, in place.

    ``w_m ← decay_m · w_m − Σ_r work[r, m] x_r``, with each model's arithmetic
    that of :func:`subtract_batch` on that model alone.

    Parameters
    ----------
    X : DenseRows or CSRRows
    order : ndarray of int64
        The batch is rows ``order[start:stop]``.
    start, stop : int
    work : ndarray of shape (>= (stop - start) * n_models,), float64
        ``work[r * n_models + m]``: the step of row ``r`` for model ``m``.
    n_models : int
    decay : ndarray of shape (n_models,), float64
        Each model's L2 weight-decay factor of this map.
    W : ndarray of shape (n_features * n_models,), float64
        Stored weights (:func:`model_weights`); model ``m``'s weights are
        ``scale[m] · v_m``.
    scale : ndarray of shape (n_models,), float64
        The lazy scales (always 1 for dense rows).
    factor : ndarray of shape (n_models,), float64
        Scratch space.
    """
