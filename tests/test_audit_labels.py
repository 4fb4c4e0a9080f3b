"""core.audit.labels and outliers: a planted flip comes first; what cannot be told is said."""

import numpy as np

from core.audit.labels import FOLDS, score_labels
from core.audit.outliers import OUTLIER_Z, outlier_scores
from core.features.vectors import reduced


def _clusters(per_class=30, classes=3, dim=32, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (classes, dim)) * 3
    x = np.concatenate([c + rng.normal(0, 1, (per_class, dim)) for c in centres])
    y = np.repeat(np.arange(classes), per_class)
    return x.astype(np.float16), y


def test_planted_label_flip_is_ranked_first_with_its_true_class():
    x, y = _clusters()
    y[7] = 2  # an image of class 0 filed under class 2
    scores = score_labels(reduced(x, 16), y, np.arange(len(y)), ["a", "b", "c"])
    first = scores.order()[0]
    assert first == 7
    assert scores.suggested[7] == 0 and scores.wrong[7] > 0.5
    assert scores.wrong[np.arange(len(y)) != 7].max() < scores.wrong[7]


def test_a_copy_in_another_class_is_a_contradiction_ranked_first():
    x, y = _clusters()
    x = np.concatenate([x, x[3:4]])  # image 3 (class 0) again, filed under class 1
    y = np.concatenate([y, [1]])
    groups = np.arange(len(y))
    groups[-1] = groups[3]
    scores = score_labels(reduced(x, 16), y, groups, ["a", "b", "c"])
    assert scores.order()[0] == len(y) - 1 and scores.conflict[-1]
    assert scores.suggested[-1] == 0


def test_what_cannot_be_told_is_said():
    x, y = _clusters(per_class=10)
    one = score_labels(reduced(x[:10], 8), y[:10], np.arange(10), ["a", "b", "c"])
    assert not one.scored.any() and any("at least 2 classes" in n for n in one.notes)
    x2 = np.concatenate([x[:20], x[20:22]])
    y2 = np.concatenate([y[:20], y[20:22]])  # class "c" has 2 images: fewer than the folds
    few = score_labels(reduced(x2, 8), y2, np.arange(22), ["a", "b", "c"])
    assert any("c (2)" in n and str(FOLDS) in n for n in few.notes)
    assert few.scored[:20].all() and not few.scored[20:].any()


def test_an_image_far_from_every_other_is_an_outlier():
    x, _ = _clusters()
    x = np.concatenate([x, np.full((1, x.shape[1]), 40.0, dtype=np.float16)])
    z = outlier_scores(reduced(x, 16), np.arange(len(x)))
    assert z.argmax() == len(x) - 1 and z[-1] >= OUTLIER_Z
    assert (z[:-1] < OUTLIER_Z).all()


def test_embedding_map_is_two_scaled_axes_that_keep_clusters_apart():
    from core.audit.maps import embedding_map

    x, y = _clusters(per_class=20, classes=2)
    xy = embedding_map(x)
    assert xy.shape == (40, 2) and np.abs(xy).max() <= 1.0 + 1e-6
    a, b = xy[y == 0].mean(axis=0), xy[y == 1].mean(axis=0)
    assert np.linalg.norm(a - b) > 0.5


def test_the_label_check_stops_at_the_apps_cancel_token():
    """score_labels takes core.events.CancelToken (it took a bare callable, which the audit
    never passed: a cancel during the label step waited for every fold)."""
    import pytest

    from core.events import CancelToken, Cancelled

    x, y = _clusters()
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        score_labels(reduced(x, 16), y, np.arange(len(y)), ["a", "b", "c"], cancel=token)
