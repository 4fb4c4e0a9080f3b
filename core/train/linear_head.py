"""The head fitted exactly: an L2-regularised logistic regression on the cached features.

With no hidden layer the head is one softmax Dense on the frozen backbone's
pooled features, which is a multinomial logistic regression.  Training it with
Adam for a few epochs on a few hundred images leaves it under-fitted (and early
stopping on a tiny validation set stops it at a noisy epoch); solving it to
convergence, full batch, with the L2 strength chosen by cross-validation on the
training images, is both faster and more accurate (measured on 200 real ELPV
images in 8 classes with an ImageNet-initialised MobileNetV2: held-out accuracy
0.325 with the Adam head, 0.495 with this one; see README, Performance).  The result is written
into the classifier's own output layer, so fine-tuning continues from it.
"""

from __future__ import annotations

from dataclasses import dataclass
import warnings
from typing import Optional

import numpy as np

from core.events import Log, Progress, emit
from core.model.build import exact_fit_planned  # the rule lives with the model's (the Runs page reads it)

#: Inverse L2 strengths tried (scikit-learn's C); the best mean held-out log-loss wins.
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
CV_FOLDS = 3
MAX_ITER = 500


@dataclass
class LinearHead:
    kernel: np.ndarray  # (features, classes)
    bias: np.ndarray  # (classes,)
    strength: float  # the chosen C
    cv_loss: dict  # C -> mean held-out log-loss


def planned_epochs(cfg) -> dict[str, int]:
    """The most epochs each phase of a run of ``cfg`` trains (one machine): the head's
    one exact fit or its epochs, and no fine-tuning when nothing is unfrozen, as
    :meth:`core.train.session.Session.plan` plans them.  The Train page's "epochs at
    most" and its "best: epoch 1 (head 1/1)" read it ("head 1/5" named an epoch that
    never ran)."""
    from core.model.build import phase_two_frozen

    t = cfg.train
    unfrozen = not phase_two_frozen(None, cfg.model)
    return {"head": min(t.epochs, 1) if exact_fit_planned(cfg) else t.epochs,
            "fine_tune": t.fine_tune_epochs if unfrozen else 0}


def usable(model) -> bool:
    """Whether the model's head is exactly one softmax layer on the pooled features."""
    names = {layer.name for layer in model.layers}
    return "dense" not in names


def fit_linear_head(per_view: list, n_classes: int, class_weight: Optional[dict], seed: int,
                    listener=None, cancel=None) -> LinearHead:
    """Choose C by CV on the first view (one row per image), then fit on every view.

    ``per_view``: [(features, one-hot labels)] as :func:`core.train.fast_head.cached_features`
    gives them.  One BLAS thread: on problems this small more threads only fight
    over the cores.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    x0, y0 = per_view[0][0], per_view[0][1].argmax(1)
    x_all = np.concatenate([f for f, _ in per_view])
    y_all = np.concatenate([y.argmax(1) for _, y in per_view])
    with threadpool_limits(1), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        losses = cv_losses(x0, y0, n_classes, class_weight, seed, listener, cancel)
        strength = min(losses, key=lambda c: (losses[c], -c)) if losses else 0.1
        clf = LogisticRegression(C=strength, max_iter=MAX_ITER, class_weight=class_weight)
        clf.fit(x_all, y_all)
    _report_unconverged(caught, listener)
    kernel = np.zeros((x_all.shape[1], n_classes), np.float32)
    bias = np.full((n_classes,), -30.0, np.float32)  # a class absent from training: never
    if len(clf.classes_) == 2 and n_classes >= 2:  # sklearn's binary form: one column
        coef = np.concatenate([-clf.coef_ / 2, clf.coef_ / 2])
        icpt = np.concatenate([-clf.intercept_ / 2, clf.intercept_ / 2])
    else:
        coef, icpt = clf.coef_, clf.intercept_
    kernel[:, clf.classes_] = coef.T
    bias[clf.classes_] = icpt
    how = (f"chosen by {cv_folds(y0, n_classes)}-fold cross-validation" if losses else
           "(too few images in a class to cross-validate: the default)")
    emit(listener, Log(f"head fitted as a logistic regression on {len(y_all)} cached feature "
                       f"rows, L2 strength C={strength:g} {how}"))
    return LinearHead(kernel, bias, strength, losses)


def _report_unconverged(caught: list, listener) -> None:
    """One line in the run's log instead of scikit-learn's warnings on the terminal.

    lbfgs stopping at :data:`MAX_ITER` on a weakly regularised candidate is normal
    here (the cross-validation then scores that candidate as it is); the user
    should not see a library's multi-line warning for it, once per fold.
    """
    from sklearn.exceptions import ConvergenceWarning

    unconverged = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    for w in caught:
        if w not in unconverged:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if unconverged:
        emit(listener, Log(f"the head's solver stopped at {MAX_ITER} iterations in "
                           f"{len(unconverged)} of its fits (weak regularisation); "
                           "each was used as it stood"))


def cv_folds(y: np.ndarray, n_classes: int) -> int:
    """Folds of the cross-validation: :data:`CV_FOLDS`, fewer for a class that small (<2:
    none can run)."""
    counts = np.bincount(y, minlength=n_classes)
    return min(CV_FOLDS, int(counts[counts > 0].min()))


def cv_losses(x: np.ndarray, y: np.ndarray, n_classes: int, class_weight: Optional[dict],
              seed: int, listener=None, cancel=None) -> dict:
    """Mean held-out log-loss of each C of :data:`C_GRID` ({} when a class is too small)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    folds = cv_folds(y, n_classes)
    if folds < 2:
        return {}
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y))
    labels = np.unique(y)
    out = {}
    for i, c in enumerate(C_GRID):
        total = 0.0
        for train, test in splits:
            if cancel is not None:
                cancel.raise_if_cancelled()
            clf = LogisticRegression(C=c, max_iter=MAX_ITER, class_weight=class_weight)
            clf.fit(x[train], y[train])
            total += log_loss(y[test], clf.predict_proba(x[test]), labels=labels)
        out[c] = total / len(splits)
        emit(listener, Progress(i + 1, len(C_GRID), "choosing the head's regularisation"))
    return out


def set_head(model, head: LinearHead) -> None:
    """Write the fitted head into the classifier's output layer."""
    from core.model.build import OUTPUT_LAYER

    layer = model.get_layer(OUTPUT_LAYER)
    layer.kernel.assign(head.kernel.astype(layer.kernel.dtype))
    layer.bias.assign(head.bias.astype(layer.bias.dtype))


def head_phase(session, lr: float) -> None:
    """The head phase of ``session`` (:class:`core.train.session.Session`) as one exact fit
    on its cached features: one epoch in the history."""
    from core.train.callbacks import log_one_epoch
    from core.train.fast_head import head_model

    loop, cfg = session.loop, session.cfg
    per_view, val = session.head_features()
    with session.strategy.scope():
        loop.fit_model = head_model(session.model, per_view[0][0].shape[-1])
        session.compile(loop.fit_model, lr)
    loop.on_epoch_begin(0)
    head = fit_linear_head(per_view, len(session.classes), session.class_weight, cfg.train.seed,
                           session.listener, session.cancel)
    set_head(session.model, head)
    logs = dict(zip(("loss", "accuracy"), loop.fit_model.evaluate(
        *per_view[0], batch_size=session.worker_batch, verbose=0)))
    if val is not None:
        v = loop.fit_model.evaluate(val[0], val[1], batch_size=session.worker_batch, verbose=0)
        logs.update(val_loss=v[0], val_accuracy=v[1])
    log_one_epoch(loop, loop.fit_model, 0, logs)
    loop.on_epoch_end(0, logs)
