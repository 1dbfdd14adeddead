"""A saved plan read as a stream: its top-level keys are read whole, except its `records`, read one by
one into a temporary SQLite table (what `push --plan` compares each re-planned record with), and its
`requests`, passed over. Any JSON text of that shape is read (a plan written by any version), never the
whole file at once: a million records' plan is gigabytes."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from typing import Any, TextIO

READ = 1 << 20  # characters read at a time
SPACE = re.compile(r"[ \t\n\r]*")
NUMBER_GOES_ON = re.compile(r"[0-9.eE+\-]*\Z")  # what follows a number read before its end was
KEPT = ("status", "changes", "associate")  # what a push compares of a saved record


class SavedRecords:
    """ref (stream/source_id) -> the saved record's status, changes and associations; the last of a ref
    wins, as in a dict made of the list."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("")  # private, temporary, on disk
        self._db.execute("CREATE TABLE saved (ref TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID")
        self.count = 0

    def add(self, records: list[dict[str, Any]]) -> None:
        rows = ((f"{r.get('stream')}/{r.get('source_id')}", json.dumps({k: r[k] for k in KEPT if k in r}))
                for r in records if isinstance(r, dict))
        self._db.executemany("INSERT OR REPLACE INTO saved VALUES (?, ?)", rows)
        self.count += len(records)

    def get(self, ref: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT record FROM saved WHERE ref = ?", (ref,)).fetchone()
        return json.loads(row[0]) if row else None

    def __len__(self) -> int:
        return self.count


def cut_number(found: Any, buffer: str, end: int) -> bool:
    """Whether a number read at the buffer's end may go on in what is not read yet: `0.` read as 0, `12`
    of `125`; after a whole number comes a delimiter (or space)."""
    return (isinstance(found, int | float) and not isinstance(found, bool)
            and NUMBER_GOES_ON.match(buffer, end) is not None)


class Reader:
    """JSON values read from a text stream a buffer at a time (json.JSONDecoder.raw_decode on the
    buffer; a value cut by the buffer's end is read again with more)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.buffer, self.position, self.ended = stream, "", 0, False
        self.decoder = json.JSONDecoder()

    def fill(self) -> None:
        more = self.stream.read(READ)
        self.ended = not more
        self.buffer, self.position = self.buffer[self.position:] + more, 0

    def peek(self) -> str:
        while True:
            self.position = SPACE.match(self.buffer, self.position).end()  # type: ignore[union-attr]
            if self.position < len(self.buffer):
                return self.buffer[self.position]
            if self.ended:
                raise json.JSONDecodeError("unexpected end of the document", self.buffer, self.position)
            self.fill()

    def take(self, *allowed: str) -> str:
        char = self.peek()
        if char not in allowed:
            raise json.JSONDecodeError(f"expected {' or '.join(allowed)}", self.buffer, self.position)
        self.position += 1
        return char

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                found, end = self.decoder.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError:
                if self.ended:
                    raise
                self.fill()
                continue
            if not self.ended and cut_number(found, self.buffer, end):
                self.fill()
                continue
            self.position = end
            return found

    def items(self) -> Iterator[Any]:
        """The items of the array that starts here, one by one."""
        self.take("[")
        if self.peek() == "]":
            self.position += 1
            return
        while True:
            yield self.value()
            if self.take(",", "]") == "]":
                return


def read_saved_plan(stream: TextIO) -> dict[str, Any]:
    """The plan's top-level keys; `records` as SavedRecords, `requests` left out. A text that is not a
    JSON object raises json.JSONDecodeError."""
    reader = Reader(stream)
    plan: dict[str, Any] = {}
    reader.take("{")
    if reader.peek() == "}":
        return plan
    while True:
        key = reader.value()
        reader.take(":")
        if key == "records" and reader.peek() == "[":
            plan[key] = saved = SavedRecords()
            batch: list[Any] = []
            for item in reader.items():
                batch.append(item)
                if len(batch) == 1_000:
                    saved.add(batch)
                    batch = []
            saved.add(batch)
        elif key == "requests" and reader.peek() == "[":
            plan[key] = sum(1 for _ in reader.items())  # how many; a push sends what it re-plans
        else:
            plan[key] = reader.value()
        if reader.take(",", "}") == "}":
            return plan
