"""Salesforce record ids: 15 case-sensitive characters, or 18 with the case-safe suffix.

Layout of the 15 characters (Salesforce Knowledge "What is a Salesforce ID", and the Object Reference's
"ID Field Type"): a 3-character key prefix naming the object (001 Account, 003 Contact, 00Q Lead,
00D Organization, 005 User), 2 characters of pod, 1 reserved, then 9 base-62 characters numbering the
record. The 3-character suffix encodes, for each 5-character chunk, which characters are upper case:
bit i is set when character i of the chunk is A-Z, and the 5-bit number indexes "A..Z0..5".
"""

from __future__ import annotations

import string

KEY_PREFIXES = {"Account": "001", "Contact": "003", "Lead": "00Q", "Organization": "00D", "User": "005"}
OBJECT_BY_PREFIX = {prefix: name for name, prefix in KEY_PREFIXES.items()}
SUFFIX_ALPHABET = string.ascii_uppercase + "012345"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ID_CHARS = set(string.ascii_letters + string.digits)
POD = "5g0"  # 2 characters of pod plus the reserved character


def case_suffix(id15: str) -> str:
    """The 3 characters Salesforce appends to a 15-character id to make it case-insensitive."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += SUFFIX_ALPHABET[bits]
    return suffix


def to18(id15: str) -> str:
    return id15 + case_suffix(id15)


def make_id(object_name: str, number: int) -> str:
    """The 18-character id of the `number`th record of an object."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    return to18(KEY_PREFIXES[object_name] + POD + digits.rjust(9, "0"))


def normalize(value: str) -> str | None:
    """The canonical 18-character id for a 15- or 18-character id, None when it is not an id.

    An 18-character id is matched case-insensitively, as Salesforce does: the suffix says which
    characters of the first 15 are upper case.
    """
    if not isinstance(value, str) or len(value) not in (15, 18) or not set(value) <= ID_CHARS:
        return None
    if len(value) == 15:
        return to18(value)
    if to18(value[:15]) == value:  # already canonical, as every id the emulator hands out is
        return value
    return from_suffix(value)


def from_suffix(value: str) -> str | None:
    """An 18-character id in any case, its first 15 characters cased as its suffix says."""
    chars = list(value[:15])
    for chunk, code in enumerate(value[15:].upper()):
        bits = SUFFIX_ALPHABET.find(code)
        if bits < 0:
            return None
        for position in range(5):
            index = chunk * 5 + position
            chars[index] = chars[index].upper() if bits & (1 << position) else chars[index].lower()
    id15 = "".join(chars)
    return to18(id15) if to18(id15).upper() == value.upper() else None


def object_of(record_id: str) -> str | None:
    """The object an id belongs to, by its key prefix."""
    return OBJECT_BY_PREFIX.get(record_id[:3])
