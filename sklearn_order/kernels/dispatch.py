"""Compile-time choices: which code a kernel compiles, decided by argument types.

A kernel is compiled once per combination of its arguments' types. The
helpers here let one call site in a kernel stand for several
implementations, of which Numba compiles only the one the argument's type
selects (``numba.extending.overload``):

- :func:`dispatch_on_type`: one implementation per type of the first
  argument (dense or CSR rows);
- :func:`unless_none`: an operation on optional state that compiles to
  nothing when the state is ``None`` (a switched-off feature).

Called from Python (``NUMBA_DISABLE_JIT=1``, or a test), the same functions
make the same choice from the argument's value.

By default the chosen implementation is compiled as a function of its own
(with the package's options) and called. The row operations ask for
``inline=True`` (``overload(..., inline="always")``: the implementation is
inlined into the kernel after typing): called, the CSR operations made
epochs 10–15% slower than the run-time branch they replace; inlined, they
cost the same (``benchmarks/bench_kernel_ab.py``).
"""

import functools
import inspect

from numba import types
from numba.extending import overload

from .._jit import JIT_OPTIONS

#: The implementations are only ever called from compiled code (from Python,
#: the declared function runs their plain-Python source): no CPython or C
#: wrapper is generated for them, which a first compile would otherwise spend
#: time on for every implementation a kernel uses.
_OVERLOAD_OPTIONS = {
    **{k: v for k, v in JIT_OPTIONS.items() if k != "cache"},
    "no_cpython_wrapper": True,
    "no_cfunc_wrapper": True,
}


def _python(function):
    """The plain-Python source of a compiled function (itself without the JIT)."""
    return getattr(function, "py_func", function)


def dispatch_on_type(implementations, numba_key, python_key, inline=False):
    """Decorator: a function implemented according to its first argument's type.

    Parameters
    ----------
    implementations : dict
        Key -> compiled function; each takes the decorated function's
        parameters, under the same names.
    numba_key : callable
        Numba type of the first argument -> key of its implementation
        (``None``: no implementation; Numba then reports a typing error).
    python_key : callable
        Value of the first argument -> key, for calls from Python.
    inline : bool, default=False
        Inline the chosen implementation into the caller (Numba's typed
        inlining) instead of calling it.

    Returns
    -------
    callable
        A decorator. The decorated function gives only the signature and the
        docstring; its body is not run.
    """

    def decorate(declaration):
        def dispatched(*args):
            return _python(implementations[python_key(args[0])])(*args)

        def typer(*args):
            key = numba_key(args[0])
            return None if key is None else _python(implementations[key])

        functools.update_wrapper(dispatched, declaration)
        functools.update_wrapper(typer, declaration)
        if inline:
            overload(dispatched, inline="always", jit_options=_OVERLOAD_OPTIONS)(typer)
        else:
            overload(dispatched, jit_options=_OVERLOAD_OPTIONS)(typer)
        return dispatched

    return decorate


def unless_none(default=None):
    """Decorator: the function, or nothing at all when its first argument is ``None``.

    For the operations of a feature that may be switched off (GraB's herding
    state, the running average, recorded iterates, tracked losses): the
    feature's state is passed as ``None`` when it is off, and the kernel
    compiled for that type contains none of the operation's code. Such a
    call returns ``default``.

    Parameters
    ----------
    default : bool, float or None
        What the operation returns when the state is ``None``.

    Returns
    -------
    callable
        A decorator for a compiled (``jit_inline``) function whose first
        parameter is the optional state.
    """

    def decorate(function):
        # Numba requires the implementation to take the declaration's
        # parameters, under the same names (and its inliner takes no *args)
        parameters = ", ".join(inspect.signature(_python(function)).parameters)
        namespace = {"default": default}
        exec(f"def skipped({parameters}):\n    return default", namespace)
        skipped = namespace["skipped"]

        def is_none(value):
            return value is None

        return dispatch_on_type(
            {False: function, True: skipped},
            lambda state: isinstance(state, (types.NoneType, types.Omitted)),
            is_none,
        )(_python(function))

    return decorate
