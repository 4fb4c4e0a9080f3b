"""Moving a symbolic link so that it still points at the file it pointed at.

Some people fill their class folders with links to one store of images
(``cat/x.jpg -> ../../photos/x.jpg``) instead of copies.  A link's text is read
from the folder the link is in, so a relative link moved to another depth
(``_set_aside/cat/``) or beside other files (another class) pointed at nothing:
the image it stood for was gone from the data set, and the audit's Undo, which
took the dangling link for a missing file, would not bring it back.  The move
functions of :mod:`core.fsutil` call :func:`relative_link_text` before moving and
:func:`repoint` after.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable, Optional

log = logging.getLogger(__name__)


def relative_link_text(path: os.PathLike | str) -> Optional[str]:
    """The text of ``path`` when it is a relative symbolic link, else None (a file, or an
    absolute link, which points at the same file wherever it is moved)."""
    try:
        text = os.readlink(path)
    except (OSError, ValueError):  # not a link
        return None
    return None if os.path.isabs(text) else text


def repoint(link: os.PathLike | str, old_folder: str, text: str) -> None:
    """Make the relative link now at ``link``, moved from ``old_folder`` where it read
    ``text``, point at the same place from its new folder.  Atomic (a new link renamed
    over it); a link that cannot be rewritten is logged and left as moved."""
    link = Path(link)
    target = os.path.join(os.path.realpath(old_folder), text)
    new_text = os.path.relpath(target, os.path.realpath(link.parent))
    if new_text == text:
        return
    tmp = link.parent / f".{link.name}.{os.getpid()}.relink"
    try:
        os.symlink(new_text, tmp)
        os.replace(tmp, link)
    except OSError as exc:
        log.warning("%s: moved, but the link could not be pointed at %s again (%s)",
                    link, target, exc)
        try:
            os.unlink(tmp)
        except OSError:
            pass


def links_to(files: Iterable[Path], others: Iterable[str]) -> dict[Path, str]:
    """Each of ``files`` (not links) that a symbolic link among ``others`` leads to, with
    that link: moving such a file leaves the link pointing at nothing."""
    real = {os.path.realpath(f): f for f in files if not os.path.islink(f)}
    held: dict[Path, str] = {}
    for link in others if real else ():
        if os.path.islink(link) and os.path.realpath(link) in real:
            held.setdefault(real[os.path.realpath(link)], link)
    return held
