"""A folder's journal of fixes (:mod:`core.audit.fixes`), line by line: which lines can be
trusted, and how one is added (whole, or not at all).

The journal is a plain file in the user's folder: a crash can cut a line, a sync
tool can merge two, a person can edit it.  A record of another shape is counted
as damaged and its files are named and left where they are; it never stops
the rest of an Undo.
"""

from __future__ import annotations

import contextlib
import json
import os
from contextlib import nullcontext
from pathlib import Path

from core.audit.change_lock import holds
from core.file_locks import locked
from core.fsutil import cannot_write


def well_formed(entry) -> bool:
    """Whether a journal line is a record of the shapes
    :meth:`core.audit.fixes.FixJournal.record` and Undo write (valid JSON of another shape
    -- a hand edit, a sync tool's merge -- made every Undo fail with "unhashable type:
    'list'")."""
    if not isinstance(entry, dict):
        return False
    if entry.get("type") == "undo":
        return isinstance(entry.get("batch"), str)
    if entry.get("type") == "placed":
        missing = entry.get("missing")
        return isinstance(entry.get("batch"), str) and isinstance(missing, list) and \
            all(isinstance(m, str) for m in missing)
    created = entry.get("created", [])
    return (entry.get("type") == "batch" and isinstance(entry.get("id"), str)
            and isinstance(entry.get("moves"), list) and isinstance(created, list)
            and all(isinstance(c, str) for c in created))


#: The keys each kind of journal record needs, all strings
#: (see :meth:`core.audit.fixes.FixJournal.record`).
MOVE_KEYS = {"rename": ("src", "dst"), "capture": ("dst",), "copy": ("source", "dst"),
             "move_in": ("source", "dst")}


def damaged_move(move, op) -> str:
    """"" for a usable record; else the best name for the file it was about."""
    keys = MOVE_KEYS.get(op) if isinstance(op, str) else None
    if keys and all(isinstance(move.get(k), str) and move.get(k) for k in keys):
        return ""
    if isinstance(move, dict):
        for k in ("dst", "src", "source"):
            if isinstance(move.get(k), str) and move[k]:
                return move[k]
    return "(a file the journal no longer names)"


def append_entry(path: Path, entry: dict) -> None:
    """Add one line at the end, under an exclusive lock: two writers at once (a `label`
    while the window sorts) each rewrote the whole file and one lost the other's batch.
    A crash mid-line leaves a damaged last line, which the next append steps past."""
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape")
    existed = os.path.lexists(path)  # "a+b" makes it: a first journal has no earlier version
    try:
        # unbuffered: a failed write is cut back below, not flushed again at close
        with open(path, "a+b", buffering=0) as fh, (
                nullcontext() if holds(path) else locked(fh)):
            end = fh.seek(0, os.SEEK_END)
            if end and (fh.seek(end - 1), fh.read(1))[1] != b"\n":
                line = b"\n" + line
            try:
                rest = memoryview(line)
                while rest:
                    rest = rest[fh.write(rest):]
                os.fsync(fh.fileno())
            except OSError:  # a full disk cut the line: the journal as it was, as said
                with contextlib.suppress(OSError):
                    os.ftruncate(fh.fileno(), end)
                raise
    except OSError as exc:
        raise cannot_write(path, exc, existed) from None
