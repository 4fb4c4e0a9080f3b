"""What to tell a user whose file could not be written: a full disk, a file where a folder
should be, a read-only place -- each naming the file, and what to do.

Kept apart from :mod:`core.fsutil` (which re-exports them) to keep both small.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Optional

_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
#: How a library that raises its own errors (TensorFlow's SaveV2, a converter) says it.
_DISK_FULL_TEXTS = (os.strerror(errno.ENOSPC), "No space left on device", "Disk quota exceeded")


def as_disk_full(path: Path, exc: BaseException,
                 existed: Optional[bool] = None) -> BaseException:
    """``exc`` as a :class:`DiskFullError` naming ``path`` when the disk is full, else ``exc``.

    "[Errno 28] No space left on device" does not say which file or that the
    previous version survived; the user needs both to act calmly.  A file that was not
    there before (a label's copy, a new CSV, the first journal) has no previous version:
    "if any" is not said of it (a review).  ``existed``: whether it was there before the
    write began, for a writer that makes the file first (None: whether it is there now, as
    every atomic writer leaves it when it fails).
    """
    from core.errors import DiskFullError

    if isinstance(exc, DiskFullError):  # already names the file that did not fit
        return exc
    if (isinstance(exc, OSError) and exc.errno in _DISK_FULL) or any(
            text in str(exc) for text in _DISK_FULL_TEXTS):  # TensorFlow's own write errors
        try:
            there = os.path.lexists(path) if existed is None else existed
        except (OSError, ValueError):
            there = True
        kept = " - the previous version, if any, is unchanged" if there else ""
        return DiskFullError(f"{path}: the disk is full (no space left to write it); free some "
                             f"disk space and try again{kept}")
    return exc


def file_in_the_way(path: Path) -> Optional[Path]:
    """The nearest existing one of ``path`` and its parents when it is a file, not a folder
    (``a.txt`` for ``a.txt/sub/out.csv``): nothing can be created under it."""
    for place in (path, *path.parents):
        if place.exists():
            return None if place.is_dir() else place
    return None


def cannot_write(path: Path, exc: OSError, existed: Optional[bool] = None) -> BaseException:
    """A plain sentence for a place that takes no file: a full disk (:func:`as_disk_full`),
    a file where a folder is needed, a folder where the file should go, a read-only or
    special folder.  The raw error named a hidden temporary ("/proc/.x.26944.partial").
    ``existed``: as for :func:`as_disk_full`."""
    from core.errors import UserError

    full = as_disk_full(path, exc, existed)
    if full is not exc:
        return full
    try:  # a name too long for the disk cannot even be looked at
        if path.is_dir() and isinstance(exc, IsADirectoryError):
            return UserError(f"{path} is a folder; give a file name")
        blocker = file_in_the_way(path.parent)
    except OSError:
        blocker = None
    if blocker is not None:
        return UserError(f"cannot write {path}: {blocker} is a file, not a folder; choose "
                         "another place")
    code = getattr(exc, "errno", None)
    if getattr(exc, "winerror", None) in _WINDOWS_IN_USE:  # a CSV open in Excel, say
        return UserError(f"cannot write {path}: it is open in another program, or the folder "
                         "is not writable; close it there (or choose another place) and try "
                         "again")
    if code == errno.ENAMETOOLONG:
        return UserError(f"cannot write {path}: the name is too long for this disk; choose a "
                         "shorter name")
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return UserError(f"cannot write {path}: {_NO_WRITING.get(code, 'permission denied')}; "
                         "make the folder writable, or choose another folder")
    if code == errno.EINVAL:  # FAT and exFAT sticks, SMB shares: ":", "?", a trailing dot
        return UserError(f"cannot write {path}: this disk does not take that name (some "
                         "drives refuse characters such as : ? * \" < > | or a final dot or "
                         "space); choose another name")
    return UserError(f"cannot write {path} ({exc.strerror or exc}); choose another folder")


def cannot_make_run_folder(path: Path, exc: OSError) -> BaseException:
    """A new run folder the app named (``path``, in its runs folder) that could not be made.

    It said "cannot write .../20261206-072340-MobileNetV2: ...; make the folder writable, or
    choose another folder": a folder that does not exist, and a choice the window does not
    offer (a review).  The folder to make writable is the runs folder, or the nearest folder
    above it that exists; the app's own runs folder moves with FTS_DATA_DIR."""
    from core.appdirs import default_runs_dir
    from core.errors import UserError

    code = getattr(exc, "errno", None)
    if code not in _NO_WRITING:
        return cannot_write(path, exc)
    base = path.parent
    refused = next((p for p in (base, *base.parents) if os.path.exists(p)), base)
    what = (f"the runs folder {base}" if refused == base
            else f"{refused}, where the runs folder {base} would be made,")
    then = "make it writable"
    if os.path.abspath(base) == os.path.abspath(default_runs_dir()):
        then += (", or start the app with the environment variable FTS_DATA_DIR set to a "
                 "writable folder (new runs then go to its runs/ folder)")
    return UserError(f"cannot make a new run folder: {what} is not writable "
                     f"({_NO_WRITING[code]}); {then}")


def cannot_replace(path: Path, exc: OSError, begun: bool) -> BaseException:
    """A file of an earlier export that could not be replaced (locked, another user's, open in
    another program): the raw error named the hidden staging file, gone by then, and asked for
    "another path" when the user had given a folder.  ``begun``: other files were moved in
    already, so the folder's metadata.json trusts none of them until an export finishes."""
    from core.errors import UserError

    full = as_disk_full(path, exc)
    if full is not exc:
        return full
    if getattr(exc, "winerror", None) in _WINDOWS_IN_USE:
        why = "it is open in another program, or not writable"
    else:
        why = _NO_WRITING.get(getattr(exc, "errno", None)) or exc.strerror or str(exc)
    then = (" and export again: until then the folder's files are not used" if begun
            else ", then export again")
    return UserError(f"cannot replace {path}: {why}; make it writable (or choose another "
                     f"folder){then}")


def path_refusal(exc: OSError) -> str:
    """A path the system refused that no check caught (a name over 255 bytes...), in a
    sentence naming it; "" when the error names no file (then it is a bug, not the user's)."""
    if not getattr(exc, "filename", None):
        return ""
    return f"cannot use {exc.filename}: {exc.strerror or exc}; give another path"


#: Windows' "access denied" and sharing violations: what a file open in another program gives.
_WINDOWS_IN_USE = (5, 32, 33)

_NO_WRITING = {errno.EACCES: "permission denied", errno.EPERM: "not permitted",
               errno.EROFS: "the disk is read-only"}
