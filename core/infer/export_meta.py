"""What an export folder's metadata.json tells a model file in it: that the app wrote the
folder, the "unknown" threshold of the formats that output an unknown score, and whether
the file passed its parity check (:func:`parity_note`).

The threshold is not inside the SavedModel, TFLite and ONNX files, so a copy of one taken
out of its folder kept its calibrated probabilities but stopped ever saying "unknown",
and nothing said so (a review): :func:`scored_export` leaves a note the command line, the
server and the Predict page show.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from core.formats import METADATA_MARKER, METADATA_UNFINISHED


def export_metadata(p: Path) -> Optional[dict]:
    """Folder ``p``'s metadata.json when this app wrote it (an export folder), else None."""
    meta = p / "metadata.json"
    if not (p.is_dir() and meta.is_file()):
        return None
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get(METADATA_MARKER) else None


def model_export_metadata(path: Path) -> Optional[dict]:
    """The metadata.json of the export folder an exported model is in: beside a file, or
    around a savedmodel/ folder (None when there is none)."""
    folder = path if path.is_dir() else path.parent
    for candidate in (folder, folder.parent):
        meta = export_metadata(candidate)
        if meta is not None:
            return meta
    return None


def export_calibration(meta: Optional[dict]) -> tuple[Optional[float], Optional[float]]:
    """(temperature, unknown threshold) metadata.json's "calibration" gives; None for one
    that is missing or not a usable number.  The one reading of it: the loaders, and the
    report's check that an export still has the run's calibration."""
    cal = meta.get("calibration") if isinstance(meta, dict) else None
    cal = cal if isinstance(cal, dict) else {}
    unknown = cal.get("unknown") if isinstance(cal.get("unknown"), dict) else {}
    t, threshold = cal.get("temperature"), unknown.get("threshold")
    return (float(t) if _number(t) and 0 < t < float("inf") else None,
            float(threshold) if _number(threshold) else None)


def export_keep(meta: Optional[dict]) -> Optional[float]:
    """The share of validation images metadata.json's threshold keeps (its ``keep``), or
    None when it does not say (0.5 to 1, as ``--unknown-keep``)."""
    cal = meta.get("calibration") if isinstance(meta, dict) else None
    unknown = cal.get("unknown") if isinstance(cal, dict) else None
    keep = unknown.get("keep") if isinstance(unknown, dict) else None
    return float(keep) if _number(keep) and 0.5 <= keep <= 1 else None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def scored_export(predictor, path: Path) -> None:
    """``predictor`` (a file with an ``unknown_score`` output) gets the threshold its export
    folder's metadata.json gives, or, with no such file beside it (or around a savedmodel/),
    none and an ``unknown_note`` saying why and what to do."""
    predictor.has_unknown_score = True
    meta = model_export_metadata(path)
    if meta is not None:
        predictor.unknown_threshold = export_calibration(meta)[1]
        predictor.unknown_keep = export_keep(meta)
        return
    predictor.unknown_threshold = None
    predictor.unknown_note = (
        f"{path.name} gives an unknown score, but the threshold above which the answer is "
        "'unknown' is in the metadata.json of the folder it was exported to, which is not "
        "beside it: it answers without 'unknown'. Copy that metadata.json beside it")


def unscored_note(path: Path) -> str:
    """Why a file of a calibrated export answers without "unknown" ("" when that is not
    so): model_int8.tflite (an int8 output would clip the score) and model.keras carry no
    score.  Said only of a copy away from its metadata.json before, so moving a line client
    to the int8 file "for speed" lost the guard without a word (a serve review)."""
    meta = model_export_metadata(path)
    if meta is None or export_calibration(meta)[1] is None:
        return ""
    return (f"{path.name} has no unknown score (its export's other files have it: "
            f"{'an int8 output would clip it' if path.suffix == '.tflite' else 'it is not in this format'}), "
            "so it answers without 'unknown'; open the export folder, or its model.tflite, "
            "model.onnx or savedmodel, to keep it")


#: Why metadata.json does not vouch for a file, by its status (core/export/report.py).
UNTRUSTED_WHY = {
    "parity_failed": "failed its parity check when it was exported: its answers differed "
                     "from the app's",
    "not_checked": "was never checked against the app when it was exported",
    METADATA_UNFINISHED: "comes from an export that did not finish",
}


def parity_note(path: Path) -> str:
    """A warning for a model file its export folder's metadata.json does not vouch for
    ("" when it does, or when no metadata.json is beside it).

    Opening the export folder skips such a file; opening the file itself used it without
    a word, so a file whose int8 answers differed from the app's was predicted with, served
    and evaluated as if it were the app's model (a review)."""
    meta = model_export_metadata(path)
    formats = meta.get("formats") if meta is not None else None
    if not isinstance(formats, dict):
        return ""
    for entry in formats.values():
        if isinstance(entry, dict) and entry.get("file") == path.name \
                and entry.get("trust") is not True:
            why = UNTRUSTED_WHY.get(entry.get("status"), "is not vouched for")
            return (f"{path.name} {why} (its folder's metadata.json says so), so its answers "
                    "may not be the app's; use a format of that export that passed, or "
                    "export again")
    return ""
