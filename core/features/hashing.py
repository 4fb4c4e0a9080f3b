"""File identity by content: a fast hash of the bytes, and a stat cache that skips rehashing.

The feature store keys everything by what a file holds, not where it is, so a
renamed or moved image keeps its features and an edited one gets new ones.
Reading every byte of a 100,000-image folder on every audit would cost minutes,
so :class:`HashIndex` remembers (size, mtime, inode, ctime) -> hash the way Git's
index does (ctime too: a copy over the file with ``cp -p`` or ``rsync -t --inplace``
keeps size, mtime and inode, but the system sets ctime on every write), and trusts an entry only when the file was last modified comfortably
before it was hashed (a file changed within the same clock tick as the hash
could otherwise keep a stale hash: Git's "racy" case).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

from core.data.regular_file import FileProblem, open_regular
from core.errors import UserError
from core.fsutil import atomic_write_text

DIGEST_BYTES = 16
_CHUNK = 1 << 20
#: An index entry is trusted only if the file's mtime is this much older than the hash.
RACY_NS = 2_000_000_000
INDEX_VERSION = 2  # 2: entries hold the ctime


@dataclass(frozen=True)
class FileStamp:
    """What a file was when it was read: size, modification time and content hash (hex)."""

    size: int
    mtime_ns: int
    digest: str

    def to_dict(self) -> dict:
        return {"size": self.size, "mtime_ns": self.mtime_ns, "digest": self.digest}

    @classmethod
    def from_dict(cls, data: dict) -> "FileStamp":
        return cls(int(data["size"]), int(data["mtime_ns"]), str(data["digest"]))


def hash_file(path: str) -> FileStamp:
    """Hash ``path``'s bytes (BLAKE2b, 128 bits); raises :class:`FileProblem` when unreadable.

    Only regular files are read (a pipe named ``x.png`` would block forever).
    """
    fh = open_regular(path)
    try:
        st = os.fstat(fh.fileno())
        h = hashlib.blake2b(digest_size=DIGEST_BYTES)
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    except OSError as exc:
        raise FileProblem("unreadable", f"cannot read the file ({exc.strerror or exc})") from None
    finally:
        fh.close()
    return FileStamp(int(st.st_size), int(st.st_mtime_ns), h.hexdigest())


class HashIndex:
    """A persistent ``path -> (size, mtime_ns, inode, ctime_ns, hash, hashed_ns)`` cache;
    damaged files are ignored."""

    def __init__(self, path: Optional[Path]) -> None:
        self.path = path
        self._entries: dict[str, list] = {}
        self._dirty = False
        self._lock = threading.Lock()
        if path is not None:
            self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") == INDEX_VERSION and isinstance(data.get("entries"), dict):
                self._entries = {k: v for k, v in data["entries"].items()
                                 if isinstance(v, list) and len(v) == 6}
        except (OSError, ValueError, AttributeError):
            self._entries = {}  # missing or damaged: rebuilt from the files themselves

    def lookup(self, path: str) -> Optional[FileStamp]:
        """The remembered stamp when the file's size, mtime, inode and ctime still match."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        with self._lock:
            entry = self._entries.get(path)
        if not entry:
            return None
        size, mtime_ns, ino, ctime_ns, digest, hashed_ns = entry
        if (size, mtime_ns, ino, ctime_ns) != (st.st_size, st.st_mtime_ns, st.st_ino,
                                               st.st_ctime_ns):
            return None
        if hashed_ns - mtime_ns < RACY_NS:
            return None  # modified too close to when it was hashed: hash again
        return FileStamp(int(size), int(mtime_ns), str(digest))

    def remember(self, path: str, stamp: FileStamp, hashed_ns: int) -> None:
        """Keep ``stamp`` (hashing began at ``hashed_ns``) unless the file may have changed
        while it was read: its change time is then too close, or later, and the entry
        would pair the new inode data with the old hash (a ``cp -p`` mid-hash)."""
        try:
            st = os.stat(path)
        except OSError:
            return
        if (st.st_size, st.st_mtime_ns) != (stamp.size, stamp.mtime_ns) or \
                hashed_ns - st.st_ctime_ns < RACY_NS:
            return  # hashed again next time
        with self._lock:
            self._entries[path] = [stamp.size, stamp.mtime_ns, st.st_ino, st.st_ctime_ns,
                                   stamp.digest, hashed_ns]
            self._dirty = True

    def save(self) -> None:
        """Write the index atomically (best effort: it is only a cache)."""
        if self.path is None or not self._dirty:
            return
        with self._lock:
            text = json.dumps({"version": INDEX_VERSION, "entries": self._entries})
            self._dirty = False
        try:
            atomic_write_text(self.path, text)
        except (OSError, UserError):  # read-only, full
            pass


def stamp_files(paths: Iterable[str], index: HashIndex,
                on_done: Callable[[int], None],
                workers: int = 4) -> list[tuple[Optional[FileStamp], str]]:
    """(stamp, "") or (None, reason) per path, in order; unchanged files are not reread.

    ``on_done(n)`` is called as files finish (progress and cancelling).  Hashing
    runs in threads: hashlib releases the GIL on big buffers.
    """
    paths = list(paths)

    def one(path: str) -> tuple[Optional[FileStamp], str]:
        known = index.lookup(path)
        if known is not None:
            return known, ""
        started = time.time_ns()
        try:
            stamp = hash_file(path)
        except FileProblem as exc:
            return None, exc.reason
        index.remember(path, stamp, started)
        return stamp, ""

    out: list[tuple[Optional[FileStamp], str]] = []
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fts-hash")
    try:
        for i, result in enumerate(pool.map(one, paths)):
            out.append(result)
            on_done(i + 1)
    finally:  # a cancel (raised by on_done) must not wait for every queued file
        pool.shutdown(wait=True, cancel_futures=True)
    return out
