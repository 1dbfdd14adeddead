"""Issue 10, point 4: a customer's own external id, declared in the profile (`identity_keys`,
`upsert_keys`) and not in the connector, is used by plan and push exactly as a connector's key is:
against the Salesforce sandbox with a custom External ID field the connector knows nothing of."""

from __future__ import annotations

import json
from pathlib import Path

from engine.dryrun import dry_run
from tests.pushkit import credentials_file, push, records, served

PROFILE = """\
name: sf-customer-no
connector: salesforce
custom_fields:
  Account:
    Customer_No__c: {type: string, max_length: 40}
identity_keys:
  Account:
    customer_no:
      parts: [{name: number, field: Customer_No__c}]
upsert_keys:
  Account: [Customer_No__c]
streams:
  employer:
    object: Account
    identity: {key: customer_no, source: {number: $.id}}
    upsert_key: Customer_No__c
    fields:
      Name: {source: $.name, overwrite: true}
      Website: {source: $.website, transform: url}
"""
EMPLOYERS = [{"id": "E-1", "name": "Acme Corp", "website": "acme.com"},
             {"id": "E-2", "name": "Bluebird Bakery", "website": "bluebird.example"}]
# the org's custom field: External ID (so the native upsert may key on it), not marked Unique
CUSTOMER_NO = {"Account": [{"name": "Customer_No__c", "type": "string", "label": "Customer No",
                            "length": 40, "externalId": True}]}
# the org holds E-1 already, under another website: only the customer's key can find it
SEED = {"Account": [{"Name": "Acme (old)", "Customer_No__c": "E-1", "Website": "https://other.example"}]}


def setup(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "profile.yaml").write_text(PROFILE, encoding="utf-8")
    source = tmp_path / "data"
    source.mkdir()
    (source / "employer.jsonl").write_text("".join(json.dumps(e) + "\n" for e in EMPLOYERS), encoding="utf-8")
    return tmp_path / "profile.yaml", source


def test_a_record_is_found_by_the_profiles_key_and_a_new_one_upserted_on_it(tmp_path: Path) -> None:
    profile, source = setup(tmp_path)
    with served("salesforce", seed=SEED, extra_fields=CUSTOMER_NO) as (_, url):
        plan = dry_run(profile, source, base_url=url, state_dir=tmp_path / "plan-state",
                       credentials_file=credentials_file("salesforce", tmp_path / "creds"))
        statuses = {r.source_id: r.status for r in plan.records}
        assert statuses == {"E-1": "update", "E-2": "net_new"}
        assert any("Customer_No__c" in r.url for r in plan.lookups)
        [upsert] = [r for r in plan.writes if r.kind == "upsert"]
        assert upsert.url.endswith("/composite/sobjects/Account/Customer_No__c")
        assert upsert.refs == ["employer/E-2"]

        first = push("salesforce", source, url, tmp_path / "state", profile=profile)
        accounts = {a["Customer_No__c"]: a for a in records(url)["Account"]}
        assert sorted(accounts) == ["E-1", "E-2"]  # E-1 was found, not created again
        assert accounts["E-1"]["Name"] == "Acme Corp"
        assert accounts["E-1"]["Website"] == "https://other.example"  # overwrite off: the org's stays
        assert {o.record.source_id: o.result for o in first.outcomes} == {"E-1": "success", "E-2": "success"}

        second = push("salesforce", source, url, tmp_path / "state", profile=profile)
        assert {o.result for o in second.outcomes} == {"unchanged"}
        assert len(records(url)["Account"]) == 2
