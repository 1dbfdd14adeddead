"""The phone fast path (engine.phones) against the slow path it stands in for: phonenumbers' parse,
is_valid_number and E.164 formatting. Every number hypothesis makes gets the same verdict from both:
the same E.164 result, or the same refusal."""

from __future__ import annotations

import json
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.exampledata import build
from engine.phones import FAST_REGIONS, INVALID, nanp_e164, nanp_valid
from engine.transforms import TRANSFORMS, TransformError, _e164

ROOT = Path(__file__).resolve().parent.parent
# the regions the engine reads numbers in: the transform's default, and those the fast path serves
REGIONS = sorted({"US"} | FAST_REGIONS)


# the slow path the fast path replaces: phonenumbers' verdict as the engine reads it (uncached here)
slow_verdict = _e164.__wrapped__


def transformed(value: str, region: str) -> str:
    """What the phone_e164 transform gives, or the message it refuses with."""
    try:
        return TRANSFORMS["phone_e164"](value, region=region)
    except TransformError as exc:
        return f"error: {exc}"


def expected(value: str, region: str) -> str:
    verdict = slow_verdict(value.strip(), region)
    if verdict is None:
        return f"error: {value!r} is not a phone number (region {region})"
    if verdict == INVALID:
        return f"error: {value!r} is not a valid phone number for region {region}"
    return verdict


FOREIGN_DIGITS = ["٤", "４", "۵", "१"]  # Arabic-Indic, fullwidth, Persian, Devanagari: read as digits
# mostly ASCII digits, now and then another script's
DIGIT = st.sampled_from(list("0123456789" * 3) + FOREIGN_DIGITS)


def run(low: int, high: int | None = None) -> st.SearchStrategy[str]:
    return st.text(alphabet=DIGIT, min_size=low, max_size=low if high is None else high)


digits = run(0, 4)
separators = st.sampled_from(["", "", " ", "-", ".", "  ", " - ", "/", "\t", "\u00a0", "_"])
prefixes = st.sampled_from(["", "", "+1", "1", "+1 ", "1 ", "+1-", "1-", "1.", "+", "+44 ", "01", "001",
                            "+11", "11", "0", "++1", "(1)", "+1(", "(+1)", "+٠"])
suffixes = st.sampled_from(["", "", " ", " x123", " ext. 5", "ext 12", "#", ";ext=9", " a", "5", "0", ")",
                            "-", " 555", ",", "x"])
foreign_digits = st.sampled_from(FOREIGN_DIGITS)
letters = st.sampled_from(["A", "b", "FLOWERS", "o", "O", "l"])


@st.composite
def nanp_like(draw: st.DrawFn) -> str:
    """Near the shapes the fast path takes: a prefix, an area code (maybe in parentheses), an exchange
    and a line, separated; with wrong lengths, letters, foreign digits and extensions mixed in."""
    area = draw(st.one_of(run(3), digits))
    if draw(st.booleans()):
        area = draw(st.sampled_from(["({})", "({}", "{})", "( {} )", "{}"])).format(area)
    parts = [draw(prefixes), area, draw(separators),
             draw(st.one_of(run(3), digits, letters, foreign_digits)),
             draw(separators), draw(st.one_of(run(4), digits)),
             draw(suffixes)]
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), draw(st.one_of(letters, foreign_digits, separators)))
    text = "".join(parts)
    return draw(st.sampled_from([text, f" {text} ", text.upper()]))


anything = st.text(alphabet=st.sampled_from(list("0123456789+-.() x#;,/Ae٤４\t")), max_size=20)


@settings(max_examples=3000, deadline=None)
@given(text=st.one_of(nanp_like(), anything), region=st.sampled_from(REGIONS))
@example(text="(415) 555-0100", region="US")
@example(text="+1 (304) 555-0116", region="US")
@example(text="1 800 555 0199", region="CA")
@example(text="(999) 555-0100", region="US")
@example(text="+1 268 464 1234", region="US")  # Antigua: another region of calling code 1
@example(text="1 4155550100", region="CA")
def test_the_fast_path_gives_phonenumbers_verdict(text: str, region: str) -> None:
    fast = nanp_e164(text.strip(), region)
    if fast is not None:
        assert fast == slow_verdict(text.strip(), region)
    assert transformed(text, region) == expected(text, region)


@settings(max_examples=3000, deadline=None)
@given(number=st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_validity_of_any_ten_digits_is_phonenumbers(number: str) -> None:
    assert nanp_valid(number) == phonenumbers.is_valid_number(phonenumbers.PhoneNumber(1, int(number)))


@pytest.mark.parametrize("area", range(200, 1000, 1))
def test_validity_in_every_area_code_is_phonenumbers(area: int) -> None:
    """Every area code, with exchanges across the range (validity hangs on the first six digits in
    most of the regions' patterns)."""
    for exchange in ("200", "211", "355", "456", "555", "600", "876", "911", "999"):
        number = f"{area}{exchange}0100"
        assert nanp_valid(number) == phonenumbers.is_valid_number(phonenumbers.PhoneNumber(1, int(number)))


def test_the_fast_path_takes_the_example_data_numbers() -> None:
    """The shapes a source holds go the fast way: every phone of the example data and of the
    generator's records (else the fast path would be a check that never runs)."""
    shipped = [json.loads(line).get("phone") for path in sorted((ROOT / "examples" / "data").glob("*.jsonl"))
               for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    generated = [r.get("phone") for rows in build(2000).values() for r in rows]
    phones = {p.strip() for p in shipped + generated if isinstance(p, str) and p.strip()}
    assert len(phones) > 100
    slow = [p for p in phones if nanp_e164(p, "US") is None]
    assert slow == []
    assert all(nanp_e164(p, "US") == slow_verdict(p, "US") for p in phones)


@pytest.mark.parametrize(("text", "region"), [("+44 20 7946 0958", "US"), ("(415) 555-0100", "GB"),
                                               ("1-800-FLOWERS", "US"), ("415 555 0100 x12", "US"),
                                               ("４１５ ５５５ ０１００", "US"), ("555-0100", "US")])
def test_other_shapes_and_regions_go_to_phonenumbers(text: str, region: str) -> None:
    assert nanp_e164(text, region) is None
    assert transformed(text, region) == expected(text, region)
