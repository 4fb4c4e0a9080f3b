"""pid_alive: the one liveness check behind stale locks and leftovers (a portability review)."""

import os
import re
import subprocess
import sys
from pathlib import Path

from core.processes import pid_alive

ROOT = Path(__file__).resolve().parent.parent


def test_a_finished_process_is_not_alive_and_this_one_is():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid)
    assert pid_alive(os.getpid())
    assert not pid_alive(0) and not pid_alive(-1)


def test_no_module_probes_a_process_with_signal_zero():
    """On Windows os.kill(pid, 0) sends Ctrl+C or fails with an OSError read as "alive": a
    killed trainer's run stayed locked for good."""
    calls = [f"{p.relative_to(ROOT)}" for top in ("core", "gui") for p in (ROOT / top).rglob("*.py")
             if re.search(r"os\.kill\([^)]*,\s*0\)", p.read_text(encoding="utf-8"))]
    assert calls == []


def test_a_run_lock_survives_a_new_host_name(tmp_path, monkeypatch):
    """A laptop's host name changes between networks: the lock taken under the old name was
    not released (release compared names) and, its process dead, never seen as stale."""
    import json
    import socket

    from core.runs import lock
    from core.runs.folder import RunFolder

    monkeypatch.setattr(lock, "_REAL", True)  # a network card's address, as laptops have
    monkeypatch.setattr(lock, "MACHINE", "0a0000000001")
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    monkeypatch.setattr(socket, "gethostname", lambda: "cafe-wifi.local")
    lock.acquire(run)
    monkeypatch.setattr(socket, "gethostname", lambda: "office.lan")
    lock.release(run)
    assert not run.lock_path.exists()

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # a trainer killed on this machine, under its old name
    run.lock_path.write_text(json.dumps({"pid": proc.pid, "host": "cafe-wifi.local",
                                         "machine": lock.MACHINE, "started": 0}) + "\n")
    assert lock.lock_holder(run) is None
    lock.acquire(run)  # taken over
    assert json.loads(run.lock_path.read_text())["host"] == "office.lan"
    lock.release(run)


def test_a_closed_windows_console_stops_a_command_as_stop_does(monkeypatch):
    """Windows signals Ctrl+Break and a closed console window with SIGBREAK, which killed a
    training outright; it now stops it at the end of the batch, as Ctrl+C does.  SIGUSR1
    plays SIGBREAK here."""
    import importlib
    import signal

    from core.cli import interrupt
    from core.events import CancelToken

    monkeypatch.setattr(signal, "SIGBREAK", signal.SIGUSR1, raising=False)
    importlib.reload(interrupt)
    try:
        cancel = CancelToken()
        with interrupt.stop_on_interrupt(cancel):
            os.kill(os.getpid(), signal.SIGUSR1)
        assert cancel.cancelled
    finally:
        monkeypatch.undo()
        importlib.reload(interrupt)
    assert signal.SIGUSR1 not in interrupt.STOP_SIGNALS


def test_another_machine_with_the_same_host_name_is_another_machine(tmp_path, monkeypatch):
    """Two machines called "ubuntu" sharing a drive: the other's live trainer was taken for
    dead (its pid is not running here) and its lock taken over."""
    import json
    import socket

    from core.runs import lock
    from core.runs.folder import RunFolder

    monkeypatch.setattr(lock, "_REAL", True)
    monkeypatch.setattr(lock, "MACHINE", "0a0000000001")
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # its pid runs nowhere here
    run.lock_path.write_text(json.dumps({"pid": proc.pid, "host": socket.gethostname(),
                                         "machine": "0a0000000002", "started": 0}) + "\n")
    assert lock.lock_holder(run) is not None  # another machine's: held
    monkeypatch.setattr(lock, "MACHINE", "0a0000000002")
    assert lock.lock_holder(run) is None  # this machine's, its process gone: free
