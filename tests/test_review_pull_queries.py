"""The Pull page's queries over the state dir's pull tables: decisions as they stand now (a link made
or undone since the pull), filters, paging, and searches whose LIKE wildcards and quotes are taken
literally."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.catalog import load_profile
from engine.pull.state import Listing, save_matches, save_page
from engine.review import pull_queries as q
from engine.review.pull_queries import PullFilter, Shown
from engine.store import Link, Store
from tests.pushkit import PROFILES

PROFILE = "hubspot-benefitflow"
BUNDLE = load_profile(PROFILES["hubspot"])
OBJECTS = ["companies", "contacts"]


def company(i: int, name: str | None = None) -> tuple[str, dict[str, str]]:
    return str(1000 + i), {"hs_object_id": str(1000 + i), "name": name or f"Company {i}",
                           "website": f"https://c{i}.example"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """120 pulled companies: 1-40 Match Found (best score 0.5 + i/100, capped), 41-100 New, 101-120
    Linked at pull time; two named to trip a LIKE (50%_off, O'Malley); 1 linked and 101 unlinked since."""
    store = Store(tmp_path / "state")
    names = {7: "50%_off Deals", 8: "50x off Deals", 9: "O'Malley & Sons"}
    records = [company(i, names.get(i)) for i in range(1, 121)]
    save_page(store, PROFILE, "companies", Listing(listing="l1"), records)
    matches = []
    for i, (crm_id, _) in enumerate(records, 1):
        status = "match_found" if i <= 40 else "new" if i <= 100 else "linked"
        candidates = [{"ref": f"employer/emp-{i:03d}", "score": min(0.5 + i / 100, 1.0),
                       "reasons": ["name 0.90"]}] if status == "match_found" else []
        matches.append((crm_id, status, candidates))
    save_matches(store, PROFILE, "companies", matches)
    store.save_links(PROFILE, [Link("employer", f"emp-{i:03d}", "companies", str(1000 + i))
                               for i in [1, *range(102, 121)]])
    yield store
    store.close()


def shown() -> Shown:
    return Shown(BUNDLE, "companies", None)


def crm_ids(store: Store, chosen: PullFilter, number: int = 1) -> list[str]:
    return [r.crm_id for r in q.page(store.db, PROFILE, chosen, number, shown())]


def test_decisions_are_as_they_stand_now_not_as_the_pull_left_them(store: Store) -> None:
    assert q.decision_counts(store.db, PROFILE, "companies") == {
        "match_found": 39, "new": 60, "linked": 20, "unlinked": 1}
    [linked] = q.page(store.db, PROFILE, PullFilter(object="companies", q="1001"), 1, shown())
    assert linked.decision == "linked" and linked.linked_to == "employer/emp-001" and linked.candidates == []
    [unlinked] = q.page(store.db, PROFILE, PullFilter(object="companies", decision="unlinked"), 1, shown())
    assert unlinked.crm_id == "1101" and unlinked.pulled_as == "linked"


def test_a_filter_pages_through_every_record_it_finds_in_pull_order(store: Store) -> None:
    chosen = PullFilter(object="companies", decision="new")
    assert q.count(store.db, PROFILE, chosen) == 60
    first, second, past = crm_ids(store, chosen, 1), crm_ids(store, chosen, 2), crm_ids(store, chosen, 3)
    assert first == [str(1000 + i) for i in range(41, 91)] and len(first) == q.PAGE_SIZE
    assert second == [str(1000 + i) for i in range(91, 101)] and past == []
    assert q.count(store.db, PROFILE, PullFilter(object="companies")) == 120


def test_best_score_filter_and_the_bulk_selection(store: Store) -> None:
    chosen = PullFilter.of({"object": "companies", "decision": "match_found", "min_score": "0.85"}, OBJECTS)
    assert crm_ids(store, chosen) == [str(1000 + i) for i in range(35, 41)]
    assert list(q.matching(store.db, PROFILE, chosen)) == [(str(1000 + i), f"employer/emp-{i:03d}")
                                                           for i in range(35, 41)]


@pytest.mark.parametrize(("text", "found"), [
    ("50%_off", ["1007"]),  # not 50x off: % and _ are no wildcards
    ("o'malley", ["1009"]), ("O'MALLEY & sons", ["1009"]),  # a quote is a letter; any case
    ("emp-003", ["1003"]),  # a candidate's local ref
    ("employer/emp-110", ["1110"]),  # the record it is linked to
    ("https://c12.example", ["1012"]),  # a field's value
    ("hs_object_id", []),  # a field's name is not its value
    ("\\", []), ("%", ["1007"]), ("'; DROP TABLE pulled; --", []),
])
def test_search_takes_its_text_literally(store: Store, text: str, found: list[str]) -> None:
    assert crm_ids(store, PullFilter(object="companies", q=text)) == found
    assert q.count(store.db, PROFILE, PullFilter(object="contacts")) == 0  # the table is still there


def test_a_filter_from_the_address_keeps_only_what_it_knows() -> None:
    chosen = PullFilter.of({"object": "deals", "decision": "maybe", "min_score": "2", "q": " x " * 200},
                           OBJECTS)
    assert (chosen.object, chosen.decision, chosen.min_score) == ("companies", "", "")
    assert len(chosen.q) == 200 and not PullFilter(object="companies").narrowed()
    assert PullFilter.of({"min_score": "0.9"}, OBJECTS).min_score == "0.9"


def test_a_record_is_shown_by_its_name_its_mapped_values_and_its_candidates(store: Store) -> None:
    [row] = q.page(store.db, PROFILE, PullFilter(object="companies", q="1009"), 1, shown())
    assert row.name == "O'Malley & Sons" and ("website", "https://c9.example") in row.values
    assert row.best == {"ref": "employer/emp-009", "score": 0.59, "reasons": ["name 0.90"]}
    assert json.dumps(row.values).count("hs_object_id") == 0  # the id is the record's, not a value


@pytest.mark.parametrize("chosen", [PullFilter(object="companies", q="company"),
                                    PullFilter(object="companies", min_score="0.6"),
                                    PullFilter(object="companies", decision="new")])
def test_a_window_in_one_pass_is_what_count_and_page_find(store: Store, chosen: PullFilter) -> None:
    counts = q.decision_counts(store.db, PROFILE, "companies")
    second = q.window(store.db, PROFILE, chosen, 2, shown(), counts)
    assert second.total == q.count(store.db, PROFILE, chosen)
    assert [r.crm_id for r in second.rows] == crm_ids(store, chosen, second.page)
    assert q.window(store.db, PROFILE, chosen, 10**6, shown(), counts).page == second.last  # past the end
