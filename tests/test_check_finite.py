"""NaN and infinity never reach a request body: a number field refuses them with a finding naming the
record, the field and the value, and so does a field the connector does not describe; a plan made from
a source holding them (text such as "NaN", or a literal 1e999, which the standard library reads as
infinity; a bare NaN is refused by engine/read.py) writes no NaN nor Infinity in its JSON, its records or
its requests."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.catalog import load_connector, load_profile
from engine.check import check_record
from engine.connector import FieldSpec
from engine.mapping import MappedRecord
from engine.plan import make_plan_sync
from engine.spool.jsonout import write_json

ROOT = Path(__file__).resolve().parent.parent


def checked(value: Any, field_type: str = "number") -> tuple[dict[str, Any], MappedRecord]:
    record = MappedRecord("employer", "emp-9", "Account", "employer.jsonl:9", values={"Revenue": value})
    fields = {"Revenue": FieldSpec(type=field_type)}
    return check_record(record, load_connector("salesforce").model, fields), record


@pytest.mark.parametrize(("value", "shown"), [
    ("NaN", "'NaN'"), ("nan", "'nan'"), ("-nan", "'-nan'"), ("1e999", "'1e999'"), ("-1e999", "'-1e999'"),
    ("Infinity", "'Infinity'"), ("-inf", "'-inf'"), ("  inf ", "'  inf '"), ("1,000e999", "'1,000e999'"),
    (float("nan"), "nan"), (float("inf"), "inf"), (float("-inf"), "-inf"),
])
@pytest.mark.parametrize("field_type", ["number", "integer"])
def test_a_non_finite_number_is_refused_naming_field_and_value(value: Any, shown: str,
                                                               field_type: str) -> None:
    wired, record = checked(value, field_type)
    assert wired == {}
    [problem] = record.problems
    assert (problem.field, problem.code) == ("Revenue", "not_finite")
    assert problem.message == (f"employer emp-9: Revenue: {shown} is not a finite number "
                               "(NaN and infinity cannot be sent)")


@pytest.mark.parametrize(("value", "number"), [
    ("1e3", 1000), ("1,250", 1250), ("2.5", 2.5), (2.0, 2.0), (7, 7), ("-0", 0), ("1e308", int(1e308)),
    (1.7976931348623157e308, 1.7976931348623157e308),
])
def test_a_finite_number_is_kept_as_before(value: Any, number: float) -> None:
    wired, record = checked(value)
    assert record.problems == []
    assert wired == {"Revenue": number}
    assert type(wired["Revenue"]) is type(number)


@pytest.mark.parametrize("value", [float("nan"), [1, float("inf")], {"a": {"b": float("-inf")}}])
def test_a_field_the_connector_does_not_describe_refuses_them_too(value: Any) -> None:
    record = MappedRecord("employer", "emp-9", "Account", "employer.jsonl:9", values={"Other__c": value})
    assert check_record(record, load_connector("salesforce").model, {}) == {}
    assert [(p.field, p.code) for p in record.problems] == [("Other__c", "not_finite")]


def holds_non_finite(value: Any) -> bool:
    """The standard library's own verdict: it refuses to write NaN and infinity with allow_nan off."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return True
    return False


NUMBERISH = (st.floats() | st.integers() | st.text(max_size=8)
             | st.sampled_from(["nan", "inf", "-Infinity", "1e999", "1e-999", "1,0e400"])
             | st.lists(st.floats(), max_size=3))
TYPES = st.sampled_from(["number", "integer", "string", "text", "picklist", "url", "email", "date",
                         "month_name", "state_code", "boolean", None])


@settings(max_examples=400, deadline=None)
@given(NUMBERISH, TYPES)
def test_no_value_checked_is_nan_or_infinity(value: Any, field_type: str | None) -> None:
    record = MappedRecord("employer", "emp-9", "Account", "employer.jsonl:9", values={"F": value})
    fields = {} if field_type is None else {"F": FieldSpec(type=field_type)}
    wired = check_record(record, load_connector("salesforce").model, fields)
    assert not holds_non_finite(wired)
    refused = (holds_non_finite(value) if field_type is None else field_type in ("number", "integer") and (
        (isinstance(value, float) and not math.isfinite(value)) or (isinstance(value, str)
                                                                     and _non_finite_text(value))))
    assert ([p.code for p in record.problems] == ["not_finite"]) is refused


def _non_finite_text(text: str) -> bool:
    try:
        return not math.isfinite(float(text.strip().replace(",", "")))
    except ValueError:
        return False


def test_a_plan_from_a_source_with_nan_and_infinity_writes_neither(tmp_path: Path) -> None:
    source = tmp_path / "data"
    shutil.copytree(ROOT / "examples" / "data", source)
    lines = (source / "employer.jsonl").read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace('"employee_count": 85', '"employee_count": 85, "revenue": "NaN"')
    lines[1] = lines[1].replace('"employee_count": 420', '"employee_count": 420, "revenue": -1e999')
    lines[2] = lines[2].replace('"employee_count": ', '"revenue": "1e999", "employee_count": ')
    (source / "employer.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    profile = tmp_path / "salesforce.yaml"
    text = (ROOT / "profiles" / "salesforce-benefitflow.yaml").read_text(encoding="utf-8")
    profile.write_text(text.replace("      Type: {value: Customer - Direct}\n",
                                    "      Type: {value: Customer - Direct}\n"
                                    "      AnnualRevenue: $.revenue\n", 1), encoding="utf-8")
    plan = make_plan_sync(load_profile(profile), source)
    out = tmp_path / "plan.json"
    with out.open("w", encoding="utf-8") as handle:
        write_json(plan.json_parts(), handle)
    written = out.read_text(encoding="utf-8")
    document = json.loads(written, parse_constant=refuse_constant)  # NaN, Infinity as JSON values
    assert not holds_non_finite(document)
    refused = {r["source_id"]: r["problems"] for r in document["records"]
               if any(p["code"] == "not_finite" for p in r["problems"])}
    assert sorted(refused) == ["emp-001", "emp-002", "emp-003"]
    assert [p["message"] for p in refused["emp-002"] if p["code"] == "not_finite"] == [
        "employer emp-002: AnnualRevenue: -inf is not a finite number (NaN and infinity cannot be sent)"]
    assert all(r["status"] == "invalid" for r in document["records"] if r["source_id"] in refused)
    bodies = json.dumps([r["body"] for r in document["requests"]])
    assert "employer.jsonl:1\"" not in bodies and "emp-001" not in bodies  # the refused are not sent
    assert "Bluebird Bakery" not in bodies and "Cedar Valley" not in bodies


def refuse_constant(constant: str) -> None:
    raise AssertionError(f"{constant} written as a JSON value")

