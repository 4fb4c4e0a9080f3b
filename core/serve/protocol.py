"""uvicorn's HTTP/1.1 protocol with the two guards a server on a shared network needs.

* A request's headers must arrive within :data:`HEADER_SECONDS` of the connection (or of
  the last answer on a kept-alive one); past it the connection gets a 408 and is closed.
  Connections that never finished their headers held their places for good: 256 of them
  shut out every client, with ``--token`` too (the token is read with the headers).
* Past :data:`MAX_CONNECTIONS` open connections a new one is answered 503 in JSON, saying
  what to do, and closed.  uvicorn's own limit answered a plain-text "Service Unavailable".
"""

from __future__ import annotations

import json
from typing import Optional

from uvicorn.protocols.http.h11_impl import H11Protocol

#: Connections open at once; past it a new one is answered 503 at once.
MAX_CONNECTIONS = 256
#: Seconds a client has to send a request's headers (a few hundred bytes).
HEADER_SECONDS = 10.0


def _response(status: str, message: str) -> bytes:
    body = json.dumps({"error": message}).encode()
    return (f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode() + body


BUSY = _response("503 Service Unavailable", f"the server has {MAX_CONNECTIONS} connections "
                 "open, its limit; try again in a moment, or send requests over fewer "
                 "connections (one client's keep-alive connection can carry many)")
SLOW = _response("408 Request Timeout", f"the request's headers did not arrive within "
                 f"{HEADER_SECONDS:.0f} s; send each request at once")


class GuardedH11Protocol(H11Protocol):
    """H11Protocol whose connections must send their headers in time, and are counted."""

    _header_timer: Optional[object] = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > MAX_CONNECTIONS:
            transport.write(BUSY)
            transport.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle:  # a request's headers are in: its body has a deadline
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection, in time too

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(HEADER_SECONDS, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered: its own deadlines hold
        if not self.transport.is_closing():
            self.transport.write(SLOW)
            self.transport.close()
