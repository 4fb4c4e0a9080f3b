"""What the run index holds about a run, and how it is read from the run folder.

:mod:`core.runs.history` keeps these rows in SQLite; this module knows their
shape (:class:`RunSummary`, the columns) and how one run folder becomes one row
(:func:`folder_row`), with no database in sight, so both are easy to test and
the SQL module stays about storage.  A run folder whose files are damaged or
from a newer version is still indexed, from what can be read: the index lists
runs, it never judges them.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from core.errors import UserError
from core.shown import shown_text
from core.runs.damaged import missing_files
from core.runs.folder import RunFolder
from core.runs.records import RunInfo, RunStatus

log = logging.getLogger("finetune_studio")

#: Columns ``list_runs(order_by=...)`` accepts (whitelisted: they go into SQL).
SORT_KEYS = ("created", "finished", "backbone", "images", "accuracy", "macro_f1",
             "best_val_accuracy", "seconds", "status", "path", "name")
EPOCH_FIELDS = ("phase", "epoch", "global_epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                "learning_rate", "seconds")


@dataclass
class RunSummary:
    """One indexed run (a row of ``runs``)."""

    id: int
    path: str
    name: str
    status: Optional[RunStatus]
    backbone: Optional[str]
    image_size: Optional[int]
    images: Optional[int]
    classes: list[str]
    dataset_fingerprint: Optional[str]
    data_dir: Optional[str]
    created: Optional[float]
    finished: Optional[float]
    seconds: Optional[float]
    best_epoch: Optional[int]
    accuracy: Optional[float]
    macro_f1: Optional[float]
    best_val_accuracy: Optional[float]
    device: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return Path(self.path).is_dir()

    @property
    def model_path(self) -> Path:
        return RunFolder(self.path).model_path

    @property
    def missing(self) -> list[str]:
        """The config or labels file the run folder lost ([]: whole, or folder gone); such
        a run is listed as damaged (see :mod:`core.runs.damaged`)."""
        return missing_files(RunFolder(self.path)) if self.exists else []

    @property
    def shown_status(self) -> str:
        """The status as a person reads it: a "running" run whose trainer is gone (kill -9,
        a power cut: nothing could write "stopped") is "interrupted", resumable."""
        status = self.status.value if self.status else ""
        if self.status is RunStatus.RUNNING and self.exists:
            from core.runs.lock import shown_status

            return shown_status(RunFolder(self.path), status)
        return status

    def to_dict(self, with_config: bool = False) -> dict:
        d = asdict(self)
        d["status"] = self.status.value if self.status else None
        d["missing_files"] = self.missing  # a damaged run folder: what it lost
        if not with_config:
            d.pop("config")
        return d

    @classmethod
    def from_row(cls, r) -> "RunSummary":
        """A row of ``runs`` (an ``sqlite3.Row``) as a summary."""
        try:
            status = RunStatus(r["status"]) if r["status"] else None
        except ValueError:  # indexed by a newer version: show the run, without a status
            status = None
        return cls(
            id=r["id"], path=r["path"], name=r["name"], status=status,
            backbone=r["backbone"], image_size=r["image_size"], images=r["images"],
            classes=json_column(r, "classes", "[]"),
            dataset_fingerprint=r["dataset_fingerprint"], data_dir=r["data_dir"],
            created=r["created"], finished=r["finished"], seconds=r["seconds"],
            best_epoch=r["best_epoch"], accuracy=r["accuracy"], macro_f1=r["macro_f1"],
            best_val_accuracy=r["best_val_accuracy"], device=json_column(r, "device", "{}"),
            config=json_column(r, "config", "{}"))


def json_column(row, name: str, empty: str):
    """A JSON column of a history row; unreadable JSON is damage, as a DatabaseError.

    The history treats a DatabaseError saying "malformed" as a damaged index: it is
    set aside and rebuilt from the run folders (see ``core.runs.history``).
    """
    import sqlite3

    try:
        return json.loads(row[name] or empty)
    except (TypeError, ValueError):
        raise sqlite3.DatabaseError(f"malformed JSON in column {name!r} of the run history"
                                    ) from None


@dataclass
class RunComparison:
    """Two runs side by side: what changed in the config, and both histories."""

    a: RunSummary
    b: RunSummary
    diff: list[tuple[str, Any, Any]]  # (dotted key, value in a, value in b)
    history_a: list[dict]
    history_b: list[dict]


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """``{"model": {"backbone": "X"}}`` -> ``{"model.backbone": "X"}`` (lists stay values)."""
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def config_diff(a: dict, b: dict) -> list[tuple[str, Any, Any]]:
    """Settings that differ, as (dotted key, old, new); a missing key reads as None."""
    fa, fb = flatten(a), flatten(b)
    return [(k, fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]


def _read_dict(path: Path) -> dict:
    """A JSON object file as it is (verbatim), or {} when it is missing or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _run_info(rf: RunFolder) -> RunInfo:
    try:
        return rf.run_info()
    except UserError as exc:  # damaged or newer: index the rest of the folder
        log.warning("indexing %s without its %s: %s", rf.path, rf.run_path.name, exc)
        return RunInfo()


def _number(value: Any) -> Optional[float]:
    """A figure from a hand-editable file, or None: "n/a" crashed the table, {} the index."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def folder_row(rf: RunFolder, warn=None) -> tuple[dict, list[dict]]:
    """The ``runs`` row of a run folder (without ``id``) and its epoch rows, in order.

    ``warn(text)``: where a damaged history.csv is said (the command's own warnings; a
    logger line without it)."""
    info = _run_info(rf)
    config = _read_dict(rf.config_path)
    metrics = _read_dict(rf.metrics_path)
    try:
        history = rf.history()
    except (UserError, OSError, ValueError) as exc:  # one damaged file must not empty the list
        if warn is None:
            log.warning("indexing %s without its history: %s", rf.path, exc)
        else:
            warn(f"{exc}; the run is listed without its curves until then")
        history = []
    try:
        classes = rf.labels()
    except UserError:
        classes = list(info.classes)
    model = config.get("model", {})
    model = model if isinstance(model, dict) else {}
    vals = [r["val_accuracy"] for r in history if r.get("val_accuracy") is not None]
    row = {
        "path": str(rf.path), "name": rf.path.name,
        "status": info.status.value if info.status else None,
        "backbone": _text(model.get("backbone")), "image_size": _number(model.get("image_size")),
        "images": info.images, "classes": json.dumps(classes),
        "dataset_fingerprint": info.dataset_fingerprint,
        "data_dir": info.data_dir and shown_text(info.data_dir),  # SQLite takes UTF-8 only
        "config": json.dumps(config),
        "device": json.dumps(info.device),
        "created": info.created or _mtime(rf),
        "finished": info.finished, "seconds": info.seconds,
        "best_epoch": info.best_epoch,
        "accuracy": _number(metrics.get("accuracy", info.val_accuracy)),
        "macro_f1": _number(metrics.get("macro_f1")),
        "best_val_accuracy": max(vals) if vals else None, "indexed": time.time(),
    }
    return row, [{f: h.get(f) for f in EPOCH_FIELDS} for h in history]


def _mtime(rf: RunFolder) -> float:
    """When the run was written, for a run record without its time (a damaged folder may
    have lost its config file too)."""
    for p in (rf.config_path, rf.run_path, rf.path):
        try:
            return p.stat().st_mtime
        except OSError:
            continue
    return time.time()


def indexable(path: str | Path) -> bool:
    """Whether the run list can hold this folder: its path must be valid UTF-8 (SQLite)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def find_run_folders(roots: Iterable[str | Path],
                     damaged: Optional[list[Path]] = None) -> list[Path]:
    """Run folders at or below each root (a run folder's insides are not searched).

    ``damaged`` gets the folders that hold a run.json but lost config.json or labels.json:
    listed as damaged (:mod:`core.runs.damaged`), no longer dropped from the list."""
    found: list[Path] = []
    seen: set[str] = set()
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for dirpath, dirnames, _files in os.walk(root):
            p = Path(dirpath)
            if RunFolder(p).is_run_folder():
                key = str(p.resolve())
                if key not in seen:
                    seen.add(key)
                    found.append(p.resolve())
                dirnames[:] = []  # checkpoint/, logs/ hold no runs
            elif damaged is not None and os.path.exists(RunFolder(p).run_path):
                if p.resolve() not in damaged:
                    damaged.append(p.resolve())
                dirnames[:] = []
            else:
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
    return found
