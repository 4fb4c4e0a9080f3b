"""Labels given on the Sort step and not yet added to the data set, kept as a draft per folder.

They are the user's work: closing the window, opening another project or a crash lost them
(the window could only ask first).  Each folder of new images has one draft file in the app's
data folder, written whole (temporary file, then rename) whenever the labels change; sorting
that folder again brings its labels back.  A label is kept only for a file that is still
the same (size and modification time): a file changed since may no longer be what was
labelled.  A damaged draft is dropped, never trusted: it holds nothing that cannot be
given again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from core.appdirs import data_dir
from core.fsutil import atomic_write_text, file_stamp
from core.typed_json import json_text

VERSION = 1


def drafts_dir() -> Path:
    return data_dir() / "sort-drafts"


def draft_path(folder: str | os.PathLike, data_dir: str = "") -> Path:
    """The draft file of a folder of new images sorted into ``data_dir`` (one per pair, named
    by their full paths): labels given for one project's data set (its classes) must not
    come back in another's, which sorts the same folder."""
    key = "\0".join(os.path.abspath(os.fspath(p)) if p else "" for p in (folder, data_dir))
    digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=12)
    return drafts_dir() / f"{digest.hexdigest()}.json"


@dataclass
class Draft:
    """What was decided for a folder's images: ``labels`` maps an absolute path to a class
    name or one of the Sort step's other decisions; ``classes`` are the classes made on
    the spot (their folders exist only once an image is added)."""

    folder: str
    labels: dict[str, str] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    data_dir: str = ""  # the data set the labels are for


def save_draft(draft: Draft) -> None:
    """Write the draft whole; an empty one removes the file (nothing left to keep)."""
    path = draft_path(draft.folder, draft.data_dir)
    if not draft.labels and not draft.classes:
        path.unlink(missing_ok=True)
        return
    top = os.path.abspath(draft.folder)
    labels = {}
    for p, label in draft.labels.items():
        stamp = file_stamp(p)
        if stamp is not None:
            labels[os.path.relpath(p, top).replace(os.sep, "/")] = [label, *stamp]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json_text({"version": VERSION, "folder": top, "labels": labels,
                                       "classes": list(draft.classes),
                                       "data_dir": draft.data_dir}, indent=0) + "\n")


def load_draft(folder: str | os.PathLike, data_dir: str = "") -> Draft:
    """The folder's draft for ``data_dir``, with only the labels of files unchanged since
    (empty when there is none, or it cannot be read)."""
    top = os.path.abspath(os.fspath(folder))
    draft = Draft(top, data_dir=data_dir)
    try:
        data = json.loads(draft_path(top, data_dir).read_text(encoding="utf-8"))
        if data.get("version") != VERSION or data.get("folder") != top \
                or data.get("data_dir", "") != data_dir:
            return draft
        for rel, (label, size, mtime_ns) in data["labels"].items():
            p = os.path.join(top, *rel.split("/"))
            if isinstance(label, str) and file_stamp(p) == (size, mtime_ns):
                draft.labels[p] = label
        draft.classes = [c for c in data.get("classes", []) if isinstance(c, str)]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return Draft(top, data_dir=data_dir)  # damaged or another version's: never trusted
    return draft
