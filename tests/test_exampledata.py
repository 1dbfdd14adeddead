"""The shipped example data and the generator: files parse, every edge case in examples/data/README.md
is in the records it names (and only there), foreign keys resolve, and the generator is sized right,
deterministic and sprinkled with the same edge cases."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from engine.exampledata import SHARES, STREAMS, generate, main, plan_counts
from engine.transforms import (
    STATES,
    TRANSFORMS,
    TransformError,
    normalize_city,
    normalize_domain,
    normalize_email,
    normalize_state,
    state_code_or_none,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"
Record = dict[str, Any]

KEYS = {
    "employer": {"id", "name", "website", "phone", "address", "industry", "employee_count", "plan_year_start",
                 "funding_type", "ein", "broker_id", "covered_lives", "carrier", "signer_name_5500"},
    "broker": {"id", "name", "website", "phone", "address", "broker_type"},
    "broker_office": {"id", "broker_id", "name", "website", "phone", "address"},
    "employer_contact": {"id", "employer_id", "first_name", "last_name", "email", "historical_emails",
                         "title", "phone"},
    "broker_contact": {"id", "broker_id", "broker_office_id", "first_name", "last_name", "email",
                       "historical_emails", "title", "phone"},
}
POLICY_FIELDS = ("covered_lives", "carrier", "signer_name_5500")
FUNDING = {"Fully Insured", "Self-Funded", "Level-Funded"}


def load(folder: Path) -> dict[str, list[Record]]:
    streams = {}
    for stream in STREAMS:
        lines = (folder / f"{stream}.jsonl").read_text(encoding="utf-8").splitlines()
        streams[stream] = [json.loads(line) for line in lines]
    return streams


def by_id(streams: dict[str, list[Record]]) -> dict[str, Record]:
    return {r["id"]: r for rows in streams.values() for r in rows}


# ----- per-record predicates: what each edge case looks like in one record ----------------------

def _state(r: Record) -> str | None:
    return (r.get("address") or {}).get("state")


def _known_state(r: Record) -> bool:
    return state_code_or_none(_state(r)) is not None


def _names(r: Record) -> list[str]:
    return [r[k] for k in ("name", "first_name", "last_name") if r.get(k)]


def _emails(r: Record) -> list[str]:
    return [e for e in [r.get("email"), *r.get("historical_emails", [])] if e]


def _non_ascii_letter(text: str) -> bool:
    return any(c.isalpha() and not c.isascii() for c in text)


def _bad_date(r: Record) -> bool:
    if "plan_year_start" not in r:
        return False
    try:
        TRANSFORMS["date"](r["plan_year_start"])
    except TransformError:
        return True
    return False


def _website(r: Record) -> str:
    return r.get("website") or ""


PREDICATES: dict[str, Callable[[Record], bool]] = {
    "state_full_name": lambda r: _state(r) in STATES.values(),
    "state_mixed_case": lambda r: _known_state(r) and _state(r) == _state(r).strip()
    and _state(r) not in STATES and _state(r) not in STATES.values(),
    "state_padded": lambda r: _known_state(r) and _state(r) != _state(r).strip(),
    "website_bare_domain": lambda r: bool(_website(r)) and "://" not in _website(r)
    and not _website(r).lower().startswith("www."),
    "website_www": lambda r: _website(r).lower().startswith("www."),
    "website_http": lambda r: _website(r).lower().startswith("http://"),
    "website_https_path": lambda r: _website(r).startswith("https://")
    and urlsplit(_website(r)).path not in ("", "/"),
    "historical_emails": lambda r: bool(r.get("historical_emails")),
    "email_null": lambda r: "email" in r and r["email"] is None,
    "email_absent": lambda r: "first_name" in r and "email" not in r,
    "email_mixed_case": lambda r: bool(r.get("email")) and r["email"] != r["email"].strip().lower(),
    "apostrophe_name": lambda r: any("'" in n for n in _names(r)),
    "apostrophe_email": lambda r: any("'" in e for e in _emails(r)),
    "non_ascii_name": lambda r: any(_non_ascii_letter(n) for n in _names(r)),
    "non_ascii_email": lambda r: any(not e.isascii() for e in _emails(r)),
    "non_ascii_punctuation": lambda r: any("—" in n for n in _names(r)),
    "phone_missing": lambda r: "phone" in r and r["phone"] is None,
    "funding_type_invalid": lambda r: "funding_type" in r and r["funding_type"] not in FUNDING,
    "employee_count_string": lambda r: isinstance(r.get("employee_count"), str),
    "invalid_date": _bad_date,
    "long_name": lambda r: len(r.get("name") or "") > 255,
    "policy_fields": lambda r: all(k in r for k in POLICY_FIELDS),
}


# ----- group checks: what an edge case looks like across the records it names --------------------

def _several_offices(records: dict[str, Record], ids: list[str]) -> None:
    (broker_id,) = [i for i in ids if i.startswith("brk-")]
    offices = [r for r in records.values() if r.get("broker_id") == broker_id and r["id"].startswith("bo-")]
    assert sorted(r["id"] for r in offices) == sorted(i for i in ids if i.startswith("bo-"))
    assert len(offices) >= 2
    domain = normalize_domain(records[broker_id]["website"])
    assert {normalize_domain(r["website"]) for r in offices} == {domain}
    assert len({r["website"] for r in offices}) == len(offices), "spelled differently"
    places = {(normalize_city(r["address"]["city"]), normalize_state(r["address"]["state"])) for r in offices}
    assert len(places) == len(offices)


def _office_shares_broker_domain(records: dict[str, Record], ids: list[str]) -> None:
    broker, office = records[ids[0]], records[ids[1]]
    assert office["broker_id"] == broker["id"]
    assert normalize_domain(office["website"]) == normalize_domain(broker["website"])
    for part, normalize in (("city", normalize_city), ("state", normalize_state)):
        assert normalize(office["address"][part]) == normalize(broker["address"][part])


def _shared_domain(records: dict[str, Record], ids: list[str]) -> None:
    rows = [records[i] for i in ids]
    assert len({normalize_domain(r["website"]) for r in rows}) == 1 and len(rows) == 2
    assert len({r["website"] for r in rows}) == 2, "spelled differently"


def _phone_formats(records: dict[str, Record], ids: list[str]) -> None:
    phones = [records[i]["phone"] for i in ids]
    assert len({re.sub(r"\d", "9", p) for p in phones}) == len(phones)
    assert all(TRANSFORMS["phone_e164"](p).startswith("+1") for p in phones)


def _broker_types(records: dict[str, Record], ids: list[str]) -> None:
    assert {records[i]["broker_type"] for i in ids} == {"National", "Independent", "Regional"}


def _two_historical(records: dict[str, Record], ids: list[str]) -> None:
    assert [len(records[i]["historical_emails"]) for i in ("ec-005", "bc-003")] == [2, 2]


GROUPS: dict[str, Callable[[dict[str, Record], list[str]], None]] = {
    "several_offices": _several_offices,
    "office_shares_broker_domain": _office_shares_broker_domain,
    "shared_domain": _shared_domain,
    "phone_formats": _phone_formats,
    "broker_types": _broker_types,
    "historical_emails": _two_historical,
}


def readme_cases() -> dict[str, list[str]]:
    text = (DATA / "README.md").read_text(encoding="utf-8").split("## Edge cases", 1)[1]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", text, flags=re.MULTILINE)
    return {case: [i.strip() for i in ids.split(",")] for case, ids in rows}


@pytest.fixture(scope="module")
def shipped() -> dict[str, list[Record]]:
    return load(DATA)


# ----- the shipped files -------------------------------------------------------------------------

def test_files_parse_with_the_documented_sizes_and_keys(shipped: dict[str, list[Record]]) -> None:
    assert {s: len(rows) for s, rows in shipped.items()} == {
        "employer": 12, "broker": 4, "broker_office": 7, "employer_contact": 20, "broker_contact": 12}
    for stream, rows in shipped.items():
        for r in rows:
            assert set(r) | {"email"} == KEYS[stream] | {"email"}, r["id"]
            assert "email" in r or r["id"] == "bc-009" or "email" not in KEYS[stream]
    ids = [r["id"] for rows in shipped.values() for r in rows]
    assert len(ids) == len(set(ids))


def assert_foreign_keys_resolve(streams: dict[str, list[Record]]) -> None:
    brokers = {r["id"] for r in streams["broker"]}
    offices = {r["id"]: r for r in streams["broker_office"]}
    employers = {r["id"] for r in streams["employer"]}
    assert all(r["broker_id"] in brokers for r in streams["employer"] + streams["broker_office"])
    assert all(r["employer_id"] in employers for r in streams["employer_contact"])
    for r in streams["broker_contact"]:
        assert offices[r["broker_office_id"]]["broker_id"] == r["broker_id"], r["id"]


def test_foreign_keys_resolve(shipped: dict[str, list[Record]]) -> None:
    assert_foreign_keys_resolve(shipped)


def test_readme_lists_exactly_the_checked_cases() -> None:
    assert set(readme_cases()) == set(PREDICATES) | set(GROUPS) | {"several_offices"}


@pytest.mark.parametrize("case", sorted(set(PREDICATES) | set(GROUPS)))
def test_each_edge_case_is_in_the_records_the_readme_names(shipped: dict[str, list[Record]],
                                                           case: str) -> None:
    records, listed = by_id(shipped), readme_cases()[case]
    assert listed and all(i in records for i in listed), listed
    if case in PREDICATES:
        having = sorted(i for i, r in records.items() if PREDICATES[case](r))
        assert having == sorted(listed), f"{case}: the README and the data disagree"
    if case in GROUPS:
        GROUPS[case](records, listed)


def test_identities_are_unique_but_for_the_deliberate_duplicates(shipped: dict[str, list[Record]]) -> None:
    for stream in ("employer", "broker"):
        domains = Counter(normalize_domain(r["website"]) for r in shipped[stream])
        repeated = {d for d, n in domains.items() if n > 1}
        assert repeated == ({"northwind-clinics-example.org"} if stream == "employer" else set())
    contacts = shipped["employer_contact"] + shipped["broker_contact"]
    emails = [normalize_email(e) for r in contacts for e in _emails(r)]
    assert len(emails) == len(set(emails))


def test_only_fictional_domains(shipped: dict[str, list[Record]]) -> None:
    contacts = shipped["employer_contact"] + shipped["broker_contact"]
    companies = shipped["employer"] + shipped["broker"] + shipped["broker_office"]
    hosts = [normalize_domain(r["website"]) for r in companies]
    hosts += [e.strip().rsplit("@", 1)[1].lower() for r in contacts for e in _emails(r)]
    assert all(re.fullmatch(r"[a-z0-9-]+-example\.(com|org|net)", h) for h in hosts), hosts


def test_the_first_employer_is_clean(shipped: dict[str, list[Record]]) -> None:
    first = shipped["employer"][0]
    assert not [case for case, holds in PREDICATES.items() if case != "policy_fields" and holds(first)]
    for name, value in (("url", first["website"]), ("phone_e164", first["phone"]),
                        ("state_code", first["address"]["state"]), ("month_name", first["plan_year_start"])):
        TRANSFORMS[name](value)


def test_no_shipped_profile_maps_a_policy_level_field() -> None:
    for profile in (ROOT / "profiles").glob("*.yaml"):
        text = profile.read_text(encoding="utf-8")
        assert not [f for f in POLICY_FIELDS if re.search(rf"\$\.{f}\b|\b{f}\b\s*}}}}", text)], profile


# ----- the generator -----------------------------------------------------------------------------

@pytest.mark.parametrize("total", [5, 6, 37, 100, 1001])
def test_plan_counts_sum_to_total_in_the_documented_shares(total: int) -> None:
    counts = plan_counts(total)
    assert sum(counts.values()) == total and min(counts.values()) >= 1
    if total >= 100:
        assert all(abs(counts[s] - SHARES[s] * total) <= 1 for s in STREAMS), counts


def test_plan_counts_refuses_too_few() -> None:
    with pytest.raises(ValueError, match="total must be at least 5"):
        plan_counts(4)


def test_generator_is_deterministic(tmp_path: Path) -> None:
    generate(tmp_path / "a", 400, seed=11)
    generate(tmp_path / "b", 400, seed=11)
    generate(tmp_path / "c", 400, seed=12)
    for stream in STREAMS:
        a = (tmp_path / "a" / f"{stream}.jsonl").read_bytes()
        assert a == (tmp_path / "b" / f"{stream}.jsonl").read_bytes()
        assert a != (tmp_path / "c" / f"{stream}.jsonl").read_bytes()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, int], dict[str, list[Record]]]:
    folder = tmp_path_factory.mktemp("generated")
    counts = generate(folder, 4000)
    return counts, load(folder)


def test_generator_writes_the_counts_it_reports(
        generated: tuple[dict[str, int], dict[str, list[Record]]]) -> None:
    counts, streams = generated
    assert counts == plan_counts(4000) == {s: len(rows) for s, rows in streams.items()}
    assert sum(counts.values()) == 4000


def test_generated_records_have_the_shape_and_resolve(
        generated: tuple[dict[str, int], dict[str, list[Record]]]) -> None:
    _, streams = generated
    for stream, rows in streams.items():
        assert all(set(r) | {"email"} == KEYS[stream] | {"email"} for r in rows), stream
    ids = [r["id"] for rows in streams.values() for r in rows]
    assert len(ids) == len(set(ids))
    assert_foreign_keys_resolve(streams)


def test_generated_identities_unique_but_for_rare_shared_domains(
        generated: tuple[dict[str, int], dict[str, list[Record]]]) -> None:
    _, streams = generated
    brokers = [normalize_domain(r["website"]) for r in streams["broker"]]
    assert len(brokers) == len(set(brokers))
    employers = Counter(normalize_domain(r["website"]) for r in streams["employer"])
    shared = [d for d, n in employers.items() if n > 1]
    assert shared and len(shared) <= 0.1 * len(employers)
    assert not set(employers) & set(brokers)
    contacts = streams["employer_contact"] + streams["broker_contact"]
    emails = [normalize_email(e) for r in contacts for e in _emails(r)]
    assert len(emails) == len(set(emails))


@pytest.mark.parametrize("case", sorted(PREDICATES))
def test_generated_data_carries_each_edge_case_at_a_low_rate(
        generated: tuple[dict[str, int], dict[str, list[Record]]], case: str) -> None:
    _, streams = generated
    records = list(by_id(streams).values())
    having = [r for r in records if PREDICATES[case](r)]
    assert having, case
    if case not in ("policy_fields", "website_bare_domain", "website_www", "website_http",
                    "website_https_path", "state_full_name", "historical_emails"):
        assert len(having) <= 0.06 * len(records), (case, len(having))


def test_generated_offices_of_one_broker_are_in_different_places(
        generated: tuple[dict[str, int], dict[str, list[Record]]]) -> None:
    _, streams = generated
    places: dict[str, list[tuple[str | None, str | None]]] = {}
    for r in streams["broker_office"]:
        place = (normalize_city(r["address"]["city"]), normalize_state(r["address"]["state"]))
        places.setdefault(r["broker_id"], []).append(place)
    assert max(len(p) for p in places.values()) >= 2
    assert all(len(p) == len(set(p)) for p in places.values())


def test_generated_values_are_transformable_except_the_deliberate_ones(
        generated: tuple[dict[str, int], dict[str, list[Record]]]) -> None:
    _, streams = generated
    for r in by_id(streams).values():
        if r.get("phone"):
            TRANSFORMS["phone_e164"](r["phone"])
        if "website" in r:
            TRANSFORMS["url"](r["website"])
        if "address" in r:
            TRANSFORMS["state_code"](r["address"]["state"])
        if r.get("email"):
            TRANSFORMS["email"](r["email"])
        if "employee_count" in r:
            TRANSFORMS["integer"](r["employee_count"])


def test_cli_writes_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--total", "50", "--seed", "3", "--out", str(tmp_path / "out")]) == 0
    assert "wrote 50 records" in capsys.readouterr().out
    files = [tmp_path / "out" / f"{s}.jsonl" for s in STREAMS]
    assert sum(len(f.read_text(encoding="utf-8").splitlines()) for f in files) == 50
    with pytest.raises(SystemExit) as exited:
        main(["--total", "2", "--out", str(tmp_path / "small")])
    assert exited.value.code == 2 and "total must be at least 5" in capsys.readouterr().err


def test_module_runs_as_a_script(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "engine.exampledata", "--total", "20", "--out", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "broker_contact.jsonl").exists()
