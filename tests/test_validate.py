"""Static validation: one test per finding code of engine/validate.py, each from a small profile written
here against a shipped connector, asserting the code, severity, `file:line:col`, stream and field."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from engine import validate as validate_module
from engine.catalog import load_profile
from engine.validate import Finding, validate

# Line numbers of a profile made by `profile()`: fields start on line 8.
HEAD = """\
name: t
connector: {connector}
streams:
  {stream}:
    object: {object}
    identity: {identity}
    fields:
"""
IDENTITY = {"companies": "{key: domain, source: {domain: $.website}}",
            "contacts": "{key: email, source: {email: $.email}}",
            "account": "{key: domain, source: {domain: $.website}}",
            "contact": "{key: email, source: {email: $.email}}"}
CONNECTOR = {"companies": "hubspot", "contacts": "hubspot", "account": "dynamics", "contact": "dynamics"}


def profile(*field_lines: str, object: str = "companies", stream: str = "employer", extra: str = "") -> str:
    """A one-stream profile; each field line is written under `fields:` (indented by 6), from line 8 on."""
    head = HEAD.format(connector=CONNECTOR[object], stream=stream, object=object, identity=IDENTITY[object])
    return head + "".join(f"      {line}\n" for line in field_lines) + extra


def findings_of(tmp_path: Path, text: str) -> tuple[Path, list[Finding]]:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path, validate(load_profile(path))


def one(findings: list[Finding], code: str) -> Finding:
    found = [f for f in findings if f.code == code]
    assert len(found) == 1, f"expected one {code}, got: {findings}"
    return found[0]


def check(tmp_path: Path, text: str, code: str, severity: str, where: str, stream: str | None,
          field: str | None, *fragments: str) -> Finding:
    path, findings = findings_of(tmp_path, text)
    finding = one(findings, code)
    assert (finding.severity, finding.where, finding.stream, finding.field) == (
        severity, f"{path}:{where}", stream, field), finding
    for fragment in fragments:
        assert fragment in finding.message, finding.message
    return finding


def test_shipped_profiles_have_no_findings(root: Path) -> None:
    for path in sorted((root / "profiles").glob("*.yaml")):
        assert validate(load_profile(path)) == [], path


def test_a_clean_profile_has_no_findings(tmp_path: Path) -> None:
    text = profile("name: $.name", "website: {source: $.website, transform: url}",
                   "lifecyclestage: {value: customer}")
    _, findings = findings_of(tmp_path, text)
    assert findings == []


# ----- one test per finding code ----------------------------------------------------------------

def test_constant_not_in_picklist(tmp_path: Path) -> None:
    check(tmp_path, profile("name: $.name", "lifecyclestage: {value: Customer}"), "constant_not_in_picklist",
          "error", "9:31", "employer", "lifecyclestage",
          "'Customer' is not a value of the restricted picklist companies.lifecyclestage; did you mean "
          "'customer'?", "every record of every batch would fail", "allowed: subscriber, lead")


def test_constant_picklist_by_label_or_value(tmp_path: Path) -> None:
    """Dynamics choices are named by label or by their integer value; both are allowed."""
    text = profile("industrycode: {value: Insurance}", "customertypecode: {value: 8}", object="account")
    _, findings = findings_of(tmp_path, text)
    assert findings == []
    check(tmp_path, profile("industrycode: {value: Insurers}", object="account"), "constant_not_in_picklist",
          "error", "8:29", "employer", "industrycode", "did you mean 'Insurance'?")


def test_read_only(tmp_path: Path) -> None:
    check(tmp_path, profile("createdate: $.created"), "read_only", "error", "8:7", "employer", "createdate",
          "companies.createdate is read-only")


def test_not_creatable(tmp_path: Path) -> None:
    check(tmp_path, profile("statecode: {value: Active}", object="account"), "not_creatable", "error", "8:7",
          "employer", "statecode", "account.statecode cannot be set on create")


def test_not_mappable_id_and_reference(tmp_path: Path) -> None:
    check(tmp_path, profile("hs_object_id: $.id"), "not_mappable", "error", "8:7", "employer", "hs_object_id",
          "is the record id")
    check(tmp_path, profile("name: $.name", "parentaccountid: $.parent", object="account"), "not_mappable",
          "error", "9:7", "employer", "parentaccountid", "a reference to account",
          "link records with `parents`")


def test_identity_field_mapped(tmp_path: Path) -> None:
    check(tmp_path, profile("name: $.name", "domain: $.website"), "identity_field_mapped", "error", "9:7",
          "employer", "domain", "companies.domain is part of the identity key")


def test_identity_field_mapped_covers_the_also_fields(tmp_path: Path) -> None:
    check(tmp_path, profile("emailaddress2: $.other_email", object="contact", stream="employer_contact"),
          "identity_field_mapped", "error", "8:7", "employer_contact", "emailaddress2")


def test_unknown_field_with_did_you_mean(tmp_path: Path) -> None:
    check(tmp_path, profile("nmae: $.name"), "unknown_field", "error", "8:7", "employer", "nmae",
          "companies has no field 'nmae'; did you mean 'name'?")


def test_unknown_field_hint_ignores_case(tmp_path: Path) -> None:
    check(tmp_path, profile("Telephone1: $.phone", object="account"), "unknown_field", "error", "8:7",
          "employer", "Telephone1", "did you mean 'telephone1'?")


def test_custom_fields_are_known_fields(tmp_path: Path) -> None:
    text = profile("tier: {value: gold}", extra="custom_fields:\n  companies:\n    tier: {type: picklist, "
                   "restricted: true, options: [gold, silver]}\n")
    _, findings = findings_of(tmp_path, text)
    assert findings == []


def test_unknown_object(tmp_path: Path) -> None:
    text = profile("name: $.name").replace("object: companies", "object: compnies")
    check(tmp_path, text, "unknown_object", "error", "5:13", "employer", None,
          "hubspot has no object 'compnies'; did you mean 'companies'?")


def test_unknown_object_in_custom_fields(tmp_path: Path) -> None:
    text = profile("name: $.name", extra="custom_fields:\n  company:\n    tier: {type: string}\n")
    check(tmp_path, text, "unknown_object", "error", "10:3", None, None, "did you mean 'companies'?")


def test_type_mismatch_transform_date_into_number(tmp_path: Path) -> None:
    check(tmp_path, profile("numberofemployees: {source: $.founded, transform: date}"), "type_mismatch",
          "error", "8:57", "employer", "numberofemployees",
          "transform 'date' makes a date, which cannot go into companies.numberofemployees (number)")


def test_type_mismatch_constant_date_into_number(tmp_path: Path) -> None:
    check(tmp_path, profile("numberofemployees: {value: '2024-01-31'}"), "type_mismatch", "error", "8:34",
          "employer", "numberofemployees",
          "the constant '2024-01-31' is a date, which cannot go into companies.numberofemployees (number)")


def test_too_long(tmp_path: Path) -> None:
    check(tmp_path, profile("accountnumber: {value: ACCOUNT-NUMBER-2024-0001}", object="account"), "too_long",
          "error", "8:30", "employer", "accountnumber",
          "the constant is 24 characters; account.accountnumber takes at most 20")


@pytest.mark.parametrize(("constant", "shown"), [(".nan", "nan"), (".inf", "inf"), ("-.Inf", "-inf")])
def test_constant_not_finite(tmp_path: Path, constant: str, shown: str) -> None:
    check(tmp_path, profile(f"numberofemployees: {{value: {constant}}}"), "constant_not_finite", "error",
          "8:34", "employer", "numberofemployees",
          f"the constant {shown} is not a finite number: JSON has no NaN nor infinity, so "
          "companies.numberofemployees cannot be sent it")


@pytest.mark.parametrize(("line", "col", "name", "reason"), [  # located at the source it reads
    ("covered_lives: $.covered_lives", "22", "covered_lives", "covered lives is policy-level data"),
    ("carrier_name: {template: 'via {{ carrier }}'}", "21", "carrier", "the carrier is policy-level data"),
    ("signer: {source: \"$['signer_name_5500']\", transform: title_case}", "15", "signer_name_5500",
     "the Form 5500 signer is a private person"),
])
def test_unsafe_policy_field_is_a_warning_with_the_reason(tmp_path: Path, line: str, col: str, name: str,
                                                          reason: str) -> None:
    target = line.split(":")[0]
    extra = ("custom_fields:\n  companies:\n    covered_lives: {type: number}\n"
             "    carrier_name: {type: string}\n    signer: {type: string}\n")
    check(tmp_path, profile(line, extra=extra), "unsafe_source", "warning", f"8:{col}", "employer", target,
          f"maps source field {name!r}: {reason}", "must not be sent to a CRM")


def test_unsafe_fields_declared_by_the_profile(tmp_path: Path) -> None:
    text = profile("firstname: $.first_name", "description: $.salary", object="contacts",
                   stream="employer_contact").replace(
        "    fields:\n", "    unsafe_fields: {salary: pay is private}\n    fields:\n")
    check(tmp_path, text, "unsafe_source", "warning", "10:20", "employer_contact", "description",
          "maps source field 'salary': pay is private")


def test_unsafe_fields_are_per_stream(tmp_path: Path) -> None:
    """covered_lives is a policy field of employers; a stream of another name may have its own meaning."""
    text = profile("description: $.carrier", stream="broker")
    _, findings = findings_of(tmp_path, text)
    assert [f.code for f in findings] == []


@pytest.mark.parametrize("path", ["$.[", "$..", "name]", "$.address[?(@.x ==]"])
def test_bad_jsonpath(tmp_path: Path, path: str) -> None:
    check(tmp_path, profile(f"name: {{source: '{path}'}}"), "bad_jsonpath", "error", "8:22", "employer",
          "name", f"{path!r} is not a valid JSONPath")


def test_bad_jsonpath_in_a_bare_mapping_identity_id_and_parent(tmp_path: Path) -> None:
    check(tmp_path, profile("name: '$.['"), "bad_jsonpath", "error", "8:13", "employer", "name")
    text = profile("name: $.name").replace("{domain: $.website}", "{domain: '$.web site'}")
    check(tmp_path, text, "bad_jsonpath", "error", "6:46", "employer", None, "'$.web site'")
    text = profile("name: $.name").replace("    fields:\n", "    id: $.[\n    fields:\n")
    check(tmp_path, text, "bad_jsonpath", "error", "7:9", "employer", None)


def test_bad_template(tmp_path: Path) -> None:
    check(tmp_path, profile("name: {template: '{{ name }'}"), "bad_template", "error", "8:24", "employer",
          "name", "template syntax error", "(template line 1)")


def test_required_unmapped(tmp_path: Path) -> None:
    extra = "custom_fields:\n  companies:\n    region_code: {type: string, required: true}\n"
    check(tmp_path, profile("name: $.name", extra=extra), "required_unmapped", "error", "8:7", "employer",
          "region_code", "companies.region_code is required on create and nothing maps it")


def test_required_fields_written_by_identity_or_relation_are_mapped(tmp_path: Path) -> None:
    extra = "custom_fields:\n  companies:\n    domain: {type: string, required: true}\n"
    _, findings = findings_of(tmp_path, profile("name: $.name", extra=extra))
    assert findings == []


def test_unknown_transform(tmp_path: Path) -> None:
    check(tmp_path, profile("phone: {source: $.phone, transform: phone_e146}"), "unknown_transform", "error",
          "8:43", "employer", "phone", "no transform named 'phone_e146'; did you mean 'phone_e164'?")


@pytest.mark.parametrize(("transform", "fragment"), [
    ("{name: truncate}", "truncate needs the argument 'length'"),
    ("{name: url, args: {schem: http}}", "url takes no argument 'schem' (arguments: scheme)"),
])
def test_transform_args(tmp_path: Path, transform: str, fragment: str) -> None:
    check(tmp_path, profile(f"website: {{source: $.website, transform: {transform}}}"), "transform_args",
          "error", "8:47", "employer", "website", fragment, "every record would fail")


def test_transform_advised(tmp_path: Path) -> None:
    check(tmp_path, profile("website: $.website"), "transform_advised", "warning", "8:16", "employer",
          "website", "companies.website is a url field", "consider `transform: url`")


def test_unknown_connection_setting(tmp_path: Path) -> None:
    text = profile("name: $.name", extra="connection: {portal: '42'}\n")
    check(tmp_path, text, "unknown_connection_setting", "error", "9:14", None, None,
          "hubspot has no connection setting 'portal' (it has: app_url, portal_id)")


def test_unknown_identity_key(tmp_path: Path) -> None:
    text = profile("name: $.name").replace("{key: domain,", "{key: website,")
    check(tmp_path, text, "unknown_identity_key", "error", "6:21", "employer", None,
          "companies has no identity key 'website' (it has: domain, domain_city_state)")


def test_identity_part_unmapped(tmp_path: Path) -> None:
    text = profile("name: $.name").replace("{key: domain,", "{key: domain_city_state,")
    path, findings = findings_of(tmp_path, text)
    unmapped = [f for f in findings if f.code == "identity_part_unmapped"]
    assert [(f.severity, f.where, f.stream) for f in unmapped] == [("error", f"{path}:6:48", "employer")] * 2
    assert [f.message for f in unmapped] == ["identity key 'domain_city_state' needs a source for 'city'",
                                             "identity key 'domain_city_state' needs a source for 'state'"]


def test_unknown_identity_part(tmp_path: Path) -> None:
    text = profile("name: $.name").replace("{domain: $.website}", "{domain: $.website, city: $.city}")
    check(tmp_path, text, "unknown_identity_part", "error", "6:57", "employer", None,
          "identity key 'domain' has parts domain, not 'city'")


PARENTS = """\
  office:
    object: companies
    identity: {key: domain_city_state, source: {domain: $.w, city: $.c, state: $.s}}
    parents:
      - {stream: %s, source: $.broker_id, relation: %s}
"""


def test_unknown_stream(tmp_path: Path) -> None:
    text = profile("name: $.name") + PARENTS % ("brokr", "parent_company")
    text = text.replace("  employer:", "  broker:")
    check(tmp_path, text, "unknown_stream", "error", "13:18", "office", None,
          "no stream 'brokr' in this profile; did you mean 'broker'?")


def test_unknown_relation(tmp_path: Path) -> None:
    text = profile("name: $.name") + PARENTS % ("employer", "parent")
    check(tmp_path, text, "unknown_relation", "error", "13:59", "office", None,
          "companies has no relation 'parent' (it has: parent_company)")


def test_relation_mismatch(tmp_path: Path) -> None:
    text = profile("firstname: $.first_name", object="contacts", stream="person") + PARENTS % (
        "person", "parent_company")
    check(tmp_path, text, "relation_mismatch", "error", "13:57", "office", None,
          "relation 'parent_company' points to companies, but stream 'person' becomes contacts")


def test_self_parent(tmp_path: Path) -> None:
    text = profile("name: $.name") + PARENTS % ("office", "parent_company")
    check(tmp_path, text, "self_parent", "error", "13:18", "office", None,
          "a stream cannot be its own parent")


def test_parent_cycle(tmp_path: Path) -> None:
    """employer's parent is office, office's is employer: neither could be written first."""
    text = profile("name: $.name", extra="    parents:\n      - {stream: office, source: $.o, relation: "
                   "parent_company}\n") + PARENTS % ("employer", "parent_company")
    check(tmp_path, text, "parent_cycle", "error", "15:18", "office", None,
          "the parent streams form a cycle (employer → office → employer)")


def finding_severities() -> dict[str, str]:
    """Every finding code engine/validate.py can report, with its severity."""
    source = inspect.getsource(validate_module)
    found = re.findall(r'Finding\(\s*"(error|warning)",\s*"([a-z_]+)"', source)
    return {code: severity for severity, code in found}


def test_upsert_key_unmapped(tmp_path: Path) -> None:
    check(tmp_path, profile("name: $.name", extra="    upsert_key: phone\n"), "upsert_key_unmapped",
          "error", "9:17", "employer", "phone", "neither one of this stream's fields nor of its identity")


def test_upsert_key_may_be_an_identity_field(tmp_path: Path) -> None:
    text = profile("firstname: $.first_name", object="contacts", stream="employer_contact",
                   extra="    upsert_key: email\n")
    _, findings = findings_of(tmp_path, text)
    assert findings == []  # HubSpot upserts contacts by email, which the identity writes


def test_upsert_key_constant(tmp_path: Path) -> None:
    check(tmp_path, profile("name: $.name", "phone: {value: '+15550100'}", extra="    upsert_key: phone\n"),
          "upsert_key_constant", "error", "10:17", "employer", "phone", "every record would upsert the same")


def test_upsert_key_not_unique(tmp_path: Path) -> None:
    check(tmp_path, profile("name: $.name", extra="    upsert_key: name\n"), "upsert_key_not_unique",
          "error", "9:17", "employer", "name", "companies.name is neither unique nor one of the object's "
          "upsert keys (none)")


def test_upsert_unavailable(tmp_path: Path, root: Path) -> None:
    spec = (root / "connectors" / "hubspot.yaml").read_text(encoding="utf-8")
    start, end = spec.index("\n  upsert:\n"), spec.index("\n  associate:\n")
    (tmp_path / "no-upsert.yaml").write_text(spec[:start] + spec[end:], encoding="utf-8")
    text = profile("name: $.name", "benefitflow_id: $.id", extra="    upsert_key: benefitflow_id\n").replace(
        "connector: hubspot", "connector: no-upsert.yaml") + (
        "custom_fields:\n  companies:\n    benefitflow_id: {type: string, unique: true}\n")
    check(tmp_path, text, "upsert_unavailable", "error", "10:17", "employer", "benefitflow_id",
          "has no native upsert for companies")


def test_not_in_crm(tmp_path: Path) -> None:
    """A mapped field the CRM's metadata does not list (a custom property the portal lacks); the served
    CRM case is in tests/test_plan_metadata.py."""
    from engine.connector import FieldSpec
    from engine.metadata import LiveFields

    path = tmp_path / "profile.yaml"
    custom = "custom_fields:\n  companies:\n    tier: {type: string}\n"
    path.write_text(profile("name: $.name", "tier: $.tier", extra=custom), encoding="utf-8")
    live = LiveFields({"companies": {"name": FieldSpec(type="string")}},
                      listed={"companies": {"name", "domain", "hs_object_id"}})
    finding = one(validate(load_profile(path), live), "not_in_crm")
    assert (finding.severity, finding.where, finding.field) == ("error", f"{path}:9:7", "tier")
    assert "the CRM has no field 'tier' on companies" in finding.message


def test_constant_breaks_rule(tmp_path: Path) -> None:
    """A constant that breaks a field's rule (the CRM's, read with live metadata: a HubSpot property's
    URL validation rule; the served CRM case is in tests/test_plan_metadata.py)."""
    from engine.connector import FieldSpec
    from engine.metadata import LiveFields

    path = tmp_path / "profile.yaml"
    custom = "custom_fields:\n  companies:\n    home: {type: string}\n"
    path.write_text(profile("name: $.name", "home: {value: example.com}", extra=custom), encoding="utf-8")
    live = LiveFields({"companies": {"home": FieldSpec(type="string", pattern="https?://.+",
                                                       pattern_message="a full URL")}})
    finding = one(validate(load_profile(path), live), "constant_breaks_rule")
    assert (finding.severity, finding.where, finding.field) == ("error", f"{path}:9:21", "home")
    assert "the constant 'example.com' breaks the rule of companies.home: a full URL" in finding.message


def test_lookup_lacks_field(tmp_path: Path, root: Path) -> None:
    """A connector whose company look-up answer carries three fields only (`response.carries`)."""
    spec = (root / "connectors" / "hubspot.yaml").read_text(encoding="utf-8")
    records = "      records: $.results[*]\n      id: $.id\n      fields: $.properties\n      next:"
    assert spec.count(records) == 2  # the search look-up's answer, then the list's
    carries = "      carries: [hs_object_id, domain, name]\n      next:"
    spec = spec.replace(records, records.replace("      next:", carries), 1)
    (tmp_path / "narrow.yaml").write_text(spec, encoding="utf-8")
    text = profile("name: $.name", "phone: $.phone").replace("connector: hubspot", "connector: narrow.yaml")
    check(tmp_path, text, "lookup_lacks_field", "warning", "9:7", "employer", "phone",
          "look-up answer does not carry phone (it holds only hs_object_id, domain, name)")


def test_owner_on_account(tmp_path: Path) -> None:
    check(tmp_path, profile("name: $.name", extra="    owner: {source: $.manager_email}\n"),
          "owner_on_account", "error", "9:5", "employer", None, "accounts never get an owner")
    check(tmp_path, profile("name: $.name", "ownerid@odata.bind: {value: /systemusers(1)}", object="account"),
          "owner_on_account", "error", "9:7", "employer", "ownerid@odata.bind", "accounts never get an owner")


def test_owner_unavailable(tmp_path: Path, root: Path) -> None:
    connector = (root / "connectors" / "hubspot.yaml").read_text(encoding="utf-8")
    start = connector.index("\nusers:\n")
    end = connector.index("\nendpoints:\n")
    (tmp_path / "nousers.yaml").write_text(connector[:start] + connector[end:], encoding="utf-8")
    text = profile("firstname: $.first_name", object="contacts",
                   extra="    owner: {source: $.manager_email}\n")
    check(tmp_path, text.replace("connector: hubspot", "connector: nousers.yaml"), "owner_unavailable",
          "error", "9:5", "employer", None, "how to find a CRM user by email (`users:`)")
    _, findings = findings_of(tmp_path, text)
    assert findings == []  # the built-in HubSpot connector says both


def test_every_finding_code_has_a_test_here() -> None:
    codes = finding_severities()
    assert len(codes) >= 20
    here = inspect.getsource(inspect.getmodule(test_every_finding_code_has_a_test_here))
    untested = sorted(c for c in codes if f'"{c}"' not in here)
    assert not untested, f"finding codes without a test in tests/test_validate.py: {untested}"


def test_cannot_pull(tmp_path: Path) -> None:
    """A connector without `list` (tests/test_list_endpoint_optional.py also validates and pushes it)."""
    from tests.test_list_endpoint_optional import connector_without_list

    bundle = load_profile(connector_without_list(tmp_path))
    assert [f.severity for f in validate(bundle) if f.code == "cannot_pull"] == ["warning"]


def test_unknown_name_field(tmp_path: Path) -> None:
    check(tmp_path, profile("name: $.name", extra="    name: nmae\n"),
          "unknown_name_field", "error", "9:11", "employer", "nmae", "no field 'nmae'",
          "did you mean 'name'?")


def test_name_field_unmapped(tmp_path: Path) -> None:
    check(tmp_path, profile("name: $.name", extra="    name: [name, phone]\n"),
          "name_field_unmapped", "warning", "9:18", "employer", "phone", "records are named without it")
