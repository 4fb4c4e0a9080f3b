import numpy as np

from core.infer.metrics import Metrics, compute_metrics


def test_metrics_by_hand():
    classes = ["a", "b", "c"]
    y = [0, 0, 1, 1, 2, 2]
    probs = np.array([[.9, .1, 0], [.2, .7, .1], [0, 1, 0], [0, .8, .2], [.1, .1, .8], [.6, .1, .3]])
    m = compute_metrics(y, probs, classes, paths=[f"p{i}" for i in range(6)])
    assert m.accuracy == 4 / 6
    assert m.confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    a, b, c = m.per_class
    assert (a.precision, a.recall) == (0.5, 0.5)
    assert b.precision == 2 / 3 and b.recall == 1.0
    assert c.precision == 1.0 and c.recall == 0.5
    # most confident mistake first
    assert [x.path for x in m.mistakes] == ["p1", "p5"]
    assert Metrics.from_dict(m.to_dict()) == m
    assert "confusion matrix" in m.to_text()
