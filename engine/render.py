"""Render: turn look-ups and planned writes into the exact HTTP requests, from the connector's endpoint
specs (batch limits, native upsert, relations) and the plugins' request adjustments."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate, islice
from typing import Any

from engine.connector import ConnectorSpec, Endpoint, EndpointName, LiteralSyntax, ObjectSpec
from engine.paths import finder
from engine.plugins import hooks
from engine.templating import as_text, compile_template, fill, placeholders
from engine.values import query_name, shapes_writes, to_wire


@dataclass
class Request:
    kind: str  # lookup | create | update | upsert | associate | list | metadata
    object: str
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    refs: list[str] = field(default_factory=list)  # the records (stream/source_id) in item order
    reads: Endpoint | None = field(default=None, repr=False)  # whose response spec reads the answer, if
    # not the object's endpoint of this kind (a relation's own)
    values: list[str] = field(default_factory=list, repr=False)  # a look-up's identity values

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "object": self.object, "method": self.method, "url": self.url,
                "headers": self.headers, "body": self.body, "records": self.refs}


def read_path(data: Any, expression: str | None) -> list[Any]:
    if not expression or data is None:
        return []
    return finder(expression)(data)


def read_one(data: Any, expression: str | None) -> Any:
    found = read_path(data, expression)
    return found[0] if found else None


def endpoint_for(connector: ConnectorSpec, object_name: str, name: EndpointName) -> Endpoint | None:
    obj = connector.objects[object_name]
    endpoint = obj.endpoints.get(name) or getattr(connector.endpoints, name)
    return obj.with_vars(endpoint) if endpoint is not None else None


def base_context(connector: ConnectorSpec, obj: ObjectSpec) -> dict[str, Any]:
    return {"object": obj.api_name, "api_version": connector.api_version, "vars": obj.vars}


def build_request(connector: ConnectorSpec, kind: str, object_name: str, endpoint: Endpoint,
                  context: dict[str, Any], base_url: str, refs: list[str] | None = None,
                  body: Any = None) -> Request:
    path = fill(endpoint.path, context)
    query = {k: fill(v, context) for k, v in endpoint.query.items()}
    query = {k: as_text(v) for k, v in query.items() if v not in (None, "")}
    url = base_url.rstrip("/") + path + (("?" + encode_query(query)) if query else "")
    headers = {**connector.default_headers, **{k: fill(v, context) for k, v in endpoint.headers.items()}}
    if body is None and endpoint.body is not None:
        body = fill(endpoint.body, context)
    request = Request(kind, object_name, endpoint.method, url, headers, body, refs or [])
    hooks().crmsync_adjust_request(connector=connector, request=request)
    return request


_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
# each byte (as a latin-1 character) -> what urllib.parse.quote_plus(safe="") makes of it
_QUOTE_PLUS = [chr(b) if b in _SAFE else "+" if b == 0x20 else f"%{b:02X}" for b in range(256)]


def quote_plus(text: str) -> str:
    """urllib.parse.quote_plus(text, safe=""), by one translation of the UTF-8 bytes instead of a
    Python call per byte: a SOQL look-up's query string is thousands of bytes, percent-encoded at
    each step of fitting it under the URL length limit."""
    return text.encode("utf-8").decode("latin-1").translate(_QUOTE_PLUS)


def encode_query(query: dict[str, str]) -> str:
    """urllib.parse.urlencode(query), with `quote_plus`."""
    return "&".join(f"{quote_plus(key)}={quote_plus(value)}" for key, value in query.items())


def render_batches(connector: ConnectorSpec, kind: EndpointName, object_name: str,
                   items: Iterable[tuple[str, dict[str, Any]]], base_url: str,
                   endpoint: Endpoint | None = None) -> list[Request]:
    """Write requests for `items` (ref, item context), in chunks of the endpoint's batch limit; an
    endpoint without `batch` gets one request per item, its body rendered from the item's context.
    `items` is read a chunk at a time: an item's context lives only until its chunk is rendered.
    `endpoint`: one other than the object's of that kind (a relation's own). An item's `fields` are
    rendered as the wire carries them (values.to_wire)."""
    endpoint = endpoint or endpoint_for(connector, object_name, kind)
    if endpoint is None:
        raise ValueError(f"{connector.name} has no {kind} endpoint for {object_name}")
    obj = connector.objects[object_name]
    context = base_context(connector, obj)
    if shapes_writes(obj):
        items = ((ref, {**item, "fields": to_wire(obj, item["fields"])} if "fields" in item else item)
                 for ref, item in items)
    if endpoint.escape:
        items = ((ref, {**item, **{name: escape(str(item[name]), connector.literal)
                                   for name in endpoint.escape if name in item}}) for ref, item in items)
    if endpoint.batch is None:
        return [build_request(connector, kind, object_name, endpoint, {**context, **item}, base_url, [ref])
                for ref, item in items]
    requests = []
    size = endpoint.batch.max
    render_item = compile_template(endpoint.item)
    remaining = iter(items)
    while chunk := list(islice(remaining, size)):
        rendered = [render_item({**context, **item}) for _, item in chunk]
        chunk_context = {**context, **chunk[0][1], endpoint.batch.items: rendered}
        requests.append(build_request(connector, kind, object_name, endpoint, chunk_context, base_url,
                                      [ref for ref, _ in chunk]))
    return requests


# ----- look-ups ---------------------------------------------------------------------------------

def escape(value: str, literal: LiteralSyntax, *, like: bool = False) -> str:
    return escaper(literal, like=like)(value)


def escaper(literal: LiteralSyntax, *, like: bool = False) -> Callable[[str], str]:
    """`escape` for many values of one literal syntax, its table looked up once."""
    table, special = _translation(tuple(literal.escapes.items()),
                                  tuple(literal.like_escapes.items()) if like else ())
    if special is None:
        return str
    search = special.search
    return lambda value: value.translate(table) if search(value) else value


@cache
def _translation(escapes: tuple[tuple[str, str], ...],
                 like_escapes: tuple[tuple[str, str], ...]) -> tuple[dict[int, str], re.Pattern[str] | None]:
    """The escapes as a str.translate table, built once per literal syntax: each character is replaced
    on its own (a replacement is never escaped again); keys longer than one character never match.
    With it, a pattern of the characters it replaces: most values hold none, and a search is cheaper
    than a translation."""
    table = {ord(ch): out for ch, out in (*escapes, *like_escapes) if len(ch) == 1}
    special = re.compile("[" + "".join(re.escape(chr(code)) for code in table) + "]") if table else None
    return table, special


def condition(literal: LiteralSyntax, field_name: str, values: list[str], contains: bool) -> str:
    """The query-language condition matching `field_name` against `values`, every value escaped."""
    quote = literal.quote
    if contains:
        like_escape = escaper(literal, like=True)
        parts = [literal.contains.format(field=field_name, like_escaped=e,
                                         like_literal=f"{quote}%{e}%{quote}")
                 for e in map(like_escape, values)]
        return literal.join.join(parts)
    escaped = list(map(escaper(literal), values))  # once per value: a look-up holds hundreds
    literals = [f"{quote}{e}{quote}" for e in escaped]
    if literal.exact_many and len(values) > 1:
        return literal.exact_many.format(field=field_name, literals=literal.list_separator.join(literals))
    return literal.join.join(literal.exact.format(field=field_name, literal=lit, escaped=e)
                             for e, lit in zip(escaped, literals, strict=True))


def render_lookups(connector: ConnectorSpec, object_name: str, field_name: str, values: list[str],
                   select: list[str], contains: bool, base_url: str) -> list[Request]:
    """Batched look-ups of `values` in `field_name`, split by the endpoint's value and URL limits."""
    endpoint = endpoint_for(connector, object_name, "lookup")
    assert endpoint is not None  # required by the spec language
    obj = connector.objects[object_name]
    field_name, select = query_name(obj, field_name), [query_name(obj, name) for name in select]
    requests: list[Request] = []
    limit = endpoint.max_values or len(values) or 1

    uses_match = "match" in placeholders([endpoint.path, endpoint.query, endpoint.headers, endpoint.body])
    render_value = compile_template(endpoint.value_item) if endpoint.value_item is not None else None

    def make(chunk_values: list[str]) -> Request:
        rendered = [render_value({"value": v}) for v in chunk_values] if render_value else chunk_values
        match = condition(connector.literal, field_name, chunk_values, contains) if uses_match else ""
        context = {**base_context(connector, obj), "field": field_name, "values": rendered, "fields": select,
                   "match": match}
        request = build_request(connector, "lookup", object_name, endpoint, context, base_url)
        request.values = chunk_values
        return request

    if not (endpoint.max_url_length or endpoint.max_body_length):
        return [make(values[at:at + limit]) for at in range(0, len(values), limit)]
    size_of = _SizeModel(values, endpoint, _length(make([]), endpoint))
    start = 0
    while start < len(values):
        size = min(limit, len(values) - start)
        guess = size_of.most_fitting(start, size)
        if guess is None or guess >= size:  # no estimate yet, or all are estimated to fit
            request = make(values[start:start + size])
            if size > 1 and _too_long(request, endpoint):
                size_of.learn(start, size, request)
                size, request = _longest_fitting(lambda n, at=start: make(values[at:at + n]), endpoint,
                                                 size - 1,
                                                 min(size_of.most_fitting(start, size) or 1, size - 1))
        else:
            size, request = _longest_fitting(lambda n, at=start: make(values[at:at + n]), endpoint,
                                             size, guess)
        size_of.learn(start, size, request)
        requests.append(request)
        start += size
    return requests


class _SizeModel:
    """Estimates how many values fit under a look-up's length limit: a request's length is close to a
    fixed part (the request with no value) plus, per value, its own encoded length and an overhead
    (quotes, separators, the operator) learnt from the requests made so far. The estimate is only a
    starting point; `_longest_fitting` checks it by rendering."""

    def __init__(self, values: list[str], endpoint: Endpoint, fixed: int) -> None:
        self.endpoint, self.fixed = endpoint, fixed
        self.overhead: float | None = None
        self.room = endpoint.max_url_length or endpoint.max_body_length or 0
        if endpoint.max_url_length:
            sizes = (len(quote_plus(value)) for value in values)
        else:
            sizes = (len(json.dumps(value, ensure_ascii=False)) for value in values)
        self.cumulative = list(accumulate(sizes, initial=0))

    def learn(self, start: int, size: int, request: Request) -> None:
        own = self.cumulative[start + size] - self.cumulative[start]
        self.overhead = max(0.0, (_length(request, self.endpoint) - self.fixed - own) / size)

    def most_fitting(self, start: int, most: int) -> int | None:
        """The most values from `start` (at most `most`) estimated to fit, or None before any estimate."""
        if self.overhead is None:
            return None
        low, high = 1, most  # bisect: the estimate only grows with the values
        while low < high:
            middle = (low + high + 1) // 2
            length = (self.fixed + self.cumulative[start + middle] - self.cumulative[start]
                      + middle * self.overhead)
            if length <= self.room:
                low = middle
            else:
                high = middle - 1
        return low


def _longest_fitting(make: Callable[[int], Request], endpoint: Endpoint, most: int,
                     guess: int) -> tuple[int, Request]:
    """The most values (at most `most`, at least one) whose request is not too long. A request only
    grows with its values, so this gallops from `guess` (the last chunk's size, which the next one is
    usually at or near: two requests made) up or down to a bracket, then bisects it. One value alone
    is sent even when too long."""
    size = min(max(guess, 1), most)
    request = make(size)
    step = 1
    if not _too_long(request, endpoint):
        while size < most:
            larger = min(size + step, most)
            attempt = make(larger)
            if _too_long(attempt, endpoint):
                return _bisect(make, endpoint, size, larger, request)
            size, request, step = larger, attempt, step * 2
        return size, request
    too_many = size
    while size > 1:
        smaller = max(size - step, 1)
        request = make(smaller)
        if not _too_long(request, endpoint):
            return _bisect(make, endpoint, smaller, too_many, request)
        too_many = size = smaller
        step *= 2
    return 1, request  # one value alone, sent even when too long


def _bisect(make: Callable[[int], Request], endpoint: Endpoint, fits: int, too_many: int,
            fitting: Request) -> tuple[int, Request]:
    """Between `fits` values (whose request `fitting` is not too long) and `too_many`."""
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        request = make(middle)
        if _too_long(request, endpoint):
            too_many = middle
        else:
            fits, fitting = middle, request
    return fits, fitting


def _room(endpoint: Endpoint) -> int:
    return endpoint.max_url_length or endpoint.max_body_length or 1


FULL_LENGTH = 0.95  # a look-up this near its endpoint's length limit holds about as many values as fit


def lookup_full(connector: ConnectorSpec, request: Request) -> bool:
    """Whether a look-up holds as many values as its endpoint takes: its value limit, or nearly its
    length limit (an endpoint with neither takes all the values in one request)."""
    endpoint = endpoint_for(connector, request.object, "lookup")
    assert endpoint is not None
    if endpoint.max_values and len(request.values) >= endpoint.max_values:
        return True
    if endpoint.max_url_length or endpoint.max_body_length:
        limit = endpoint.max_url_length or endpoint.max_body_length
        return _length(request, endpoint) >= FULL_LENGTH * limit  # type: ignore[operator]
    return not endpoint.max_values


def _length(request: Request, endpoint: Endpoint) -> int:
    """The measure a limit applies to: the URL's length, or else the body's."""
    if endpoint.max_url_length:
        return len(request.url)
    return len(json.dumps(request.body, ensure_ascii=False, separators=(",", ":"))) if request.body else 1


def _too_long(request: Request, endpoint: Endpoint) -> bool:
    if endpoint.max_url_length and len(request.url) > endpoint.max_url_length:
        return True
    body_length = (len(json.dumps(request.body, ensure_ascii=False, separators=(",", ":")))
                   if request.body else 0)
    return bool(endpoint.max_body_length and body_length > endpoint.max_body_length)
