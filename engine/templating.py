"""Structural templates of connector specs: `$name` is replaced by a value of any type, `{name}` inside
a string by text, and a `$merge` key merges a mapping into its parent. Names are dotted (`vars.x`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_WHOLE = re.compile(r"\$([a-z_][a-z0-9_.]*)")
_INLINE = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")


class TemplateContextError(KeyError):
    pass


def resolve(context: dict[str, Any], name: str) -> Any:
    if "." not in name and name in context:  # the common case, without a split
        return context[name]
    value: Any = context
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            raise TemplateContextError(f"template placeholder {name!r} has no value here")
        value = value[part]
    return value


def as_text(value: Any, separator: str = ",") -> str:
    if isinstance(value, list | tuple):
        return separator.join(as_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _fill_text(text: str, context: dict[str, Any]) -> str:
    return _INLINE.sub(lambda m: as_text(resolve(context, m[1])), text)


def fill(template: Any, context: dict[str, Any]) -> Any:
    if isinstance(template, str):
        whole = _WHOLE.fullmatch(template)
        if whole:
            return resolve(context, whole[1])
        return _fill_text(template, context)
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key == "$merge":
                out.update(fill(value, context) or {})
            else:  # a key is text, as the load check reads it: `$filter` stays `$filter`
                out[_fill_text(key, context) if isinstance(key, str) else key] = fill(value, context)
        return out
    if isinstance(template, list):
        return [fill(v, context) for v in template]
    return template


def compile_template(template: Any) -> Callable[[dict[str, Any]], Any]:
    """`fill` with the template's structure read once: for a template filled for every record."""
    if isinstance(template, str):
        whole = _WHOLE.fullmatch(template)
        if whole:
            name = whole[1]
            return lambda context: resolve(context, name)
        if not _INLINE.search(template):
            return lambda context: template
        single = _INLINE.fullmatch(template)
        if single:  # "{id}": the one value as text, without a regex pass per call
            only = single[1]
            return lambda context: as_text(resolve(context, only))
        return lambda context: _INLINE.sub(lambda m: as_text(resolve(context, m[1])), template)
    if isinstance(template, dict):
        parts = [(None if key == "$merge" else compile_template(key), compile_template(value))
                 for key, value in template.items()]

        def build(context: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key, value in parts:
                if key is None:
                    out.update(value(context) or {})
                else:
                    out[key(context)] = value(context)
            return out

        return build
    if isinstance(template, list):
        items = [compile_template(v) for v in template]
        return lambda context: [item(context) for item in items]
    return lambda context: template


def placeholders(template: Any) -> set[str]:
    """The first name of every placeholder in a template (`vars` for `{vars.x}`)."""
    if isinstance(template, str):
        names = [m[1] for m in _INLINE.finditer(template)]
        whole = _WHOLE.fullmatch(template)
        return {n.split(".")[0] for n in (names + [whole[1]] if whole else names)}
    if isinstance(template, dict):
        return {n for k, v in template.items() for n in placeholders(k) | placeholders(v)}
    if isinstance(template, list):
        return {n for v in template for n in placeholders(v)}
    return set()
