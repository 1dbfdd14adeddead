"""The references people read cannot fall behind the engine: the examples in them run, every key of the
connector language, every finding code, transform and hook is documented, and their links resolve."""

from __future__ import annotations

import inspect
import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from engine import hookspecs
from engine.catalog import load_connector, load_profile
from engine.connector import PLACEHOLDERS, ConnectorSpec
from engine.dryrun import dry_run
from engine.templating import fill
from engine.transforms import TRANSFORMS
from engine.validate import validate
from tests.test_validate import finding_severities

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def example_block(name: str, label: str) -> str:
    """The fenced YAML block that follows `<!-- tested: label -->` in docs/<name>."""
    found = re.findall(rf"<!-- tested: {label} -->\n```yaml\n(.*?)```", doc(name), re.DOTALL)
    assert len(found) == 1, f"docs/{name} should have one block marked `<!-- tested: {label} -->`"
    return found[0]


# ----- the worked example of docs/connector-spec.md ----------------------------------------------

EMPLOYER = {"id": "e1", "name": "Acme", "website": "https://www.acme.com/", "phone": "(212) 736-5000",
            "covered_lives": 40}
CONTACT = {"id": "c1", "employer_id": "e1", "first_name": "Ada", "last_name": "Byron",
           "email": "Ada@Acme.com", "historical_emails": ["ada@old-acme.com"]}


@pytest.fixture
def tinycrm(tmp_path: Path) -> Path:
    """The example connector and profile of docs/connector-spec.md, with one employer and one contact."""
    (tmp_path / "tinycrm.yaml").write_text(example_block("connector-spec.md", "connector"), encoding="utf-8")
    (tmp_path / "profile.yaml").write_text(example_block("connector-spec.md", "profile"), encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "employer.jsonl").write_text(json.dumps(EMPLOYER) + "\n", encoding="utf-8")
    (data / "employer_contact.jsonl").write_text(json.dumps(CONTACT) + "\n", encoding="utf-8")
    return tmp_path


def test_example_connector_loads_and_its_profile_validates(tinycrm: Path) -> None:
    spec = load_connector(str(tinycrm / "tinycrm.yaml")).model
    assert spec.name == "tinycrm" and set(spec.objects) == {"company", "person"}
    assert validate(load_profile(tinycrm / "profile.yaml")) == []


def test_example_dry_run_makes_the_requests_the_doc_shows(tinycrm: Path) -> None:
    plan = dry_run(tinycrm / "profile.yaml", tinycrm / "data", state_dir=tinycrm / "state")
    assert plan.summary()["net_new"] == 2 and plan.summary()["invalid"] == 0
    requests = [r.as_dict() for r in plan.lookups + plan.writes]
    shown = re.findall(r"^(GET|POST) +(\S+)$", doc("connector-spec.md"), re.MULTILINE)
    assert shown and all((r["method"], r["url"]) in {(m, u) for m, u in shown} or r["kind"] == "lookup"
                         for r in requests if r["object"] == "company")
    assert set(shown) <= {(r["method"], r["url"]) for r in requests}

    [company_lookup] = [r for r in requests if r["kind"] == "lookup" and r["object"] == "company"]
    assert company_lookup["url"].startswith("https://api.tinycrm.example/v2/companies?filter=domain+%3D%3D+%22acme.com%22")
    [create_company] = [r for r in requests if r["kind"] == "create" and r["object"] == "company"]
    assert create_company["method"] == "POST"
    assert create_company["url"] == "https://api.tinycrm.example/v2/companies/batch"
    assert create_company["headers"]["Content-Type"] == "application/json"
    assert create_company["body"] == {"records": [{
        "client_ref": "employer/e1", "name": "Acme", "phone": "+12127365000", "tier": "gold",
        "domain": "acme.com"}]}
    [create_person] = [r for r in requests if r["kind"] == "create" and r["object"] == "person"]
    assert create_person["body"] == {"records": [{
        "client_ref": "employer_contact/c1", "first_name": "Ada", "last_name": "Byron",
        "email": "ada@acme.com", "company_id": "<id of employer/e1>"}]}


def test_example_contact_lookup_escapes_values_for_the_filter_language(tinycrm: Path) -> None:
    data = tinycrm / "data"
    (data / "employer_contact.jsonl").write_text(json.dumps({**CONTACT, "email": 'o"brien@acme.com'}) + "\n",
                                                 encoding="utf-8")
    plan = dry_run(tinycrm / "profile.yaml", data, state_dir=tinycrm / "state")
    [lookup] = [r for r in plan.lookups if r.object == "person"]
    # both the current and the historical email are looked up; the quote inside a value is escaped
    assert 'email == "ada@old-acme.com" || email == "o\\"brien@acme.com"' in _query(lookup.url, "filter")


def _query(url: str, name: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)[name][0]


def test_a_template_key_is_text_as_the_load_check_reads_it() -> None:
    """`$filter` as a key is written as it is; only `{name}` in a key is replaced."""
    context = {"match": "a eq 1", "vars": {"id": "accountid"}, "id": 7}
    assert fill({"$filter": "{match}", "{vars.id}": "$id"}, context) == {"$filter": "a eq 1", "accountid": 7}


# ----- the reference stays complete --------------------------------------------------------------

def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in seen:
                seen.append(annotation)
                for field in annotation.model_fields.values():
                    visit(field.annotation)
            return
        for arg in typing.get_args(annotation):
            visit(arg)

    visit(root)
    return seen


def test_every_key_of_the_connector_language_is_documented() -> None:
    text = doc("connector-spec.md")
    models = _models(ConnectorSpec)
    assert len(models) > 20
    missing = sorted({f"{m.__name__}.{name}" for m in models for name in m.model_fields
                      if f"`{name}`" not in text})
    assert not missing, f"docs/connector-spec.md does not mention these keys: {missing}"


def test_every_placeholder_of_every_endpoint_is_documented() -> None:
    text = doc("connector-spec.md")
    for endpoint, names in PLACEHOLDERS.items():
        row = re.search(rf"^\| `{endpoint}` \| (`.*) \|$", text, re.MULTILINE)
        assert row, f"no placeholder row for {endpoint}"
        assert set(re.findall(r"`([a-z_]+)`", row.group(1))) == names, endpoint


def test_every_finding_code_is_documented_in_the_profile_reference() -> None:
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| (error|warning) \|", doc("profile.md"), re.MULTILINE))
    severities = finding_severities()
    missing = sorted(set(severities) - set(documented))
    assert not missing, f"finding codes missing from docs/profile.md: {missing}"
    assert {code: documented[code] for code in severities} == severities


def test_every_transform_is_documented_with_its_arguments() -> None:
    text = doc("profile.md")
    for name, transform in TRANSFORMS.items():
        row = re.search(rf"^\| `{name}` \|([^|]*)\|(.*)\|$", text, re.MULTILINE)
        assert row, f"transform {name} is missing from docs/profile.md"
        arguments = re.sub(r"\(.*?\)", "", row.group(1))  # defaults are in parentheses
        assert set(re.findall(r"`([a-z_]+)`", arguments)) == set(transform.args), name


def test_the_profile_reference_example_validates_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(example_block("profile.md", "profile"), encoding="utf-8")
    assert validate(load_profile(path)) == []


HOOKS = sorted(name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
               if name.startswith("crmsync_"))


def test_every_hook_is_documented_and_tested() -> None:
    text = doc("hooks.md")
    tests = {p.name: p.read_text(encoding="utf-8") for p in Path(__file__).parent.rglob("test_*.py")
             if p.name != Path(__file__).name}
    assert HOOKS
    for name in HOOKS:
        assert re.search(rf"^## {name}$", text, re.MULTILINE), f"docs/hooks.md has no entry for {name}"
        entry = text.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"`{name}(connector" in entry, f"docs/hooks.md does not show the arguments of {name}"
        assert any(name in source for source in tests.values()), f"no test calls or implements {name}"


@pytest.mark.parametrize("name", ["connector-spec.md", "profile.md", "hooks.md"])
def test_links_in_the_docs_resolve(name: str) -> None:
    text = doc(name)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        file, _, anchor = target.partition("#")
        path = (DOCS / file) if file else DOCS / name
        assert path.exists(), f"docs/{name}: link to missing {target}"
        if anchor and path.suffix == ".md":
            anchors = _anchors(path.read_text(encoding="utf-8"))
            assert anchor in anchors, f"docs/{name}: no heading for {target}"


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", markdown, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
