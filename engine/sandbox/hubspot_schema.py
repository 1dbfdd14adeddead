"""The seeded HubSpot property schema: real standard properties of companies and contacts plus the
customer's custom ones (BenefitFlow export). Shapes follow the Properties API (`GET
/crm/v3/properties/{objectType}`, spec CRM/Properties/Rollouts/145899/v3/properties.json).

`validationRules` is kept apart from the Properties API answer: HubSpot serves it through the
property validations API (`/crm/v3/property-validations/{objectTypeId}`).
"""

from __future__ import annotations

import copy
from typing import Any

SCHEMA_TIMESTAMP = "2020-01-01T00:00:00Z"

# HubSpot's industry values are LinkedIn's list in upper snake case; a representative subset.
INDUSTRIES = [
    ("Accounting", "ACCOUNTING"),
    ("Airlines/Aviation", "AIRLINES_AVIATION"),
    ("Automotive", "AUTOMOTIVE"),
    ("Banking", "BANKING"),
    ("Biotechnology", "BIOTECHNOLOGY"),
    ("Computer Software", "COMPUTER_SOFTWARE"),
    ("Construction", "CONSTRUCTION"),
    ("Education Management", "EDUCATION_MANAGEMENT"),
    ("Financial Services", "FINANCIAL_SERVICES"),
    ("Food & Beverages", "FOOD_BEVERAGES"),
    ("Higher Education", "HIGHER_EDUCATION"),
    ("Hospital & Health Care", "HOSPITAL_HEALTH_CARE"),
    ("Hospitality", "HOSPITALITY"),
    ("Information Technology and Services", "INFORMATION_TECHNOLOGY_AND_SERVICES"),
    ("Insurance", "INSURANCE"),
    ("Legal Services", "LEGAL_SERVICES"),
    ("Logistics and Supply Chain", "LOGISTICS_AND_SUPPLY_CHAIN"),
    ("Management Consulting", "MANAGEMENT_CONSULTING"),
    ("Marketing and Advertising", "MARKETING_AND_ADVERTISING"),
    ("Medical Devices", "MEDICAL_DEVICES"),
    ("Nonprofit Organization Management", "NONPROFIT_ORGANIZATION_MANAGEMENT"),
    ("Pharmaceuticals", "PHARMACEUTICALS"),
    ("Real Estate", "REAL_ESTATE"),
    ("Restaurants", "RESTAURANTS"),
    ("Retail", "RETAIL"),
    ("Staffing and Recruiting", "STAFFING_AND_RECRUITING"),
    ("Telecommunications", "TELECOMMUNICATIONS"),
]
LIFECYCLE_STAGES = [
    ("Subscriber", "subscriber"),
    ("Lead", "lead"),
    ("Marketing Qualified Lead", "marketingqualifiedlead"),
    ("Sales Qualified Lead", "salesqualifiedlead"),
    ("Opportunity", "opportunity"),
    ("Customer", "customer"),
    ("Evangelist", "evangelist"),
    ("Other", "other"),
]
COMPANY_TYPES = [
    ("Prospect", "PROSPECT"),
    ("Partner", "PARTNER"),
    ("Reseller", "RESELLER"),
    ("Vendor", "VENDOR"),
    ("Other", "OTHER"),
]
FUNDING_TYPES = [(v, v) for v in ("Fully Insured", "Self-Funded", "Level-Funded")]
MONTHS = [
    (m, m)
    for m in (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    )
]
BROKER_TYPES = [(v, v) for v in ("Independent", "National", "Regional", "Wholesale")]

FIELD_TYPES = {
    "string": "text",
    "number": "number",
    "date": "date",
    "datetime": "date",
    "enumeration": "select",
    "bool": "booleancheckbox",
    "phone_number": "phonenumber",
}


def _options(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"label": label, "value": value, "displayOrder": i, "hidden": False, "description": ""}
        for i, (label, value) in enumerate(pairs)
    ]


def prop(
    name: str,
    label: str,
    type_: str = "string",
    *,
    group: str = "companyinformation",
    field_type: str | None = None,
    options: list[tuple[str, str]] | None = None,
    unique: bool = False,
    read_only: bool = False,
    custom: bool = False,
    calculated: bool = False,
    rules: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One property definition in the Properties API's shape."""
    return {
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type or FIELD_TYPES[type_],
        "groupName": group,
        "description": "",
        "options": _options(options or []),
        "displayOrder": -1,
        "hasUniqueValue": unique,
        "calculated": calculated,
        "externalOptions": False,
        "hidden": False,
        "hubspotDefined": not custom,
        "formField": not read_only,
        "archived": False,
        "createdAt": SCHEMA_TIMESTAMP,
        "updatedAt": SCHEMA_TIMESTAMP,
        "modificationMetadata": {
            "readOnlyValue": read_only,
            "readOnlyDefinition": not custom,
            "archivable": custom,
        },
        "validationRules": rules or [],
    }


URL_RULE = [{"ruleType": "URL", "ruleArguments": ["http", "https"], "shouldApplyNormalization": False}]


def owner_property(label: str = "Contact owner") -> dict[str, Any]:
    """The record's owner: an enumeration whose options are the portal's active owners (their `id`s,
    filled in from the owners when the sandbox is reset)."""
    return {**prop("hubspot_owner_id", label, "enumeration", group="sales_properties"),
            "externalOptions": True}


def _companies() -> list[dict[str, Any]]:
    g = "companyinformation"
    return [
        prop("name", "Company name", group=g),
        prop("domain", "Company Domain Name", group=g),
        prop("website", "Website URL", group=g),
        prop("phone", "Phone Number", "string", group=g, field_type="phonenumber"),
        prop("address", "Street Address", group=g),
        prop("address2", "Street Address 2", group=g),
        prop("city", "City", group=g),
        prop("state", "State/Region", group=g),
        prop("zip", "Postal Code", group=g),
        prop("country", "Country/Region", group=g),
        prop("industry", "Industry", "enumeration", group=g, options=INDUSTRIES),
        prop("numberofemployees", "Number of Employees", "number", group=g),
        prop("annualrevenue", "Annual Revenue", "number", group=g),
        prop("description", "Description", group=g, field_type="textarea"),
        prop("type", "Type", "enumeration", group=g, options=COMPANY_TYPES),
        prop(
            "lifecyclestage",
            "Lifecycle Stage",
            "enumeration",
            group=g,
            field_type="radio",
            options=LIFECYCLE_STAGES,
        ),
        prop("linkedin_company_page", "LinkedIn Company Page", group="social_media_information"),
        prop("hs_additional_domains", "Additional Domains", group=g, field_type="textarea"),
        prop("hs_object_id", "Record ID", "number", group=g, read_only=True, calculated=False),
        owner_property("Company owner"),
        prop("createdate", "Create Date", "datetime", group=g, read_only=True),
        prop("hs_lastmodifieddate", "Last Modified Date", "datetime", group=g, read_only=True),
        *_custom_common(g),
        prop("funding_type", "Funding Type", "enumeration", group=g, options=FUNDING_TYPES, custom=True),
        prop("renewal_month", "Renewal Month", "enumeration", group=g, options=MONTHS, custom=True),
        prop("plan_year_start", "Plan Year Start", "date", group=g, custom=True),
        prop("ein", "EIN", group=g, custom=True),
        prop("broker_type", "Broker Type", "enumeration", group=g, options=BROKER_TYPES, custom=True),
        prop("benefitflow_profile_url", "BenefitFlow Profile URL", group=g, custom=True, rules=URL_RULE),
    ]


def _custom_common(group: str) -> list[dict[str, Any]]:
    return [
        prop("benefitflow_id", "BenefitFlow ID", group=group, unique=True, custom=True),
        prop("broker_id", "Broker ID", group=group, custom=True),
    ]


def _contacts() -> list[dict[str, Any]]:
    g = "contactinformation"
    return [
        prop("email", "Email", group=g, field_type="text"),
        prop("firstname", "First Name", group=g),
        prop("lastname", "Last Name", group=g),
        prop("phone", "Phone Number", "string", group=g, field_type="phonenumber"),
        prop("mobilephone", "Mobile Phone Number", "string", group=g, field_type="phonenumber"),
        prop("jobtitle", "Job Title", group=g),
        prop("company", "Company Name", group=g),
        prop("website", "Website URL", group=g),
        prop("address", "Street Address", group=g),
        prop("city", "City", group=g),
        prop("state", "State/Region", group=g),
        prop("zip", "Postal Code", group=g),
        prop("country", "Country/Region", group=g),
        prop(
            "lifecyclestage",
            "Lifecycle Stage",
            "enumeration",
            group=g,
            field_type="radio",
            options=LIFECYCLE_STAGES,
        ),
        prop(
            "hs_additional_emails",
            "Additional email addresses",
            group=g,
            read_only=True,
            field_type="textarea",
        ),
        prop("hs_object_id", "Record ID", "number", group=g, read_only=True),
        prop("createdate", "Create Date", "datetime", group=g, read_only=True),
        prop("lastmodifieddate", "Last Modified Date", "datetime", group=g, read_only=True),
        owner_property(),
        *_custom_common(g),
        prop("historical_emails", "Historical Emails", group=g, field_type="textarea", custom=True),
    ]


DEFAULT_PROPERTIES = {
    "companies": ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
    "contacts": ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"],
}
MODIFIED_PROPERTY = {"companies": "hs_lastmodifieddate", "contacts": "lastmodifieddate"}


def default_schema() -> dict[str, dict[str, dict[str, Any]]]:
    """A fresh copy: object -> property name -> definition."""
    return copy.deepcopy(
        {
            "companies": {p["name"]: p for p in _companies()},
            "contacts": {p["name"]: p for p in _contacts()},
        }
    )


def public_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """What the Properties API answers (validation rules live in their own API)."""
    return {k: v for k, v in definition.items() if k != "validationRules"}
