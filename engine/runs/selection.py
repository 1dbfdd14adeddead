"""A small batch first: `--limit N` (the first N records with something to write, in the order the plan
decides them, parents before their children) and `--only REF...` (those records). Applied to each stream
as it is decided, before anything of it is sent; what is held back is counted by why, never dropped
silently. A record whose parent is to be created but held back is held back too: sent alone it would be
created without its parent, or refused for it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine.catalog import ProfileBundle
from engine.errors import UsageError
from engine.plan import PlannedRecord

WRITES = ("net_new", "update")
SAID = 5  # records named in a message before "and N more"


@dataclass
class BatchSelection:
    limit: int | None = None
    only: frozenset[str] | None = None
    held_back: dict[str, int] = field(default_factory=dict)  # why -> how many: limit, only, parent_not_sent
    orphans: list[str] = field(default_factory=list)  # refs held back because their parent was
    kept: int = 0  # records with something to write that the batch sends
    _held: set[str] = field(default_factory=set)

    @property
    def active(self) -> bool:
        return self.limit is not None or self.only is not None

    def __call__(self, stream: str, records: list[PlannedRecord]) -> None:
        """Keep the batch's records of a decided stream (in place); count the others."""
        if not self.active:
            return
        kept = []
        for record in records:
            why = self.hold(record)
            if why is None:
                kept.append(record)
                self.kept += record.status in WRITES
                continue
            self._held.add(record.ref)
            self.held_back[why] = self.held_back.get(why, 0) + 1
            if why == "parent_not_sent":
                self.orphans.append(record.ref)
        records[:] = kept

    def hold(self, record: PlannedRecord) -> str | None:
        if self.only is not None and record.ref not in self.only:
            return "only"
        if any(not parent_id and parent_ref in self._held for _, parent_ref, parent_id in record.parents):
            return "parent_not_sent"
        if self.limit is not None and (record.status not in WRITES or self.kept >= self.limit):
            return "limit"
        return None

    def notice(self) -> str | None:
        """What the run (or the plan) held back, for the summary; None when it held nothing back."""
        if not self.active or not self.held_back:
            return None
        held = sum(self.held_back.values())
        parts = [f"{n:,} by {'--' + why if why != 'parent_not_sent' else 'a parent not sent'}"
                 for why, n in sorted(self.held_back.items())]
        text = f"{held:,} record(s) held back ({', '.join(parts)}): nothing of them was sent"
        if self.orphans:
            text += (f"; held back because their parent, to be created, was not sent: {named(self.orphans)}"
                     " (give the parent too)")
        return text


def named(refs: list[str]) -> str:
    more = len(refs) - SAID
    return ", ".join(refs[:SAID]) + (f" and {more:,} more" if more > 0 else "")


def parse_refs(refs: Iterable[str], bundle: ProfileBundle) -> frozenset[str]:
    """`stream/source_id` refs, as the engine writes them; a malformed one or an unknown stream is bad
    usage."""
    streams = bundle.profile.model.streams
    out = set()
    for given in refs:
        stream, slash, source_id = given.partition("/")
        if not slash or not source_id:
            raise UsageError(f"--only {given}: not a record ref; write it stream/source_id (as crmsync log "
                             "and the plan name records), e.g. employer/e1")
        if stream not in streams:
            raise UsageError(f"--only {given}: the profile has no stream {stream!r} (its streams: "
                             f"{', '.join(streams)})")
        out.add(f"{stream}/{source_id}")
    return frozenset(out)


def missing_refs(bundle: ProfileBundle, source: Path, refs: frozenset[str]) -> list[str]:
    """The refs whose record the source does not hold (read before anything is sent)."""
    from engine.mapping import compile_profile
    from engine.read import read_stream

    compiled = compile_profile(bundle.profile.model)
    wanted: dict[str, set[str]] = {}
    for ref in refs:
        stream, _, source_id = ref.partition("/")
        wanted.setdefault(stream, set()).add(source_id)
    missing = []
    for stream, ids in wanted.items():
        spec = bundle.profile.model.streams[stream]
        found = {str(v) for record in read_stream(source, stream, spec.file)
                 if (v := compiled[stream].id_of(record.data)) is not None}
        missing += sorted(f"{stream}/{i}" for i in ids - found)
    return missing


def batch_selection(bundle: ProfileBundle, source: Path, limit: int | None,
                    only: Iterable[str] | None) -> BatchSelection:
    """The batch `--limit`/`--only` ask for; an --only ref the source does not hold is bad usage."""
    if limit is not None and limit < 1:
        raise UsageError(f"--limit {limit}: give the number of records to send, 1 or more")
    refs = parse_refs(only, bundle) if only else None
    if refs and (missing := missing_refs(bundle, source, refs)):
        raise UsageError(f"--only: no such record in {source}: {named(missing)} (refs are stream/source_id)")
    return BatchSelection(limit=limit, only=refs)
