"""How paths compare, and how a name is found for a new file: one rule for each.

A name for a new file is never one that exists (:func:`free_name`), and it fits the
255 bytes file systems take (:func:`cut_to_bytes`); two paths are the same place by
one rule (:func:`same_path`), and one lies in a folder by another (:func:`is_within`).
Whether a path the project names can be looked at is said by :func:`cannot_reach`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable


def cut_to_bytes(name: str, limit: int) -> str:
    """``name`` cut (on a character) to at most ``limit`` bytes on disk: a file name may
    have 255, and a name built from another (a temporary sibling, a capture) must fit."""
    while len(name.encode("utf-8", "surrogateescape")) > limit:
        name = name[:-1]
    return name


def free_name(target: Path, taken: Iterable[Path] = ()) -> Path:
    """``target``, or ``name (2).ext``, ``name (3).ext``...: the first free name (no overwrite).

    The stem is shortened to keep a numbered name within 255 bytes: a 253-byte name
    plus " (2)" was too long to create, and to test for (Undo then failed for good).
    ``taken`` is compared ignoring case: on macOS or Windows "IMG.JPG" and "img.jpg" of one
    batch are one name, and the second was refused as "appeared meanwhile".
    """
    taken = {os.path.normcase(str(t)).casefold() for t in taken}
    stem, suffix, n = target.stem, target.suffix, 2
    while os.path.lexists(target) or os.path.normcase(str(target)).casefold() in taken:
        tail = f" ({n}){suffix}"
        target = target.with_name(cut_to_bytes(stem, 255 - len(tail.encode("utf-8",
                                                                            "surrogateescape")))
                                  + tail)
        n += 1
    return target


def same_path(a, b) -> bool:
    """Whether ``a`` and ``b`` name the same place, as written (absolute, and case folded on
    Windows by ``os.path.normcase``; links not resolved); False when either is empty or
    None.  A case-insensitive macOS folder is not detected: "A" and "a" differ here."""
    return bool(a) and bool(b) and \
        os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def is_within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (absolute, normalised paths)."""
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # another drive on Windows
        return False


def cannot_reach(path) -> str:
    """Why ``path`` cannot be looked at or into, in a few words ("permission denied", "file
    name too long"); "" when it can, or simply is not there.

    Python 3.11's ``Path.exists()`` and ``is_dir()`` are False only for "not found" and
    raise for these: a run the project named inside a folder the user may not enter, or a
    hand-edited name over 255 bytes, stopped six page updates half-way (``os.path`` says
    False, without the reason).  A run or model such a path names is "not available".
    """
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return ""
    except OSError as exc:
        return (exc.strerror or type(exc).__name__).lower()
    except ValueError:  # a NUL character in a hand-edited name
        return "not a valid file name"
    if stat.S_ISDIR(st.st_mode) and not os.access(path, os.R_OK | os.X_OK):
        return "permission denied"
    return ""
