"""core.file_locks on Windows (msvcrt.locking), played here by a stand-in that keeps real
locks with flock: Windows had run the journal and export locks unlocked (a portability review).

Windows' locks are mandatory (a locked byte can be read or written through no other handle),
so the stand-in records where each lock sits and how long the file was: a lock on the
journal's first byte made every Undo and a folder's first label batch fail there."""

import errno
import fcntl
import sys
import types

import pytest

from core.errors import UserError


@pytest.fixture
def windows(monkeypatch):
    """No fcntl; an msvcrt whose locking(fd, mode, 1) is a flock; calls are recorded as
    (mode, position, bytes, file size)."""
    calls = []

    def locking(fd, mode, nbytes):
        import os

        calls.append((mode, os.lseek(fd, 0, os.SEEK_CUR), nbytes, os.fstat(fd).st_size))
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


def test_a_second_holder_is_refused_and_the_lock_covers_none_of_the_data(tmp_path, windows):
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
    assert windows and all(n == 1 and where >= size for _mode, where, n, size in windows)

    with open(tmp_path / "journal.jsonl", "a+b") as fh:
        fh.write(b"one line\n")
        with locked(fh):
            assert fh.tell() == 9  # the position put back after locking far past the data
        assert fh.tell() == 9
    assert all(where > size for _mode, where, _n, size in windows)


def test_labelling_and_undo_run_under_the_windows_lock(tmp_path, windows):
    """The change lock is held on the journal file while its lines are written and read."""
    import numpy as np
    from PIL import Image

    from core.label.apply import apply_labels, undo_last

    data = tmp_path / "data"
    for cls, level in (("cat", 10), ("dog", 20)):
        (data / cls).mkdir(parents=True)
        Image.fromarray(np.full((8, 8, 3), level, np.uint8)).save(data / cls / "a.png")
    new = tmp_path / "new.png"
    Image.fromarray(np.full((8, 8, 3), 99, np.uint8)).save(new)
    assert len(apply_labels([(str(new), "cat")], data).placed) == 1
    assert len(undo_last(data).moved) == 1
    assert windows and all(where > size for _mode, where, _n, size in windows)


def test_two_exports_into_one_folder_are_kept_apart_on_windows(tmp_path, windows):
    from core.export.folder_lock import one_export_at_a_time

    out = tmp_path / "export"
    with one_export_at_a_time(out):
        with pytest.raises(UserError, match="another export into this folder"):
            with one_export_at_a_time(out):
                pass
