"""The local side: the source records of every stream that becomes a given CRM object, mapped by the
profile (so they are compared in the CRM's field names), with their match features."""

from __future__ import annotations

from pathlib import Path

from engine.catalog import ProfileBundle
from engine.mapping import MappedRecord, compile_profile
from engine.match import ref
from engine.pull.candidates import Local
from engine.pull.features import FeatureFields, local_features
from engine.read import read_stream


def streams_of(bundle: ProfileBundle, object_name: str) -> list[str]:
    return [name for name, spec in bundle.profile.model.streams.items() if spec.object == object_name]


def local_records(bundle: ProfileBundle, source_dir: Path, object_name: str) -> dict[str, MappedRecord]:
    """ref (stream/source id) -> the mapped record, for every readable record with a source id."""
    compiled = compile_profile(bundle.profile.model)
    found: dict[str, MappedRecord] = {}
    for stream in streams_of(bundle, object_name):
        spec = bundle.profile.model.streams[stream]
        for source in read_stream(source_dir, stream, spec.file):
            mapped = compiled[stream].map(source)
            if source.error is None and not mapped.source_id.startswith("@"):
                found.setdefault(ref(stream, mapped.source_id), mapped)
    return found


def indexed(bundle: ProfileBundle, spec: FeatureFields, records: dict[str, MappedRecord]) -> list[Local]:
    connector = bundle.connector.model
    return [Local(key, local_features(connector, spec, record)) for key, record in records.items()]
