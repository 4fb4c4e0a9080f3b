"""Evaluate a model (a run folder or any exported model) on a labelled folder."""

from __future__ import annotations

from typing import Optional

from core.errors import DataError
from core.events import CancelToken, Log, emit
from core.infer.metrics import Metrics, compute_metrics


def evaluate_folder(predictor, data_dir: str, listener=None, cancel: Optional[CancelToken] = None,
                    batch_size: int = 32) -> Metrics:
    """Score ``predictor`` on ``data_dir`` (one sub-folder per class, named like the model's).

    Folders whose name is not one of the model's classes cannot be scored and
    are reported; classes are matched by name, so the folder's order does not matter.
    """
    from core.data.dataset import scan_dataset

    report = scan_dataset(data_dir, listener=listener, cancel=cancel)
    index = {name: i for i, name in enumerate(predictor.classes)}
    unknown = [c for c in report.classes if c not in index]
    if unknown:
        emit(listener, Log(f"folders not among the model's classes, not scored: "
                           f"{', '.join(unknown)}", "warning"))
    records = [r for r in report.records if r.class_name in index]
    if not records:
        raise DataError(f"{data_dir}: no images in folders named like the model's classes "
                        f"({', '.join(predictor.classes)})")
    labels = {r.path: index[r.class_name] for r in records}
    probs, ok_paths, skipped = predictor.predict_files([r.path for r in records], batch_size,
                                                       listener, cancel)
    metrics = compute_metrics([labels[p] for p in ok_paths], probs, predictor.classes, ok_paths)
    metrics.skipped = skipped + [{"path": p.path, "reason": p.reason} for p in report.problems
                                 if p.kind != "non_image_file"]
    return metrics
