"""Generate a BenefitFlow-style export of any size, the same shape as `examples/data/`.

`generate(out_dir, total, seed)` writes one JSON Lines file per stream; the same seed gives the same
bytes. Edge cases of the hand-written example set (state names instead of codes, websites without a
scheme, historical and missing emails, apostrophes and non-ASCII letters, an unknown funding type, a
count as text, a date that does not exist, an over-long name, two employers on one domain) appear at a
low rate. Every id, domain and email is unique except for those deliberate duplicates; every foreign
key resolves.

    python -m engine.exampledata --total 10000 --seed 7 --out /tmp/bench-data
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.transforms import STATES

STREAMS = ("employer", "broker", "broker_office", "employer_contact", "broker_contact")
SHARES = {"employer": 0.20, "broker": 0.05, "broker_office": 0.10, "employer_contact": 0.40,
          "broker_contact": 0.25}
MINIMUM_TOTAL = len(STREAMS)
EDGE_RATE = 0.03  # how often each edge case appears

CITIES: list[tuple[str, str, str, str]] = [  # city, state code, area code, zip prefix
    ("San Francisco", "CA", "415", "941"), ("New York", "NY", "212", "100"), ("Chicago", "IL", "312", "606"),
    ("Austin", "TX", "512", "787"), ("Boston", "MA", "617", "021"), ("Seattle", "WA", "206", "981"),
    ("Denver", "CO", "303", "802"), ("Atlanta", "GA", "404", "303"), ("Miami", "FL", "305", "331"),
    ("Phoenix", "AZ", "602", "850"), ("Portland", "OR", "503", "972"), ("Minneapolis", "MN", "612", "554"),
    ("Nashville", "TN", "615", "372"), ("Salt Lake City", "UT", "801", "841"),
    ("Charlotte", "NC", "704", "282"), ("Philadelphia", "PA", "215", "191"), ("Columbus", "OH", "614", "432"),
    ("Kansas City", "MO", "816", "641"), ("Washington", "DC", "202", "200"), ("San Juan", "PR", "787", "009"),
]
WORDS_A = ["Bluebird", "Cedar", "Granite", "Harbor", "Lakeshore", "Maple", "North Star", "Pacific", "Prairie",
           "Redwood", "Riverbend", "Silver Creek", "Summit", "Sunrise", "Timberline", "Willow"]
WORDS_B = ["Bakery", "Logistics", "Manufacturing", "Dental", "Clinics", "Schools", "Credit Union", "Foods",
           "Engineering", "Hospitality", "Software", "Builders", "Outfitters", "Labs", "Media", "Farms"]
BROKER_WORDS = ["Benefits Group", "Insurance Partners", "Brokerage", "Benefit Advisors", "Risk Services"]
SPECIAL_COMPANIES = ["O'Brien Family Dental", "Zoë's Café Group", "Müller Präzisionswerkzeuge USA",
                     "Northwind Health Clinics — West", "D'Angelo & Søn Imports"]
FIRST = ["Jane", "Tom", "Priya", "Alan", "Grace", "Ben", "Owen", "Keisha", "Luis", "Hannah", "Ethan",
         "Dmitri", "Rory", "Mette", "Nadia", "Marcus", "Anna", "David", "Mei", "Sam"]
LAST = ["Doe", "Becker", "Raman", "Whitaker", "Okafor", "Cho", "Ritter", "Brown", "Ortega", "Lindqvist",
        "Park", "Volkov", "Byrne", "Farouk", "Hale", "Nguyen", "Smith", "Kim", "Patel", "Garcia"]
SPECIAL_PEOPLE = [("Seán", "O'Brien"), ("Molly", "D'Arcy"), ("José", "Nuñez"), ("Zoë", "Laurent"),
                  ("Jürgen", "Müller"), ("Chloé", "Martin"), ("Ana", "Sørensen"), ("Renée", "Fontaine")]
TITLES = ["HR Director", "Benefits Manager", "CFO", "VP People", "Controller", "Office Manager",
          "Account Executive", "Account Manager", "Producer", "Benefits Consultant"]
INDUSTRIES = ["Manufacturing", "Health Care", "Education", "Retail Trade", "Financial Services",
              "Transportation", "Restaurants", "Nonprofit", "Construction", "Technology"]
FUNDING = ["Fully Insured", "Self-Funded", "Level-Funded"]
BROKER_TYPES = ["Independent", "National", "Regional"]
CARRIERS = ["Example Mutual Health", "Fictional Blue Plan", "Sample Life & Health",
            "Placeholder Health Co-op"]
LONG_SUFFIX = (" Employee Welfare Benefit Trust and Cooperative Purchasing Alliance of the Greater"
               " Mid-Atlantic and Ohio Valley Territories, Incorporated, as Plan Sponsor and Named Fiduciary"
               " under the Plan Document and Summary Plan Description as Amended and Restated")
SPECIAL_BROKER = "O'Malley & Søn Insurance Partners"
STREET_KINDS = ["Street", "Avenue", "Way", "Road"]


def plan_counts(total: int) -> dict[str, int]:
    """Records per stream: SHARES of `total` (largest remainder), at least one of each; sums to total."""
    if total < MINIMUM_TOTAL:
        raise ValueError(f"total must be at least {MINIMUM_TOTAL} (one record per stream), not {total}")
    exact = {name: SHARES[name] * total for name in STREAMS}
    counts = {name: max(1, int(share)) for name, share in exact.items()}
    by_remainder = sorted(STREAMS, key=lambda name: (exact[name] - int(exact[name]), -STREAMS.index(name)),
                          reverse=True)
    while sum(counts.values()) < total:
        for name in by_remainder:
            if sum(counts.values()) < total:
                counts[name] += 1
    while sum(counts.values()) > total:
        largest = max(STREAMS, key=lambda name: counts[name])
        counts[largest] -= 1
    return counts


AREA_CODES = {city: area for city, _, area, _ in CITIES}


def _area(city: str) -> str:
    return AREA_CODES[city]


def _slug(text: str) -> str:
    """`Zoë's Café Group` -> `zoes-cafe-group`."""
    folded = unicodedata.normalize("NFKD", text.lower().replace("'", ""))
    ascii_text = folded.encode("ascii", "ignore").decode()
    kept = "".join(c if c.isalnum() else " " for c in ascii_text)
    return "-".join(kept.split())


@dataclass
class _Maker:
    """Random but reproducible values; one instance per generation run."""

    rng: random.Random
    contacts: int = 0

    def edge(self, rate: float = EDGE_RATE) -> bool:
        return self.rng.random() < rate

    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.rng.randrange(len(options))]

    def company(self) -> str:
        if self.edge():
            return self.pick(SPECIAL_COMPANIES)
        return f"{self.pick(WORDS_A)} {self.pick(WORDS_B)}"

    def state(self, code: str) -> str:
        roll = self.rng.random()
        if roll < EDGE_RATE:
            return f" {STATES[code]} "
        if roll < 0.15:
            return STATES[code]
        if roll < 0.15 + EDGE_RATE * 2:
            return self.pick([STATES[code].lower(), code.lower()])
        return code

    def address(self, place: tuple[str, str, str, str], number: int) -> dict[str, str]:
        city, code, _, zip_prefix = place
        street = f"{100 + number % 9800} {self.pick(WORDS_A)} {self.pick(STREET_KINDS)}"
        return {"street": street, "city": city, "state": self.state(code),
                "zip": f"{zip_prefix}{self.rng.randrange(100):02d}"}

    def phone(self, area: str) -> str:
        line = f"555-01{self.rng.randrange(100):02d}"
        style = self.rng.randrange(4)
        if style == 0:
            return f"({area}) {line}"
        if style == 1:
            return f"{area}.{line.replace('-', '.')}"
        if style == 2:
            return f"+1 {area} {line.replace('-', ' ')}"
        return f"{area}-{line}"

    def website(self, domain: str) -> str:
        roll = self.rng.random()
        if roll < 0.4:
            return domain
        if roll < 0.6:
            return f"www.{domain}"
        if roll < 0.75:
            return f"http://{domain}"
        if roll < 0.9:
            return f"https://{domain}"
        return f"https://www.{domain}/{self.pick(['about', 'contact', 'en/'])}"

    def person(self) -> tuple[str, str]:
        if self.edge():
            return self.pick(SPECIAL_PEOPLE)
        return self.pick(FIRST), self.pick(LAST)


# ----- streams -----------------------------------------------------------------------------------

def _brokers(m: _Maker, count: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        name = SPECIAL_BROKER if m.edge() else f"{m.pick(WORDS_A)} {m.pick(BROKER_WORDS)}"
        place = m.pick(CITIES)
        domain = f"{_slug(name)}-b{i + 1}-example.net"
        rows.append({"id": f"brk-{i + 1:03d}", "name": name, "website": m.website(domain),
                     "phone": m.phone(place[2]), "address": m.address(place, i),
                     "broker_type": BROKER_TYPES[i % 3], "_domain": domain})
    return rows


def _offices(m: _Maker, count: int, brokers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Office k belongs to broker k mod len(brokers); a broker's offices are in different cities."""
    rows = []
    offsets = [m.rng.randrange(len(CITIES)) for _ in brokers]
    for k in range(count):
        b, j = k % len(brokers), k // len(brokers)
        broker, place = brokers[b], CITIES[(offsets[b] + j) % len(CITIES)]
        rows.append({"id": f"bo-{k + 1:03d}", "broker_id": broker["id"], "name": broker["name"],
                     "website": m.website(broker["_domain"]), "phone": m.phone(place[2]),
                     "address": m.address(place, k)})
    return rows


def _plan_year_start(m: _Maker) -> str:
    return "2025-02-30" if m.edge() else f"{m.pick([2025, 2026])}-{m.rng.randrange(1, 13):02d}-01"


def _employer(m: _Maker, i: int, name: str, domain: str, broker_id: str) -> dict[str, Any]:
    place = m.pick(CITIES)
    count = m.rng.randrange(5, 5000)
    return {"id": f"emp-{i + 1:03d}", "name": name + LONG_SUFFIX if m.edge(EDGE_RATE / 3) else name,
            "website": m.website(domain), "phone": m.phone(place[2]), "address": m.address(place, i),
            "industry": m.pick(INDUSTRIES), "employee_count": str(count) if m.edge() else count,
            "plan_year_start": _plan_year_start(m),
            "funding_type": "self funded" if m.edge() else m.pick(FUNDING),
            "ein": f"{10 + m.rng.randrange(89)}-{i + 1:07d}", "broker_id": broker_id,
            "covered_lives": int(count * (1.6 + m.rng.random())), "carrier": m.pick(CARRIERS),
            "signer_name_5500": " ".join(m.person())}


def _employers(m: _Maker, count: int, brokers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(count):
        name = m.company()
        shared = bool(rows) and m.edge()  # two employers on one domain
        domain = rows[-1]["_domain"] if shared else f"{_slug(name)}-e{i + 1}-example.com"
        row = _employer(m, i, name, domain, m.pick(brokers)["id"])
        row["_domain"] = domain
        rows.append(row)
    return rows


def _email_fields(m: _Maker, first: str, last: str, domain: str) -> dict[str, Any]:
    m.contacts += 1
    local = f"{first}.{last}{m.contacts}".lower().replace(" ", "")
    email: str | None = f"{local}@{domain}"
    if m.edge():
        email = f" {local.capitalize()}@{domain.upper()} "
    elif m.edge():
        email = None
    earlier = m.rng.randrange(1, 3) if m.edge(0.15) else 0
    historical = [f"{local}.h{k}@former-{m.contacts}-example.org" for k in range(1, earlier + 1)]
    return {"email": email, "historical_emails": historical}


def _contact(m: _Maker, key: dict[str, Any], domain: str, area: str) -> dict[str, Any]:
    first, last = m.person()
    row = {**key, "first_name": first, "last_name": last, **_email_fields(m, first, last, domain),
           "title": m.pick(TITLES), "phone": None if m.edge() else m.phone(area)}
    if row["email"] is None and m.rng.random() < 0.5:
        del row["email"]
    return row


def _employer_contacts(m: _Maker, count: int, employers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        employer = employers[i % len(employers)] if i < len(employers) else m.pick(employers)
        key = {"id": f"ec-{i + 1:03d}", "employer_id": employer["id"]}
        rows.append(_contact(m, key, employer["_domain"], _area(employer["address"]["city"])))
    return rows


def _broker_contacts(m: _Maker, count: int, offices: list[dict[str, Any]],
                     brokers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    domains = {broker["id"]: broker["_domain"] for broker in brokers}
    rows = []
    for i in range(count):
        office = m.pick(offices)
        key = {"id": f"bc-{i + 1:03d}", "broker_id": office["broker_id"], "broker_office_id": office["id"]}
        rows.append(_contact(m, key, domains[office["broker_id"]], _area(office["address"]["city"])))
    return rows


# ----- writing -----------------------------------------------------------------------------------

def build(total: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """The records of each stream, in file order."""
    counts = plan_counts(total)
    m = _Maker(random.Random(seed))
    brokers = _brokers(m, counts["broker"])
    offices = _offices(m, counts["broker_office"], brokers)
    employers = _employers(m, counts["employer"], brokers)
    streams = {"employer": employers, "broker": brokers, "broker_office": offices,
               "employer_contact": _employer_contacts(m, counts["employer_contact"], employers),
               "broker_contact": _broker_contacts(m, counts["broker_contact"], offices, brokers)}
    for rows in (brokers, employers):
        for row in rows:
            del row["_domain"]
    return streams


def generate(out_dir: Path, total: int, seed: int = 7) -> dict[str, int]:
    """Write `<stream>.jsonl` files for `total` records into `out_dir`; the records per stream."""
    streams = build(total, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in streams.items():
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        (out_dir / f"{name}.jsonl").write_text(text, encoding="utf-8")
    return {name: len(rows) for name, rows in streams.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.exampledata",
                                     description="Write a BenefitFlow-style example export of any size.")
    parser.add_argument("--total", type=int, required=True, help="records over all streams")
    parser.add_argument("--seed", type=int, default=7, help="same seed, same bytes (default 7)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the .jsonl files")
    args = parser.parse_args(argv)
    try:
        counts = generate(args.out, args.total, args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    for name, count in counts.items():
        print(f"{name}: {count}")
    print(f"wrote {sum(counts.values())} records to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
