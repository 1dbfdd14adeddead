"""The review database's queries: counts, filters, search and paging over a generated plan, with
search text taken literally (LIKE's % and _, quotes, backslashes) and always bound, never spliced."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

import pytest

from engine.catalog import load_profile
from engine.dryrun import dry_run
from engine.exampledata import generate
from engine.review import queries
from engine.review.db import load_plan
from engine.review.queries import PAGE_SIZE, Filter
from tests.pushkit import PROFILES, rewrite

HUBSPOT = PROFILES["hubspot"]
ODD_NAMES = {"emp-001": "Acme 100% Natural", "emp-002": "Under_Score Ltd", "emp-003": "O'Neil & Sons",
             "emp-004": "Back\\slash Co", "emp-005": "100 Percent Honest"}


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[sqlite3.Connection, list[dict]]:
    folder = tmp_path_factory.mktemp("review")
    generate(folder / "src", 400)
    for record_id, name in ODD_NAMES.items():
        rewrite(folder / "src" / "employer.jsonl", record_id, name=name)
    plan = dry_run(HUBSPOT, folder / "src", state_dir=folder / "state")
    db = load_plan(folder / "review.sqlite", plan, load_profile(HUBSPOT), {})
    return db, [r.as_dict() for r in plan.records]


def refs(db: sqlite3.Connection, chosen: Filter) -> list[str]:
    found: list[str] = []
    for number in range(1, 100):
        rows = queries.page(db, chosen, number)
        found += [r.ref for r in rows]
        if len(rows) < PAGE_SIZE:
            return found
    raise AssertionError("more pages than records")


def test_counts_per_status_are_the_plan_s(planned: tuple[sqlite3.Connection, list[dict]]) -> None:
    db, records = planned
    assert queries.status_counts(db) == {s: Counter(r["status"] for r in records)[s]
                                         for s in queries.STATUSES}


def test_pages_hold_fifty_records_in_plan_order_and_cover_every_one_once(planned: tuple) -> None:
    db, records = planned
    assert len(queries.page(db, Filter(), 1)) == PAGE_SIZE
    assert refs(db, Filter()) == [f"{r['stream']}/{r['source_id']}" for r in records]
    assert queries.page(db, Filter(), 10_000) == []


def test_status_stream_field_and_problem_filters_find_exactly_their_records(planned: tuple) -> None:
    db, records = planned
    def expect(keep: object) -> list[str]:
        return [f"{r['stream']}/{r['source_id']}" for r in records if keep(r)]  # type: ignore[operator]
    assert refs(db, Filter(status="skipped")) == expect(lambda r: r["status"] == "skipped")
    assert refs(db, Filter(stream="broker_office", status="net_new")) == expect(
        lambda r: r["stream"] == "broker_office" and r["status"] == "net_new")
    phone = expect(lambda r: "phone" in [x["field"] for x in r["changes"] + r["kept"] + r["problems"]])
    assert phone and refs(db, Filter(field="phone")) == phone
    codes = Counter(p["code"] for r in records for p in r["problems"])
    code = codes.most_common(1)[0][0]
    assert refs(db, Filter(code=code)) == expect(lambda r: any(p["code"] == code for p in r["problems"]))
    assert queries.count(db, Filter(status="invalid", code=code)) <= queries.count(db, Filter(code=code))


def test_causes_group_problems_and_filter_to_their_records(planned: tuple) -> None:
    db, records = planned
    causes = queries.causes(db)
    assert sum(c["count"] for c in causes) == sum(len(r["problems"]) for r in records)
    top = causes[0]
    assert queries.count(db, Filter(cause=str(top["id"]))) == top["count"]
    assert top["profile_at"].startswith(f"{HUBSPOT}:")


def test_search_by_name_email_domain_source_id_and_crm_id(planned: tuple) -> None:
    db, records = planned
    contact = next(r for r in records if r["stream"] == "employer_contact" and r["status"] == "net_new")
    email = contact["changes"][[c["field"] for c in contact["changes"]].index("email")]["new"]
    assert refs(db, Filter(q=email.upper(), within="email")) == [f"employer_contact/{contact['source_id']}"]
    assert refs(db, Filter(q="emp-01", within="source_id")) == [f"employer/emp-01{n}" for n in range(10)]
    broker = next(r for r in records if r["stream"] == "broker" and r["status"] == "net_new")
    website = next(c["new"] for c in broker["changes"] if c["field"] == "website")
    domain = website.split("://")[1].removeprefix("www.").upper()  # a broker's, its offices' too
    with_it = [f"{r['stream']}/{r['source_id']}" for r in records if r["status"] == "net_new"
               and r["stream"] in ("broker", "broker_office", "employer")
               and any(c["field"] == "website" and domain.lower() in c["new"] for c in r["changes"])]
    assert f"broker/{broker['source_id']}" in with_it
    assert refs(db, Filter(q=domain, within="domain", status="net_new")) == with_it
    assert "employer/emp-003" in refs(db, Filter(q="o'neil", within="name"))
    assert refs(db, Filter(q="no-such-thing-anywhere")) == []
    db.execute("UPDATE records SET crm_id = '0123456789', crm_id_lc = '0123456789' "
               "WHERE ref = 'broker/brk-001'")
    assert refs(db, Filter(q="34567", within="crm_id")) == ["broker/brk-001"]


def test_search_takes_wildcards_quotes_and_backslashes_literally(planned: tuple) -> None:
    db, _ = planned
    named = {name: f"employer/{record_id}" for record_id, name in ODD_NAMES.items()}
    assert refs(db, Filter(q="100%", within="name")) == [named["Acme 100% Natural"]]  # not "100 Percent"
    assert refs(db, Filter(q="r_s", within="name")) == [named["Under_Score Ltd"]]  # _ is not any letter
    assert refs(db, Filter(q="%", within="name")) == [named["Acme 100% Natural"]]
    assert refs(db, Filter(q="k\\s", within="name")) == [named["Back\\slash Co"]]
    assert refs(db, Filter(q="' OR 1=1 --")) == []
    assert refs(db, Filter(q="'; DROP TABLE records; --")) == [] and queries.count(db, Filter()) > 0


def test_a_filter_from_the_address_is_bounded_and_unknown_values_are_dropped() -> None:
    chosen = Filter.of({"status": "net_new' OR 1=1", "within": "password", "q": "x" * 500, "other": "y"})
    assert chosen.status == "" and chosen.within == "" and len(chosen.q) == 200
    assert Filter.of({"status": "invalid", "q": "a&b"}).query(page=2) == "status=invalid&q=a%26b&page=2"


def test_each_record_keeps_its_request_with_no_credentials(planned: tuple) -> None:
    db, _ = planned
    row, shown = queries.record(db, 1)  # type: ignore[misc]
    assert shown is not None and shown["method"] in ("POST", "PATCH")
    assert shown["body"]["properties"]["name"] == row.name
    assert "Bearer" not in json.dumps(shown)
