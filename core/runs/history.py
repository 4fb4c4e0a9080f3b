"""Run history: every training run, GUI or CLI, indexed in one SQLite file.

The run folders are the truth (see :mod:`core.runs.folder`); this database is only an
index over them, so the app can list, sort, filter and compare runs without
opening hundreds of folders.  That choice shapes everything here:

* :meth:`RunHistory.record_run` reads a run folder and upserts it (one
  transaction: the run row and its epoch rows change together or not at all).
* :meth:`RunHistory.rebuild_index` throws the index away and re-reads folders.
* A damaged database (garbage bytes, "database disk image is malformed") is
  never fatal: it is renamed ``*.corrupt-<time>`` and rebuilt from the run
  folders it still names (when readable) plus the default runs folder, so the
  app always starts.
* The schema carries ``PRAGMA user_version`` so a later version can migrate.

What a row holds, and how a run folder becomes one, is :mod:`core.runs.summary`.

Connections are short-lived (one per call), so a worker thread (a GUI rebuild
job) and the UI thread never share one.  No TensorFlow, no Qt.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterable, Iterator, Optional

from core.appdirs import data_dir, default_runs_dir
from core.errors import UserError
from core.shown import plural, shown_text
from core.events import CancelToken, Log, Progress, emit
from core.runs.damaged import damaged_text, missing_files
from core.runs.folder import RunFolder
from core.runs.moved_runs import dropped_exports, gone_rows, take_moved_row
from core.runs.deleting import carried_weights, delete_run_files
from core.runs.summary import (EPOCH_FIELDS, SORT_KEYS, RunComparison, RunSummary, config_diff,
                               find_run_folders, folder_row, indexable, json_column)

log = logging.getLogger("finetune_studio")

SCHEMA_VERSION = 1
DB_NAME = "history.sqlite"

_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    status TEXT,
    backbone TEXT,
    image_size INTEGER,
    images INTEGER,
    classes TEXT,               -- JSON list
    dataset_fingerprint TEXT,
    data_dir TEXT,
    config TEXT,                -- the run's config, verbatim JSON
    device TEXT,                -- RunInfo.device, JSON
    created REAL,
    finished REAL,
    seconds REAL,
    best_epoch INTEGER,
    accuracy REAL,              -- the run's metrics: final validation accuracy
    macro_f1 REAL,
    best_val_accuracy REAL,     -- best epoch in the run's history
    indexed REAL NOT NULL
);
CREATE TABLE epochs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    phase TEXT, epoch INTEGER, global_epoch INTEGER,
    loss REAL, accuracy REAL, val_loss REAL, val_accuracy REAL,
    learning_rate REAL, seconds REAL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE exports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    format TEXT NOT NULL,
    path TEXT NOT NULL,
    size_bytes INTEGER,
    created REAL NOT NULL,
    details TEXT                -- JSON (parity, latency, ...)
);
CREATE INDEX runs_created ON runs(created);
"""

def default_db_path() -> Path:
    return data_dir() / DB_NAME


def _is_corruption(exc: BaseException) -> bool:
    """A damaged file, as opposed to a lock or a constraint (which must not trigger a rebuild)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    text = str(exc).lower()
    return (type(exc) is sqlite3.DatabaseError or "malformed" in text
            or "not a database" in text or "file is encrypted" in text
            or "no such table" in text or "no such column" in text)  # a dropped table


def _unusable(db_path: Path, exc: sqlite3.Error) -> UserError:
    """A database that is not damaged but cannot be used (read-only, locked): one line."""
    text = str(exc)
    hint = ("make the file (and its folder) writable, or set FTS_DATA_DIR to another folder"
            if "readonly" in text.replace("-", "").lower()
            else "close the other Fine-Tune Studio using it, or try again")
    return UserError(f"{db_path}: the run history cannot be used ({text}); {hint}")


def _recovering(method):
    """Run ``method``; if the file turns out damaged mid-session, recover once and retry."""

    @functools.wraps(method)
    def wrapper(self: "RunHistory", *args, **kwargs):
        try:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.DatabaseError as exc:
                if not _is_corruption(exc):
                    raise
                self._recover(exc)
                return method(self, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            raise _unusable(self.db_path, exc) from None

    return wrapper


class RunHistory:
    """The run index.  ``RunHistory()`` uses the app's data folder (``$FTS_DATA_DIR``)."""

    def __init__(self, db_path: str | Path | None = None) -> None:
        self.db_path = Path(db_path) if db_path else default_db_path()
        self.recovered_from: Optional[Path] = None  # where a corrupt database was moved
        self._open()

    # ------------------------------------------------------------------ connection
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(str(self.db_path), timeout=15)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            yield conn
        finally:
            conn.close()

    def _open(self) -> None:
        """Create or migrate the schema; a damaged file is moved aside and rebuilt."""
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            try:
                self._migrate()
            except sqlite3.DatabaseError as exc:
                if not _is_corruption(exc):
                    raise
                self._recover(exc)
        except sqlite3.OperationalError as exc:
            raise _unusable(self.db_path, exc) from None

    def _migrate(self) -> None:
        with self._connect() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise UserError(f"{self.db_path}: written by a newer Fine-Tune Studio (schema "
                                f"{version}); update the app, or delete the file to rebuild it")
            if version == 0:
                with conn:  # one transaction: all tables or none
                    conn.executescript("BEGIN;" + _SCHEMA
                                       + f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
            # future: "if version == 1: ALTER TABLE ...; PRAGMA user_version = 2"
            conn.execute("SELECT count(*) FROM runs").fetchone()  # reads a page: detects garbage

    def _known_paths_salvage(self) -> list[str]:
        """Run paths a damaged database still gives up (often none)."""
        try:
            with self._connect() as conn:
                return [r[0] for r in conn.execute("SELECT path FROM runs")]
        except sqlite3.Error:
            return []

    def _recover(self, exc: BaseException) -> None:
        known = self._known_paths_salvage()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.db_path.with_name(f"{self.db_path.name}.corrupt-{stamp}")
        n = 2
        while aside.exists():
            aside = self.db_path.with_name(f"{self.db_path.name}.corrupt-{stamp}-{n}")
            n += 1
        for suffix in ("", "-wal", "-shm", "-journal"):
            side = Path(str(self.db_path) + suffix)
            if side.exists():
                os.replace(side, Path(str(aside) + suffix))
        log.warning("%s is damaged (%s); moved to %s and rebuilding from the run folders",
                    self.db_path, exc, aside)
        self.recovered_from = aside
        self._migrate()
        self.rebuild_index(known)

    # ------------------------------------------------------------------ writing
    @_recovering
    def record_run(self, run_dir: str | Path) -> int:
        """Index (or re-index) one run folder; returns its id."""
        rf = RunFolder(Path(run_dir).resolve())
        rf.require_run_folder()
        with self._connect() as conn, conn:
            return self._upsert(conn, rf)

    def _upsert(self, conn: sqlite3.Connection, rf: RunFolder, gone=None, listener=None) -> int:
        """Write ``rf``'s row; ``gone`` (a rebuild): a row whose folder moved there is taken."""
        if not indexable(rf.path):
            raise UserError(f"{shown_text(str(rf.path))}: the folder's name is not valid UTF-8, so "
                            "the run list cannot hold it (the run itself is fine); rename it")
        row, epochs = folder_row(rf, listener and (lambda m: emit(listener, Log(m, "warning"))))
        if gone:
            take_moved_row(conn, row, gone)
        cols = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        updates = ", ".join(f"{k} = excluded.{k}" for k in row if k != "path")
        conn.execute(f"INSERT INTO runs ({cols}) VALUES ({marks}) "
                     f"ON CONFLICT(path) DO UPDATE SET {updates}", row)
        run_id = conn.execute("SELECT id FROM runs WHERE path = ?", (row["path"],)).fetchone()[0]
        conn.execute("DELETE FROM epochs WHERE run_id = ?", (run_id,))
        conn.executemany(
            f"INSERT INTO epochs (run_id, seq, {', '.join(EPOCH_FIELDS)}) "
            f"VALUES (?, ?, {', '.join('?' * len(EPOCH_FIELDS))})",
            [(run_id, i, *(e[f] for f in EPOCH_FIELDS)) for i, e in enumerate(epochs)])
        return int(run_id)

    @_recovering
    def record_export(self, run_dir: str | Path, fmt: str, path: str | Path,
                      size_bytes: Optional[int] = None, details: Optional[dict] = None) -> int:
        """Remember an exported file of a run (the run is indexed first if it is not yet)."""
        run_id = self.find_id(run_dir) or self.record_run(run_dir)
        with self._connect() as conn, conn:
            cur = conn.execute(
                "INSERT INTO exports (run_id, format, path, size_bytes, created, details) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, fmt, str(path), size_bytes, time.time(), json.dumps(details or {})))
            return int(cur.lastrowid)

    @_recovering
    def rebuild_index(self, roots: Iterable[str | Path] = (), listener=None,
                      cancel: Optional[CancelToken] = None) -> int:
        """Re-create the index from run folders; returns how many runs it now holds.

        Searched: ``roots`` (run folders or folders holding them), every folder
        the index knows, and the default runs folder.  Rows whose folder is gone
        are dropped -- the folders are the truth -- unless its parent is gone too (a
        drive or share not connected now).  One transaction: a cancelled
        or failed rebuild leaves the old index as it was.
        """
        cancel = cancel or CancelToken()
        with self._connect() as conn:
            known = [r[0] for r in conn.execute("SELECT path FROM runs")]
        damaged: list[Path] = []
        folders = find_run_folders([*roots, *known, default_runs_dir()], damaged)
        for folder in damaged:  # listed as damaged: said, with what to put back
            rf = RunFolder(folder)
            emit(listener, Log(damaged_text(rf, missing_files(rf)), "warning"))
        folders += damaged
        for folder in [f for f in folders if not indexable(f)]:
            emit(listener, Log(f"{shown_text(str(folder))}: the folder's name is not valid UTF-8; "
                               "the run list cannot hold it (rename it)", "warning"))
        folders = [f for f in folders if indexable(f)]
        # A run whose parent folder is gone too sits on a drive or share that is not there
        # now: kept (listed as missing), or one Rescan lost it and its exports for good.
        away = [p for p in known if not Path(p).exists() and not Path(p).parent.exists()]
        with self._connect() as conn, conn:
            gone = gone_rows(conn, known)  # a renamed or moved run keeps its row and exports
            indexed = 0
            for i, folder in enumerate(folders):
                cancel.raise_if_cancelled()
                emit(listener, Progress(i, len(folders), f"indexing {folder.name}"))
                try:
                    self._upsert(conn, RunFolder(folder), gone, listener)
                    indexed += 1
                except (UserError, OSError) as exc:  # one folder (vanished mid-scan, ...)
                    emit(listener, Log(f"{folder}: not indexed ({exc})", "warning"))
            unmatched = {p for paths in gone.values() for p in paths}
            away = [p for p in away if p in unmatched]  # not found moved elsewhere
            kept = [str(f) for f in folders] + away
            lost = dropped_exports(conn, kept)
            conn.execute("DELETE FROM runs WHERE path NOT IN (%s)" % ",".join("?" * len(kept)),
                         kept)
        if lost:
            emit(listener, Log(f"{plural(lost, 'export record')} of runs no longer found "
                               "dropped from the run history (the exported files are not "
                               "touched)", "warning"))
        emit(listener, Progress(len(folders), len(folders), "index rebuilt"))
        emit(listener, Log(f"run history: {indexed} run(s) indexed"
                           + (f"; {len(away)} on a drive or folder not there now kept"
                              if away else "")))
        return indexed + len(away)

    @_recovering
    def delete_run(self, run_id: int, delete_files: bool = False) -> None:
        """Forget a run; with ``delete_files`` also delete its folder (only a real run folder)."""
        run = self.get(run_id)
        carried = carried_weights(run.config) if delete_files else None
        with self._connect() as conn, conn:
            # The row first, in the transaction: a busy index then fails before any file is
            # touched (it deleted the folder and kept the row), and a refused or failed file
            # deletion rolls the row back.
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            if delete_files and (Path(run.path).exists() or Path(run.path).is_symlink()):
                delete_run_files(RunFolder(run.path))
        if carried is not None and not any(carried_weights(r.config) == carried
                                           for r in self.list_runs()):
            carried.unlink(missing_ok=True)  # made for this run alone; nothing else names it

    # ------------------------------------------------------------------ reading
    @_recovering
    def list_runs(self, order_by: str = "created", descending: bool = True,
                  text: str = "") -> list[RunSummary]:
        """Runs, sorted by a column of :data:`SORT_KEYS`; ``text`` filters (case-insensitive).

        The filter runs here, not in SQL: the classes column is JSON with non-ASCII names
        escaped (``caf\\u00e9``) and SQLite's lower() folds ASCII only, so "café" or "CAFÉ"
        never matched.
        """
        if order_by not in SORT_KEYS:
            raise UserError(f"cannot sort runs by {order_by!r}; choose one of {', '.join(SORT_KEYS)}")
        sql = (f"SELECT * FROM runs ORDER BY {order_by} IS NULL, "
               f"{order_by} {'DESC' if descending else 'ASC'}, id")
        with self._connect() as conn:
            runs = [RunSummary.from_row(r) for r in conn.execute(sql)]
        if not text:
            return runs
        want = text.casefold()
        return [r for r in runs if any(want in str(v).casefold() for v in (
            r.path, r.backbone, r.shown_status, *r.classes, r.dataset_fingerprint,
            r.data_dir) if v)]

    @_recovering
    def get(self, run_id: int) -> RunSummary:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise UserError(f"no run with id {run_id} in the run history ({self.db_path})")
        return RunSummary.from_row(row)

    @_recovering
    def find_id(self, run_dir: str | Path) -> Optional[int]:
        with self._connect() as conn:
            row = conn.execute("SELECT id FROM runs WHERE path = ?",
                               (str(Path(run_dir).resolve()),)).fetchone()
        return int(row[0]) if row else None

    @_recovering
    def epochs(self, run_id: int) -> list[dict]:
        """The run's history.csv rows as indexed (same keys as ``RunFolder.history()``)."""
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {', '.join(EPOCH_FIELDS)} FROM epochs WHERE run_id = ? "
                                "ORDER BY seq", (run_id,)).fetchall()
        return [dict(r) for r in rows]

    @_recovering
    def exports(self, run_id: int) -> list[dict]:
        with self._connect() as conn:
            rows = conn.execute("SELECT format, path, size_bytes, created, details FROM exports "
                                "WHERE run_id = ? ORDER BY created", (run_id,)).fetchall()
        return [{**dict(r), "details": json_column(r, "details", "{}")} for r in rows]

    def compare(self, a: int, b: int) -> RunComparison:
        ra, rb = self.get(a), self.get(b)
        return RunComparison(ra, rb, config_diff(ra.config, rb.config), self.epochs(a),
                             self.epochs(b))


def record_run_safely(run_dir: str | Path, listener=None) -> Optional[int]:
    """Index a run just written by training; a history problem never fails the run.

    The run folder is already complete when this is called, so the worst case
    is a run missing from the list until the next rebuild -- worth a warning,
    not an exception.
    """
    try:
        return RunHistory().record_run(run_dir)
    except Exception as exc:  # noqa: BLE001 - deliberately broad, see above
        log.debug("run history update failed", exc_info=True)
        emit(listener, Log(f"the run history could not record {run_dir} ({exc}); the run itself "
                           "is complete. 'python main.py runs --rebuild' re-indexes it", "warning"))
        return None
