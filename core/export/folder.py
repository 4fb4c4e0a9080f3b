"""The export folder: what may be replaced in it, how new files get there, its metadata.json.

An export folder may hold the user's own files beside the exported ones (a
deploy script, test images).  So an export never replaces the folder: only the
files this app writes (the format table's artifacts, labels.txt, README.txt,
metadata.json) are replaced, each by one atomic rename, and metadata.json last.
Everything is first built in a hidden staging folder beside the export folder
(:func:`staging`), so a failed, cancelled or killed export changes nothing.
Moving the finished files in takes several renames; before the first, metadata.json
is replaced by one that trusts no file (:func:`mark_unfinished`), so an export killed
between two renames leaves a folder that opens nothing and says "export again", never
a new model file under the old metadata's classes and parity verdict.

Formats of an earlier export that are not exported again stay when they came
from the very same model file (metadata.json records its sha256); files of an
earlier export of another model would disagree with the new labels.txt and
metadata.json, so those (and only those the format table names) are removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional

from core import __version__
from core.config import ExportConfig
from core.errors import UserError
from core.export.report import ExportReport, FormatResult
from core.export.source import Source
from core.formats import BY_NAME, FORMATS, METADATA_MARKER, METADATA_UNFINISHED, NAMES
from core.fsutil import (as_disk_full, atomic_dir, atomic_write_text, cannot_write,
                         leftover_pid)
from core.write_errors import cannot_replace
from core.infer.loaders import export_metadata
from core.processes import pid_alive
from core.trust.store import export_description

#: Files every export folder gets besides the formats' own.
LABELS, README, METADATA = "labels.txt", "README.txt", "metadata.json"


def check_out_dir(out: Path, src: Source) -> Optional[dict]:
    """Refuse an unusable export folder; return the metadata of an earlier export in it."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; give a folder for the export")
    previous = None
    try:
        holds_files = out.is_dir() and any(out.iterdir())
    except OSError as exc:
        raise UserError(f"{out}: cannot read this folder ({exc.strerror or exc}); choose "
                        "another folder for the export") from None
    if holds_files:
        previous = export_metadata(out)
        if previous is None:
            raise UserError(f"{out} already holds files that are not a Fine-Tune Studio export; "
                            "choose an empty or new folder")
    resolved = out.resolve()
    for p in (src.model_path.resolve(), src.run_dir.resolve() if src.run_dir else None):
        if p is not None and (p == resolved or resolved in p.parents):
            raise UserError(f"{out}: the export folder cannot be (or contain) the model being "
                            "exported; choose another folder")
    data = Path(src.data_dir).resolve() if src.data_dir else None
    if data is not None and (resolved == data or data in resolved.parents):
        raise UserError(f"{out} is inside the run's data folder {data}: the exported files "
                        "would be scanned as images (or break its train/val layout) next "
                        "time; choose an export folder outside it")
    if out.is_dir():
        _check_takes_files(out)
    return previous


def _check_takes_files(out: Path) -> None:
    """Make and remove a file in ``out``: a folder that takes no new entries (a read-only
    share, another user's folder) was found out only after every format had been built and
    checked, minutes later (a review)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.{os.getpid()}.", suffix=".probe",
                                     dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise cannot_write(out, exc) from None


# -- staging and moving into place ------------------------------------------------


def _stage_prefix(out: Path) -> str:
    return f".{out.name}."


def _sweep_dead_stages(out: Path) -> None:
    """Delete staging folders beside ``out`` left by an export that was killed.

    They are named ``.OUT.PID.<random>.partial``; those whose process is gone are
    removed, a running export's are left alone.
    """
    prefix = _stage_prefix(out)
    with contextlib.suppress(OSError):
        for p in out.parent.iterdir():
            pid = leftover_pid(p.name, prefix, (".partial",))
            if pid is None or pid == os.getpid():
                continue
            if not pid_alive(pid):
                shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A private, hidden folder beside ``out`` to build in; always removed afterwards.

    Beside, not inside: the finished files are renamed into ``out`` (one file
    system), and a killed export leaves nothing in the user's folder.  A full
    disk is reported as :class:`core.errors.DiskFullError` naming ``out``.
    """
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _sweep_dead_stages(out)
        stage = Path(tempfile.mkdtemp(prefix=f"{_stage_prefix(out)}{os.getpid()}.",
                                      suffix=".partial", dir=out.parent))
    except OSError as exc:
        raise cannot_write(out, exc) from None
    try:
        yield stage
    except BaseException as exc:
        err = as_disk_full(out, exc)
        if err is exc:
            raise
        raise err from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def move_into_place(src: Path, dst: Path) -> None:
    """Replace ``dst`` by ``src`` in one atomic step (a folder is swapped whole)."""
    if src.is_dir():
        with atomic_dir(dst) as tmp:
            tmp.rmdir()
            os.replace(src, tmp)
    else:
        os.replace(src, dst)


def check_replaceable(out: Path, previous: Optional[dict], fmts: list[str],
                      fingerprint: str) -> None:
    """Refuse, before the work starts, a file of the earlier export that this one would replace
    or remove and cannot (locked, another user's, open in another program): found at the end,
    it left the folder half replaced (a review).  Each is renamed aside and back."""
    if previous is None:
        return
    _, stale = earlier_formats(previous, fingerprint, out)
    names = [BY_NAME[f].artifact for f in dict.fromkeys([*fmts, *stale])]
    for name in [*names, LABELS, README, METADATA]:
        path = out / name
        if not os.path.lexists(path):
            continue
        aside = out / f".{name}.{os.getpid()}.replace-check"
        try:
            os.replace(path, aside)
        except OSError as exc:
            raise cannot_replace(path, exc, begun=False) from None
        try:
            os.replace(aside, path)
        except OSError as exc:
            raise UserError(f"{path} was renamed {aside.name} to check that it can be "
                            f"replaced, and could not be renamed back ({exc.strerror or exc}); "
                            "rename it back, then export again") from None


def mark_unfinished(out: Path, previous: Optional[dict], written: list[str]) -> None:
    """Replace ``out``'s metadata.json by one that trusts none of its files.

    It lists the earlier export's formats and the ones about to be moved in, all
    untrusted and with no model fingerprint, so the next export into the folder
    treats every one of them as another model's file (replaced or removed).
    """
    formats = previous.get("formats") if previous else None
    listed = {f: e for f, e in formats.items() if f in BY_NAME and isinstance(e, dict)} \
        if isinstance(formats, dict) else {}
    for fmt in written:
        listed[fmt] = {"file": BY_NAME[fmt].artifact}
    entries = {f: {**listed[f], "status": METADATA_UNFINISHED, "trust": False}
               for f in NAMES if f in listed}
    text = json.dumps({METADATA_MARKER: True, "app_version": __version__,
                       METADATA_UNFINISHED: "an export into this folder did not finish "
                                            "(stopped, or a file could not be replaced); "
                                            "export again",
                       "source_sha256": None, "formats": entries}, indent=2) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / METADATA, text)


def commit(stage: Path, out: Path, names: list[str]) -> None:
    """Move ``names`` from the stage into ``out`` in order (put metadata.json last)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        try:
            move_into_place(stage / name, out / name)
        except OSError as exc:  # named the staging file, gone by now (a review)
            raise cannot_replace(out / name, exc, begun=True) from None


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


# -- earlier exports --------------------------------------------------------------


def earlier_formats(previous: Optional[dict], fingerprint: str,
                    out: Path) -> tuple[dict[str, dict], list[str]]:
    """(metadata entries of the earlier export's formats still valid for this model,
    the earlier formats whose files belong to another model).

    Only formats of the table whose artifact is present count; the file name
    always comes from the table, never from the (editable) metadata.
    """
    formats = previous.get("formats") if previous else None
    if not isinstance(formats, dict):
        return {}, []
    present = {f: e for f, e in formats.items()
               if f in BY_NAME and isinstance(e, dict) and e.get("file")
               and (out / BY_NAME[f].artifact).exists()}
    if previous.get("source_sha256") == fingerprint:
        return present, []
    return {}, list(present)


def remove_formats(out: Path, formats: list[str]) -> None:
    """Delete the table artifacts of ``formats`` from ``out`` (nothing else)."""
    for fmt in formats:
        path = out / BY_NAME[fmt].artifact
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


# -- metadata.json ------------------------------------------------------------------


def format_entry(r: FormatResult) -> dict:
    return {"file": BY_NAME[r.format].artifact if r.written else None,
            "status": r.status, "trust": r.ok, "size_bytes": r.size_bytes,
            "latency_ms_cpu_1_image": r.latency_ms, "parity": r.parity, "details": r.details,
            "error": r.error, "seconds_to_export": r.seconds}


def merged_entries(results: list[FormatResult], earlier: dict[str, dict]) -> dict[str, dict]:
    """metadata.json's formats: this export's, plus earlier ones kept in the folder, in table
    order (a format that failed now keeps its earlier file's entry)."""
    entries = dict(earlier)
    for r in results:
        if r.written or r.format not in earlier:
            entries[r.format] = format_entry(r)
    return {f: entries[f] for f in NAMES if f in entries}


def output_description(src: Source) -> dict:
    """metadata.json's "output": the probabilities, and the unknown score when there is one."""
    out = {"name": "probabilities", "shape": [None, len(src.classes)],
           "meaning": "softmax probabilities in labels.txt order"}
    if src.trust is None:
        return out
    carry = [f.name for f in FORMATS if f.calibrated]
    scored = [f.name for f in FORMATS if f.calibrated and f.unknown_score]
    return {**out, "meaning": "calibrated softmax probabilities in labels.txt order "
                              f"({', '.join(carry)}; model.keras gives the model's own softmax: "
                              "apply the temperature as README.txt shows)",
            "unknown_score": {"shape": [None], "formats": scored,
                              "meaning": "higher: less like the training images; above "
                                         "calibration.unknown.threshold the answer is "
                                         "'unknown' (see README.txt)"}}


def metadata(src: Source, digests: tuple[str, str], report: ExportReport, cfg: ExportConfig,
             formats: dict[str, dict]) -> dict:
    """metadata.json; ``digests``: :meth:`Source.digests` (fingerprint, the model's own)."""
    metrics = {k: src.metrics[k] for k in ("accuracy", "macro_f1", "n_images", "per_class")
               if k in src.metrics}
    return {
        METADATA_MARKER: True,
        "app_version": __version__,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "source": str(src.model_path),
        "source_sha256": digests[0],
        "model_sha256": digests[1],  # the model alone: the report's check
        "backbone": src.backbone,
        "classes": list(src.classes),
        "input": {"shape": [None, src.image_size, src.image_size, 3], "layout": "NHWC",
                  "height": src.image_size, "width": src.image_size, "channel_order": "RGB",
                  "value_range": [0, 255], "preprocessing_inside": True,
                  "resize": "squash to size x size, bilinear (aspect ratio not kept)",
                  "dtype": "float32 (savedmodel also uint8 via serving_uint8; tflite-int8 uint8)"},
        "output": output_description(src),
        "calibration": export_description(src.trust_record) if src.trust is not None else None,
        "training_metrics": metrics,
        "parity": {"images": report.parity_images, "source": report.parity_source,
                   "reference": "the app's prediction (KerasPredictor on the run's model.keras, "
                                "with the run's calibration for the calibrated formats)",
                   "runtime": "each format's own runtime in a fresh process"},
        "export_config": {"int8_calibration_images": cfg.int8_calibration_images,
                          "int8_max_float_layers": cfg.int8_max_float_layers,
                          "int8_min_agreement": cfg.int8_min_agreement,
                          "int8_bias_correction": cfg.int8_bias_correction,
                          "int8_weight_rounding": cfg.int8_weight_rounding,
                          "parity_images": cfg.parity_images},
        "formats": formats,
    }
