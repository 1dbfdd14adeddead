"""The seeded Dataverse schema of the Dynamics emulator: the tables account, contact and lead with
their real standard columns (`dynamics_catalog`), their lookups and navigation properties, and this
customer's solution (publisher prefix `bf_`).

Sources: cdm_attribute_catalog.json (types, MaxLength, RequiredLevel) and webapi_entitytype_extract.json
(entity sets, primary keys, single-valued navigation properties, read-only columns), both in
/work/shared/reference/dynamics/; the choice columns' option sets from Dataverse's table reference
(`dynamics_choices`). Every choice column has its option set, as in Dataverse. A column can be added
per table with the sandbox's `extra_columns` option.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

from engine.sandbox.dynamics_catalog import CATALOG
from engine.sandbox.dynamics_choices import OPTIONS

NAMESPACE = uuid.UUID("6c1e9b52-6f0c-4b5e-9a57-3c3d2b1f0a11")

EDM_TYPES = {
    "String": "Edm.String",
    "Memo": "Edm.String",
    "EntityName": "Edm.String",
    "Picklist": "Edm.Int32",
    "State": "Edm.Int32",
    "Status": "Edm.Int32",
    "Integer": "Edm.Int32",
    "BigInt": "Edm.Int64",
    "Money": "Edm.Decimal",
    "Decimal": "Edm.Decimal",
    "Double": "Edm.Double",
    "Boolean": "Edm.Boolean",
    "DateTime": "Edm.DateTimeOffset",
    "Uniqueidentifier": "Edm.Guid",
    "Lookup": "Edm.Guid",
    "Customer": "Edm.Guid",
    "Owner": "Edm.Guid",
}
LOOKUP_TYPES = ("Lookup", "Customer", "Owner")
CHOICE_TYPES = ("Picklist", "State", "Status")
REQUIRED_LEVELS = ("None", "SystemRequired", "ApplicationRequired", "Recommended")

# Read-only columns (IsValidForCreate and IsValidForUpdate false): webapi_entitytype_extract.json
# `account_read_only` and `lead_read_only_sample`, applied to every table that has the column.
READ_ONLY = {
    "address1_composite",
    "address2_composite",
    "aging30",
    "aging30_base",
    "aging60",
    "aging60_base",
    "aging90",
    "aging90_base",
    "createdon",
    "creditlimit_base",
    "entityimage_timestamp",
    "entityimage_url",
    "entityimageid",
    "exchangerate",
    "marketcap_base",
    "merged",
    "modifiedon",
    "onholdtime",
    "opendeals",
    "opendeals_date",
    "opendeals_state",
    "openrevenue",
    "openrevenue_base",
    "openrevenue_date",
    "openrevenue_state",
    "revenue_base",
    "timespentbymeonemailandmeetings",
    "versionnumber",
    "yomifullname",
    "fullname",
    "annualincome_base",
    "budgetamount_base",
    "estimatedamount_base",
    "lastonholdtime",
}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]  # English labels whatever the machine's locale, so not calendar.month_name


def choice(labels: list[str]) -> dict[int, str]:
    """A solution's option set: custom values start at the publisher's prefix 100000000."""
    return {100_000_000 + i: label for i, label in enumerate(labels)}


@dataclass
class Column:
    """One attribute. A choice column (Picklist, State, Status) always has `options`, as in Dataverse."""

    logical: str
    type: str
    max_length: int | None = None
    required: str = "None"
    valid_for_create: bool = True
    valid_for_update: bool = True
    options: dict[int, str] | None = None
    targets: tuple[str, ...] = ()
    label: str | None = None
    custom: bool = False
    date_only: bool = False

    @property
    def edm_type(self) -> str:
        return "Edm.Date" if self.date_only else EDM_TYPES[self.type]

    @property
    def is_lookup(self) -> bool:
        return self.type in LOOKUP_TYPES

    @property
    def web_name(self) -> str:
        """The Web API property: lookups are read as `_<column>_value`."""
        return f"_{self.logical}_value" if self.is_lookup else self.logical

    @property
    def display_label(self) -> str:
        return self.label or self.logical.replace("_", " ").title()


@dataclass
class NavProp:
    """A single-valued navigation property: write `<name>@odata.bind`, read the column's `_x_value`."""

    name: str
    column: str
    target: str  # logical name of the related table, or "systemuser"


@dataclass
class AltKey:
    name: str
    schema_name: str
    columns: list[str]


@dataclass
class Table:
    logical: str
    entity_set: str
    schema_name: str
    primary_id: str
    primary_name: str
    display: str
    display_plural: str
    object_type_code: int
    columns: dict[str, Column] = field(default_factory=dict)
    navs: dict[str, NavProp] = field(default_factory=dict)
    keys: list[AltKey] = field(default_factory=list)
    _views: ColumnViews | None = field(default=None, repr=False)

    @property
    def type_name(self) -> str:
        return f"Microsoft.Dynamics.CRM.{self.logical}"

    @property
    def metadata_id(self) -> str:
        return metadata_id(self.logical)

    def views(self) -> ColumnViews:
        if self._views is None:
            self._views = ColumnViews.of(self)
        return self._views

    def web_properties(self) -> dict[str, Column]:
        """Web API property name -> column, in column order."""
        return self.views().web

    def add(self, column: Column) -> None:
        if column.logical in READ_ONLY:
            column.valid_for_create = column.valid_for_update = False
        self.columns[column.logical] = column
        self._views = None

    def drop(self, logical: str) -> None:
        self.columns.pop(logical, None)
        self._views = None


@dataclass(frozen=True)
class ColumnViews:
    """A table's columns as each write and read looks them up, made once per change of the columns."""

    web: dict[str, Column]  # Web API property name -> column, in column order
    lookups: dict[str, Column]  # `_<column>_value` -> lookup column
    required: list[str]  # SystemRequired columns but the primary id, in column order

    @classmethod
    def of(cls, table: Table) -> ColumnViews:
        columns = table.columns.values()
        return cls(
            web={c.web_name: c for c in columns},
            lookups={c.web_name: c for c in columns if c.is_lookup},
            required=[
                c.logical for c in columns if c.required == "SystemRequired" and c.logical != table.primary_id
            ],
        )


def metadata_id(*names: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(names)))


def _standard(table: Table) -> None:
    for logical, type_, max_length, required in CATALOG[table.logical]:
        column = _catalog_column(table, logical, type_, max_length, required)
        if logical == table.primary_id:
            column.valid_for_update = False
        table.add(column)


def _catalog_column(table: Table, logical: str, type_: str, max_length: int | None, required: str) -> Column:
    """A standard column; a choice column gets the table's documented option set."""
    options = OPTIONS[table.logical].get(logical)
    if type_ in CHOICE_TYPES and options is None:
        raise ValueError(f"{table.logical}.{logical}: a standard choice column without its option set")
    return Column(logical, type_, max_length, required, options=dict(options) if options else None)


def _address_columns(table: Table) -> None:
    """Account and contact carry the same composite address columns as lead (the CDM splits them out)."""
    for logical, type_, max_length, required in CATALOG["lead"]:
        if logical.startswith(("address1_", "address2_")) and logical not in table.columns:
            table.add(_catalog_column(table, logical, type_, max_length, required))


def _system(table: Table) -> None:
    table.add(Column("createdon", "DateTime"))
    table.add(Column("modifiedon", "DateTime"))
    table.add(Column("overriddencreatedon", "DateTime", valid_for_update=False))
    table.add(Column("versionnumber", "BigInt"))
    table.add(Column("importsequencenumber", "Integer", valid_for_update=False))
    table.add(Column("ownerid", "Owner", required="SystemRequired", targets=("systemuser", "team")))
    for name in ("createdby", "modifiedby"):
        table.add(
            Column(name, "Lookup", targets=("systemuser",), valid_for_create=False, valid_for_update=False)
        )
        table.navs[name] = NavProp(name, name, "systemuser")
    table.navs["ownerid"] = NavProp("ownerid", "ownerid", "systemuser")


def _lookup(
    table: Table, column: str, targets: tuple[str, ...], nav: bool = True, type_: str = "Lookup"
) -> None:
    writable = nav
    table.add(Column(column, type_, targets=targets, valid_for_create=writable, valid_for_update=writable))
    if not nav:
        return
    if type_ == "Customer":
        for target in targets:
            table.navs[f"{column}_{target}"] = NavProp(f"{column}_{target}", column, target)
    else:
        table.navs[column] = NavProp(column, column, targets[0])


def _solution(table: Table) -> None:
    """This customer's solution (publisher prefix bf_)."""
    table.add(Column("bf_benefitflowid", "String", 64, label="BenefitFlow ID", custom=True))
    table.keys.append(AltKey("bf_benefitflowid_key", "bf_BenefitFlowId_Key", ["bf_benefitflowid"]))
    if table.logical == "account":
        table.add(
            Column(
                "bf_fundingtype",
                "Picklist",
                label="Funding Type",
                custom=True,
                options=choice(["Fully Insured", "Self-Funded", "Level-Funded"]),
            )
        )
        table.add(
            Column("bf_renewalmonth", "Picklist", label="Renewal Month", custom=True, options=choice(MONTHS))
        )
        table.add(
            Column(
                "bf_brokertype",
                "Picklist",
                label="Broker Type",
                custom=True,
                options=choice(["Independent", "National", "Regional"]),
            )
        )


def _account() -> Table:
    table = Table("account", "accounts", "Account", "accountid", "name", "Account", "Accounts", 1)
    _standard(table)
    _address_columns(table)
    _lookup(table, "parentaccountid", ("account",))
    _lookup(table, "primarycontactid", ("contact",))
    _lookup(table, "originatingleadid", ("lead",))
    _lookup(table, "masterid", ("account",), nav=False)
    return table


def _contact() -> Table:
    table = Table("contact", "contacts", "Contact", "contactid", "fullname", "Contact", "Contacts", 2)
    _standard(table)
    _address_columns(table)
    _lookup(table, "parentcustomerid", ("account", "contact"), type_="Customer")
    _lookup(table, "originatingleadid", ("lead",))
    _lookup(table, "accountid", ("account",), nav=False)
    _lookup(table, "parentcontactid", ("contact",), nav=False)
    _lookup(table, "masterid", ("contact",), nav=False)
    return table


def _lead() -> Table:
    table = Table("lead", "leads", "Lead", "leadid", "fullname", "Lead", "Leads", 4)
    _standard(table)
    table.drop("contactid")
    _lookup(table, "parentaccountid", ("account",))
    _lookup(table, "parentcontactid", ("contact",))
    _lookup(table, "customerid", ("account", "contact"), type_="Customer")
    _lookup(table, "accountid", ("account",), nav=False)
    _lookup(table, "contactid", ("contact",), nav=False)
    _lookup(table, "masterid", ("lead",), nav=False)
    return table


def column_from_option(spec: Column | dict[str, Any]) -> Column:
    if isinstance(spec, Column):
        return copy.deepcopy(spec)
    data = dict(spec)
    if isinstance(data.get("options"), dict):
        data["options"] = {int(k): str(v) for k, v in data["options"].items()}
    if "targets" in data:
        data["targets"] = tuple(data["targets"])
    column = Column(**data)
    if column.type not in EDM_TYPES:
        raise ValueError(f"extra column {column.logical!r}: unknown AttributeType {column.type!r}")
    if column.type in CHOICE_TYPES and not column.options:
        raise ValueError(f"extra column {column.logical!r}: a choice column needs its `options` (value -> "
                         "label); Dataverse refuses any value outside them")
    if column.required not in REQUIRED_LEVELS:
        raise ValueError(
            f"extra column {column.logical!r}: RequiredLevel must be one of {', '.join(REQUIRED_LEVELS)}"
        )
    return column


def build_schema(extra_columns: dict[str, list[Column | dict[str, Any]]] | None = None) -> dict[str, Table]:
    """Entity set name -> table, with the extra columns (keyed by logical or entity set name) added."""
    tables = [_account(), _contact(), _lead()]
    for table in tables:
        _system(table)
        _solution(table)
    by_set = {t.entity_set: t for t in tables}
    by_logical = {t.logical: t for t in tables}
    for name, specs in (extra_columns or {}).items():
        table = by_set.get(name) or by_logical.get(name)
        if table is None:
            raise ValueError(f"extra_columns: unknown table {name!r}; choose account, contact or lead")
        for spec in specs:
            table.add(column_from_option(spec))
    return by_set
