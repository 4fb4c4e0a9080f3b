"""TensorBoard launcher: a real TensorBoard serves a real run's logs on loopback, is reused
per log folder, and stops (terminate, then kill) -- plus the errors a user can meet."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.train import tensorboard as tbl
from core.errors import UserError
from core.events import CancelToken, Cancelled, Log


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read()


def fake_python(path: Path, body: str) -> str:
    """An executable standing in for ``python`` (what TensorBoard's command line runs)."""
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def wait_until(condition, timeout: float, what: str, interval: float = 0.1):
    """Poll ``condition`` until it returns something true (returned) or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(autouse=True)
def _no_leftover_servers():
    yield
    tbl.stop_all_servers()  # even when a test failed half-way
    assert tbl.running_servers() == []


def test_serves_a_real_runs_logs_reuses_and_stops(trained_run):
    assert tbl.tensorboard_available()
    assert tbl.has_event_files(trained_run / "logs")
    assert tbl.unavailable_reason(trained_run) == ""
    events = []
    url = tbl.open_tensorboard(trained_run, listener=events.append)
    assert url.startswith("http://127.0.0.1:") and url.endswith("/")
    status, _ = get(url)
    assert status == 200
    assert any(isinstance(e, Log) and "serving" in e.message for e in events)

    # It serves *this* run's logs: the training phases appear as TensorBoard runs.
    runs = wait_until(lambda: [r for r in json.loads(get(url + "data/runs")[1])
                               if r.startswith("head")], 60, "the head phase's logs")
    assert runs

    server = tbl.server_for(trained_run / "logs")
    proc = server.process
    assert tbl.open_tensorboard(trained_run) == url  # a second click reuses the server
    assert server.process is proc and tbl.running_servers() == [server]

    assert tbl.stop_all_servers() == 1
    assert proc.poll() is not None and not server.running and server.url is None
    with pytest.raises(OSError):
        get(url, timeout=2)


def test_missing_logs_and_missing_package_give_clear_errors(tmp_path, monkeypatch):
    missing = tmp_path / "run" / "logs"
    with pytest.raises(UserError, match="does not exist"):
        tbl.TensorBoardServer(missing).start()
    (tmp_path / "run").mkdir()
    with pytest.raises(UserError, match="no TensorBoard logs"):
        tbl.open_tensorboard(tmp_path / "run")
    assert "no TensorBoard logs" in tbl.unavailable_reason(tmp_path / "run")

    monkeypatch.setattr(tbl.importlib.util, "find_spec", lambda name: None)
    assert not tbl.tensorboard_available()
    assert "pip install tensorboard" in tbl.unavailable_reason(tmp_path / "run")
    missing.mkdir()
    with pytest.raises(UserError, match="pip install tensorboard"):
        tbl.TensorBoardServer(missing).start()


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script as the interpreter")
def test_a_server_that_dies_reports_its_own_output(tmp_path):
    (tmp_path / "logs").mkdir()
    broken = fake_python(tmp_path / "python",
                         'echo "ImportError: no module named tensorboard.main" >&2; exit 1')
    server = tbl.TensorBoardServer(tmp_path / "logs", python=broken)
    with pytest.raises(UserError, match="stopped before") as err:
        server.start(timeout=20)
    assert "no module named tensorboard.main" in str(err.value)
    assert not server.running
    server.close()


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_stop_kills_what_ignores_terminate_and_cancel_stops_the_start(tmp_path):
    (tmp_path / "logs").mkdir()
    # Ignores SIGTERM (so does its child, which inherits that): only the kill ends them.
    stubborn = fake_python(tmp_path / "python", "trap '' TERM; echo trap-set; sleep 60 & wait")
    server = tbl.TensorBoardServer(tmp_path / "logs", python=stubborn)
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        server.start(timeout=20, cancel=cancel)
    assert server.process is None

    server._launch(tbl.free_port())
    proc = server.process
    wait_until(lambda: "trap-set" in server.log_tail(), 20, "the shell to install its trap")
    t0 = time.monotonic()
    server.stop(grace=0.5)
    assert proc.poll() is not None and proc.returncode == -9  # SIGKILL after the grace period
    assert time.monotonic() - t0 < 5
    server.close()


def test_servers_are_stopped_when_python_exits(trained_run):
    """The atexit backstop: a process that forgets to stop its server does not leak it."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from core.train.tensorboard import free_port, server_for; "
            "s = server_for(sys.argv[2]); s._launch(free_port()); print(s.process.pid)")
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parents[1]),
                          str(trained_run / "logs")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    pid = int(out.stdout.strip())

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(gone, 10, f"TensorBoard process {pid} to end with the Python that started it")
