"""core.file_locks on Windows (msvcrt.locking), played here by a stand-in that keeps real
locks with flock: Windows had run the journal and export locks unlocked (a portability review)."""

import errno
import fcntl
import sys
import types

import pytest

from core.errors import UserError


@pytest.fixture
def windows(monkeypatch):
    """No fcntl; an msvcrt whose locking(fd, mode, 1) at the file's position 0 is a flock."""
    calls = []

    def locking(fd, mode, nbytes):
        import os

        calls.append((mode, os.lseek(fd, 0, os.SEEK_CUR), nbytes))
        if mode == fake.LK_UNLCK:
            return fcntl.flock(fd, fcntl.LOCK_UN)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OSError(errno.EACCES, "Permission denied") from None

    fake = types.SimpleNamespace(LK_UNLCK=0, LK_LOCK=1, LK_NBLCK=2, LK_RLCK=3, LK_NBRLCK=4,
                                 locking=locking)
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl: ImportError
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    return calls


def test_a_second_holder_is_refused_and_the_lock_is_on_the_first_byte(tmp_path, windows):
    from core.file_locks import lock_or_refuse, locked, locks_available

    assert locks_available()
    path = tmp_path / ".journal.lock"
    with lock_or_refuse(path, "busy") as (fh, taken):
        assert taken is True
        with pytest.raises(UserError, match="busy"):
            with lock_or_refuse(path, "busy"):
                pass
    with lock_or_refuse(path, "busy") as (_fh, taken):  # free again after the block
        assert taken is True
    assert windows and all(where == 0 and n == 1 for _mode, where, n in windows)

    with open(tmp_path / "journal.jsonl", "a+b") as fh:
        fh.write(b"one line\n")
        with locked(fh):
            assert fh.tell() == 9  # the position put back after locking byte 0
        assert fh.tell() == 9


def test_two_exports_into_one_folder_are_kept_apart_on_windows(tmp_path, windows):
    from core.export.folder_lock import one_export_at_a_time

    out = tmp_path / "export"
    with one_export_at_a_time(out):
        with pytest.raises(UserError, match="another export into this folder"):
            with one_export_at_a_time(out):
                pass
