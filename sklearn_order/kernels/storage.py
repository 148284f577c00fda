"""How the CPU kernels read and use the rows of ``X``, for each storage.

The update map and the loop over maps (``cpu.py``) are written once, against
the row operations defined here. The kernels take ``X`` as one of two
types (:func:`kernel_rows`):

- :class:`DenseRows`: a C-contiguous 2-D ndarray;
- :class:`CSRRows`: the three arrays of a SciPy CSR matrix (32- or 64-bit
  indices). Every operation costs the row's non-zeros, never ``n_features``.

Each operation is chosen at compile time from the type of ``X``
(:func:`.dispatch.dispatch_on_type`), so a kernel compiled for dense rows
contains no CSR code and the reverse. The chosen implementation is inlined
into the kernel (an earlier compile-time dispatch that called its
implementations once per row was measured 9% slower on dense data); epoch
times stay those of the run-time branch this replaced
(``benchmarks/bench_kernel_ab.py``, ``docs/benchmarks/kernel_ab.md``).

Coefficients may carry a lazy scale ``s`` (CSR only): the weights are
``s · v`` with ``v`` stored. The L2 weight decay ``w ← (1 − η l2) w`` is then
``s ← (1 − η l2) s``, one multiplication instead of a pass over all
``n_features`` (scikit-learn's ``WeightVector`` does the same for sparse
rows). Dense storage applies the decay explicitly, fused into the first
row's update, and keeps ``s = 1``.
"""

import copy
from typing import NamedTuple

import numpy as np
from numba import types
from scipy import sparse

from .._jit import CACHE_LINE_BYTES, jit_inline, jit_inline_dual, prefetch_item
from .._jit import prefetch_row as prefetch_dense_row
from .dispatch import dispatch_on_type

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


#: The index dtypes the kernels (and SciPy's products) are compiled for.
_INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def _index_array(values, name):
    """``values`` as an int32/int64 index array, converted exactly if needed.

    Raises
    ------
    ValueError
        If ``values`` is not a 1-D array of integers (floats, NaN, booleans,
        objects are refused: a comparison with NaN is always false, so no
        range check could catch it), or holds a value that no int64 index
        can represent.
    """
    if not isinstance(values, np.ndarray) or values.ndim != 1:
        raise ValueError(f"malformed sparse matrix: {name} must be a 1-D array.")
    if values.dtype in _INDEX_DTYPES:
        # strided views are copied: the kernels are compiled for contiguous
        # arrays (another layout would compile, and run, another kernel)
        return np.ascontiguousarray(values)
    if values.dtype.kind not in "iu":
        raise ValueError(
            f"malformed sparse matrix: {name} must hold integers; got dtype "
            f"{values.dtype}."
        )
    # any other integer type (narrow, unsigned, non-native byte order): to
    # int64, exactly, if every value fits
    limit = np.iinfo(np.int64).max
    if values.dtype.kind == "u" and values.size and int(values.max()) > limit:
        raise ValueError(
            f"malformed sparse matrix: {name} holds {int(values.max())}, which "
            f"does not fit an int64 index (at most {limit})."
        )
    return np.ascontiguousarray(values, dtype=np.int64)


def _check_compressed(data, indices, indptr, n_major, n_minor, minor):
    """The range checks of a compressed (CSR or CSC) structure.

    ``n_major`` is the number of rows (CSR) or columns (CSC), ``n_minor``
    the other dimension and ``minor`` its name in the message.
    """
    if not isinstance(data, np.ndarray) or data.ndim != 1:
        problem = "data must be a 1-D array"
    elif indptr.shape[0] != n_major + 1:
        problem = f"indptr has {indptr.shape[0]} entries; expected {n_major + 1}"
    elif indices.shape[0] != data.shape[0]:
        problem = "indices and data must have the same length"
    elif indptr[0] != 0 or indptr[-1] > indices.shape[0]:
        problem = "indptr must start at 0 and end at most at the length of indices"
    elif np.any(indptr[1:] < indptr[:-1]):
        problem = "indptr must be non-decreasing"
    # a negative index viewed as unsigned is larger than any valid one: one
    # reduction checks both bounds
    elif indices.shape[0] and (
        indices.view(f"u{indices.dtype.itemsize}").max() >= n_minor
    ):
        problem = f"{minor} indices must be in [0, {n_minor})"
    else:
        return
    raise ValueError(f"malformed sparse matrix: {problem}.")


def check_csr_structure(X):
    """Check that a CSR matrix's row pointers and column indices are in range.

    The kernels read ``X.data``/``X.indices`` at the positions the row
    pointers give and write the weights at the column indices, without
    bounds checks, and so does SciPy's matrix product: a malformed matrix
    must be rejected before training or predicting. Costs one pass over
    the indices; ``X`` is not modified (SciPy's
    ``check_format(full_check=True)`` may prune or recast its arrays in
    place, and takes two passes).

    Parameters
    ----------
    X : scipy CSR matrix or array

    Returns
    -------
    X : scipy CSR matrix or array
        ``X`` itself, or — when an index array has an integer type other
        than int32/int64, or an array is a strided view — a shallow copy
        with that array converted exactly to int64 (or made contiguous).

    Raises
    ------
    ValueError
        If an index array is not a 1-D array of integers (float, NaN, bool,
        object) or holds a value no int64 represents, a column index is
        negative or ``>= n_features``, or the row pointers do not run
        non-decreasing from 0 to at most ``nnz``.
    """
    return _checked_compressed(X, "column")


def _checked_compressed(X, minor):
    indices = _index_array(X.indices, "indices")
    indptr = _index_array(X.indptr, "indptr")
    n_major, n_minor = X.shape if minor == "column" else X.shape[::-1]
    _check_compressed(X.data, indices, indptr, n_major, n_minor, minor)
    data = np.ascontiguousarray(X.data)
    if indices is X.indices and indptr is X.indptr and data is X.data:
        return X
    return _with_arrays(X, data=data, indices=indices, indptr=indptr)


def _with_arrays(X, **arrays):
    """A shallow copy of ``X`` holding ``arrays`` instead of its own.

    Not SciPy's constructor: it refuses float16 values, which the estimators
    convert later.
    """
    converted = copy.copy(X)
    for name, values in arrays.items():
        setattr(converted, name, values)
    return converted


def check_sparse_structure(X):
    """:func:`check_csr_structure`, for every sparse format SciPy converts in C.

    SciPy converts CSC and COO matrices to CSR without bounds checks too
    (an out-of-range index writes out of bounds), so their structure is
    checked the same way before any conversion; other formats are returned
    as they are.

    Parameters
    ----------
    X : scipy sparse matrix or array

    Returns
    -------
    X : scipy sparse matrix or array
        ``X``, or a copy of its structure with index arrays converted
        exactly to int64 (see :func:`check_csr_structure`).

    Raises
    ------
    ValueError
        If the structure is malformed; the message names the array.
    """
    if X.format == "csr":
        return check_csr_structure(X)
    if X.format == "csc":
        return _checked_compressed(X, "row")
    if X.format == "coo":
        return _checked_coo(X)
    return X


def _checked_coo(X):
    data = X.data
    if not isinstance(data, np.ndarray) or data.ndim != 1:
        raise ValueError("malformed sparse matrix: data must be a 1-D array.")
    # SciPy < 1.13 keeps row and col, not coords
    given = tuple(X.coords) if hasattr(X, "coords") else (X.row, X.col)
    if len(given) != len(X.shape):
        raise ValueError(
            f"malformed sparse matrix: coords has {len(given)} arrays for "
            f"{len(X.shape)} dimensions."
        )
    coords = []
    for axis, (values, size) in enumerate(zip(given, X.shape)):
        name = f"coords[{axis}]"
        values = _index_array(values, name)
        if values.shape[0] != data.shape[0]:
            raise ValueError(
                f"malformed sparse matrix: {name} and data must have the same length."
            )
        if values.shape[0] and values.view(f"u{values.dtype.itemsize}").max() >= size:
            raise ValueError(
                f"malformed sparse matrix: {name} indices must be in [0, {size})."
            )
        coords.append(values)
    if all(new is old for new, old in zip(coords, given)):
        return X
    if hasattr(X, "coords"):
        return _with_arrays(X, coords=tuple(coords))
    return _with_arrays(X, row=coords[0], col=coords[1])


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
def _dense_is_csr(X):
    return False


@jit_inline
def _csr_is_csr(X):
    return True


# -- the operations, for either storage -------------------------------------


def _storage_of_type(rows_type):
    """``"dense"`` or ``"csr"`` for a Numba type of rows (``None`` if neither)."""
    if isinstance(rows_type, types.BaseNamedTuple):
        return _STORAGE_NAMES.get(rows_type.instance_class)
    return None


def _storage_of(rows):
    return _STORAGE_NAMES[type(rows)]


_STORAGE_NAMES = {DenseRows: "dense", CSRRows: "csr"}


def _by_storage(dense, csr):
    """The decorated operation, compiled as ``dense`` or ``csr`` from the rows' type."""
    return dispatch_on_type(
        {"dense": dense, "csr": csr}, _storage_of_type, _storage_of, inline=True
    )


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


@_by_storage(_dense_is_csr, _csr_is_csr)
def is_csr(X):
    """Whether ``X`` is :class:`CSRRows` (a constant of the compiled kernel).

    Lets a kernel choose, for its storage, between an update that costs the
    rows' non-zeros and one that costs ``n_features`` (the running average).
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
