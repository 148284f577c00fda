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
- ``_nrt=False``: no Numba runtime reference counting. The kernels never
  allocate (scratch space is passed in), and reference-count updates on every
  array passed to a per-batch call cost more than a small batch's arithmetic.

The kernels are written as plain Python over NumPy arrays, so
``NUMBA_DISABLE_JIT=1`` runs them uncompiled (slowly) for coverage and
debugging.
"""

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

JIT_OPTIONS = {
    "cache": True,
    "nogil": True,
    "fastmath": False,
    "error_model": "numpy",
    "_nrt": False,
}


def jit(function):
    """Compile ``function`` lazily with the package's Numba options."""
    return numba.njit(**JIT_OPTIONS)(function)


def jit_parallel(function):
    """Like :func:`jit`, with ``numba.prange`` loops run in parallel threads.

    Used where the work splits into independent pieces (the chains of a
    backward replay); each piece is computed exactly as it would be serially,
    so results do not depend on the number of threads.
    """
    return numba.njit(parallel=True, **JIT_OPTIONS)(function)


def jit_inline(function):
    """Like :func:`jit`, and inlined into its callers at Numba IR level.

    For the small functions called once per row or per batch inside the
    epoch loop: a call that passes arrays costs more than a small batch's
    arithmetic.
    """
    return numba.njit(inline="always", **JIT_OPTIONS)(function)


CACHE_LINE_BYTES = 64

if numba.config.DISABLE_JIT:

    def _prefetch(array, index):
        """Plain-Python stand-in: prefetching is only a hint."""

else:

    @intrinsic
    def _prefetch(typingctx, array, index):
        """Hint the CPU to fetch the cache line of ``array[index]`` (``llvm.prefetch``).

        ``index`` is an integer (1-D arrays) or a tuple of integers.
        """
        indices = index.types if isinstance(index, types.BaseTuple) else (index,)
        if len(indices) != array.ndim:
            return None

        def codegen(context, builder, signature, args):
            array_type, index_type = signature.args
            array_value = context.make_array(array_type)(context, builder, args[0])
            if isinstance(index_type, types.BaseTuple):
                index_values = cgutils.unpack_tuple(builder, args[1], len(indices))
            else:
                index_values = [args[1]]
            pointer = cgutils.get_item_pointer(
                context, builder, array_type, array_value, index_values
            )
            byte_pointer = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            # the intrinsic's mangled name follows LLVM's pointer model
            opaque = getattr(byte_pointer, "is_opaque", False)
            function = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
                "llvm.prefetch.p0" if opaque else "llvm.prefetch.p0i8",
            )
            # read access, high temporal locality, data cache
            builder.call(
                function,
                [builder.bitcast(pointer, byte_pointer), i32(0), i32(3), i32(1)],
            )
            return context.get_dummy_value()

        return types.none(array, index), codegen


@jit_inline
def prefetch_row(X, i):
    """Ask for row ``i`` of the C-contiguous 2-D array ``X`` to be loaded into cache.

    SGD with reshuffling visits rows in random order, so each row is a cache
    miss; prefetching the next batch's rows while the current batch is
    computed hides most of the memory latency.
    """
    step = CACHE_LINE_BYTES // X.itemsize
    for j in range(0, X.shape[1], step):
        _prefetch(X, (i, j))


@jit_inline
def prefetch_item(a, i):
    """Ask for ``a[i]`` of the 1-D array ``a`` to be loaded into cache."""
    _prefetch(a, i)
