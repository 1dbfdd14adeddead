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

ROWS = """
SELECT * FROM (
  SELECT m.rowid AS position, m.object, m.crm_id, m.status AS pulled_as, m.candidates, p.fields,
    (SELECT l.stream || '/' || l.source_id FROM links l WHERE l.profile = m.profile AND l.object = m.object
     AND l.crm_id = m.crm_id LIMIT 1) AS linked_to
  FROM pull_matches m JOIN pulled p ON p.profile = m.profile AND p.object = m.object AND p.crm_id = m.crm_id
  WHERE m.profile = ? AND m.object = ?
)
"""
DECISION = ("CASE WHEN linked_to IS NOT NULL THEN 'linked' WHEN pulled_as = 'linked' THEN 'unlinked' "
            "ELSE pulled_as END")
SEARCHED = ("crm_id LIKE ? ESCAPE '\\' OR linked_to LIKE ? ESCAPE '\\' "
            "OR EXISTS (SELECT 1 FROM json_each(fields) WHERE type = 'text' AND value LIKE ? ESCAPE '\\') "
            "OR EXISTS (SELECT 1 FROM json_each(candidates) WHERE value ->> '$.ref' LIKE ? ESCAPE '\\')")


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


def where(f: PullFilter) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if f.decision:
        clauses.append(f"{DECISION} = ?")
        params.append(f.decision)
    if f.min_score:
        clauses.append("candidates ->> '$[0].score' >= ?")
        params.append(score(f.min_score))
    if f.q:
        clauses.append(f"({SEARCHED})")
        params += [like_pattern(f.q)] * 4
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def decision_counts(db: sqlite3.Connection, profile: str, object_name: str) -> dict[str, int]:
    found = dict(db.execute(f"SELECT {DECISION}, COUNT(*) FROM ({ROWS}) GROUP BY 1",
                            (profile, object_name)).fetchall())
    return {d: found.get(d, 0) for d in DECISIONS}


def count(db: sqlite3.Connection, profile: str, f: PullFilter) -> int:
    clause, params = where(f)
    found = db.execute(f"SELECT COUNT(*) FROM ({ROWS}){clause}", [profile, f.object, *params])
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
        fields = json.loads(found["fields"])
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


def page(db: sqlite3.Connection, profile: str, f: PullFilter, number: int, shown: Shown) -> list[PulledRow]:
    """Page `number` (from 1) of the object's pulled records the filter finds, in pull order."""
    clause, params = where(f)
    rows = db.execute(f"SELECT * FROM ({ROWS}){clause} ORDER BY position LIMIT ? OFFSET ?",
                      [profile, f.object, *params, PAGE_SIZE, (max(number, 1) - 1) * PAGE_SIZE])
    return [shown.row(found) for found in rows]


def one(db: sqlite3.Connection, profile: str, object_name: str, crm_id: str,
        shown: Shown) -> PulledRow | None:
    found = db.execute(f"SELECT * FROM ({ROWS}) WHERE crm_id = ?", (profile, object_name, crm_id)).fetchone()
    return shown.row(found) if found else None


def matching(db: sqlite3.Connection, profile: str, f: PullFilter) -> Iterator[tuple[str, str | None]]:
    """(crm_id, best candidate's ref) of every record the filter finds, every page of them."""
    clause, params = where(f)
    rows = db.execute(f"SELECT crm_id, candidates ->> '$[0].ref' FROM ({ROWS}){clause} ORDER BY position",
                      [profile, f.object, *params])
    yield from ((crm_id, best) for crm_id, best in rows)


def pulled_objects(db: sqlite3.Connection, profile: str) -> dict[str, int]:
    """The objects of the last pull and how many records each."""
    return dict(db.execute("SELECT object, COUNT(*) FROM pull_matches WHERE profile = ? GROUP BY object",
                           (profile,)).fetchall())


def listed_since(db: sqlite3.Connection, profile: str) -> dict[str, str | None]:
    """Per object, when its last complete listing began (the next pull asks from then)."""
    return dict(db.execute("SELECT object, since FROM pull_state WHERE profile = ?", (profile,)).fetchall())
