"""The interactive walk of `crmsync link`: the Match Found records of the last pull one at a time, each
with its candidates; a number links to that candidate, `/TEXT` searches the local records (name, email,
website...: with --source), `s` skips, `q` stops. Nothing is linked but what the person chose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from engine.pull.decisions import Decider, Outcome
from engine.pull.local import local_records
from engine.pull.reverse import local_shape, stream_back
from engine.pull.run import default_stream
from engine.pull.state import KnownMatch, known_matches, pulled

MOST_FOUND = 9  # search results shown


class Walk:
    def __init__(self, decider: Decider, source: Path | None, object_name: str | None) -> None:
        self.decider, self.source = decider, source
        self.selection = [m for m in known_matches(decider.store, decider.profile, object_name)
                          if m.status == "match_found" and not decider.linked_to(m.object, m.crm_id)]
        self.outcome = Outcome("link")
        self.searchable: dict[str, dict[str, str]] = {}
        self.fields: dict[str, dict[str, dict[str, Any]]] = {}  # object -> crm id -> its pulled fields

    def run(self) -> Outcome:
        if not self.selection:
            typer.echo("no Match Found record waits for a decision (pull first)")
        for position, match in enumerate(self.selection, start=1):
            typer.echo(f"\n[{position}/{len(self.selection)}] {match.object} {match.crm_id}: "
                       f"{self.describe(match)}")
            if not self.one(match):
                break
        return self.outcome

    def describe(self, match: KnownMatch) -> str:
        bundle = self.decider.bundle
        if match.object not in self.fields:
            self.fields[match.object] = pulled(self.decider.store, self.decider.profile, match.object)
        fields = self.fields[match.object].get(match.crm_id, {})
        values = local_shape(stream_back(bundle, default_stream(bundle, match.object)), fields, None)
        return ", ".join(f"{k}={v}" for k, v in values.items() if not isinstance(v, dict | list))

    def one(self, match: KnownMatch) -> bool:
        """Decide one record; False when the person stops the walk."""
        choices = [c["ref"] for c in match.candidates]
        for number, candidate in enumerate(match.candidates, start=1):
            typer.echo(f"  {number}. {candidate['ref']} ({candidate['score']:.2f}): "
                       f"{'; '.join(candidate['reasons'])}")
        while True:
            answer = typer.prompt("link to [number], /search, s skip, q quit", default="s").strip()
            if answer == "q":
                return False
            if answer == "s":
                self.outcome.skipped.append(match.crm_id)
                return True
            if answer.startswith("/"):
                choices = self.search(match.object, answer[1:].strip()) or choices
                continue
            if answer.isdigit() and 1 <= int(answer) <= len(choices):
                refused = self.decider.link(match.crm_id, choices[int(answer) - 1])
                if refused:
                    typer.echo(f"  refused: {refused}")
                    continue
                self.outcome.done.append((match.crm_id, choices[int(answer) - 1]))
                return True
            typer.echo("  a number from the list, /TEXT, s or q")

    def search(self, object_name: str, text: str) -> list[str]:
        """Local records whose values hold `text` (case-insensitive), listed as the new choices."""
        if self.source is None:
            typer.echo("  searching needs the local records: run the walk with --source DIR")
            return []
        if object_name not in self.searchable:
            records = local_records(self.decider.bundle, self.source, object_name)
            self.searchable[object_name] = {ref: " ".join(str(v) for v in r.values.values() if v).casefold()
                                            for ref, r in records.items()}
        wanted = text.casefold()
        found = [ref for ref, hay in self.searchable[object_name].items() if wanted in hay][:MOST_FOUND]
        for number, ref in enumerate(found, start=1):
            typer.echo(f"  {number}. {ref}: {self.searchable[object_name][ref][:80]}")
        if not found:
            typer.echo(f"  no local {object_name} record holds {text!r}")
        return found
