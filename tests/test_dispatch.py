"""Specialization: a kernel's twin per storage binds every row operation it reaches."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import update_rule
from scipy import sparse

from sklearn_order import sampling
from sklearn_order.kernels import cpu, storage
from sklearn_order.kernels.dispatch import (
    reaches_variant_operation,
    specialize,
)

STORAGES = ("dense", "csr")


@pytest.mark.parametrize("variant", STORAGES)
def test_a_twin_is_made_once_per_kernel_and_storage(variant):
    twin = specialize(cpu.apply_steps.kernel, variant)
    assert specialize(cpu.apply_steps.kernel, variant) is twin
    assert cpu.apply_steps.specialized(variant) is twin  # the entry's own twin
    other = "csr" if variant == "dense" else "dense"
    assert specialize(cpu.apply_steps.kernel, other) is not twin
    assert twin.py_func.__code__ is cpu.apply_steps.kernel.py_func.__code__


def test_a_function_that_reaches_no_row_operation_is_its_own_twin():
    assert not reaches_variant_operation(sampling.fill_epoch_order)
    assert specialize(sampling.fill_epoch_order, "dense") is sampling.fill_epoch_order


@pytest.mark.parametrize(
    "variant, implementation",
    [("dense", storage._dense_row_dot), ("csr", storage._csr_row_dot)],
)
def test_twins_bind_the_storage_implementation_and_the_callees_twins(
    variant, implementation
):
    assert specialize(storage.row_dot, variant) is implementation
    predictions = specialize(cpu.predictions, variant)
    assert predictions.py_func.__globals__["row_dot"] is implementation
    # the generic source keeps the generic operation
    assert cpu.predictions.py_func.__globals__["row_dot"] is storage.row_dot
    steps = specialize(cpu.apply_steps.kernel, variant)
    update_map = steps.py_func.__globals__["apply_update_map"]
    assert update_map is specialize(cpu.apply_update_map.kernel, variant)
    # inlined into its callers as the kernel it was made from
    assert predictions.targetoptions.get("inline") == "always"
    assert "inline" not in update_map.targetoptions


_THREADS = """
import threading
from sklearn_order.kernels import cpu
from sklearn_order.kernels.dispatch import specialize

barrier = threading.Barrier(8)
twins = []

def make():
    barrier.wait()
    twins.append(specialize(cpu.apply_steps.kernel, "csr"))

threads = [threading.Thread(target=make) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
assert len(twins) == 8 and all(twin is twins[0] for twin in twins), twins
assert twins[0].py_func.__globals__["apply_update_map"] is specialize(
    cpu.apply_update_map.kernel, "csr"
)
"""


def test_threads_asking_for_a_twin_at_once_get_the_same_one():
    # a fresh process: no twin exists yet when the threads ask
    subprocess.run([sys.executable, "-c", textwrap.dedent(_THREADS)], check=True)


@pytest.mark.parametrize("variant", STORAGES)
def test_the_entry_runs_the_twin_of_the_rows_storage(variant):
    """Called from Python, an entry runs its twin: the same compiled code."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4))
    rows = storage.kernel_rows(sparse.csr_matrix(X) if variant == "csr" else X)
    y = rng.choice([-1.0, 1.0], size=30)
    weights = rng.uniform(0.5, 2.0, size=30)
    coef, intercept = rng.normal(size=4), np.array([0.3])
    rule = update_rule("log_loss", "l2")
    twin = cpu.mean_loss.specialized(variant)
    a = cpu.mean_loss(rows, y, weights, coef, intercept, rule, np.empty(1))
    # the entry compiled (or loaded) the twin for these rows
    assert type(rows) in {s[0].instance_class for s in twin.signatures}
    b = twin(rows, y, weights, coef, intercept, rule, np.empty(1))
    assert a == b
    margins = X @ coef + intercept[0]
    expected = np.mean(weights * np.logaddexp(0.0, -y * margins))
    assert a == pytest.approx(expected, rel=1e-12)
