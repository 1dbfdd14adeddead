"""Composite (`POST /services/data/vXX.X/composite`) through simple-salesforce's own client, over TLS:
references between subrequests, per-subrequest status and body, allOrNone rollback, dependents halted,
and the documented limits (25 subrequests, 5 queries or sObject Collections)."""

# ruff: noqa: F811 - the tests take the served sandbox and the client as the fixtures imported below

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from engine.sandbox.salesforce import SalesforceSandbox
from tests.sandbox.test_salesforce_client import served, sf  # noqa: F401

V = "/services/data/v59.0"


def composite(sf: Salesforce, *subrequests: dict[str, Any],
              all_or_none: bool = False) -> list[dict[str, Any]]:
    answer = sf.restful("composite", method="POST",
                        json={"allOrNone": all_or_none, "compositeRequest": list(subrequests)})
    return answer["compositeResponse"]


def account(ref: str, name: str = "Acme") -> dict[str, Any]:
    return {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": ref, "body": {"Name": name}}


def contact(ref: str, account_ref: str, email: str = "ana@acme-example.com") -> dict[str, Any]:
    return {"method": "POST", "url": f"{V}/sobjects/Contact", "referenceId": ref,
            "body": {"LastName": "Ana", "Email": email, "AccountId": f"@{{{account_ref}.id}}"}}


def test_a_later_subrequest_uses_an_earlier_ones_id(sf: Salesforce) -> None:
    results = composite(sf, account("newAccount"), contact("newContact", "newAccount"),
                        {"method": "GET", "url": f"{V}/sobjects/Account/@{{newAccount.id}}?fields=Name",
                         "referenceId": "readBack"})
    created, person, read = results
    assert (created["httpStatusCode"], created["referenceId"]) == (201, "newAccount")
    assert created["body"]["success"] is True
    assert created["httpHeaders"] == {"Location": f"{V}/sobjects/Account/{created['body']['id']}"}
    assert person["httpStatusCode"] == 201
    assert sf.Contact.get(person["body"]["id"])["AccountId"] == created["body"]["id"]
    assert (read["httpStatusCode"], read["body"]["Name"]) == (200, "Acme")


def test_all_or_none_rolls_every_subrequest_back(sf: Salesforce, served: Any) -> None:
    sandbox: SalesforceSandbox = served[0]
    results = composite(sf, account("first"), contact("bad", "first", email="not an email"),
                        account("third", "Beta"), all_or_none=True)
    assert [r["httpStatusCode"] for r in results] == [400, 400, 400]
    assert results[1]["body"][0]["errorCode"] == "INVALID_EMAIL_ADDRESS"
    for rolled in (results[0], results[2]):
        assert rolled["body"] == [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled "
                                   "back since another operation in the same transaction failed."}]
    assert sandbox.snapshot()["Account"] == [] and sandbox.snapshot()["Contact"] == []


def test_without_all_or_none_dependents_halt_and_the_others_run(sf: Salesforce, served: Any) -> None:
    sandbox: SalesforceSandbox = served[0]
    results = composite(sf, account("broken", ""), contact("orphan", "broken"), account("fine", "Beta"))
    assert [r["httpStatusCode"] for r in results] == [400, 400, 201]
    assert results[0]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    [halted] = results[1]["body"]
    assert halted["errorCode"] == "PROCESSING_HALTED"
    assert halted["message"].startswith(
        "Invalid reference specified. No value for broken.id found in broken.")
    assert [a["Name"] for a in sandbox.snapshot()["Account"]] == ["Beta"]
    assert sandbox.snapshot()["Contact"] == []


def test_query_results_are_referenced_by_index(sf: Salesforce) -> None:
    sf.Account.create({"Name": "Acme"})
    results = composite(sf, {"method": "GET", "url": f"{V}/query?q=SELECT+Id,Name+FROM+Account",
                             "referenceId": "found"},
                        {"method": "PATCH", "url": f"{V}/sobjects/Account/@{{found.records[0].Id}}",
                         "referenceId": "renamed", "body": {"Name": "Acme Renamed"}})
    assert [r["httpStatusCode"] for r in results] == [200, 204]
    assert results[1]["body"] is None
    assert sf.query("SELECT Name FROM Account")["records"][0]["Name"] == "Acme Renamed"


def test_more_than_25_subrequests_are_refused(sf: Salesforce, served: Any) -> None:
    results = composite(sf, *[account(f"a{i}", f"Acme {i}") for i in range(26)])
    assert results == [{"body": [{"errorCode": "LIMIT_EXCEEDED", "message": "The request can’t contain more "
                                  "than 25 operations."}], "httpHeaders": {}, "httpStatusCode": 400,
                        "referenceId": None}]
    assert served[0].snapshot()["Account"] == []


def test_more_than_5_queries_are_refused(sf: Salesforce) -> None:
    queries = [{"method": "GET", "url": f"{V}/query?q=SELECT+Id+FROM+Account", "referenceId": f"q{i}"}
               for i in range(6)]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        composite(sf, *queries)
    assert refused.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"


@pytest.mark.parametrize(("subrequest", "fragment"), [
    ({"method": "POST", "url": f"{V}/sobjects/Account", "body": {"Name": "x"}}, "missing its referenceId"),
    ({**account("x"), "referenceId": "has space"}, "must start with a letter or a number"),
    ({**account("x"), "httpHeaders": {"Authorization": "Bearer other"}}, "may not set Accept, Authorization"),
    ({**account("x"), "method": "post"}, "Invalid method 'post'"),
])
def test_a_malformed_subrequest_fails_the_whole_request(sf: Salesforce, subrequest: dict[str, Any],
                                                         fragment: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        composite(sf, account("ok"), subrequest)
    assert fragment in refused.value.content[0]["message"]


def test_a_repeated_reference_id_fails_the_whole_request(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        composite(sf, account("same"), account("same", "Beta"))
    assert "Duplicate referenceId" in refused.value.content[0]["message"]
