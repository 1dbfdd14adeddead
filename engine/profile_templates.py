"""Profile templates: the sandboxed Jinja2 they run in, what is refused before any record is read, and
the bound on what one rendering may make.

Refused at load (`template_problems`, located by validate, and a plan will not start with them): a
template that loads another (`include`, `extends`, `import`: a profile's template stands alone, no
template file is ever read), `format_map` (the sandbox lets it fail with a bare TypeError), and a
constant expression that would build a value too large to hold (`'a' * 10**9`). At render time the
same bounds hold for values that come from the record: a `*` or `**` that would make a value past
MAX_VALUE_CHARS, a padding or format width past it, and the rendered text itself, which is refused
once it passes MAX_VALUE_CHARS, so the record alone is refused. Any other failure of a template on a
record (a division by zero, text plus a number) is a problem of that record's field, never a traceback.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

MAX_VALUE_CHARS = 1_048_576  # one field's text: more than any CRM field takes
MAX_INT_BITS = 13_000  # ~3,900 digits: Python will not print an integer past 4,300
_PADDING = {"center", "ljust", "rjust", "zfill", "expandtabs"}
_WIDE = re.compile(r"%[-+ #0]*\d{7,}|\{[^{}]*:[^{}]*\d{7,}[^{}]*\}")  # a width of a million or more
_LOADS = {nodes.Include: "include", nodes.Extends: "extends", nodes.Import: "import",
          nodes.FromImport: "import"}


def check_product(left: Any, right: Any) -> None:
    """Refuse `left * right` when it would make a value past the bounds, before it is made."""
    for seq, n in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(n, int) and len(seq) * n > MAX_VALUE_CHARS:
            raise SecurityError(f"a value of {len(seq) * n:,} items or characters is too large (at most "
                                f"{MAX_VALUE_CHARS:,})")
    if isinstance(left, int) and isinstance(right, int) and \
            left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise SecurityError("a number of more than 3,900 digits is too large")


def check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0 and \
            exponent * math.log2(abs(base)) > MAX_INT_BITS:
        raise SecurityError("a number of more than 3,900 digits is too large")


def check_format(text: Any) -> None:
    if isinstance(text, str) and _WIDE.search(text):
        raise SecurityError(f"a format width past {MAX_VALUE_CHARS:,} characters is too large")


class BoundedEnvironment(SandboxedEnvironment):
    """The sandbox with `*`, `**` and `%` checked before they run, padding and format widths bounded,
    and no template loader (a template that loads another finds none: TemplateNotFound)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=jinja2.StrictUndefined, autoescape=False, loader=jinja2.DictLoader({}))
        for name in ("range", "lipsum"):  # no unbounded loops or generated text from a profile
            self.globals.pop(name, None)
        self.filters.update({"center": _bounded_filter(self.filters["center"], "width"),
                             "indent": _bounded_filter(self.filters["indent"], "width"),
                             "format": _checked_format(self.filters["format"])})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            check_product(left, right)
        elif operator == "**":
            check_power(left, right)
        elif operator == "%":
            check_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name in _PADDING and any(isinstance(a, int) and a > MAX_VALUE_CHARS for a in args):
                raise SecurityError(f"{name}() past {MAX_VALUE_CHARS:,} characters is too large")
            if name in ("format", "format_map"):
                check_format(owner)
        return super().call(__context, __obj, *args, **kwargs)


def _bounded_filter(apply: Callable[..., Any], what: str) -> Callable[..., Any]:
    def bounded(value: Any, width: Any = 80, *args: Any, **kwargs: Any) -> Any:
        if isinstance(width, int) and width > MAX_VALUE_CHARS:
            raise SecurityError(f"a {what} past {MAX_VALUE_CHARS:,} characters is too large")
        return apply(value, width, *args, **kwargs)

    return bounded


def _checked_format(apply: Callable[..., Any]) -> Callable[..., Any]:
    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        check_format(value)
        return apply(value, *args, **kwargs)

    return checked


def render(template: jinja2.Template, data: dict[str, Any]) -> str:
    """The template rendered on one record, refused once its text passes MAX_VALUE_CHARS; any failure
    is a TemplateError (of this record's field)."""
    parts, size = [], 0
    try:
        for part in template.generate(**data):
            size += len(part)
            if size > MAX_VALUE_CHARS:
                raise SecurityError(f"the rendered value passes {MAX_VALUE_CHARS:,} characters")
            parts.append(part)
    except jinja2.TemplateError:
        raise
    except Exception as exc:  # a template's own failure on this record (1/0, 'a' + 1, a recursion)
        raise jinja2.TemplateRuntimeError(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return "".join(parts)


def template_problems(source: str, env: SandboxedEnvironment) -> tuple[nodes.Template | None,
                                                                        list[tuple[str, str]]]:
    """The parsed template (None if it does not parse) and its (code, message) problems."""
    try:
        tree = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        return None, [("bad_template", f"template syntax error: {exc.message} (template line {exc.lineno})")]
    return tree, list(_refused(tree))


def _refused(tree: nodes.Template) -> Iterator[tuple[str, str]]:
    for node in tree.find_all((nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)):
        tag = _LOADS[type(node)]
        yield ("template_loads", f"{{% {tag} %}} loads another template (template line {node.lineno}); a "
                                 "profile's template stands alone: no template file is read")
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Getattr) and call.node.attr == "format_map":
            yield ("template_format_map", f"format_map is not allowed (template line {call.lineno}); "
                                          "use format() with named arguments, or ~ to join text")
    for expr in tree.find_all((nodes.Mul, nodes.Pow, nodes.Mod)):
        try:
            _constant(expr)
        except SecurityError as exc:
            yield ("template_too_large", f"{exc} (template line {expr.lineno}); every record would fail")
            return


def _constant(node: nodes.Node) -> Any:
    """The value of a constant expression, its `*`, `**` and `%` checked on the way (SecurityError when
    too large); None when it is not constant, or fails otherwise (a problem of each record, then)."""
    if isinstance(node, nodes.Const):
        return node.value
    if not isinstance(node, nodes.Mul | nodes.Pow | nodes.Mod):
        return None
    left, right = _constant(node.left), _constant(node.right)
    if left is None or right is None:
        return None
    checks = {nodes.Mul: check_product, nodes.Pow: check_power, nodes.Mod: lambda a, _b: check_format(a)}
    checks[type(node)](left, right)
    try:
        return {nodes.Mul: lambda: left * right, nodes.Pow: lambda: left**right,
                nodes.Mod: lambda: left % right}[type(node)]()
    except Exception:  # noqa: BLE001 - 'a' ** 2 and the like fail on every record, where they are reported
        return None
