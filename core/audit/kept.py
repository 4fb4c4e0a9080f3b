"""The images a user kept after a data check: "the label is right", "not an outlier".

Keeping changes nothing in the folder, so nothing there remembered it: the next check
listed the same suspects again, a kept one first, and every image already judged had to
be judged again (a review).  Kept images are remembered per data folder in the app's data
folder (``audit-kept/<key of the folder>.json``), each by its path in the folder with its
size and modification time: an image changed or moved since is asked about again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable, Optional

from core.appdirs import data_dir
from core.fsutil import atomic_write_text

#: What an image was kept as: the tabs of the check that keep images ("groups": a member of
#: a near-copy group kept whole, "Keep all").
KINDS = ("labels", "outliers", "groups")


def kept_file(root: str) -> Path:
    """Where the kept images of the data folder ``root`` are remembered."""
    name = os.path.abspath(root).encode("utf-8", "surrogateescape")
    return data_dir() / "audit-kept" / f"{hashlib.sha256(name).hexdigest()[:24]}.json"


def _stamp(path: str) -> Optional[list[int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _read(root: str) -> dict:
    """The record, or an empty one (none yet, or unreadable: the images are asked again)."""
    try:
        data = json.loads(kept_file(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def kept_paths(root: str, kind: str) -> set[str]:
    """The images of ``root`` kept as ``kind``, unchanged since (paths under ``root``)."""
    entries = _read(root).get(kind)
    if not isinstance(entries, dict):
        return set()
    out = set()
    for rel, stamp in entries.items():
        path = os.path.join(root, *str(rel).split("/"))
        if _stamp(path) == stamp:
            out.add(path)
    return out


def kept_sets(root: str) -> dict[str, set[str]]:
    """Every kind's kept images of ``root``, unchanged since, as absolute normalised paths
    (what ``audit``'s summary marks kept, as the window does)."""
    return {kind: {os.path.normpath(os.path.abspath(p)) for p in kept_paths(root, kind)}
            for kind in KINDS}


def was_kept(paths: Iterable[str], kept: Optional[set[str]]) -> bool:
    """Whether every one of ``paths`` is in ``kept`` (one kind's set from :func:`kept_sets`).

    The one test of "kept" for the window and ``audit``'s summary, so the two cannot come
    to disagree over a path written another way (relative, with ``..``)."""
    return bool(kept) and {os.path.normpath(os.path.abspath(p)) for p in paths} <= kept


def remember_kept(root: str, kind: str, paths: Iterable[str]) -> None:
    """Add ``paths`` (images under ``root``) to those kept as ``kind``; an OSError says why
    the record could not be written."""
    data = _read(root)
    entries = data.get(kind) if isinstance(data.get(kind), dict) else {}
    base = os.path.abspath(root)
    for path in paths:
        stamp = _stamp(path)
        if stamp is not None:
            entries[os.path.relpath(os.path.abspath(path), base).replace(os.sep, "/")] = stamp
    data[kind] = entries
    data["folder"] = base
    target = kept_file(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, json.dumps(data, indent=1, sort_keys=True))
