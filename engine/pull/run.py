"""`crmsync pull` as one call: fetch each object's records into the store, then match every pulled
record against the local records: linked (a link ties it to a local record, the push's own), match_found
(ranked candidates) or new."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.account import learn_org
from engine.address import Given, resolve_address
from engine.catalog import ProfileBundle, connection_settings, load_profile
from engine.client import Credentials, open_client
from engine.errors import CrmsyncError
from engine.gcpause import collector_paused
from engine.match import ref
from engine.pull.candidates import Candidate, LocalIndex
from engine.pull.features import crm_features, feature_fields
from engine.pull.fetch import Fetched, fetch_object, require_list
from engine.pull.local import indexed, local_records, streams_of
from engine.pull.reverse import local_shape, stream_back
from engine.pull.state import forget_pulls, pulled, save_matches
from engine.state import StateStore, default_state_dir, open_store
from engine.state.orgs import Org, bind_org
from engine.templating import fill

STATUSES = ("match_found", "new", "linked")


class PullUsage(CrmsyncError):
    exit_code = 2


@dataclass
class PulledRecord:
    object: str
    crm_id: str
    status: str
    values: dict[str, Any]
    candidates: list[Candidate] = field(default_factory=list)
    linked_to: str | None = None
    record_url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"object": self.object, "crm_id": self.crm_id, "status": self.status, "values": self.values,
                "candidates": [c.as_dict() for c in self.candidates], "linked_to": self.linked_to,
                "record_url": self.record_url}


@dataclass
class PullResult:
    profile: str
    connector: str
    records: list[PulledRecord]
    fetched: list[Fetched] = field(default_factory=list)
    requests: int = 0

    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for record in self.records:
            counts[record.status] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "connector": self.connector, "summary": self.summary(),
                "fetched": [vars(f) for f in self.fetched], "requests": self.requests,
                "records": [r.as_dict() for r in self.records]}


def pulled_objects(bundle: ProfileBundle, object_name: str | None) -> list[str]:
    """The objects the profile's streams become, in stream order (or the one asked for)."""
    objects = list(dict.fromkeys(s.object for s in bundle.profile.model.streams.values()))
    if object_name is None:
        return objects
    if object_name not in objects:
        raise PullUsage(f"--object {object_name}: the profile's streams become {', '.join(objects)}")
    return [object_name]


def run_pull(profile_path: Path, source_dir: Path, *, base_url: str | None = None,
             object_name: str | None = None, state_dir: Path | None = None,
             credentials_file: Path | None = None, full: bool = False) -> PullResult:
    bundle = load_profile(profile_path)
    objects = pulled_objects(bundle, object_name)
    for name in objects:  # before any request is sent
        require_list(bundle.connector.model, name)
    state_dir = state_dir or default_state_dir()
    credentials = Credentials.load(credentials_file, state_dir=state_dir, names=bundle.credential_names)
    address = resolve_address(bundle, credentials, Given(base_url, "--base-url") if base_url else None)
    store = open_store(state_dir)
    try:
        def bind(org: Org) -> None:  # once the org is known, before anything is pulled into its state
            bind_org(store, bundle.profile.model.name, org)
            if full:
                forget_pulls(store, bundle.profile.model.name)
        fetched, requests = asyncio.run(_fetch(bundle, objects, address, credentials, store, bind))
        records = [r for o in objects for r in match_object(bundle, store, source_dir, o, address)]
    finally:
        store.close()
    return PullResult(bundle.profile.model.name, bundle.connector.model.name, records, fetched, requests)


async def _fetch(bundle: ProfileBundle, objects: list[str], address: str, credentials: Credentials,
                 store: StateStore, bind: Callable[[Org], None]) -> tuple[list[Fetched], int]:
    connector = bundle.connector.model
    connection = connection_settings(connector, bundle.profile.model.connection, address)
    async with open_client(connector, address, credentials, connection=connection,
                           daily_reserve=0.0) as client:
        bind(await learn_org(client, address))
        fetched = await asyncio.gather(*(fetch_object(connector, o, selected(bundle, o), client, store,
                                                      bundle.profile.model.name) for o in objects))
        return list(fetched), client.sent


def selected(bundle: ProfileBundle, object_name: str) -> list[str]:
    """The fields a pull reads: the object's id, every field a stream of it maps or is identified by,
    the relations' fields (a contact's company) and those its records are matched by."""
    obj = bundle.connector.model.objects[object_name]
    streams = [bundle.profile.model.streams[s] for s in streams_of(bundle, object_name)]
    names = [obj.id_field, *(t for s in streams for t in s.fields)]
    names += feature_fields(bundle, object_name).selected
    fields = {**obj.fields, **bundle.profile.model.custom_fields.get(object_name, {})}
    names = [n for n in names if n in fields or n == obj.id_field]
    return list(dict.fromkeys(names + [r.read_as for r in obj.relations.values() if r.read_as]))


def match_object(bundle: ProfileBundle, store: StateStore, source_dir: Path, object_name: str,
                 address: str) -> list[PulledRecord]:
    """Every pulled record of the object with its status and candidates (kept for `link`)."""
    profile, connector = bundle.profile.model, bundle.connector.model
    spec = feature_fields(bundle, object_name)
    links = {lk.crm_id: ref(lk.stream, lk.source_id) for lk in store.links(profile.name).values()
             if lk.object == object_name}
    taken = set(links.values())
    back = stream_back(bundle, default_stream(bundle, object_name))
    url = record_url_of(bundle, object_name, address)
    out = []
    with collector_paused():  # features of every record on both sides: many small objects that live on
        index = LocalIndex(indexed(bundle, spec, local_records(bundle, source_dir, object_name)))
        for crm_id, fields in pulled(store, profile.name, object_name).items():
            linked = links.get(crm_id)
            candidates = [] if linked else index.candidates(crm_features(connector, spec, fields), taken)
            status = "linked" if linked else "match_found" if candidates else "new"
            out.append(PulledRecord(object_name, crm_id, status, local_shape(back, fields, None),
                                    candidates, linked, url(crm_id)))
    save_matches(store, profile.name, object_name,
                 [(r.crm_id, r.status, [c.as_dict() for c in r.candidates]) for r in out])
    return out


def default_stream(bundle: ProfileBundle, object_name: str) -> str:
    declared = bundle.profile.model.pull.get(object_name)
    if declared and declared.import_as:
        return declared.import_as
    return streams_of(bundle, object_name)[0]


def record_url_of(bundle: ProfileBundle, object_name: str, address: str) -> Any:
    template = bundle.connector.model.objects[object_name].record_url
    connection = connection_settings(bundle.connector.model, bundle.profile.model.connection, address)
    return lambda crm_id: fill(template, {**connection, "id": crm_id}) if template else None
