"""Everything about an order lives on its ``Order``: adding one is one entry."""

import re
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification

from sklearn_order import BackwardSGDClassifier
from sklearn_order.cli import maps_applied
from sklearn_order.diagnostics import trajectory
from sklearn_order.orders import ORDERS, Order, OrderResult

PACKAGE = Path(__file__).resolve().parent.parent / "sklearn_order"


def _fit_backward_once(engine, stop):
    """The backward composition of ``max_iter`` epochs, with no stopping test."""
    models = range(len(engine.problems))
    _, failures = engine.run_epochs(
        models,
        first_epoch=0,
        n_epochs=stop.max_iter,
        reverse=True,
        t_start=0,
        etas=[problem.eta0 for problem in engine.problems],
    )
    return [
        OrderResult(stop.max_iter, m not in failures, failures.get(m)) for m in models
    ]


# a third order, registered by a test module: one entry, built from the
# backward order's parts and a fit procedure of its own
BACKWARD_ONCE = ORDERS["backward"]._replace(
    fit=_fit_backward_once,
    stopping_criterion="(none: the composition of max_iter epochs is returned)",
    evaluated_epochs=lambda n_iter, tol, max_iter: n_iter,
)


@pytest.fixture
def backward_once(monkeypatch):
    monkeypatch.setitem(ORDERS, "backward_once", BACKWARD_ONCE)
    return "backward_once"


def _data():
    return make_classification(n_samples=60, n_features=4, random_state=0)


def test_a_registered_order_is_accepted_and_used_by_fit(backward_once):
    X, y = _data()
    model = BackwardSGDClassifier(order=backward_once, max_iter=6, random_state=0)
    model.fit(X, y)
    reference = BackwardSGDClassifier(
        order="backward", max_iter=6, tol=None, random_state=0
    ).fit(X, y)
    assert_array_equal(model.coef_, reference.coef_)
    assert_array_equal(model.intercept_, reference.intercept_)
    assert model.n_iter_ == 6
    assert model.converged_


def test_a_registered_order_brings_its_parameter_rules(backward_once):
    X, y = _data()
    with pytest.raises(ValueError, match="average is only defined"):
        BackwardSGDClassifier(order=backward_once, average=True).fit(X, y)


def test_a_registered_order_drives_the_diagnostics_and_the_work_accounting(
    backward_once,
):
    X, y = _data()
    model = BackwardSGDClassifier(order=backward_once, random_state=0)
    path = trajectory(model, X, y, steps=np.array([60, 120]))
    assert path.method in ("coupling", "replay")
    reference = trajectory(
        model.set_params(order="backward"), X, y, steps=np.array([60, 120])
    )
    assert_array_equal(path.coef, reference.coef)
    # its own accounting: no doubling test to pay for
    assert maps_applied(backward_once, 8, 60, 1, 1e-3, 8) == 8 * 60
    assert maps_applied("backward", 8, 60, 1, 1e-3, 8) == (1 + 2 + 4 + 8) * 60


def test_an_unknown_order_is_refused_by_name():
    with pytest.raises(ValueError, match="order"):
        BackwardSGDClassifier(order="sideways").fit(*_data())


def test_converged_tells_whether_the_stopping_criterion_was_met():
    X, y = _data()
    with pytest.warns(Warning):
        stopped = BackwardSGDClassifier(max_iter=1, tol=1e-12).fit(X, y)
    assert stopped.converged_ is False
    done = BackwardSGDClassifier(max_iter=50, tol=1e-1, random_state=0).fit(X, y)
    assert done.converged_ is True


def test_no_module_outside_orders_compares_an_order_name():
    names = "|".join(ORDERS)
    comparison = re.compile(
        rf"""(==|!=)\s*["']({names})["']|["']({names})["']\s*(==|!=)"""
        rf"""|\bin\s*[(\[{{]\s*["']({names})["']"""
    )
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "orders.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if comparison.search(line)
    ]
    assert offenders == []


def test_every_order_fills_every_field():
    for order in ORDERS.values():
        assert isinstance(order, Order)
        assert all(field is not None for field in order)
