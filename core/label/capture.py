"""Saving camera frames into the data set: JPEG at a chosen size, journalled, undoable.

A capture session writes into ``DATA_DIR/<class>/`` (``DATA_DIR/train/<class>/``
in a folder already split, as :func:`core.label.apply.classes_root` decides),
making the class folder when it is new.  Every frame gets a fresh name
(``<class>-<date>-<time>-<n>.jpg``, or ``... (2).jpg`` should that be taken), so
nothing is ever overwritten, and arrives whole or not at all
(:func:`core.fsutil.write_new`).

A burst (the frames taken while the button is held) is one batch of the data
folder's journal (:class:`core.audit.fixes.FixJournal`, the audit's and the
labelling's): each frame is recorded *before* it is written, so Undo -- here,
in the audit, after a crash or a restart -- removes exactly the burst's files,
and only while they are unchanged.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from core.audit.fixes import FixJournal, FixOutcome
from core.capture.frames import encode_jpeg, fit_longest
from core.data.folder_walk import class_folder_names
from core.errors import DataError, UserError
from core.features.hashing import DIGEST_BYTES
from core.fsutil import write_new
from core.path_names import cut_to_bytes, free_name
from core.label.apply import class_name_problem, classes_root
from core.label.split_classes import make_folders, sibling_class_folders

#: The longest side of a saved image, unless the user picks another (0 keeps the full frame).
DEFAULT_SIDE = 512


#: Bytes of a file name left for the class name: 255 less the date, the time, the
#: milliseconds, ".jpg" and room for a " (99)" clash suffix.
_NAME_PART_BYTES = 255 - len("-20261231-235959-999.jpg") - len(" (99)")


def check_class_name(name: str, existing: Iterable[str] = ()) -> str:
    """``name`` stripped, or UserError saying why it cannot be a class folder.

    One of the ``existing`` class folders is fine as it is (a burst goes into it, even one
    named "none" that the rule for new names refuses: the scan trains on it); a new name
    follows :func:`core.label.apply.class_name_problem`, a second spelling of an existing
    class ("Bright" beside "bright") included.
    """
    name = name.strip()
    existing = list(existing)
    if name and name in existing:
        return name
    problem = class_name_problem(name, existing)
    if problem:
        raise UserError(problem)
    return name


@dataclass(frozen=True)
class Saved:
    """One frame written: its class, its path, and the burst it belongs to."""

    class_name: str
    path: Path
    burst: str


class CaptureWriter:
    """Writes frames of a capture session into a data folder (see the module docstring)."""

    def __init__(self, data_dir, side: int = DEFAULT_SIDE) -> None:
        self.root = Path(os.path.abspath(os.fspath(data_dir)))
        if not self.root.is_dir():
            raise DataError(f"{self.root}: no such data folder; choose the folder that holds "
                            "(or will hold) the class folders")
        self.base = classes_root(self.root)
        self.side = int(side)
        self.journal = FixJournal(self.root)
        #: burst id -> (class, longest side), oldest first; the side is fixed per burst.
        self.bursts: dict[str, tuple[str, int]] = {}
        self._written: set[str] = set()  # bursts with a frame on disk
        self._abandoned: set[str] = set()  # bursts whose first frame could not be written

    def classes(self) -> list[str]:
        """The class folders there now."""
        return sorted(class_folder_names(str(self.base)), key=str.lower)

    def start_burst(self, class_name: str, side: Optional[int] = None) -> str:
        """A new burst into ``class_name`` (checked; its folder is made on the first frame),
        its pictures at most ``side`` pixels long (default: :attr:`side`; 0: full frame)."""
        burst = uuid.uuid4().hex[:12]
        name = check_class_name(class_name, self.classes())
        self.bursts[burst] = (name, self.side if side is None else side)
        return burst

    def save(self, frame: np.ndarray, burst: str) -> Saved:
        """Write ``frame`` (RGB uint8) as a JPEG of the burst's class; journalled first."""
        class_name, side = self.bursts[burst]
        if not self.root.is_dir():  # the journal could not be written: said of the journal
            raise UserError(f"{self.root}: the data folder is not there any more (moved, "
                            "renamed, deleted or its drive disconnected); nothing was saved. "
                            "Put it back, or choose the data folder again.")
        if burst in self._abandoned:  # written, it would be a file no Undo reaches
            raise UserError(f"not saved: the burst into {class_name} stopped when a picture "
                            "before this one could not be written")
        out = frame if side <= 0 else fit_longest(frame, side)
        data = encode_jpeg(out)
        digest = hashlib.blake2b(data, digest_size=DIGEST_BYTES).hexdigest()
        folder = self.base / class_name
        stamp = time.strftime("%Y%m%d-%H%M%S")
        millis = int(time.time() * 1000) % 1000
        start = cut_to_bytes(class_name, _NAME_PART_BYTES)
        for _ in range(3):  # a name taken between choosing and writing: choose again
            dst = free_name(folder / f"{start}-{stamp}-{millis:03d}.jpg")
            siblings = [] if folder.exists() else \
                sibling_class_folders(self.root, self.base, [folder])  # val/<class> too
            made = [] if folder.exists() else [f.relative_to(self.root).as_posix()
                                               for f in (folder, *siblings)]
            with self.journal.changing("capture"):  # no Undo between the record and the file
                self.journal.record(burst, [{"op": "capture", "dst": dst.relative_to(self.root)
                                             .as_posix(), "size": len(data), "digest": digest}],
                                    f"camera capture into {class_name}", created=made)
                try:
                    make_folders(siblings)
                    write_new(dst, data)
                except FileExistsError:
                    continue
                except (OSError, UserError):  # a full disk, a read-only folder
                    if burst not in self._written:  # nothing of the burst on disk: the
                        self.journal.mark_undone(burst, made)  # next Undo is the last burst
                        self._abandoned.add(burst)  # and frames queued after it are not kept
                    raise
            self._written.add(burst)
            return Saved(class_name, dst, burst)
        raise UserError(f"{folder}: could not find a free file name for the capture; try again")

    def last_burst(self) -> Optional[str]:
        """This session's newest burst that Undo would reverse (None: none left)."""
        pending = self.journal.pending_batches()
        if not pending or not self.bursts:
            return None
        last = str(pending[-1].get("id", ""))
        return last if last in self.bursts else None

    def undo_last_burst(self) -> tuple[str, FixOutcome]:
        """Remove the newest burst's files: (its class, what Undo did).

        Refused (UserError) when the journal's last change is not one of this
        session's bursts: Undo must never reverse someone else's fix by surprise.
        """
        with self.journal.changing("undo"):  # the last change stays the burst until undone
            burst = self.last_burst()
            if burst is None:
                raise UserError("Nothing of this capture to undo: the last change in "
                                f"{self.root} is not one of its bursts (use the Check data "
                                "tab's Undo for other changes).")
            class_name = self.bursts.pop(burst)[0]
            return class_name, self.journal.undo_last()
