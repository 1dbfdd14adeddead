"""A small reader of the SOQL WHERE clauses crmsync writes, for tests. It tokenizes string literals by the
grammar of Salesforce's "Quoted String Escape Sequences" page (single quotes; the backslash escapes n N r R
t T b B f F " ' and backslash, and uXXXX; _ and % escaped only inside LIKE; any other backslash is an error)
and decodes them back to the values they stand for. Anything it cannot read raises SoqlError."""

from __future__ import annotations

import re
from dataclasses import dataclass

ESCAPES = {"n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t", "b": "\b", "B": "\b",
           "f": "\f", "F": "\f", '"': '"', "'": "'", "\\": "\\"}
LIKE_ONLY = {"_", "%"}
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEYWORDS = {"IN", "LIKE", "OR", "AND", "NOT"}


class SoqlError(ValueError):
    pass


@dataclass(frozen=True)
class Literal:
    chars: tuple[tuple[str, bool], ...]  # (character, is a LIKE wildcard)

    def text(self) -> str:
        if any(wild for _, wild in self.chars):
            raise SoqlError("a wildcard in an exact literal")
        return "".join(ch for ch, _ in self.chars)

    def contained(self) -> str:
        """The value of a '%value%' pattern: wildcards at both ends and nowhere else."""
        inner = self.chars[1:-1]
        if len(self.chars) < 2 or not self.chars[0][1] or not self.chars[-1][1] or any(w for _, w in inner):
            raise SoqlError("not a '%value%' pattern")
        return "".join(ch for ch, _ in inner)


def tokenize(text: str, *, like: bool) -> list[str | Literal]:
    tokens: list[str | Literal] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == " ":
            i += 1
        elif ch in "(),=":
            tokens.append(ch)
            i += 1
        elif ch == "'":
            literal, i = _literal(text, i + 1, like=like)
            tokens.append(literal)
        elif match := IDENT.match(text, i):
            tokens.append(match[0])
            i = match.end()
        else:
            raise SoqlError(f"unexpected {ch!r} at {i}")
    return tokens


def _literal(text: str, i: int, *, like: bool) -> tuple[Literal, int]:
    chars: list[tuple[str, bool]] = []
    while i < len(text):
        ch = text[i]
        if ch == "'":
            return Literal(tuple(chars)), i + 1
        if ch != "\\":
            chars.append((ch, like and ch in LIKE_ONLY))
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt in ESCAPES:
            chars.append((ESCAPES[nxt], False))
            i += 2
        elif nxt in LIKE_ONLY and like:
            chars.append((nxt, False))
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[i + 2:i + 6]):
            chars.append((chr(int(text[i + 2:i + 6], 16)), False))
            i += 6
        else:
            raise SoqlError(f"invalid escape \\{nxt} at {i}")
    raise SoqlError("unterminated string literal")


def exact_values(clause: str, field: str) -> list[str]:
    """The values of `field = 'v'` or `field IN ('a','b')`."""
    tokens = tokenize(clause, like=False)
    if tokens[:2] == [field, "="] and len(tokens) == 3 and isinstance(tokens[2], Literal):
        return [tokens[2].text()]
    if tokens[:3] != [field, "IN", "("] or tokens[-1] != ")":
        raise SoqlError(f"not `{field} IN (...)`: {clause!r}")
    inner = tokens[3:-1]
    literals = inner[0::2]
    if inner[1::2] != [","] * (len(literals) - 1) or not all(isinstance(t, Literal) for t in literals):
        raise SoqlError(f"not a list of literals: {clause!r}")
    return [t.text() for t in literals if isinstance(t, Literal)]


def contained_values(clause: str, field: str) -> list[str]:
    """The values of `field LIKE '%a%' OR field LIKE '%b%'`."""
    tokens = tokenize(clause, like=True)
    values = []
    for n in range(0, len(tokens), 4):
        part = tokens[n:n + 4]
        expected_or = n + 3 < len(tokens)
        well_formed = part[:2] == [field, "LIKE"] and isinstance(part[2], Literal)
        if not well_formed or (expected_or and part[3] != "OR"):
            raise SoqlError(f"not `{field} LIKE '...' OR ...`: {clause!r}")
        values.append(part[2].contained())
    return values
