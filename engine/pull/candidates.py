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
NAME_BLOCK_MOST = 40  # a name key shared by more local records does not block (Insurance, Group, John)
WHOLE_NAME_MOST = 2000  # a whole name shared by more records ranks no one (its block is too costly)
SHARED_BLOCK_MOST = 40  # nor does a phone or domain shared by more: each of them is next to no evidence
NAME_BLOCKS = 2  # the rarest words of a name that block
MOST_CANDIDATES = 3
MOST_SCORED = 8  # local records scored per CRM record: those sharing the most telling keys with it


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
    """A name's blocking keys: the whole name, its first letters (a typo further on), each word."""
    words = features.name_key.split()
    if not words:
        return []
    compact = "".join(words)
    return [f"={features.name_key}", f"~{compact[:6]}", *(w for w in words if len(w) >= 3)]


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

    def blocked(self, crm: Features) -> list[int]:
        """The local records sharing a key with `crm`, the MOST_SCORED most telling: each key counts the
        less the more records share it; an email or external id always counts enough."""
        prior: dict[int, float] = {}
        for kind, values in (("e", crm.emails), ("x", crm.external_ids)):
            for value in values:
                for position in self.by_key.get((kind, value), ()):
                    prior[position] = prior.get(position, 0.0) + 10.0
        for kind, values in (("d", crm.domains), ("p", crm.phones)):
            for value in values:
                block = self.by_key.get((kind, value), ())
                if 0 < len(block) <= SHARED_BLOCK_MOST:
                    self._count(prior, block)
        blocks = sorted((len(b), w) for w in _name_words(crm) if (b := self.by_key.get(("n", w))))
        for size, word in blocks[:NAME_BLOCKS]:
            if size <= NAME_BLOCK_MOST:
                self._count(prior, self.by_key[("n", word)])
        if not prior:
            self._weak(crm, blocks, prior)
        elif len(prior) > MOST_SCORED:
            self._same_name_first(blocks, prior)
        if len(prior) <= MOST_SCORED:
            return list(prior)
        return sorted(prior, key=prior.__getitem__, reverse=True)[:MOST_SCORED]

    def _weak(self, crm: Features, blocks: list[tuple[int, str]], prior: dict[int, float]) -> None:
        """No telling key: the records in both of the two smallest large blocks (the whole name and the
        phone, John Smith at the company's main line), each too common alone."""
        weak = [self.by_key[("n", word)] for _, word in blocks if word.startswith("=")]
        weak += [block for value in crm.phones if (block := self.by_key.get(("p", value)))]
        if len(weak) < 2:
            return
        smallest, other = sorted(weak, key=len)[:2]
        for position in list(set(smallest).intersection(other))[:SHARED_BLOCK_MOST]:
            prior[position] = 2.0

    def _same_name_first(self, blocks: list[tuple[int, str]], prior: dict[int, float]) -> None:
        """Among many records sharing a phone (a company's main line), those with the same whole name
        come first, however common the name is."""
        for size, word in blocks:
            if word.startswith("=") and NAME_BLOCK_MOST < size <= WHOLE_NAME_MOST:
                for position in set(self.by_key[("n", word)]).intersection(prior):
                    prior[position] += 1.0

    @staticmethod
    def _count(prior: dict[int, float], block: list[int] | tuple[int, ...]) -> None:
        weight = 1.0 + 1.0 / len(block)
        get = prior.get
        for position in block:
            prior[position] = get(position, 0.0) + weight

    def candidates(self, crm: Features, taken: set[str] = frozenset()) -> list[Candidate]:  # type: ignore[assignment]
        """The best local records for a CRM record, best first (at most MOST_CANDIDATES, each scoring at
        least MIN_SCORE); `taken`: refs linked to other CRM records, never candidates. Scores are worked
        out without words; the reasons are written for the candidates shown only."""
        scored = []
        for position in self.blocked(crm):
            local = self.records[position]
            if local.ref not in taken:
                value = score(crm, local.features, self.shared)
                if value >= MIN_SCORE:
                    scored.append((value, local))
        scored.sort(key=lambda pair: (-pair[0], pair[1].ref))
        return [Candidate(local.ref, value, reasons(crm, local.features, self.shared))
                for value, local in scored[:MOST_CANDIDATES]]


def _name_similarity(crm: Features, mine: Features) -> float:
    if not crm.name_key or not mine.name_key:
        return 0.0
    return fuzz.token_sort_ratio(crm.name_key, mine.name_key) / 100


def score(crm: Features, mine: Features, shared: Counter[tuple[str, str]]) -> float:
    """The chance the two are one record: independent evidence, 1 - the product of 1 - its weights."""
    chance_not = 1.0
    if crm.external_ids and crm.external_ids & mine.external_ids:
        chance_not *= 1 - W_EXTERNAL_ID
    if crm.emails:
        if crm.emails & mine.emails:
            chance_not *= 1 - W_EMAIL
        if crm.emails & mine.old_emails:
            chance_not *= 1 - W_OLD_EMAIL
    if crm.domains:
        for value in crm.domains & mine.domains:
            chance_not *= 1 - W_DOMAIN / max(shared[("d", value)], 1)
    if crm.phones:
        for value in crm.phones & mine.phones:
            chance_not *= 1 - W_PHONE / max(shared[("p", value)], 1)
    similarity = _name_similarity(crm, mine)
    if similarity >= MIN_NAME:
        chance_not *= 1 - W_NAME * (similarity - MIN_NAME) / (1 - MIN_NAME)
    penalty = 1.0
    for part, values in crm.others.items():
        theirs = mine.others.get(part)
        if theirs:
            if values & theirs:
                chance_not *= 1 - W_PART
            else:
                penalty *= 0.5
    return round((1 - chance_not) * penalty, 3)


def reasons(crm: Features, mine: Features, shared: Counter[tuple[str, str]]) -> list[str]:
    """Why `score` gave what it gave, one reason per piece of evidence, in its order."""
    said = [f"{crm.external_field} = {v}" for v in sorted(crm.external_ids & mine.external_ids)]
    said += [f"email = {v}" for v in sorted(crm.emails & mine.emails)]
    said += [f"email = {v} (a former email of the local record)"
             for v in sorted(crm.emails & mine.old_emails)]
    said += [_shared("website", v, shared[("d", v)]) for v in sorted(crm.domains & mine.domains)]
    said += [_shared("phone", v, shared[("p", v)]) for v in sorted(crm.phones & mine.phones)]
    similarity = _name_similarity(crm, mine)
    if similarity >= MIN_NAME:
        said.append(f'name {similarity:.2f} "{crm.name}" ~ "{mine.name}"')
    for part, values in crm.others.items():
        theirs = mine.others.get(part)
        if theirs:
            same = values & theirs
            said.append(f"{part} = {sorted(same)[0]}" if same
                        else f"{part} differs: {sorted(values)[0]} vs {sorted(theirs)[0]}")
    return said


def _shared(what: str, value: str, sharing: int) -> str:
    if sharing <= 1:
        return f"{what} {value}" if what == "phone" else f"{what} = {value}"
    return f"{what} {value} (shared by {sharing} records)"
