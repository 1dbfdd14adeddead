"""Failures told by cause (issue 13, point 4): records refused for the same reason are one cause with a
count, whatever their values; different reasons stay apart. Messages as the CRMs word them (the
sandboxes' texts, from the CRMs' documentation)."""

from __future__ import annotations

from engine.summary import Failure, causes, field_named, shape


def test_one_reason_with_different_values_is_one_cause() -> None:
    refused = [Failure(f"employer/e{n}", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", None,
                       f"Funding Type: bad value for restricted picklist field: {value}")
               for n, value in enumerate(["Self Insured", "self funded", "Level Funded (2024)"] * 5)]
    refused.append(Failure("employer/x", "STRING_TOO_LONG", None,
                           "Name: data value too large: Acme (max length=5)"))
    found = causes(refused)
    assert [(c.code, len(c.refs)) for c in found] == [("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", 15),
                                                     ("STRING_TOO_LONG", 1)]
    assert found[0].example == "Funding Type: bad value for restricted picklist field: Self Insured"
    assert found[0].title() == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST — 15 records"
    assert found[1].title() == "STRING_TOO_LONG — 1 record"


def test_a_named_field_groups_by_code_and_field() -> None:
    found = causes([Failure("c/1", "pattern", "Email", "'zoë@x.example' breaks the field's rule"),
                    Failure("c/2", "pattern", "Email", "'jörg@y.example' breaks the field's rule"),
                    Failure("c/3", "pattern", "Phone", "'+1 (555)' breaks the field's rule")])
    assert [(c.title(), c.refs) for c in found] == [("pattern Email — 2 records", ["c/1", "c/2"]),
                                                   ("pattern Phone — 1 record", ["c/3"])]


def test_the_shape_keeps_the_words_and_drops_the_values() -> None:
    assert shape("'2025-02-30' is not a real calendar date") == "… is not a real calendar date"
    assert shape("duplicate value found: BenefitFlow_Id__c duplicates value on record with id: "
                 "001000000000001AAA") == "duplicate value found: BenefitFlow_Id__c duplicates value on " \
                                          "record with id: …"
    assert shape("no email; the identity key needs it") == "no email; the identity key needs it"
    assert shape("ana@example.com is not a user") != shape("the owner is not a user")


def test_the_field_a_message_names_is_the_longest_not_a_quoted_key() -> None:
    message = 'Property values were not valid: [{"name":"benefitflow_profile_url","message":"x"}]'
    assert field_named(message, ["name", "benefitflow_profile_url", "domain"]) == "benefitflow_profile_url"
    assert field_named('{"name": "x"}', ["name"]) is None
    assert field_named("Website: invalid", ["Website__c", "Web"]) is None
