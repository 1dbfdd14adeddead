"""A connection pool for HTTP/1.1 on asyncio, in place of httpcore's AsyncConnectionPool under httpx.

httpcore 1.0.9's pool keeps one list of requests and one of connections, and on every request sent and
every answer read scans both: each connection is asked whether it is closed, expired, idle and
available, for each queued request, and an idle connection may be assigned to several waiting requests
at once, all but one of which then raise ConnectionNotAvailable and queue again (about 9 passes per
request at 16 in flight, most of a request's CPU on the client side). This pool keeps, per origin, a
stack of idle connections and a queue of the requests waiting for a place: a request takes the most
recently used idle connection (the least likely to have been closed by the server), else opens one while
fewer than `max_connections` are open, else waits; an answered request's connection goes straight to
the first waiting request, so nothing is scanned and no connection is handed to two requests.

The connections themselves are httpcore's (AsyncHTTPConnection: connect, TLS, HTTP/1.1 by h11), so the
requests on the wire, the timeouts and the errors are httpcore's, and httpx maps them as it always does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import types
from collections import deque
from collections.abc import AsyncIterator

import httpcore

Connection = httpcore.AsyncHTTPConnection
Granted = Connection | None  # what a waiting request is given: a connection, or a place to open one in
Key = tuple[bytes, bytes, int]  # an origin's scheme, host and port (httpcore's Origin is not hashable)


class ConnectionPool:
    """`handle_async_request` and `aclose`, as httpx's transport calls them on httpcore's pool."""

    def __init__(self, *, ssl_context: ssl.SSLContext, max_connections: int | None,
                 max_keepalive_connections: int | None, keepalive_expiry: float | None,
                 network_backend: httpcore.AsyncNetworkBackend) -> None:
        self._ssl_context = ssl_context
        self._max_connections = max_connections or 2 ** 31
        self._max_idle = min(self._max_connections, max_keepalive_connections or 2 ** 31)
        self._keepalive_expiry = keepalive_expiry
        self._network_backend = network_backend
        self._idle: dict[Key, list[Connection]] = {}
        self._idle_count = 0
        self._open = 0  # connections open or being opened, idle ones included
        self._waiting: deque[tuple[Key, asyncio.Future[Granted]]] = deque()
        self._closed = False

    @property
    def open_connections(self) -> int:
        return self._open

    @property
    def idle_connections(self) -> int:
        return self._idle_count

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        scheme = request.url.scheme
        if scheme not in (b"http", b"https"):
            raise httpcore.UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme.decode()}://'."
                                               if scheme else "Request URL is missing an 'http://' or "
                                               "'https://' protocol.")
        origin = request.url.origin
        key = key_of(origin)
        timeout = request.extensions.get("timeout", {}).get("pool")
        while True:
            connection = await self._acquire(origin, timeout)
            try:
                response = await connection.handle_async_request(request)
            except httpcore.ConnectionNotAvailable:  # closed by the server since it was released
                await self._release(connection, key)
                continue
            except BaseException:
                await self._release(connection, key)  # a failed connection is closed, its place freed
                raise
            return httpcore.Response(status=response.status, headers=response.headers,
                                     content=ReleasingStream(response.stream, self, connection, key),
                                     extensions=response.extensions)

    async def _acquire(self, origin: httpcore.Origin, timeout: float | None) -> Connection:
        """An idle connection to `origin`, a new one, or the first one released to it."""
        if self._closed:
            raise RuntimeError("the connection pool is closed")
        key = key_of(origin)
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if not connection.has_expired() and connection.is_idle():
                return connection
            await self._discard(connection)
        if self._open < self._max_connections:
            self._open += 1
            return self._new(origin)
        if self._idle_count:  # all places taken, some by idle connections to other origins: close one
            await self._close(self._take_idle())
            return self._new(origin)
        granted = await self._wait(key, timeout)
        return granted if granted is not None else self._new(origin)

    async def _wait(self, origin: Key, timeout: float | None) -> Granted:
        future: asyncio.Future[Granted] = asyncio.get_running_loop().create_future()
        self._waiting.append((origin, future))
        try:
            async with asyncio.timeout(timeout):
                return await future
        except BaseException as exc:
            if future.done() and not future.cancelled() and future.exception() is None:
                await self._pass_on(future.result(), origin)  # granted as it was cancelled: passed on
            else:
                future.cancel()  # left in the queue; skipped when a place is handed out
            if isinstance(exc, TimeoutError):
                raise httpcore.PoolTimeout("timed out waiting for a connection") from None
            raise

    def _new(self, origin: httpcore.Origin) -> Connection:
        return Connection(origin=origin, ssl_context=self._ssl_context, http1=True, http2=False,
                          keepalive_expiry=self._keepalive_expiry, network_backend=self._network_backend)

    def _take_idle(self) -> Connection:
        for origin, stack in self._idle.items():
            if stack:
                self._idle_count -= 1
                connection = stack.pop(0)  # the least recently used
                if not stack:
                    del self._idle[origin]
                return connection
        raise AssertionError("no idle connection")

    async def _release(self, connection: Connection, origin: Key) -> None:
        """An answered (or failed) request's connection: to the first waiting request, else idle."""
        if self._closed or connection.is_closed() or connection.has_expired() or not connection.is_idle():
            await self._close(connection)
            self._hand_place()
            return
        await self._pass_on(connection, origin)

    async def _pass_on(self, granted: Granted, granted_origin: Key) -> None:
        """A reusable connection (or a free place: None) to the first request still waiting, else kept."""
        while self._waiting:
            origin, future = self._waiting.popleft()
            if future.done():  # cancelled or timed out meanwhile
                continue
            if granted is not None and origin != granted_origin:
                await self._close(granted)
                granted = None
            future.set_result(granted)
            return
        if granted is None:
            self._open -= 1
        elif self._idle_count >= self._max_idle or self._closed:
            await self._discard(granted)
        else:
            self._idle.setdefault(granted_origin, []).append(granted)
            self._idle_count += 1

    def _hand_place(self) -> None:
        """A connection closed: its place to the first request still waiting (which opens one), else
        freed."""
        while self._waiting:
            _, future = self._waiting.popleft()
            if not future.done():
                future.set_result(None)
                return
        self._open -= 1

    async def _discard(self, connection: Connection) -> None:
        await self._close(connection)
        self._open -= 1

    @staticmethod
    async def _close(connection: Connection) -> None:
        with contextlib.suppress(OSError, httpcore.NetworkError):  # a socket the server closed already
            await connection.aclose()

    async def aclose(self) -> None:
        """Close the idle connections now and the others as their answers are read."""
        self._closed = True
        while self._idle_count:
            await self._discard(self._take_idle())
        for _, future in self._waiting:
            if not future.done():
                future.set_exception(RuntimeError("the connection pool is closed"))
        self._waiting.clear()

    async def __aenter__(self) -> ConnectionPool:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None = None, exc: BaseException | None = None,
                        traceback: types.TracebackType | None = None) -> None:
        await self.aclose()


def key_of(origin: httpcore.Origin) -> Key:
    return origin.scheme, origin.host, origin.port


class ReleasingStream:
    """An answer's body, its connection given back to the pool once the body is read or closed."""

    def __init__(self, stream: AsyncIterator[bytes], pool: ConnectionPool, connection: Connection,
                 origin: Key) -> None:
        self._stream = stream
        self._pool = pool
        self._connection = connection
        self._origin = origin
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._released:
            return
        self._released = True
        try:
            closer = getattr(self._stream, "aclose", None)
            if closer is not None:
                await closer()
        finally:
            await self._pool._release(self._connection, self._origin)
