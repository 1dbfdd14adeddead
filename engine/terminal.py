"""Text from source data, the CRM or a user's files, as a terminal may show it: an ESC sequence could
recolour, move the cursor or retitle the window, a bidi override (U+202E) reorders what follows, and
rich markup (`[red]`) would be obeyed. Each is shown as its escape (`\\x1b`, `\\u202e`) or as text, as the
HTML report escapes what it shows."""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape

# C0 and C1 controls (newline and tab too: a value is shown on its line), and the bidi controls
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(value: Any) -> str:
    """`value` as text safe to print with rich: controls escaped, markup shown as written."""
    text = value if isinstance(value, str) else str(value)
    return escape(UNSAFE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text))
