"""The asyncio transport (engine.transport) against the one it replaces, httpx's default (httpcore on
anyio): the same requests to a served emulator, over HTTP and HTTPS, get the same answers; a refused
certificate, a port nobody listens on and a connection the emulator cuts give the same httpx errors;
a server restarted between two requests of one client answers the second."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import sandbox
from engine.jsoncodec import compact
from engine.pool import ConnectionPool
from engine.sandbox.common import free_port, make_tls_files, running
from engine.transport import AsyncioBackend, crm_transport

TOKEN = {"Authorization": "Bearer sandbox-token"}
Transport = Callable[[ssl.SSLContext, httpx.Limits], httpx.AsyncBaseTransport]
DEFAULT: Transport = lambda tls, limits: httpx.AsyncHTTPTransport(verify=tls, limits=limits)  # noqa: E731
BOTH = {"httpx default": DEFAULT, "asyncio": crm_transport}


def exchange(make: Transport, tls: ssl.SSLContext, calls: list[tuple[str, str, Any]]) -> list[Any]:
    """Each call's (status, JSON answer less its times) or the httpx error's class, one after another
    through one client (its pool reused)."""
    async def run() -> list[Any]:
        limits = httpx.Limits(max_connections=4)
        async with httpx.AsyncClient(transport=make(tls, limits), headers=TOKEN, timeout=10) as client:
            async def one(method: str, url: str, body: Any) -> Any:
                try:
                    content = None if body is None else compact(body)
                    answer = await client.request(method, url, content=content,
                                                  headers={"Content-Type": "application/json"})
                except httpx.HTTPError as exc:
                    return type(exc).__name__
                # the emulator's own address (in paging links) differs from run to run
                text = answer.text.replace(str(answer.url.copy_with(path="/", query=None)), "/")
                return answer.status_code, timeless(json.loads(text)) if text else None
            return [await one(*call) for call in calls]
    return asyncio.run(run())


TIMES = {"createdate", "hs_lastmodifieddate", "createdAt", "updatedAt", "correlationId"}


def timeless(value: Any) -> Any:
    """An answer without the times and correlation ids the emulator stamps (two runs never share them)."""
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [timeless(v) for v in value]
    return value


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz é'", min_size=1, max_size=12)
calls = st.lists(st.one_of(
    st.builds(lambda name: ("POST", "/crm/v3/objects/companies", {"properties": {"name": name}}), names),
    st.builds(lambda limit: ("GET", f"/crm/v3/objects/companies?limit={limit}", None), st.integers(1, 5)),
    st.just(("GET", "/crm/v3/objects/nothing-here", None)),
    st.just(("POST", "/crm/v3/objects/companies/search", {"filterGroups": [], "limit": 2}))),
    min_size=1, max_size=12)


@pytest.mark.parametrize("scheme", ["http", "https"])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=calls)
def test_the_same_requests_get_the_same_answers(tmp_path_factory: pytest.TempPathFactory, scheme: str,
                                                sequence: list[tuple[str, str, Any]]) -> None:
    """Each transport against its own fresh emulator: the answers (ids included) are equal."""
    tls_dir = tmp_path_factory.mktemp("tls") if scheme == "https" else None
    answers = {}
    for name, make in BOTH.items():
        emulator = sandbox.create("hubspot", rate_limit_per_10s=None, search_rate_limit_per_s=None)
        with running(emulator, tls_dir=tls_dir) as url:
            tls = ssl.create_default_context(cafile=str(tls_dir / "sandbox-ca.pem")) if tls_dir else \
                ssl.create_default_context()
            answers[name] = exchange(make, tls, [(m, url + path, body) for m, path, body in sequence])
    assert answers["asyncio"] == answers["httpx default"]
    assert all(isinstance(a, tuple) for a in answers["asyncio"])  # every call was answered


def test_errors_are_httpx_errors_of_the_same_kind(tmp_path: Path) -> None:
    make_tls_files(tmp_path / "tls")
    untrusted = ssl.create_default_context()  # does not trust the emulator's throwaway CA
    dead = f"http://127.0.0.1:{free_port()}/crm/v3/objects/companies"
    emulator = sandbox.create("hubspot", faults="drop_before=1,seed=3")
    with running(emulator, tls_dir=tmp_path / "tls") as url:
        calls = [("GET", dead, None), ("GET", url + "/crm/v3/objects/companies", None)]
        results = {name: exchange(make, untrusted, calls) for name, make in BOTH.items()}
    assert results["asyncio"] == results["httpx default"] == ["ConnectError", "ConnectError"]
    emulator = sandbox.create("hubspot", faults="drop_before=1,seed=3")
    with running(emulator) as url:
        cut = {name: exchange(make, ssl.create_default_context(), [("GET", url + "/crm/v3/objects/companies",
                                                                    None)]) for name, make in BOTH.items()}
    assert cut["asyncio"] == cut["httpx default"]
    assert isinstance(cut["asyncio"][0], str)  # an error, not an answer


def test_a_server_restarted_between_requests_answers_the_next() -> None:
    """The emulator restarted on the same port between two requests: the second opens a new
    connection and is answered, as with httpx's default transport."""
    port = free_port()

    async def two_requests(make: Transport) -> list[int]:
        limits = httpx.Limits(max_connections=2)
        transport = make(ssl.create_default_context(), limits)
        async with httpx.AsyncClient(transport=transport, headers=TOKEN) as c:
            statuses = []
            for _ in range(2):
                emulator = sandbox.create("hubspot")
                with running_on(emulator, port) as url:
                    statuses.append((await c.get(url + "/crm/v3/objects/companies")).status_code)
            return statuses

    for make in BOTH.values():
        assert asyncio.run(two_requests(make)) == [200, 200]


def running_on(emulator: Any, port: int) -> Any:
    """`running`, on a port chosen before (so a restarted emulator is at the same address)."""
    from unittest import mock

    with mock.patch("engine.sandbox.common.free_port", return_value=port):
        return running(emulator)


def test_the_crm_client_sends_through_the_asyncio_transport() -> None:
    from engine.catalog import load_connector
    from engine.client import Credentials, CrmClient

    client = CrmClient(load_connector("hubspot").model, "http://127.0.0.1:9", Credentials(access_token="x"))
    pool = client.http._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool, ConnectionPool)
    assert isinstance(pool._network_backend, AsyncioBackend)
    asyncio.run(client.close())
