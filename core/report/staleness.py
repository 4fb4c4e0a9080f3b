"""Whether an export still answers as its run does: the report's and the Runs page's flag.

An export is a copy of the run's model (with, for most formats, its calibration) as it
was when exported.  It is out of date when the run's ``model.keras`` changed since (a
stopped run exported, then resumed: "passed" stood beside an accuracy of 50 % while the
run's model scored 66.7 %), or when the calibration the file carries is not the run's now.
Only what a format carries counts: a ``.keras`` export has no unknown score, so a new
"unknown" threshold leaves it as good as before (it was called out of date).
"""

from __future__ import annotations

import os
from typing import Optional

from core.file_digest import file_sha256
from core.runs.folder import RunFolder
from core.trust.store import read_record

#: What an export row carries when it no longer answers as the run does (why, in words).
STALE = "stale"

_digests: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256


def model_digest(run: RunFolder) -> Optional[str]:
    """sha256 of the run's model.keras (None: not readable), hashed once per version."""
    try:
        st = os.stat(run.model_path)
        key = (str(run.model_path), st.st_size, st.st_mtime_ns)
        if key not in _digests:
            _digests[key] = file_sha256(run.model_path)
    except OSError:
        return None
    return _digests[key]


def run_calibration(run: RunFolder):
    """(temperature, unknown threshold) of the run's calibration.json; None when it has none;
    False when it cannot be read (said elsewhere in the report; no export is judged by it)."""
    try:
        rec = read_record(run)
    except Exception:  # noqa: BLE001 - an unreadable calibration.json is said elsewhere
        return False
    return (rec.temperature, rec.unknown_threshold) if rec is not None else None


def _model_changed(meta: dict, now, digest: Optional[str]) -> bool:
    """True when the run's model is not the one exported.  ``model_sha256`` is the model
    alone; an earlier version's ``source_sha256`` is too when neither side had a
    calibration (it adds the calibration's arrays when there is one)."""
    if digest is None:
        return False
    recorded = meta.get("model_sha256")
    if recorded is None and meta.get("calibration") is None and now is None:
        recorded = meta.get("source_sha256")
    return isinstance(recorded, str) and recorded != digest


def with_staleness(row: dict, meta: Optional[dict], now, digest: Optional[str]) -> dict:
    """``row``, with :data:`STALE` saying why when it no longer answers as the run does
    (``meta``: its folder's metadata.json; ``now``: :func:`run_calibration`; ``digest``:
    :func:`model_digest`): "passed" had stood beside answers that differed from the app's
    on 23 of 132 images (a report review)."""
    from core.formats import BY_NAME
    from core.infer.export_meta import export_calibration

    if not meta:
        return row
    if _model_changed(meta, now, digest):
        return {**row, STALE: "the run's model changed after this export (it was trained "
                              "further), so the file answers otherwise than the app: export "
                              "again"}
    if now is False or "calibration" not in meta:  # an earlier version's export
        return row
    was = export_calibration(meta) if isinstance(meta["calibration"], dict) else None
    spec = BY_NAME.get(row.get("format"))
    if was is not None and now is not None and spec is not None and not spec.unknown_score:
        was, now = was[0], now[0]  # no unknown score in the file: the temperature alone
    if was == now:
        return row
    # Only the threshold moved (Predict's slider or switch, or calibrate --unknown-keep):
    # "calibrated again" was said of a slider moved on the page (a trust review).
    why = ("the run was calibrated after this export" if was is None else
           "the run's calibration was removed after this export" if now is None else
           "the run's “unknown” threshold changed after this export" if was[0] == now[0] else
           "the run was calibrated again after this export")
    return {**row, STALE: f"{why}, so the file answers otherwise than the app: export again"}
