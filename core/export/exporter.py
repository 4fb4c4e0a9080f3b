"""Export a trained model to deployment formats that give the same answers as the app.

Layout of an export folder ``OUT`` (one folder, every requested format)::

    OUT/model.keras            keras        the run's model, byte for byte
    OUT/savedmodel/            savedmodel   signatures serving_default (float32)
                                            and serving_uint8 (uint8 pixels)
    OUT/model.tflite           tflite       float32
    OUT/model_fp16.tflite      tflite-fp16  float16 weights, float32 maths
    OUT/model_int8.tflite      tflite-int8  full integer, uint8 in / uint8 out
    OUT/model.onnx             onnx         float32, input "image"
    OUT/labels.txt             class names, one per line, in output order
    OUT/metadata.json          input contract, metrics, parity, size, latency
    OUT/README.txt             how to run each format without this app

(file names from :data:`core.formats.FORMATS`).  A run with a calibration
(:mod:`core.trust`) exports the calibrated probabilities and, as a second output
``unknown_score``, its unknown score, in the formats the table says carry them;
model.keras stays the run's own model and metadata.json says how to apply both.
The pieces: :mod:`.source`
opens the model and decodes its images, :mod:`.builders` writes each format,
:mod:`.parity` checks each one with its own runtime in a fresh process,
:mod:`.folder` moves the results into ``OUT`` and writes metadata.json, and
:mod:`.report` is what the caller gets back.

Each format is built in its own temporary folder inside a hidden staging folder
beside ``OUT``, so one failing format leaves no debris and does not stop the
others; the finished files are then moved into ``OUT`` one atomic rename each,
metadata.json last.  Files in ``OUT`` that this app did not write stay.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from core.config import ExportConfig
from core.errors import UserError
from core.events import CancelToken, Cancelled, Log, Progress, emit
from core.export import folder
from core.export.folder_lock import one_export_at_a_time
from core.export.builders import BUILDERS, Build
from core.export.parity import ProbeError, judge, run_probe
from core.export.readme import readme
from core.export.report import ExportReport, FormatResult, parity_text
from core.export.source import Source, open_source, parity_sample, sample_size
from core.formats import BY_NAME, NAMES
from core.fsutil import as_disk_full
from core.trust.unknown import MIN_STD
from core.typed_json import json_safe, json_text


def parse_formats(formats: Sequence[str] | str) -> list[str]:
    """``["tflite", "onnx"]``, ``"tflite,onnx"`` or ``"all"`` → a checked list, in table order."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    wanted: set[str] = set()
    for item in items:
        name = str(item).strip().lower()
        if not name:
            continue
        if name == "all":
            wanted.update(NAMES)
        elif name in BY_NAME:
            wanted.add(name)
        else:
            raise UserError(f"unknown export format {item!r}; choose from "
                            f"{', '.join(NAMES)} or all")
    if not wanted:
        raise UserError(f"no export format given; choose from {', '.join(NAMES)} or all")
    return [f for f in NAMES if f in wanted]


class _Checks:
    """The reference the formats are judged against: the app's answers on the sample.

    ``reference`` is the model's own softmax (what model.keras gives); with a run's
    calibration, ``calibrated`` and ``scores`` are what the app shows for the run
    (calibrated probabilities and unknown scores), the reference of formats that carry them.
    """

    def __init__(self, images: np.ndarray, labels: Optional[np.ndarray], reference: np.ndarray,
                 cfg: ExportConfig, latency_runs: int, calibrated: Optional[np.ndarray] = None,
                 scores: Optional[np.ndarray] = None, threshold: Optional[float] = None) -> None:
        self.images, self.labels, self.reference = images, labels, reference
        self.cfg, self.latency_runs = cfg, latency_runs
        self.calibrated, self.scores, self.threshold = calibrated, scores, threshold

    def sample(self, fmt: str) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """(images, app's answers, labels) ``fmt`` is judged on: a prefix of the sample."""
        n = min(len(self.images), sample_size(fmt, self.cfg))
        labels = self.labels[:n] if self.labels is not None else None
        spec = BY_NAME[fmt]
        ref = self.calibrated if self.calibrated is not None and spec.calibrated else \
            self.reference
        return self.images[:n], ref[:n], labels

    def scores_for(self, fmt: str) -> Optional[np.ndarray]:
        """The app's unknown scores ``fmt``'s are compared with (None: it has no score)."""
        if self.scores is None or not BY_NAME[fmt].unknown_score:
            return None
        return self.scores[:min(len(self.images), sample_size(fmt, self.cfg))]


def _check(fmt: str, final: Path, build: Build, checks: _Checks, result: FormatResult) -> None:
    """Run ``final`` with its own runtime and judge it; a probe that cannot run is not_checked."""
    images, reference, labels = checks.sample(fmt)
    kind = BY_NAME[fmt].probe
    emit(build.listener, Log(f"{fmt}: checking parity on {len(images)} images in a fresh "
                             f"{kind} process"))
    try:
        arrays, info = run_probe(kind, final, images, checks.latency_runs, cancel=build.cancel)
    except ProbeError as exc:
        result.status = "not_checked"
        result.parity = {"checked": False, "passed": False, "reason": exc.reason,
                         "n_images": int(len(images))}
        result.error = exc.reason
        if exc.output:
            emit(build.listener, Log(f"{fmt}: the {kind} runtime said:\n{exc.output}", "warning"))
        return
    result.latency_ms = float(info.pop("latency_ms"))
    result.details["runtime"] = info
    result.parity = judge(fmt, reference, arrays, labels, checks.scores_for(fmt),
                          checks.threshold)
    unknown = result.parity.get("unknown") or {}
    if unknown and not unknown["passed"] and build.src.trust is not None \
            and min(build.src.trust.stds or (MIN_STD,)) < MIN_STD:
        # Calibrated by a version before MIN_STD: its near-zero spreads turn float rounding
        # into score differences; calibrating again gives spreads every runtime agrees on.
        result.parity["reason"] += (f"; this run was calibrated by an older version: run "
                                    f"'python main.py calibrate {build.src.run_dir}' and "
                                    "export again")
    result.status = "ok" if result.parity["passed"] else "parity_failed"


def _export_one(fmt: str, build: Build, checks: _Checks) -> FormatResult:
    """Build one format in its own temporary folder, move it into the stage, check parity."""
    listener = build.listener
    result = FormatResult(fmt)
    t0 = time.time()
    final = build.stage / BY_NAME[fmt].artifact
    work = Path(tempfile.mkdtemp(prefix=f".{fmt}.", suffix=".partial", dir=build.stage))
    try:
        emit(listener, Log(f"{fmt}: building"))
        artifact, result.details = BUILDERS[fmt](build, work)
        os.replace(artifact, final)
        result.size_bytes = folder.size_of(final)
        _check(fmt, final, build, checks, result)
        text = {"ok": "ok", "parity_failed": "FAILED parity", "not_checked": "not checked"}
        emit(listener, Log(f"{fmt}: {text[result.status]}: {parity_text(result)}",
                           "info" if result.ok else "warning"))
    except (Cancelled, KeyboardInterrupt):
        raise
    except Exception as exc:  # one broken format must not stop the others
        result.status = "failed"
        # ENOSPC: say "the disk is full" plainly, of the export folder (it named the folder
        # above it, where the stage is: a review)
        exc = as_disk_full(build.out, exc)
        text = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        lines = text.strip().splitlines()
        result.error = lines[0][:500] if lines else type(exc).__name__
        emit(listener, Log(f"{fmt}: export failed: {result.error}", "error"))
        if final.is_dir():
            shutil.rmtree(final, ignore_errors=True)
        elif final.exists():
            final.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        result.seconds = round(time.time() - t0, 2)
    return result


def _build_all(fmts: list[str], build: Build, checks: _Checks,
               report: ExportReport) -> None:
    cancel, listener = build.cancel, build.listener
    try:
        for i, fmt in enumerate(fmts):
            cancel.raise_if_cancelled()
            emit(listener, Progress(i, len(fmts), f"exporting {fmt}"))
            res = _export_one(fmt, build, checks)
            report.results.append(res)
            build.savedmodel_ok = build.savedmodel_ok or (fmt == "savedmodel" and res.ok)
            cancel.raise_if_cancelled()
    finally:
        build.cleanup()
    emit(listener, Progress(len(fmts), len(fmts), "export finished"))


def _finish_folder(src: Source, cfg: ExportConfig, stage: Path, out: Path,
                   previous: Optional[dict], report: ExportReport, listener) -> None:
    """Write labels, README and metadata into the stage, then move everything into ``out``."""
    fingerprint, model_sha256 = src.digests()
    earlier, other_model = folder.earlier_formats(previous, fingerprint, out)
    written = [r.format for r in report.results if r.written]
    kept = {f: e for f, e in earlier.items() if f not in written}
    entries = folder.merged_entries(report.results, kept)
    stale = [f for f in other_model if f not in written]
    files = [BY_NAME[f].artifact for f, e in entries.items() if e.get("file")]
    (stage / folder.LABELS).write_text("\n".join(src.classes) + "\n", encoding="utf-8")
    (stage / folder.README).write_text(
        readme(src.backbone, src.classes, src.image_size, files, time.strftime("%Y-%m-%d %H:%M"),
               src.trust),
        encoding="utf-8")
    report.written, report.kept_formats = True, list(kept)
    (stage / folder.METADATA).write_text(
        json_text(folder.metadata(src, (fingerprint, model_sha256), report, cfg, entries),
                  strict=True) + "\n",
        encoding="utf-8")
    folder.mark_unfinished(out, previous, written)
    folder.commit(stage, out, [BY_NAME[f].artifact for f in written] +
                  [folder.LABELS, folder.README, folder.METADATA])
    if stale:
        emit(listener, Log(f"removed {', '.join(BY_NAME[f].artifact for f in stale)} of an "
                           f"earlier export of another model from {out}", "warning"))
        folder.remove_formats(out, stale)
    for r in report.results:
        if r.written:
            r.path = str(out / BY_NAME[r.format].artifact)


def export_model(model_path_or_run_dir: str | os.PathLike, formats: Sequence[str] | str,
                 out_dir: str | os.PathLike, export_cfg: Optional[ExportConfig] = None,
                 listener=None, cancel: Optional[CancelToken] = None,
                 latency_runs: int = 20) -> ExportReport:
    """Export a run folder's (or a .keras file's) model to ``formats`` in ``out_dir``.

    Returns the :class:`ExportReport`; a format that fails to build or to load
    in its runtime is recorded there and the others still complete.  Raises
    :class:`UserError` for unknown formats, a missing model or an unusable
    ``out_dir``; :class:`Cancelled` leaves the folder as it was.
    """
    export_cfg = export_cfg or ExportConfig()
    cancel = cancel or CancelToken()
    fmts = parse_formats(formats)
    if not str(out_dir).strip():
        raise UserError("no output folder given for the export (--out)")
    src = open_source(Path(model_path_or_run_dir).expanduser())
    # Absolute from here on: the parity probes run in other working directories.
    out = Path(os.path.abspath(Path(out_dir).expanduser()))
    folder.check_out_dir(out, src)  # before the lock: a file named like the folder, ...
    with one_export_at_a_time(out):  # a second export into it read a stale metadata.json
        report = _export_locked(src, fmts, out, export_cfg, listener, cancel, latency_runs)
    if report.written:
        _record_in_history(src, report, listener)
    return report


def _export_locked(src: Source, fmts: list[str], out: Path, export_cfg: ExportConfig,
                   listener, cancel: CancelToken, latency_runs: int) -> ExportReport:
    """:func:`export_model` once the folder is this export's alone."""
    from core.infer.predictor import KerasPredictor

    previous = folder.check_out_dir(out, src)  # again, under the lock
    folder.check_replaceable(out, previous, fmts, src.digests()[0] if previous else "")

    # The app's answers on validation images are the reference for every format.
    images, labels, parity_source = parity_sample(src, export_cfg, fmts, listener)
    reference = KerasPredictor(src.model, src.classes, str(src.model_path)).predict_arrays(images)
    calibrated = scores = threshold = None
    if src.trust is not None:
        calibrated, scores = KerasPredictor(src.model, src.classes, str(src.model_path),
                                            src.trust).predict_scored(images)
        threshold = src.trust.threshold
    checks = _Checks(images, labels, reference, export_cfg, latency_runs, calibrated, scores,
                     threshold)
    report = ExportReport(str(src.model_path), str(out), list(src.classes), src.image_size,
                          src.backbone, int(len(images)), parity_source)
    with folder.staging(out) as stage:
        build = Build(src, export_cfg, stage, listener, cancel, images, out)
        _build_all(fmts, build, checks, report)
        if any(r.written for r in report.results):
            _finish_folder(src, export_cfg, stage, out, previous, report, listener)
    return report


def _record_in_history(src: Source, report: ExportReport, listener) -> None:
    """List each exported format under its run in the run history (run-folder sources only).

    The export folder is already complete here, so a history problem (a locked
    or unwritable database) is a warning, never a failed export -- the same
    rule as :func:`core.runs.history.record_run_safely` for training.
    """
    from core.runs.folder import RunFolder

    if src.run_dir is None:
        return  # a loose .keras file has no run to list the export under
    if src.model_path.resolve() != RunFolder(src.run_dir).model_path.resolve():
        return  # another .keras kept in a run folder is not that run's model
    try:
        from core.runs.history import RunHistory

        history = RunHistory()
        for r in report.results:
            if not r.written:
                continue
            history.record_export(src.run_dir, r.format, Path(r.path).resolve(), r.size_bytes,
                                  json_safe({"status": r.status, "trusted": r.ok,
                                          "export_dir": str(Path(report.out_dir).resolve()),
                                          "latency_ms": r.latency_ms, "parity": r.parity}))
    except Exception as exc:  # noqa: BLE001 - the export itself succeeded, see above
        emit(listener, Log(f"the run history could not record this export ({exc}); the export "
                           f"in {report.out_dir} is complete", "warning"))
