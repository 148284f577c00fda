"""scikit-learn's estimator checks, for both estimators and every order.

The classifier is checked with each ``multi_class`` too: the multinomial
problem has its own targets, coefficient layout and probabilities.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor
from sklearn_order.orders import ORDERS

ESTIMATORS = [
    Estimator(order=order)
    for Estimator in (BackwardSGDClassifier, BackwardSGDRegressor)
    for order in ORDERS
] + [BackwardSGDClassifier(order=order, multi_class="multinomial") for order in ORDERS]

# scikit-learn expects its own SGD estimators to fail exactly these checks, for
# the same reason: a sample of weight 2 is one update scaled by 2, not two
# updates at different points of the trajectory, so weighting and repeating
# rows give different (stochastic) models.
_WEIGHT_EQUIVALENCE = (
    "SGD: a sample of weight k is one update of size k, not k updates at "
    "different points of the sequence, so weighting is not equivalent to "
    "repeating rows (scikit-learn's SGDClassifier/SGDRegressor fail it too)."
)


def expected_failed_checks(estimator):
    """The checks each estimator is expected to fail, with the reason.

    Only these two: with the default ``eta0="auto"`` every update map
    contracts, so the checks that fit unscaled data (features around 100,
    class weights of 1000) pass in every order.
    """
    return {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHT_EQUIVALENCE,
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHT_EQUIVALENCE,
    }


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
