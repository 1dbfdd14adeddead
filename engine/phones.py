"""A fast path for the phone numbers most sources hold: North American numbers written as ten digits,
optionally after +1 or 1, with a space, dash or dot between the groups and the area code perhaps in
parentheses (`(415) 555-0100`, `415.555.0100`, `+1 415 555 0100`, `14155550100`), read in a region
whose calling code is 1. phonenumbers spends ~40 µs parsing and validating one; this reads the digits
with one regular expression and decides validity with phonenumbers' own metadata, compiled once.

`nanp_e164(text, region)` gives the E.164 form, `INVALID` (phonenumbers parses it but it is not a
valid number), or None: not one of these shapes, so the caller asks phonenumbers. Its verdicts equal
phonenumbers' on every input (tests/test_phone_fastpath.py holds that to a property test).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any, Final

# the default regions the fast path reads in: those whose national prefix is 1 and whose own
# metadata does not rewrite 7-digit local numbers (the Caribbean regions prefix their area code)
FAST_REGIONS: Final = frozenset({"US", "CA"})
INVALID: Final = "invalid"

# ASCII digits only: \d would take other scripts' digits, which phonenumbers reads otherwise
_SEP = "[ .-]?"
NANP_SHAPE: Final = re.compile(
    rf"(?:\+1{_SEP}|1{_SEP})?(?:\(([2-9][0-9]{{2}})\)|([2-9][0-9]{{2}})){_SEP}([0-9]{{3}}){_SEP}([0-9]{{4}})")


def nanp_e164(text: str, region: str) -> str | None:
    """E.164, INVALID, or None where phonenumbers must decide (see the module's doc)."""
    if region not in FAST_REGIONS:
        return None
    shape = NANP_SHAPE.fullmatch(text)
    if shape is None:
        return None
    area, plain_area, exchange, line = shape.groups()
    digits = (area or plain_area) + exchange + line
    return f"+1{digits}" if nanp_valid(digits) else INVALID


@lru_cache(maxsize=65536)
def nanp_valid(digits: str) -> bool:
    """phonenumbers.is_valid_number for +1 and these ten digits: the region is the first of calling
    code 1's regions whose leading digits match (or, for one without, where the number is valid),
    and the number is valid there when it fits the region's general pattern and one of its types."""
    for region, leading in _nanp_regions():
        if leading is not None:
            if leading.match(digits):
                return _fits(digits, region)
        elif _fits(digits, region):
            return True
    return False


def _fits(digits: str, region: str) -> bool:
    general, typed = _region_patterns(region)
    return general is not None and typed is not None and bool(general.fullmatch(digits)) \
        and bool(typed.fullmatch(digits))


# the number types phonenumbers tries, in its order; mobile only where it differs from fixed line
_TYPES: Final = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
                 "voicemail", "fixed_line")


@cache
def _nanp_regions() -> tuple[tuple[str, re.Pattern[str] | None], ...]:
    """Calling code 1's regions in phonenumbers' order, with their leading digits where they have them."""
    from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

    regions = []
    for region in COUNTRY_CODE_TO_REGION_CODE[1]:
        metadata = _metadata(region)
        if metadata is not None:
            regions.append((region, re.compile(metadata.leading_digits) if metadata.leading_digits else None))
    return tuple(regions)


@cache
def _region_patterns(region: str) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """A region's general pattern and its types' patterns as one, for ten digits; compiled when a number
    first needs them (most numbers need the US's only: compiling all 25 regions' costs ~0.1 s)."""
    metadata = _metadata(region)
    names = _TYPES if metadata.same_mobile_and_fixed_line_pattern else (*_TYPES, "mobile")
    patterns = [p for p in (_ten_digit_pattern(getattr(metadata, n)) for n in names) if p]
    general = _ten_digit_pattern(metadata.general_desc)
    return (re.compile(general) if general else None,
            re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None)


def _metadata(region: str) -> Any:
    from phonenumbers import PhoneMetadata

    return PhoneMetadata.metadata_for_region(region)


def _ten_digit_pattern(desc: Any) -> str | None:
    """The pattern a 10-digit national number is matched with, or None where phonenumbers would not
    match one (no description, no pattern, or lengths that leave 10 out)."""
    if desc is None or not desc.national_number_pattern:
        return None
    if desc.possible_length and 10 not in desc.possible_length:
        return None
    return str(desc.national_number_pattern)
