"""Checks of the structure of SciPy sparse inputs, before any kernel reads them.

The kernels (and SciPy's own products and conversions) read a sparse
matrix's values at the positions its index arrays give, without bounds
checks: a malformed matrix would read or write out of bounds. The checks
here reject one with a ``ValueError`` that names the array, and convert
index arrays of other integer types exactly to int64.
:func:`with_kernel_indices` then gives a training matrix the one index
dtype the kernels are compiled for where it fits.
"""

import copy

import numpy as np

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


#: The largest index an int32 index array holds.
_INT32_MAX = np.iinfo(np.int32).max


def with_kernel_indices(X):
    """A checked CSR matrix with the index dtype the kernels are compiled for.

    Every kernel is compiled once per index dtype of the rows it reads, so
    the index arrays are given one dtype: int32 (SciPy's own default), as
    long as the row pointers and the column indices fit it, which is true of
    any matrix with fewer than 2**31 stored values and columns. Larger ones
    keep (or get) int64 indices and row pointers, a variant compiled on its
    first use.

    Parameters
    ----------
    X : scipy CSR matrix or array
        Checked by :func:`check_csr_structure`.

    Returns
    -------
    X : scipy CSR matrix or array
        ``X`` itself when its indices and row pointers already share the
        dtype chosen, else a shallow copy with them converted (exactly).
    """
    fits = int(X.indptr[-1]) <= _INT32_MAX and X.shape[1] - 1 <= _INT32_MAX
    dtype = np.dtype(np.int32 if fits else np.int64)
    if X.indices.dtype == dtype and X.indptr.dtype == dtype:
        return X
    return _with_arrays(
        X, indices=X.indices.astype(dtype), indptr=X.indptr.astype(dtype)
    )
