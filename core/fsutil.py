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
from typing import Iterator, Optional, Union

# Re-exported: callers name them from here, where files are written.
from core.processes import pid_alive
from core.stale_temps import remove_stale_write_temps
from core.stale_temps import short as _short, temp_affixes as _temp_affixes
from core.symlinks import relative_link_text, repoint
from core.write_errors import as_disk_full, cannot_write, file_in_the_way  # noqa: F401

PathLike = Union[str, os.PathLike]


def file_stamp(path) -> Optional[tuple[int, int]]:
    """(size, modification time in ns) of a file, None when it cannot be read: what tells
    that it was written since (a project another window saved, an image labelled before)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


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
        # a refusal to write it, named by the file the user chose (a name too long for the
        # disk came out as "Something went wrong: OSError: [Errno 36] ... '.x.mjovtwn1.tmp'");
        # a name taken meanwhile (no-clobber callers) or a source that cannot be read is not
        err = cannot_write(path, exc) if _writing_it(exc, tmp, path) else as_disk_full(path, exc)
        if err is exc:
            raise
        raise err from exc
    _fsync_dir(path.parent)


def _writing_it(exc: BaseException, tmp: str, path: Path) -> bool:
    """Whether ``exc`` is the system refusing to write ``tmp`` or give it the name ``path``."""
    return (isinstance(exc, OSError) and not isinstance(exc, FileExistsError)
            and getattr(exc, "filename", None) in (None, tmp, str(path)))


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
    """Write ``data`` to ``path`` so that readers see the old or the new file only (and
    remove what a killed earlier write of it left, :func:`remove_stale_write_temps`)."""
    path = Path(path)
    remove_stale_write_temps(path)
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
    prefix, tmp_suffix = _temp_affixes(path, suffix)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=tmp_suffix, dir=str(path.parent))
    except OSError as exc:
        raise cannot_write(path, exc) from None
    with contextlib.suppress(OSError, AttributeError):  # mkstemp's 0600: a shared Keras
        os.fchmod(fd, _mode_for(path))  # cache or a model to hand on was unreadable to others
    os.close(fd)
    tmp_path = Path(tmp)
    renaming = False  # the library's own errors pass as they are (a full disk is named)
    try:
        yield tmp_path
        renaming = True
        os.replace(tmp_path, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        err = cannot_write(path, exc) if isinstance(exc, IsADirectoryError) or (
            renaming and isinstance(exc, OSError)) else as_disk_full(path, exc)
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
        pid = leftover_pid(p.name, prefix, (".partial", ".old"))
        if pid is None or pid == os.getpid() or pid_alive(pid):
            continue
        shutil.rmtree(p, ignore_errors=True)


def leftover_pid(name: str, prefix: str, suffixes: tuple[str, ...]) -> Optional[int]:
    """The writer's pid in a temporary sibling's name ``PREFIX PID.<random>SUFFIX``, or None
    for any other name: ".phone." also begins ".phone.2024.<pid>.x.partial", the staging
    folder of a live export to "phone.2024", whose "2024" was read as a dead pid."""
    if not (name.startswith(prefix) and name.endswith(suffixes)):
        return None
    rest = name[len(prefix):]
    rest = rest[:rest.rindex(".")] if "." in rest else rest  # the suffix off
    pid, _, random_part = rest.partition(".")
    if not (pid.isdigit() and random_part and all(c.isalnum() or c == "_"
                                                  for c in random_part)):
        return None
    return int(pid)


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
    with contextlib.suppress(OSError):  # mkdtemp's 0700: a run's checkpoint/ was the one
        os.chmod(tmp, 0o777 & ~_UMASK)  # folder of it others sharing the run could not read
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
            while True:
                try:
                    chunk = fh.read(1 << 20)
                except OSError as exc:  # named by the source: not blamed on the destination
                    raise OSError(exc.errno, exc.strerror, str(src)) from exc
                if not chunk:
                    return
                out.write(chunk)

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
    link_text = relative_link_text(src)
    try:
        os.link(src, dst)  # a link's own name, not its target's (Linux link(2))
    except FileExistsError:
        raise
    except OSError:  # another file system, or no hard links here
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "file exists", str(dst)) from None
        copy_new(src, dst)
        link_text = None  # the copy is the image itself
    if link_text is not None:
        repoint(dst, os.path.dirname(os.path.abspath(src)), link_text)
    try:
        os.unlink(src)
    except OSError:  # a read-only source (an SD card): not moved, so no copy stays behind
        with contextlib.suppress(OSError):
            os.unlink(dst)
        raise
    _fsync_dir(dst.parent)


def rename_new(src: PathLike, dst: PathLike) -> None:
    """Rename ``src`` to the free name ``dst`` (its folders made); a class folder on
    another drive (a symlink) gets a copy-then-delete (:func:`move_new`)
    instead of failing with "Invalid cross-device link"; a link keeps its image."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, "appeared meanwhile", str(dst))
    link_text = relative_link_text(src)
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        move_new(src, dst)
        return
    if link_text is not None:  # still pointing at its image (core.symlinks)
        repoint(dst, os.path.dirname(os.path.abspath(src)), link_text)
