"""The end of a session: the best model saved as a clean ``model.keras``, and its scores."""

from __future__ import annotations

from typing import Optional

from core.config import StudioConfig
from core.events import Progress, emit
from core.infer.metrics import Metrics
from core.runs.folder import RunFolder


def save_model(model, run: RunFolder, cfg: StudioConfig, n_classes: int) -> None:
    """Save the best model as a plain float32 .keras: weights only, no training state.

    The trained model is rebuilt outside any distribution strategy, under float32,
    and given the same weights.  So the saved file computes in float32 everywhere
    (a CPU, an exporter), needs no mixed-precision support to load, and carries no
    optimizer state (which would double its size and make Keras warn about
    skipped optimizer variables on every load).
    """
    import keras

    from core.fsutil import atomic_file
    from core.model.build import build_model

    keras.mixed_precision.set_global_policy("float32")
    clean = build_model(cfg.model, n_classes, cfg.model.image_size, None)
    clean.set_weights(model.get_weights())
    with atomic_file(run.model_path, suffix=".keras") as tmp:
        clean.save(str(tmp))


def validation_metrics(model, run: RunFolder, split, classes, cfg, listener) -> Optional[Metrics]:
    """Score the validation images with the final model; written to metrics.json.

    The same function (:func:`core.infer.evaluation.evaluate_records`) scores them for the
    Evaluate page and ``evaluate``, so every place shows the same figure on the same images.
    """
    from core.infer.evaluation import evaluate_records
    from core.infer.predictor import KerasPredictor

    if not split.val:
        return None
    predictor = KerasPredictor(model, classes, str(run.model_path))
    metrics = evaluate_records(predictor, split.val, classes, cfg.train.batch_size).metrics
    run.write_metrics(metrics.to_dict())
    emit(listener, Progress(1, 1, f"validation accuracy {metrics.accuracy:.3f}"))
    return metrics
