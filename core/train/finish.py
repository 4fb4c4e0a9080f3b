"""The end of a session: the best model saved as a clean ``model.keras``, and its scores."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

from core.config import StudioConfig
from core.errors import UserError
from core.events import Progress, emit
from core.infer.metrics import Metrics
from core.runs.folder import RunFolder
from core.runs.records import RunStatus
from core.train.device import DeviceInfo


@dataclass
class RunResult:
    run_dir: str
    status: RunStatus  # completed or stopped (a failed run raises instead)
    best_epoch: int
    metrics: Optional[Metrics]
    device: DeviceInfo
    seconds: float
    classes: list[str]
    image_size: int
    history: list[dict] = field(default_factory=list)
    added_left_out: int = 0  # images added to the data folder that a resume left out

    def to_dict(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.value
        d["device"] = self.device.to_dict()
        d["metrics"] = self.metrics.to_dict() if self.metrics else None
        return d


def out_of_memory_error(batch_size: int) -> UserError:
    """The message for a batch that does not fit in memory: name a batch size that may.

    TensorFlow's own error is a page of allocator detail; what the user can do
    is halve the batch (or, at 1, shrink the images or the backbone).
    """
    if batch_size > 1:
        half = max(1, batch_size // 2)
        return UserError(f"training ran out of memory at batch size {batch_size}; try "
                         f"--batch-size {half} (Batch size {half} on the Train page) or a "
                         "smaller image size")
    return UserError("training ran out of memory even at batch size 1; choose a smaller "
                     "image size (--image-size) or a smaller backbone")


def data_error_inside(exc: BaseException):
    """The :class:`DataError` a tf.data generator raised, out of TensorFlow's wrapping.

    The pipeline says "none of the N images could be read (first: ...)" from inside
    the generator, and TensorFlow re-raises it as an ``UnknownError`` of op names and a
    page of traceback; the user's one line is in its text.  None when there is none.
    """
    from core.errors import DataError

    text = str(getattr(exc, "message", "") or exc)
    start = text.find("DataError: ")
    if start < 0:
        return None
    line = text[start + len("DataError: "):].splitlines()[0]
    return DataError(line.split(" [Op:")[0].strip())


def save_model(model, run: RunFolder, cfg: StudioConfig, n_classes: int):
    """Save the best model as a plain float32 .keras: weights only, no training state.

    The trained model is rebuilt outside any distribution strategy, under float32,
    and given the same weights.  So the saved file computes in float32 everywhere
    (a CPU, an exporter), needs no mixed-precision support to load, and carries no
    optimizer state (which would double its size and make Keras warn about
    skipped optimizer variables on every load).  Returns that float32 model: it is
    what ``predict`` will load, so calibration and the validation scores use it.
    """
    import keras

    from core.fsutil import atomic_file
    from core.model.build import build_model

    keras.mixed_precision.set_global_policy("float32")
    clean = build_model(cfg.model, n_classes, cfg.model.image_size, None)
    clean.set_weights(model.get_weights())
    with atomic_file(run.model_path, suffix=".keras") as tmp:
        clean.save(str(tmp))
    return clean


def score_validation(model, run: RunFolder, split, classes, batch_size: int, trust=None):
    """The validation images scored with ``model`` and the run's calibration (``trust``), as
    the Evaluate page and ``evaluate`` score them (a :class:`Metrics`, written nowhere)."""
    from core.infer.evaluation import evaluate_records
    from core.infer.predictor import KerasPredictor

    predictor = KerasPredictor(model, classes, str(run.model_path), trust)
    return evaluate_records(predictor, split.val, classes, batch_size).metrics


def record_metrics(run: RunFolder, metrics: Metrics) -> None:
    """metrics.json: ``metrics`` with the calibration's summary (ECE before and after)."""
    from core.trust.store import calibration_entry

    run.write_metrics({**metrics.to_dict(), **calibration_entry(run)})


def validation_metrics(model, run: RunFolder, split, classes, cfg, listener,
                       trust=None) -> Optional[Metrics]:
    """Score the validation images with the final model; written to metrics.json.

    The same function (:func:`core.infer.evaluation.evaluate_records`) scores them for the
    Evaluate page and ``evaluate``, and with the run's calibration (``trust``) like every
    prediction from the run, so every place shows the same figures on the same images;
    metrics.json also gets the calibration's summary (ECE before and after).
    """
    if not split.val:
        return None
    metrics = score_validation(model, run, split, classes, cfg.train.batch_size, trust)
    if metrics.n_images == 0:  # "completed, accuracy 0.0 % on 0 images" said nothing true
        from core.errors import DataError

        raise DataError(f"none of the {len(split.val)} validation images could be read when "
                        f"training ended (first: {split.val[0].path}); were they moved or "
                        f"deleted while it trained? Put them back and resume the run (Resume on "
                        f"the Train page, or 'python main.py train --resume {run.path}')")
    record_metrics(run, metrics)
    emit(listener, Progress(1, 1, f"validation accuracy {metrics.accuracy:.3f}"))
    return metrics
