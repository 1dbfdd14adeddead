"""Parsing a spec or profile that may be hostile (read by engine/boundedfile.py: only a regular file, of
bounded size): a YAML parser whose aliases, nesting and integers are bounded, each refusal located at its
mark.

A YAML "billion laughs" (anchors whose aliases nest nine deep) is a few hundred bytes that expand to
billions of values once anything walks the document; the round-trip constructor shares aliased objects,
so the expansion is counted as the document is composed, each alias adding what it stands for (a node's
expanded size is computed once), and refused when it passes MAX_ALIAS_EXPANSION.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

MAX_ALIAS_EXPANSION = 100_000  # values aliases may stand for in one document
MAX_DEPTH = 64  # nested mappings and lists
MAX_INT_DIGITS = 4_000  # Python refuses to convert longer digit strings (4,300) with a bare ValueError


def expanded_size(node: Node, sizes: dict[int, int]) -> int:
    """How many values a node stands for with every alias inside it expanded; `sizes` memoises by node."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, SequenceNode):
        size += sum(expanded_size(item, sizes) for item in node.value)
    elif isinstance(node, MappingNode):
        size += sum(expanded_size(k, sizes) + expanded_size(v, sizes) for k, v in node.value)
    sizes[id(node)] = size
    return size


class BoundedComposer(Composer):
    """Counts what the aliases of a document expand to; refuses past MAX_ALIAS_EXPANSION at the alias."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.expanded = 0
        self.sizes: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if not self.parser.check_event(AliasEvent):
            return super().compose_node(parent, index)
        mark = self.parser.peek_event().start_mark
        node = super().compose_node(parent, index)
        self.expanded += expanded_size(node, self.sizes)
        if self.expanded > MAX_ALIAS_EXPANSION:
            raise ComposerError(None, None, f"aliases expand this document past {MAX_ALIAS_EXPANSION:,} "
                                "values (a YAML alias bomb); use fewer or smaller aliases", mark)
        return node


class BoundedConstructor(RoundTripConstructor):
    def construct_yaml_int(self, node: Any) -> Any:
        if isinstance(node.value, str) and len(node.value) > MAX_INT_DIGITS:
            raise ConstructorError(None, None, f"a number of {len(node.value):,} digits is too long "
                                   f"(at most {MAX_INT_DIGITS:,}); quote it if it is text", node.start_mark)
        return super().construct_yaml_int(node)


BoundedConstructor.add_constructor("tag:yaml.org,2002:int", BoundedConstructor.construct_yaml_int)


def bounded_yaml() -> YAML:
    """A round-trip parser with the bounds above and duplicate keys refused."""
    yaml = YAML(typ="rt")
    yaml.Composer = BoundedComposer
    yaml.Constructor = BoundedConstructor
    yaml.max_depth = MAX_DEPTH
    yaml.allow_duplicate_keys = False
    return yaml
