"""A YAML file's round-trip document (ruamel.yaml keeps the line and column of every key and value), and
finding a place in it: what engine/loader.py needs the parser for, loaded only when a file is parsed (a
model from the cache needs it only to place a finding)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from engine.errors import LoadError, Position
from engine.yamlsafe import MAX_DEPTH, bounded_yaml

Loc = tuple[str | int, ...]  # as engine.loader's


def parse_yaml(path: Path, text: str) -> Any:
    """The round-trip document of a file's text; bad YAML is a LoadError at its place."""
    try:
        document = bounded_yaml().load(text)
    except DuplicateKeyError as exc:
        raise LoadError(_mark_position(path, exc.problem_mark), _duplicate_message(text, exc)) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed YAML"
        if "'\\t'" in problem:
            problem += " (YAML indents with spaces; replace the tab)"
        if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != mark.line:
            problem += f", {exc.context} started at {exc.context_mark.line + 1}:{exc.context_mark.column + 1}"
        raise LoadError(_mark_position(path, mark), f"malformed YAML: {_plain(problem)}") from None
    except ReaderError as exc:
        raise LoadError(_offset_position(path, text, exc.position), f"character U+{exc.character:04X} is not "
                        "allowed in a YAML file (a NUL or another control character); remove it") from None
    except RecursionError:
        raise LoadError(Position(path, 1, 1), "malformed YAML: nested too deeply") from None
    if document is None:
        empty = "the file is empty" if not text.strip() else "the file holds only comments"
        raise LoadError(Position(path, 1, 1), f"{empty}; expected a mapping of keys")
    return document


def _plain(problem: str) -> str:
    """ruamel's depth message tells a programmer which attribute to raise; a user gets the limit."""
    if problem.startswith("maximum depth of data structure exceeded"):
        return f"nested more than {MAX_DEPTH} levels deep"
    return problem


def _offset_position(path: Path, text: str, offset: int) -> Position:
    line_start = text.rfind("\n", 0, offset) + 1
    return Position(path, text.count("\n", 0, offset) + 1, offset - line_start + 1)


def _duplicate_message(text: str, exc: DuplicateKeyError) -> str:
    """`duplicate key 'x' (first defined at L:C)`. ruamel's context mark is where the mapping starts,
    not the first key, so the first key is found in the composed (unconstructed) node tree."""
    mark = exc.problem_mark
    try:
        root = bounded_yaml().compose(text)
    except MarkedYAMLError:
        root = None
    for node in _mapping_nodes(root):
        keys = [k for k, _ in node.value]
        for i, key in enumerate(keys):
            if (key.start_mark.line, key.start_mark.column) == (mark.line, mark.column):
                first = next((k for k in keys[:i] if k.value == key.value), None)
                if first is not None:
                    return (f"duplicate key {key.value!r} (first defined at "
                            f"{first.start_mark.line + 1}:{first.start_mark.column + 1})")
    return "duplicate key"


def _mapping_nodes(node: Any) -> Iterator[MappingNode]:
    if isinstance(node, MappingNode):
        yield node
        for key, value in node.value:
            yield from _mapping_nodes(key)
            yield from _mapping_nodes(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _mapping_nodes(item)


def _mark_position(path: Path, mark: Any) -> Position:
    if mark is None:
        return Position(path, 1, 1)
    return Position(path, mark.line + 1, mark.column + 1)


def locate(document: Any, path: Path, loc: Loc, *, key: bool = False) -> Position:
    """The position of the value (or, with key=True, the key) at `loc`; the nearest parent otherwise."""
    node = document
    best = Position(path, 1, 1)
    if hasattr(node, "lc"):
        best = Position(path, node.lc.line + 1, node.lc.col + 1)
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, CommentedMap) and part in node:
            # an empty value has no place of its own (ruamel puts it on the next line): use its key's
            line, col = node.lc.key(part) if (key and last) or node[part] is None else node.lc.value(part)
            best = Position(path, line + 1, col + 1)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line, col = node.lc.item(part)
            best = Position(path, line + 1, col + 1)
            node = node[part]
        else:
            break
    return best
