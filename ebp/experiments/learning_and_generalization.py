"""Experiments of the chapter "Learning and generalization" (paper §1–2).

Each function returns a dataclass of NumPy data; nothing here draws (see
:mod:`ebp.plots.learning_and_generalization`).

- :func:`loss_curves`: the squared error and the cross-entropies, and their gradients, as
  functions of the output unit's weighted sum.
- :func:`digits_classifier`: a 64-30-10 network trained on scikit-learn's digits, with
  accuracy, macro F1, one-vs-rest ROC-AUC and the confusion matrix on the test set.
- :func:`overfitting`: the same network on a small training subset, trained far past the best
  validation loss, over several seeds; where early stopping would have stopped, and what it
  would have saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sklearn import metrics

from ebp import data, train
from ebp import nn as ebp_nn
from ebp._validate import check_choice, check_in_range, check_int, check_probability
from ebp.experiments._shared import check_seeds
from ebp.history import History
from ebp.repro import single_threaded

__all__ = [
    "LOSS_CURVES",
    "DigitsClassifier",
    "LossCurves",
    "Overfitting",
    "digits_classifier",
    "loss_curves",
    "overfitting",
]


# ---------------------------------------------------------------------------------------------
# 1. Losses and their gradients
# ---------------------------------------------------------------------------------------------

LOSS_CURVES: dict[str, str] = {
    "mse_linear": "squared error, linear output",
    "mse_lecun_tanh": "squared error, 1.7159 tanh(2z/3) output",
    "bce": "binary cross-entropy, logistic output",
    "cross_entropy": "cross-entropy, softmax over K classes",
}
"""The curves :func:`loss_curves` computes: key → description."""


@dataclass(frozen=True)
class LossCurves:
    """Per-pattern losses and their derivatives along the output unit's weighted sum ``z``.

    The pattern belongs to the "positive" class: target ``d = 1`` for a single output, class 0
    of ``n_classes`` for the softmax (whose other logits are held at 0).

    Attributes
    ----------
    z
        The grid of weighted sums (logits) of the output unit, shape ``(n,)``.
    loss, grad
        Key of :data:`LOSS_CURVES` → ``E^p(z)`` and ``dE^p/dz`` by autograd, shape ``(n,)``.
    grad_formula
        The same derivatives from their closed forms.
    n_classes
        K for the softmax curve.
    """

    z: np.ndarray
    loss: dict[str, np.ndarray]
    grad: dict[str, np.ndarray]
    grad_formula: dict[str, np.ndarray]
    n_classes: int

    @property
    def max_grad_error(self) -> float:
        """Largest ``|autograd − closed form|`` over all curves and grid points."""
        return max(float(np.max(np.abs(self.grad[k] - self.grad_formula[k]))) for k in self.grad)


def _per_pattern(key: str, z: torch.Tensor, n_classes: int) -> torch.Tensor:
    """The loss of one pattern whose output unit has weighted sum ``z`` (a 0-d tensor)."""
    one = torch.ones(1, 1, dtype=z.dtype)
    if key == "mse_linear":
        return train.mse_loss(z.reshape(1, 1), one)
    if key == "mse_lecun_tanh":
        return train.mse_loss(ebp_nn.lecun_tanh(z).reshape(1, 1), one)
    if key == "bce":
        return train.bce_loss(z.reshape(1, 1), one)
    logits = torch.cat([z.reshape(1), torch.zeros(n_classes - 1, dtype=z.dtype)]).reshape(1, -1)
    target = torch.zeros(1, n_classes, dtype=z.dtype)
    target[0, 0] = 1.0
    return train.cross_entropy_loss(logits, target)


def _formula(key: str, z: np.ndarray, n_classes: int) -> np.ndarray:
    """``dE^p/dz`` in closed form (see the chapter's equations)."""
    if key == "mse_linear":
        return z - 1.0
    if key == "mse_lecun_tanh":
        a, s = 1.7159, 2.0 / 3.0
        f = a * np.tanh(s * z)
        return (f - 1.0) * a * s * (1.0 - np.tanh(s * z) ** 2)
    if key == "bce":
        return 1.0 / (1.0 + np.exp(-z)) - 1.0
    p = np.exp(z) / (np.exp(z) + (n_classes - 1))
    return p - 1.0


def loss_curves(
    z_min: float = -6.0, z_max: float = 6.0, n: int = 241, *, n_classes: int = 10
) -> LossCurves:
    """Losses of :mod:`ebp.train` and their gradients along the output's weighted sum ``z``.

    The gradients come from autograd applied to :func:`ebp.losses.mse_loss`,
    :func:`~ebp.losses.bce_loss` and :func:`~ebp.losses.cross_entropy_loss`, and again from the
    closed forms ``z − 1``, ``(f(z) − 1) f'(z)``, ``σ(z) − 1`` and ``p(z) − 1``.

    Parameters
    ----------
    z_min, z_max
        Range of ``z``.
    n
        Number of grid points, ≥ 2.
    n_classes
        K of the softmax, ≥ 2.
    """
    z_min = check_in_range(z_min, "z_min")
    z_max = check_in_range(z_max, "z_max")
    if not z_max > z_min:
        raise ValueError(f"z_max must be greater than z_min={z_min:g}; got {z_max:g}")
    n = check_int(n, "n", min_value=2)
    n_classes = check_int(n_classes, "n_classes", min_value=2)
    z = np.linspace(z_min, z_max, n)
    zt = torch.as_tensor(z, dtype=torch.float64)
    losses, grads, formulas = {}, {}, {}
    for key in LOSS_CURVES:
        value_and_grad = torch.func.grad_and_value(lambda t, k=key: _per_pattern(k, t, n_classes))
        g, v = torch.func.vmap(value_and_grad)(zt)
        losses[key] = v.numpy()
        grads[key] = g.numpy()
        formulas[key] = _formula(key, z, n_classes)
    return LossCurves(z=z, loss=losses, grad=grads, grad_formula=formulas, n_classes=n_classes)


# ---------------------------------------------------------------------------------------------
# 2. A digits classifier and its metrics
# ---------------------------------------------------------------------------------------------

_CLASSIFIER_LOSSES = ("cross_entropy", "mse")


def _build(loss: str, hidden: int, n_in: int, n_classes: int, seed: int) -> torch.nn.Module:
    """64-``hidden``-10 with LeCun tanh hidden units: logits for CE, LeCun tanh outputs for MSE."""
    out_act = "lecun_tanh" if loss == "mse" else None
    return ebp_nn.mlp((n_in, hidden, n_classes), "lecun_tanh", out_act, seed=seed)


def _targets(loss: str, y: np.ndarray, n_classes: int) -> np.ndarray:
    """Integer labels for cross-entropy; ±1 targets (paper §4.5) for the squared error."""
    return y if loss == "cross_entropy" else data.encode_targets(y, n_classes, "pm1")


def _scores(loss: str, outputs: np.ndarray) -> np.ndarray:
    """Class scores for ROC analysis: softmax probabilities, or the raw outputs for MSE."""
    if loss == "cross_entropy":
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=1, keepdims=True)
    return outputs


@dataclass(frozen=True)
class DigitsClassifier:
    """A network trained on the digits, and what it scores on the held-out test set.

    Attributes
    ----------
    loss
        ``"cross_entropy"`` (softmax over logits) or ``"mse"`` (±1 targets, LeCun tanh outputs).
    sizes
        Layer widths, ``(64, hidden, 10)``.
    epoch, train_loss, test_loss
        Learning curves, recorded before training and after every epoch (the test loss is
        recorded for display only; nothing is chosen with it).
    train_accuracy, accuracy
        Fraction classified correctly, on the training and the test set.
    macro_f1
        F1 score per class, averaged over the classes.
    roc_auc
        One-vs-rest ROC-AUC per class, averaged over the classes.
    roc_auc_per_class
        The per-class values, shape ``(10,)``.
    confusion
        Confusion matrix on the test set: row = true digit, column = predicted, shape ``(10, 10)``.
    n_train, n_test
        Sizes of the training and test sets.
    eta, epochs, batch_size, seed
        The training settings.
    """

    loss: str
    sizes: tuple[int, ...]
    epoch: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_accuracy: float
    accuracy: float
    macro_f1: float
    roc_auc: float
    roc_auc_per_class: np.ndarray
    confusion: np.ndarray
    n_train: int
    n_test: int
    eta: float
    epochs: int
    batch_size: int
    seed: int

    @property
    def test_error(self) -> float:
        """1 − accuracy on the test set."""
        return 1.0 - self.accuracy


def digits_classifier(
    *,
    loss: str = "cross_entropy",
    hidden: int = 30,
    eta: float = 0.1,
    epochs: int = 30,
    batch_size: int = 32,
    seed: int = 0,
) -> DigitsClassifier:
    """Train a 64-``hidden``-10 network on the digits by mini-batch SGD and score it.

    The data are :func:`ebp.data.digits` (75 % train, 25 % test, pixels in [0, 1]).  The hidden
    units use the paper's ``1.7159 tanh(2x/3)``; weights follow its ``σ = fan_in^{-1/2}`` rule.
    Metrics come from scikit-learn on the test set.

    Parameters
    ----------
    loss
        ``"cross_entropy"``: softmax over 10 logits, integer labels;
        ``"mse"``: LeCun tanh outputs and ±1 targets, the paper's set-up (§4.5).
    hidden
        Number of hidden units.
    eta, epochs, batch_size
        SGD settings (see :func:`ebp.train.fit`).
    seed
        Seeds the split, the initial weights and the shuffling.
    """
    loss = check_choice(loss, "loss", _CLASSIFIER_LOSSES)
    hidden = check_int(hidden, "hidden", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    split = data.digits(seed=seed)
    K = split.n_classes
    with single_threaded():
        model = _build(loss, hidden, split.n_features, K, seed)
        history = train.fit(
            model,
            split.X_train,
            _targets(loss, split.y_train, K),
            loss=loss,
            eta=eta,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            X_val=split.X_test,
            y_val=_targets(loss, split.y_test, K),
        )
        outputs = train.predict(model, split.X_test)
        train_pred = train.predict_classes(model, split.X_train)
    pred = outputs.argmax(axis=1)
    scores = _scores(loss, outputs)
    onehot = data.encode_targets(split.y_test, K, "one_hot")
    per_class_auc = metrics.roc_auc_score(onehot, scores, average=None)
    cols = history.as_arrays()
    return DigitsClassifier(
        loss=loss,
        sizes=(split.n_features, hidden, K),
        epoch=cols["epoch"],
        train_loss=cols["train_loss"],
        test_loss=cols["val_loss"],
        train_accuracy=float(np.mean(train_pred == split.y_train)),
        accuracy=float(metrics.accuracy_score(split.y_test, pred)),
        macro_f1=float(metrics.f1_score(split.y_test, pred, average="macro")),
        roc_auc=float(np.mean(per_class_auc)),
        roc_auc_per_class=np.asarray(per_class_auc, dtype=float),
        confusion=metrics.confusion_matrix(split.y_test, pred, labels=np.arange(K)),
        n_train=split.n_train,
        n_test=split.n_test,
        eta=float(eta),
        epochs=int(epochs),
        batch_size=int(batch_size),
        seed=seed,
    )


# ---------------------------------------------------------------------------------------------
# 3. Overfitting and early stopping
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overfitting:
    """Learning curves on a small training subset, over several seeds, and early stopping.

    Arrays with a leading axis of length ``len(seeds)`` hold one row per seed; curves have one
    column per record (before training, then after every epoch).

    Attributes
    ----------
    seeds
        The seeds (each picks the subset, the validation set, the weights and the shuffling).
    epoch
        Epochs of the records, shape ``(epochs + 1,)``.
    train_loss, val_loss
        Cross-entropy on the training subset and on the validation set.
    test_error
        Fraction of the test set misclassified.
    best_epoch
        Epoch of minimal validation loss, per seed.
    stop_epoch, restore_epoch
        Where the patience rule stops, and the epoch of the weights it keeps (the best validation
        loss seen up to the stop), per seed.
    test_error_best, test_error_stop, test_error_last
        Test error at ``best_epoch``, at ``restore_epoch`` and after the last epoch, per seed.
    n_train, n_val, n_test, patience, eta, batch_size, label_noise
        The settings.
    """

    seeds: np.ndarray
    epoch: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    test_error: np.ndarray
    best_epoch: np.ndarray
    stop_epoch: np.ndarray
    restore_epoch: np.ndarray
    test_error_best: np.ndarray
    test_error_stop: np.ndarray
    test_error_last: np.ndarray
    n_train: int
    n_val: int
    n_test: int
    patience: int
    eta: float
    batch_size: int
    label_noise: float

    @property
    def epochs(self) -> int:
        """Number of epochs trained."""
        return int(self.epoch[-1])

    def summary(self) -> dict[str, float | int]:
        """The numbers the chapter quotes, averaged over seeds (test errors in per cent).

        ``epochs_saved`` is the number of epochs early stopping does not train,
        ``epochs − stop_epoch``; ``stop_mean`` is the epoch at which it stops.
        """
        out: dict[str, float | int] = {
            "best_mean": float(self.best_epoch.mean()),
            "best_min": int(self.best_epoch.min()),
            "best_max": int(self.best_epoch.max()),
            "stop_mean": float(self.stop_epoch.mean()),
            "epochs_saved": float((self.epochs - self.stop_epoch).mean()),
            "epochs": self.epochs,
            "n_seeds": int(self.seeds.size),
            "train_last": float(self.train_loss[:, -1].mean()),
            "val_min": float(self.val_loss.min(axis=1).mean()),
            "val_last": float(self.val_loss[:, -1].mean()),
            "n_train": self.n_train,
            "n_val": self.n_val,
            "patience": self.patience,
        }
        for when in ("best", "stop", "last"):
            err = 100 * getattr(self, f"test_error_{when}")
            out[f"err_{when}"] = float(err.mean())
            out[f"err_{when}_sd"] = float(err.std(ddof=1))
        return out


def _flip_labels(
    y: np.ndarray, fraction: float, n_classes: int, rng: np.random.Generator
) -> np.ndarray:
    """A copy of ``y`` with ``round(fraction · P)`` labels changed to a different random class."""
    y = y.copy()
    k = round(fraction * y.size)
    idx = rng.choice(y.size, size=k, replace=False)
    y[idx] = (y[idx] + rng.integers(1, n_classes, size=k)) % n_classes
    return y


def _fit_with_test_error(
    split: data.Split,
    y_train: np.ndarray,
    *,
    hidden: int,
    eta: float,
    epochs: int,
    batch_size: int,
    seed: int,
) -> tuple[History, list[float]]:
    """Train a cross-entropy 64-``hidden``-10 network on ``(split.X_train, y_train)`` with
    validation; returns its history and its test error before training and after each epoch."""
    model = _build("cross_entropy", hidden, split.n_features, split.n_classes, seed)

    def test_error(m: torch.nn.Module) -> float:
        return float(np.mean(train.predict_classes(m, split.X_test) != split.y_test))

    errors = [test_error(model)]
    history = train.fit(
        model,
        split.X_train,
        y_train,
        loss="cross_entropy",
        eta=eta,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        X_val=split.X_val,
        y_val=split.y_val,
        callback=lambda _epoch, m, _h: errors.append(test_error(m)),
    )
    return history, errors


def overfitting(
    *,
    n_train: int = 100,
    n_val: int = 300,
    hidden: int = 30,
    eta: float = 0.5,
    epochs: int = 80,
    batch_size: int = 10,
    patience: int = 20,
    label_noise: float = 0.0,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
) -> Overfitting:
    """Train a 64-``hidden``-10 cross-entropy network far past its best validation loss.

    For each seed, :func:`ebp.data.digits` gives ``n_train`` training and ``n_val`` validation
    digits (stratified, disjoint from the fixed 25 % test set), and the network is trained with
    mini-batch SGD for ``epochs`` epochs while the validation loss and the test error are
    recorded after every epoch.  :func:`ebp.train.early_stopping_epoch` then says where a
    patience rule would have stopped.

    Parameters
    ----------
    n_train, n_val
        Sizes of the training subset and of the validation set.
    hidden
        Number of hidden units.
    eta, epochs, batch_size
        SGD settings.
    patience
        Epochs without a new best validation loss before the rule stops.
    label_noise
        Fraction of training labels replaced by a wrong class, in [0, 1) (0: clean data).
    seeds
        At least one non-negative int.
    """
    n_train = check_int(n_train, "n_train", min_value=10)
    n_val = check_int(n_val, "n_val", min_value=10)
    hidden = check_int(hidden, "hidden", min_value=1)
    epochs = check_int(epochs, "epochs", min_value=1)
    patience = check_int(patience, "patience", min_value=1)
    label_noise = check_probability(label_noise, "label_noise")
    if label_noise >= 1:
        raise ValueError(f"label_noise must be in [0, 1); got {label_noise}")
    seeds = check_seeds(seeds)

    rows: dict[str, list] = {k: [] for k in ("train", "val", "err", "best", "stop", "restore")}
    with single_threaded():
        for seed in seeds:
            split = data.digits(n_train=n_train, n_val=n_val, seed=seed)
            y_train = split.y_train
            if label_noise > 0:
                rng = np.random.default_rng([seed, 1])
                y_train = _flip_labels(y_train, label_noise, split.n_classes, rng)
            history, errors = _fit_with_test_error(
                split, y_train, hidden=hidden, eta=eta, epochs=epochs, batch_size=batch_size,
                seed=seed,
            )  # fmt: skip
            rule = train.early_stopping_epoch(history, patience)
            rows["train"].append(history.train_loss)
            rows["val"].append(history.val_loss)
            rows["err"].append(errors)
            rows["best"].append(rule.best_epoch)
            rows["stop"].append(rule.stop_epoch)
            rows["restore"].append(rule.restore_epoch)
    test_err = np.asarray(rows["err"], dtype=float)
    best = np.asarray(rows["best"], dtype=int)
    restore = np.asarray(rows["restore"], dtype=int)
    at = np.arange(len(seeds))
    return Overfitting(
        seeds=np.asarray(seeds),
        epoch=np.arange(epochs + 1, dtype=float),
        train_loss=np.asarray(rows["train"], dtype=float),
        val_loss=np.asarray(rows["val"], dtype=float),
        test_error=test_err,
        best_epoch=best,
        stop_epoch=np.asarray(rows["stop"], dtype=int),
        restore_epoch=restore,
        test_error_best=test_err[at, best],
        test_error_stop=test_err[at, restore],
        test_error_last=test_err[:, -1],
        n_train=split.n_train,
        n_val=split.n_val,
        n_test=split.n_test,
        patience=patience,
        eta=float(eta),
        batch_size=int(batch_size),
        label_noise=label_noise,
    )
