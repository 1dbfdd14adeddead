"""What `crmsync validate` says of the pull side of a profile: the `pull:` section's names (objects,
streams, CRM fields) and, per stream, the local fields a pull cannot fill (imported records lack them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.catalog import ProfileBundle
from engine.pull.reverse import plain_path, unfillable

# (severity, code, message, location in the profile, its key is meant, stream, field)
Check = tuple[str, str, str, tuple[Any, ...], bool, str | None, str | None]


def pull_checks(bundle: ProfileBundle, unfilled: bool = False) -> Iterator[Check]:
    """The `pull:` section's mistakes; with `unfilled`, also what a pull cannot fill, per stream."""
    profile, connector = bundle.profile.model, bundle.connector.model
    for object_name, spec in profile.pull.items():
        here = ("pull", object_name)
        if object_name not in connector.objects:
            yield ("error", "pull_unknown_object", f"{connector.name} has no object {object_name!r}", here,
                   True, None, None)
            continue
        streams = [n for n, s in profile.streams.items() if s.object == object_name]
        if spec.import_as is not None and spec.import_as not in streams:
            yield ("error", "pull_import_as", f"import_as {spec.import_as!r} is not a stream of "
                   f"{object_name} (those are: {', '.join(streams) or 'none'})", (*here, "import_as"), False,
                   None, None)
        fields = {**connector.objects[object_name].fields, **profile.custom_fields.get(object_name, {})}
        for i, name in enumerate(spec.name):
            if name not in fields:
                yield ("error", "pull_unknown_field", f"{object_name} has no field {name!r}",
                       (*here, "name", i), False, None, name)
        for stream, paths in spec.fields.items():
            if stream not in streams:
                yield ("error", "pull_import_as", f"{stream!r} is not a stream of {object_name}",
                       (*here, "fields", stream), True, stream, None)
                continue
            for path, name in paths.items():
                if name not in fields or plain_path(path) is None:
                    what = f"{object_name} has no field {name!r}" if name not in fields else \
                        f"{path!r} is not a plain path ($.a.b) a value can be written to"
                    yield ("error", "pull_unknown_field", what, (*here, "fields", stream, path), True, stream,
                           name)
    for stream, stream_spec in profile.streams.items() if unfilled else ():
        obj = connector.objects.get(stream_spec.object)
        if obj is None or stream_spec.identity.key not in obj.identity_keys:
            continue  # validate reports those
        missing = unfillable(bundle, stream)
        if missing:
            yield ("warning", "pull_cannot_fill", f"a CRM record imported as {stream} cannot fill the local "
                   f"fields behind {', '.join(missing)}: they do not map back (pull.<object>.fields can say "
                   "where a CRM field goes)",
                   ("streams", stream), True, stream, None)
