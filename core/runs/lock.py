"""One trainer per run folder: the lock file, and the temp files a killed trainer left.

Two ``train --resume`` on one run would both write its checkpoint and history,
each undoing the other's epochs.  So a training process holds ``RUN_DIR/.lock``
(its pid, host and start time, as JSON) while it trains.  The file is created
in one step (written beside it, then hard-linked into place, which fails if a
lock exists), so a reader never sees a half-written lock.  A lock whose holder
is gone (same host, pid no longer running: a kill -9, a power cut) is taken
over; a live holder's lock refuses the second trainer with its pid and host.

While the lock is held no other process writes the folder, so every hidden
``.NAME.*.tmp*`` file in it was left by a writer that was killed mid-write;
:func:`sweep_stale_temp_files` deletes them when the lock is taken.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Iterator, Optional

from core.errors import UserError
from core.processes import pid_alive
from core.runs.folder import RunFolder
from core.shown import when_text


def lock_holder(run: RunFolder) -> Optional[dict]:
    """The live holder of ``run``'s lock ({pid, host, started}), or None when it is free.

    A lock of a process that no longer runs on this host is free; an unreadable
    lock file (not JSON) is treated as free too: the link step writes it whole,
    so such a file was not written by a trainer.
    """
    return _live_holder(run.lock_path)


def _live_holder(path: Path) -> Optional[dict]:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # gone, or not a trainer's lock
        return None
    if not isinstance(holder, dict) or not isinstance(holder.get("pid"), int):
        return None
    if _here(holder) and not pid_alive(holder["pid"]):
        return None
    if _here(holder) and holder["pid"] == os.getpid() and holder.get("token") \
            and holder["token"] not in _HELD.values():
        return None  # this process let it go where it was taken: the folder moved since
    return holder


#: Seconds after which a ``.lock.breaking`` marker is taken for a breaker that died.
BREAKING_STALE = 10.0


def _take_over(run: RunFolder) -> None:
    """Remove a dead holder's lock, one process at a time.

    Two resumes of a killed run started together both saw the dead lock, and the second
    deleted the lock the first had just taken: both trained.  So a dead lock is removed
    only by the process holding ``.lock.breaking`` (made exclusively), after it has read
    the lock again and found it still dead: no live lock can have replaced it meanwhile,
    since a lock is only linked where none is.  The others wait their turn."""
    marker = run.lock_path.with_name(run.lock_path.name + ".breaking")
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        with contextlib.suppress(OSError):  # a breaker killed mid-break leaves its marker
            if time.time() - marker.stat().st_mtime > BREAKING_STALE:
                marker.unlink()
        time.sleep(0.05)
        return
    try:
        if run.lock_path.exists() and _live_holder(run.lock_path) is None:
            run.lock_path.unlink(missing_ok=True)
    finally:
        marker.unlink(missing_ok=True)


def _real_address(text: str) -> bool:
    """Whether a recorded address is a network card's: a made-up one has the multicast bit
    set (RFC 4122), and then it identifies nothing."""
    try:
        return not (int(text, 16) >> 40) & 1
    except ValueError:
        return False


#: This machine, however its network names it: a laptop's host name changes between
#: networks, and a lock taken under the old name was never seen as stale (nor released).
#: ``uuid.getnode()`` is the network card's address (a random one per process when it has
#: none, which then matches nothing and leaves the host name to decide).
MACHINE = f"{uuid.getnode():012x}"
_REAL = _real_address(MACHINE)
#: The locks this process holds: path -> the token written into it.
_HELD: dict[str, str] = {}


def _here(holder: dict) -> bool:
    """Whether the lock was taken on this machine (so its process can be looked up).  By the
    card's address when both locks have a real one (two machines called "ubuntu" sharing a
    drive are two), else by host name."""
    theirs = holder.get("machine")
    if _REAL and isinstance(theirs, str) and _real_address(theirs):
        return theirs == MACHINE
    return holder.get("host") == socket.gethostname()


def shown_status(run: RunFolder, status: str) -> str:
    """The status as a person reads it: a "running" run whose trainer is gone (kill -9, a
    power cut: nothing could write "stopped") is "interrupted", resumable."""
    return "interrupted" if status == "running" and lock_holder(run) is None else status


def held_for(holder: dict) -> str:
    """What the holder does with the run, as recorded ("trained" for a lock without it)."""
    doing = holder.get("doing")
    return doing if isinstance(doing, str) and doing else "trained"


def describe_holder(holder: dict) -> str:
    started = holder.get("started")
    when = when_text(started, "", " since %Y-%m-%d %H:%M:%S")
    return f"process {holder['pid']} on {holder.get('host', '?')}{when}"


def acquire(run: RunFolder, doing: str = "trained", then: str = "resume the copy") -> None:
    """Take ``run``'s lock, or raise a UserError naming the process that holds it and what it
    does there (``doing``: "trained", "calibrated"); ``then``: what to do with a copy of a
    run folder that cannot be written."""
    token = uuid.uuid4().hex
    me = {"pid": os.getpid(), "host": socket.gethostname(), "machine": MACHINE,
          "started": time.time(), "doing": doing, "token": token}
    tmp = run.lock_path.with_name(f"{run.lock_path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(me) + "\n", encoding="utf-8")
    except OSError as exc:
        raise _unwritable(run, exc, then) from None
    try:
        for _ in range(60):  # a few seconds while other processes break a dead lock
            try:
                os.link(tmp, run.lock_path)
                _HELD[os.path.abspath(run.lock_path)] = token
                return
            except FileExistsError:
                pass
            except OSError:  # no hard links here (exFAT, some SMB/FUSE): the folder is writable
                if _create_exclusive(run, me, then):
                    _HELD[os.path.abspath(run.lock_path)] = token
                    return
            holder = lock_holder(run)
            if holder is not None:
                raise UserError(
                    f"{run.path} is being {held_for(holder)} by {describe_holder(holder)}; wait "
                    "for it to end "
                    f"or stop it (if that process is gone for good, delete {run.lock_path})")
            _take_over(run)  # a dead holder's lock
        raise UserError(f"{run.lock_path}: could not take the run's lock (another process keeps "
                        "taking it); try again")
    finally:
        tmp.unlink(missing_ok=True)


def _create_exclusive(run: RunFolder, me: dict, then: str) -> bool:
    """Take the lock by creating its file exclusively (False: another process holds it).
    The second way, for file systems without hard links: a reader may briefly see the
    file empty, which :func:`lock_holder` takes for no holder."""
    try:
        fd = os.open(run.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    except OSError as exc:
        raise _unwritable(run, exc, then) from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(me) + "\n")
    return True


def _unwritable(run: RunFolder, exc: OSError, then: str) -> BaseException:
    """The run folder takes no file: said of the folder, not of the hidden lock file (the
    CLI said "cannot use .../.lock.32234.tmp: ...; give another path", which --resume
    cannot, and the window "Something went wrong: OSError")."""
    from core.write_errors import as_disk_full

    full = as_disk_full(run.path, exc)
    if full is not exc:
        return full
    return UserError(f"{run.path}: the run folder cannot be written ({exc.strerror or exc}); "
                     f"make it writable, or copy the run folder to a place you can write to and "
                     f"{then}")


def release(run: RunFolder) -> None:
    """Give the lock back (only if this process holds it: the token it wrote is there)."""
    token = _HELD.pop(os.path.abspath(run.lock_path), None)
    try:
        holder = json.loads(run.lock_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(holder, dict) and token is not None and holder.get("token") == token:
        try:  # a folder made read-only mid-run: the error that stopped the run is the one
            run.lock_path.unlink(missing_ok=True)  # to report (a later run takes it over)
        except OSError:
            pass


@contextlib.contextmanager
def holding_lock(run: RunFolder, doing: str = "trained",
                 then: str = "resume the copy") -> Iterator[None]:
    """Hold ``run``'s lock for the block (see :func:`acquire`); stale temp files are swept
    once it is taken."""
    acquire(run, doing, then)
    try:
        sweep_stale_temp_files(run)
        yield
    finally:
        release(run)


def sweep_stale_temp_files(run: RunFolder) -> list[Path]:
    """Delete the hidden temp files of writers killed mid-write; returns what was deleted.

    Only called while holding the lock, when no other writer of the folder runs.
    Matches the names :mod:`core.fsutil` gives its temp files (``.NAME.*.tmp`` and
    ``.NAME.*.tmp.EXT``), regular files only, never following a link.
    """
    removed = []
    try:
        entries = list(os.scandir(run.path))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.startswith(".") or ".tmp" not in name or name.startswith(run.lock_path.name):
            continue
        if not entry.is_file(follow_symlinks=False):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed
