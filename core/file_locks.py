"""Locks on open files, for writers that must not interleave (POSIX ``flock``).

Where there is no ``flock`` (Windows), or the file system has no locks (some NFS or
FUSE mounts), the callers run unlocked, as they did before they locked.
"""

from __future__ import annotations

import contextlib
import errno
from typing import Iterator, Optional


@contextlib.contextmanager
def locked(fh) -> Iterator[None]:
    """Hold an exclusive lock on the open file ``fh`` (waits for another holder).

    POSIX ``flock``; where there is none (Windows) the block runs unlocked.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def try_lock(fh) -> Optional[bool]:
    """Take an exclusive lock on the open file ``fh`` without waiting: True when taken,
    False when another holder has it, None when locks are not to be had here."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        return None
    return True


def unlock(fh) -> None:
    import fcntl

    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def lock_or_refuse(path, busy: str) -> Iterator[tuple[object, Optional[bool]]]:
    """Open ``path`` (made if needed) and hold its lock for the block: yields (the open
    file, :func:`try_lock`'s answer); UserError(``busy``) at once when another holds it."""
    from core.errors import UserError
    from core.fsutil import cannot_write

    try:
        fh = open(path, "a+b")
    except OSError as exc:
        raise cannot_write(path, exc) from None
    with fh:
        locked = try_lock(fh)
        if locked is False:
            raise UserError(busy)
        try:
            yield fh, locked
        finally:
            if locked:
                unlock(fh)
