"""Hostile input: no entry point crashes, hangs or silently answers wrongly.

Every call runs in a child process with a time limit (``child.py``; one
worker serves many calls and is replaced after a crash), so a segmentation
fault or an endless loop fails the test that caused it instead of killing
pytest. For each hostile input the harness knows whether it is *valid but
unusual* (other index or data types, unsorted or duplicated indices,
explicit zeros, CSC/COO, memory maps, strided or Fortran-ordered arrays…):
then the entry point must return what it returns on the repaired input
(bit for bit, or to rounding where the summation order differs); or
*malformed* (NaN/float/overflowing index arrays, out-of-range indices, bad
row pointers, NaN data, bad targets or weights…): then it must raise a
``ValueError``/``TypeError`` whose message names the offending argument.

CI runs a fixed seed and a small budget. A longer, randomly seeded run::

    SKLEARN_ORDER_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py -q

(``SKLEARN_ORDER_FUZZ_EXAMPLES`` multiplies nothing: it is the number of
examples of each hypothesis test; when it is set the seed is random and
hypothesis prints the failing example to reproduce.)
"""

import os
import re
from dataclasses import dataclass, field

import child as child_module
import hostile
import numpy as np
import pytest
from child import ChildProcess
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse

import sklearn_order

#: Examples per hypothesis test: small and seeded in CI, more when asked.
N_EXAMPLES = int(os.environ.get("SKLEARN_ORDER_FUZZ_EXAMPLES", "0")) or None
FUZZ = settings(
    max_examples=N_EXAMPLES or 60,
    derandomize=N_EXAMPLES is None,
    deadline=None,
    database=None,
    # a failing example is reported as drawn: shrinking would rerun hangs
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Seconds one call may take in the worker (the calls take milliseconds).
CALL_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def child():
    with ChildProcess(timeout=CALL_TIMEOUT, warm_up=hostile.warm_up) as process:
        yield process


# -- the harness itself ---------------------------------------------------------


def test_the_harness_reports_a_crash_and_a_hang_and_carries_on():
    with ChildProcess(timeout=2.0) as process:
        crashed = process.call(child_module.crash)
        assert crashed.kind == "crashed" and "SIGSEGV" in crashed.message
        hung = process.call(child_module.hang, timeout=1.0)
        assert hung.kind == "hung"
        raised = process.call(int, "x")
        assert (raised.kind, raised.error) == ("raised", "ValueError")
        assert process.call(max, 3, 4).value == 4
        assert process.n_starts == 3


# -- the reproducers, on every entry point -------------------------------


def _csr(n=30, d=6, seed=0):
    return sparse.random(n, d, density=0.4, format="csr", random_state=seed)


def _nan_indptr(X):
    X.indptr = X.indptr.astype(float)
    X.indptr[5] = np.nan


def _set(array, position, value):
    def corrupt(X):
        getattr(X, array)[position] = value

    return corrupt


def _as(array, dtype, last=None):
    def corrupt(X):
        setattr(X, array, getattr(X, array).astype(dtype))
        if last is not None:
            getattr(X, array)[-1] = last

    return corrupt


MALFORMED_CSR = {
    "column index -10**8": (_set("indices", 3, -(10**8)), "indices"),
    "column index n_features": (_set("indices", 0, 6), "indices"),
    "indptr[-1] > nnz": (_set("indptr", -1, 10**6), "indptr"),
    "indptr decreasing": (_set("indptr", 1, 10**6), "indptr"),
    "NaN in a float indptr": (_nan_indptr, "indptr"),
    "float indices": (_as("indices", np.float64), "indices"),
    "uint64 indptr beyond int64": (_as("indptr", np.uint64, 2**64 - 1), "indptr"),
    "indptr one entry short": (
        lambda X: setattr(X, "indptr", X.indptr[:-1]),
        "indptr",
    ),
}


@pytest.mark.parametrize("entry", hostile.ENTRIES)
@pytest.mark.parametrize("malformation", MALFORMED_CSR)
def test_a_malformed_csr_is_refused_by_every_entry_point(child, entry, malformation):
    corrupt, name = MALFORMED_CSR[malformation]
    X = _csr()
    y = np.arange(X.shape[0]) % 2
    corrupt(X)
    outcome = child.call(
        hostile.run,
        entry,
        "classifier",
        {},
        X,
        y,
        train=(_csr().toarray(), y),
        classes=np.array([0, 1]),
    )
    assert outcome.kind == "raised", outcome.describe()
    assert outcome.error == "ValueError", outcome.describe()
    assert "malformed sparse matrix" in outcome.message
    assert name in outcome.message


@pytest.mark.parametrize(
    "dtype", [np.int8, np.int16, np.uint8, np.uint16, np.uint32, np.uint64, ">i4"]
)
def test_index_arrays_of_other_integer_types_are_converted_exactly(dtype):
    X = _csr(n=40, d=5)
    y = np.arange(40) % 2
    params = dict(random_state=0, max_iter=3, tol=None)
    reference = sklearn_order.BackwardSGDClassifier(**params).fit(X, y)
    other = X.copy()
    other.indices = X.indices.astype(dtype)
    other.indptr = X.indptr.astype(dtype if np.dtype(dtype).itemsize > 1 else "i2")
    model = sklearn_order.BackwardSGDClassifier(**params)
    assert_array_equal(model.fit(other, y).coef_, reference.coef_)
    assert_array_equal(model.decision_function(other), reference.decision_function(X))
    assert other.indices.dtype == np.dtype(dtype)  # the caller's matrix is kept


def test_float16_sparse_input_in_any_format_is_read_as_float64():
    # found by the fuzz test: SciPy's CSC/COO -> CSR conversion refuses
    # float16 values ("Output dtype not compatible with inputs")
    X = _csr(n=40, d=5)
    X.data = X.data.astype(np.float16).astype(np.float64)
    y = np.arange(40) % 2
    params = dict(random_state=0, max_iter=3, tol=None)
    reference = sklearn_order.BackwardSGDClassifier(**params).fit(X, y)
    narrow = X.copy()
    narrow.indices = X.indices.astype(np.int16)  # converted too
    for matrix in (X.tocsc(), X.tocoo(), X, narrow):
        half = matrix.copy()
        half.data = half.data.astype(np.float16)  # SciPy's astype refuses float16
        model = sklearn_order.BackwardSGDClassifier(**params).fit(half, y)
        assert_array_equal(model.coef_, reference.coef_)
        assert_array_equal(
            model.decision_function(half), reference.decision_function(X)
        )


def test_a_batch_size_beyond_the_data_is_the_whole_data_without_its_memory():
    # found by the fuzz test: work buffers were sized by batch_size, so
    # trajectory() with batch_size=10**9 tried to allocate 30 GiB
    from sklearn_order import BackwardSGDRegressor, trajectory

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, -1.0, 0.5]
    params = dict(random_state=0, max_iter=3, tol=None)
    whole = BackwardSGDRegressor(batch_size=30, **params)
    huge = BackwardSGDRegressor(batch_size=10**9, **params)
    assert_array_equal(huge.fit(X, y).coef_, whole.fit(X, y).coef_)
    assert huge.t_ == whole.t_ == 3
    for method in ("affine", "replay"):
        assert_array_equal(
            trajectory(huge, X, y, n_steps=3, method=method).coef,
            trajectory(whole, X, y, n_steps=3, method=method).coef,
        )


# -- generated hostile inputs ----------------------------------------------------


@dataclass
class Case:
    """One generated call: the hostile inputs, and the repaired ones if valid."""

    entry: str
    kind: str
    X: object
    y: object
    sample_weight: object
    repaired: dict | None  # X, y, sample_weight; None: malformed
    names: list = field(default_factory=list)  # what the error must name
    exact: bool = True  # the repaired result is equal bit for bit
    story: list = field(default_factory=list)
    train: tuple = ()  # valid (X, y) that the prediction entry points fit first
    classes: np.ndarray | None = None  # for a classifier's partial_fit

    def call(self, child, inputs):
        train = self.train if self.entry in hostile.PREDICT_ENTRIES else None
        return child.call(
            hostile.run,
            self.entry,
            self.kind,
            {},
            inputs["X"],
            inputs["y"],
            inputs["sample_weight"],
            train=train,
            classes=self.classes,
        )


INDEX_DTYPES = [
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    ">i4",
    ">i8",
]


def _fits(values, dtype):
    info = np.iinfo(np.dtype(dtype))
    return values.size == 0 or (values.min() >= info.min and values.max() <= info.max)


def _compressed_valid(draw, H, rng, case):
    """Valid but unusual changes to a CSR/CSC matrix ``H`` (same meaning)."""
    changes = draw(
        st.lists(
            st.sampled_from(
                [
                    "index dtypes",
                    "unsorted",
                    "duplicates",
                    "explicit zero",
                    "trailing",
                    "strided",
                ]
            ),
            max_size=2,
            unique=True,
        )
    )
    for change in changes:
        nnz = H.indptr[-1]
        if change == "unsorted" and nnz:
            for r in range(len(H.indptr) - 1):
                a, b = H.indptr[r], H.indptr[r + 1]
                H.indices[a:b] = H.indices[a:b][::-1].copy()
                H.data[a:b] = H.data[a:b][::-1].copy()
            case.exact = False
        elif change == "duplicates" and nnz:
            k = int(rng.integers(nnz))
            row = int(np.searchsorted(H.indptr, k, side="right") - 1)
            half = H.data[k] / 2
            H.data = np.insert(H.data, k + 1, half)
            H.data[k] = half
            H.indices = np.insert(H.indices, k + 1, H.indices[k])
            H.indptr = H.indptr.copy()
            H.indptr[row + 1 :] += 1
            case.exact = False
        elif change == "explicit zero":
            row = int(rng.integers(len(H.indptr) - 1))
            position = int(H.indptr[row])
            column = int(rng.integers(H.shape[1] if H.format == "csr" else H.shape[0]))
            H.data = np.insert(H.data, position, 0.0).astype(H.data.dtype)
            H.indices = np.insert(H.indices, position, column).astype(H.indices.dtype)
            H.indptr = H.indptr.copy()
            H.indptr[row + 1 :] += 1
            case.exact = False  # the summation order of the row changes
        elif change == "trailing":
            extra = int(rng.integers(1, 4))
            n_minor = H.shape[1] if H.format == "csr" else H.shape[0]
            H.data = np.concatenate([H.data, rng.normal(size=extra)]).astype(
                H.data.dtype
            )
            H.indices = np.concatenate(
                [H.indices, rng.integers(n_minor, size=extra)]
            ).astype(H.indices.dtype)
        elif change == "strided":
            for name in ("data", "indices", "indptr"):
                values = getattr(H, name)
                setattr(H, name, np.repeat(values, 2)[::2])
        elif change == "index dtypes":
            for name in ("indices", "indptr"):
                dtype = draw(st.sampled_from(INDEX_DTYPES))
                values = getattr(H, name)
                if _fits(values, dtype):
                    setattr(H, name, values.astype(dtype))
        else:
            continue
        case.story.append(change)


def _compressed_malformed(draw, H, rng, case):
    """One malformation of a CSR/CSC matrix; the names its error must contain."""
    nnz = int(H.indptr[-1])
    options = [
        "indptr past the end",
        "indptr start",
        "indptr length",
        "NaN indptr",
        "float indices",
        "index dtype",
        "uint64 overflow",
        "data length",
        "NaN data",
        "2-D data",
    ]
    if nnz:
        options += ["negative index", "index too large"]
    if len(H.indptr) > 2:
        options.append("indptr decreasing")
    change = draw(st.sampled_from(options))
    indices, indptr = H.indices.astype(np.int64), H.indptr.astype(np.int64)
    n_minor = H.shape[1] if H.format == "csr" else H.shape[0]
    if change == "negative index":
        indices[rng.integers(nnz)] = draw(st.sampled_from([-1, -(10**8), -(2**40)]))
        H.indices, names = indices, ["indices"]
    elif change == "index too large":
        indices[rng.integers(nnz)] = n_minor + draw(st.sampled_from([0, 7, 2**40]))
        H.indices, names = indices, ["indices"]
    elif change == "indptr past the end":
        indptr[-1] = len(indices) + draw(st.sampled_from([1, 10**8, 2**40]))
        H.indptr, names = indptr, ["indptr"]
    elif change == "indptr start":
        indptr[0] = draw(st.sampled_from([1, -1]))
        H.indptr, names = indptr, ["indptr"]
    elif change == "indptr decreasing":
        indptr[1] = indptr[2] + 1
        H.indptr, names = indptr, ["indptr"]
    elif change == "indptr length":
        H.indptr = np.append(indptr, nnz) if draw(st.booleans()) else indptr[:-1]
        names = ["indptr"]
    elif change == "NaN indptr":
        H.indptr = indptr.astype(draw(st.sampled_from(["float64", "float32"])))
        H.indptr[rng.integers(len(indptr))] = np.nan
        names = ["indptr"]
    elif change == "float indices":
        H.indices, names = indices.astype(np.float64), ["indices"]
    elif change == "index dtype":
        name = draw(st.sampled_from(["indices", "indptr"]))
        dtype = draw(st.sampled_from(["bool", "object", "complex128", "float16"]))
        setattr(H, name, getattr(H, name).astype(dtype))
        names = [name]
    elif change == "uint64 overflow":
        name = draw(st.sampled_from(["indices", "indptr"]))
        values = getattr(H, name).astype(np.uint64)
        if values.size == 0:
            values = np.zeros(1, np.uint64)
        values[-1] = 2**64 - 1 - int(rng.integers(3))
        setattr(H, name, values)
        names = [name]
    elif change == "data length":
        H.data = H.data[:-1] if nnz else np.ones(1)
        names = ["data"]
    elif change == "NaN data":
        if nnz == 0:
            return None
        H.data = H.data.astype(np.float64)
        H.data[rng.integers(nnz)] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        names = ["X"]
    else:  # 2-D data
        H.data, names = H.data.reshape(1, -1), ["data"]
    case.story.append(change)
    return names


def _coo_case(draw, H, rng, case):
    """Valid or malformed changes to a COO matrix; the error's names or None."""
    change = draw(
        st.sampled_from(
            ["none", "index dtypes", "duplicates", "shuffled", "negative", "too large"]
            + ["float coords", "length", "NaN data"]
        )
    )
    case.story.append(f"coo {change}")
    row, col = (np.asarray(c) for c in H.coords)
    nnz = len(H.data)
    if change == "index dtypes":
        H.coords = tuple(
            c.astype(d) if _fits(c, d) else c
            for c, d in zip(
                (row, col),
                draw(st.lists(st.sampled_from(INDEX_DTYPES), min_size=2, max_size=2)),
            )
        )
    elif change == "duplicates" and nnz:
        k = int(rng.integers(nnz))
        half = H.data[k] / 2
        data = np.append(H.data, half)
        data[k] = half
        H.data, H.coords = data, (np.append(row, row[k]), np.append(col, col[k]))
        # SciPy's cached has_canonical_format may still say "no duplicates":
        # then they are summed in the products, not in the conversion
        case.exact = False
    elif change == "shuffled" and nnz:
        order = rng.permutation(nnz)
        H.data, H.coords = H.data[order], (row[order], col[order])
        case.exact = False
    elif change in ("negative", "too large") and nnz:
        axis = int(draw(st.integers(0, 1)))
        coords = [row.astype(np.int64), col.astype(np.int64)]
        coords[axis][rng.integers(nnz)] = (
            -(10**8) if change == "negative" else H.shape[axis] + 3
        )
        H.coords = tuple(coords)
        return ["coords"]
    elif change == "float coords":
        H.coords = (row.astype(np.float64), col)
        return ["coords"]
    elif change == "length" and nnz:
        H.data = H.data[:-1]
        return ["coords", "data"]
    elif change == "NaN data" and nnz:
        H.data = H.data.astype(np.float64)
        H.data[rng.integers(nnz)] = np.nan
        return ["X"]
    return None


def _dense_case(draw, base, case):
    """Valid or malformed dense inputs: (hostile X, repaired X or None, names)."""
    change = draw(
        st.sampled_from(
            [
                "none",
                "fortran",
                "strided",
                "memmap",
                "big-endian",
                "float32",
                "list",
                "NaN",
                "inf",
                "complex",
                "3-D",
                "no rows",
            ]
        )
    )
    case.story.append(f"dense {change}")
    if change == "fortran":
        return np.asfortranarray(base), base, None
    if change == "strided":
        return np.repeat(base, 2, axis=1)[:, ::2], base, None
    if change == "memmap":
        return hostile.Memmap(base), base, None
    if change == "big-endian":
        return base.astype(">f8"), base, None
    if change == "float32":
        return base.astype(np.float32), base.astype(np.float32), None
    if change == "list":
        return base.tolist(), base, None
    if change in ("NaN", "inf"):
        bad = base.astype(np.float64)
        bad[draw(st.integers(0, base.shape[0] - 1)), 0] = (
            np.nan if change == "NaN" else -np.inf
        )
        return bad, None, ["X"]
    if change == "complex":
        return base + 1j, None, ["[Cc]omplex"]
    if change == "3-D":
        return base[:, :, None], None, ["dim 3"]
    if change == "no rows":
        return base[:0], None, ["0 sample"]
    return base, base, None


def _targets_case(draw, case, y, n):
    """Hostile targets or weights: (y, sample_weight, repaired or None, names)."""
    options = ["none"] * 4 + ["y NaN", "y length", "y 2-D"]
    options += ["weights NaN", "weights length", "weights negative", "weights zero"]
    options += ["weights scalar", "weights int", "weights 2-D"]
    if case.kind == "regressor":
        options += ["y inf", "y int"]
    else:
        options += ["one class", "string labels"]
    change = draw(st.sampled_from(options))
    case.story.append(change)
    ones = np.ones(n)
    if change == "none":
        return y, None, (y, None), None
    if change in ("y NaN", "y inf"):
        bad = y.astype(np.float64)
        bad[0] = np.nan if change == "y NaN" else np.inf
        return bad, None, None, ["y"]
    if change == "y length":  # fit: scikit-learn's message, which names no array
        return y[:-1], None, None, ["inconsistent numbers of samples"]
    if change == "y 2-D":
        return np.column_stack([y, y]), None, None, ["y", "1d", "column"]
    if change == "y int":
        rounded = np.round(y * 4)
        return rounded.astype(np.int64), None, (rounded, None), None
    if change == "one class":
        return np.zeros(n, dtype=int), None, None, ["class"]
    if change == "string labels":
        labels = np.array(["no", "yes", "maybe"])[y]
        case.classes = np.unique(labels)
        return labels, None, (labels, None), None
    if change == "weights NaN":
        bad = ones.copy()
        bad[-1] = np.nan
        return y, bad, None, ["sample_weight"]
    if change == "weights negative":
        return y, -ones, None, ["sample_weight"]
    if change == "weights length":
        return y, ones[:-1], None, ["sample_weight"]
    if change == "weights zero":
        return y, 0 * ones, None, ["[Ss]ample.weight"]
    if change == "weights 2-D":
        return y, ones[:, None] * [1, 1], None, ["[Ss]ample weight"]
    if change == "weights scalar":  # every entry takes it, as fit does
        return y, 2.0, (y, 2.0 * ones), None
    # weights int
    weights = np.arange(n) % 3 + 1
    return y, weights, (y, weights.astype(np.float64)), None


@st.composite
def hostile_cases(draw):
    """A generated call on hostile input (see the module docstring)."""
    entry = draw(st.sampled_from(hostile.ENTRIES))
    kind = draw(st.sampled_from(sorted(hostile.ESTIMATORS)))
    if entry in hostile.CLASSIFIER_ENTRIES:
        kind = "classifier"
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, d = draw(st.integers(4, 24)), draw(st.integers(1, 6))
    density = draw(st.sampled_from([0.2, 0.6, 1.0]))
    base = rng.normal(size=(n, d)) * (rng.random((n, d)) < density)
    if kind == "classifier":
        y = rng.integers(0, draw(st.integers(2, 3)), size=n)
        y[:3] = [0, 1, y[2]]
    else:
        y = rng.normal(size=n)
    case = Case(entry, kind, None, None, None, repaired=None)
    case.classes = np.unique(y) if kind == "classifier" else None
    data_dtype = draw(st.sampled_from(["float64"] * 3 + ["int64", "float16", ">f8"]))
    if data_dtype == "int64":
        base = np.round(base * 3)
    elif data_dtype == "float16":
        base = base.astype(np.float16).astype(np.float64)
    storage = draw(st.sampled_from(["dense", "csr", "csc", "coo"]))
    case.story += [f"{n}x{d}", storage, data_dtype]
    names = None
    if storage == "dense":
        X, repaired_X, names = _dense_case(draw, base.astype(data_dtype), case)
        if repaired_X is not None:
            repaired_X = np.ascontiguousarray(
                repaired_X, dtype=repaired_X.dtype.newbyteorder("=")
            )
            if repaired_X.dtype != np.float32:
                repaired_X = repaired_X.astype(np.float64)
    else:
        canonical = sparse.csr_matrix(base)
        H = getattr(canonical, f"to{storage}")()
        H.data = H.data.astype(data_dtype)
        if storage == "coo":
            names = _coo_case(draw, H, rng, case)
        else:
            _compressed_valid(draw, H, rng, case)
            if draw(st.integers(0, 2)) == 0:
                names = _compressed_malformed(draw, H, rng, case)
        X, repaired_X = H, canonical
    case.X = X
    if entry in hostile.PREDICT_ENTRIES and entry != "score":
        y_case = (y, None, (y, None), None)
        case.story.append("targets as they are")
    else:
        y_case = _targets_case(draw, case, y, n)
    case.y, case.sample_weight, repaired_targets, target_names = y_case
    if names is None and target_names is None and repaired_X is not None:
        case.repaired = {
            "X": repaired_X,
            "y": repaired_targets[0],
            "sample_weight": repaired_targets[1],
        }
    case.names = (names or []) + (target_names or [])
    case.train = (base, y)
    return case


def _assert_same_result(got, want, exact):
    assert got.keys() == want.keys()
    for key in got:
        if exact or got[key].dtype.kind not in "fc":
            assert_array_equal(got[key], want[key], err_msg=key)
        else:
            assert_allclose(got[key], want[key], rtol=1e-6, atol=1e-9, err_msg=key)


@FUZZ
@given(case=hostile_cases())
def test_hostile_input_is_refused_clearly_or_gives_the_repaired_result(child, case):
    story = ", ".join([case.entry, case.kind, *case.story])
    inputs = {"X": case.X, "y": case.y, "sample_weight": case.sample_weight}
    outcome = case.call(child, inputs)
    event(f"{'valid' if case.repaired else 'malformed'} input: {outcome.kind}")
    event(f"storage: {case.story[1]}")
    assert outcome.kind in ("returned", "raised"), f"{story}: {outcome.describe()}"
    if case.repaired is None:  # malformed: a clear error
        assert outcome.kind == "raised", f"{story}: malformed input accepted"
        assert {"ValueError", "TypeError"} & set(outcome.bases), (
            f"{story}: {outcome.describe()}\n{outcome.detail}"
        )
        assert any(re.search(name, outcome.message) for name in case.names), (
            f"{story}: the error does not name {case.names}: {outcome.describe()}"
        )
        return
    want = case.call(child, case.repaired)
    assert want.kind in ("returned", "raised"), f"repaired {story}: {want.describe()}"
    if want.kind == "raised":  # the repaired input is refused too (e.g. a tiny
        # split): the hostile one must be refused the same way
        assert (outcome.kind, outcome.error) == ("raised", want.error), story
        return
    assert outcome.kind == "returned", (
        f"{story}: valid input refused: {outcome.describe()}\n{outcome.detail}"
    )
    _assert_same_result(outcome.value, want.value, case.exact)
    for key, value in outcome.value.items():
        assert np.all(np.isfinite(value)) or key == "predict_log_proba", (story, key)


# -- extreme parameters -----------------------------------------------------------

PARAMETER_VALUES = {
    "order": ["backward", "forward"],
    "sampling": ["reshuffle", "cyclic", "once", "flipflop", "with_replacement", "grab"],
    "penalty": [None, "l2", "l1", "elasticnet"],
    "alpha": [0.0, 1e-300, 1e-4, 1e3, 1e300],
    "l1_ratio": [0.0, 0.5, 1.0],
    "fit_intercept": [False, True],
    "max_iter": [1, 2, 5],
    "tol": [None, 0.0, 1e300],
    "n_iter_no_change": [1, 10**6],
    "batch_size": [1, 3, 10**9],
    "learning_rate": ["constant", "invscaling", "optimal", "adaptive"],
    "eta0": [1e-300, 0.01, 1e10, 1e300],
    "power_t": [-1e3, -1.0, 0.0, 1e3],
    "average": [False, True, 1, 10**9],
    "early_stopping": [False, True],
    "validation_fraction": [1e-9, 0.5, 0.99],
}
CLASSIFIER_VALUES = {
    "loss": ["log_loss", "hinge", "modified_huber", "squared_hinge", "perceptron"],
    "multi_class": ["ovr", "multinomial"],
    "class_weight": [None, "balanced", {0: 1e300}, {0: 0.0}],
    "n_jobs": [None, 2],
}
REGRESSOR_VALUES = {
    "loss": [
        "squared_error",
        "huber",
        "epsilon_insensitive",
        "squared_epsilon_insensitive",
    ],
    "epsilon": [0.0, 1e300],
}
#: What an error about parameters may name: a parameter, or the remedy.
PARAMETER_ERROR = "|".join(
    [*PARAMETER_VALUES, *CLASSIFIER_VALUES, *REGRESSOR_VALUES]
    + ["diverg", "overflow", "[Ss]cale", "finite", "class", "split", "validation"]
)


@st.composite
def extreme_parameters(draw):
    kind = draw(st.sampled_from(sorted(hostile.ESTIMATORS)))
    values = {
        **PARAMETER_VALUES,
        **(CLASSIFIER_VALUES if kind == "classifier" else REGRESSOR_VALUES),
    }
    names = draw(st.lists(st.sampled_from(sorted(values)), max_size=6, unique=True))
    params = {name: draw(st.sampled_from(values[name])) for name in names}
    params.setdefault("max_iter", 3)
    entry = draw(st.sampled_from(["fit", "partial_fit", "trajectory"]))
    scale = draw(st.sampled_from([1e-300, 1.0, 1e300]))
    return kind, entry, params, scale


@FUZZ
@given(drawn=extreme_parameters())
def test_extreme_parameters_give_a_clear_error_or_a_finite_model(child, drawn):
    kind, entry, params, scale = drawn
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3)) * scale
    y = np.arange(30) % 3 if kind == "classifier" else rng.normal(size=30)
    outcome = child.call(hostile.run, entry, kind, params, X, y, classes=np.unique(y))
    story = f"{entry} {kind} {params} X scaled by {scale:g}"
    event(outcome.kind)
    assert outcome.kind in ("returned", "raised"), f"{story}: {outcome.describe()}"
    if outcome.kind == "raised":
        assert "ValueError" in outcome.bases, (
            f"{story}: {outcome.describe()}\n{outcome.detail}"
        )
        assert re.search(PARAMETER_ERROR, outcome.message), (
            f"{story}: {outcome.describe()}"
        )
        return
    for key, value in outcome.value.items():
        assert np.all(np.isfinite(value)), f"{story}: {key} = {value}"


# -- the command line ---------------------------------------------------------------

_LABELS = ["1", "-1", "0", "2", "2.5", "nan", "inf", "abc", ""]
_INDICES = ["1", "2", "3", "7", "0", "-1", "99999", "x", "1.5", ""]
_VALUES = ["1.5", "-2", "0", "nan", "inf", "-inf", "1e308", "1e400", "abc", ""]


@st.composite
def svmlight_lines(draw):
    line = [draw(st.sampled_from(_LABELS))]
    if draw(st.integers(0, 9)) == 0:
        line.append("qid:" + draw(st.sampled_from(["1", "-3", "x"])))
    for _ in range(draw(st.integers(0, 4))):
        index, value = draw(st.sampled_from(_INDICES)), draw(st.sampled_from(_VALUES))
        line.append(f"{index}:{value}")
    if draw(st.integers(0, 9)) == 0:
        line.append("# a comment")
    return " ".join(line)


@settings(FUZZ, max_examples=N_EXAMPLES or 20)  # the slowest entry point
@given(
    lines=st.lists(svmlight_lines(), max_size=30),
    valid_rows=st.integers(0, 40),
)
def test_the_command_line_on_a_hostile_data_file_fails_cleanly(
    child, tmp_path_factory, lines, valid_rows
):
    # ``main`` runs in the worker: the same code as ``python -m sklearn_order``
    # (test_cli.py runs that), without a new interpreter per example
    folder = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(valid_rows)
    good = [
        f"{i % 2} 1:{rng.normal():.3f} 2:{rng.normal():.3f} 3:{rng.normal():.3f}"
        for i in range(valid_rows)
    ]
    rows = good + lines
    rng.shuffle(rows)
    data = folder / "data.svm"
    data.write_text("\n".join(rows) + "\n")
    arguments = ["compare", "--data", str(data), "--configs", "backward:reshuffle"]
    arguments += ["--seeds", "1", "--max-iter", "2", "--quiet"]
    arguments += ["--out", str(folder / "out")]
    outcome = child.call(hostile.command_line, arguments)
    story = f"on {rows}: {outcome.describe()}\n{outcome.detail}"
    assert outcome.kind == "returned", story
    status, _, stderr = outcome.value
    event(f"exit status {status}")
    assert status in (0, 1, 2), story
    if status:
        assert stderr.startswith("sklearn-order: error:"), f"{stderr} {story}"
