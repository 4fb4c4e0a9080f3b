"""Images an earlier batch already put into the data set, from the folder's journal.

Sorting the same folder a second day copied every image in again ("u1 (2).png"), or into
another class.  The journal records each file a batch brought in (its source and content
digest), and each later Check-data move, so the data set's own record says what is in it
already: :mod:`core.label.apply` refuses such an image, the Sort step shows it as added.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from core.audit.fixes import FixJournal
from core.data.folder_walk import SET_ASIDE
from core.data.regular_file import FileProblem
from core.features.hashing import hash_file


@dataclass(frozen=True)
class Added:
    """An image an earlier batch brought into the data set, still where it now lies."""

    batch: str
    source: str  # the absolute path it was copied or moved from
    dst: str  # relative to the data folder, after any later audit move
    size: int = -1  # its bytes, as the journal recorded them (-1: not known)


def added_before(added: Added) -> str:
    """Why an image an earlier batch put into the data set is refused now."""
    if added.dst.split("/")[0] == SET_ASIDE:
        return (f"set aside earlier as {added.dst}; to use it after all, move it back into "
                "its class folder")
    return (f"already in the data set as {added.dst} (an earlier batch added it); to change "
            "its class, Undo that batch, or move it with the audit (Check data in the window)")


def put_there(added: Added, class_folder: str) -> bool:
    """Whether an earlier batch put the image into ``class_folder`` (relative to the data
    folder, as ``train/cats``): the class a label gives it now, so that label is done."""
    return added.dst.rsplit("/", 1)[0] == class_folder if "/" in added.dst else False


def by_source(earlier: dict[str, Added]) -> dict[str, Added]:
    """{source path (case as the system compares it): :class:`Added`} of ``earlier``: where
    an image a batch moved in went, though its source is gone."""
    return {os.path.normcase(a.source): a for a in earlier.values()}


def earlier_additions(journal: FixJournal) -> dict[str, Added]:
    """{digest: :class:`Added`} for every file a batch not undone copied or moved into the data
    set and that is still in it (followed through later audit moves).  Sorting the same
    folder a second day copied every image in again ("u1 (2).png"), or into another class."""
    found: dict[str, Added] = {}
    for batch in journal.pending_batches():
        never = batch.get("settled", ())  # recorded, but never placed (a full disk, a kill)
        for m in batch.get("moves", []):
            digest, dst = m.get("digest"), m.get("dst")
            if not (isinstance(digest, str) and isinstance(dst, str)) or dst in never:
                continue
            if m.get("op") in ("copy", "move_in") and isinstance(m.get("source"), str):
                size = m.get("size") if isinstance(m.get("size"), int) else -1
                found[digest] = Added(batch.get("id", ""), m["source"], dst, size)
            elif "op" not in m and digest in found and m.get("src") == found[digest].dst:
                a = found[digest]
                found[digest] = Added(a.batch, a.source, dst, a.size)  # moved by the audit
    return {d: a for d, a in found.items() if journal.root.joinpath(*a.dst.split("/")).is_file()}


def already_added(paths: Iterable[str], data_dir) -> dict[str, Added]:
    """Which of ``paths`` an earlier batch brought into ``data_dir``, the file unchanged since
    (by content: a camera that names each day's frames the same is not fooled), and which
    are byte copies of such an image (the batch took one copy of a picture the folder holds
    under two names: the other was shown as added that day, and as new the next)."""
    root = Path(os.path.abspath(os.fspath(data_dir))) if data_dir else None
    if root is None or not root.is_dir():
        return {}
    earlier = earlier_additions(FixJournal(root))
    sources = {os.path.normcase(a.source) for a in earlier.values()}
    sizes = {a.size for a in earlier.values()}
    out = {}
    for path in paths:
        with contextlib.suppress(FileProblem, OSError):
            if os.path.normcase(os.path.abspath(path)) not in sources and \
                    os.stat(path).st_size not in sizes:
                continue  # only a source, or a file of an added one's size, is hashed
            digest = hash_file(path).digest
            if digest in earlier:
                out[path] = earlier[digest]
    return out
