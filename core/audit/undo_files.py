"""Putting one journalled file back, for :meth:`core.audit.fixes.FixJournal.undo_last`.

Each function answers "" when the file went back, a reason when it was refused
(it changed since, its old name is taken again, ...), or None when there was
nothing to undo; no image is ever lost or overwritten on the way back.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable, Optional

from core.data.regular_file import FileProblem
from core.features.hashing import hash_file
from core.fsutil import move_new, rename_new


def undo_rename(src: Path, dst: Path, rel_src: str, digest: Optional[str] = None,
                class_gone: str = "") -> Optional[str]:
    """Rename ``dst`` back to ``src``: "" done, a reason when refused, None if never moved.
    A file whose content is not the one moved (the user put another image at its new
    name) stays: it went back into the old class under the old image's name.
    ``class_gone`` (see :func:`missing_class`): the refusal when the class folder it came
    from is not there; a sub-folder below a class folder that is there is made again."""
    there = os.path.lexists  # a link is a name to move back, whatever it points at
    if there(src) and not there(dst):
        return None  # never moved (the batch was interrupted)
    if not there(dst):
        return f"missing: moved or deleted since the fix; it belonged at {rel_src}"
    if there(src):
        if _left_behind(src, dst, digest):  # a copy across file systems cut off before
            return _unlink(dst)             # its delete: the original is back where it was
        return f"cannot go back: {rel_src} exists again; move one of them by hand"
    try:
        if digest and hash_file(str(dst)).digest != digest:
            return ("changed since the fix (another image under its name); left in place "
                    f"(the fix had moved it from {rel_src}: put it back by hand if needed)")
    except FileProblem as exc:
        if not os.path.islink(dst):  # a link to nothing (its image moved in the same
            return exc.reason        # batch, or gone) is only a name: it goes back
    if class_gone:
        return class_gone
    try:
        rename_new(dst, src)
    except OSError as exc:
        return f"could not move it back ({exc})"
    return ""

CLASS_GONE = "its class folder "


def missing_class(root: Path, rel_src: str, rel_dst: str, class_index: int) -> str:
    """Why a file cannot go back to ``rel_src`` when the class folder it came from (its
    ``class_index``-th path part: 0, or 1 in a folder split into train/ val/ test/) is not
    there ("" when it is): the user renamed or removed it since the fix, and making it
    again would add a one-image class under the old name.  The app never removes a class
    folder a pending batch's files came from (Undo removes only the folders a batch made
    for its destinations, ``created``, after that batch is undone), so a sub-folder below
    the class folder, emptied by the fix and tidied away since, is made again as before."""
    parts = rel_src.split("/")
    if len(parts) <= class_index + 1 or root.joinpath(*parts[:class_index + 1]).is_dir():
        return ""
    folder = "/".join(parts[:class_index + 1])
    return (f"{CLASS_GONE}{folder}/ is not there (renamed?): put it back by hand from "
            f"{rel_dst}, or make the folder again and Undo again")


def undo_again(refused: Iterable[tuple[str, str]]) -> bool:
    """Whether a batch stays to be undone again: a file of it could not go back only because
    its class folder is not there (the user may make it again)."""
    return any(why.startswith(CLASS_GONE) for _path, why in refused)


def undo_capture(dst: Path, move: dict) -> Optional[str]:
    """Remove a file the camera capture made, unless it changed since (then it stays)."""
    if not dst.exists():
        return None  # never written, or already deleted by hand
    try:
        if hash_file(str(dst)).digest != move.get("digest"):
            return "changed since it was captured; left in place"
        os.unlink(dst)
    except FileProblem as exc:
        return exc.reason
    except OSError as exc:
        return f"could not remove it ({exc})"
    return ""

def undo_bring_in(op: str, source: Path, dst: Path, move: dict,
                  unmade: bool = False, came_from: Optional[Path] = None) -> Optional[str]:
    """Undo a file brought in from outside the data folder (see :meth:`core.audit.fixes.FixJournal.record`).

    A copy is removed only while an identical original is still at ``source`` (no image
    is ever lost), else moved back there; so is a moved-in file.  "" done, a reason when
    refused, None when a move never arrived (its original is there); a missing copy is named
    unless it may never have been made (``unmade``: its batch was cut short or said so).
    ``came_from``: the folder the batch's files came from (their parents' common folder):
    while it is there, a sub-folder of it removed since (emptied by a ``--move``, then
    tidied away) is made again for the file to go back into.
    """
    if not dst.exists():
        if source.exists() and (op == "move_in" or (
                unmade and _digest(source) == move.get("digest"))):
            return None  # never arrived (the batch was cut short), or already taken back
        return (f"not there: moved or deleted since it was labelled (or its {op} failed "
                f"then); it came from {source}")
    try:
        mine = hash_file(str(dst))
    except FileProblem as exc:
        return exc.reason
    if mine.digest != move.get("digest"):
        return "changed since it was labelled; left in place"
    if op == "copy" and source.exists():
        try:
            same = hash_file(str(source)).digest == mine.digest
        except FileProblem:
            same = False
        if not same:
            return f"the original {source} changed since; the copy is left in place"
        try:
            os.unlink(dst)
        except OSError as exc:
            return f"could not remove the copy ({exc})"
        return ""
    if source.exists():
        if _left_behind(source, dst, mine.digest):  # a move (or its undo) cut off after
            return _unlink(dst)                      # the file had its second name
        return f"cannot go back: {source} exists again; move one of them by hand"
    if not source.parent.is_dir() and not _below_a_folder_here(source, came_from):
        # a journal from another machine (the data folder was copied with it)
        return (f"the folder it came from, {source.parent}, is not there; left in the data "
                "folder (move it by hand if needed)")
    try:
        move_new(dst, source)
    except OSError as exc:
        return f"could not move it back to {source} ({exc})"
    return ""


def _below_a_folder_here(source: Path, came_from: Optional[Path]) -> bool:
    """Whether ``source``'s missing folder may be made again: it lies below ``came_from``,
    which is on this machine and is no filesystem root (a journal from another machine
    names folders that are not here at all; "/" is on every machine)."""
    if came_from is None or came_from == Path(came_from.anchor) or not came_from.is_dir():
        return False
    try:
        source.parent.relative_to(came_from)
    except ValueError:
        return False
    return True


def batch_origin(sources: Iterable[str]) -> Optional[Path]:
    """The common folder of the folders ``sources`` came from (None: none, or no common
    one, as for sources on two drives)."""
    parents = [os.path.dirname(s) for s in sources if os.path.isabs(s)]
    try:
        return Path(os.path.commonpath(parents)) if parents else None
    except ValueError:
        return None


def _left_behind(original: Path, dst: Path, digest: Optional[str]) -> bool:
    """Whether ``dst`` is a second copy of the file at ``original`` that a killed move left:
    the same file under two names (a hard link), or the same bytes (a copy across file
    systems).  Never when ``original`` is a link: a link to ``dst`` left there by the user
    would then point at nothing, and the image would be lost."""
    try:
        a, b = os.lstat(original), os.lstat(dst)
    except OSError:
        return False
    if stat.S_ISLNK(a.st_mode) or not stat.S_ISREG(a.st_mode) or not stat.S_ISREG(b.st_mode):
        return False
    return os.path.samestat(a, b) or (digest is not None and _digest(original) == digest
                                      and _digest(dst) == digest)


def _digest(path: Path) -> Optional[str]:
    try:
        return hash_file(str(path)).digest
    except FileProblem:
        return None


def _unlink(path: Path) -> str:
    """Remove one name of a file whose other name is where it belongs: "" or the reason."""
    try:
        os.unlink(path)
    except OSError as exc:
        return f"could not remove {path.name} ({exc})"
    return ""


def remove_if_empty(folders: Iterable[Path]) -> None:
    """Remove the folders an undone batch made (``folders`` inner ones first, see
    :func:`deepest_first`) if nothing is in them now."""
    for folder in folders:
        try:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        except OSError:
            pass  # something arrived meanwhile, or no permission: the folder stays


def deepest_first(folders: Iterable[str]) -> list[str]:
    """Folders to remove when empty, inner ones before the folders holding them."""
    return sorted((f for f in folders if isinstance(f, str)), key=lambda f: -f.count("/"))
