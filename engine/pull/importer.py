"""Import: CRM records that are New become local records of a stream (the profile's
`pull.<object>.import_as`, or `--as STREAM`), written as JSON Lines in the source streams' shape, one file
per stream, with a stable id that records the CRM id (`<connector>-<crm id>`), and linked at once. A record
is written before it is linked, and a record already in its file is not written again: an import killed
in between, run again, links what it wrote and writes nothing twice. `--with-companies`: a contact's
company comes along, imported when it is New, linked when its best candidate is confident."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.match import ref
from engine.pull.decisions import ACCEPT_BEST_MIN, Decider, DecisionUsage, Outcome
from engine.pull.reverse import StreamBack, local_shape, parent_of, stream_back
from engine.pull.state import KnownMatch, known_matches, pulled


class Importer:
    def __init__(self, decider: Decider, out_dir: Path) -> None:
        self.decider, self.out_dir = decider, out_dir
        self.bundle = decider.bundle
        self.matches = {(m.object, m.crm_id): m for m in known_matches(decider.store, decider.profile)}
        self.fields: dict[str, dict[str, dict[str, Any]]] = {}
        self.outcome = Outcome("import")
        self.written: dict[Path, set[Any]] = {}  # ids in each stream file written to

    def stream_for(self, object_name: str, as_stream: str | None) -> str:
        streams = self.bundle.profile.model.streams
        declared = self.bundle.profile.model.pull.get(object_name)
        stream = as_stream or (declared.import_as if declared else None)
        if stream is None:
            raise DecisionUsage(f"no stream to import {object_name} records as: give --as STREAM, or "
                                f"pull.{object_name}.import_as in the profile")
        if stream not in streams or streams[stream].object != object_name:
            fitting = [n for n, s in streams.items() if s.object == object_name]
            raise DecisionUsage(f"--as {stream}: {object_name} records are imported as one of "
                                f"{', '.join(fitting)}")
        return stream

    def selection(self, crm_ids: list[str], object_name: str | None) -> list[KnownMatch]:
        """The named records (each known from the last pull) or, with none named, every New one."""
        if not crm_ids:
            return [m for m in self.matches.values() if m.status == "new"
                    and (object_name is None or m.object == object_name)]
        by_id: dict[str, list[KnownMatch]] = {}  # one look-up per id named (the review app names many)
        for (o, c), m in self.matches.items():
            if object_name is None or o == object_name:
                by_id.setdefault(c, []).append(m)
        chosen = []
        for crm_id in crm_ids:
            found = by_id.get(crm_id, [])
            if not found:
                self.outcome.refused.append((crm_id, "not among the records of the last pull: pull first"))
            chosen.extend(found)
        return chosen

    def run(self, selection: list[KnownMatch], as_stream: str | None, with_companies: bool) -> Outcome:
        for match in selection:
            if self.decider.linked_to(match.object, match.crm_id):
                self.outcome.skipped.append(match.crm_id)
                continue
            if match.status == "match_found":
                best = match.candidates[0]
                self.outcome.refused.append((match.crm_id, f"{len(match.candidates)} local record(s) may be "
                                             f"it (best {best['ref']}, score {best['score']:.2f}): link it "
                                             "(crmsync link) rather than import it twice"))
                continue
            stream = self.stream_for(match.object, as_stream)
            self.bring(match.object, match.crm_id, stream, with_companies)
        return self.outcome

    def bring(self, object_name: str, crm_id: str, stream: str, with_parents: bool) -> str:
        """Write and link one record (and, `with_parents`, its parents first); its local ref."""
        fields = self.record_fields(object_name).get(crm_id, {})
        back = stream_back(self.bundle, stream)
        parents = self.parents(back, fields, crm_id) if with_parents else self.linked_parents(back)
        local_id = f"{self.bundle.connector.model.name}-{crm_id}"
        self.write(stream, local_shape(back, fields, local_id, parents))
        local_ref = ref(stream, local_id)
        refused = self.decider.link(crm_id, local_ref, action="import")
        if refused:
            self.outcome.refused.append((crm_id, refused))
        else:
            self.outcome.done.append((crm_id, local_ref))
        return local_ref

    def parents(self, back: StreamBack, fields: dict[str, Any], crm_id: str) -> dict[tuple[str, str], str]:
        """Each parent of the record linked (its best candidate, when confident) or imported."""
        spec = self.bundle.profile.model.streams[back.stream]
        if len(back.parents) < len(spec.parents):
            unread = [p.stream for p in spec.parents if p.stream not in {b[2] for b in back.parents}]
            self.outcome.refused.append((crm_id, f"its {', '.join(unread)} cannot come along: the CRM's "
                                         f"{spec.object} records do not say it in a field (an association); "
                                         "the record is imported without it"))
        for _, field_name, parent_stream in back.parents:
            parent_id = parent_of(fields, field_name)
            parent_object = self.bundle.profile.model.streams[parent_stream].object
            match = self.matches.get((parent_object, str(parent_id))) if parent_id else None
            if match is None or self.decider.linked_to(parent_object, match.crm_id):
                continue
            best = match.candidates[0] if match.candidates else None
            if best and best["score"] >= ACCEPT_BEST_MIN and best["ref"].startswith(f"{parent_stream}/"):
                refused = self.decider.link(match.crm_id, best["ref"])
                if not refused:
                    self.outcome.done.append((match.crm_id, best["ref"]))
            elif match.status == "new":
                self.bring(parent_object, match.crm_id, parent_stream, False)
        return self.linked_parents(back)

    def linked_parents(self, back: StreamBack) -> dict[tuple[str, str], str]:
        streams = {p[2] for p in back.parents}
        return {(lk.stream, lk.crm_id): lk.source_id for lk in self.decider.links.values()
                if lk.stream in streams}

    def record_fields(self, object_name: str) -> dict[str, dict[str, Any]]:
        if object_name not in self.fields:
            self.fields[object_name] = pulled(self.decider.store, self.decider.profile, object_name)
        return self.fields[object_name]

    def write(self, stream: str, record: dict[str, Any]) -> None:
        """Append the record to the stream's file unless a record of its id is there already."""
        spec = self.bundle.profile.model.streams[stream]
        jsonl = spec.file if spec.file and spec.file.endswith((".jsonl", ".ndjson")) else f"{stream}.jsonl"
        path = self.out_dir / jsonl
        id_path = stream_back(self.bundle, stream).id_path
        if path not in self.written:
            lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
            self.written[path] = {_at(json.loads(line), id_path) for line in lines if line.strip()}
        record_id = _at(record, id_path)
        if record_id in self.written[path]:
            return
        self.written[path].add(record_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _at(record: Any, path: list[str]) -> Any:
    for key in path:
        record = record.get(key) if isinstance(record, dict) else None
    return record
