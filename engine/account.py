"""Which CRM org a command is for, known by the account id the CRM answers once authenticated (the
connector's `account:`), not by its address: every HubSpot portal answers at api.hubapi.com and every
Zoho org of a data centre at one host, while one Salesforce org answers at its instance URL and its My
Domain. The org key is `<connector>:<account id>`; a connector without `account:` (a new CRM), or a CRM
that refuses the request (a token without the scope: 403, an endpoint it lacks: 404), keys by the
address, and a refusal says so in the output and the run's details (a warning, never silent)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from engine.errors import CrmsyncError
from engine.render import Request, read_one
from engine.state.orgs import Org, by_address, org_of

if TYPE_CHECKING:
    from engine.client import CrmClient
    from engine.connector import AccountSpec, ConnectorSpec


class AccountUnknown(CrmsyncError):
    """The CRM's answer to the account request holds no account id where the connector says."""


def account_url(connector: ConnectorSpec, base_url: str) -> str | None:
    """The account request's URL on this base URL, or None without `account:`."""
    spec = connector.account
    if spec is None:
        return None
    return base_url.rstrip("/") + spec.request.path.replace("{api_version}", connector.api_version)


def account_request(connector: ConnectorSpec, base_url: str) -> Request | None:
    """The request as the dry-run lists it (`requests` of `plan --format json`, kind `account`)."""
    url = account_url(connector, base_url)
    if url is None or connector.account is None:
        return None
    return Request("account", "", connector.account.request.method, url,
                   {**connector.default_headers, **connector.account.request.headers}, None)


async def learn_org(client: CrmClient, base_url: str) -> Org:
    """One request, authenticated: the org's key. A refusal (4xx) keys by the address, with a warning;
    a CRM that cannot answer (5xx after retries, no connection) or an answer without the id stops."""
    connector = client.connector
    url, spec = account_url(connector, client.base_url), connector.account
    if url is None or spec is None:
        return by_address(base_url)
    sent = await client.send(spec.request.method, url, headers=spec.request.headers or None,
                             kind="account", safe_to_repeat=True)
    where = f"{connector.label} account request GET {spec.request.path}"
    if sent.response is None:
        raise AccountUnknown(f"{where}: {sent.error}; nothing was sent")
    status = sent.response.status_code
    if 400 <= status < 500:
        return Org(key=org_of(base_url), address=org_of(base_url), warning=(
            f"{where} was refused ({status}): the org is known by its address {org_of(base_url)}, which "
            "other accounts of this CRM may share (one rate budget, one binding); give the credentials "
            "the scope it needs"))
    if status >= 300:
        raise AccountUnknown(f"{where}: the CRM answered {status}; nothing was sent: push again later")
    return _from_answer(connector.name, where, spec, sent.response.json(), base_url)


def _from_answer(crm: str, where: str, spec: AccountSpec, answer: Any, base_url: str) -> Org:
    value = read_one(answer, spec.id)
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if spec.pattern is not None:
        found = re.search(spec.pattern, text)
        text = found.group(1) if found else ""
    if not text.strip():
        raise AccountUnknown(f"{where}: the answer has no account id at {spec.id}"
                             + (f" matching {spec.pattern}" if spec.pattern else "")
                             + f" (found {value!r}); nothing was sent")
    facts = {name: str(v) for name, path in spec.facts.items() if (v := read_one(answer, path)) is not None}
    return Org(key=f"{crm}:{text.strip()}", address=org_of(base_url), account_id=text.strip(), facts=facts)
