"""Temperature scaling, ECE and the unknown threshold on synthetic arrays (no model)."""

import numpy as np
import pytest

from core.infer.metrics import compute_metrics
from core.trust.calibration import (apply_temperature, expected_calibration_error, fit_temperature,
                                    nll, reliability_table)
from core.trust.store import fit_trust
from core.trust.unknown import TrustModel, is_unknown, keep_threshold, knn_distance


def _overconfident(n=600, classes=4, seed=0):
    """Labels from softmax(z) but probabilities shown as softmax(3 z): sure, and often wrong."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, (n, classes))
    true_p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(classes, p=row) for row in true_p])
    shown = np.exp(3 * z) / np.exp(3 * z).sum(1, keepdims=True)
    return shown, y


def test_temperature_fit_lowers_nll_and_ece_on_overconfident_probabilities_and_keeps_argmax():
    probs, y = _overconfident()
    t = fit_temperature(probs, y)
    assert 2.3 < t < 3.8  # the over-confidence put in was a factor 3
    calibrated = apply_temperature(probs, t)
    assert nll(calibrated, y) < nll(probs, y) - 0.1
    assert expected_calibration_error(calibrated, y) < expected_calibration_error(probs, y) / 2
    assert (calibrated.argmax(1) == probs.argmax(1)).all()
    np.testing.assert_allclose(apply_temperature(probs, 1.0), probs, atol=1e-6)


def test_ece_of_a_known_case():
    # 4 images at 0.9 confidence, 3 right: |0.75 - 0.9| = 0.15; 2 at 0.6, both right: 0.4.
    probs = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 2)
    y = np.array([0, 0, 0, 1, 0, 0])
    assert expected_calibration_error(probs, y) == pytest.approx(4 / 6 * 0.15 + 2 / 6 * 0.4)
    table = reliability_table(probs, y)
    assert len(table) == 15 and sum(b.count for b in table) == 6
    full = [b for b in table if b.count]
    assert [(b.count, b.accuracy) for b in full] == [(2, 1.0), (4, 0.75)]
    assert full[0].low < 0.6 <= full[0].high and full[1].low < 0.9 <= full[1].high
    m = compute_metrics(y, probs, ["a", "b"])
    assert m.ece == pytest.approx(expected_calibration_error(probs, y))
    assert sum(b["count"] for b in m.to_dict()["reliability"]) == 6


def test_threshold_keeps_the_share_asked_of_the_validation_images():
    scores = np.random.default_rng(1).normal(size=101)
    for keep in (0.95, 0.8, 1.0):
        t = keep_threshold(scores, keep)
        assert (~is_unknown(scores, t)).mean() >= keep
        assert (~is_unknown(scores, t)).mean() < keep + 0.02
    assert not is_unknown(scores, None).any()


def test_knn_distance_is_zero_on_a_reference_image_and_large_far_from_all():
    ref = np.eye(4, 8, dtype=np.float32)
    d = knn_distance(np.vstack([ref[:1] * 3, np.eye(8)[7:]]), ref, k=1)
    assert d[0] == pytest.approx(0.0, abs=1e-6) and d[1] == pytest.approx(1.0)


def test_fit_trust_flags_far_embeddings_that_max_probability_misses():
    """Known images cluster by class; 'others' are far away yet given confident probabilities."""
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(2, 32)) * 3
    def cluster(c, n):
        return centers[c] + rng.normal(size=(n, 32))
    train = np.vstack([cluster(0, 50), cluster(1, 50)])
    val = np.vstack([cluster(0, 40), cluster(1, 40)])
    y = np.repeat([0, 1], 40)
    val_p = np.where(y[:, None] == np.arange(2), 0.8, 0.2) + rng.normal(0, 0.05, (80, 1)) * [1, -1]
    trust, record = fit_trust(val_p, y, val, train, np.repeat([0, 1], 50), keep=0.95)
    assert record.n_reference == 100 and record.unknown_threshold is not None
    assert (~is_unknown(trust.scores(trust.calibrate(val_p), val), trust.threshold)).mean() >= 0.95
    others = rng.normal(size=(30, 32)) * 3 + 20.0
    other_p = np.tile([[0.85, 0.15]], (30, 1))  # as sure as the known ones
    flagged = is_unknown(trust.scores(trust.calibrate(other_p), others), trust.threshold)
    assert flagged.mean() >= 0.9


def test_a_trust_model_without_embeddings_scores_by_max_probability():
    trust = TrustModel(temperature=1.0)
    s = trust.scores(np.array([[0.99, 0.01], [0.5, 0.5]]), None)
    assert s[1] > s[0]


def test_the_keras_trust_head_computes_what_the_app_computes():
    """The graph an export carries (core.trust.graph) agrees with TrustModel on the same arrays."""
    import keras

    from core.trust.graph import trusted_model

    rng = np.random.default_rng(0)
    inp = keras.Input((8,))
    pooled = keras.layers.Dense(6, name="avg_pool")(inp)
    out = keras.layers.Dense(3, activation="softmax")(pooled)
    model = keras.Model(inp, out)
    reference = rng.normal(size=(20, 6)).astype(np.float32)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    trust = TrustModel(temperature=1.7, reference=reference, k=3, weights=(1.0, 0.5),
                       means=(0.3, 0.2), stds=(0.1, 0.05), threshold=1.0)
    x = rng.normal(size=(5, 8)).astype(np.float32)
    probs, emb = keras.Model(inp, [out, pooled])(x)
    expected_p = trust.calibrate(np.asarray(probs))
    expected_s = trust.scores(expected_p, np.asarray(emb))
    got = trusted_model(model, trust)(x)
    np.testing.assert_allclose(np.asarray(got["probabilities"]), expected_p, atol=1e-5)
    np.testing.assert_allclose(np.asarray(got["unknown_score"]), expected_s, atol=1e-4)


def test_the_embedding_width_is_the_pooled_layers_width_and_none_without_it():
    """Export's reference check and the predictor's read the width from one place."""
    import keras

    from core.trust.fit import embedding_width

    inp = keras.Input((8,))
    pooled = keras.layers.Dense(6, name="avg_pool")(inp)
    with_pool = keras.Model(inp, keras.layers.Dense(3)(pooled))
    without = keras.Model(inp, keras.layers.Dense(3)(keras.layers.Dense(6)(inp)))
    assert embedding_width(with_pool) == 6
    assert embedding_width(without) is None


def test_validation_quantiles_say_what_share_a_moved_threshold_keeps():
    """The Predict page's slider moves over the share of known images kept; the fitted
    quantiles turn a share into a threshold and back."""
    from core.trust.unknown import kept_share, threshold_for_share

    rng = np.random.default_rng(3)
    val = rng.normal(size=(400, 16))
    y = rng.integers(0, 2, 400)
    probs = np.where(y[:, None] == np.arange(2), 0.8, 0.2)
    trust, record = fit_trust(probs, y, val, rng.normal(size=(200, 16)), rng.integers(0, 2, 200))
    assert len(record.score_quantiles) == 101 and list(trust.score_quantiles) == \
        record.score_quantiles
    scores = trust.scores(trust.calibrate(probs), val)
    for share in (0.6, 0.8, 0.95):
        t = threshold_for_share(share, trust.score_quantiles)
        assert abs((scores <= t).mean() - share) < 0.01
        assert kept_share(t, trust.score_quantiles) == pytest.approx(share, abs=1e-6)
    assert kept_share(trust.threshold, trust.score_quantiles) == pytest.approx(0.95, abs=0.01)
    assert kept_share(1e9, trust.score_quantiles) == 1.0


def test_a_component_constant_on_validation_does_not_magnify_rounding():
    """A degenerate model (every validation image equally sure) had a spread of 1e-6: float
    rounding of 1e-7 in an exported file became a score difference of 0.1 and its parity
    check failed on identical answers."""
    from core.trust.unknown import MIN_STD

    trust = TrustModel(temperature=1.0, reference=np.zeros((0, 4), np.float32), k=3,
                       weights=(1.0, 1.0), means=(0.0, 0.0), stds=(1.0, 1.0), threshold=1.0)
    constant = np.tile([[0.5, 0.01]], (20, 1))
    trust.standardise_on(constant)
    assert trust.stds == (MIN_STD, MIN_STD)
    nudged = constant[:3] + 1e-7
    diff = np.abs(trust.combine(nudged) - trust.combine(constant[:3]))
    assert diff.max() < 1e-3  # the SavedModel/TFLite/ONNX parity bound


def test_a_validation_set_without_mistakes_leaves_the_probabilities_as_they_are():
    """The NLL falls for ever as T shrinks when every answer is right: the fit ended on
    T = 0.05 and a 60/40 answer became 99.97%."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    sure = rng.uniform(0.55, 0.95, 200)
    probs = np.where(y[:, None] == np.arange(2), sure[:, None], 1 - sure[:, None])
    assert fit_temperature(probs, y) == 1.0
    assert apply_temperature(np.array([[0.6, 0.4]]), fit_temperature(probs, y))[0, 0] == \
        pytest.approx(0.6)
    y[0] = 1 - y[0]  # one mistake: there is something to fit again
    assert fit_temperature(probs, y) != 1.0


@pytest.mark.parametrize("field, value", [("temperature", -1.0), ("temperature", "NaN"),
                                          ("temperature", 0), ("unknown_k", -3),
                                          ("unknown_weights", [1.0])])
def test_a_damaged_calibration_file_is_refused_not_used(tmp_path, field, value):
    """temperature -1 reversed every answer, NaN printed NaN probabilities (and invalid
    JSON), all with exit 0."""
    import json

    from core.errors import UserError
    from core.runs.folder import RunFolder
    from core.trust.store import load_trust, save_trust

    probs, y = _overconfident(60, 2)
    trust, record = fit_trust(probs, y, None, None)
    run = RunFolder(tmp_path)
    save_trust(run, trust, record)
    assert load_trust(run) is not None
    text = run.calibration_path.read_text()
    data = json.loads(text)
    data[field] = float("nan") if value == "NaN" else value
    run.calibration_path.write_text(json.dumps(data))
    with pytest.raises(UserError, match=f"calibration.json: damaged .*{field}.*calibrate"):
        load_trust(run)


def test_calibration_names_an_image_it_could_not_read(tmp_path):
    """'calibrated on 11 validation images' named no twelfth (evaluate names it)."""
    import types

    from PIL import Image

    from core.events import FileSkipped
    from core.trust.fit import predict_with_embeddings

    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    Image.new("RGB", (8, 8), "red").save(good)
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    model = types.SimpleNamespace(inputs=[types.SimpleNamespace(shape=(None, 8, 8, 3))])
    events = []
    probs, _emb, ok = predict_with_embeddings(
        model, [str(good), str(bad)], fn=lambda x: (np.ones((len(x), 2)), np.ones((len(x), 4))),
        listener=events.append)
    assert ok == [0] and len(probs) == 1
    skipped = [e for e in events if isinstance(e, FileSkipped)]
    assert [(e.path, e.stage) for e in skipped] == [(str(bad), "calibration")]
    assert skipped[0].reason


def test_the_log_says_the_share_the_threshold_really_keeps():
    """"keeps 95%" was logged for 12 validation images, all 12 kept; the Predict page's
    slider showed 100% for the same threshold (a walkthrough)."""
    from core.trust.fit import kept_text

    assert kept_text(0.95, 12) == "keeps 12 of them, 100%, at least 95% asked"
    assert kept_text(0.95, 40) == "keeps 38 of them, 95%"
    # Counted on the scores: tied ones at the threshold are kept (all 10, as the slider
    # shows), and 65 of 72 is "90%", not "90%, at least 90% asked" (a review)
    from core.trust.store import fit_trust

    sure = [[0.90 + 0.01 * i, 0.05 - 0.005 * i, 0.05 - 0.005 * i] for i in range(7)]
    probs = np.array(sure + [[0.4, 0.3, 0.3]] * 3)  # the 8th to 10th scores are tied
    trust, _record = fit_trust(probs, probs.argmax(1), None, None, keep=0.8)
    assert trust.kept == 10
    assert kept_text(0.8, 10, 10) == "keeps 10 of them, 100%, at least 80% asked"
    assert kept_text(0.9, 72, 65) == "keeps 65 of them, 90%"


def test_the_unknown_scores_matrix_product_runs_on_one_blas_thread(monkeypatch):
    """OpenBLAS's threads kept spinning after the k-nearest product between two batches and
    took the cores TensorFlow needed: a calibrated run's folder predicted at 75% of its
    model's rate (bench_speed section 7; 92% on one BLAS thread)."""
    from threadpoolctl import ThreadpoolController

    import core.trust.unknown as unknown

    seen = []
    real = unknown.one_blas_thread

    def spy():
        limit = real()
        seen.append([i["num_threads"] for i in ThreadpoolController().info()  # NumPy's own
                     if i["user_api"] == "blas" and "numpy" in i["filepath"]])
        return limit

    monkeypatch.setattr(unknown, "one_blas_thread", spy)
    rng = np.random.default_rng(0)
    d = unknown.knn_distance(rng.normal(size=(40, 16)), rng.normal(size=(30, 16)), 5)
    assert d.shape == (40,) and seen and seen[0] and all(n == 1 for n in seen[0])


def test_an_export_says_the_share_its_threshold_keeps_not_the_share_asked():
    """metadata.json's keep ("the share of validation images at or under the threshold") was
    the share asked for: 0.95 where the threshold kept 18 of 18, so the Predict page said
    "it keeps 95.0%" of the export and 100% of its run (a review)."""
    import numpy as np

    from core.trust.store import CalibrationRecord, export_description

    quantiles = [float(v) for v in np.linspace(-1.0, 1.0, 101)]
    rec = CalibrationRecord(unknown_keep=0.95, unknown_threshold=1.0, score_quantiles=quantiles)
    assert export_description(rec)["unknown"]["keep"] == 1.0
    rec.unknown_threshold = 0.0  # the middle score: half of them
    assert export_description(rec)["unknown"]["keep"] == pytest.approx(0.5)
    rec.score_quantiles = []  # calibrated before the percentiles were kept: as asked
    assert export_description(rec)["unknown"]["keep"] == 0.95


def test_an_ece_that_rose_only_past_its_shown_decimals_gets_no_note():
    """"0.030 after calibration (0.030 before) ... rose by chance" was said of a rise in
    the eighth decimal (a temperature of 1; a review)."""
    from core.trust.calibration import ece_rose_note

    same = {"ece_before": 0.030246592, "ece_after": 0.030246608, "n_images": 18, "bins": 15}
    assert ece_rose_note(same) == ""
    rose = {**same, "ece_after": 0.031}
    assert "rose by chance" in ece_rose_note(rose)
