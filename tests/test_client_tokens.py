"""The access token is fetched once however many requests start without one."""

from __future__ import annotations

import asyncio

from engine.catalog import load_connector
from engine.client import Credentials, CrmClient
from tests.pushkit import served

OAUTH = Credentials("sandbox-client", "sandbox-secret", "sandbox-refresh")


def test_requests_that_start_together_without_a_token_fetch_one() -> None:
    connector = load_connector("salesforce").model
    with served("salesforce") as (emulator, url):
        async def run() -> list[int]:
            client = CrmClient(connector, url, OAUTH)
            try:
                describe = f"{url}/services/data/v60.0/sobjects/{{}}/describe"
                sent = await asyncio.gather(*(client.send("GET", describe.format(name))
                                              for name in ("Account", "Contact", "Lead")))
                return [s.response.status_code for s in sent if s.response is not None]
            finally:
                await client.close()

        assert asyncio.run(run()) == [200, 200, 200]
        assert len([r for r in emulator.requests if "token" in r["path"]]) == 1
