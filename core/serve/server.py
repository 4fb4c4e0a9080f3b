"""Run the app with uvicorn: in the foreground (``serve``) or in a background thread (window).

The listening socket is made here, so a port in use is a clear :class:`UserError`
before anything starts, ``--port 0`` picks a free port, and the URL printed or
shown is the one really bound.  Only loopback addresses are served without a
token: anywhere else, anyone on the network could use the model.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from dataclasses import dataclass
from typing import Optional

from core.errors import UserError
from core.serve.app import Limits, build_app
from core.serve.batching import Batcher

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501  # TensorFlow Serving's REST port


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_options(options: "ServeOptions") -> None:
    """Every check of the options that needs no model: made before the slow model load
    (a bad --name was refused only after the model had loaded)."""
    if not _name_ok(options.name):
        raise UserError(f"--name {options.name!r}: use letters, digits, '-', '_' or '.' "
                        "(not dots alone)")
    check_exposure(options.host, options.token)


def check_exposure(host: str, token: Optional[str]) -> None:
    """Refuse to serve beyond this machine without a token."""
    if token is not None and not token.strip():
        raise UserError("--token is empty; give a secret string (e.g. from "
                        "'python -c \"import secrets; print(secrets.token_urlsafe())\"')")
    if token is not None and (token != token.strip() or not token.isprintable()
                              or not token.isascii()):
        raise UserError("--token has spaces at its ends or characters an HTTP header cannot "
                        "carry, so no client could send it; use letters, digits and "
                        "punctuation (e.g. from 'python -c \"import secrets; "
                        "print(secrets.token_urlsafe())\"')")
    if not is_loopback(host) and not token:
        raise UserError(f"--host {host} lets other machines use the model: give a --token "
                        "(clients then send 'Authorization: Bearer <token>'), or serve on "
                        f"{DEFAULT_HOST}")


def open_socket(host: str, port: int) -> socket.socket:
    try:
        # "[::1]", as a URL writes it, is "::1" to the resolver (it passed the loopback
        # check, then failed with "Name or service not known")
        family, kind, proto, _, addr = socket.getaddrinfo(host.strip("[]"), port,
                                                          type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise UserError(f"cannot serve on {host}: {exc.strerror or exc}; give another --host") \
            from None
    try:
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: SO_REUSEADDR there would let
            # a second server bind a port one already listens on, and share its requests
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:  # POSIX: a restart may reuse the port while the old one's sockets wind down
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UserError(listen_error(host, port, exc)) from None
    sock.set_inheritable(True)
    return sock


def listen_error(host: str, port: int, exc: OSError) -> str:
    """Why the server cannot listen, and what to do.  Every failure blamed the port, also
    when the port was 0 and the address was not this machine's (a serve review)."""
    why = exc.strerror or str(exc)
    if exc.errno == errno.EADDRNOTAVAIL:
        return (f"cannot serve on {host}: it is not an address of this machine ({why}); give "
                "one of its own addresses, or 0.0.0.0 for all of them")
    if exc.errno == errno.EACCES and 0 < port < 1024:
        return (f"cannot listen on {host}:{port} ({why}): ports below 1024 need an "
                "administrator; choose a port from 1024 up (0: any free one)")
    if exc.errno == errno.EADDRINUSE:
        return (f"cannot listen on {host}:{port} ({why}): another server uses that port; "
                "choose another port (0: any free one)")
    return f"cannot listen on {host}:{port} ({why}); give another --host or --port"


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


@dataclass
class ServeOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    name: str = "model"
    token: Optional[str] = None
    limits: Limits = Limits()
    max_batch: int = 32
    wait_ms: float = 2.0


class RunningServer:
    """A server listening on ``url``; :meth:`stop` (or :meth:`serve_forever` ending) closes it."""

    def __init__(self, predictor, options: ServeOptions) -> None:
        import uvicorn

        from core.serve.protocol import GuardedH11Protocol

        check_options(options)
        self.options = options
        self.predictor = predictor
        # The socket first: a port in use must not leave a batcher thread holding the model
        # (each Serve click on a busy port kept one more model in memory).
        self._sock = open_socket(options.host, options.port)
        self.url = url_of(self._sock)
        self.batcher = None
        try:
            self.batcher = Batcher(predictor.predict_scored, options.max_batch, options.wait_ms)
            app = build_app(predictor, options.name, options.token, options.limits, self.batcher)
        except BaseException:
            if self.batcher is not None:
                self.batcher.close()
            self._sock.close()
            raise
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=10, http=GuardedH11Protocol)
        self._server = uvicorn.Server(config)
        self._thread: Optional[threading.Thread] = None
        self.error: Optional[BaseException] = None

    @property
    def model_url(self) -> str:
        return f"{self.url}/v1/models/{self.options.name}"

    def curl_example(self, image: str = "image.jpg", token_text: Optional[str] = None) -> str:
        """A command a person can paste into a POSIX shell (Linux, macOS) to try the server.

        ``base64 < FILE | tr -d '\\n'``: macOS's base64 has no ``-w0``, and a line-wrapped
        answer would put raw newlines inside the JSON string.  ``token_text``: what stands
        for the token (a shell variable's name, so a token kept out of sight stays so).
        """
        auth = f' -H "Authorization: Bearer {token_text}"' if token_text else \
            f" -H 'Authorization: Bearer {self.options.token}'" if self.options.token else ""
        b64 = f"$(base64 < {image} | tr -d '\\n')"
        return (f"echo '{{\"instances\": [{{\"b64\": \"'{b64}'\"}}]}}' | "
                f"curl -s{auth} -H 'Content-Type: application/json' -d @- "
                f"{self.model_url}:predict")

    def serve_forever(self) -> None:
        """Serve in this (main) thread until Ctrl+C or SIGTERM; uvicorn shuts down gracefully."""
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._close()

    def start(self, timeout: float = 30.0) -> "RunningServer":
        """Serve in a background thread; returns once requests are being accepted."""
        self._thread = threading.Thread(target=self._run_in_thread, name="serve-http",
                                        daemon=True)
        self._thread.start()
        ready = threading.Event()
        while not (self._server.started or self.error or not self._thread.is_alive()):
            ready.wait(0.01)  # uvicorn offers no start event; poll its flag
            timeout -= 0.01
            if timeout <= 0:
                break
        if not self._server.started:
            self.stop()
            raise UserError(f"the server at {self.url} did not start: {self.error or 'timeout'}")
        return self

    def _run_in_thread(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # SystemExit from uvicorn on a startup failure included
            self.error = exc

    def stop(self, timeout: float = 15.0) -> None:
        """Stop accepting, finish the requests in flight, stop the model thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _close(self) -> None:
        self.batcher.close()
        try:
            self._sock.close()
        except OSError:
            pass


def _name_ok(name: str) -> bool:
    """Letters, digits, "-", "_" and "."; not "." or ".." (clients drop those from a URL)."""
    return bool(name.strip(".")) and all(c.isalnum() or c in "-_." for c in name)


def start_server(model_path: str, options: ServeOptions = ServeOptions(), listener=None,
                 cancel=None) -> RunningServer:
    """Open a run folder or exported model and serve it in a background thread (for the window).

    Takes the ``listener``/``cancel`` every gui.jobs function gets; loading the
    model is the slow part, so a cancel is honoured before the socket opens.
    """
    from core.infer.loaders import load_predictor

    check_options(options)
    predictor = load_predictor(model_path)
    if cancel is not None:
        cancel.raise_if_cancelled()
    return RunningServer(predictor, options).start()
