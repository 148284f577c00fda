"""Numba settings, in one place.

Every compiled function in the package is decorated with :func:`jit`, so the
compilation policy is decided here and nowhere else:

- cached on disk (:func:`sklearn_order._cache.cached`, in place of Numba's
  ``cache=True``): compiled machine code is reused by later processes (and
  by worker processes of a grid search) until any kernel source changes; a
  cache that cannot be written or read never fails a fit.
- no signatures: compilation is lazy, on the first call with a given set of
  argument types (float32 and float64 data get one specialization each), so
  importing :mod:`sklearn_order` compiles nothing.
- ``fastmath=False``: reductions keep the order written in the source, which
  is what makes a fit bit-identical run to run and keeps the kernels within
  rounding of the NumPy reference.
- ``nogil=True``: one-vs-rest classes, and the chains of a backward
  trajectory, run concurrently in host threads.
- ``error_model="numpy"``: division follows IEEE rules instead of raising,
  which lets LLVM drop the zero checks from the inner loops.
- ``_nrt=False``: no Numba runtime reference counting. The kernels never
  allocate (scratch space is passed in), and reference-count updates on every
  array passed to a per-batch call cost more than a small batch's arithmetic.

The kernels are written as plain Python over NumPy arrays, so
``NUMBA_DISABLE_JIT=1`` runs them uncompiled (slowly) for coverage and
debugging.

Functions shared by the CPU and the CUDA kernels (the loss table, the
penalty and schedule scalars, the row dot product) are decorated with
:func:`jit_dual` or :func:`jit_inline_dual`: one plain-Python source,
compiled for the CPU as above and, on demand, as a CUDA device function by
:func:`cuda_device` (``CUDA_OPTIONS``). Nothing imports ``numba.cuda`` until
a CUDA twin is asked for.
"""

import types as pytypes

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.dispatcher import Dispatcher
from numba.extending import intrinsic

from ._cache import cached
from ._cuda_import import numba_cuda

JIT_OPTIONS = {
    "nogil": True,
    "fastmath": False,
    "error_model": "numpy",
    "_nrt": False,
}


def jit(function):
    """Compile ``function`` lazily with the package's Numba options."""
    return cached(numba.njit(**JIT_OPTIONS)(function))


def recompile(compiled, function):
    """Compile ``function`` with the options ``compiled`` was compiled with.

    For a twin of a compiled function (the same source, other globals: see
    :func:`sklearn_order.kernels.dispatch.specialize`). Under
    ``NUMBA_DISABLE_JIT=1`` nothing is compiled and ``function`` is returned.
    """
    if not isinstance(compiled, Dispatcher):
        return function
    options = {k: v for k, v in compiled.targetoptions.items() if k != "nopython"}
    return cached(numba.njit(**options)(function))


def jit_inline(function):
    """Like :func:`jit`, and inlined into its callers at Numba IR level.

    For the small functions called once per row or per batch inside the
    epoch loop: a call that passes arrays costs more than a small batch's
    arithmetic.
    """
    return cached(numba.njit(inline="always", **JIT_OPTIONS)(function))


#: Options of every CUDA kernel and device function. ``fastmath=False`` keeps
#: IEEE division and square roots; NVVM may still contract a multiply and an
#: add into one fused multiply-add, which changes the last bit of some
#: results relative to the CPU (within the documented tolerances) but not the
#: order of any reduction, so results stay identical run to run.
CUDA_OPTIONS = {"fastmath": False}

# id(CPU function) -> [CPU function, plain-Python source, CUDA twin or None]
_DUAL_TARGETS = {}


def _register_dual(cpu_function, function):
    _DUAL_TARGETS[id(cpu_function)] = [cpu_function, function, None]
    return cpu_function


def jit_dual(function):
    """Like :func:`jit`, and available as a CUDA device function (:func:`cuda_device`).

    For the scalar functions both targets share: the loss table, the penalty
    and schedule scalars.
    """
    return _register_dual(jit(function), function)


def jit_inline_dual(function):
    """Like :func:`jit_inline`, and available as a CUDA device function."""
    return _register_dual(jit_inline(function), function)


def cuda_device(cpu_function):
    """The CUDA device-function twin of a :func:`jit_dual` function.

    Compiled lazily from the same plain-Python source. Inside it, calls to
    other dual-target functions resolve to their CUDA twins (its globals are
    a copy of its module's, with those names swapped), so one definition
    serves both targets.

    Parameters
    ----------
    cpu_function : callable
        A function decorated with :func:`jit_dual` or :func:`jit_inline_dual`.

    Returns
    -------
    callable
        A ``numba.cuda.jit(device=True)`` function.

    Raises
    ------
    KeyError
        If ``cpu_function`` was not declared dual-target.
    """
    entry = _DUAL_TARGETS[id(cpu_function)]
    if entry[2] is None:
        cuda = numba_cuda()

        source = entry[1]
        namespace = dict(source.__globals__)
        for name in source.__code__.co_names:
            value = namespace.get(name)
            if id(value) in _DUAL_TARGETS and _DUAL_TARGETS[id(value)][0] is value:
                namespace[name] = cuda_device(value)
        twin = pytypes.FunctionType(
            source.__code__,
            namespace,
            source.__name__,
            source.__defaults__,
            source.__closure__,
        )
        twin.__doc__ = source.__doc__
        entry[2] = cuda.jit(device=True, **CUDA_OPTIONS)(twin)
    return entry[2]


def cuda_kernel(function, **options):
    """Compile ``function`` lazily as a CUDA kernel with ``CUDA_OPTIONS``.

    ``options`` are further ``numba.cuda.jit`` options (e.g. ``max_registers``,
    ``launch_bounds``); the CUDA simulator, which allocates no registers,
    takes neither.
    """
    cuda = numba_cuda()
    if numba.config.ENABLE_CUDASIM:
        options.pop("max_registers", None)
        options.pop("launch_bounds", None)
    return cuda.jit(**CUDA_OPTIONS, **options)(function)


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
