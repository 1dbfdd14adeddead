"""engine.pool's connection pool (under crm_transport) against httpcore's, which it replaces: requests
sent many at once through few connections to a served emulator get the answers httpcore's pool gets;
connections are reused and never more are open than allowed; a request cancelled or timed out while it
waits for a connection, or while it is answered, gives its place back (the pool ends with every open
connection idle and answers the next requests); an expired connection is not reused."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

import httpcore
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import sandbox
from engine.jsoncodec import compact
from engine.pool import ConnectionPool, key_of
from engine.sandbox.common import running
from engine.transport import AsyncioBackend, crm_transport
from tests.test_transport import timeless

TOKEN = {"Authorization": "Bearer sandbox-token", "Content-Type": "application/json"}
LISTING = "/crm/v3/objects/companies?limit=3"


class CountingBackend(AsyncioBackend):
    """AsyncioBackend that counts the connections it opens."""

    def __init__(self) -> None:
        self.connects = 0

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        self.connects += 1
        return await super().connect_tcp(*args, **kwargs)


def lean(limits: httpx.Limits, backend: AsyncioBackend) -> tuple[httpx.AsyncHTTPTransport, ConnectionPool]:
    transport = crm_transport(ssl.create_default_context(), limits)
    pool = transport._pool  # type: ignore[attr-defined]
    pool._network_backend = backend
    return transport, pool


def httpcore_pool(limits: httpx.Limits, backend: AsyncioBackend) -> tuple[httpx.AsyncHTTPTransport, Any]:
    transport = httpx.AsyncHTTPTransport(limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        max_connections=limits.max_connections, keepalive_expiry=limits.keepalive_expiry,
        network_backend=backend)
    return transport, transport._pool


Make = Callable[[httpx.Limits, AsyncioBackend], tuple[httpx.AsyncHTTPTransport, Any]]
POOLS: dict[str, Make] = {"engine.pool": lean, "httpcore": httpcore_pool}


def at_once(make: Make, url: str, calls: list[tuple[str, str]],
            max_connections: int) -> tuple[list[Any], int]:
    """Every call sent at once through one client of `max_connections`: each call's status and, for a
    read, its answer; and how many connections were opened."""
    async def run() -> tuple[list[Any], int]:
        backend = CountingBackend()
        transport, _ = make(httpx.Limits(max_connections=max_connections), backend)
        async with httpx.AsyncClient(transport=transport, headers=TOKEN, timeout=20) as client:
            async def one(method: str, path: str) -> Any:
                body = compact({"properties": {"name": "Acme"}}) if method == "POST" else None
                answer = await client.request(method, url + path, content=body)
                return answer.status_code, timeless(answer.json()) if method == "GET" else None
            answers = await asyncio.gather(*(one(*call) for call in calls))
        return list(answers), backend.connects
    return asyncio.run(run())


reads = st.lists(st.sampled_from([("GET", "/crm/v3/objects/companies/1002"),
                                  ("GET", "/crm/v3/objects/nothing-here"),
                                  ("POST", "/crm/v3/objects/companies")]), min_size=1, max_size=30)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=reads, max_connections=st.integers(1, 4))
def test_many_requests_at_once_get_httpcores_answers_through_few_connections(
        calls: list[tuple[str, str]], max_connections: int) -> None:
    """The emulator holds three companies first, so every read of one of them gets the same answer;
    creates made at once are answered 201 whatever their order."""
    results = {}
    for name, make in POOLS.items():
        emulator = sandbox.create("hubspot", rate_limit_per_10s=None, search_rate_limit_per_s=None,
                                  latency_ms=5)
        with running(emulator) as url:
            at_once(make, url, [("POST", "/crm/v3/objects/companies")] * 3, 1)
            results[name] = at_once(make, url, calls, max_connections)
    (answers, connects), (theirs, _) = results["engine.pool"], results["httpcore"]
    assert [a[0] for a in answers] == [a[0] for a in theirs]
    assert [a for a, (method, _) in zip(answers, calls, strict=True) if method == "GET"] == \
        [a for a, (method, _) in zip(theirs, calls, strict=True) if method == "GET"]
    assert connects <= max_connections  # reused: never more open than allowed, never one per request


async def settle(pool: ConnectionPool, client: httpx.AsyncClient, url: str) -> list[int]:
    """After whatever came before: the pool has every open connection idle, and answers 4 more."""
    assert pool.idle_connections == pool.open_connections
    assert not [f for _, f in pool._waiting if not f.done()]
    answers = await asyncio.gather(*(client.get(url + LISTING) for _ in range(4)))
    return [a.status_code for a in answers]


steps = st.lists(st.tuples(st.sampled_from(["answered", "cancelled", "timed out"]), st.integers(0, 30)),
                 min_size=1, max_size=20)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps, max_connections=st.integers(1, 3))
def test_a_request_cancelled_or_timed_out_gives_its_place_back(plan: list[tuple[str, int]],
                                                                 max_connections: int) -> None:
    """Each request is let be answered, cancelled after some milliseconds (while it waits for a
    connection, is sent or is answered: the emulator takes 10 ms), or given a pool timeout of that
    long: the others are answered, and the pool ends with no place held."""
    emulator = sandbox.create("hubspot", rate_limit_per_10s=None, search_rate_limit_per_s=None, latency_ms=10)

    async def run(url: str) -> list[int]:
        transport, pool = lean(httpx.Limits(max_connections=max_connections), AsyncioBackend())
        async with httpx.AsyncClient(transport=transport, headers=TOKEN, timeout=20) as client:
            async def one(fate: str, ms: int) -> str:
                timeout = httpx.Timeout(20, pool=ms / 1000) if fate == "timed out" else httpx.Timeout(20)
                task = asyncio.ensure_future(client.get(url + LISTING, timeout=timeout))
                if fate == "cancelled":
                    await asyncio.sleep(ms / 1000)
                    task.cancel()
                try:
                    return str((await task).status_code)
                except asyncio.CancelledError:
                    return "cancelled"
                except httpx.PoolTimeout:
                    return "pool timeout"
            fates = await asyncio.gather(*(one(fate, ms) for fate, ms in plan))
            assert all(f == "200" for f, (fate, _) in zip(fates, plan, strict=True) if fate == "answered")
            assert pool.open_connections <= max_connections
            return await settle(pool, client, url)

    with running(emulator) as url:
        assert asyncio.run(run(url)) == [200] * 4


def test_an_expired_connection_is_not_reused() -> None:
    """keepalive_expiry 0: each request, one after another, opens a connection of its own."""
    emulator = sandbox.create("hubspot")

    async def run(url: str) -> tuple[list[int], int]:
        backend = CountingBackend()
        transport, _ = lean(httpx.Limits(max_connections=2, keepalive_expiry=0), backend)
        async with httpx.AsyncClient(transport=transport, headers=TOKEN) as client:
            statuses = []
            for _ in range(3):
                statuses.append((await client.get(url + LISTING)).status_code)
                await asyncio.sleep(0.01)
        return statuses, backend.connects

    with running(emulator) as url:
        assert asyncio.run(run(url)) == ([200, 200, 200], 3)


def test_a_request_waits_for_a_place_and_then_is_answered() -> None:
    """One connection, two requests: the second waits for the first's answer and reuses its connection;
    given a pool timeout shorter than the first's answer, it raises httpx's PoolTimeout instead."""
    emulator = sandbox.create("hubspot", latency_ms=200)

    async def run(url: str, pool_timeout: float) -> tuple[list[Any], int]:
        backend = CountingBackend()
        transport, _ = lean(httpx.Limits(max_connections=1), backend)
        async with httpx.AsyncClient(transport=transport, headers=TOKEN,
                                     timeout=httpx.Timeout(20, pool=pool_timeout)) as client:
            async def one() -> Any:
                try:
                    return (await client.get(url + LISTING)).status_code
                except httpx.PoolTimeout:
                    return "PoolTimeout"
            return list(await asyncio.gather(one(), one())), backend.connects

    with running(emulator) as url:
        assert asyncio.run(run(url, 10)) == ([200, 200], 1)
        assert asyncio.run(run(url, 0.05)) == ([200, "PoolTimeout"], 1)


def test_a_closed_pool_refuses_requests() -> None:
    async def run() -> None:
        transport, pool = lean(httpx.Limits(max_connections=1), AsyncioBackend())
        await pool.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1:9/"))

    asyncio.run(run())


def test_a_place_granted_to_a_request_cancelled_at_that_moment_is_passed_on() -> None:
    """A connection's place handed to the waiting request in the same moment that request is cancelled
    (before it runs again) goes to the next waiting request, or back to the pool: never lost."""
    async def run() -> tuple[int, int]:
        _, pool = lean(httpx.Limits(max_connections=1), AsyncioBackend())
        origin = httpcore.URL("http://127.0.0.1:9/").origin
        held = await pool._acquire(origin, None)
        cancelled = asyncio.ensure_future(pool._acquire(origin, None))
        after = asyncio.ensure_future(pool._acquire(origin, None))
        await asyncio.sleep(0)  # both wait
        await pool._release(held, key_of(origin))  # never connected: closed, its place handed on
        cancelled.cancel()  # its place was granted; it has not run since
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        await asyncio.wait_for(after, 1)  # the place went on to the next one
        open_then = pool.open_connections
        await pool._release(after.result(), key_of(origin))
        return open_then, pool.open_connections

    assert asyncio.run(run()) == (1, 0)
