"""Zoho CRM field metadata for the emulated modules, and the checks Zoho applies to a written value.

Written from Zoho's "Fields Metadata" API page (api_name, data_type, length, pick_list_values,
system_mandatory, read_only, unique) and the error shapes of Zoho's published OpenAPI
(zoho/crm-oas common.json: MANDATORY_NOT_FOUND, INVALID_DATA with expected_data_type /
maximum_length / supported_values, DUPLICATE_DATA): see docs/zoho-api-facts.md.
Imports nothing from the engine (DESIGN.md rule 3).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from typing import Any

MODULES = ("Accounts", "Contacts", "Leads")
# Zoho's system-defined duplicate check fields, used by upsert when duplicate_check_fields is not given
SYSTEM_DUPLICATE_CHECK = {"Accounts": ("Account_Name",), "Contacts": ("Email",), "Leads": ("Email",)}
SYSTEM_FIELDS = ("id", "Created_Time", "Modified_Time", "Created_By", "Modified_By", "Owner")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class Field:
    api_name: str
    data_type: (
        str  # text, email, phone, website, picklist, lookup, integer, double, boolean, ownerlookup, datetime
    )
    length: int = 255
    system_mandatory: bool = False
    read_only: bool = False
    unique: bool = False
    custom_field: bool = False
    pick_list_values: tuple[str, ...] = ()
    lookup_module: str | None = None

    def public(self, number: int) -> dict[str, Any]:
        """The field as GET /settings/fields answers it (a subset of Zoho's keys)."""
        out: dict[str, Any] = {
            "api_name": self.api_name,
            "field_label": self.api_name.replace("_", " "),
            "display_label": self.api_name.replace("_", " "),
            "data_type": self.data_type,
            "json_type": JSON_TYPES.get(self.data_type, "string"),
            "length": self.length,
            "system_mandatory": self.system_mandatory,
            "read_only": self.read_only,
            "custom_field": self.custom_field,
            "unique": {"casesensitive": "false"} if self.unique else {},
            "id": f"55500000000{number:08d}",
            "pick_list_values": [
                {"display_value": v, "actual_value": v, "id": f"55500000001{i:08d}"}
                for i, v in enumerate(self.pick_list_values)
            ],
            "lookup": {},
        }
        if self.lookup_module:
            out["lookup"] = {"module": {"api_name": self.lookup_module, "id": "5550000000000001"}}
        return out


JSON_TYPES = {
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "integer": "integer",
    "double": "double",
    "boolean": "boolean",
}

INDUSTRIES = (
    "-None-",
    "ASP (Application Service Provider)",
    "Data/Telecom OEM",
    "ERP (Enterprise Resource Planning)",
    "Government/Military",
    "Large Enterprise",
    "ManagementISV",
    "MSP (Management Service Provider)",
    "Network Equipment Enterprise",
    "Non-management ISV",
    "Optical Networking",
    "Service Provider",
    "Small/Medium Enterprise",
    "Storage Equipment",
    "Storage Service Provider",
    "Systems Integrator",
    "Wireless Industry",
)
LEAD_STATUSES = (
    "-None-",
    "Attempted to Contact",
    "Contact in Future",
    "Contacted",
    "Junk Lead",
    "Lost Lead",
    "Not Contacted",
    "Pre-Qualified",
    "Not Qualified",
)
LEAD_SOURCES = (
    "-None-",
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Online Store",
    "Partner",
    "Public Relations",
    "Sales Email Alias",
    "Seminar Partner",
    "Internal Seminar",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
)

ACCOUNT_TYPES = (
    "-None-",
    "Analyst",
    "Competitor",
    "Customer",
    "Distributor",
    "Integrator",
    "Investor",
    "Other",
    "Partner",
    "Press",
    "Prospect",
    "Reseller",
    "Supplier",
    "Vendor",
)
FUNDING_TYPES = ("-None-", "Fully Insured", "Self-Funded", "Level-Funded")
MONTHS = ("-None-", *calendar.month_name[1:])
BROKER_TYPES = ("-None-", "Independent", "National", "Regional")


def _common() -> list[Field]:
    return [
        Field("id", "bigint", 19, read_only=True),
        Field("Owner", "ownerlookup", 120),
        Field("Created_Time", "datetime", 120, read_only=True),
        Field("Modified_Time", "datetime", 120, read_only=True),
        Field("Created_By", "ownerlookup", 120, read_only=True),
        Field("Modified_By", "ownerlookup", 120, read_only=True),
        Field("Description", "textarea", 32000),
        Field("BenefitFlow_Id", "text", 64, unique=True, custom_field=True),
    ]


def _accounts() -> list[Field]:
    return [
        Field("Account_Name", "text", 200, system_mandatory=True),
        Field("Website", "website", 255),
        Field("Phone", "phone", 30),
        Field("Industry", "picklist", 120, pick_list_values=INDUSTRIES),
        Field("Employees", "integer", 16),
        Field("Annual_Revenue", "currency", 16),
        Field("Billing_Street", "text", 250),
        Field("Billing_City", "text", 30),
        Field("Billing_State", "text", 30),
        Field("Billing_Code", "text", 30),
        Field("Billing_Country", "text", 30),
        Field("Parent_Account", "lookup", 120, lookup_module="Accounts"),
        Field("Account_Type", "picklist", 120, pick_list_values=ACCOUNT_TYPES),
        # the customer's own picklists (BenefitFlow export), as the other emulators carry them
        Field("Funding_Type", "picklist", 120, custom_field=True, pick_list_values=FUNDING_TYPES),
        Field("Renewal_Month", "picklist", 120, custom_field=True, pick_list_values=MONTHS),
        Field("Broker_Type", "picklist", 120, custom_field=True, pick_list_values=BROKER_TYPES),
    ]


def _people() -> list[Field]:
    return [
        Field("First_Name", "text", 40),
        Field("Last_Name", "text", 80, system_mandatory=True),
        Field("Email", "email", 100),
        Field("Secondary_Email", "email", 100),
        Field("Phone", "phone", 30),
        Field("Mobile", "phone", 30),
        Field("Title", "text", 100),
        Field("Lead_Source", "picklist", 120, pick_list_values=LEAD_SOURCES),
    ]


def _leads() -> list[Field]:
    return [
        *_people(),
        Field("Company", "text", 200),
        Field("Lead_Status", "picklist", 120, pick_list_values=LEAD_STATUSES),
        Field("Industry", "picklist", 120, pick_list_values=INDUSTRIES),
    ]


def default_schema() -> dict[str, dict[str, Field]]:
    modules = {
        "Accounts": _common() + _accounts(),
        "Contacts": _common()
        + _people()
        + [Field("Account_Name", "lookup", 120, lookup_module="Accounts"), Field("Department", "text", 30)],
        "Leads": _common() + _leads(),
    }
    return {name: {f.api_name: f for f in fields} for name, fields in modules.items()}


@dataclass
class RecordError:
    """One refused value: Zoho's per-record error (code, message, details)."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "message": self.message, "status": "error"}


def mandatory_missing(api_name: str, index: int) -> RecordError:
    return RecordError(
        "MANDATORY_NOT_FOUND",
        "required field not found",
        {"api_name": api_name, "json_path": f"$.data[{index}].{api_name}"},
    )


def invalid(api_name: str, index: int, **extra: Any) -> RecordError:
    return RecordError(
        "INVALID_DATA",
        "invalid data",
        {**extra, "api_name": api_name, "json_path": f"$.data[{index}].{api_name}"},
    )


def check_value(f: Field, value: Any, index: int, restricted_picklists: bool) -> RecordError | None:
    """Zoho's check of one written value against its field; None when it is accepted."""
    if value is None:
        return None
    kind = f.data_type
    if kind in ("lookup", "ownerlookup"):
        ok = isinstance(value, dict) and isinstance(value.get("id"), str | int)
        return None if ok else invalid(f.api_name, index, expected_data_type="jsonobject")
    if kind == "integer":
        ok = (
            isinstance(value, int)
            and not isinstance(value, bool)
            or isinstance(value, str)
            and value.isdigit()
        )
        return None if ok else invalid(f.api_name, index, expected_data_type="integer")
    if kind in ("double", "currency"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else invalid(f.api_name, index, expected_data_type="double")
    if kind == "boolean":
        return None if isinstance(value, bool) else invalid(f.api_name, index, expected_data_type="boolean")
    if not isinstance(value, str):
        return invalid(f.api_name, index, expected_data_type="text")
    if len(value) > f.length:
        return invalid(f.api_name, index, maximum_length=f.length)
    if kind == "email" and value and not EMAIL.match(value):
        return invalid(f.api_name, index)
    if kind == "picklist" and restricted_picklists and value not in f.pick_list_values:
        return invalid(f.api_name, index, supported_values=list(f.pick_list_values))
    return None
