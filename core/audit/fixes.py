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
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional, Union

from core.data.folder_walk import SET_ASIDE
from core.features.hashing import FileStamp, hash_file
from core.data.regular_file import FileProblem
from core.fsutil import atomic_write_text

JOURNAL_NAME = ".fts-journal.jsonl"
ACTIONS = ("move", "set_aside")
PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class Fix:
    """One decision: ``move`` ``path`` to class ``target_class``, or ``set_aside`` it."""

    path: str
    action: str
    target_class: str = ""


@dataclass(frozen=True)
class Move:
    """A rename done (or undone), paths relative to the data folder with "/"."""

    src: str
    dst: str


@dataclass
class FixOutcome:
    """What a batch did: renames made, and files refused with the reason."""

    batch: str = ""
    moved: list[Move] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"{len(self.moved)} file(s) moved"]
        lines += [f"  {m.src} -> {m.dst}" for m in self.moved]
        lines += [f"refused {p}: {why}" for p, why in self.refused]
        return "\n".join(lines)


class FixJournal:
    """The fixes made in one data folder, from its journal file (read fresh every time)."""

    def __init__(self, data_dir: PathLike) -> None:
        self.root = Path(os.path.abspath(os.fspath(data_dir)))
        self.path = self.root / JOURNAL_NAME

    # -- journal file ------------------------------------------------------------
    def entries(self) -> list[dict]:
        """Every readable record; a damaged line (a crash mid-write elsewhere) is skipped."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("type") in ("batch", "undo"):
                out.append(entry)
        return out

    def _append(self, entry: dict) -> None:
        try:
            old = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            old = ""
        if old and not old.endswith("\n"):
            old += "\n"
        atomic_write_text(self.path, old + json.dumps(entry, ensure_ascii=False) + "\n")

    def pending_batches(self) -> list[dict]:
        """Batches not undone yet, oldest first."""
        undone = {e.get("batch") for e in self.entries() if e["type"] == "undo"}
        return [e for e in self.entries() if e["type"] == "batch" and e.get("id") not in undone]

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
        if not planned:
            return outcome
        self._append({"type": "batch", "id": outcome.batch, "time": time.time(), "note": note,
                      "moves": [{"src": self._rel(s), "dst": self._rel(d), "size": st.size,
                                 "digest": st.digest} for s, d, st in planned]})
        for src, dst, _ in planned:
            try:
                dst.parent.mkdir(parents=True, exist_ok=True)
                if dst.exists():
                    raise FileExistsError(f"{dst} appeared meanwhile")
                os.rename(src, dst)
            except OSError as exc:
                outcome.refused.append((str(src), f"could not move it ({exc})"))
                continue
            outcome.moved.append(Move(self._rel(src), self._rel(dst)))
        return outcome

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
        if st.st_size != stamp.size:
            return changed
        if st.st_mtime_ns != stamp.mtime_ns:  # touched: only a content change counts
            try:
                if hash_file(str(src)).digest != stamp.digest:
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
        """0 in a class-per-folder layout, 1 inside train/ val/ test/."""
        from core.data.dataset import SPLIT_FOLDERS

        return 1 if len(parts) >= 3 and parts[0].lower() in SPLIT_FOLDERS else 0

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
        stem, suffix, n = target.stem, target.suffix, 2
        while target.exists() or target in taken:  # never overwrite
            target = target.with_name(f"{stem} ({n}){suffix}")
            n += 1
        return target

    # -- undoing -------------------------------------------------------------------
    def undo_last(self) -> FixOutcome:
        """Reverse the last batch not yet undone (``batch`` is "" when there is none)."""
        pending = self.pending_batches()
        if not pending:
            return FixOutcome()
        batch = pending[-1]
        outcome = FixOutcome(batch=str(batch.get("id", "")))
        for move in reversed(batch.get("moves", [])):
            src, dst = self._abs(move["src"]), self._abs(move["dst"])
            if src.exists() and not dst.exists():
                continue  # never moved (the batch was interrupted)
            if not dst.exists():
                outcome.refused.append((move["dst"], "missing: moved or deleted since the fix; "
                                        f"it belonged at {move['src']}"))
                continue
            if src.exists():
                outcome.refused.append((move["dst"], f"cannot go back: {move['src']} exists "
                                        "again; move one of them by hand"))
                continue
            try:
                src.parent.mkdir(parents=True, exist_ok=True)
                os.rename(dst, src)
            except OSError as exc:
                outcome.refused.append((move["dst"], f"could not move it back ({exc})"))
                continue
            outcome.moved.append(Move(move["dst"], move["src"]))
        self._append({"type": "undo", "batch": outcome.batch, "time": time.time()})
        return outcome
