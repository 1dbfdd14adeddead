"""Map: apply a profile's mappings to source records, giving target values per CRM object.

JSONPaths and templates are compiled once per profile (`compile_profile`), never per record.
Templates run in Jinja2's sandboxed environment with StrictUndefined: a missing variable is a problem
on that field, not a silently empty value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from engine.coverage import Present, Probe, StreamSource, presence
from engine.paths import finder, getter
from engine.profile import ConstantMapping, Mapping, Profile, SourceMapping, StreamSpec
from engine.profile_templates import BoundedEnvironment, render
from engine.read import SourceRecord
from engine.transforms import TRANSFORMS, TransformError


@dataclass(frozen=True, slots=True)
class Problem:
    field: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class ParentRef:
    stream: str
    source_id: str
    relation: str
    required: bool


@dataclass(slots=True)
class MappedRecord:
    stream: str
    source_id: str
    object: str
    where: str
    values: dict[str, Any] = field(default_factory=dict)  # target field -> value (None: nothing to write)
    identity: dict[str, list[Any]] = field(default_factory=dict)  # part -> raw values, current first
    # part -> how many of its leading values are current (from its first source path), for a part with
    # several paths (current and historical emails); a part not named here has only current values
    identity_current: dict[str, int] = field(default_factory=dict)
    parents: list[ParentRef] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skip_reason: str | None = None
    owner_email: str | None = None  # the email of the CRM user who owns the record (the profile's `owner`)


Extractor = Callable[[dict[str, Any]], Any]


def _environment() -> SandboxedEnvironment:
    return BoundedEnvironment()


def path_extractor(path: str) -> Extractor:
    """A compiled JSONPath: one match gives the value, several give a list, none gives None."""
    get = getter(path)
    if get is not None:
        return get
    find = finder(path)
    one_is_a_list = "[*]" in path

    def extract(data: dict[str, Any]) -> Any:
        found = find(data)
        if not found:
            return None
        return found[0] if len(found) == 1 and not one_is_a_list else found

    return extract


@dataclass
class CompiledField:
    target: str
    mapping: Mapping
    produce: Extractor
    transform: Callable[[Any], Any] | None = None  # the mapping's transform, bound to its arguments
    present: Present | None = None  # a source path: whether it finds anything (counted in `matched`)
    default: Any = None  # a source path's value when it finds nothing
    matched: int = 0  # records the source path matched

    def __post_init__(self) -> None:
        spec = self.mapping.transform
        if spec is not None and self.transform is None:
            named = TRANSFORMS.get(spec.name)
            self.transform = named.bind(**spec.args) if named else lambda value: TRANSFORMS[spec.name](value)
        if isinstance(self.mapping, SourceMapping) and self.present is None:
            self.present, self.default = presence(self.mapping.source), self.mapping.default


@dataclass
class CompiledStream:
    name: str
    spec: StreamSpec
    id_of: Probe
    fields: list[CompiledField]
    identity: dict[str, list[Probe]]
    parents: list[tuple[Any, Probe]]
    owner: Probe | None = None
    records: int = 0  # records mapped

    def map(self, record: SourceRecord) -> MappedRecord:
        self.records += 1
        source_id = self.id_of(record.data)
        mapped = MappedRecord(self.name, str(source_id) if source_id is not None else f"@{record.where}",
                              self.spec.object, record.where)
        if record.error:
            mapped.problems.append(Problem(None, "unreadable", f"{record.where}: {record.error}"))
            return mapped
        if source_id is None:
            mapped.problems.append(Problem(None, "no_source_id", f"{record.where}: no id at {self.spec.id}"))
        data, values = record.data, mapped.values
        for compiled in self.fields:  # runs for every field of every record: kept inline
            try:
                value = compiled.produce(data)
                if value is not None:
                    compiled.matched += 1
                elif compiled.present is not None:  # a source path: found empty, or not found at all
                    compiled.matched += compiled.present(data)
                    value = compiled.default
                if value is not None and compiled.transform is not None:
                    value = compiled.transform(value)
                values[compiled.target] = value
            except (TransformError, jinja2.TemplateError) as exc:
                _field_problem(mapped, compiled, exc)
        for part, extractors in self.identity.items():
            found = [extract(record.data) for extract in extractors]
            mapped.identity[part] = _flatten(found)
            if len(found) > 1:
                mapped.identity_current[part] = len(_flatten(found[:1]))
        for parent, extract in self.parents:
            parent_id = extract(record.data)
            if parent_id not in (None, ""):
                mapped.parents.append(ParentRef(parent.stream, str(parent_id), parent.relation,
                                                parent.required))
        if self.owner is not None:
            email = self.owner(record.data)
            mapped.owner_email = email.strip() if isinstance(email, str) and email.strip() else None
        return mapped

    def source(self, source: StreamSource) -> StreamSource:
        """What the stream's records matched, once they are all mapped."""
        probes = [self.id_of, *(p for probes in self.identity.values() for p in probes),
                  *(probe for _, probe in self.parents), *([self.owner] if self.owner else [])]
        source.records = self.records
        source.paths = [(probe.what, probe.path, probe.matched) for probe in probes] + [
            (f.target, f.mapping.source, f.matched) for f in self.fields
            if isinstance(f.mapping, SourceMapping)]
        return source


def _field_problem(mapped: MappedRecord, compiled: CompiledField, exc: Exception) -> None:
    if isinstance(exc, TransformError):
        name = compiled.mapping.transform.name if compiled.mapping.transform else "transform"
        mapped.problems.append(Problem(compiled.target, f"transform_{name}", f"{_where(mapped, compiled)}"
                                                                              f"transform {name}: {exc}"))
    elif isinstance(exc, jinja2.UndefinedError):
        mapped.problems.append(Problem(compiled.target, "template_undefined",
                                       f"{_where(mapped, compiled)}template: {exc.message}"))
    else:
        mapped.problems.append(Problem(compiled.target, "template_error",
                                       f"{_where(mapped, compiled)}template: {exc}"))


def _where(mapped: MappedRecord, compiled: CompiledField) -> str:
    return f"{mapped.stream} {mapped.source_id}: {compiled.target}: "


def _flatten(values: list[Any]) -> list[Any]:
    """Identity values, lists flattened; a blank one (spaces, a tab) is missing, as an empty one is."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, list):
            out.extend(v for v in value if not _blank(v))
        elif not _blank(value):
            out.append(value)
    return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _producer(mapping: Mapping, env: SandboxedEnvironment) -> Extractor:
    if isinstance(mapping, SourceMapping):  # its default is the caller's: it counts what the path matched
        return path_extractor(mapping.source)
    if isinstance(mapping, ConstantMapping):
        constant = mapping.value
        return lambda data: constant
    template = env.from_string(mapping.template)
    return lambda data: render(template, data)


def probe(what: str, path: str) -> Probe:
    return Probe(what, path, path_extractor(path), presence(path))


def compile_profile(profile: Profile) -> dict[str, CompiledStream]:
    """Compile every JSONPath and template of a profile once."""
    env = _environment()
    compiled = {}
    for name, spec in profile.streams.items():
        paths = spec.identity.source
        compiled[name] = CompiledStream(
            name=name, spec=spec, id_of=probe("id", spec.id),
            fields=[CompiledField(t, m, _producer(m, env)) for t, m in spec.fields.items()],
            identity={part: [probe(f"identity {part}", p) for p in ([ps] if isinstance(ps, str) else ps)]
                      for part, ps in paths.items()},
            parents=[(p, probe(f"parent {p.stream}", p.source)) for p in spec.parents],
            owner=probe("owner", spec.owner.source) if spec.owner else None,
        )
    return compiled


def stream_order(profile: Profile) -> list[str]:
    """Streams with parents after the streams they depend on (broker before its offices)."""
    from graphlib import TopologicalSorter

    graph = {name: {p.stream for p in spec.parents if p.stream in profile.streams}
             for name, spec in profile.streams.items()}
    return list(TopologicalSorter(graph).static_order())
