"""The head fitted exactly as a regularised logistic regression on cached features."""

import numpy as np
import pytest

from core.events import EpochEnd, Log
from core.runs.folder import RunFolder
from weights_fixture import make_bright_dark, tiny_config

pytestmark = pytest.mark.usefixtures("eager")  # bookkeeping, not the compiled graph: conftest.eager


def test_linear_head_is_one_exact_fit_then_fine_tuning_continues(tmp_path, tiny_weights):
    from core.train.engine import train

    data = make_bright_dark(tmp_path / "data")
    cfg = tiny_config(data, tiny_weights, head_solver="logistic", epochs=5)
    events = []
    result = train(cfg, tmp_path / "run", listener=events.append)
    assert result.status == "completed"
    phases = [e.phase for e in events if isinstance(e, EpochEnd)]
    assert phases == ["head", "fine_tune"]  # the head is one fit, not five epochs
    assert any("logistic regression" in e.message for e in events if isinstance(e, Log))
    hist = RunFolder(result.run_dir).history()
    assert hist[0]["val_accuracy"] >= 0.8 and result.metrics.accuracy >= 0.8
    # The exact fit has its TensorBoard point: a head-only run had no logs, and its greyed
    # "Open in TensorBoard" said tensorboard had not been installed.
    from core.train.tensorboard import unavailable_reason

    logs = RunFolder(result.run_dir).logs_dir / "head"
    assert list((logs / "train").glob("events.out.tfevents.*"))
    assert list((logs / "validation").glob("events.out.tfevents.*"))
    assert unavailable_reason(result.run_dir) == ""


def test_fitted_head_matches_scikit_learn_probabilities():
    from sklearn.linear_model import LogisticRegression

    from core.train.linear_head import fit_linear_head

    rng = np.random.default_rng(0)
    for n_classes in (2, 3):
        y = np.repeat(np.arange(n_classes), 12)
        x = rng.normal(size=(len(y), 5)).astype(np.float32) + y[:, None]
        head = fit_linear_head([(x, np.eye(n_classes)[y])], n_classes, None, 0)
        logits = x @ head.kernel + head.bias
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        ref = LogisticRegression(C=head.strength, max_iter=500).fit(x, y).predict_proba(x)
        np.testing.assert_allclose(probs, ref, atol=1e-4)
        assert set(head.cv_loss) and head.strength in head.cv_loss


def test_an_unconverged_solver_is_one_log_line_not_library_warnings(monkeypatch):
    """scikit-learn's ConvergenceWarning used to reach the terminal of `train`, several
    lines per fold; now it is one line in the run's log and nothing else escapes."""
    import warnings

    from core.train import linear_head

    monkeypatch.setattr(linear_head, "MAX_ITER", 1)  # lbfgs cannot converge in one step
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 12)
    x = rng.normal(size=(len(y), 5)).astype(np.float32) + y[:, None]
    events = []
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        linear_head.fit_linear_head([(x, np.eye(3)[y])], 3, None, 0, listener=events.append)
    assert not [w for w in escaped if "converge" in str(w.message)]
    notes = [e.message for e in events if isinstance(e, Log) and "stopped at 1 iterations" in e.message]
    assert len(notes) == 1


def test_the_log_says_how_the_strength_was_chosen():
    """One image per class: no cross-validation could run, yet the log said "3-fold"."""
    from core.train.linear_head import fit_linear_head

    rng = np.random.default_rng(0)
    for per_class, words in ((1, "too few images in a class to cross-validate"),
                             (2, "chosen by 2-fold cross-validation")):
        x = rng.normal(size=(2 * per_class, 4)).astype(np.float32)
        y = np.eye(2)[np.repeat([0, 1], per_class)]
        logs = []
        fit_linear_head([(x, y)], 2, None, 0,
                        listener=lambda e: logs.append(e.message) if isinstance(e, Log) else None)
        assert any(words in m for m in logs), logs
