"""Check: each mapped value against its field's declared type and rules.

A value is coerced by its field's declared type, never guessed from the string. A bad value becomes
one problem naming the field, the value and the rule; the record is then `invalid` and never sent,
while the rest of its batch is unaffected.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any

from engine.connector import ConnectorSpec, FieldSpec, compile_regex
from engine.mapping import MappedRecord, Problem
from engine.plugins import first_result

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STATE_CODE = re.compile(r"^[A-Z]{2}$")
URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$", re.IGNORECASE)


class Refused(ValueError):
    """A value that breaks its field's rule; the message names the rule."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Checker:
    """Checks the records of one object against its fields, with what that needs worked out once, and
    gives each record's values as sent (the `crmsync_serialize_value` hook applied) in the same pass."""

    def __init__(self, connector: ConnectorSpec, fields: dict[str, FieldSpec],
                 required: list[str] | None = None) -> None:
        self.connector = connector
        self.fields = fields
        self.required = required_fields(fields) if required is None else required
        # plain text fields: checked inline (strip, then the length) without coerce()
        self.text_limits = {name: spec.max_length or 0 for name, spec in fields.items()
                            if spec.type in TEXT_TYPES and spec.pattern is None}

    def check(self, record: MappedRecord) -> dict[str, Any]:
        """Coerce each value of `record` in place, adding a problem for each value that breaks a rule;
        return the values that are not empty, as the CRM's API takes them."""
        adjust = first_result("crmsync_adjust_value", self.connector.name)
        serialize = first_result("crmsync_serialize_value", self.connector.name)
        connector, fields, text_limits, values = self.connector, self.fields, self.text_limits, record.values
        wired: dict[str, Any] = {}
        for name, value in values.items():  # only existing keys are set: the dict does not change size
            spec = fields.get(name)
            if spec is None or value is None:
                if type(value) not in _PLAIN and _holds_non_finite(value):
                    record.problems.append(_non_finite(record, name, value))
                elif value is not None and value != "":
                    wired[name] = value
                continue
            if adjust is not None:
                adjusted = adjust(connector, record.object, name, spec, value)
                value = value if adjusted is None else adjusted
            limit = text_limits.get(name)
            stripped = value.strip() if limit is not None and type(value) is str else None
            if stripped is not None and (not limit or len(stripped) <= limit):
                value = stripped
            else:
                try:
                    value = coerce(value, spec)
                except Refused as exc:
                    record.problems.append(Problem(name, exc.code, f"{record.stream} {record.source_id}: "
                                                                   f"{name}: {_show(value)} {exc}"))
                    continue
            values[name] = value
            if value is None or value == "":
                continue
            if serialize is not None:
                out = serialize(connector, record.object, name, spec, value)
                value = value if out is None else out
                if type(value) not in _PLAIN and _holds_non_finite(value):  # a hook's own number
                    record.problems.append(_non_finite(record, name, value))
                    continue
            wired[name] = value
        for name in self.required:
            if name in values and values[name] in (None, ""):
                record.problems.append(Problem(name, "required",
                                               f"{record.stream} {record.source_id}: {name} "
                                               "is required and the source has no value"))
        return wired


def _non_finite(record: MappedRecord, name: str, value: Any) -> Problem:
    return Problem(name, "not_finite", f"{record.stream} {record.source_id}: {name}: {_show(value)} is not a "
                                       "finite number (NaN and infinity cannot be sent)")


_PLAIN = frozenset({str, int, bool})  # values that cannot hold a float (most of a record's)


def _holds_non_finite(value: Any) -> bool:
    """Whether a NaN or an infinity is in `value` (a float, or inside lists and dicts)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_holds_non_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_non_finite(item) for item in value)
    return False


def check_record(record: MappedRecord, connector: ConnectorSpec, fields: dict[str, FieldSpec],
                 required: list[str] | None = None) -> dict[str, Any]:
    """Check one record (`Checker` for many records of one object); return its values as sent."""
    return Checker(connector, fields, required).check(record)


def required_fields(fields: dict[str, FieldSpec]) -> list[str]:
    """The fields a new record must have a value for, in their order."""
    return [name for name, spec in fields.items() if spec.required and spec.creatable]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "...'"


def coerce(value: Any, spec: FieldSpec) -> Any:
    """The value as its field's type wants it, or Refused."""
    if spec.type in TEXT_TYPES and type(value) is str:  # _text, without two calls per value
        value = value.strip()
    else:
        value = COERCERS[spec.type](value, spec)
    if isinstance(value, str) and spec.max_length and len(value) > spec.max_length:
        raise Refused("too_long", f"is {len(value)} characters; the field takes at most {spec.max_length}")
    if spec.pattern is not None and isinstance(value, str) and value and \
            not compile_regex(spec.pattern).fullmatch(value):
        raise Refused("pattern", "breaks the field's rule: "
                                 f"{spec.pattern_message or 'it must match ' + spec.pattern}")
    return value


def _text(value: Any, spec: FieldSpec) -> str:
    if isinstance(value, list | dict):
        raise Refused("not_text", "is a list or mapping; a text field takes one value")
    return str(value).strip() if not isinstance(value, bool) else ("true" if value else "false")


def _picklist(value: Any, spec: FieldSpec) -> str | int:
    """An option named by its value or its label; what is kept (and sent) is the option's value."""
    text = _text(value, spec)
    option = spec.option_for(text)
    if option is not None:
        return option.value
    if spec.restricted:
        allowed = spec.option_labels()
        names = {str(o.value) for o in spec.options or []} | set(allowed)
        near = sorted(n for n in names if n.casefold() == text.casefold())
        hint = f" (did you mean {near[0]!r}? picklist values are case-sensitive)" if near else ""
        raise Refused("not_in_picklist", f"is not a value of this restricted picklist{hint}; allowed: "
                      f"{', '.join(allowed)}")
    return text


def _multipicklist(value: Any, spec: FieldSpec) -> str:
    items = value if isinstance(value, list) else str(value).split(";")
    return ";".join(str(_picklist(item, spec)) for item in items if str(item).strip())


def _url(value: Any, spec: FieldSpec) -> str:
    text = _text(value, spec)
    if not URL.match(text):
        raise Refused("bad_url", "is not a URL with http:// or https:// (add `transform: url`)")
    return text


def _email(value: Any, spec: FieldSpec) -> str:
    text = _text(value, spec)
    if not EMAIL.match(text):
        raise Refused("bad_email", "is not an email address")
    return text


def _date(value: Any, spec: FieldSpec) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = _text(value, spec)
    try:
        return dt.date.fromisoformat(text[:10]).isoformat() if len(text) >= 10 else _bad_date(text)
    except ValueError:
        raise Refused("bad_date", "is not a date (YYYY-MM-DD)") from None


def _bad_date(text: str) -> str:
    raise Refused("bad_date", "is not a date (YYYY-MM-DD)")


def _datetime(value: Any, spec: FieldSpec) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    text = _text(value, spec)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Refused("bad_datetime", "is not an ISO 8601 date-time") from None
    return parsed.isoformat()


def _month(value: Any, spec: FieldSpec) -> str:
    text = _text(value, spec)
    if text not in MONTHS:
        raise Refused("bad_month", "is not a month name (January ... December)")
    return text


def _state(value: Any, spec: FieldSpec) -> str:
    text = _text(value, spec)
    if not STATE_CODE.match(text):
        raise Refused("bad_state_code", "is not a two-letter state code (add `transform: state_code`)")
    return text


def _number(value: Any, spec: FieldSpec) -> int | float:
    if isinstance(value, bool):
        raise Refused("not_a_number", "is a boolean, not a number")
    if isinstance(value, int):
        return value
    number = value if isinstance(value, float) else _parsed_number(_text(value, spec))
    if not math.isfinite(number):  # JSON has no NaN nor infinity: a body would carry null or fail
        raise Refused("not_finite", "is not a finite number (NaN and infinity cannot be sent)")
    return number if value is number or not number.is_integer() else int(number)


def _parsed_number(text: str) -> float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        raise Refused("not_a_number", "is not a number") from None


def _integer(value: Any, spec: FieldSpec) -> int:
    number = _number(value, spec)
    if isinstance(number, float):
        raise Refused("not_an_integer", "is not a whole number")
    return number


def _boolean(value: Any, spec: FieldSpec) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value, spec).lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise Refused("not_a_boolean", "is not true or false")


def _not_writable(value: Any, spec: FieldSpec) -> Any:
    raise Refused("not_writable", f"cannot be written: the field is {spec.type}")


TEXT_TYPES = frozenset({"string", "text", "phone"})
COERCERS: dict[str, Callable[[Any, FieldSpec], Any]] = {
    "string": _text, "text": _text, "phone": _text, "picklist": _picklist, "multipicklist": _multipicklist,
    "url": _url, "email": _email, "date": _date, "datetime": _datetime, "month_name": _month,
    "state_code": _state, "number": _number, "integer": _integer, "boolean": _boolean,
    "id": _not_writable, "reference": _not_writable,
}
