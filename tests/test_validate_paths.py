"""`crmsync validate` checks each JSONPath with one jsonpath-ng parser made once (engine.paths.compiled,
instead of jsonpath-ng's parse(), which builds a parser per call: the same verdicts, parsed or refused,
whatever came before (a refused path leaves nothing behind in the parser)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonpath_ng.ext import parse

from engine.paths import compiled as parse_path

PIECES = ["$", ".", "..", "[", "]", "*", "name", "where", "`this`", "'a b'", "@", "?(", ")", "==", "1",
          "\"x\"", ",", "|", "&", " ", "[0]", "[*]", "[?(@.x > 1)]", "sorted", "len", "`len`", "a.b", "~"]
PATHS = st.one_of(st.lists(st.sampled_from(PIECES), max_size=8).map("".join), st.text(max_size=12))


def shape(node: Any) -> Any:
    """A parsed path as its classes and attributes, all the way down (some jsonpath-ng nodes, such as
    Where, have no repr but the default one, which names the object's address)."""
    if isinstance(node, list | tuple):
        return [shape(item) for item in node]
    if hasattr(node, "__dict__"):
        return type(node).__name__, {key: shape(value) for key, value in sorted(vars(node).items())}
    return repr(node)


def verdict(parser: Any, path: str) -> tuple[str, Any]:
    try:
        return "parsed", shape(parser(path))
    except Exception as exc:  # noqa: BLE001 - jsonpath-ng raises several kinds; the kind is compared
        return type(exc).__name__, str(exc)


@settings(max_examples=300, deadline=None)
@given(st.lists(PATHS, min_size=1, max_size=6))
def test_the_parser_made_once_gives_what_a_fresh_parse_gives(paths: list[str]) -> None:
    for path in paths:
        assert verdict(parse_path, path) == verdict(parse, path), path


def test_valid_and_invalid_paths_alike() -> None:  # the examples the search must keep covering
    for path in ["$.name", "$.address.city", "$.emails[*]", "$[?(@.kind == 'work')].value", "$.", "$[",
                 "$.where", "$..x"]:
        assert verdict(parse_path, path) == verdict(parse, path), path
    assert verdict(parse_path, "$.a")[0] == "parsed" and verdict(parse_path, "$[")[0] != "parsed"
