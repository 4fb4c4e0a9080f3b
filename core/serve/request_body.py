"""A request's body, read within its limits: its size, its deadline, and the memory all
bodies being received may hold at once.

A body with a Content-Length has its whole share reserved when its first bytes arrive, and
waits for room when other bodies hold the memory: taking it chunk by chunk, five 31 MB requests
against a 128 MB budget each got a part and were all refused, though four fitted.  A body
sent in chunks (no length) takes its share as it arrives and is refused (503) when the
memory is spent.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib

from starlette.requests import Request


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


#: An over-limit body is still read (and dropped) up to this size, so the client, still
#: sending, receives the 413 instead of a reset connection; beyond it the connection is cut.
DRAIN_LIMIT = 256 * 1024 * 1024


#: A body must arrive within this many seconds plus one per :data:`BODY_BYTES_PER_SECOND`
#: of its size (32 MB: 138 s), else 408: a client that declared 30 MB and sent all but one
#: byte held its connection and 32 MB of memory for as long as it liked.
BODY_SECONDS = 10.0
BODY_BYTES_PER_SECOND = 256 * 1024
#: A body that stops arriving for this long is answered 408 (it would hold its room).
BODY_IDLE_SECONDS = 10.0
#: Request bodies held in memory at once, across all requests, in units of the body limit:
#: past it a request is answered 503 (try again) instead of the memory growing by one body
#: per client, however many there are.
BODIES_HELD = 4


class BodyBudget:
    """The bytes of request bodies being received or parsed, against one total.

    Used on the event loop only (no await between a check and its update): no lock."""

    def __init__(self, total: int) -> None:
        self.total, self.used = total, 0
        self._freed = asyncio.Event()

    def take(self, n: int) -> bool:
        if self.used + n > self.total:
            return False
        self.used += n
        return True

    async def reserve(self, n: int) -> None:
        """Take ``n`` bytes, waiting for other requests to give theirs back (first come,
        not first served: whoever fits when room is freed)."""
        while not self.take(n):
            self._freed.clear()
            await self._freed.wait()

    def give_back(self, n: int) -> None:
        self.used -= n
        if n:
            self._freed.set()


def _too_big(limit: int) -> HttpError:
    return HttpError(413, f"the request body is over the limit of {limit // (1024 * 1024)} MB; "
                          "send fewer or smaller images per request")


def _busy(budget: BodyBudget) -> HttpError:
    return HttpError(503, f"the server is receiving as many request bodies as it may hold "
                          f"({budget.total // (1024 * 1024)} MB); try again in a moment")


async def read_body(request: Request, limit: int, budget: BodyBudget, held: list[int],
                    declared: int, waiting: list) -> bytes:
    """The body, refused (413) when it is over ``limit`` bytes; memory stays under ``limit``.

    ``declared``: its Content-Length (0 when not given, or over the limit): that much of
    ``budget`` is reserved when the body's first bytes arrive (``waiting`` is non-empty while
    it waits for room), not with the headers, so connections that send none hold nothing
    (four that declared 32 MB and sent nothing shut out every other request).  A body
    without one takes each chunk from ``budget``, and is answered 503 when it is spent.
    What is taken is noted in ``held`` for the caller to give back.  A body that stops
    arriving for :data:`BODY_IDLE_SECONDS` is answered 408: it holds its room till then."""
    too_big = _too_big(limit)
    chunks, size, reserved = [], 0, 0
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), BODY_IDLE_SECONDS)
        except StopAsyncIteration:
            break
        except asyncio.TimeoutError:
            raise HttpError(408, f"the request body stopped arriving for "
                                 f"{BODY_IDLE_SECONDS:.0f} s; send it at once") from None
        if chunk and declared and not reserved:
            waiting.append(True)
            await budget.reserve(declared)
            waiting.clear()
            reserved = declared
            held.append(declared)
        size += len(chunk)
        if size > DRAIN_LIMIT:
            raise too_big
        if size <= limit:
            if size > reserved:
                if not budget.take(len(chunk)):
                    raise _busy(budget)
                held.append(len(chunk))
            chunks.append(chunk)
    if size > limit:
        raise too_big
    return b"".join(chunks)


@contextlib.asynccontextmanager
async def received_body(request: Request, limit: int, budget: BodyBudget):
    """The body (see :func:`read_body`) within its deadline (408 past it, or 503 when it was
    still waiting for room in ``budget``), its share of ``budget`` held until the
    ``async with`` block (the parsing) ends."""
    declared = request.headers.get("content-length")
    length = int(declared) if declared and declared.isdigit() else None
    if length is not None and length > DRAIN_LIMIT:
        raise _too_big(limit)
    size = min(length, limit) if length is not None else limit
    seconds = BODY_SECONDS + size / BODY_BYTES_PER_SECOND
    held: list[int] = []
    waiting: list = []
    try:
        try:
            body = await asyncio.wait_for(read_body(
                request, limit, budget, held, size if length is not None and length <= limit
                else 0, waiting), seconds)
        except asyncio.TimeoutError:
            if waiting:
                raise _busy(budget) from None
            raise HttpError(408, f"the request body did not arrive within {seconds:.0f} s; "
                                 "send it at once (or smaller)") from None
        yield body
    finally:
        budget.give_back(sum(held))


def uncompressed(body: bytes, encoding: str, limit: int) -> bytes:
    """The body as sent before ``Content-Encoding`` (``gzip``, as TensorFlow Serving's HTTP
    server accepts: clients compress big pixel arrays), held to ``limit`` bytes once
    uncompressed, so a small bomb cannot fill memory.  A gzip body had been answered "the
    body is not UTF-8 text", which sent the user looking at the JSON (a serve review)."""
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise HttpError(415, f"Content-Encoding {encoding[:40]!r} is not accepted; send the "
                             "JSON uncompressed or gzip-compressed")
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflate.decompress(body, limit + 1)
    except zlib.error as exc:
        raise HttpError(400, f"the body is not gzip data ({exc}), though its "
                             "Content-Encoding says gzip") from None
    if len(out) > limit or inflate.unconsumed_tail:
        raise _too_big(limit)
    return out
