"""What the report shows, read from a run folder (and the run history), as plain data.

Nothing here is recomputed from the model: the report describes the run as
training, calibration and export recorded it, so it can be written in a second
and agrees with what the window shows.  Missing parts (no data folder any more,
no calibration, no exports) become a sentence in the report, never an error.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from core.config import StudioConfig
from core.errors import UserError
from core.runs.compare import EXACT_FIT, effective_settings, setting_label, settings_known
from core.runs.folder import RunFolder
from core.runs.lock import shown_status
from core.report.staleness import model_digest, run_calibration, with_staleness
from core.shown import plural
from core.trust.store import read_record, shown_summary


@dataclass
class DataSummary:
    source: str  # "scan of <folder>" or "split.json"
    counts: dict[str, dict[str, int]]  # subset ("all", "train", "val", "test") -> class -> n
    problems: list[dict] = field(default_factory=list)  # {"path", "kind", "reason"}
    warnings: list[str] = field(default_factory=list)
    examples: dict[str, str] = field(default_factory=dict)  # class -> one image path
    #: How the folder differs from what the run trained on ("" when it does not, or unknown).
    changed: str = ""


@dataclass
class ReportData:
    run_dir: str
    title: str
    info: dict[str, Any]
    data: DataSummary
    settings: list[tuple[str, str, str, bool]]  # (path, label, value, changed from default)
    history: list[dict]
    metrics: Optional[dict]
    calibration: Optional[dict]
    exports: list[dict]
    notes: list[str] = field(default_factory=list)  # what could not be read, and why
    #: Why the run has no scores when nothing is wrong ("" otherwise): trained without
    #: validation images, it never had a metrics.json (called "missing" before).
    no_scores: str = ""
    #: Why a completed run has no calibration ("" when it has one, or has not completed).
    not_calibrated: str = ""


def _number(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _value_text(v: Any) -> str:
    """A setting's value in words: a transform list as names with their chances and ranges
    (it was a line of raw JSON), other lists comma-separated."""
    if isinstance(v, list) and v and all(isinstance(t, dict) and "name" in t for t in v):
        parts = []
        for t in v:
            params = [f"p {_number(t.get('p', 1.0))}"] + [
                f"{k} {'–'.join(_number(x) for x in val) if isinstance(val, list) else _number(val)}"
                for k, val in (t.get("params") or {}).items()]
            off = "" if t.get("enabled", True) else ", off"
            parts.append(f"{t['name']} ({', '.join(params)}{off})")
        return "; ".join(parts)
    if isinstance(v, list):
        return ", ".join(_number(x) for x in v) if v else "(none)"
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False) if v else "(none)"
    return "(none)" if v in (None, "") else _number(v)


def settings_rows(cfg: StudioConfig) -> list[tuple[str, str, str, bool]]:
    """Every setting as the run really trained with it, labelled as the window labels it;
    ``changed`` marks values that differ from a new run's defaults resolved the same way.

    Resolved as the Runs page compares runs (:func:`~core.runs.compare.effective_settings`):
    the raw config said "Learning rate 2 = 0.0" where the run used 0.0001, and marked a
    preset's transforms "changed" because the default config stores none.
    """
    values = effective_settings(cfg.to_dict())
    defaults = effective_settings(StudioConfig().to_dict())
    return [(path, setting_label(path), _shown(path, value), defaults.get(path, value) != value)
            for path, value in values.items() if path != "version"]


def _shown(path: str, value: Any) -> str:
    """``value`` with its unit, "on"/"off", or what a special value means, as the window
    shows it ("0" for the image size is "the backbone's default")."""
    try:
        info = StudioConfig.field(path)
    except (KeyError, ValueError, AttributeError, TypeError):
        info = None
    if isinstance(value, bool):
        return "on" if value else "off"
    if value == EXACT_FIT:  # no unit: "exact fit … epochs"
        return value
    if info is not None and info.special is not None and value == info.special[0]:
        return info.special[1]
    text = _value_text(value)
    if info is None or not info.unit or text == "(none)":
        return text
    plural_word = len(info.unit) > 2 and info.unit.endswith("s")  # "epochs", not "s" (seconds)
    unit = info.unit[:-1] if text == "1" and plural_word else info.unit
    return f"{text} {unit}"  # "1 epoch": the report said "Phase 1 (head): 1 epochs" (a review)


def _from_split(run: RunFolder) -> DataSummary:
    split = run.split()
    counts: dict[str, dict[str, int]] = {}
    for subset in ("train", "val", "test"):
        records = getattr(split, subset)
        if records:
            per = counts.setdefault(subset, {c: 0 for c in split.classes})
            for r in records:
                per[r.class_name] = per.get(r.class_name, 0) + 1
    examples = {}
    for r in split.train + split.val:
        examples.setdefault(r.class_name, r.path)
    return DataSummary("split.json (the data folder is not available)", counts,
                       examples=examples)


def _changed_since(run: RunFolder, report) -> str:
    """A note when the data folder is not what the run trained on (its dataset fingerprint):
    the report set today's counts, problems and pictures beside the run's split without a
    word, so a broken file added later read as "left out" (a report review)."""
    from core.runs.relocate import dataset_fingerprint

    try:
        then = run.run_info().dataset_fingerprint
        split = run.split(report.root)
    except UserError:
        return ""
    if not then or then == dataset_fingerprint(report):
        return ""
    was = {r.path for r in (*split.train, *split.val, *split.test)}
    now = {r.path for r in report.records}
    added = f"{plural(len(now - was), 'image')} added" if now - was else ""
    counted = ", ".join(part for part in (added, f"{len(was - now)} gone" if was - now else "")
                        if part)
    counted = counted or "images replaced by others under the same names"
    return (f"The data folder has changed since this run trained ({counted}): the 'all' column, "
            "the problems and the pictures of the Data section are of the folder now, the "
            "train and val columns of the run")


def data_summary(run: RunFolder, data_dir: str) -> DataSummary:
    """Scan the run's data folder when it is still there (problems included), else split.json."""
    if data_dir and os.path.isdir(data_dir):
        from core.data.dataset import scan_dataset

        report = scan_dataset(data_dir)
        summary = _from_split(run) if run.split_path.exists() else DataSummary("", {})
        summary.source = f"scan of {data_dir}"
        summary.changed = _changed_since(run, report)
        summary.counts = {"all": report.counts, **summary.counts}
        summary.problems = [{"path": p.path, "kind": p.kind, "reason": p.reason}
                            for p in report.error_problems]
        summary.warnings = list(report.warnings)
        first: dict[str, str] = {}
        for rec in report.records:
            first.setdefault(rec.class_name, rec.path)
        usable = {rec.path for rec in report.records}  # split.json's pick may be damaged now
        picks = {c: p if p in usable else first.get(c) for c, p in summary.examples.items()}
        summary.examples = {c: p for c, p in {**picks, **{c: p for c, p in first.items()
                                                           if c not in picks}}.items() if p}
        return summary
    return _from_split(run)


def current_exports(run_dir: Path, history=None) -> tuple[list[dict], Optional[str]]:
    """The run's exports that are still its own: once each (the latest), still on disk, and
    not replaced since by another run's export to the same folder (the history keeps a row
    per export ever made, so a report listed deleted and overwritten files as "passed")."""
    try:
        from core.runs.history import RunHistory

        history = history or RunHistory()
        run_id = history.find_id(run_dir)
        rows = history.exports(run_id) if run_id is not None else []
    except Exception as exc:  # noqa: BLE001 - the report is still useful without them
        return [], f"the run history could not be read ({exc})"
    from core.infer.loaders import export_metadata  # at need: the report opens fast

    latest = {(r["format"], r["path"]): r for r in rows}  # oldest first: the last one wins
    run = RunFolder(run_dir)
    metas = {folder: export_metadata(folder) for folder in
             {Path(r["path"]).parent for r in latest.values()}}  # each folder's read once
    kept = [r for r in latest.values() if Path(r["path"]).exists()
            and _export_source(metas[Path(r["path"]).parent]) in (None, str(run.model_path))]
    gone = len(latest) - len(kept)
    if kept:
        now, digest = run_calibration(run), model_digest(run)
        kept = [with_staleness(r, metas[Path(r["path"]).parent], now, digest) for r in kept]
    return kept, (f"{gone} earlier export(s) are not listed: deleted since, replaced by "
                  "another model's export to the same folder, or left unfinished by an export that "
                  "was stopped" if gone else None)


def _without_validation(run: RunFolder) -> bool:
    """True when split.json says the run held no image out for validation (metrics.json is
    then never written: training has nothing to score)."""
    try:
        split = run.read_json(run.split_path.name)
    except UserError:
        return False
    return isinstance(split, dict) and split.get("val") == []


def _export_source(meta: Optional[dict]) -> Optional[str]:
    """The model an export folder's metadata.json (``meta``) says it was made from (None:
    unknown; "": none, an export into it did not finish)."""
    from core.formats import METADATA_UNFINISHED

    meta = meta or {}
    if meta.get(METADATA_UNFINISHED):
        return ""
    source = meta.get("source")
    return source if isinstance(source, str) else None


def _scores_problem(metrics) -> str:
    """What keeps ``metrics`` (metrics.json's content) from being shown ("" when nothing)."""
    from core.infer.metrics import Metrics

    try:
        Metrics.from_dict(metrics)
    except (KeyError, TypeError, ValueError) as exc:
        return str(exc)
    return ""


def _optional(read, what: str, notes: list[str]):
    try:
        return read()
    except (UserError, OSError, ValueError) as exc:
        notes.append(f"{what}: {exc}")
        return None


#: How the report opens on a run that did not complete (its status as the Runs page shows it).
UNFINISHED_WORDS = {"stopped": "was stopped", "interrupted": "was interrupted",
                    "failed": "failed"}


def _unfinished_note(status: Optional[str], history: list[dict], run_dir: str) -> str:
    """A line at the top of a stopped, interrupted or failed run's report: the Overview's
    "Status" cell was all that said it, so its scores read as a finished run's (a review)."""
    if status == "running":  # a report written while it trains read as the final one
        return (f"This run is still training ({plural(len(history), 'epoch')} so far): what this "
                "report shows is of its best epoch so far; write it again when the run has "
                "completed.")
    resume = f"Resume it on the Train step, or 'python main.py train --resume {run_dir}'."
    if status == "created":
        return f"This run has not begun training, so it has no results yet. {resume}"
    words = UNFINISHED_WORDS.get(status or "")
    if words is None:
        return ""
    if not history:
        return f"This run {words} before its first epoch ended, so it has no results. {resume}"
    return (f"This run {words} before it completed, after {plural(len(history), 'epoch')}: "
            "what this report shows is of its best epoch so far. " + resume)


def _why_not_calibrated(run: RunFolder, info: dict) -> str:
    """Why a completed run has no calibration, as the Evaluate page says it: with fewer than
    10 validation images the report showed an ECE and a reliability chart and never said
    the run was not calibrated and cannot say "unknown" (a review)."""
    from core.trust.missing import completed_not_calibrated

    if info.get("status") != "completed":
        return ""
    why = completed_not_calibrated(run)
    return why.text() if why is not None else ""


def gather(run_dir: str | os.PathLike) -> ReportData:
    """Everything the report shows; a UserError only when ``run_dir`` is no run folder."""
    run = RunFolder(run_dir)
    run.require_run_folder("a report describes a training run")
    notes: list[str] = []
    # An unreadable config.json leaves the settings unknown: defaults would pass for the
    # run's own (a report said "MobileNetV2, 224 px" of a MobileNetV3Small run at 32 px).
    cfg = _optional(run.load_config, "settings", notes)
    raw = _optional(lambda: run.read_json(run.config_path.name), "settings", notes) \
        if cfg is not None else None
    if cfg is not None and not settings_known(raw):
        notes.append(f"settings: {run.config_path} holds no model settings; they are not known")
        cfg = None  # "{}" loads as every default: not the run's settings either
    info = _optional(lambda: run.run_info().to_dict(), "run.json", notes) or {}
    if info.get("status"):  # "running" with no trainer: interrupted, as the Runs page says
        info["status"] = shown_status(run, info["status"])
    data_dir = info.get("data_dir") or (cfg.data.data_dir if cfg is not None else "")
    data = _optional(lambda: data_summary(run, data_dir), "data", notes) or DataSummary("", {})
    if data.changed:
        notes.append(data.changed)
    elif data_dir and not os.path.isdir(data_dir):  # said only in grey under "Data" (a review)
        notes.append(f"The data folder {data_dir} is not available (moved, deleted, or on a "
                     "drive not connected now): the Data section counts the run's images from "
                     "its split.json, and no picture of them can be shown")
    metrics = _optional(run.metrics, "metrics.json", notes) if run.metrics_path.exists() else None
    no_scores = ""
    if not run.metrics_path.exists() and _without_validation(run):
        no_scores = ("the run was trained without validation images (validation share 0), so "
                     "it has none. Score it on a folder of labelled images: 'python main.py "
                     f"evaluate {run.path} FOLDER', or Evaluate on another folder… in the window")
    elif not run.metrics_path.exists() and info.get("status") == "completed":  # said nowhere
        notes.append(f"{run.metrics_path.name}: {run.metrics_path} is missing from the finished "
                     "run; put it back from a copy of the run, or see 'python main.py "
                     "evaluate' for the scores")
    why = _scores_problem(metrics) if metrics is not None else ""
    if why:  # hand-edited: the sections below would stop on it
        notes.append(f"{run.metrics_path.name}: {run.metrics_path} is not the scores as the "
                     f"app writes them ({why}); put it back from a copy of the run, or see "
                     "'python main.py evaluate' for the scores")
        metrics = None
    record = _optional(lambda: read_record(run), run.calibration_path.name, notes)
    calibration = record.to_dict() if record is not None else None
    if calibration is None and metrics:
        calibration = shown_summary(metrics.get("calibration"))
    exports, why = current_exports(run.path.resolve())
    if why:
        notes.append(why)
    history = _optional(run.history, "history.csv", notes) or []
    unfinished = _unfinished_note(info.get("status"), history, str(run.path))
    if unfinished:
        notes.insert(0, unfinished)
    backbone = cfg.model.backbone if cfg is not None else (info.get("backbone") or "A model")
    title = f"{backbone} on {Path(data_dir).name if data_dir else 'unknown data'}"
    settings = settings_rows(cfg) if cfg is not None else []
    return ReportData(str(run.path.resolve()), title, info, data, settings, history,
                      metrics, calibration, exports, notes, no_scores,
                      _why_not_calibrated(run, info) if calibration is None else "")
