"""Get Records' `If-Modified-Since` header: an ISO 8601 time (`2019-07-25T15:26:49+05:30`); only the
records modified after it are listed, and 304 Not Modified (no body) answers when none was (Get Records,
"Request Headers" and "Response" of the API reference)."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.sandbox.zoho_records import ApiError


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def modified_since(header: str | None) -> datetime | None:
    """The header's time, None without it; a time Zoho cannot read is refused."""
    if header is None:
        return None
    try:
        return parse_time(header.strip())
    except ValueError:
        raise ApiError(400, "INVALID_DATA", "invalid data", {"header_name": "If-Modified-Since"}) from None


__all__ = ["modified_since", "parse_time"]
