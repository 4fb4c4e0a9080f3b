import os
import time
from pathlib import Path

import pytest

from core.fsutil import atomic_dir, atomic_file, atomic_write_text


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a.json"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert os.listdir(tmp_path) == ["a.json"]


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "a.json"
    atomic_write_text(p, "old")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        atomic_write_text(p, "new")
    monkeypatch.undo()
    assert p.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.json"]


def test_atomic_dir_keeps_old_on_failure(tmp_path):
    target = tmp_path / "export"
    with atomic_dir(target) as d:
        (d / "model.bin").write_text("v1")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as d:
            (d / "model.bin").write_text("half")
            raise RuntimeError("crash")
    assert (target / "model.bin").read_text() == "v1"
    assert sorted(os.listdir(tmp_path)) == ["export"]
    with atomic_dir(target) as d:
        (d / "model.bin").write_text("v2")
    assert (target / "model.bin").read_text() == "v2"
    assert sorted(os.listdir(tmp_path)) == ["export"]


def test_atomic_file_keeps_suffix(tmp_path):
    with atomic_file(tmp_path / "m.keras") as tmp:
        assert tmp.name.endswith(".keras")
        tmp.write_text("x")
    assert (tmp_path / "m.keras").read_text() == "x"


def test_atomic_dir_sweeps_leftovers_of_killed_writers_only(tmp_path):
    import subprocess
    import sys

    from core.fsutil import atomic_dir

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    target = tmp_path / "export"
    killed = tmp_path / f".export.{dead_pid}.abc123.partial"
    killed.mkdir()
    (killed / "model.keras").write_bytes(b"half")
    live = tmp_path / f".export.{os.getppid()}.def456.partial"  # a writer still running
    live.mkdir()
    other = tmp_path / ".export.worker-1"  # not ours: no pid, not .partial
    other.mkdir()
    with atomic_dir(target) as stage:
        (stage / "a.txt").write_text("new")
    assert (target / "a.txt").read_text() == "new"
    assert not killed.exists() and live.exists() and other.exists()


def test_a_place_that_takes_no_file_is_named_in_a_plain_sentence(tmp_path):
    """The window showed "FileNotFoundError: ... '/proc/.x.26944.asjb5sux.partial'" for an
    export to /proc/x and "FileExistsError" for a folder under a file."""
    from core.errors import UserError
    from core.export.folder import staging
    from core.fsutil import atomic_write_text

    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(UserError, match="afile is a file, not a folder"):
        atomic_write_text(afile / "sub" / "r.html", "<p>")
    with pytest.raises(UserError, match="is a folder; give a file name"):
        atomic_write_text(tmp_path, "<p>")
    with pytest.raises(UserError, match="afile is a file, not a folder"):
        with staging(afile / "export"):
            pass
    if os.path.isdir("/proc/self"):
        with pytest.raises(UserError, match="cannot write /proc/x"):
            with staging(Path("/proc/x")):
                pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # no temporary left


def test_a_name_the_disk_refuses_is_said_plainly_naming_the_chosen_file(tmp_path, monkeypatch):
    """A report saved as a 300-character name showed "Something went wrong: OSError: [Errno
    36] File name too long: '.xxxx.mjovtwn1.tmp' -> ..." in the window (a message review)."""
    import errno

    from core.errors import UserError

    long = tmp_path / ("x" * 300 + ".html")
    with pytest.raises(UserError) as err:
        atomic_write_text(long, "<p>")
    text = str(err.value)
    assert "the name is too long for this disk; choose a shorter name" in text
    assert ".tmp" not in text and "Errno" not in text and str(long) in text
    with pytest.raises(UserError, match="the name is too long for this disk"):
        with atomic_file(long) as tmp:
            tmp.write_text("model")
    real_replace = os.replace
    for code, words in ((errno.EACCES, "permission denied; make the folder writable"),
                        (errno.EROFS, "the disk is read-only"),
                        (errno.EINVAL, "this disk does not take that name")):
        def refuse(src, dst, code=code):
            raise OSError(code, os.strerror(code), str(src), str(dst))

        monkeypatch.setattr(os, "replace", refuse)
        with pytest.raises(UserError, match=words):
            atomic_write_text(tmp_path / "r.html", "<p>")
    def in_use(src, dst):  # Windows: a file open in Excel (a sharing violation)
        exc = PermissionError(errno.EACCES, "The process cannot access the file", str(src))
        exc.winerror = 32
        raise exc

    monkeypatch.setattr(os, "replace", in_use)
    with pytest.raises(UserError, match="it is open in another program"):
        atomic_write_text(tmp_path / "r.html", "<p>")
    monkeypatch.setattr(os, "replace", real_replace)
    assert sorted(tmp_path.iterdir()) == []  # no temporary left


def test_a_source_that_fails_while_read_is_not_blamed_on_the_destination(tmp_path,
                                                                         monkeypatch):
    """A read error of the copied file said "cannot write .../cats/a.png" (a diff review)."""
    import builtins
    import errno

    from core.fsutil import copy_new

    src = tmp_path / "src.png"
    src.write_bytes(b"x" * 100)
    real_open = builtins.open

    class Failing:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.fh.close()

        def read(self, n):
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(builtins, "open", lambda p, *a, **k: Failing(real_open(p, *a, **k))
                        if str(p) == str(src) else real_open(p, *a, **k))
    with pytest.raises(OSError) as err:
        copy_new(src, tmp_path / "out" / "a.png")
    assert err.value.filename == str(src) and "cannot write" not in str(err.value)
    assert not (tmp_path / "out" / "a.png").exists()


def test_a_file_name_near_the_255_byte_limit_can_still_be_written(tmp_path):
    """The hidden temporary beside it ('.NAME.random.tmp') was longer than any file system
    takes, so a capture or a copy under a long (valid) name failed."""
    from core.fsutil import atomic_file, atomic_write_bytes, copy_new

    long = tmp_path / ("é" * 125 + ".png")  # 254 bytes
    atomic_write_bytes(long, b"one")
    copy_new(long, tmp_path / ("ü" * 125 + ".png"))
    with atomic_file(tmp_path / ("a" * 249 + ".keras")) as tmp:
        tmp.write_bytes(b"two")
    assert sorted(len(p.name.encode()) for p in tmp_path.iterdir()) == [254, 254, 255]


def test_one_rule_for_the_same_path(tmp_path, monkeypatch):
    """Four places compared paths, each its own way (one folded case, three did not)."""
    from core.path_names import same_path

    monkeypatch.chdir(tmp_path)
    assert same_path("a/../b", str(tmp_path / "b"))
    assert not same_path("", "") and not same_path(None, "x") and not same_path("a", "b")


def test_a_write_removes_what_a_killed_write_of_the_same_file_left(tmp_path):
    """kill -9 between the write and the rename left ".r.html.x1y2z3w4.tmp" beside the
    report for good, a features-cache shard's tens of MB each time (a crash review): the next
    write of that file removes it once an hour old; a live writer's and the user's stay."""
    import subprocess
    import sys

    target = tmp_path / "r.html"
    killed = ("import os, signal, sys; sys.path.insert(0, sys.argv[1]);"
              "from core.fsutil import atomic_write_text;"
              "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL);"
              "atomic_write_text(sys.argv[2], 'new')")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", killed, str(root), str(target)])
    assert done.returncode == -9
    left = [p for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].name.startswith(".r.html.") and \
        left[0].name.endswith(".tmp")
    hour_ago = time.time() - 3700
    os.utime(left[0], (hour_ago, hour_ago))
    live = tmp_path / ".r.html.abcd1234.tmp"  # another process writing it now
    live.write_text("half")
    own = tmp_path / ".r.html.my-notes.tmp"  # a name of the user's own
    own.write_text("mine")
    os.utime(own, (hour_ago, hour_ago))
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".r.html.abcd1234.tmp",
                                                                 ".r.html.my-notes.tmp",
                                                                 "r.html"])


def test_a_folder_written_whole_gets_the_mode_a_new_folder_gets(tmp_path):
    """A run's checkpoint/ (and the sample data set) were drwx------ (mkdtemp's mode) while
    every other file of the run follows the umask: others sharing the run folder could
    not read or copy it (a crash review)."""
    mask = os.umask(0o022)
    os.umask(mask)
    with atomic_dir(tmp_path / "checkpoint") as tmp:
        (tmp / "state.json").write_text("{}")
    (tmp_path / "made").mkdir()
    assert (tmp_path / "checkpoint").stat().st_mode & 0o777 == 0o777 & ~mask
    assert (tmp_path / "checkpoint").stat().st_mode == (tmp_path / "made").stat().st_mode
