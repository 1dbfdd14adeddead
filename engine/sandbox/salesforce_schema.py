"""The seeded schema of the Salesforce emulator: Account, Contact and Lead with their real standard
fields (names, types and lengths from the Object Reference: "Account", "Contact", "Lead"), this
customer's custom fields, and the describe shapes served from them.

A field is kept as the dict describe returns (`GET /sobjects/{obj}/describe`, DescribeFieldResult in
the SOAP API guide); `extend()` merges partial definitions (an option or the seed's `_fields`) over
the same defaults, so added fields describe and validate like seeded ones.
"""

from __future__ import annotations

import copy
from typing import Any

from engine.sandbox.salesforce_ids import KEY_PREFIXES

SOAP_TYPES = (
    {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int"}
    | dict.fromkeys(("double", "currency", "percent"), "xsd:double")
    | {"date": "xsd:date", "datetime": "xsd:dateTime"}
)
# fmt: off
TEXT_TYPES = {"string", "textarea", "picklist", "multipicklist", "combobox", "url", "email", "phone",
              "encryptedstring"}
STANDARD_LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
INDUSTRIES = ["Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
              "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
              "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government", "Healthcare",
              "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit",
              "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
              "Utilities", "Other"]
ACCOUNT_TYPES = ["Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
                 "Installation Partner", "Technology Partner", "Other"]
LEAD_STATUSES = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                 "Closed - Not Converted"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
# fmt: on
SALUTATIONS = ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]
RATINGS = ["Hot", "Warm", "Cold"]

PLURALS = {"Account": "Accounts", "Contact": "Contacts", "Lead": "Leads"}


def picklist_values(values: list[Any], default: str | None = None) -> list[dict[str, Any]]:
    out = []
    for value in values:
        entry = value if isinstance(value, dict) else {"value": str(value)}
        out.append(
            {
                "active": entry.get("active", True),
                "defaultValue": entry.get("value") == default or bool(entry.get("defaultValue", False)),
                "label": entry.get("label", entry["value"]),
                "validFor": None,
                "value": entry["value"],
            }
        )
    return out


def field(name: str, type_: str, label: str, length: int = 0, **props: Any) -> dict[str, Any]:
    """A describe field with Salesforce's defaults for a plain, optional, writable standard field."""
    custom = name.endswith("__c")
    values = props.pop("values", None)
    default = props.pop("default", None)
    definition: dict[str, Any] = {
        "aggregatable": type_ not in ("textarea", "multipicklist"),
        "autoNumber": False,
        "byteLength": length * 3,
        "calculated": False,
        "caseSensitive": False,
        "compoundFieldName": None,
        "createable": True,
        "custom": custom,
        "defaultValue": default,
        "defaultedOnCreate": False,
        "dependentPicklist": False,
        "digits": 0,
        "externalId": False,
        "filterable": type_ != "textarea" or length <= 255,
        "groupable": type_ not in ("textarea", "double"),
        "idLookup": False,
        "label": label,
        "length": length if type_ in TEXT_TYPES | {"id", "reference"} else 0,
        "name": name,
        "nameField": False,
        "nillable": True,
        "picklistValues": [],
        "precision": 0,
        "referenceTo": [],
        "relationshipName": None,
        "restrictedPicklist": False,
        "scale": 0,
        "soapType": SOAP_TYPES.get(type_, "xsd:string"),
        "sortable": type_ not in ("textarea", "multipicklist"),
        "type": type_,
        "unique": False,
        "updateable": True,
    }
    if values is not None:
        definition["picklistValues"] = picklist_values(values, default)
    definition.update(props)
    return definition


def system_fields() -> list[dict[str, Any]]:
    """Fields every one of the three objects has and no client may write."""
    read_only = {"createable": False, "updateable": False}
    return [
        field(
            "Id", "id", "Record ID", 18, nillable=False, defaultedOnCreate=True, idLookup=True, **read_only
        ),
        field("IsDeleted", "boolean", "Deleted", nillable=False, defaultedOnCreate=True, **read_only),
        field(
            "OwnerId",
            "reference",
            "Owner ID",
            18,
            nillable=False,
            defaultedOnCreate=True,
            referenceTo=["User"],
            relationshipName="Owner",
        ),
        field("CreatedDate", "datetime", "Created Date", nillable=False, defaultedOnCreate=True, **read_only),
        field(
            "CreatedById",
            "reference",
            "Created By ID",
            18,
            nillable=False,
            defaultedOnCreate=True,
            referenceTo=["User"],
            relationshipName="CreatedBy",
            **read_only,
        ),
        field(
            "LastModifiedDate",
            "datetime",
            "Last Modified Date",
            nillable=False,
            defaultedOnCreate=True,
            **read_only,
        ),
        field(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            18,
            nillable=False,
            defaultedOnCreate=True,
            referenceTo=["User"],
            relationshipName="LastModifiedBy",
            **read_only,
        ),
        field(
            "SystemModstamp",
            "datetime",
            "System Modstamp",
            nillable=False,
            defaultedOnCreate=True,
            **read_only,
        ),
    ]


def address(prefix: str, label: str) -> list[dict[str, Any]]:
    """The components of a compound address field (Object Reference lengths)."""
    compound = f"{prefix}Address" if prefix else "Address"
    return [
        field(f"{prefix}Street", "textarea", f"{label} Street", 255, compoundFieldName=compound),
        field(f"{prefix}City", "string", f"{label} City", 40, compoundFieldName=compound),
        field(f"{prefix}State", "string", f"{label} State/Province", 80, compoundFieldName=compound),
        field(f"{prefix}PostalCode", "string", f"{label} Zip/Postal Code", 20, compoundFieldName=compound),
        field(f"{prefix}Country", "string", f"{label} Country", 80, compoundFieldName=compound),
    ]


def benefitflow_id() -> dict[str, Any]:
    return field(
        "BenefitFlow_Id__c",
        "string",
        "BenefitFlow ID",
        64,
        externalId=True,
        unique=True,
        idLookup=True,
        caseSensitive=False,
    )


def account_fields() -> list[dict[str, Any]]:
    return [
        *system_fields(),
        field("Name", "string", "Account Name", 255, nillable=False, nameField=True, idLookup=False),
        field("Type", "picklist", "Account Type", 255, values=ACCOUNT_TYPES),
        field(
            "ParentId",
            "reference",
            "Parent Account ID",
            18,
            referenceTo=["Account"],
            relationshipName="Parent",
        ),
        *address("Billing", "Billing"),
        *address("Shipping", "Shipping"),
        field("Phone", "phone", "Account Phone", 40),
        field("Fax", "phone", "Account Fax", 40),
        field("AccountNumber", "string", "Account Number", 40),
        field("Website", "url", "Website", 255),
        field("Sic", "string", "SIC Code", 20),
        field("Industry", "picklist", "Industry", 255, values=INDUSTRIES),
        field("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        field("NumberOfEmployees", "int", "Employees", digits=8),
        field("Ownership", "picklist", "Ownership", 255, values=["Public", "Private", "Subsidiary", "Other"]),
        field("TickerSymbol", "string", "Ticker Symbol", 20),
        field("Description", "textarea", "Account Description", 32000),
        field("Rating", "picklist", "Account Rating", 255, values=RATINGS),
        field("Site", "string", "Account Site", 80),
        field("AccountSource", "picklist", "Account Source", 255, values=STANDARD_LEAD_SOURCES),
        benefitflow_id(),
        field(
            "Funding_Type__c",
            "picklist",
            "Funding Type",
            255,
            restrictedPicklist=True,
            values=["Fully Insured", "Self-Funded", "Level-Funded"],
        ),
        field("Renewal_Month__c", "picklist", "Renewal Month", 255, restrictedPicklist=True, values=MONTHS),
        field(
            "Broker_Type__c",
            "picklist",
            "Broker Type",
            255,
            restrictedPicklist=True,
            values=["Independent", "National", "Regional"],
        ),
    ]


def person_fields() -> list[dict[str, Any]]:
    """Name, phone and email fields Contact and Lead share."""
    return [
        field("LastName", "string", "Last Name", 80, nillable=False),
        field("FirstName", "string", "First Name", 40),
        field("Salutation", "picklist", "Salutation", 40, values=SALUTATIONS),
        field("Name", "string", "Full Name", 121, createable=False, updateable=False, nameField=True),
        field("Title", "string", "Title", 128),
        field("Phone", "phone", "Business Phone", 40),
        field("MobilePhone", "phone", "Mobile Phone", 40),
        field("Fax", "phone", "Business Fax", 40),
        field("Email", "email", "Email", 80, idLookup=True),
        field("LeadSource", "picklist", "Lead Source", 255, values=STANDARD_LEAD_SOURCES),
        field("Description", "textarea", "Description", 32000),
        field(
            "HasOptedOutOfEmail",
            "boolean",
            "Email Opt Out",
            nillable=False,
            defaultedOnCreate=True,
            defaultValue=False,
        ),
        benefitflow_id(),
    ]


def contact_fields() -> list[dict[str, Any]]:
    return [
        *system_fields(),
        *person_fields(),
        field(
            "AccountId", "reference", "Account ID", 18, referenceTo=["Account"], relationshipName="Account"
        ),
        field(
            "ReportsToId",
            "reference",
            "Reports To ID",
            18,
            referenceTo=["Contact"],
            relationshipName="ReportsTo",
        ),
        *address("Mailing", "Mailing"),
        *address("Other", "Other"),
        field("HomePhone", "phone", "Home Phone", 40),
        field("OtherPhone", "phone", "Other Phone", 40),
        field("Department", "string", "Department", 80),
        field("Birthdate", "date", "Birthdate"),
        field(
            "DoNotCall", "boolean", "Do Not Call", nillable=False, defaultedOnCreate=True, defaultValue=False
        ),
    ]


def lead_fields() -> list[dict[str, Any]]:
    return [
        *system_fields(),
        *person_fields(),
        field("Company", "string", "Company", 255, nillable=False),
        *address("", ""),
        field("Website", "url", "Website", 255),
        field(
            "Status",
            "picklist",
            "Lead Status",
            255,
            nillable=False,
            defaultedOnCreate=True,
            restrictedPicklist=True,
            values=LEAD_STATUSES,
            default=LEAD_STATUSES[0],
        ),
        field("Industry", "picklist", "Industry", 255, values=INDUSTRIES),
        field("Rating", "picklist", "Rating", 255, values=RATINGS),
        field("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        field("NumberOfEmployees", "int", "Employees", digits=8),
        field(
            "IsConverted",
            "boolean",
            "Converted",
            nillable=False,
            defaultedOnCreate=True,
            defaultValue=False,
            updateable=False,
        ),
    ]


def default_schema() -> dict[str, dict[str, dict[str, Any]]]:
    """Object name -> field name -> describe field, in describe order."""
    builders = {"Account": account_fields, "Contact": contact_fields, "Lead": lead_fields}
    return {obj: {f["name"]: f for f in build()} for obj, build in builders.items()}


def extend(schema: dict[str, dict[str, dict[str, Any]]], extra: dict[str, list[dict[str, Any]]]) -> None:
    """Add (or replace) fields: {"Account": [{"name": "Tier__c", "type": "picklist", "picklistValues":
    ["Gold", "Silver"], "restrictedPicklist": true, "label": "Tier", "length": 255}, ...]}."""
    for object_name, definitions in extra.items():
        if object_name not in schema:
            raise ValueError(
                f"extra fields: unknown object {object_name!r}; the sandbox has {', '.join(schema)}"
            )
        for partial in definitions:
            spec = copy.deepcopy(partial)
            name, type_ = spec.pop("name"), spec.pop("type", "string")
            values = spec.pop("picklistValues", None)
            made = field(
                name,
                type_,
                spec.pop("label", name),
                int(spec.pop("length", 255 if type_ in TEXT_TYPES else 0)),
                **spec,
            )
            if values is not None:
                made["picklistValues"] = picklist_values(values, spec.get("defaultValue"))
            schema[object_name][name] = made


def required_on_create(definition: dict[str, Any]) -> bool:
    """nillable false, not defaulted and writable: the client must send it (booleans are never null)."""
    return (
        not definition["nillable"]
        and not definition["defaultedOnCreate"]
        and definition["createable"]
        and definition["type"] != "boolean"
    )


def sobject_urls(version: str, object_name: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{object_name}"
    return {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "approvalLayouts": f"{base}/describe/approvalLayouts",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "listviews": f"{base}/listviews",
        "describe": f"{base}/describe",
        "quickActions": f"{base}/quickActions",
        "layouts": f"{base}/describe/layouts",
        "sobject": base,
    }


def object_summary(version: str, object_name: str) -> dict[str, Any]:
    """One entry of describeGlobal's `sobjects` (DescribeGlobalSObjectResult)."""
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": True,
        "custom": False,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": True,
        "deprecatedAndHidden": False,
        "feedEnabled": True,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": KEY_PREFIXES[object_name],
        "label": object_name,
        "labelPlural": PLURALS[object_name],
        "layoutable": True,
        "mergeable": True,
        "mruEnabled": True,
        "name": object_name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": True,
        "updateable": True,
        "urls": sobject_urls(version, object_name),
    }


def describe(version: str, object_name: str, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`GET /sobjects/{obj}/describe` (DescribeSObjectResult)."""
    out = object_summary(version, object_name)
    children = {
        "Account": [("Contact", "AccountId", "Contacts"), ("Account", "ParentId", "ChildAccounts")],
        "Contact": [("Contact", "ReportsToId", None)],
        "Lead": [],
    }[object_name]
    out.update(
        {
            "actionOverrides": [],
            "childRelationships": [
                {
                    "cascadeDelete": False,
                    "childSObject": child,
                    "deprecatedAndHidden": False,
                    "field": via,
                    "junctionIdListNames": [],
                    "junctionReferenceTo": [],
                    "relationshipName": name,
                    "restrictedDelete": False,
                }
                for child, via, name in children
            ],
            "compactLayoutable": True,
            "defaultImplementation": None,
            "extendedBy": None,
            "extendsInterfaces": None,
            "fields": [copy.deepcopy(f) for f in fields.values()],
            "implementedBy": None,
            "implementsInterfaces": None,
            "lookupLayoutable": None,
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "recordTypeInfos": [],
            "searchLayoutable": True,
            "sobjectDescribeOption": "FULL",
            "supportedScopes": [
                {"label": "All accounts" if object_name == "Account" else "All", "name": "everything"},
                {"label": "My " + PLURALS[object_name].lower(), "name": "mine"},
            ],
        }
    )
    return out
