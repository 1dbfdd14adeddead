"""Plugins: a connector's own plugin file (`plugin: ./tinycrm_quirks.py`, beside it) is loaded with it
and serves that connector only; every module of the `plugins` package is discovered; a plugin file
that is missing, fails to import or implements a hook that does not exist, and a plugin named in
`plugins:` that is not there, fail at load, at the key that names it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.dryrun import dry_run
from engine.plugins import discovered, manager
from tests.madeup_limits import TinyLimits, write_files
from tests.pushkit import PROFILES
from tests.test_loader import assert_error_at, errors_of

QUIRKS = '''\
from engine.hookspecs import hookimpl


@hookimpl
def crmsync_adjust_request(connector, request):
    request.headers["X-Tiny-Quirk"] = "batch-v2"
'''


def with_plugin(tmp_path: Path, plugin_text: str | None, key: str = "plugin: ./tinycrm_quirks.py") -> Path:
    profile = write_files(tmp_path, "")
    connector = profile.parent / "tinylimits.yaml"
    connector.write_text(connector.read_text(encoding="utf-8") + key + "\n", encoding="utf-8")
    if plugin_text is not None:
        (tmp_path / "tinycrm_quirks.py").write_text(plugin_text, encoding="utf-8")
    return profile


def test_a_plugin_file_beside_the_connector_changes_its_requests(tmp_path: Path) -> None:
    profile = with_plugin(tmp_path, QUIRKS)
    crm = TinyLimits()
    from engine.sandbox.common import running

    with running(crm) as url:  # type: ignore[arg-type]
        result = CliRunner().invoke(app, ["push", str(profile), "--source", str(tmp_path / "source"),
                                          "--base-url", url, "--state-dir", str(tmp_path / "state"),
                                          "--format", "json"], env={"CRMSYNC_ACCESS_TOKEN": "tiny-key"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["created"] == 12
    api = [r for r in crm.requests if r["path"].startswith("/v2/")]
    assert api and all(r["headers"].get("x-tiny-quirk") == "batch-v2" for r in api)


def test_a_connector_plugin_serves_its_connector_only(tmp_path: Path) -> None:
    profile = with_plugin(tmp_path, QUIRKS)
    mine = dry_run(profile, tmp_path / "source", state_dir=tmp_path / "state")
    other = dry_run(PROFILES["hubspot"], Path(__file__).parent.parent / "examples" / "data",
                    state_dir=tmp_path / "state2")
    shown = [r.as_dict() for r in mine.lookups + mine.writes]
    assert shown and all(r["headers"].get("X-Tiny-Quirk") == "batch-v2" for r in shown)
    assert not any("X-Tiny-Quirk" in r.as_dict()["headers"] for r in other.lookups + other.writes)
    same_name = write_files(tmp_path / "without", "")  # the same connector, without the plugin
    plain = dry_run(same_name, same_name.parent / "source", state_dir=tmp_path / "state3")
    assert not any("X-Tiny-Quirk" in r.as_dict()["headers"] for r in plain.lookups + plain.writes)


CASES = [
    pytest.param(None, "plugin file", "does not exist", id="missing-file"),
    pytest.param("import not_a_module_anywhere\n", "fails to import",
                 "ModuleNotFoundError: No module named 'not_a_module_anywhere'", id="import-fails"),
    pytest.param("def broken(:\n", "fails to import", "SyntaxError", id="syntax-error"),
    pytest.param(QUIRKS.replace("crmsync_adjust_request", "crmsync_adjust_requests"), "is not a crmsync hook",
                 "did you mean 'crmsync_adjust_request'?", id="misspelt-hook"),
    pytest.param(QUIRKS.replace("@hookimpl\n", "").replace("crmsync_adjust_request", "crmsync_adjust_reqest"),
                 "is not a crmsync hook", "did you mean", id="misspelt-unmarked-hook"),
    pytest.param(QUIRKS.replace("(connector, request)", "(connector, requets)"), "plugin file",
                 "requets", id="hook-argument-misspelt"),
]


@pytest.mark.parametrize(("plugin_text", "fragment", "detail"), CASES)
def test_a_plugin_that_cannot_serve_fails_at_its_key(tmp_path: Path, plugin_text: str | None, fragment: str,
                                                    detail: str) -> None:
    profile = with_plugin(tmp_path, plugin_text)
    connector = profile.parent / "tinylimits.yaml"
    line = len(connector.read_text(encoding="utf-8").splitlines())
    errors = errors_of(connector, "connector")
    assert_error_at(errors, connector, f"{line}:9", fragment)
    assert any(detail in e.message and "tinycrm_quirks.py" in e.message for e in errors), errors
    result = CliRunner().invoke(app, ["validate", str(profile)])
    assert result.exit_code == 2 and fragment in result.output and "Traceback" not in result.output


def test_a_plugin_the_connector_needs_that_is_not_there_fails_at_load(tmp_path: Path) -> None:
    profile = with_plugin(tmp_path, None, key="plugins: [hubspot, tinycrm_extras]")
    connector = profile.parent / "tinylimits.yaml"
    line = len(connector.read_text(encoding="utf-8").splitlines())
    assert_error_at(errors_of(connector, "connector"), connector, f"{line}:20",
                    "no plugin named 'tinycrm_extras' is loaded")


def test_every_module_of_the_plugin_package_is_discovered(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "someplugins"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    for name in ("alpha", "zoho_like"):
        (package / f"{name}.py").write_text(QUIRKS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert discovered("someplugins") == ["someplugins.alpha", "someplugins.zoho_like"]
    assert discovered("no_such_package_here") == []
    sys.modules.pop("someplugins", None)
    names = {name for name, _ in manager().list_name_plugin()}
    assert {"plugins.hubspot", "plugins.salesforce", "plugins.dynamics"} <= names
