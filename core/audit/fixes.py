"""Applying audit decisions to the user's folder: renames only, journalled, undoable.

Nothing is ever deleted.  "Move" renames an image into another class folder
of the same data folder; "set aside" renames it into ``_set_aside/`` inside
the data folder (scans ignore that folder, :data:`core.data.folder_walk.SET_ASIDE`),
keeping its path, so it can be found and put back by hand too.  Every batch
is written to the journal (``<data>/.fts-journal.jsonl``, a hidden file the
scan skips) *before* the files move, so :meth:`FixJournal.undo_last` can
reverse it even after a crash or a restart: undo puts back what moved and
skips what never did.  A file that changed since the audit (another size or
content) is refused with a message, as is anything that would overwrite a file.
The same journal records images brought in by labelling and camera captures
(:mod:`core.label`); undoing a capture removes the unchanged pictures it made,
the only files undo ever deletes.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Optional, Union

from core.data.folder_walk import SET_ASIDE
from core.features.hashing import FileStamp, hash_file
from core.data.regular_file import FileProblem
from core.errors import UserError
from core.fsutil import rename_new
from core.symlinks import links_to
from core.path_names import free_name
from core.shown import one_line
from core.audit.change_lock import changing
from core.audit.fix_outcome import JOURNAL_NAME, FixOutcome, Move, damaged_text
from core.audit.journal_records import append_entry, damaged_move, well_formed
from core.audit.undo_files import (batch_origin, deepest_first, missing_class, remove_if_empty,
                                   undo_again, undo_bring_in, undo_capture, undo_rename)

ACTIONS = ("move", "set_aside")
PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class Fix:
    """One decision: ``move`` ``path`` to class ``target_class``, or ``set_aside`` it."""

    path: str
    action: str
    target_class: str = ""


class FixJournal:
    """The fixes made in one data folder, from its journal file (read fresh every time)."""

    def __init__(self, data_dir: PathLike) -> None:
        self.root = Path(os.path.abspath(os.fspath(data_dir)))
        self.path = self.root / JOURNAL_NAME
        self.damaged = 0  # unreadable lines seen by the last read
        self._split: Optional[bool] = None  # a train/ val/ test/ folder (read when needed)

    def changing(self, what: str):
        """The folder's change lock, held for a whole batch or an Undo
        (:func:`core.audit.change_lock.changing`)."""
        return changing(self.path, what)

    # -- journal file ------------------------------------------------------------
    def _text(self) -> str:
        """The journal's text; bytes that are not UTF-8 are kept as they are (surrogateescape),
        so a damaged journal still reads, and is written back unchanged around new lines."""
        try:
            return self.path.read_text(encoding="utf-8", errors="surrogateescape")
        except FileNotFoundError:
            return ""
        except OSError as exc:
            raise UserError(f"{self.path}: the journal of fixes cannot be read "
                            f"({exc.strerror or exc}); check its permissions") from None

    def entries(self) -> list[dict]:
        """Every readable record; a damaged line (a crash mid-write elsewhere) is skipped and
        counted in :attr:`damaged`."""
        out = []
        self.damaged = 0
        for line in self._text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                self.damaged += bool(line.strip())
                continue
            if well_formed(entry):
                out.append(entry)
            elif line.strip():
                self.damaged += 1
        return out

    def _append(self, entry: dict) -> None:
        append_entry(self.path, entry)

    def record(self, batch: str, moves: list[dict], note: str = "",
               created: Iterable[str] = ()) -> None:
        """Write a batch to the journal; call it *before* touching any file of it.

        ``moves``: ``{"src", "dst", "size", "digest"}`` renames inside the data
        folder (paths relative to it), or, for files brought in from outside
        (:mod:`core.label.apply`), ``{"op": "copy" | "move_in", "source": absolute
        path, "dst", "size", "digest"}``, or ``{"op": "capture", "dst", "size", "digest"}``
        for a new file made in the folder (:mod:`core.label.capture`).  ``created``:
        class folders (relative paths) the batch makes; Undo removes them again once
        they are empty, so an undone batch leaves the folder as it found it.
        """
        entry = {"type": "batch", "id": batch, "time": time.time(), "note": note, "moves": moves}
        if created:
            entry["created"] = sorted(created)
        self._append(entry)

    def settle(self, batch: str, missing: Iterable[str]) -> None:
        """Record that ``batch`` has been placed, all but ``missing`` (destinations): Undo
        then names a missing copy as moved since; a batch without this record was cut
        short (a kill, a full disk), and its missing copies were never made."""
        self._append({"type": "placed", "batch": batch, "missing": sorted(missing),
                      "time": time.time()})

    def pending_batches(self) -> list[dict]:
        """Batches not undone yet, oldest first (by their last part).

        A batch may be recorded in parts under one id (a camera burst records
        each frame just before writing it, :mod:`core.label.capture`); the parts
        come back as one batch with all their moves, so one Undo reverses it.
        """
        entries = self.entries()
        undone = {e.get("batch") for e in entries if e["type"] == "undo"}
        settled = {e["batch"]: set(e["missing"]) for e in entries if e["type"] == "placed"}
        merged: dict = {}
        for e in entries:
            if e["type"] != "batch" or e.get("id") in undone:
                continue
            prev = merged.pop(e.get("id"), None)
            if prev is not None:
                e = {**e, "moves": list(prev.get("moves", [])) + list(e.get("moves", [])),
                     "created": sorted({*prev.get("created", ()), *e.get("created", ())})}
            merged[e.get("id")] = e
        for batch_id, e in merged.items():  # {"settled": destinations never placed}
            if batch_id in settled:
                merged[batch_id] = {**e, "settled": settled[batch_id]}
        return list(merged.values())

    def undo_state(self) -> tuple[int, str, str]:
        """(batches Undo can still reverse, a warning when journal lines cannot be read, what
        the next Undo takes back in a few words)."""
        from core.audit.batch_words import batch_text

        pending = self.pending_batches()
        return (len(pending), damaged_text(self.damaged) if self.damaged else "",
                batch_text(pending[-1]) if pending else "")

    # -- relative paths ----------------------------------------------------------
    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _abs(self, rel: str) -> Path:
        return self.root.joinpath(*rel.split("/"))

    def _inside(self, path: str) -> Optional[Path]:
        p = Path(os.path.abspath(os.path.join(self.root, path)))
        try:
            p.relative_to(self.root)
        except ValueError:
            return None
        return p

    # -- applying ------------------------------------------------------------------
    def apply(self, fixes: Iterable[Fix], stamps: Mapping[str, FileStamp],
              note: str = "") -> FixOutcome:
        """Rename the files of ``fixes``; ``stamps`` (path -> FileStamp) is what the audit saw."""
        outcome = FixOutcome(batch=uuid.uuid4().hex[:12])
        planned: list[tuple[Path, Path, FileStamp]] = []
        taken: set[Path] = set()
        for fix in fixes:
            src = self._inside(fix.path)
            why = self._refusal(fix, src, stamps)
            if why:
                outcome.refused.append((fix.path, why))
                continue
            dst = self._destination(fix, src, taken)
            if dst is None:
                outcome.refused.append((fix.path, f"class folder '{fix.target_class}' does "
                                        "not exist in the data folder"))
                continue
            taken.add(dst)
            planned.append((src, dst, stamps[str(src)] if str(src) in stamps
                            else stamps[fix.path]))
        # A file a link (that stays) points at: moved, the kept image was a link to nothing.
        held = links_to([s for s, _d, _st in planned], set(stamps) - {str(p) for p, *_ in planned})
        outcome.refused += [(str(f), f"{self._rel(Path(link))} is a link to it and would point "
                             "at nothing: keep this file and set the link aside instead")
                            for f, link in held.items()]
        planned = [p for p in planned if p[0] not in held]
        if not planned:
            return outcome
        with self.changing("apply the fixes"):
            self._rename_all(outcome, planned, note)
        return outcome

    def _rename_all(self, outcome: FixOutcome, planned: list, note: str) -> None:
        """Journal the batch (with the folders it makes, so Undo removes them), then move.
        A batch of which nothing moved is marked undone at once: Undo would do nothing."""
        created = self._folders_to_make([d for _s, d, _st in planned])
        self.record(outcome.batch, [{"src": self._rel(s), "dst": self._rel(d), "size": st.size,
                                     "digest": st.digest} for s, d, st in planned], note,
                    created)
        for src, dst, _ in planned:
            try:
                rename_new(src, dst)
            except OSError as exc:
                outcome.refused.append((str(src), f"could not move it ({exc})"))
                continue
            outcome.moved.append(Move(self._rel(src), self._rel(dst)))
        if not outcome.moved:
            self.mark_undone(outcome.batch, created)

    def _folders_to_make(self, targets: list[Path]) -> list[str]:
        """The folders (relative) that moving to ``targets`` will create, e.g.
        ``_set_aside`` and ``_set_aside/cat`` for the first image set aside from cat/."""
        out: set[str] = set()
        for target in targets:
            folder = target.parent
            while folder != self.root and not folder.exists():
                out.add(self._rel(folder))
                folder = folder.parent
        return sorted(out)

    def _refusal(self, fix: Fix, src: Optional[Path], stamps: Mapping[str, FileStamp]) -> str:
        """Why ``fix`` cannot be applied ("" when it can)."""
        if fix.action not in ACTIONS:
            return f"unknown action {fix.action!r}; use one of {', '.join(ACTIONS)}"
        if src is None:
            return "not inside the data folder"
        stamp = stamps.get(str(src)) or stamps.get(fix.path)
        if stamp is None:
            return "not part of the audit; run the audit again"
        try:
            st = os.stat(src)
        except OSError:
            return "no longer there (moved or deleted since the audit); run the audit again"
        changed = "changed on disk since the audit; run the audit again before fixing it"
        try:  # by content, always: a copy made with `cp -p` keeps size and times
            if st.st_size != stamp.size or hash_file(str(src)).digest != stamp.digest:
                return changed
        except FileProblem as exc:
            return exc.reason
        parts = src.relative_to(self.root).parts
        if parts[0] == SET_ASIDE:
            return "already set aside"
        if fix.action == "move" and parts[self._class_index(parts)] == fix.target_class:
            return f"already in class '{fix.target_class}'"
        return ""

    def _class_index(self, parts: tuple[str, ...]) -> int:
        """0 in a class-per-folder layout, 1 inside train/ val/ test/ -- by the scan's own
        rule (:func:`core.data.dataset.class_folders_root`): a class called ``test`` with
        sub-folders of its own is a class, not a subset."""
        from core.data.dataset import class_folders_root

        if self._split is None:
            self._split = os.path.abspath(class_folders_root(self.root)) != str(self.root)
        return 1 if self._split and len(parts) >= 3 else 0

    def _destination(self, fix: Fix, src: Path, taken: set[Path]) -> Optional[Path]:
        parts = src.relative_to(self.root).parts
        if fix.action == "set_aside":
            target = self.root.joinpath(SET_ASIDE, *parts)
        else:
            ci = self._class_index(parts)
            folder = self.root.joinpath(*parts[:ci], fix.target_class)
            if not fix.target_class or "/" in fix.target_class or not folder.is_dir():
                return None
            target = folder / src.name
        return free_name(target, taken)

    def mark_undone(self, batch: str, created: Iterable[str] = ()) -> None:
        """Record ``batch`` as undone, removing the folders it made if they are empty: at
        the end of an Undo, or when nothing of it reached the disk (every move or write
        failed; an Undo offered for it would do nothing while the user's real last change
        waited behind it)."""
        remove_if_empty(self._abs(rel) for rel in deepest_first(created)
                        if self._inside(rel) is not None)
        self._append({"type": "undo", "batch": batch, "time": time.time()})

    # -- undoing -------------------------------------------------------------------
    def undo_last(self) -> FixOutcome:
        """Reverse the last batch not yet undone (``batch`` is "" when there is none)."""
        if not self.path.exists():  # nothing to undo; the lock would make the journal
            return FixOutcome(damaged_lines=0)
        with self.changing("undo"):
            return self._undo_last()

    def _undo_last(self) -> FixOutcome:
        pending = self.pending_batches()
        if not pending:
            return FixOutcome(damaged_lines=self.damaged)
        batch = pending[-1]
        from core.audit.batch_words import batch_text

        outcome = FixOutcome(batch=str(batch.get("id", "")), what=batch_text(batch),
                             damaged_lines=self.damaged)
        came_from = batch_origin(m["source"] for m in batch.get("moves", [])
                                 if isinstance(m, dict) and isinstance(m.get("source"), str))
        for move in reversed(batch.get("moves", [])):
            op = move.get("op", "rename") if isinstance(move, dict) else None
            damaged = damaged_move(move, op) or self._escaping(move, op)
            if damaged:  # hand-edited or cut: that file is named and left; the rest undoes
                outcome.refused.append((damaged, "its record in the journal is damaged; left "
                                        "as it is (put it back by hand if needed)"))
                continue
            # a copy a cut-short batch never made, or one it said it could not make
            unmade = "settled" not in batch or move["dst"] in batch["settled"]
            try:  # one file that cannot go back is named; it must not block every Undo
                why, back = self._undo_move(op, move, unmade, came_from)
            except (OSError, UserError) as exc:
                why, back = f"could not be put back ({exc})", None
            if why is None:  # nothing to undo: never moved, or put back by hand since
                outcome.already.append(back)
            elif why:
                outcome.refused.append((move["dst"], why))
            else:
                outcome.moved.append(back)
        if not undo_again(outcome.refused):  # else it stays pending: its files that went back
            self.mark_undone(outcome.batch, batch.get("created", ()))  # are skipped next time
        return outcome

    def _escaping(self, move: dict, op: str) -> str:
        """"" when the record's paths are where Undo may touch; else the file it names.
        The journal travels with the folder (a copy, a zip from a colleague): a record
        whose folder paths lead out of it (``../``, absolute), or that brings a file back
        to a relative path, would have Undo move images out of the data folder."""
        inside = ("src", "dst") if op == "rename" else ("dst",)
        if all(self._inside(move[k]) is not None and not os.path.isabs(move[k])
               for k in inside) and (op in ("rename", "capture")
                                     or os.path.isabs(move["source"])):
            return ""
        return move["dst"]

    def _undo_move(self, op: str, move: dict, unmade: bool = False,
                   came_from: Optional[Path] = None) -> tuple[Optional[str], Optional[Move]]:
        """Undo one record: (None | "" | why refused, the move made back)."""
        if op == "rename":
            src, dst = self._abs(move["src"]), self._abs(move["dst"])
            gone = missing_class(self.root, move["src"], move["dst"],
                                 self._class_index(tuple(move["src"].split("/"))))
            return (undo_rename(src, dst, move["src"], move.get("digest"), gone),
                    Move(move["dst"], move["src"]))
        if op == "capture":
            return (undo_capture(self._abs(move["dst"]), move),
                    Move(move["dst"], "", "captured image removed"))
        src, dst = Path(move["source"]), self._abs(move["dst"])
        original_there = os.path.lexists(src)
        why = undo_bring_in(op, src, dst, move, unmade, came_from=came_from)
        return why, Move(move["dst"], str(src), "copy removed (the original, "
                         f"{one_line(str(src))}, was never touched)"
                         if op == "copy" and original_there else "")
