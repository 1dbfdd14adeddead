"""Candidates: the local records a CRM record may be, ranked by a score with its reasons. Local records
are blocked on normalised keys (email, domain, phone, external id, rare name words), so a CRM record is
compared with the few local records sharing a key with it, never with all of them. Evidence adds up as
independent chances (1 - product of 1 - weight); a value many local records share (a company's main
line on every contact) weighs less the more records share it; an identity part both sides have and that
differs (two offices of one brokerage: another city) halves the score."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from engine.pull.features import Features

W_EXTERNAL_ID, W_EMAIL, W_OLD_EMAIL, W_DOMAIN, W_PHONE, W_NAME, W_PART = 0.99, 0.97, 0.9, 0.75, 0.6, 0.75, 0.3
MIN_SCORE = 0.5  # below it, a local record is not shown as a candidate
MIN_NAME = 0.75  # name similarity below which names are no evidence
NAME_BLOCK_MOST = 400  # a name word shared by more local records does not block (Insurance, Group, John)
NAME_BLOCKS = 2  # the rarest words of a name that block
MOST_CANDIDATES = 5


@dataclass(slots=True)
class Candidate:
    ref: str
    score: float
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"ref": self.ref, "score": self.score, "reasons": self.reasons}


@dataclass(slots=True)
class Local:
    ref: str
    features: Features


def _name_words(features: Features) -> list[str]:
    words = features.name_key.split()
    compact = "".join(words)
    return [*(w for w in words if len(w) >= 3), *([f"~{compact[:5]}"] if len(compact) >= 5 else [])]


class LocalIndex:
    """The local records of one object, by each key they can be found by."""

    def __init__(self, records: list[Local]) -> None:
        self.records = records
        self.by_key: dict[tuple[str, str], list[int]] = {}
        for position, local in enumerate(records):
            for key in self._keys(local.features):
                self.by_key.setdefault(key, []).append(position)
        self.shared = Counter({key: len(positions) for key, positions in self.by_key.items()
                               if key[0] in ("p", "d") and len(positions) > 1})

    @staticmethod
    def _keys(f: Features) -> list[tuple[str, str]]:
        keys = [("e", v) for v in f.emails | f.old_emails] + [("d", v) for v in f.domains]
        keys += [("p", v) for v in f.phones] + [("x", v) for v in f.external_ids]
        return keys + [("n", w) for w in _name_words(f)]

    def blocked(self, crm: Features) -> set[int]:
        """The local records sharing a key with `crm`."""
        found: set[int] = set()
        exact = (("e", crm.emails), ("d", crm.domains), ("p", crm.phones), ("x", crm.external_ids))
        for kind, values in exact:
            for value in values:
                found.update(self.by_key.get((kind, value), ()))
        blocks = sorted((len(b), w) for w in _name_words(crm) if (b := self.by_key.get(("n", w))))
        for size, word in blocks[:NAME_BLOCKS]:
            if size <= NAME_BLOCK_MOST:
                found.update(self.by_key[("n", word)])
        return found

    def candidates(self, crm: Features, taken: set[str] = frozenset()) -> list[Candidate]:  # type: ignore[assignment]
        """The best local records for a CRM record, best first (at most MOST_CANDIDATES, each scoring at
        least MIN_SCORE); `taken`: refs linked to other CRM records, never candidates."""
        scored = []
        for position in self.blocked(crm):
            local = self.records[position]
            if local.ref in taken:
                continue
            candidate = score(crm, local, self.shared)
            if candidate.score >= MIN_SCORE:
                scored.append(candidate)
        scored.sort(key=lambda c: (-c.score, c.ref))
        return scored[:MOST_CANDIDATES]


def score(crm: Features, local: Local, shared: Counter[tuple[str, str]]) -> Candidate:
    mine = local.features
    evidence: list[tuple[float, str]] = []
    for value in sorted(crm.external_ids & mine.external_ids):
        evidence.append((W_EXTERNAL_ID, f"{crm.external_field} = {value}"))
    for value in sorted(crm.emails & mine.emails):
        evidence.append((W_EMAIL, f"email = {value}"))
    for value in sorted(crm.emails & mine.old_emails):
        evidence.append((W_OLD_EMAIL, f"email = {value} (a former email of the local record)"))
    for value in sorted(crm.domains & mine.domains):
        evidence.append(_shared(W_DOMAIN, "website", value, shared[("d", value)]))
    for value in sorted(crm.phones & mine.phones):
        evidence.append(_shared(W_PHONE, "phone", value, shared[("p", value)]))
    if crm.name_key and mine.name_key:
        similarity = fuzz.token_sort_ratio(crm.name_key, mine.name_key) / 100
        if similarity >= MIN_NAME:
            weight = W_NAME * (similarity - MIN_NAME) / (1 - MIN_NAME)
            evidence.append((weight, f'name {similarity:.2f} "{crm.name}" ~ "{mine.name}"'))
    penalty = 1.0
    for part, values in crm.others.items():
        theirs = mine.others.get(part)
        if not theirs:
            continue
        if values & theirs:
            evidence.append((W_PART, f"{part} = {sorted(values & theirs)[0]}"))
        else:
            penalty *= 0.5
            evidence.append((0.0, f"{part} differs: {sorted(values)[0]} vs {sorted(theirs)[0]}"))
    chance_not = 1.0
    for weight, _ in evidence:
        chance_not *= 1 - weight
    return Candidate(local.ref, round((1 - chance_not) * penalty, 3), [reason for _, reason in evidence])


def _shared(weight: float, what: str, value: str, sharing: int) -> tuple[float, str]:
    if sharing <= 1:
        return weight, f"{what} {value}" if what == "phone" else f"{what} = {value}"
    return weight / sharing, f"{what} {value} (shared by {sharing} records)"
