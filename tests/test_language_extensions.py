"""Two small additions to the spec language and the planner, tested without any CRM:
- a domain identity written into a URL-typed field becomes a URL (https://domain), so the field's own check
  accepts it (a CRM without a domain field keeps the domain in its website URL);
- the metadata map's `defaulted` flag: a field the CRM fills in on create is never required."""

from __future__ import annotations

from engine.connector import KeyPart, MetadataMap
from engine.metadata import parse_field
from engine.plan import canonical

DOMAIN = KeyPart(name="domain", field="website", normalize="domain")


def test_a_domain_written_into_a_url_field_gets_a_scheme() -> None:
    assert canonical(DOMAIN, "WWW.Acme-Example.com/about", "url") == "https://acme-example.com"
    assert canonical(DOMAIN, "http://acme-example.com", "string") == "acme-example.com"
    assert canonical(DOMAIN, "acme-example.com") == "acme-example.com"
    assert canonical(DOMAIN, "", "url") is None
    city = KeyPart(name="city", field="city", normalize="city")
    assert canonical(city, " Boston ", "string") == "Boston"


MAP = MetadataMap(name="$.n", type="$.t", type_map={"text": "string"}, required="$.optional",
                  required_values=["False"], defaulted="$.filled_on_create")


def required(record: dict[str, object], mapping: MetadataMap = MAP) -> bool:
    parsed = parse_field(record, mapping)
    assert parsed is not None
    return parsed[1].required


def test_a_field_the_crm_fills_on_create_is_not_required() -> None:
    assert required({"n": "a", "t": "text", "optional": False, "filled_on_create": False})
    assert not required({"n": "b", "t": "text", "optional": False, "filled_on_create": True})
    assert not required({"n": "c", "t": "text", "optional": True})
    without = MAP.model_copy(update={"defaulted": None})
    assert required({"n": "d", "t": "text", "optional": False, "filled_on_create": True}, without)
