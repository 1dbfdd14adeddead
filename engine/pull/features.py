"""What a record is matched by, read the same way from a CRM record and from a mapped local record, in
the CRM's field names: emails, website domains, phones, the name, external ids (a CRM field a stream
maps from its own source id) and the other identity parts (city, state). Which CRM field holds what comes
from the connector (identity keys, field types) and the profile (the streams, `pull.<object>.name`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from engine.catalog import ProfileBundle
from engine.connector import KeyPart
from engine.mapping import MappedRecord
from engine.match import normalize
from engine.plugins import first_result
from engine.profile import SourceMapping

STRONG_PARTS = ("email", "domain")  # normalisers whose values identify a record on their own


@dataclass(frozen=True)
class FeatureFields:
    """Which CRM fields of one object hold what a record is matched by."""

    object: str
    emails: tuple[KeyPart, ...]
    domains: tuple[KeyPart, ...]
    phones: tuple[str, ...]
    names: tuple[str, ...]
    external_ids: tuple[str, ...]  # CRM fields some stream maps from its source id
    others: tuple[KeyPart, ...]  # the other identity parts (city, state), compared where both have them

    @property
    def selected(self) -> list[str]:
        """Every field a pull must read to match the object's records."""
        names = [p.field for p in (*self.emails, *self.domains, *self.others)]
        names += [f for p in (*self.emails, *self.domains) for f in p.also]
        return list(dict.fromkeys([*names, *self.phones, *self.names, *self.external_ids]))


def feature_fields(bundle: ProfileBundle, object_name: str) -> FeatureFields:
    connector, profile = bundle.connector.model, bundle.profile.model
    obj = connector.objects[object_name]
    streams = [s for s in profile.streams.values() if s.object == object_name]
    parts = {(p.name, p.field): p for s in streams for p in obj.identity_keys[s.identity.key].parts}
    by_kind: dict[str, list[KeyPart]] = {"email": [], "domain": [], "other": []}
    for part in parts.values():
        by_kind[part.normalize if part.normalize in STRONG_PARTS else "other"].append(part)
    fields = {**obj.fields, **profile.custom_fields.get(object_name, {})}
    seen = {p.field for kind in STRONG_PARTS for p in by_kind[kind]}
    for name, spec in fields.items():  # a field of the type the identity part does not name
        if spec.type == "email" and name not in seen:
            by_kind["email"].append(KeyPart(name="email", field=name, normalize="email"))
        if spec.type == "url" and name not in seen:
            by_kind["domain"].append(KeyPart(name="domain", field=name, normalize="domain"))
    external = [target for s in streams for target, m in s.fields.items()
                if isinstance(m, SourceMapping) and m.source == s.id and m.transform is None]
    pull = profile.pull.get(object_name)
    return FeatureFields(object_name, tuple(by_kind["email"]), tuple(by_kind["domain"]),
                         tuple(n for n, spec in fields.items() if spec.type == "phone"),
                         tuple(pull.name) if pull else (), tuple(dict.fromkeys(external)),
                         tuple(by_kind["other"]))


@dataclass(slots=True)
class Features:
    emails: set[str] = field(default_factory=set)
    old_emails: set[str] = field(default_factory=set)  # historical: a local record's former addresses
    domains: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    name: str = ""  # as written
    name_key: str = ""  # normalised for similarity
    external_ids: set[str] = field(default_factory=set)
    external_field: str = "external id"  # the CRM field holding them, for the reasons
    others: dict[str, frozenset[str]] = field(default_factory=dict)


def crm_features(connector: Any, spec: FeatureFields, values: dict[str, Any]) -> Features:
    """The features of a CRM record's fields."""
    call = first_result("crmsync_normalize_identity", connector.name)
    found = Features()
    for part in spec.emails:
        for name in (part.field, *part.also):
            if values.get(name) not in (None, ""):
                found.emails.update(normalize(connector, spec.object, part, values[name], call))
    for part in spec.domains:
        for name in (part.field, *part.also):
            if values.get(name) not in (None, ""):
                found.domains.update(normalize(connector, spec.object, part, values[name], call))
    _common(connector, spec, values, found, call)
    return found


def local_features(connector: Any, spec: FeatureFields, record: MappedRecord) -> Features:
    """The features of a mapped local record: its values, and its identity values (current first)."""
    call = first_result("crmsync_normalize_identity", connector.name)
    found = Features()
    for part in spec.emails:
        raw = record.identity[part.name] if part.name in record.identity else [record.values.get(part.field)]
        current = record.identity_current.get(part.name, len(raw))
        for position, value in enumerate(raw):
            target = found.emails if position < current else found.old_emails
            target.update(normalize(connector, spec.object, part, value, call))
    for part in spec.domains:
        raw = record.identity.get(part.name) or [record.values.get(part.field)]
        for value in raw:
            found.domains.update(normalize(connector, spec.object, part, value, call))
    found.old_emails -= found.emails
    values = dict(record.values)
    for part in spec.others:
        if part.name in record.identity:
            values[part.field] = record.identity[part.name]
    _common(connector, spec, values, found, call)
    found.external_ids = {record.source_id} if spec.external_ids else set()
    return found


def _common(connector: Any, spec: FeatureFields, values: dict[str, Any], found: Features, call: Any) -> None:
    for name in spec.phones:
        number = phone_key(values.get(name))
        if number:
            found.phones.add(number)
    found.name = " ".join(str(values[n]).strip() for n in spec.names if values.get(n) not in (None, ""))
    found.name_key = name_key(found.name)
    found.external_field = spec.external_ids[0] if spec.external_ids else found.external_field
    if not found.external_ids:
        found.external_ids = {str(values[n]) for n in spec.external_ids if values.get(n) not in (None, "")}
    for part in spec.others:
        value = values.get(part.field)
        if value in (None, ""):
            continue
        key = (connector.name, spec.object, part.name, part.normalize, str(value))
        normalised = _OTHERS.get(key)
        if normalised is None:  # a city or state recurs across thousands of records
            if len(_OTHERS) > 100_000:
                _OTHERS.clear()
            normalised = _OTHERS[key] = frozenset(normalize(connector, spec.object, part, value, call))
        if normalised:
            found.others[part.name] = normalised


# (connector, object, part, normaliser, value) -> its normalised forms
_OTHERS: dict[tuple[str, str, str, str, str], frozenset[str]] = {}


_EXTENSION = re.compile(r"(?i)\s*(?:x|ext\.?|extension|#)\s*\d+\s*$")


@lru_cache(maxsize=65536)
def phone_key(value: Any) -> str | None:
    """A phone as +digits: a 10-digit number is North American (+1, the phone_e164 transform's default
    region), an extension is dropped. Cheaper than parsing (~40 µs a number) for 100,000s of records."""
    if value in (None, ""):
        return None
    text = _EXTENSION.sub("", str(value))
    digits = re.sub(r"\D", "", text)
    if len(digits) == 10 and not text.lstrip().startswith("+"):
        digits = "1" + digits
    return f"+{digits}" if len(digits) >= 8 else None


LEGAL_SUFFIXES = frozenset(["inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "co",
                            "company", "plc", "lp", "llp", "pc", "pllc", "gmbh", "sa", "the"])
NICKNAMES = {"bob": "robert", "rob": "robert", "bobby": "robert", "bill": "william", "will": "william",
             "billy": "william", "liz": "elizabeth", "beth": "elizabeth", "betty": "elizabeth",
             "jim": "james", "jimmy": "james", "mike": "michael", "dave": "david", "dan": "daniel",
             "danny": "daniel", "tom": "thomas", "tony": "anthony", "kate": "katherine", "katie": "katherine",
             "kathy": "katherine", "chris": "christopher", "steve": "steven", "joe": "joseph",
             "matt": "matthew", "nick": "nicholas", "pat": "patricia", "patty": "patricia", "sam": "samuel",
             "alex": "alexander",
             "andy": "andrew", "drew": "andrew", "jen": "jennifer", "jenny": "jennifer", "meg": "margaret",
             "peggy": "margaret", "rick": "richard", "dick": "richard", "rich": "richard", "ted": "edward",
             "ed": "edward", "eddie": "edward", "sue": "susan", "greg": "gregory", "jeff": "jeffrey",
             "ben": "benjamin", "larry": "lawrence", "ron": "ronald", "don": "donald", "ken": "kenneth",
             "tim": "timothy", "abby": "abigail", "becky": "rebecca", "cindy": "cynthia", "deb": "deborah",
             "debbie": "deborah", "vicky": "victoria", "val": "valerie", "frank": "francis", "hank": "henry",
             "jack": "john", "johnny": "john", "jon": "jonathan", "josh": "joshua", "zach": "zachary"}


@lru_cache(maxsize=262144)
def name_key(name: str) -> str:
    """A name for similarity: accents, case, punctuation and legal suffixes (Inc, LLC...) gone,
    nicknames as their full names (Bob -> robert)."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").casefold()
    text = text.replace("&", " and ")
    words = [NICKNAMES.get(w, w) for w in re.split(r"[^a-z0-9]+", text) if w]
    kept = [w for w in words if w not in LEGAL_SUFFIXES]
    return " ".join(kept or words)
