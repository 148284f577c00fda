"""Compile-time choices: which code a kernel compiles.

A kernel is written once and compiled only with the code its inputs need.
Two mechanisms choose that code:

- **Specialization** (:func:`variant_operation`, :func:`specialize`,
  :func:`specialized_entry`): an operation with one implementation per
  *variant* (dense or CSR rows) is bound to one implementation in a *twin*
  of each kernel that reaches it: the same source, compiled with its
  globals pointing at that variant's implementations (and at the twins of
  the kernels it calls). The implementations are small
  :func:`~sklearn_order._jit.jit_inline` functions, which Numba inlines into
  the twin before typing it; the twin is typed and optimized once, as if it
  had been written for that variant alone. Kernels called from Python pick
  their twin from the arguments (:func:`specialized_entry`).
- **Dispatch on a type** (:func:`dispatch_on_type`, :func:`unless_none`): one
  call site stands for several implementations, of which Numba compiles only
  the one the argument's type selects (``numba.extending.overload``); used for
  optional state that compiles to nothing when it is ``None``.

Specialization exists for compile time. A typed choice (an ``overload``
inlined at the call site) has Numba compile each implementation as a
function of its own, and type it again for every call site, before
inlining it. The row operations were chosen that way before they had
twins: a first fit with an empty cache now takes 0.75 (dense) and 0.81 (CSR)
of the time it took (``docs/benchmarks/compile.md``), and the kernels' machine
code is the same (``docs/benchmarks/kernel_code_twins.md``).

Called from Python (``NUMBA_DISABLE_JIT=1``, or a test), the same functions
make the same choice from the argument's value.
"""

import functools
import inspect
import threading
import types as pytypes

from numba import types
from numba.extending import overload

from .._jit import JIT_OPTIONS, recompile

#: The implementations are only ever called from compiled code (from Python,
#: the declared function runs their plain-Python source): no CPython or C
#: wrapper is generated for them, which a first compile would otherwise spend
#: time on for every implementation a kernel uses.
_OVERLOAD_OPTIONS = {
    **{k: v for k, v in JIT_OPTIONS.items() if k != "cache"},
    "no_cpython_wrapper": True,
    "no_cfunc_wrapper": True,
}

_PACKAGE = __name__.partition(".")[0]


def _python(function):
    """The plain-Python source of a compiled function (itself without the JIT)."""
    return getattr(function, "py_func", function)


def _run_from_python(implementations, python_key, declaration):
    """``declaration`` as called from Python: the implementation for the first argument.

    ``python_key`` picks the key of ``implementations`` from the first
    argument's value; the implementation's plain-Python source runs.
    """

    def chosen(*args):
        return _python(implementations[python_key(args[0])])(*args)

    return functools.update_wrapper(chosen, declaration)


# -- specialization -------------------------------------------------------------

#: id(operation) -> (operation, {variant: implementation})
_VARIANT_OPERATIONS = {}
#: id(entry) -> (entry, kernel): the kernels of :func:`specialized_entry`
_ENTRIES = {}
#: id(dispatched) -> (dispatched, implementations, numba_key, python_key)
_TYPE_DISPATCHED = {}
#: (id(function), variant) -> (function, its twin for the variant)
_TWINS = {}
#: id(function) -> (function, whether it reaches a variant operation)
_REACHES = {}
#: Held while twins are made: kernels are called from several host threads
#: (one-vs-rest classes, trajectory chains), and a half-made entry of
#: ``_REACHES`` must not be read.
_TWIN_LOCK = threading.RLock()


def variant_operation(implementations, python_key):
    """Decorator: an operation with one implementation per variant.

    Compiled code calls it only from a twin (:func:`specialize`), which is
    compiled with the variant's implementation in its place; from Python it
    runs the implementation that ``python_key`` picks from its first
    argument.

    Parameters
    ----------
    implementations : dict
        Variant -> compiled function (:func:`~sklearn_order._jit.jit_inline`);
        each takes the decorated function's parameters.
    python_key : callable
        Value of the first argument -> variant.

    Returns
    -------
    callable
        A decorator of the operation's declaration: a function whose name,
        parameters and docstring the operation takes, and which never runs.
    """

    def decorate(declaration):
        operation = _run_from_python(implementations, python_key, declaration)
        _VARIANT_OPERATIONS[id(operation)] = (operation, dict(implementations))
        return operation

    return decorate


def _referenced_names(code):
    """The global names a code object (and the code nested in it) may read."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, pytypes.CodeType):
            names |= _referenced_names(constant)
    return names


def _package_source(function):
    """The plain-Python function of one of this package's functions, else None."""
    source = _python(function)
    if (
        isinstance(source, pytypes.FunctionType)
        and (source.__module__ or "").partition(".")[0] == _PACKAGE
    ):
        return source
    return None


def reaches_variant_operation(function):
    """Whether ``function`` calls a variant operation, directly or through others."""
    with _TWIN_LOCK:
        return _reaches(function)


def _reaches(function):
    entry = _REACHES.get(id(function))
    if entry is not None:
        return entry[1]
    _REACHES[id(function)] = (function, False)  # while in progress
    if id(function) in _VARIANT_OPERATIONS:
        reaches = True
    elif id(function) in _ENTRIES:
        reaches = _reaches(_ENTRIES[id(function)][1])
    elif id(function) in _TYPE_DISPATCHED:
        implementations = _TYPE_DISPATCHED[id(function)][1]
        reaches = any(map(_reaches, implementations.values()))
    else:
        source = _package_source(function)
        reaches = source is not None and any(
            _reaches(source.__globals__[name])
            for name in _referenced_names(source.__code__)
            if name in source.__globals__ and callable(source.__globals__[name])
        )
    _REACHES[id(function)] = (function, reaches)
    return reaches


def specialize(function, variant):
    """The twin of ``function`` for ``variant``: every variant operation bound.

    The twin has ``function``'s source, compiled as ``function`` is, with
    each global name that reaches a variant operation bound instead to that
    operation's implementation for ``variant``, or to the twin of the
    function it names (recursively). A function that reaches no variant
    operation is its own twin. Twins are made once per process.

    Parameters
    ----------
    function : callable
        A compiled function of this package, a :func:`variant_operation`, a
        :func:`specialized_entry` or a :func:`dispatch_on_type` function.
    variant : hashable
        A key of the variant operations' implementations.

    Returns
    -------
    callable
    """
    twin = _TWINS.get((id(function), variant))
    if twin is not None:
        return twin[1]
    with _TWIN_LOCK:
        return _specialize(function, variant)


def _specialize(function, variant):
    if not _reaches(function):
        return function
    key = (id(function), variant)
    if key in _TWINS:
        return _TWINS[key][1]
    if id(function) in _VARIANT_OPERATIONS:
        twin = _specialize(_VARIANT_OPERATIONS[id(function)][1][variant], variant)
    elif id(function) in _ENTRIES:
        twin = _specialize(_ENTRIES[id(function)][1], variant)
    elif id(function) in _TYPE_DISPATCHED:
        _, implementations, numba_key, python_key = _TYPE_DISPATCHED[id(function)]
        twin = dispatch_on_type(
            {k: _specialize(v, variant) for k, v in implementations.items()},
            numba_key,
            python_key,
        )(function)
    else:
        source = _package_source(function)
        namespace = dict(source.__globals__)
        for name in _referenced_names(source.__code__):
            value = namespace.get(name)
            if callable(value) and _reaches(value):
                namespace[name] = _specialize(value, variant)
        twin_source = pytypes.FunctionType(
            source.__code__,
            namespace,
            source.__name__,
            source.__defaults__,
            source.__closure__,
        )
        functools.update_wrapper(twin_source, source, updated=())
        del twin_source.__wrapped__
        twin = recompile(function, twin_source)
    _TWINS[key] = (function, twin)
    return twin


def specialized_entry(variant_of):
    """Decorator: a kernel called from Python, run as its twin for the arguments.

    Parameters
    ----------
    variant_of : callable
        The call's positional arguments -> the variant (:func:`specialize`).

    Returns
    -------
    callable
        A decorator for a compiled kernel. The decorated function calls the
        kernel's twin for its arguments' variant; its ``kernel`` attribute is
        the kernel, and ``specialized(variant)`` returns a twin.
    """

    def decorate(kernel):
        def entry(*args):
            return specialize(kernel, variant_of(args))(*args)

        functools.update_wrapper(entry, _python(kernel), updated=())
        del entry.__wrapped__
        entry.kernel = kernel
        entry.specialized = functools.partial(specialize, kernel)
        _ENTRIES[id(entry)] = (entry, kernel)
        return entry

    return decorate


# -- dispatch on a type -----------------------------------------------------------


def dispatch_on_type(implementations, numba_key, python_key):
    """Decorator: a function implemented according to its first argument's type.

    The chosen implementation is compiled as a function of its own (with the
    package's options) and called.

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

    Returns
    -------
    callable
        A decorator. The decorated function gives only the signature and the
        docstring; its body is not run.
    """

    def decorate(declaration):
        dispatched = _run_from_python(implementations, python_key, declaration)

        def typer(*args):
            key = numba_key(args[0])
            return None if key is None else _python(implementations[key])

        functools.update_wrapper(typer, declaration)
        overload(dispatched, jit_options=_OVERLOAD_OPTIONS)(typer)
        _TYPE_DISPATCHED[id(dispatched)] = (
            dispatched,
            dict(implementations),
            numba_key,
            python_key,
        )
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
