"""The connector-language additions Dataverse needed, checked at load: an empty answer that means every
record was written (`empty_body`), and response paths that use the object's {vars.*}."""

from __future__ import annotations

from engine.catalog import load_connector
from engine.connector import ConnectorSpec, ResponseSpec
from engine.connector_checks import reference_problems
from engine.render import endpoint_for


def with_response(name: str, **response: object) -> ConnectorSpec:
    spec = load_connector("dynamics").model
    endpoint = getattr(spec.endpoints, name)
    changed = endpoint.model_copy(update={"response": ResponseSpec(**response)})
    return spec.model_copy(update={"endpoints": spec.endpoints.model_copy(update={name: changed})})


def messages(spec: ConnectorSpec) -> list[tuple[tuple[str | int, ...], str]]:
    return [(where, message) for where, message in reference_problems(spec)]


def test_an_empty_answer_cannot_stand_for_the_ids_of_created_records() -> None:
    [(where, message)] = messages(with_response("create", empty_body="all_succeeded"))
    assert where == ("endpoints", "create", "response", "empty_body") and "gives no ids" in message
    assert messages(with_response("update", empty_body="all_succeeded")) == []


def test_response_paths_take_the_objects_vars_and_nothing_else() -> None:
    [(where, message)] = messages(with_response("upsert", id="$.{record_id}"))
    assert where == ("endpoints", "upsert", "response", "id") and "{vars.*}" in message
    spec = load_connector("dynamics").model
    ids = {name: endpoint_for(spec, name, "upsert").response.id for name in ("account", "contact", "lead")}  # type: ignore[union-attr]
    assert ids == {"account": "$.accountid", "contact": "$.contactid", "lead": "$.leadid"}
