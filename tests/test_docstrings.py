"""Every public class, function and parameter is documented (numpydoc validation)."""

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

import sklearn_order  # noqa: E402

# The checks enforced: a docstring exists, every parameter is documented (and
# only real ones), with a type and a description; a summary line; returns.
CHECKS = {
    "GL08",
    "PR01",
    "PR02",
    "PR06",
    "PR07",
    "PR10",
    "RT01",
    "SS01",
    "SS03",
    "GL02",
    "GL03",
}
# Result objects are built by the library, not by users: their fields are
# documented as Attributes, which numpydoc reads as undocumented parameters.
EXEMPT = {("sklearn_order.Trajectory", "PR01"), ("sklearn_order.Coalescence", "PR01")}

METHODS = (
    "fit",
    "partial_fit",
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "sparsify",
    "densify",
    "score",
)


def _public_names():
    names = [
        f"sklearn_order.{name}"
        for name in sklearn_order.__all__
        if not name.startswith("__")
    ]
    for estimator in (
        "BackwardSGDClassifier",
        "BackwardSGDRegressor",
        "BackwardSGDClassifierCV",
        "BackwardSGDRegressorCV",
    ):
        names += [
            f"sklearn_order.{estimator}.{method}"
            for method in METHODS
            if hasattr(getattr(sklearn_order, estimator), method)
        ]
    names += ["sklearn_order.Trajectory.thetas", "sklearn_order.Trajectory.step_norms"]
    return names


@pytest.mark.parametrize("name", _public_names())
def test_public_docstring(name):
    result = numpydoc_validate.validate(name)
    errors = [
        (code, message)
        for code, message in result["errors"]
        if code in CHECKS and (name, code) not in EXEMPT
    ]
    assert not errors, errors
