"""The estimators: scikit-learn wiring, no numerics.

Both estimators fit a linear model ``f(x) = x·w + b`` by composing minibatch
update maps ``T_B`` (see the user guide) in the order chosen by ``order`` over the
batch sequence chosen by ``sampling``. The numerics live in
``kernels/``, the composition orders in ``orders.py``; the shared parameter
handling in ``_base.py``.
"""

from numbers import Integral

import numpy as np
from scipy import sparse
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin, is_regressor
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._base import INIT_NAMES, BaseBackwardSGD, TrainingData, atomic_fit
from ._spec import FitSpec, reported_rows
from ._validation import check_sparse_structure, with_kernel_indices
from .losses import CLASSIFICATION_LOSSES, LOSSES, REGRESSION_LOSSES

_DTYPES = [np.float64, np.float32]
# sparse inputs are converted to CSR: the kernels read rows
_INPUT = dict(dtype=_DTYPES, accept_sparse="csr")


def _checked_structure(X):
    """``X``, its sparse structure checked before anything reads it.

    The kernels and SciPy's conversions and products index a sparse matrix
    without bounds checks: a malformed one must be refused (with a
    ``ValueError`` naming the bad array) before it reaches them. float16
    values, which SciPy's format conversions do not take, become float64
    (what ``validate_data`` makes of them anyway).
    """
    if not sparse.issparse(X):
        return X
    X = check_sparse_structure(X)
    if X.dtype == np.float16:
        X = X.astype(np.float64)
    return X


def _validate_training_data(estimator, X, y, **kwargs):
    """``validate_data`` for training: float C-contiguous rows or CSR.

    A sparse matrix's structure is checked first (:func:`_checked_structure`),
    and its index arrays get the one dtype the kernels are compiled for where
    it fits (:func:`~sklearn_order._validation.with_kernel_indices`).
    """
    X, y = validate_data(
        estimator, _checked_structure(X), y, order="C", **_INPUT, **kwargs
    )
    if sparse.issparse(X):
        X = with_kernel_indices(X)
    return X, y


def _validate_samples(estimator, X):
    """``validate_data`` for prediction, on a fitted estimator.

    Checks a sparse structure as training does: SciPy's product
    ``X @ coef_.T`` would otherwise read out of bounds. Dense rows are made
    C-contiguous, as for training, so that the product (and its rounding)
    does not depend on the caller's memory layout.
    """
    check_is_fitted(estimator)
    X = _checked_structure(X)
    return validate_data(estimator, X, reset=False, order="C", **_INPUT)


def _score_inputs(estimator, X, y, sample_weight):
    """``(X, y, sample_weight)`` for ``score``, checked as ``fit`` checks them.

    scikit-learn's metrics would otherwise refuse bad targets or weights from
    inside themselves, naming their own arguments (``y_true``) or none.

    Raises
    ------
    ValueError
        Naming ``y`` or ``sample_weight``: ``y`` missing, not 1-D, of another
        length than ``X``, not finite (or not numeric, for a regressor), of
        another kind than ``classes_``; weights as ``fit`` refuses them.
    """
    X = _validate_samples(estimator, X)
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__}.score needs y, the true targets of X."
        )
    y = column_or_1d(y, warn=False)
    if is_regressor(estimator) or y.dtype.kind in "fc":
        try:
            y = check_array(
                y,
                ensure_2d=False,
                dtype=np.float64 if is_regressor(estimator) else None,
                input_name="y",
            )
        except (TypeError, ValueError) as error:
            if "y" in str(error).split():
                raise
            raise ValueError(f"y must hold numeric targets: {error}") from error
    if not is_regressor(estimator):
        textual = {
            kind in "OUS" for kind in (y.dtype.kind, estimator.classes_.dtype.kind)
        }
        if len(textual) > 1:
            raise ValueError(
                f"y holds labels of dtype {y.dtype}, but the classifier was "
                f"fitted on classes_ {estimator.classes_.tolist()!r}: strings and "
                "numbers cannot be compared."
            )
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y has {y.shape[0]} targets for the {X.shape[0]} rows of X "
            "(inconsistent numbers of samples)."
        )
    if sample_weight is not None:
        sample_weight = estimator._sample_weight(sample_weight, X)
    return X, y, sample_weight


def _label_classes(y):
    """The sorted classes of the 1-D ``y``, after checking they are class labels.

    ``check_classification_targets`` decides from the dtype and the set of
    values of a 1-D ``y``, so it is run on the classes: the same verdict
    without a second pass over ``y``. Object labels are checked on ``y``
    first, since labels of mixed types cannot be sorted.
    """
    if y.dtype.kind == "O":
        check_classification_targets(y)
    classes = np.unique(y)
    check_classification_targets(classes)
    return classes


_SHARED_PARAMETERS_DOC = """
    order : {"backward", "forward"}, default="backward"
        How the minibatch update maps ``T_1, T_2, …`` are composed.
        ``"forward"`` is ordinary SGD,
        :math:`\\theta_K = T_K \\circ \\dots \\circ T_1(\\theta_0)`.
        ``"backward"`` applies the newest map first to the starting point and
        the oldest last,
        :math:`\\tilde\\theta_K = T_1 \\circ \\dots \\circ T_K(\\theta_0)`; computed
        in one
        reversed pass. With a constant learning rate the backward iterates
        converge to a point where the forward ones keep fluctuating.

    sampling : {"reshuffle", "cyclic", "once", "flipflop", "with_replacement", \
"grab"}, default="reshuffle"
        How each epoch orders the rows before they are cut into batches:
        ``"reshuffle"`` draws a new seeded permutation every epoch;
        ``"cyclic"`` keeps the data order; ``"once"`` reuses one seeded
        permutation; ``"flipflop"`` alternates a seeded permutation and its
        reverse; ``"with_replacement"`` draws rows i.i.d.; ``"grab"`` builds
        each epoch's order from the previous epoch's gradients (online
        gradient balancing). With ``order="backward"``, ``"grab"`` first
        generates GraB's sequence along forward SGD (a forward pass, and
        ``max_iter × n_samples`` stored indices), then composes it backward.

    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        Penalty on the weights (never on the intercept). L2 is applied as
        scikit-learn's per-step weight decay ``w ← (1 − η α (1 − l1_ratio))₊ w``;
        L1 as its proximal map (soft-thresholding by ``η α l1_ratio``), not as
        scikit-learn's cumulative penalty, so each update is a function of the
        coefficients alone.

    alpha : float, default=0.0001
        Regularization strength; also sets the ``"optimal"`` learning rate.

    l1_ratio : float or None, default=0.15
        Elastic-net mixing, ``0 <= l1_ratio <= 1``; used by ``"elasticnet"``
        (``None`` is allowed with the other penalties, as in scikit-learn).

    fit_intercept : bool, default=True
        Whether to fit an (unpenalized) intercept.

    max_iter : int, default=1000
        Maximum number of epochs (passes over the data).

    tol : float or None, default=1e-3
        Stopping tolerance. Forward: stop when the training objective (with
        the epoch's last coefficients) has not improved by ``tol`` for
        ``n_iter_no_change`` epochs (scikit-learn's rule; it evaluates its
        objective along the epoch instead, so epoch counts can differ).
        Backward: evaluate the backward iterate at 1, 2, 4, … epochs (capped
        by ``max_iter``) and stop when two successive ones differ by at most
        ``tol`` times their distance from the constant model (``w = 0`` and,
        for a regression with an intercept, ``b`` the weighted mean target).
        ``None`` runs ``max_iter`` epochs.

    n_iter_no_change : int, default=5
        Epochs without improvement before a forward fit stops (or, with
        ``learning_rate="adaptive"``, before the step size is divided by 5).
        Not used by the backward order.

    batch_size : int, default=1
        Rows per minibatch; the last batch of an epoch may be smaller. The
        gradient of a batch is the mean of its weighted per-row gradients.
        A value above the number of rows means one batch of all rows.

    learning_rate : {"constant", "invscaling", "optimal", "adaptive", "pa1", \
"pa2"}, default="constant"
        Step size of the ``t``-th update map: ``eta0``; ``eta0 / t**power_t``;
        ``1 / (alpha (t0 + t - 1))``; or ``eta0`` divided by 5 whenever the
        forward criterion fires (``"adaptive"``, forward order only).
        ``"pa1"``/``"pa2"``: passive-aggressive steps (scikit-learn ≥ 1.8;
        ``loss="hinge"`` for the classifier, ``"epsilon_insensitive"`` for
        the regressor), with ``eta0`` the aggressiveness ``C``: each row ``i``
        of a batch gets the step ``τ_i = min(C, ℓ_i / ‖x_i‖²)`` (PA-I) or
        ``ℓ_i / (‖x_i‖² + 1 / (2C))`` (PA-II) from its loss ``ℓ_i`` at the
        current coefficients (the intercept is not counted in ``‖x_i‖²``),
        and the update map moves by the batch mean of the rows' steps — the
        mean of the online passive-aggressive updates of the batch's rows, all
        taken from the same coefficients, so the map is defined in both
        orders. With ``batch_size=1`` this is scikit-learn's algorithm; the
        L2 decay of a step is ``(1 − C alpha (1 − l1_ratio))₊``. PA-I skips
        rows with ``x_i = 0`` (a batch of only such rows changes nothing).

    eta0 : "auto" or float, default="auto"
        Initial (or constant) step size. ``"auto"``: a step that cannot
        diverge, from one pass over the data,
        ``1 / (K · max_i s_i (‖x_i‖² + fit_intercept) + alpha (1 − l1_ratio))``
        with ``s_i`` the row's sample × class weight. For the smooth losses
        ``K = L``, the loss's curvature bound (1/4 for ``log_loss``, 1/2 for
        the multinomial loss, 2 for the squared hinge, modified Huber and
        squared epsilon-insensitive losses, 1 for squared error and Huber):
        the largest step for which every update map is a contraction,
        scikit-learn's ``sag`` step size; the backward iterates coalesce
        with it. For the non-smooth hinge and perceptron losses ``K = 1``.
        For the non-smooth ``epsilon_insensitive`` ``K = sqrt(T) / Y``, with
        ``T`` the maps of ``max_iter`` epochs (of one pass for
        ``partial_fit``) and ``Y`` the targets' weighted root mean square:
        the subgradient method's constant step for that horizon, which
        follows the targets' units (see the theory page). It makes unscaled
        data safe, not fast: the step is sized by the largest row, so small
        features and the intercept (whose "feature" is 1) move slowly; scale
        the data for speed. The value used is ``eta0_``; ``partial_fit`` uses
        the smallest value over the chunks seen so far (pass a float for it
        to compose the same maps as ``fit``). With ``"pa1"``/``"pa2"``, ``eta0`` is the
        aggressiveness ``C`` and ``"auto"`` is ``C = 1``. (scikit-learn's SGD
        default is ``0.01``, which diverges on unscaled data.)

    power_t : float, default=0.5
        Exponent of ``"invscaling"``.

    warm_start : bool, default=False
        Start ``fit`` from the previous solution.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training rows (stratified for
        classifiers) and stop when their score has not improved by ``tol``
        for ``n_iter_no_change`` evaluations: every epoch (forward), or every
        evaluated backward iterate at 1, 2, 4, … epochs (backward). For
        one-vs-rest classifiers each class's binary problem is judged on its
        own held-out accuracy, as in scikit-learn. The training rows are visited
        in place, in data order (as in a fit on them alone). ``partial_fit``
        raises a ``ValueError`` with it, as in scikit-learn.

    validation_fraction : float, default=0.1
        Fraction of the rows held out for ``early_stopping``.

    average : bool or int, default=False
        Forward order only: report the running mean of the iterates
        (Polyak–Ruppert averaging) as ``coef_``/``intercept_``; an int ``n``
        starts averaging at the ``n``-th update map (scikit-learn's
        ``average``; with ``batch_size=1`` maps are samples). The backward
        order raises a ``ValueError``: its iterates already converge to a
        point, and this library defines no average of them.

    random_state : int, RandomState instance or None, default=None
        Seeds the batch sequence. The same value gives bit-identical
        coefficients across runs and processes.

    verbose : int, default=0
        Print progress per epoch (forward) or per doubling (backward).

    device : {"cpu", "cuda"}, default="cpu"
        Where the update maps run. ``"cuda"`` runs them on an NVIDIA GPU
        (install the ``cuda`` extra, ``pip install "sklearn_order[cuda]"``):
        dense input, every loss, penalty, schedule and order, every sampling
        scheme except ``"grab"``; results equal the CPU's to rounding and are
        bit-identical run to run on one device. Without a GPU, ``fit`` raises
        an error saying how to get one. The fitted attributes are NumPy
        arrays either way."""

_SHARED_ATTRIBUTES_DOC = """
    n_iter_ : int
        Number of epochs in the returned composition (for one-vs-rest, the
        largest over classes).

    converged_ : bool
        Whether the order's stopping criterion was met before ``max_iter``
        (for one-vs-rest, by every class); ``False`` is also reported by a
        ``ConvergenceWarning``. ``True`` when no criterion was asked:
        ``tol=None``, or a ``partial_fit`` pass.

    t_ : int
        Number of update maps applied to produce the coefficients
        (``n_iter_`` times the batches per epoch; accumulated by
        ``partial_fit``).

    eta0_ : float
        The base step size used: ``eta0``, or the value ``eta0="auto"`` chose
        (with ``partial_fit``, the smallest over the chunks seen so far).

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column
        names."""

_PARTIAL_FIT_NOTE = """
        One pass over the chunk: its batches (sampled by ``sampling``, keyed
        by ``t_``) are composed in the estimator's order on top of the current
        coefficients. For ``order="forward"`` successive calls are exactly
        forward SGD over the concatenated chunks. For ``order="backward"``
        each call applies its chunk's maps newest-first to the current
        coefficients, ``θ ← T_1 ∘ … ∘ T_m (θ)``: the order is backward within
        a chunk while the chunks themselves are composed forward (the newest
        chunk outermost). No stopping criterion is applied."""


def _ovr_normalize(prob):
    """Normalize one-vs-rest probabilities row-wise; all-zero rows become uniform."""
    prob_sum = prob.sum(axis=1)
    all_zero = prob_sum == 0
    if np.any(all_zero):
        prob[all_zero, :] = 1
        prob_sum[all_zero] = prob.shape[1]
    prob /= prob_sum[:, np.newaxis]
    return prob


def _has_proba(estimator):
    if not LOSSES[estimator.loss].has_proba:
        raise AttributeError(
            f"probability estimates are not available for loss={estimator.loss!r}; "
            "use loss='log_loss' or 'modified_huber'."
        )
    return True


class BackwardSGDClassifier(ClassifierMixin, BaseBackwardSGD):
    __doc__ = f"""Linear classifier trained by minibatch SGD composed in a chosen order.

    Binary problems fit one linear model; multiclass problems fit one model
    per class (one-vs-rest; the classes train together, each row read once
    per epoch for all of them), or one softmax model over all classes
    (``multi_class="multinomial"``).

    Parameters
    ----------
    loss : {{"log_loss", "hinge", "modified_huber", "squared_hinge", \
"perceptron", "squared_error", "huber", "epsilon_insensitive", \
"squared_epsilon_insensitive"}}, default="log_loss"
        Loss of the margin ``y·f(x)``, with scikit-learn's SGD formulas:
        logistic, hinge (SVM), smoothed hinge with probabilities, squared
        hinge, and the perceptron's hinge at 0. The regression losses (see
        :class:`BackwardSGDRegressor`) are accepted too, as scikit-learn's
        ``SGDClassifier`` accepts them: each one-vs-rest problem regresses
        ``f(x)`` on the targets ``±1``.

    epsilon : float, default=0.1
        Threshold of ``huber`` and the epsilon-insensitive losses (unused by
        the others).
{_SHARED_PARAMETERS_DOC}

    multi_class : {"ovr", "multinomial"}, default="ovr"
        ``"ovr"``: one binary problem per class (the only choice for losses
        other than ``log_loss``). ``"multinomial"`` (``log_loss`` only): one
        problem whose update map moves every class's model together, with
        the softmax cross-entropy ``log Σ_k exp(f_k(x)) − f_y(x)``; on binary
        problems it reports the difference of the two classes' models.

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes; ``"balanced"`` uses
        ``n_samples / (n_classes * np.bincount(y))``. A sample of class ``c``
        is weighted by ``class_weight[c]`` in every one-vs-rest problem.

    n_jobs : int or None, default=None
        Workers over the one-vs-rest classes (``-1``: all cores): the
        classes are split into that many groups, each trained in one pass
        per epoch by its own worker. Not used with ``device="cuda"``, where
        the classes share each launch.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights, in the dtype of the training data.

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts.

    classes_ : ndarray of shape (n_classes,)
        Class labels.
{_SHARED_ATTRIBUTES_DOC}

    See Also
    --------
    BackwardSGDRegressor : the same machinery for regression.
    sklearn.linear_model.SGDClassifier : scikit-learn's SGD, sample by sample.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_order import BackwardSGDClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(
    ...     StandardScaler(), BackwardSGDClassifier(alpha=0.01, random_state=0)
    ... ).fit(X, y)
    >>> model.score(X, y) > 0.95
    True
    >>> model[-1].n_iter_ < model[-1].max_iter  # the backward iterates agreed
    True
    """

    _parameter_constraints: dict = {
        **BaseBackwardSGD._parameter_constraints,
        "loss": [StrOptions(set(CLASSIFICATION_LOSSES + REGRESSION_LOSSES))],
        "multi_class": [StrOptions({"ovr", "multinomial"})],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        loss="log_loss",
        *,
        order="backward",
        sampling="reshuffle",
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        n_iter_no_change=5,
        batch_size=1,
        learning_rate="constant",
        eta0="auto",
        power_t=0.5,
        epsilon=0.1,
        multi_class="ovr",
        class_weight=None,
        warm_start=False,
        average=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_jobs=None,
        random_state=None,
        verbose=0,
        device="cpu",
    ):
        self.loss = loss
        self.order = order
        self.sampling = sampling
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.epsilon = epsilon
        self.multi_class = multi_class
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.device = device

    # -- targets ------------------------------------------------------------

    def _multinomial(self):
        return self.multi_class == "multinomial"

    def _output_n_jobs(self):
        return self.n_jobs

    def _check_params(self, for_partial_fit=False):
        super()._check_params(for_partial_fit)
        if self.multi_class == "multinomial" and self.loss != "log_loss":
            raise ValueError(
                f"multi_class='multinomial' needs loss='log_loss' (the softmax "
                f"cross-entropy); got loss={self.loss!r}. Use multi_class='ovr' "
                "with this loss."
            )

    def _outputs(self, y, sample_weight, classes):
        """Target and weight vectors: one ``±1`` pair per one-vs-rest problem,
        or the class indices for the multinomial problem."""
        # each row's class index, where it is needed (one-vs-rest targets are
        # built from the labels directly)
        if self.class_weight is not None or self._multinomial():
            class_index = np.searchsorted(classes, y)
        if self.class_weight is None:
            weights = sample_weight
        else:
            per_class = self._class_weights(classes, y)
            weights = sample_weight * per_class[class_index]
            if not weights.any():
                raise ValueError(
                    f"class_weight={self.class_weight!r} and the sample weights "
                    "leave every row with weight zero: there is nothing to fit."
                )
        if self._multinomial():
            return [class_index.astype(np.float64)], [weights]
        positives = classes[1:] if classes.size == 2 else classes
        targets = [np.where(y == c, 1.0, -1.0) for c in positives]
        return targets, [weights] * len(targets)

    def _class_weights(self, classes, y):
        """``class_weight`` per class, checked like sample weights.

        Raises
        ------
        ValueError
            If a class weight is negative, NaN or infinite.
        """
        per_class = compute_class_weight(self.class_weight, classes=classes, y=y)
        bad = ~(np.isfinite(per_class) & (per_class >= 0))
        if bad.any():
            raise ValueError(
                "class_weight must be finite and non-negative; got "
                f"{per_class[bad][0]!r} for class {classes[bad][0]!r}."
            )
        return per_class

    @atomic_fit
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the linear model by composing minibatch update maps.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, dense or sparse (CSR; other sparse formats are
            converted). float32 data is kept in float32.
        y : array-like of shape (n_samples,)
            Class labels.
        coef_init : array-like of shape (n_classes, n_features), default=None
            Starting weights (``(n_features,)`` or ``(1, n_features)`` for
            binary problems). Default: zeros, or the previous solution with
            ``warm_start``.
        intercept_init : array-like of shape (n_classes,), default=None
            Starting intercepts.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        self : BackwardSGDClassifier
            The fitted estimator.
        """
        spec = FitSpec.from_estimator(self)
        *start, names = self._warm_start_init(coef_init, intercept_init)
        data = self._training_data(spec, X, y, sample_weight, *start, names)
        return self._fit_training_data(spec, data)

    def _training_data(
        self, spec, X, y, sample_weight, coef_init, intercept_init, names=INIT_NAMES
    ):
        """Validate; one ``±1`` target and weight vector per one-vs-rest problem.

        ``spec``: the fit's :class:`~sklearn_order._spec.FitSpec`; ``names``:
        where the starting point came from (for errors).
        """
        X, y = _validate_training_data(self, X, y)
        classes = _label_classes(y)
        if classes.size < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got "
                f"{classes.size} class."
            )
        sample_weight = self._sample_weight(sample_weight, X)
        targets, weights = self._outputs(y, sample_weight, classes)
        coef, intercept = spec.trained_rows(
            *self._initial_parameters(
                coef_init,
                intercept_init,
                reported_rows(classes),
                X.shape[1],
                names,
            )
        )
        return TrainingData(X, targets, weights, coef, intercept, classes)

    @atomic_fit
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Compose one pass over ``(X, y)`` onto the current coefficients.
        {note}

        Parameters
        ----------
        X : {{array-like, sparse matrix}} of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,)
            Its labels.
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call, ignored after.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        self : BackwardSGDClassifier
            The updated estimator.
        """
        first_call = not hasattr(self, "classes_")
        spec = FitSpec.from_estimator(self, for_partial_fit=True)
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: a chunk "
                "does not show the class frequencies. Pass a dict of weights."
            )
        if first_call:
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit."
                )
            classes = np.unique(classes)
            if classes.size < 2:
                raise ValueError(
                    "The number of classes has to be greater than one; got "
                    f"{classes.size} class."
                )
        elif classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"classes={classes!r} is not the same as on the first call to "
                f"partial_fit, {self.classes_!r}."
            )
        else:
            classes = self.classes_
        X, y = _validate_training_data(self, X, y, reset=first_call)
        unknown = np.setdiff1d(_label_classes(y), classes)
        if unknown.size:
            raise ValueError(f"y contains labels not in classes: {unknown!r}.")
        sample_weight = self._sample_weight(sample_weight, X)
        targets, weights = self._outputs(y, sample_weight, classes)
        return self._partial_fit_outputs(spec, X, targets, weights, classes, first_call)

    partial_fit.__doc__ = partial_fit.__doc__.format(note=_PARTIAL_FIT_NOTE)

    def _set_coefficients(self, coef, intercept, dtype):
        if self._multinomial() and coef.shape[0] == 2:  # report f_1 − f_0
            coef, intercept = coef[1:] - coef[:1], intercept[1:] - intercept[:1]
        self.coef_ = self._in_dtype(coef, dtype)
        self.intercept_ = self._in_dtype(intercept, dtype)

    # -- prediction ---------------------------------------------------------

    def decision_function(self, X):
        """Signed distance of each sample to each class's hyperplane.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            ``X @ coef_.T + intercept_``; one column (raveled) for binary
            problems, positive for ``classes_[1]``.
        """
        X = _validate_samples(self, X)
        scores = self._linear_scores(X) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on ``(X, y)``, as scikit-learn's classifiers score.

        ``y`` and ``sample_weight`` are checked as ``fit`` checks them, and
        a bad one is refused by name.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True labels of ``X``.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Sample weights (non-negative, not all zero).

        Returns
        -------
        score : float
            Weighted accuracy of ``self.predict(X)``.
        """
        return super().score(*_score_inputs(self, X, y, sample_weight))

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            indices = (scores > 0).astype(int)
        else:
            indices = scores.argmax(axis=1)
        return self.classes_[indices]

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities (``log_loss`` and ``modified_huber`` only).

        ``log_loss``: the logistic function of each decision value;
        ``modified_huber``: ``(clip(decision, -1, 1) + 1) / 2``. Multiclass
        one-vs-rest probabilities are normalized to sum to one per row (rows
        where every class gets zero become uniform); multinomial ones are the
        softmax of the decision values.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        if self._multinomial() and scores.ndim == 2:
            return softmax(scores, axis=1)
        if self.loss == "log_loss":
            positive = expit(scores)
        else:
            positive = (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
        if positive.ndim == 1:
            return np.column_stack([1.0 - positive, positive])
        return _ovr_normalize(positive)

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class BackwardSGDRegressor(RegressorMixin, BaseBackwardSGD):
    __doc__ = f"""Linear regressor trained by minibatch SGD composed in a chosen order.

    Parameters
    ----------
    loss : {{"squared_error", "huber", "epsilon_insensitive", \
"squared_epsilon_insensitive"}}, default="squared_error"
        Loss of the residual, with scikit-learn's SGD formulas: half squared
        error, Huber (quadratic within ``epsilon``), and the linear and
        squared epsilon-insensitive losses of support vector regression.

    epsilon : float, default=0.1
        Threshold of ``huber`` and the epsilon-insensitive losses.
{_SHARED_PARAMETERS_DOC}

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Weights, in the dtype of the training data.

    intercept_ : ndarray of shape (1,)
        Intercept.
{_SHARED_ATTRIBUTES_DOC}

    See Also
    --------
    BackwardSGDClassifier : the same machinery for classification.
    sklearn.linear_model.SGDRegressor : scikit-learn's SGD, sample by sample.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_order import BackwardSGDRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(),
    ...                       BackwardSGDRegressor(random_state=0)).fit(X, y)
    >>> model.score(X, y) > 0.45
    True
    """

    _parameter_constraints: dict = {
        **BaseBackwardSGD._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        order="backward",
        sampling="reshuffle",
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        n_iter_no_change=5,
        batch_size=1,
        learning_rate="constant",
        eta0="auto",
        power_t=0.25,
        epsilon=0.1,
        warm_start=False,
        average=False,
        early_stopping=False,
        validation_fraction=0.1,
        random_state=None,
        verbose=0,
        device="cpu",
    ):
        self.loss = loss
        self.order = order
        self.sampling = sampling
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.epsilon = epsilon
        self.warm_start = warm_start
        self.average = average
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.verbose = verbose
        self.device = device

    def _validate_xy(self, X, y, reset):
        X, y = _validate_training_data(self, X, y, y_numeric=True, reset=reset)
        return X, np.ascontiguousarray(y, dtype=np.float64)

    @atomic_fit
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the linear model by composing minibatch update maps.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, dense or sparse (CSR; other sparse formats are
            converted). float32 data is kept in float32.
        y : array-like of shape (n_samples,)
            Targets.
        coef_init : array-like of shape (n_features,), default=None
            Starting weights. Default: zeros, or the previous solution with
            ``warm_start``.
        intercept_init : array-like of shape (1,), default=None
            Starting intercept.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        self : BackwardSGDRegressor
            The fitted estimator.
        """
        spec = FitSpec.from_estimator(self)
        *start, names = self._warm_start_init(coef_init, intercept_init)
        data = self._training_data(spec, X, y, sample_weight, *start, names)
        return self._fit_training_data(spec, data)

    def _training_data(
        self, spec, X, y, sample_weight, coef_init, intercept_init, names=INIT_NAMES
    ):
        """Validate; the one target and weight vector of the regression.

        ``spec``: the fit's :class:`~sklearn_order._spec.FitSpec` (one row
        either way); ``names``: where the starting point came from (for
        errors).
        """
        X, y = self._validate_xy(X, y, reset=True)
        sample_weight = self._sample_weight(sample_weight, X)
        coef, intercept = self._initial_parameters(
            coef_init, intercept_init, 1, X.shape[1], names
        )
        return TrainingData(X, [y], [sample_weight], coef, intercept, None)

    @atomic_fit
    def partial_fit(self, X, y, sample_weight=None):
        """Compose one pass over ``(X, y)`` onto the current coefficients.
        {note}

        Parameters
        ----------
        X : {{array-like, sparse matrix}} of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,)
            Its targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        self : BackwardSGDRegressor
            The updated estimator.
        """
        first_call = not hasattr(self, "coef_")
        spec = FitSpec.from_estimator(self, for_partial_fit=True)
        X, y = self._validate_xy(X, y, reset=first_call)
        sample_weight = self._sample_weight(sample_weight, X)
        return self._partial_fit_outputs(
            spec, X, [y], [sample_weight], None, first_call
        )

    partial_fit.__doc__ = partial_fit.__doc__.format(note=_PARTIAL_FIT_NOTE)

    def _set_coefficients(self, coef, intercept, dtype):
        self.coef_ = self._in_dtype(coef[0], dtype)
        self.intercept_ = self._in_dtype(intercept, dtype)

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R² on ``(X, y)``, as scikit-learn's
        regressors score.

        ``y`` and ``sample_weight`` are checked as ``fit`` checks them, and
        a bad one is refused by name.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True targets of ``X``.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Sample weights (non-negative, not all zero).

        Returns
        -------
        score : float
            R² of ``self.predict(X)``.
        """
        return super().score(*_score_inputs(self, X, y, sample_weight))

    def predict(self, X):
        """Predict targets, ``X @ coef_ + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        X = _validate_samples(self, X)
        return self._linear_scores(X)[:, 0] + self.intercept_[0]
