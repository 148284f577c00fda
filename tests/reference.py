"""Slow, plain-NumPy reference implementations every kernel is tested against.

Written from the formulas (the user guide's update map, scikit-learn's loss
definitions), independently of the package's code: no import from
``sklearn_order`` except the loss names.
"""

import numpy as np
from scipy.special import expit


def loss_derivative(loss, y, p, param):
    """dℓ/dp for arrays ``y``, ``p`` (classification targets in {-1, +1})."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    z = y * p
    if loss == "log_loss":
        return -y * expit(-z)
    if loss == "hinge":
        return np.where(z <= 1.0, -y, 0.0)
    if loss == "perceptron":
        return np.where(z <= 0.0, -y, 0.0)
    if loss == "squared_hinge":
        return np.where(z < 1.0, -2.0 * y * (1.0 - z), 0.0)
    if loss == "modified_huber":
        return np.where(
            z >= 1.0, 0.0, np.where(z >= -1.0, -2.0 * y * (1.0 - z), -4.0 * y)
        )
    r = p - y
    if loss == "squared_error":
        return r
    if loss == "huber":
        return np.clip(r, -param, param)
    if loss == "epsilon_insensitive":
        return np.where(np.abs(r) > param, np.sign(r), 0.0)
    if loss == "squared_epsilon_insensitive":
        return np.where(np.abs(r) > param, 2.0 * np.sign(r) * (np.abs(r) - param), 0.0)
    raise ValueError(loss)


def loss_value(loss, y, p, param):
    """ℓ(p, y) for arrays."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    z = y * p
    if loss == "log_loss":
        return np.logaddexp(0.0, -z)
    if loss == "hinge":
        return np.maximum(0.0, 1.0 - z)
    if loss == "perceptron":
        return np.maximum(0.0, -z)
    if loss == "squared_hinge":
        return np.maximum(0.0, 1.0 - z) ** 2
    if loss == "modified_huber":
        return np.where(z >= -1.0, np.maximum(0.0, 1.0 - z) ** 2, -4.0 * z)
    a = np.abs(p - y)
    if loss == "squared_error":
        return 0.5 * a**2
    if loss == "huber":
        return np.where(a <= param, 0.5 * a**2, param * (a - 0.5 * param))
    if loss == "epsilon_insensitive":
        return np.maximum(0.0, a - param)
    if loss == "squared_epsilon_insensitive":
        return np.maximum(0.0, a - param) ** 2
    raise ValueError(loss)


def passive_aggressive_steps(variant, C, loss_values, sqnorms):
    """Per-row passive-aggressive steps ``τ_i`` (Crammer et al., 2006).

    PA-I: ``min(C, ℓ_i / ‖x_i‖²)``, 0 where ``x_i = 0``; PA-II:
    ``ℓ_i / (‖x_i‖² + 1 / (2C))``.
    """
    if variant == "pa1":
        safe = np.where(sqnorms > 0.0, sqnorms, 1.0)
        return np.where(sqnorms > 0.0, np.minimum(C, loss_values / safe), 0.0)
    return loss_values / (sqnorms + 0.5 / C)


def update_map(
    X,
    y,
    s,
    rows,
    w,
    b,
    *,
    loss,
    param,
    l2,
    l1,
    eta,
    fit_intercept=True,
    passive_aggressive=None,
):
    """``T_B(θ)`` for the batch ``rows``; returns new ``(w, b)``.

    ``T_B(θ) = S_{η l1}((1 − η l2)₊ w − η ḡ_w)``, ``b − η ḡ_b``, with
    ``ḡ = mean_{i∈B} s_i ℓ'(x_i·w + b, y_i) (x_i, 1)``.

    ``passive_aggressive="pa1"``/``"pa2"``: ``η`` inside the mean is replaced
    by each row's :func:`passive_aggressive_steps` (``C = eta``, which still
    sets the decay and the threshold); under PA-I a batch whose rows are all
    zero is the identity.
    """
    Xb = np.asarray(X[rows], dtype=np.float64)
    p = Xb @ w + b
    if passive_aggressive is None:
        steps = eta
    else:
        sqnorms = (Xb**2).sum(axis=1)
        if passive_aggressive == "pa1" and not sqnorms.any():
            return np.array(w, dtype=np.float64), b
        steps = passive_aggressive_steps(
            passive_aggressive, eta, loss_value(loss, y[rows], p, param), sqnorms
        )
    g = steps * s[rows] * loss_derivative(loss, y[rows], p, param) / len(rows)
    w_new = max(0.0, 1.0 - eta * l2) * w - Xb.T @ g
    if l1 > 0:
        w_new = np.sign(w_new) * np.maximum(np.abs(w_new) - eta * l1, 0.0)
    b_new = b - g.sum() if fit_intercept else b
    return w_new, b_new


def multinomial_update_map(X, y, s, rows, W, b, *, l2, l1, eta, fit_intercept=True):
    """``T_B(θ)`` of the multinomial (softmax cross-entropy) loss.

    ``W`` has one row per class, ``b`` one intercept per class, ``y`` holds
    class indices; returns new ``(W, b)``.
    """
    Xb = np.asarray(X[rows], dtype=np.float64)
    P = Xb @ W.T + b
    P = np.exp(P - P.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    P[np.arange(len(rows)), y[rows].astype(int)] -= 1.0  # ∂ℓ/∂p_k
    G = eta * s[rows, None] * P / len(rows)
    W_new = max(0.0, 1.0 - eta * l2) * W - G.T @ Xb
    if l1 > 0:
        W_new = np.sign(W_new) * np.maximum(np.abs(W_new) - eta * l1, 0.0)
    b_new = b - G.sum(axis=0) if fit_intercept else b
    return W_new, b_new


def multinomial_loss(X, y, W, b):
    """Per-row softmax cross-entropy ``log Σ_k exp(p_k) − p_y``."""
    P = np.asarray(X, dtype=np.float64) @ W.T + b
    top = P.max(axis=1)
    log_sum = top + np.log(np.exp(P - top[:, None]).sum(axis=1))
    return log_sum - P[np.arange(len(y)), y.astype(int)]


# -- sampling schemes, from their definitions ----------------------------------
#
# SplitMix64 (Steele, Lea & Flood, 2014) on Python integers modulo 2**64, a
# Fisher-Yates shuffle, and each scheme's rule: written from the definitions,
# not from the package's compiled generator, so the two can check each other.

_MASK64 = 2**64 - 1


def splitmix64(state):
    """One SplitMix64 step on Python integers: ``(new_state, output)``."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def _uniform_below(state, bound):
    """An integer in ``[0, bound)`` from the top 53 bits of one output."""
    state, r = splitmix64(state)
    return state, int(float(r >> 11) * 2.0**-53 * bound)


def _epoch_state(seed, epoch):
    """The generator state of one epoch: the seed's first output, keyed by epoch."""
    _, mixed_seed = splitmix64(seed)
    return mixed_seed ^ ((epoch * 0xD1B54A32D192ED03) & _MASK64)


def _permutation(n, state):
    """Fisher-Yates shuffle of ``range(n)``, drawing from ``state``."""
    out = list(range(n))
    for i in range(n - 1, 0, -1):
        state, j = _uniform_below(state, i + 1)
        out[i], out[j] = out[j], out[i]
    return out


def epoch_order(sampling, n_samples, seed, epoch):
    """The row order of one epoch of a seeded scheme, from its definition.

    ``"cyclic"``: data order. ``"reshuffle"`` (and ``"grab"``'s first epoch):
    a new permutation each epoch. ``"once"``: epoch 0's permutation, every
    epoch. ``"flipflop"``: permutation ``p`` in epoch ``2p``, reversed in epoch
    ``2p + 1``. ``"with_replacement"``: ``n_samples`` independent uniform draws.
    """
    if sampling == "cyclic":
        order = list(range(n_samples))
    elif sampling == "reshuffle" or (sampling == "grab" and epoch == 0):
        order = _permutation(n_samples, _epoch_state(seed, epoch))
    elif sampling == "once":
        order = _permutation(n_samples, _epoch_state(seed, 0))
    elif sampling == "flipflop":
        order = _permutation(n_samples, _epoch_state(seed, epoch // 2))
        if epoch % 2 == 1:
            order = order[::-1]
    elif sampling == "with_replacement":
        state, order = _epoch_state(seed, epoch), []
        for _ in range(n_samples):
            state, row = _uniform_below(state, n_samples)
            order.append(row)
    else:
        raise ValueError(f"no seeded order for {sampling!r} in epoch {epoch}")
    return np.array(order, dtype=np.int64)


def batch_sequence(sampling, n_samples, batch_size, seed, n_epochs):
    """The minibatches of ``n_epochs`` epochs in training order (row-index arrays)."""
    batches = []
    for epoch in range(n_epochs):
        order = epoch_order(sampling, n_samples, seed, epoch)
        batches += [order[s : s + batch_size] for s in range(0, n_samples, batch_size)]
    return batches


def compose(X, y, s, batches, w0, b0, *, order, **rule):
    """Compose the maps of ``batches`` (oldest first) onto ``(w0, b0)``.

    forward: ``T_K ∘ … ∘ T_1``; backward: ``T_1 ∘ … ∘ T_K``. ``rule`` holds
    the keyword arguments of :func:`update_map`; ``eta`` may be a callable of
    the 1-based step index ``t``.
    """
    eta = rule.pop("eta")
    step = eta if callable(eta) else (lambda t: eta)
    indexed = list(enumerate(batches, start=1))
    if order == "backward":
        indexed = indexed[::-1]
    w, b = np.array(w0, dtype=np.float64), float(b0)
    for t, rows in indexed:
        w, b = update_map(X, y, s, rows, w, b, eta=step(t), **rule)
    return w, b


def forward_iterates(X, y, s, batches, w0, b0, *, multinomial=False, **rule):
    """Every iterate of forward SGD: ``θ_k = T_k(θ_{k−1})`` for ``k = 1 … K``.

    ``rule`` holds the keyword arguments of :func:`update_map` (of
    :func:`multinomial_update_map` with ``multinomial``, where ``w0`` has one
    row per class and ``b0`` one intercept per class); ``eta`` may be a
    callable of the 1-based step index ``t``.

    Returns
    -------
    W : ndarray of shape (K, *w0.shape)
    B : ndarray of shape (K, *b0.shape)
    """
    eta = rule.pop("eta")
    step = eta if callable(eta) else (lambda t: eta)
    update = multinomial_update_map if multinomial else update_map
    w, b = np.array(w0, dtype=np.float64), np.array(b0, dtype=np.float64)
    W, B = [], []
    for t, rows in enumerate(batches, start=1):
        w, b = update(X, y, s, rows, w, b, eta=step(t), **rule)
        W.append(np.array(w, dtype=np.float64))
        B.append(np.array(b, dtype=np.float64))
    return np.array(W), np.array(B)


def running_mean(iterates, start):
    """Polyak–Ruppert average: the plain mean of ``iterates[start − 1:]``.

    ``start`` is the 1-based index of the first iterate averaged. Each sum is
    correctly rounded (``math.fsum``): the reference's own error is below an
    ulp, whatever the order a kernel adds in.
    """
    import math

    tail = np.asarray(iterates, dtype=np.float64)[start - 1 :]
    flat = tail.reshape(len(tail), -1)
    means = [math.fsum(column) / len(tail) for column in flat.T]
    return np.array(means).reshape(tail.shape[1:])


def grab_forward(X, y, s, first_order, n_epochs, batch_size, w0, b0, **rule):
    """Forward SGD with GraB orders (Lu, Guo & De Sa, 2022), in plain NumPy.

    Epoch 0 visits ``first_order``; while epoch ``e`` runs, each example's
    gradient ``g_i = s_i ℓ'(x_i·w + b, y_i) (x_i, 1)`` at its batch's
    pre-update point is balanced against the previous epoch's mean gradient
    ``m``: ``c = g_i − m``; if ``‖S + c‖ < ‖S − c‖`` it joins the front of the
    next order (``S += c``), else the back, filled from the end (``S −= c``).

    Returns
    -------
    w, b : the final parameters
    orders : list of the epochs' row orders (``n_epochs + 1`` of them)
    """
    n, d = X.shape
    eta = rule.pop("eta")
    w, b = np.array(w0, dtype=np.float64), float(b0)
    orders = [np.asarray(first_order)]
    stale_mean = np.zeros(d + 1)
    for _ in range(n_epochs):
        order = orders[-1]
        running, mean = np.zeros(d + 1), np.zeros(d + 1)
        front, back = [], []
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            Xb = np.asarray(X[rows], dtype=np.float64)
            derivative = s[rows] * loss_derivative(
                rule["loss"], y[rows], Xb @ w + b, rule["param"]
            )
            for row, a, x in zip(rows, derivative, Xb):
                g = a * np.append(x, 1.0)
                c = g - stale_mean
                if np.linalg.norm(running + c) < np.linalg.norm(running - c):
                    running += c
                    front.append(row)
                else:
                    running -= c
                    back.append(row)
                mean += g / n
            w, b = update_map(X, y, s, rows, w, b, eta=eta, **rule)
        orders.append(np.array(front + back[::-1]))
        stale_mean = mean
    return w, b, orders
