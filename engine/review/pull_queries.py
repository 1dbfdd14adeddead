"""The Pull page's reading of the state dir's pull tables (engine/store.py: `pull_matches`, the last
pull's decision and ranked candidates of each CRM record; `pulled`, its fields; `links`, what is linked
now), a page at a time: a record linked since the pull shows Linked, one unlinked since shows Unlinked.
Filters (object, decision, best score, search) are one parameterised WHERE clause; a search is a bound
LIKE pattern with its wildcards escaped, over the CRM id, the linked record, the candidates' refs and
every text field the CRM gave."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

from engine.catalog import ProfileBundle
from engine.pull.run import default_stream
from engine.review.queries import like_pattern

PAGE_SIZE = 50
DECISIONS = ("match_found", "new", "linked", "unlinked")
LABELS = {"match_found": "Match Found", "new": "New", "linked": "Linked", "unlinked": "Unlinked"}
VALUES_SHOWN = 6

# Every query starts from the object's rows of pull_matches, in pull order (its (profile, object) index
# keeps them so: a page is read without sorting 100,000 rows), and looks the link up by CRM id.
OBJECT_ROWS = "FROM pull_matches m WHERE m.profile = :profile AND m.object = :object"
LINKED = ("EXISTS (SELECT 1 FROM links l WHERE l.profile = m.profile AND l.object = m.object "
          "AND l.crm_id = m.crm_id)")
LINKED_TO = ("(SELECT l.stream || '/' || l.source_id FROM links l WHERE l.profile = m.profile "
             "AND l.object = m.object AND l.crm_id = m.crm_id LIMIT 1)")
PULLED_AS = {"match_found": "match_found", "new": "new", "unlinked": "linked"}  # decision -> as pulled
# A search: the raw JSON text first (cheap: LIKE over the stored text, the needle as JSON writes it),
# then the decoded values of the rows it lets through (a field's name is not its value).
SEARCHED = """(m.crm_id LIKE :pattern ESCAPE '\\'
 OR m.crm_id IN (SELECT crm_id FROM links WHERE profile = :profile AND object = :object
                 AND stream || '/' || source_id LIKE :pattern ESCAPE '\\')
 OR ((m.candidates LIKE :json_pattern ESCAPE '\\' OR m.candidates LIKE :pattern ESCAPE '\\')
     AND EXISTS (SELECT 1 FROM json_each(m.candidates) WHERE value ->> '$.ref' LIKE :pattern ESCAPE '\\'))
 OR m.crm_id IN (SELECT crm_id FROM pulled WHERE profile = :profile AND object = :object
                 AND (fields LIKE :json_pattern ESCAPE '\\' OR fields LIKE :pattern ESCAPE '\\')
                 AND EXISTS (SELECT 1 FROM json_each(fields) WHERE type = 'text'
                             AND value LIKE :pattern ESCAPE '\\')))"""


@dataclass(frozen=True)
class PullFilter:
    object: str = ""
    decision: str = ""
    q: str = ""
    min_score: str = ""  # the best candidate scores at least this (0..1)

    @classmethod
    def of(cls, params: Mapping[str, str], objects: list[str]) -> PullFilter:
        values = {name: str(params.get(name, "")).strip()[:200] for name in cls.__dataclass_fields__}
        if values["object"] not in objects:
            values["object"] = objects[0] if objects else ""
        if values["decision"] not in DECISIONS:
            values["decision"] = ""
        if score(values["min_score"]) is None:
            values["min_score"] = ""
        return cls(**values)

    def query(self, **more: Any) -> str:
        return urlencode({k: v for k, v in {**asdict(self), **more}.items() if v not in ("", None)})

    def narrowed(self) -> bool:
        """Whether it picks fewer than every record of its object."""
        return bool(self.decision or self.q or self.min_score)


def score(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value <= 1 else None


def where(f: PullFilter) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    if f.decision == "linked":
        clauses.append(LINKED)
    elif f.decision:
        clauses.append(f"m.status = :pulled_as AND NOT {LINKED}")
        params["pulled_as"] = PULLED_AS[f.decision]
    if f.min_score:
        clauses.append("m.candidates ->> '$[0].score' >= :min_score")
        params["min_score"] = score(f.min_score)
    if f.q:
        clauses.append(SEARCHED)
        params.update(pattern=like_pattern(f.q), json_pattern=like_pattern(json.dumps(f.q.casefold())[1:-1]))
    return "".join(f" AND {c}" for c in clauses), params


def decision_counts(db: sqlite3.Connection, profile: str, object_name: str) -> dict[str, int]:
    """Per decision, how many of the object's records: as pulled, less those linked since."""
    asked = {"profile": profile, "object": object_name}
    pulled = dict(db.execute(f"SELECT m.status, COUNT(*) {OBJECT_ROWS} GROUP BY m.status", asked).fetchall())
    linked = dict(db.execute(
        # CROSS JOIN: the object's links first (SQLite keeps that order), each found by its CRM id
        "SELECT m.status, COUNT(DISTINCT m.crm_id) FROM links l CROSS JOIN pull_matches m "
        "ON m.profile = l.profile AND m.object = l.object AND m.crm_id = l.crm_id "
        "WHERE l.profile = :profile AND l.object = :object GROUP BY m.status", asked).fetchall())
    counts = {d: pulled.get(as_pulled, 0) - linked.get(as_pulled, 0) for d, as_pulled in PULLED_AS.items()}
    return {**counts, "linked": sum(linked.values())}


def count(db: sqlite3.Connection, profile: str, f: PullFilter,
          counts: dict[str, int] | None = None) -> int:
    """How many records the filter finds (a filter by decision alone: read from `counts`, if given)."""
    if counts is not None and not (f.q or f.min_score):
        return counts[f.decision] if f.decision else sum(counts.values())
    clause, params = where(f)
    found = db.execute(f"SELECT COUNT(*) {OBJECT_ROWS}{clause}", {"profile": profile, "object": f.object,
                                                                  **params})
    return int(found.fetchone()[0])


@dataclass
class PulledRow:
    object: str
    crm_id: str
    decision: str
    pulled_as: str
    name: str
    values: list[tuple[str, str]]
    candidates: list[dict[str, Any]] = field(default_factory=list)
    linked_to: str | None = None
    record_url: str | None = None

    @property
    def best(self) -> dict[str, Any] | None:
        return self.candidates[0] if self.candidates else None


class Shown:
    """How a pulled record of an object is shown: its name (the profile's `pull.<object>.name` fields,
    else the `name:` of the stream it is imported as), a few of the fields the profile maps, its View in
    CRM link."""

    def __init__(self, bundle: ProfileBundle, object_name: str, record_url: Any) -> None:
        stream = bundle.profile.model.streams[default_stream(bundle, object_name)]
        obj = bundle.connector.model.objects[object_name]
        declared = bundle.profile.model.pull.get(object_name)
        self.name_fields = (declared.name if declared and declared.name else None) or stream.name
        self.mapped = [f for f in stream.fields if f not in stream.name and f != obj.id_field]
        self.record_url = record_url

    def row(self, found: sqlite3.Row) -> PulledRow:
        fields = json.loads(found["fields"] or "{}")
        name = " ".join(str(fields[f]).strip() for f in self.name_fields if _scalar(fields.get(f)))
        values = [(f, str(fields[f])) for f in self.mapped if _scalar(fields.get(f))][:VALUES_SHOWN]
        decision = ("linked" if found["linked_to"] else "unlinked" if found["pulled_as"] == "linked"
                    else found["pulled_as"])
        candidates = json.loads(found["candidates"]) if decision != "linked" else []
        return PulledRow(found["object"], found["crm_id"], decision, found["pulled_as"],
                         name or found["crm_id"], values, candidates, found["linked_to"],
                         self.record_url(found["crm_id"]) if self.record_url else None)


def _scalar(value: Any) -> bool:
    return value not in (None, "") and not isinstance(value, dict | list)


PAGE_ROWS = (f"SELECT m.rowid AS position, m.object, m.crm_id, m.status AS pulled_as, m.candidates, "
             f"p.fields, {LINKED_TO} AS linked_to FROM pull_matches m LEFT JOIN pulled p "
             "ON p.profile = m.profile AND p.object = m.object AND p.crm_id = m.crm_id "
             "WHERE m.profile = :profile AND m.object = :object")


def page(db: sqlite3.Connection, profile: str, f: PullFilter, number: int, shown: Shown) -> list[PulledRow]:
    """Page `number` (from 1) of the object's pulled records the filter finds, in pull order."""
    clause, params = where(f)
    rows = db.execute(f"{PAGE_ROWS}{clause} ORDER BY m.rowid LIMIT :limit OFFSET :offset",
                      {"profile": profile, "object": f.object, **params, "limit": PAGE_SIZE,
                       "offset": (max(number, 1) - 1) * PAGE_SIZE})
    return [shown.row(found) for found in rows]


@dataclass(frozen=True)
class Window:
    """What one page shows of a filter: its rows, the page number (from 1), the last page, the total."""

    rows: list[PulledRow]
    page: int
    last: int
    total: int


def window(db: sqlite3.Connection, profile: str, f: PullFilter, asked: int, shown: Shown,
           counts: dict[str, int]) -> Window:
    """The page of the filter's records, and how many it finds in all. A search or a score filter is
    one pass over the object's rows (the ids it finds, then the page's rows by id), not one to count and
    another to page."""
    if not (f.q or f.min_score):
        total = count(db, profile, f, counts)
        number, last = pages_of(total, asked)
        return Window(page(db, profile, f, number, shown), number, last, total)
    clause, params = where(f)
    ids = [r[0] for r in db.execute(f"SELECT m.rowid {OBJECT_ROWS}{clause} ORDER BY m.rowid",
                                    {"profile": profile, "object": f.object, **params})]
    number, last = pages_of(len(ids), asked)
    chosen = ids[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]
    rows = db.execute(f"{PAGE_ROWS} AND m.rowid IN (SELECT value FROM json_each(:ids)) ORDER BY m.rowid",
                      {"profile": profile, "object": f.object, "ids": json.dumps(chosen)})
    return Window([shown.row(found) for found in rows], number, last, len(ids))


def pages_of(total: int, asked: int) -> tuple[int, int]:
    last = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return min(max(asked, 1), last), last


def one(db: sqlite3.Connection, profile: str, object_name: str, crm_id: str,
        shown: Shown) -> PulledRow | None:
    found = db.execute(f"{PAGE_ROWS} AND m.crm_id = :crm_id",
                       {"profile": profile, "object": object_name, "crm_id": crm_id}).fetchone()
    return shown.row(found) if found else None


def matching(db: sqlite3.Connection, profile: str, f: PullFilter) -> Iterator[tuple[str, str | None]]:
    """(crm_id, best candidate's ref) of every record the filter finds, every page of them."""
    clause, params = where(f)
    rows = db.execute(f"SELECT m.crm_id, m.candidates ->> '$[0].ref' {OBJECT_ROWS}{clause} ORDER BY m.rowid",
                      {"profile": profile, "object": f.object, **params})
    yield from ((crm_id, best) for crm_id, best in rows)


def object_counts(db: sqlite3.Connection, profile: str) -> dict[str, int]:
    """The objects of the last pull and how many records each."""
    return dict(db.execute("SELECT object, COUNT(*) FROM pull_matches WHERE profile = ? GROUP BY object",
                           (profile,)).fetchall())


def listed_since(db: sqlite3.Connection, profile: str) -> dict[str, str | None]:
    """Per object, when its last complete listing began (the next pull asks from then)."""
    return dict(db.execute("SELECT object, since FROM pull_state WHERE profile = ?", (profile,)).fetchall())
