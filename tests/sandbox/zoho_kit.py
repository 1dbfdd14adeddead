"""A served Zoho emulator and an httpx client holding a token from its own token endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from engine.sandbox.common import running
from engine.sandbox.zoho import ZohoSandbox

OAUTH = {"client_id": "sandbox-client", "client_secret": "sandbox-secret", "refresh_token": "sandbox-refresh"}


class Org:
    """The served emulator, its root URL, and a client authenticated the Zoho way."""

    def __init__(self, sandbox: ZohoSandbox, url: str) -> None:
        self.sandbox = sandbox
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)
        self.token = self.new_token()
        self.headers = {"Authorization": f"Zoho-oauthtoken {self.token}"}

    def new_token(self) -> str:
        answer = self.http.post("/oauth/v2/token", params={"grant_type": "refresh_token", **OAUTH})
        assert answer.status_code == 200 and "access_token" in answer.json(), answer.text
        return str(answer.json()["access_token"])

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get("/crm/v7" + path, params=params, headers=self.headers)

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post("/crm/v7" + path, json=body, headers=self.headers)

    def put(self, path: str, body: Any) -> httpx.Response:
        return self.http.put("/crm/v7" + path, json=body, headers=self.headers)

    def insert(self, module: str, *rows: dict[str, Any]) -> list[str]:
        answer = self.post(f"/{module}", {"data": list(rows)})
        assert answer.status_code == 201, answer.text
        return [r["details"]["id"] for r in answer.json()["data"]]

    def coql(self, query: str) -> httpx.Response:
        return self.post("/coql", {"select_query": query})


@contextmanager
def served(**options: Any) -> Iterator[Org]:
    sandbox = ZohoSandbox(**options)
    with running(sandbox) as url:
        org = Org(sandbox, url)
        try:
            yield org
        finally:
            org.http.close()


def only_error(answer: httpx.Response, status: int) -> dict[str, Any]:
    """The top-level Zoho error of a refused call, after checking its status and shape."""
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) == {"code", "details", "message", "status"} and body["status"] == "error", body
    return body
