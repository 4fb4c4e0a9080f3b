"""Open an image file for reading only if it is a regular, non-empty file.

A pipe named ``x.png`` would block a reading thread forever and ``/dev/zero``
never ends, so anything but a regular file is refused before a byte is read:
checked with ``stat``, then again on the file opened without blocking, so a
name swapped for a pipe in between cannot slip through.  Failures are
:class:`FileProblem` with an ``ImageError`` kind ("unreadable", "empty") and a
reason a person can act on; :mod:`core.data.imageio` adds the path.  The folder
scan words special files with :func:`special_file_kind`.
"""

from __future__ import annotations

import os
import stat


class FileProblem(Exception):
    """The file cannot be read as an image file; ``kind`` and ``reason`` as in ImageError."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def special_file_kind(mode: int) -> str:
    """What a non-regular file is, in words ("a pipe", "a device" ...), from its ``st_mode``."""
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def os_error_reason(exc: OSError) -> str:
    """What to tell a person about an ``OSError`` met while reading an image file."""
    if isinstance(exc, FileNotFoundError):
        return "file not found (was it moved or deleted?)"
    if isinstance(exc, PermissionError):
        return "permission denied; make the file readable or remove it"
    return f"cannot read the file ({exc.strerror or exc})"


def _not_regular(mode: int) -> FileProblem:
    if stat.S_ISDIR(mode):
        return FileProblem("unreadable", "this is a folder, not an image file")
    return FileProblem("unreadable", f"not a regular file ({special_file_kind(mode)}); "
                       "use an image file instead")


def _nonblocking(path: str, flags: int) -> int:
    """``open``'s opener: a pipe opened so returns at once instead of waiting for a writer."""
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))


def open_regular(path: str):
    """Open a regular, non-empty file for binary reading; anything else is a FileProblem."""
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(mode)
        fh = open(path, "rb", opener=_nonblocking)
    except OSError as exc:
        raise FileProblem("unreadable", os_error_reason(exc)) from None
    try:
        st = os.fstat(fh.fileno())
    except OSError as exc:
        fh.close()
        raise FileProblem("unreadable", os_error_reason(exc)) from None
    if not stat.S_ISREG(st.st_mode):
        fh.close()
        raise _not_regular(st.st_mode)
    if st.st_size == 0:
        fh.close()
        raise FileProblem("empty", "the file is empty (0 bytes); remove it")
    return fh
