"""What is exported: the run's (or a .keras file's) model, its classes and its images.

:func:`open_source` opens a run folder or a ``.keras`` file safely and gathers
what the builders and the parity check need: the model, the class names, the
run's validation images (the parity check's sample), training images (int8
calibration) and the run's calibration and unknown score (:mod:`core.trust`).  :func:`parity_sample` decodes the sample exactly like the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from core.config import ExportConfig
from core.errors import ModelFileError, UserError
from core.file_digest import file_hash
from core.events import FileSkipped, Log, emit
from core.formats import AGREEMENT_SAMPLE_CAP, BY_NAME


@dataclass
class Source:
    model_path: Path
    model: object
    classes: list[str]
    image_size: int
    backbone: str
    metrics: dict
    train_records: list
    val_records: list
    run_dir: Optional[Path]
    #: The run's calibration and unknown score (core.trust), None for an uncalibrated model.
    trust: Optional[object] = None
    trust_record: Optional[object] = None  # its calibration.json (CalibrationRecord)
    #: The run's data folder as its config records it (None: not a run, or not recorded).
    data_dir: Optional[str] = None

    def digests(self) -> tuple[str, str]:
        """(fingerprint, the model file's own sha256), from one read of the file.

        The fingerprint is the sha256 of the model file and of its calibration, which the
        exported graphs hold, threshold aside: it tells an earlier export of this very model
        from another's.  The model's own digest tells whether the run's model changed since.
        """
        digest = file_hash(self.model_path)
        model = digest.hexdigest()
        if self.trust is not None:
            t = self.trust
            digest.update(repr((t.temperature, t.k, tuple(t.weights), tuple(t.means),
                                tuple(t.stds))).encode())
            digest.update(np.ascontiguousarray(t.reference, np.float32).tobytes())
        return digest.hexdigest(), model


def _model_path(path: Path, run) -> Path:
    from core.infer.loaders import export_metadata, partial_run_folder_error

    if path.is_dir():
        if run is None:
            if export_metadata(path) is not None and (path / "model.keras").is_file():
                raise ModelFileError(f"{path}: an export folder; export from the run folder it "
                                     "was made from (metadata.json names it as 'source'), or "
                                     f"give {path / 'model.keras'} itself")
            partial_run_folder_error(path)
            from core.infer.refusals import images_hint

            raise ModelFileError(f"{path}: not a run folder; give a run folder or a .keras "
                                 f"file{images_hint(path)}")
        if not run.model_path.exists():
            raise ModelFileError(f"{path}: not a finished run folder (no {run.model_path.name}); "
                                 "finish it with Resume on the Train step (or 'python main.py "
                                 f"train --resume {path}')")
        return run.model_path
    if path.suffix.lower() == ".keras":
        return path
    raise ModelFileError(f"{path}: export starts from a run folder or a .keras model")


def _located(path: Path):
    """(the resolved path, its run folder or None, the model file to export): the checks
    that need no model opened, shared by :func:`open_source` and :func:`source_problem`."""
    from core.runs.folder import find_run_folder

    if not path.exists():
        raise ModelFileError(f"{path}: no such file or folder; give a run folder or a .keras file")
    path = path.resolve()
    run = find_run_folder(path)
    return path, run, _model_path(path, run)


def source_problem(path: str | Path) -> str:
    """Why ``path`` cannot be exported from, found without opening the model ("" when it
    may be): the Export page checks a choice at once (it asked to replace another export
    first and refused the folder of images only after the user said Yes)."""
    try:
        _located(Path(path))
    except UserError as exc:
        return str(exc)
    return ""


def _run_records(run) -> tuple[dict, list, list]:
    """(metrics, training records, validation records) recorded in the run folder."""
    from core.data.dataset import Split

    metrics, train, val = {}, [], []
    if run.metrics_path.exists():
        metrics = run.read_json("metrics.json")
    if run.split_path.exists():
        root = None
        try:
            root = run.load_config().data.data_dir or None
        except UserError:
            pass
        split = Split.from_dict(run.read_json("split.json"), root)
        train, val = list(split.train), list(split.val)
    return metrics, train, val


def open_source(path: Path) -> Source:
    """The model to export, from a run folder or a ``.keras`` file (opened with safe_mode)."""
    from core.infer.labels import check_label_count, labels_near
    from core.model.build import UNKNOWN_BACKBONE, backbone_name
    from core.model.model_files import classifier_outputs, load_model_file

    path, run, model_path = _located(path)
    model = load_model_file(model_path)
    n_out = classifier_outputs(model, model_path)
    size = int(model.inputs[0].shape[1])
    own_run = run is not None and run.model_path == model_path
    classes = run.labels() if own_run and run.labels_path.exists() else \
        labels_near(model_path, n_out)
    check_label_count(model_path, classes, n_out)  # names the labels file, as opening does
    metrics, train, val, backbone = {}, [], [], backbone_name(model)
    trust = record = data_dir = None
    if own_run:
        from core.trust.fit import embedding_width
        from core.trust.store import check_reference, load_trust, read_record

        metrics, train, val = _run_records(run)
        try:
            cfg = run.load_config()
        except UserError:
            cfg = None
        if cfg is not None:
            data_dir = cfg.data.data_dir or None
            if backbone == UNKNOWN_BACKBONE:  # the model's own name says; the config if not
                backbone = cfg.model.backbone or backbone
        trust, record = load_trust(run), read_record(run)
        # another run's unknown.npz: its score would die in the export's own graph
        check_reference(run, trust, embedding_width(model) if trust is not None else None)
    return Source(model_path, model, classes, size, backbone, metrics, train, val,
                  run.path if run is not None else None, trust, record, data_dir)


def sample_records(records: list, n: int, seed: int) -> list:
    """A seeded, class-stratified sample of ``n`` records (all when there are fewer).

    The records come in round-robin class order, so any prefix of the sample is
    itself stratified (the parity check uses a prefix for the strict formats).
    """
    rng = np.random.default_rng(seed)
    by_class: dict[int, list] = {}
    for r in records:
        by_class.setdefault(r.label, []).append(r)
    for group in by_class.values():
        rng.shuffle(group)
    n = len(records) if n <= 0 else min(n, len(records))
    out: list = []
    while len(out) < n:
        for group in by_class.values():
            if group and len(out) < n:
                out.append(group.pop())
    return out


def decode_records(records: list, size: int, listener) -> tuple[np.ndarray, np.ndarray]:
    """Images decoded like the app decodes them; unreadable ones are reported and skipped."""
    from core.data.imageio import ImageError, load_rgb

    images, labels = [], []
    for r in records:
        try:
            images.append(load_rgb(r.path, size))
            labels.append(r.label)
        except (ImageError, OSError) as exc:
            emit(listener, FileSkipped(r.path, str(getattr(exc, "reason", exc)), "export"))
    if not images:
        return np.zeros((0, size, size, 3), np.uint8), np.zeros((0,), np.int64)
    return np.stack(images), np.asarray(labels, np.int64)


def synthetic_images(n: int, size: int) -> np.ndarray:
    """Deterministic varied images (gradients + noise) when no validation images exist."""
    rng = np.random.default_rng(1234)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    out = []
    for i in range(n):
        base = rng.uniform(0, 255, 3).astype(np.float32)
        grad = ramp[None, :, None] if i % 2 else ramp[:, None, None]
        img = 0.5 * base + 0.3 * grad + rng.normal(0, 40, (size, size, 3))
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(out)


def sample_size(fmt: str, cfg: ExportConfig) -> int:
    """Images ``fmt`` is checked on: ``parity_images``, or more for formats judged on agreement."""
    if BY_NAME[fmt].judged_on_agreement:
        return max(cfg.parity_images, AGREEMENT_SAMPLE_CAP)
    return cfg.parity_images


def parity_sample(src: Source, cfg: ExportConfig, formats: Sequence[str], listener
                  ) -> tuple[np.ndarray, Optional[np.ndarray], str]:
    """(images, labels or None, where they came from) for the parity check of ``formats``.

    Enough validation images for the hungriest format; each format takes a
    prefix of :func:`sample_size` images.  Without validation images the check
    runs on synthetic ones (no labels, so no accuracy comparison).
    """
    n = max(sample_size(f, cfg) for f in formats)
    images, labels = decode_records(sample_records(src.val_records, n, seed=11),
                                    src.image_size, listener)
    if len(images):
        return images, labels, "validation images of the run"
    emit(listener, Log("no validation images: checking parity on synthetic images", "warning"))
    return (synthetic_images(max(4, cfg.parity_images, min(n, 100)), src.image_size),
            None, "synthetic images (no validation images found beside the model)")
