"""Start (and stop) a local TensorBoard for a run's logs, so one click can show them.

Every run writes TensorBoard event files to ``RUN_DIR/logs`` (the engine adds
Keras' TensorBoard callback when the ``tensorboard`` package is installed).  To
look at them, the app starts ``python -m tensorboard.main`` as a *separate
process* -- TensorBoard is a web server that imports TensorFlow itself, and
running it in the app's process would tie the window to its lifetime and its
logging.  Design choices:

* **Optional.**  :func:`tensorboard_available` asks ``importlib`` whether the
  package exists without importing it (importing it pulls in TensorFlow: seconds),
  so the GUI can grey out its button cheaply and say "pip install tensorboard".
* **Loopback only, on a free port.**  ``--host 127.0.0.1``: the logs hold file
  paths and metrics that are nobody else's business.  The port is picked by the
  OS; if another program grabs it before TensorBoard binds, the start is retried.
* **Ready means answering.**  :meth:`TensorBoardServer.start` returns only when
  the URL answers HTTP 200, so the browser never opens on "connection refused".
  A server that exits or never answers gives a :class:`UserError` with the tail
  of its own output (the real reason, e.g. a broken install).
* **One server per log folder**, reused by every later click
  (:func:`server_for`), and **all stopped** by :func:`stop_all_servers` -- the
  window calls it at shutdown, and ``atexit`` does as a backstop.  Stopping is
  SIGTERM, then SIGKILL after a grace period, to the server's whole process group
  (TensorBoard's fast loader runs a helper ``data_server`` child process).

No Qt here; the GUI runs :func:`open_tensorboard` in a worker job.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from core.errors import UserError
from core.events import CancelToken, Cancelled, Log, Progress, emit
from core.runs.folder import RunFolder

INSTALL_HINT = "pip install tensorboard"
#: Event files TensorBoard reads (``events.out.tfevents.<time>.<host>...``).
EVENT_FILE_GLOB = "events.out.tfevents.*"
START_TIMEOUT_S = 90.0  # it imports TensorFlow: ~10 s on a small machine, more when busy
STOP_GRACE_S = 5.0
PORT_ATTEMPTS = 3


def tensorboard_available() -> bool:
    """Whether the ``tensorboard`` package is installed (found, not imported: that is slow)."""
    try:
        return importlib.util.find_spec("tensorboard") is not None
    except (ImportError, ValueError):
        return False


def run_logdir(run_dir: str | os.PathLike) -> Path:
    """Where a run's TensorBoard logs live (``RunFolder.logs_dir``)."""
    return RunFolder(run_dir).logs_dir


def has_event_files(logdir: str | os.PathLike) -> bool:
    """True when ``logdir`` (or a sub-folder: one per training phase) holds an event file."""
    if not os.path.isdir(logdir):  # Path.is_dir raises in a folder the user may not enter
        return False
    try:
        return next(Path(logdir).rglob(EVENT_FILE_GLOB), None) is not None
    except OSError:  # a phase's folder that cannot be read
        return False


def unavailable_reason(run_dir: Optional[str | os.PathLike]) -> str:
    """Why a run's logs cannot be opened right now, in words; "" when they can.

    The GUI shows this as the button's tooltip, so it says what to do.
    """
    if not tensorboard_available():
        return (f"TensorBoard is not installed: '{INSTALL_HINT}', then restart the app "
                "(runs trained from then on write logs)")
    if not run_dir:
        return "No run yet: train one, or open one on the Runs page"
    why = RunFolder(run_dir).unreadable()
    if why:
        return f"{run_dir} cannot be opened ({why}): make it readable, or open another run"
    logdir = run_logdir(run_dir)
    if not has_event_files(logdir):
        return (f"This run has no TensorBoard logs ({logdir} is missing or empty): it was "
                "trained while tensorboard was not installed, or before its first epoch ended")
    return ""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _answers(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


class TensorBoardServer:
    """One ``tensorboard`` process serving ``logdir`` on ``http://127.0.0.1:PORT/``."""

    def __init__(self, logdir: str | os.PathLike, host: str = "127.0.0.1",
                 python: Optional[str] = None) -> None:
        self.logdir = Path(logdir).expanduser().resolve()
        self.host = host
        self.python = python or sys.executable
        self.port: Optional[int] = None
        self.process: Optional[subprocess.Popen] = None
        self._log_path: Optional[Path] = None
        self._log_file = None
        self.start_lock = threading.Lock()  # two quick clicks start one server, not two

    # ------------------------------------------------------------------ state
    @property
    def url(self) -> Optional[str]:
        """``http://127.0.0.1:PORT/`` once started, else None."""
        return f"http://{self.host}:{self.port}/" if self.port is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 12) -> str:
        """The last lines TensorBoard printed (its errors say what went wrong)."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        text = self._log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.strip().splitlines()[-lines:])

    # ------------------------------------------------------------------ start
    def start(self, timeout: float = START_TIMEOUT_S, listener=None,
              cancel: Optional[CancelToken] = None) -> str:
        """Start the server and return its URL once it answers HTTP 200.

        Already running: returns the URL at once.  Raises :class:`UserError` when
        tensorboard is missing, the log folder is missing, or the server exits or
        stays silent for ``timeout`` seconds; :class:`Cancelled` when ``cancel``
        is set while waiting (the process is stopped either way).
        """
        if self.running and self.url and _answers(self.url):
            return self.url
        self.stop()
        if not tensorboard_available():
            raise UserError(f"TensorBoard is not installed; install it with '{INSTALL_HINT}'")
        if not self.logdir.is_dir():
            raise UserError(f"{self.logdir}: no TensorBoard logs here (the folder does not "
                            "exist); runs write RUN_FOLDER/logs while tensorboard is installed")
        cancel = cancel or CancelToken()
        deadline = time.monotonic() + timeout
        attempt = 0
        while True:
            attempt += 1
            url = self._launch(free_port(self.host))
            emit(listener, Log(f"starting TensorBoard for {self.logdir} on {url}"))
            outcome = self._wait_ready(deadline, listener, cancel)
            if outcome == "ready":
                emit(listener, Log(f"TensorBoard is serving {self.logdir} at {url}"))
                return url
            tail = self.log_tail()
            self.stop()
            port_taken = "already in use" in tail.lower() or "address in use" in tail.lower()
            if outcome == "exited" and port_taken and attempt < PORT_ATTEMPTS:
                emit(listener, Log("TensorBoard's port was taken; trying another", "warning"))
                continue
            if outcome == "exited":
                raise UserError("TensorBoard stopped before it could serve "
                                f"{self.logdir}. Its last output:\n{tail or '(nothing)'}")
            raise UserError(f"TensorBoard did not answer within {timeout:.0f} s (serving "
                            f"{self.logdir}). Its last output:\n{tail or '(nothing)'}")

    def _launch(self, port: int) -> str:
        """Start the process on ``port``; returns the URL it will answer on."""
        self.port = port
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
        sweep_dead_logs()
        fd, name = tempfile.mkstemp(prefix=f"{LOG_PREFIX}{os.getpid()}-", suffix=".log")
        os.close(fd)
        self._log_path = Path(name)
        self._log_file = open(name, "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env["CUDA_VISIBLE_DEVICES"] = "-1"  # a log viewer has no business on the training GPU
        cmd = [self.python, "-m", "tensorboard.main", "--logdir", str(self.logdir),
               "--port", str(port), "--host", self.host]
        kwargs: dict = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True  # its own process group: stop() ends its helpers
        else:  # pragma: no cover - Windows
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                        stderr=subprocess.STDOUT, env=env, cwd=str(self.logdir),
                                        **kwargs)
        return self.url  # type: ignore[return-value]

    def _wait_ready(self, deadline: float, listener, cancel: CancelToken) -> str:
        """Poll until the URL answers ("ready"), the process ends ("exited") or time is up."""
        started = time.monotonic()
        proc, url = self.process, self.url  # stop() from another thread clears these
        assert proc is not None and url is not None
        while True:
            if cancel.cancelled:
                self.stop()
                raise Cancelled("cancelled by the user")
            if proc.poll() is not None:
                return "exited"
            if _answers(url):
                return "ready"
            now = time.monotonic()
            if now > deadline:
                return "timeout"
            emit(listener, Progress(0, 0, f"waiting for TensorBoard ({now - started:.0f} s)"))
            time.sleep(0.25)

    # ------------------------------------------------------------------ stop
    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """End the server (and its helper processes): terminate, then kill; safe to repeat."""
        proc, self.process = self.process, None
        self.port = None
        if proc is not None:
            if proc.poll() is None:
                self._signal(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    self._signal(proc, signal.SIGKILL if os.name == "posix" else signal.SIGTERM)
                    proc.wait(timeout=grace)
            # Already gone: its data_server helper exits by itself (it watches its stdin).
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._log_path is not None:  # its output was only for the start's error message
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        try:
            if os.name == "posix":
                os.killpg(proc.pid, sig)  # pid == pgid: started with start_new_session
            elif sig == signal.SIGTERM:  # pragma: no cover - Windows
                proc.terminate()
            else:  # pragma: no cover
                proc.kill()
        except (ProcessLookupError, PermissionError):
            pass

    def close(self) -> None:
        """Stop and delete the output file."""
        self.stop()
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def __enter__(self) -> "TensorBoardServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------- registry

_servers: dict[Path, TensorBoardServer] = {}
_lock = threading.Lock()


#: TensorBoard's output goes to a temp file ``fts-tensorboard-PID-*.log`` while it runs.
LOG_PREFIX = "fts-tensorboard-"


def sweep_dead_logs() -> None:
    """Delete the output files of servers whose app was killed (their pid no longer runs)."""
    from core.processes import pid_alive

    for path in Path(tempfile.gettempdir()).glob(f"{LOG_PREFIX}*.log"):
        pid = path.name[len(LOG_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            path.unlink(missing_ok=True)


def server_for(logdir: str | os.PathLike) -> TensorBoardServer:
    """The one server object for ``logdir`` (created on first use, not started)."""
    key = Path(logdir).expanduser().resolve()
    with _lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = TensorBoardServer(key)
        return server


def running_servers() -> list[TensorBoardServer]:
    with _lock:
        return [s for s in _servers.values() if s.running]


def open_tensorboard(run_dir: str | os.PathLike, listener=None,
                     cancel: Optional[CancelToken] = None,
                     timeout: float = START_TIMEOUT_S) -> str:
    """Serve a run's logs (``RUN_DIR/logs``), reusing a running server; returns the URL.

    Meant for a worker: it may wait for TensorBoard's start for several seconds.
    """
    logdir = run_logdir(run_dir)
    if not has_event_files(logdir):
        raise UserError(unavailable_reason(run_dir) or f"{logdir}: no TensorBoard logs")
    server = server_for(logdir)
    with server.start_lock:
        return server.start(timeout=timeout, listener=listener, cancel=cancel)


def stop_all_servers() -> int:
    """Stop every server this process started; returns how many were running."""
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
    n = 0
    for server in servers:
        n += int(server.running)
        server.close()
    return n


atexit.register(stop_all_servers)
