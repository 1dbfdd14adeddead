"""HubSpot's property value rules and error bodies.

Error shape (https://developers.hubspot.com/docs/api-reference/error-handling): `{"status":"error",
"message", "correlationId", "category", ...}`. Invalid property values come back as 400
VALIDATION_ERROR whose `message` is "Property values were not valid: " followed by the JSON list of
per-property results (changelog "Property Validations Rules will be enforced for APIs", 2023).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from starlette.responses import JSONResponse

MAX_STRING = 65_536

# Error codes inside "Property values were not valid". INVALID_OPTION, PROPERTY_DOESNT_EXIST,
# INVALID_EMAIL, INVALID_DATE and LEADING_TRAILING_WHITESPACE are seen in HubSpot's own pages and
# captured payloads; the others are best guesses and live here so they are easy to change.
CODES = {
    "unknown": "PROPERTY_DOESNT_EXIST",
    "option": "INVALID_OPTION",
    "number": "INVALID_INTEGER",
    "date": "INVALID_DATE",
    "datetime": "INVALID_DATETIME",
    "bool": "INVALID_BOOLEAN",
    "email": "INVALID_EMAIL",
    "read_only": "READ_ONLY_VALUE",
    "too_long": "INVALID_LENGTH",
    "whitespace": "LEADING_TRAILING_WHITESPACE",
    "url": "INVALID_URL",
    "unique": "DUPLICATE_VALUE",
}

EMAIL_RE = re.compile(r"^[^\s@\"()<>,;:\\\[\]]+@(?:[^\s@\"()<>,;:\\\[\].]+\.)+[^\W\d_]{2,}$")
NUMBER_RE = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
URL_RE = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://[^\s/?#]+\.[^\s/?#]+([/?#]\S*)?$")


def correlation_id() -> str:
    return str(uuid.uuid4())


def error(status: int, category: str | None, message: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"status": "error", "message": message, "correlationId": correlation_id()}
    if category:
        body["category"] = category
    body.update(extra)
    return JSONResponse(body, status_code=status)


def validation_error(message: str, **extra: Any) -> JSONResponse:
    return error(400, "VALIDATION_ERROR", message, **extra)


def property_errors_message(problems: list[dict[str, Any]]) -> str:
    return "Property values were not valid: " + json.dumps(
        problems, separators=(",", ":"), ensure_ascii=False
    )


def property_errors_response(problems: list[dict[str, Any]]) -> JSONResponse:
    return validation_error(property_errors_message(problems))


def problem(kind: str, name: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": CODES[kind],
        "name": name,
        "localizedErrorMessage": message,
    }


class BadRequest(Exception):
    """Raised by handlers for a malformed request; becomes a 400 VALIDATION_ERROR."""

    def __init__(self, message: str, status: int = 400, category: str = "VALIDATION_ERROR") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.category = category

    def response(self) -> JSONResponse:
        return error(self.status, self.category, self.message)


# ----- value conversion -----------------------------------------------------------------------


def as_text(value: Any) -> str | None:
    """HubSpot property values travel as strings; JSON numbers and booleans are accepted too."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise BadRequest(f"Invalid input JSON: property values must be strings, got {json.dumps(value)}")


def iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_moment(text: str) -> datetime | None:
    """An ISO 8601 date/datetime or epoch milliseconds, in UTC; None if neither."""
    if re.fullmatch(r"-?\d{9,}", text):
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _check_date(name: str, text: str) -> tuple[str | None, dict[str, Any] | None]:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text).isoformat(), None
        except ValueError:
            return None, problem("date", name, f"{text} is not a valid date")
    moment = parse_moment(text)
    if moment is None:
        return None, problem("date", name, f"{text} is not a valid date")
    moment = moment.astimezone(UTC)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
        clock = f"{moment.hour}:{moment.minute}:{moment.second}.{moment.microsecond // 1000}"
        return None, problem("date", name, f"{text} is at {clock} UTC, not midnight!")
    return moment.date().isoformat(), None


def _check_enum(definition: dict[str, Any], text: str) -> dict[str, Any] | None:
    allowed = [o["value"] for o in definition["options"]]
    values = text.split(";") if definition["fieldType"] == "checkbox" else [text]
    for value in values:
        if value not in allowed:
            return problem(
                "option",
                definition["name"],
                f"{value} was not one of the allowed options: [{', '.join(allowed)}]",
            )
    return None


def _check_rules(definition: dict[str, Any], text: str) -> dict[str, Any] | None:
    for rule in definition.get("validationRules", []):
        if rule["ruleType"] == "URL":
            match = URL_RE.match(text)
            schemes = [s.lower() for s in rule.get("ruleArguments") or ["http", "https"]]
            if not match or match.group("scheme").lower() not in schemes:
                return problem(
                    "url",
                    definition["name"],
                    f"{text} is not a valid URL. Enter a full URL starting with "
                    f"{' or '.join(s + '://' for s in schemes)}",
                )
    return None


def check_value(definition: dict[str, Any], text: str) -> tuple[str, dict[str, Any] | None]:
    """(normalized value, problem or None) for a non-empty value of one property."""
    name, type_ = definition["name"], definition["type"]
    if type_ != "string" and text != text.strip():
        return text, problem("whitespace", name, f'"{text}" includes leading or trailing whitespace.')
    if type_ == "enumeration":
        return text, _check_enum(definition, text)
    if type_ == "number":
        ok = NUMBER_RE.match(text)
        return text, None if ok else problem("number", name, f"{text} was not a valid number.")
    if type_ == "bool":
        ok = text.lower() in ("true", "false")
        return text.lower(), None if ok else problem(
            "bool", name, f"{text} was not a valid boolean. Use true or false."
        )
    if type_ == "date":
        normalized, bad = _check_date(name, text)
        return normalized or text, bad
    if type_ == "datetime":
        moment = parse_moment(text)
        return (
            (iso_ms(moment), None)
            if moment
            else (text, problem("datetime", name, f"{text} is not a valid datetime"))
        )
    if len(text) > MAX_STRING:
        return text, problem(
            "too_long", name, f"Property value is too long: {len(text)} characters, maximum {MAX_STRING}"
        )
    if name == "email":
        text = text.strip().lower()
        if not EMAIL_RE.match(text):
            return text, problem("email", name, f"Email address {text} is invalid")
    return text, _check_rules(definition, text)
