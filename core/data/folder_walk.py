"""Listing the files of a data folder: visible entries only, links followed with care.

The scan (:mod:`core.data.dataset`) reads a data folder someone made or sent.
Folder links are followed, because people link class folders and sub-folders
in, but a link must never make the scan read things that are not part of the
data: a link loop would never end, a link to ``/`` or a home folder would read
the whole disk, and a pipe or device named ``x.png`` would block or never end
when read.  This module lists files and reports each such entry once, as a
:class:`~core.data.dataset_report.Problem`.
"""

from __future__ import annotations

import errno
import os
import unicodedata
from typing import Optional

from core.data.dataset_report import Problem
from core.data.imageio import IMAGE_EXTENSIONS
from core.data.regular_file import special_file_kind
from core.errors import DataError
from core.events import CancelToken
from core.path_names import is_within
from core.shown import one_line

#: Where the audit's "set aside" fix moves images (core.audit.fixes); scans skip it.
SET_ASIDE = "_set_aside"
#: Folders skipped besides hidden ones (macOS zip leftovers, images set aside, what Windows
#: keeps at a drive's root: a USB stick chosen as the data folder had them as classes).
IGNORED_FOLDERS = frozenset({"__MACOSX", SET_ASIDE, "$RECYCLE.BIN", "System Volume Information"})


#: Files a file browser leaves in folders it shows (macOS's is a dot-name): Windows'
#: Thumbs.db and desktop.ini had been listed as scan problems (a review).
OS_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_LITTER_FOLDED = frozenset(n.casefold() for n in OS_LITTER)


def hidden(name: str) -> bool:
    """Entries the scan never looks at: dot-names, macOS zip leftovers, images set aside,
    what a file browser leaves beside the images."""
    return (name.startswith(".") or name in IGNORED_FOLDERS
            or name.casefold() in _LITTER_FOLDED)


#: What ends a line for Python's splitlines (and so for a reader of labels.txt).
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def breaks_a_label_line(name: str) -> bool:
    """Whether class name ``name`` cannot be one line of a labels file: a line break of any
    kind, or nothing but spaces.  labels.txt holds one class per line: a class folder named
    with a newline gave 13 lines for 12 classes, and every export then refused to open (a
    report review).  Other control characters (ESC, a tab) fit on a line; the terminal shows
    them escaped."""
    return not name.strip() or any(ch in LINE_BREAKS for ch in name)


def folded_name(name: str) -> str:
    """``name`` as a Mac or Windows file system compares it (one Unicode form, any case):
    two class folders with one folded name are one folder there."""
    return unicodedata.normalize("NFC", name).casefold()


def class_folder_names(folder: str) -> list[str]:
    """The sub-folders of ``folder`` a scan trains on as classes: :func:`subfolders` less
    the names a labels file cannot hold.  Capture, Sort and ``label`` offered and filled
    such a folder, which training then left out (a review of this session's change)."""
    return [n for n in subfolders(folder) if not breaks_a_label_line(n)]


def folder_gone_text(folder) -> str:
    """The image folder deleted, renamed or unplugged: one sentence for the command line and
    the Data page ("make it readable" had misled)."""
    return (f"the image folder {folder} is not there any more (moved, renamed, or on a drive "
            "that is not connected): connect the drive and scan again, or choose the folder "
            "where it is now")


def subfolders(folder: str) -> list[str]:
    """Visible immediate sub-folders (symlinks to folders included), sorted like Keras."""
    try:
        with os.scandir(folder) as it:
            names = [e.name for e in it if not hidden(e.name) and _is_dir(e)]
    except FileNotFoundError:  # deleted or unplugged since the scan
        raise DataError(folder_gone_text(folder)) from None
    except OSError as exc:
        raise DataError(f"cannot read the data folder {folder}: {exc.strerror or exc}; make it "
                        "readable, or choose another folder") from None
    return sorted(names)


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def broken_links(folder: str) -> list[str]:
    """Visible links in ``folder`` that lead nowhere (a class folder on a drive that is not
    connected): the scan cannot tell them from files, so it says so instead of dropping
    a class without a word."""
    try:
        with os.scandir(folder) as it:
            return sorted(e.name for e in it if not hidden(e.name) and e.is_symlink()
                          and not os.path.exists(e.path))
    except OSError:
        return []


def loose_images(folder: str) -> int:
    """Image files lying directly in ``folder`` (they belong to no class)."""
    try:
        with os.scandir(folder) as it:
            return sum(1 for e in it if not hidden(e.name) and not _is_dir(e)
                       and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS)
    except OSError:
        return 0


def folder_key(path: str) -> Optional[tuple[int, int]]:
    """(device, inode) of a folder, the identity links cannot disguise; None when unreadable."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class FolderWalk:
    """Files below one class folder, each folder visited once, so symlink loops end.

    Links are followed (people link class folders and sub-folders in), but
    never into the data root, a split folder or a class folder (``barrier``):
    a link from class A to class B or back up the tree would otherwise file B's
    images under A.  A link into the middle of another class is followed and
    then shows up as cross-class duplicates, which the report names.  A link
    to a folder outside the data folder (and outside the class folder being
    walked, which may itself be a link to elsewhere) is not followed: a link
    to ``/`` would otherwise make the scan read the whole disk.
    """

    def __init__(self, problems: list[Problem], cancel: Optional[CancelToken],
                 barrier: set[tuple[int, int]], root: str) -> None:
        self.problems = problems
        self.cancel = cancel
        self.barrier = barrier
        self.root = os.path.realpath(root)

    def files(self, top: str) -> list[str]:
        out: list[str] = []
        base = os.path.realpath(top)
        if base != self.root and is_within(self.root, base):
            self._outside(top, base, "that holds the data folder")
            return out
        seen: set[tuple[int, int]] = set(self.barrier)
        stack = [top]
        while stack:
            folder = stack.pop()
            if self.cancel is not None:
                self.cancel.raise_if_cancelled()
            try:
                st = os.stat(folder)
                key = (st.st_dev, st.st_ino)
                if key in seen and folder != top:
                    continue  # a link back into a folder already read
                seen.add(key)
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                self.problems.append(Problem(folder, "unreadable",
                                             f"cannot read this folder ({exc.strerror or exc}); "
                                             "make it readable, then scan again"))
                continue
            subdirs = [e.path for e in entries if not hidden(e.name) and self._entry(e, base, out)]
            stack.extend(reversed(subdirs))  # depth-first, in name order
        return out

    def _entry(self, e: os.DirEntry, base: str, out: list[str]) -> bool:
        """File ``e`` into ``out`` or the problems; True for a folder to walk into."""
        try:
            if e.is_dir():  # follows links; `seen` stops loops
                if e.is_symlink():
                    target = os.path.realpath(e.path)
                    if not (is_within(target, self.root) or is_within(target, base)):
                        self._outside(e.path, target, "outside the data folder")
                        return False
                return True
            if e.is_file():
                out.append(e.path)
            else:
                self.problems.append(Problem(e.path, "unreadable", _odd_entry_reason(e)))
        except OSError as exc:
            self.problems.append(Problem(e.path, "unreadable", _link_reason(e.path, exc)
                                         if e.is_symlink() else
                                         f"cannot read ({exc.strerror or exc})"))
        return False

    def _outside(self, path: str, target: str, where: str) -> None:
        self.problems.append(Problem(path, "unreadable",
                                     f"link to a folder {where} ({target}); not followed"))


def _odd_entry_reason(e: os.DirEntry) -> str:
    """Why an entry that is neither a folder nor a regular file is left out."""
    try:
        mode = os.stat(e.path).st_mode  # follows a link to what it names
    except OSError as exc:
        if not e.is_symlink():
            raise
        return _link_reason(e.path, exc)
    return f"not a regular file ({special_file_kind(mode)}); remove it"


def _link_reason(path: str, exc: OSError) -> str:
    """Why the link ``path`` cannot be followed, where it leads, and what to do: "broken
    link (its target is missing)" and "cannot read (Too many levels of symbolic links)"
    had left the user to guess (an audit review)."""
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    if isinstance(exc, FileNotFoundError):
        return (f"broken link: it points at {one_line(target)}, which is not there; put the "
                "image back there or remove the link")
    if exc.errno == errno.ELOOP:
        return (f"link that leads back to itself ({one_line(target)}, a loop); remove it or "
                "point it at an image")
    return (f"link that cannot be followed ({exc.strerror or exc}); remove it or point it at "
            "an image")


def looks_like_image_folder(path) -> bool:
    """Whether ``path`` looks like a data folder (a sub-folder holding image files): given
    where a run folder or a model goes, that is the likely mix-up to name.  A folder of run
    folders or an export folder holds no images one level down."""
    def folders(place) -> list[str]:
        try:
            return [os.path.join(place, name) for name in subfolders(place)]
        except DataError:  # one unreadable folder is no answer
            return []

    subs = folders(path)
    subs += [d for s in subs if os.path.basename(s).lower() in ("train", "val", "test")
             for d in folders(s)]  # a data set split into train/ and val/
    return any(loose_images(sub) for sub in subs[:40])
