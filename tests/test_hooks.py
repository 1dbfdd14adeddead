"""Every hook has a test here and a heading in docs/hooks.md; each test shows the hook changing behaviour."""

from __future__ import annotations

import inspect
import re
from types import SimpleNamespace
from typing import Any

import pluggy
import pytest

from engine import hookspecs
from engine.catalog import load_connector
from engine.check import check_record
from engine.connector import FieldSpec, KeyPart
from engine.hookspecs import hookimpl
from engine.mapping import MappedRecord
from engine.match import normalize
from engine.plugins import manager
from engine.push import classify
from engine.render import render_batches

HOOKS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
               if name.startswith("crmsync_"))


@pytest.fixture
def plugin() -> Any:
    """Register a plugin object for one test, and unregister it after."""
    registered: list[Any] = []

    def register(obj: Any) -> Any:
        manager().register(obj)
        registered.append(obj)
        return obj

    yield register
    for obj in registered:
        manager().unregister(obj)


def test_every_hook_has_a_test_and_a_doc_entry(root: Any) -> None:
    docs = (root / "docs" / "hooks.md").read_text(encoding="utf-8")
    tests = inspect.getsource(inspect.getmodule(test_every_hook_has_a_test_and_a_doc_entry))
    assert HOOKS, "no hooks found"
    for name in HOOKS:
        assert re.search(rf"^## {name}$", docs, re.MULTILINE), f"docs/hooks.md has no heading for {name}"
        assert f"def test_hook_{name}(" in tests, f"no test_hook_{name}"


def test_misspelt_hook_fails_loudly() -> None:
    pm = pluggy.PluginManager("crmsync")
    pm.add_hookspecs(hookspecs)

    class Typo:
        @hookimpl
        def crmsync_adjust_valeu(self, value: Any) -> Any:
            return value

    pm.register(Typo())
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()


def test_hook_crmsync_adjust_value(plugin: Any) -> None:
    connector = load_connector("hubspot").model

    class Upper:
        @hookimpl
        def crmsync_adjust_value(self, connector: Any, object_name: str, field_name: str, field: Any,
                                 value: Any) -> Any:
            return value.upper() if field_name == "jobtitle" else None

    plugin(Upper())
    record = MappedRecord("employer_contact", "ec-1", "contacts", "x:1", values={"jobtitle": "hr lead"})
    check_record(record, connector, connector.objects["contacts"].fields)
    assert record.values["jobtitle"] == "HR LEAD"


def test_hook_crmsync_serialize_value() -> None:
    hook = manager().hook
    hubspot = SimpleNamespace(name="hubspot")
    date_field = FieldSpec(type="date")
    assert hook.crmsync_serialize_value(connector=hubspot, object_name="companies", field_name="d",
                                        field=date_field, value="2025-01-01") == "1735689600000"
    assert hook.crmsync_serialize_value(connector=hubspot, object_name="companies", field_name="n",
                                        field=FieldSpec(type="number"), value=250) == "250"
    dynamics = SimpleNamespace(name="dynamics")
    choice = FieldSpec(type="picklist", restricted=True,
                       options=[{"value": 100000000, "label": "Fully Insured"},
                                {"value": 100000001, "label": "Self-Funded"}])
    multi = choice.model_copy(update={"type": "multipicklist"})
    assert hook.crmsync_serialize_value(connector=dynamics, object_name="account", field_name="bf_x",
                                        field=multi,
                                        value="Fully Insured;Self-Funded") == "100000000,100000001"
    other = SimpleNamespace(name="acme")
    assert hook.crmsync_serialize_value(connector=other, object_name="x", field_name="d", field=date_field,
                                        value="2025-01-01") is None


def test_hook_crmsync_normalize_identity(plugin: Any) -> None:
    connector = load_connector("hubspot").model
    domain = KeyPart(name="domain", field="domain", normalize="domain")
    assert normalize(connector, "companies", domain,
                     "https://WWW.Acme-Example.com/about") == ["acme-example.com"]

    class KeepSubdomain:
        @hookimpl
        def crmsync_normalize_identity(self, connector: Any, object_name: str, part: Any, value: Any) -> Any:
            return str(value).lower() if part.normalize == "domain" else None

    plugin(KeepSubdomain())
    assert normalize(connector, "companies", domain, "WWW.Acme-Example.com") == ["www.acme-example.com"]


def test_hook_crmsync_adjust_request(plugin: Any) -> None:
    connector = load_connector("hubspot").model

    class Tag:
        @hookimpl
        def crmsync_adjust_request(self, connector: Any, request: Any) -> None:
            request.headers["X-Trace"] = request.kind

    plugin(Tag())
    [request] = render_batches(connector, "create", "companies",
                               [("employer/e1", {"fields": {"name": "A"}, "ref": "employer/e1"})],
                               "http://127.0.0.1:1")
    assert request.headers["X-Trace"] == "create"


def test_hook_crmsync_classify_error() -> None:
    salesforce = load_connector("hubspot").model.model_copy(update={"name": "salesforce"})
    assert classify(salesforce, 403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED"}],
                    "REQUEST_LIMIT_EXCEEDED") == "rate_limit"
    hubspot = load_connector("hubspot").model
    assert classify(hubspot, 409, {"category": "CONFLICT"}, "CONFLICT") == "duplicate"
    assert classify(hubspot, 503, {}, None) == "transient"
