"""Read a YAML file into a checked model, with every error located as `path:line:col: message`.

ruamel.yaml's round-trip loader keeps the line and column of every key and value. A pydantic error's
`loc` is first walked through the model's annotations, dropping the parts that are not keys in the data
(the union member tried: a `kind` tag, a `Tag`, a type name such as `str`), then through the document to
find where it points. Unknown keys get a did-you-mean from
the model's own field names; duplicate keys, bad YAML, empty, unreadable and non-UTF-8 files are all
load errors, never tracebacks. The parsing and placing are engine/yamldoc.py's; a file loaded before, byte
for byte, comes from the cache (engine/speccache.py) and is parsed only to place a finding.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from engine import speccache
from engine.boundedfile import NotReadable, read_bounded
from engine.errors import LoadError, LoadErrors, Position

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]


@dataclass
class Loaded(Generic[M]):
    """A checked model, the document it came from, and a way to point back into that document. A model
    from the cache (engine/speccache.py) comes with the file's text instead: the document is parsed from
    it, positions kept, the first time it is asked for (a finding or an error to place)."""

    model: M
    path: Path
    _document: Any = field(default=None, repr=False)
    text: str | None = field(default=None, repr=False)

    @property
    def document(self) -> Any:
        if self._document is None and self.text is not None:
            from engine.yamldoc import parse_yaml

            self._document = parse_yaml(self.path, self.text)
        return self._document

    def with_model(self, model: M) -> Loaded[M]:
        """The same file's document (parsed or not yet) for a model made from this one."""
        return Loaded(model, self.path, self._document, self.text)

    def position(self, loc: Loc, *, key: bool = False) -> Position:
        return locate(self.document, self.path, loc, key=key)


def read_yaml(path: Path) -> Any:
    """The round-trip document of a YAML file (positions kept)."""
    from engine.yamldoc import parse_yaml

    return parse_yaml(path, decoded(path, read_file(path)))


def read_file(path: Path) -> bytes:
    try:
        return read_bounded(path)
    except FileNotFoundError:
        raise LoadError(None, "file not found", path=path) from None
    except NotReadable as exc:
        raise LoadError(None, f"cannot read: {exc}", path=path) from None
    except OSError as exc:
        raise LoadError(None, f"cannot read: {exc.strerror}", path=path) from None


def decoded(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        col = len(raw[line_start: exc.start].decode("utf-8")) + 1  # in characters, as editors count
        raise LoadError(Position(path, line, col), "not UTF-8 text (byte "
                        f"0x{raw[exc.start]:02x}); save the file as UTF-8") from None


def load_model(path: Path, model: type[M],
               extra_checks: Callable[[M], Sequence[tuple[Loc, str]]] | None = None) -> Loaded[M]:
    """Load `path` into `model`; raise LoadErrors listing every problem with its position. A file loaded
    before, byte for byte, comes from the cache (engine/speccache.py), checked as it was then."""
    raw = read_file(path)
    speccache.note_loaded(path, raw)
    text = decoded(path, raw)
    cached = speccache.recall(raw, model, extra_checks)
    if cached is not None:
        return Loaded(cached, path, text=text)
    from engine.yamldoc import parse_yaml  # the YAML parser (~25 ms to import): for a file not in the cache

    loaded = check_document(path, parse_yaml(path, text), model, extra_checks)
    speccache.keep(raw, model, extra_checks, loaded.model)
    return loaded


def check_document(path: Path, document: Any, model: type[M],
                   extra_checks: Callable[[M], Sequence[tuple[Loc, str]]] | None) -> Loaded[M]:
    """A parsed document checked into `model`, or LoadErrors listing every problem with its position."""
    from engine.yamldoc import CommentedMap

    if not isinstance(document, CommentedMap):
        raise LoadError(Position(path, 1, 1), f"expected a mapping of keys at the top, got {_kind(document)}")
    if document and not any(key in model.model_fields for key in document):
        # another kind of file (a path mistyped, /etc/shadow): nothing of it is quoted, not even its keys
        kind = _NOUNS.get(model.__name__, "file")
        raise ForeignFile(Position(path, 1, 1), f"not a crmsync {kind}: none of its top-level keys is one "
                          f"of {', '.join(sorted(model.model_fields))}")
    try:
        checked = model.model_validate(to_plain(document))
    except ValidationError as exc:
        errors = _errors(path, document, model, _dedupe(exc.errors()))
        errors.sort(key=lambda e: (e.position.line, e.position.col) if e.position else (0, 0))
        raise LoadErrors(errors) from None
    loaded = Loaded(checked, path, document)
    if extra_checks:
        problems = [LoadError(loaded.position(loc), message) for loc, message in extra_checks(checked)]
        if problems:
            raise LoadErrors(problems)
    return loaded


class ForeignFile(LoadError):
    """A readable YAML file that is not of the kind asked for: it is named, never quoted."""


_NOUNS = {"ConnectorSpec": "connector spec", "Profile": "profile", "Team": "team file"}


def to_plain(node: Any) -> Any:
    if isinstance(node, dt.date):  # an unquoted YAML date (value: 2024-01-31) is the text it looks like
        return node.isoformat()
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str) else k: to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    return {str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), "a list" if isinstance(value, list) else type(value).__name__)


def _dedupe(errors: list[Any]) -> list[Any]:
    seen: set[tuple[Loc, str]] = set()
    out = []
    for err in errors:
        key = (tuple(err["loc"]), err["type"])
        if key not in seen:
            seen.add(key)
            out.append(err)
    return out


@dataclass
class _Where:
    """A pydantic error loc walked through the model: the keys that are in the data, the model that
    holds the last key, and the union member (tag) that model was chosen as, if any."""

    loc: Loc
    parent: type[BaseModel] | None = None
    branch: str | None = None  # the tag the parent model was chosen by (`field`, `source`)
    branch_is_kind: bool = False  # the tag is the value of a `kind` key
    siblings: tuple[str, ...] = ()  # every tag of that union
    tags_here: tuple[str, ...] = ()  # the tags of a union found at the end of the loc
    union_tags: int = 0  # how many union-member tags the loc named


def _errors(path: Path, document: Any, model: type[BaseModel], raw: list[Any]) -> list[LoadError]:
    """One LoadError per place: the errors pydantic gives for each member of a plain union
    (`str | list[str]`) at one place become one error saying what would have fitted."""
    grouped: dict[tuple[Loc, str], list[tuple[_Where, dict[str, Any]]]] = {}
    for err in raw:
        where = _walk(model, tuple(err["loc"]))
        merge = where.union_tags and err["type"] not in ("extra_forbidden", "missing")
        grouped.setdefault((where.loc, "union") if merge else (tuple(err["loc"]), err["type"]), []).append(
            (where, err))
    out = []
    for group in grouped.values():
        where, err = group[0]
        if len(group) > 1:
            wanted = [e["msg"].removeprefix("Input should be ").split(",")[0] for _, e in group]
            err = {**err, "msg": "Input should be " + " or ".join(dict.fromkeys(wanted))}
        out.append(_located(path, document, where, err))
    return out


def _located(path: Path, document: Any, where: _Where, err: dict[str, Any]) -> LoadError:
    loc = where.loc
    kind = err["type"]
    parent = ".".join(str(p) for p in loc[:-1]) or "the top level"
    if kind == "extra_forbidden":
        return LoadError(locate(document, path, loc, key=True), _unknown_key(str(loc[-1]), where))
    if kind == "missing":
        return LoadError(locate(document, path, loc[:-1]),
                         f"missing required key {loc[-1]!r} in {parent}{_branch(where)}")
    if tuple(err["loc"])[-1:] == ("[key]",) and kind == "literal_error":  # a key outside a fixed set
        expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        return LoadError(locate(document, path, loc, key=True),
                         f"{parent}: unknown key {loc[-1]!r}{_hint(str(loc[-1]), expected)}")
    dotted = ".".join(str(p) for p in loc)
    message = err["msg"].removeprefix("Value error, ")
    if kind == "mapping_kind" and isinstance(err.get("input"), dict):
        keys = [str(k) for k in err["input"]]
        hints = [h for k in keys if (h := _close(k, ["source", "value", "template"]))]
        message += f"; found {', '.join(map(repr, keys))}"
        message += f" (did you mean {hints[0]!r}?)" if hints else ""
    elif kind in ("union_tag_not_found", "union_tag_invalid"):
        return _tag_error(path, document, where, err)
    elif kind == "too_short":
        ctx = err.get("ctx", {})
        message = f"needs at least {ctx.get('min_length', 1)} item(s), found {ctx.get('actual_length', 0)}"
    elif kind.endswith(("_type", "_parsing")) or kind in ("literal_error", "enum"):
        value = err.get("input")
        message += " (got nothing)" if value is None else f" (got {_kind(value)}: {_short(value)})"
    return LoadError(locate(document, path, loc), f"{dotted}: {message}" if dotted else message)


def _tag_error(path: Path, document: Any, where: _Where, err: dict[str, Any]) -> LoadError:
    """A discriminated union's `kind` key missing or naming no member."""
    dotted = ".".join(str(p) for p in where.loc)
    ctx = err.get("ctx", {})
    key = str(ctx.get("discriminator", "kind")).strip("'")
    tags = ", ".join(where.tags_here)
    if err["type"] == "union_tag_not_found":
        return LoadError(locate(document, path, where.loc), f"missing required key {key!r} in {dotted}: "
                                                            f"one of {tags}")
    tag = str(ctx.get("tag"))
    close = _close(tag, where.tags_here)
    return LoadError(locate(document, path, (*where.loc, key)), f"{dotted}.{key}: {tag!r} is not one of "
                     f"{tags}" + (f"; did you mean {close!r}?" if close else ""))


def _unknown_key(key: str, where: _Where) -> str:
    if where.branch and not where.branch_is_kind and key in where.siblings:  # {source: ..., value: ...}
        return (f"{where.branch!r} and {key!r} cannot be used together: give one of "
                f"{', '.join(map(repr, where.siblings))}")
    allowed = sorted(where.parent.model_fields) if where.parent else []
    return f"unknown key {key!r}{_branch(where)}{_hint(key, allowed)}"


def _branch(where: _Where) -> str:
    if where.branch is None:
        return ""
    return f" (kind: {where.branch})" if where.branch_is_kind else f" (a mapping with {where.branch!r})"


def _close(key: str, allowed: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return close[0] if close else None


def _hint(key: str, allowed: Sequence[str]) -> str:
    close = _close(key, allowed)
    if close:
        return f"; did you mean {close!r}?"
    return f"; expected one of: {', '.join(allowed)}" if allowed else ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _walk(model: type[BaseModel], loc: Loc) -> _Where:
    """Follow `loc` through the model's annotations. Parts naming the union member that was tried (a
    discriminator tag such as `field`, a type such as `str`) and `[key]` markers are not in the data."""
    where = _Where(())
    keys: list[str | int] = []
    annotation: Any = model
    tag: tuple[str, bool, tuple[str, ...]] | None = None
    for part in loc:
        members = _union_members(annotation)
        if len(members) > 1:
            annotation, is_kind = _member(members, part)
            tag = (str(part), is_kind, _tags(members))
            where.union_tags += 1
            continue
        if part == "[key]":
            continue
        annotation = members[0] if members else None
        where.parent = annotation if _is_model(annotation) else None
        where.branch, where.branch_is_kind, where.siblings = tag if tag else (None, False, ())
        tag = None
        keys.append(part)
        annotation = _child(annotation, part)
    where.loc = tuple(keys)
    where.tags_here = _tags(_union_members(annotation))
    return where


def _union_members(annotation: Any) -> list[Any]:
    """The members of a union (None dropped: optional values carry no tag); [annotation] otherwise."""
    if annotation is None:
        return []
    bare = _bare(annotation)
    if typing.get_origin(bare) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(bare) if a is not type(None)]
    return [annotation]


def _bare(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _member(members: list[Any], tag: str | int) -> tuple[Any, bool]:
    """The union member a loc tag names, and whether the tag is a `kind` value."""
    for member in members:
        if any(getattr(m, "tag", None) == tag for m in getattr(member, "__metadata__", ())):
            return _bare(member), False
        bare = _bare(member)
        kind = bare.model_fields.get("kind") if _is_model(bare) else None
        if kind is not None and tag in typing.get_args(kind.annotation):
            return bare, True
        if tag in (getattr(bare, "__name__", None), str(bare)):
            return bare, False
    return None, False


def _tags(members: list[Any]) -> tuple[str, ...]:
    """The tags naming a union's members: `Tag`s, or the values of the members' `kind` key."""
    tags = [meta.tag for member in members for meta in getattr(member, "__metadata__", ())
            if hasattr(meta, "tag")]
    for member in map(_bare, members):
        kind = member.model_fields.get("kind") if _is_model(member) else None
        tags += [str(t) for t in typing.get_args(kind.annotation)] if kind else []
    return tuple(tags)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _child(annotation: Any, part: str | int) -> Any:
    bare = _bare(annotation)
    if _is_model(bare):
        field = bare.model_fields.get(str(part))
        return field.annotation if field else None
    args = typing.get_args(bare)
    if typing.get_origin(bare) is dict and len(args) == 2:
        return args[1]
    if typing.get_origin(bare) is list and args:
        return args[0]
    return None


def locate(document: Any, path: Path, loc: Loc, *, key: bool = False) -> Position:
    """The position of the value (or, with key=True, the key) at `loc`; the nearest parent otherwise."""
    from engine.yamldoc import locate as locate_in_document

    return locate_in_document(document, path, loc, key=key)
