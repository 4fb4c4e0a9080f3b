"""Locks on open files, for writers that must not interleave.

POSIX ``flock``, or on Windows ``msvcrt.locking`` on one byte far past any data (Windows
had run every such writer unlocked: an Undo could cut into a batch being placed, and two
exports could mix their files).  Windows' locks are mandatory: a locked byte cannot be
read or written through any other handle, this process's included, so the lock must not
cover the journal's own lines.  Where the file system has no locks (some NFS or FUSE
mounts), the callers run unlocked, as they did before they locked.
"""

from __future__ import annotations

import contextlib
import errno
import time
from typing import Iterator, Optional


def _fcntl():
    try:
        import fcntl
    except ImportError:
        return None
    return fcntl


def _msvcrt():
    try:
        import msvcrt
    except ImportError:
        return None
    return msvcrt


def locks_available() -> bool:
    """Whether this system has file locks at all."""
    return _fcntl() is not None or _msvcrt() is not None


#: Where the Windows lock sits: past any journal, inside _locking's 32-bit offsets.
LOCK_OFFSET = 0x7FFFFFFE


@contextlib.contextmanager
def _at_lock_byte(fh) -> Iterator[None]:
    """``msvcrt.locking`` locks from the file's position: the lock's byte, the position put
    back afterwards."""
    where = fh.tell()
    fh.seek(LOCK_OFFSET)
    try:
        yield
    finally:
        fh.seek(where)


def _windows_lock(fh, msvcrt, wait: bool) -> bool:
    with _at_lock_byte(fh):
        while True:
            try:
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                return True
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EDEADLK) or not wait:
                    raise
            time.sleep(0.05)


@contextlib.contextmanager
def locked(fh) -> Iterator[None]:
    """Hold an exclusive lock on the open file ``fh`` (waits for another holder); where the
    system has no locks the block runs unlocked."""
    fcntl, msvcrt = _fcntl(), _msvcrt()
    if fcntl is not None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    elif msvcrt is not None:
        _windows_lock(fh, msvcrt, wait=True)
    else:
        yield
        return
    try:
        yield
    finally:
        unlock(fh)


def try_lock(fh) -> Optional[bool]:
    """Take an exclusive lock on the open file ``fh`` without waiting: True when taken,
    False when another holder has it, None when locks are not to be had here."""
    fcntl, msvcrt = _fcntl(), _msvcrt()
    try:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        elif msvcrt is not None:
            _windows_lock(fh, msvcrt, wait=False)
        else:
            return None
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES, errno.EDEADLK):
            return False
        return None
    return True


def unlock(fh) -> None:
    fcntl = _fcntl()
    if fcntl is not None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return
    msvcrt = _msvcrt()
    with _at_lock_byte(fh):
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)


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
