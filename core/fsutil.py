"""Atomic writes: nothing the user made is ever left half-written.

Every file or folder the app produces (configs, projects, run folders' files,
exports) is written next to its destination under a temporary name and then
renamed into place with :func:`os.replace`, which is atomic on one file system.
A crash or a full disk therefore leaves either the old version or the new one,
never a mixture.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Optional, Union

PathLike = Union[str, os.PathLike]


_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
#: How a library that raises its own errors (TensorFlow's SaveV2, a converter) says it.
_DISK_FULL_TEXTS = (os.strerror(errno.ENOSPC), "No space left on device", "Disk quota exceeded")


def as_disk_full(path: Path, exc: BaseException) -> BaseException:
    """``exc`` as a :class:`DiskFullError` naming ``path`` when the disk is full, else ``exc``.

    "[Errno 28] No space left on device" does not say which file or that the
    previous version survived; the user needs both to act calmly.
    """
    from core.errors import DiskFullError

    if isinstance(exc, DiskFullError):  # already names the file that did not fit
        return exc
    if (isinstance(exc, OSError) and exc.errno in _DISK_FULL) or any(
            text in str(exc) for text in _DISK_FULL_TEXTS):  # TensorFlow's own write errors
        return DiskFullError(f"{path}: the disk is full (no space left to write it); free some "
                             "disk space and try again - the previous version, if any, is "
                             "unchanged")
    return exc


def file_in_the_way(path: Path) -> Optional[Path]:
    """The nearest existing one of ``path`` and its parents when it is a file, not a folder
    (``a.txt`` for ``a.txt/sub/out.csv``): nothing can be created under it."""
    for place in (path, *path.parents):
        if place.exists():
            return None if place.is_dir() else place
    return None


def cannot_write(path: Path, exc: OSError) -> BaseException:
    """A plain sentence for a place that takes no file: a full disk (:func:`as_disk_full`),
    a file where a folder is needed, a folder where the file should go, a read-only or
    special folder.  The raw error named a hidden temporary ("/proc/.x.26944.partial")."""
    from core.errors import UserError

    full = as_disk_full(path, exc)
    if full is not exc:
        return full
    if path.is_dir() and isinstance(exc, IsADirectoryError):
        return UserError(f"{path} is a folder; give a file name")
    blocker = file_in_the_way(path.parent)
    if blocker is not None:
        return UserError(f"cannot write {path}: {blocker} is a file, not a folder; choose "
                         "another place")
    return UserError(f"cannot write {path} ({exc.strerror or exc}); choose another folder")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def cut_to_bytes(name: str, limit: int) -> str:
    """``name`` cut (on a character) to at most ``limit`` bytes on disk: a file name may
    have 255, and a name built from another (a temporary sibling, a capture) must fit."""
    while len(name.encode("utf-8", "surrogateescape")) > limit:
        name = name[:-1]
    return name


def _short(name: str) -> str:
    """A temporary sibling's share of ``name``: with its dots, pid and random part it stays
    within 255 bytes."""
    return cut_to_bytes(name, 160)


def _via_temp(path: Path, write, place) -> None:
    """``write(fh)`` a hidden temporary beside ``path``, fsync it, then ``place(tmp)``.

    The one way this module writes a file: a crash or a full disk leaves the old
    file (or none) under the real name, never half a new one, and no temporary.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{_short(path.name)}.", suffix=".tmp",
                                   dir=str(path.parent))
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        with contextlib.suppress(OSError, AttributeError):  # mkstemp's 0600 is for secrets:
            os.fchmod(fd, _mode_for(path))  # a report to hand on was unreadable to others
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        place(Path(tmp))
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        err = cannot_write(path, exc) if isinstance(exc, IsADirectoryError) \
            else as_disk_full(path, exc)
        if err is exc:
            raise
        raise err from exc
    _fsync_dir(path.parent)


def _process_umask() -> int:
    mask = os.umask(0o022)  # read once, at import (the umask is the whole process's)
    os.umask(mask)
    return mask


_UMASK = _process_umask()


def _mode_for(path: Path) -> int:
    """The mode a file written at ``path`` gets: the replaced file's, else what the umask
    gives a new file (as ``open`` would)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file only."""
    path = Path(path)
    _via_temp(path, lambda fh: fh.write(data), lambda tmp: os.replace(tmp, path))


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8",
                      errors: str = "strict") -> None:
    atomic_write_bytes(path, text.encode(encoding, errors))


@contextlib.contextmanager
def atomic_file(path: PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``.

    For libraries that insist on writing a file themselves (``model.save``).
    ``suffix`` keeps the extension such libraries check (e.g. ``.keras``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{_short(path.stem)}.",
                               suffix=f".tmp{suffix or path.suffix}",
                               dir=str(path.parent))
    with contextlib.suppress(OSError, AttributeError):  # mkstemp's 0600: a shared Keras
        os.fchmod(fd, _mode_for(path))  # cache or a model to hand on was unreadable to others
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        err = cannot_write(path, exc) if isinstance(exc, IsADirectoryError) \
            else as_disk_full(path, exc)
        if err is exc:
            raise
        raise err from exc
    _fsync_dir(path.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the system or the file system cannot (the caller then
    falls back to two renames).  With the swap there is no instant at which
    neither version is in place, so a kill -9 cannot lose a folder.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0


def _leftover_prefix(path: Path) -> str:
    """Temporary siblings are named ``.NAME.PID.<random>.partial`` (or ``.old``)."""
    return f".{_short(path.name)}.{os.getpid()}."


def _sweep_leftovers(path: Path) -> None:
    """Delete temporary siblings of ``path`` left by a process that was killed.

    A kill -9 mid-write leaves a hidden ``.NAME.PID.*.partial`` beside ``path``;
    the next write to ``path`` removes those whose process no longer exists
    (a live writer's are left alone).
    """
    prefix = f".{_short(path.name)}."
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return
    for p in siblings:
        name = p.name
        if not (name.startswith(prefix) and name.endswith((".partial", ".old"))):
            continue
        pid = name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True


@contextlib.contextmanager
def atomic_dir(path: PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; on success it replaces ``path``.

    An existing folder at ``path`` is swapped with the new one in one atomic
    step where the system allows (Linux), so a kill at any instant leaves one
    complete version at ``path`` (at worst plus a hidden leftover).  Elsewhere
    it is moved aside first and deleted only after the new one is in place; a
    kill between those two renames leaves it under a hidden ``.NAME.*.old``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=_leftover_prefix(path), suffix=".partial",
                                dir=str(path.parent)))
    try:
        yield tmp
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        err = as_disk_full(path, exc)
        if err is exc:
            raise
        raise err from exc
    if path.exists() and _exchange(tmp, path):
        shutil.rmtree(tmp, ignore_errors=True)  # the swap left the old version here
        _fsync_dir(path.parent)
        return
    old = None
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=_leftover_prefix(path), suffix=".old",
                                    dir=str(path.parent)))
        old.rmdir()
        os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        if old is not None:
            os.replace(old, path)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(path.parent)


def _place(tmp: Path, dst: Path) -> None:
    """Give the finished ``tmp`` the name ``dst`` unless ``dst`` exists (FileExistsError then).

    A hard link fails when the name is taken, atomically; file systems without
    hard links (FAT, some network shares) get a check followed by a rename.
    """
    try:
        os.link(tmp, dst)
    except FileExistsError:
        raise
    except OSError:
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "file exists", str(dst)) from None
        os.rename(tmp, dst)
        return
    os.unlink(tmp)


def copy_new(src: PathLike, dst: PathLike) -> None:
    """Copy ``src`` to the new file ``dst``, whole or not at all; never overwrites.

    The bytes go to a hidden temporary beside ``dst`` first (so a crash leaves no
    half image under the real name), then take the name only if it is still free:
    FileExistsError otherwise, and ``src`` is never changed.
    """
    dst = Path(dst)

    def write(out) -> None:
        with open(src, "rb") as fh:
            shutil.copyfileobj(fh, out, 1 << 20)

    def place(tmp: Path) -> None:
        shutil.copystat(src, tmp)
        _place(tmp, dst)

    _via_temp(dst, write, place)


def write_new(path: PathLike, data: bytes) -> None:
    """Write ``data`` as the new file ``path``, whole or not at all; never overwrites.

    Like :func:`copy_new` for bytes made in memory (a captured camera frame):
    FileExistsError when the name was taken meanwhile.
    """
    path = Path(path)
    _via_temp(path, lambda fh: fh.write(data), lambda tmp: _place(tmp, path))


def move_new(src: PathLike, dst: PathLike) -> None:
    """Move ``src`` to the new name ``dst``, across file systems too; never overwrites.

    On one file system a hard link then unlinking ``src`` (the name is taken
    atomically, FileExistsError if not free); across file systems a
    :func:`copy_new` then deleting ``src``, so at every instant one whole copy exists.
    """
    dst = Path(dst)
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where the folder should be: not "appeared meanwhile"
        raise cannot_write(dst, exc) from None
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError:  # another file system, or no hard links here
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "file exists", str(dst)) from None
        copy_new(src, dst)
    os.unlink(src)
    _fsync_dir(dst.parent)


def free_name(target: Path, taken: Iterable[Path] = ()) -> Path:
    """``target``, or ``name (2).ext``, ``name (3).ext``...: the first free name (no overwrite)."""
    taken = set(taken)
    stem, suffix, n = target.stem, target.suffix, 2
    while os.path.lexists(target) or target in taken:
        target = target.with_name(f"{stem} ({n}){suffix}")
        n += 1
    return target


def is_within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (absolute, normalised paths)."""
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # another drive on Windows
        return False


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
