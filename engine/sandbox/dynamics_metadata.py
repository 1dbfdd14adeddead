"""Table definitions of the Dynamics emulator: `EntityDefinitions`, `.../Attributes`, type casts such as
`/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet`,
and `.../Keys` (webapi/query-metadata-web-api.md).

As in Dataverse: metadata queries are not paged; `MetadataId` is always returned; an `Attributes`
collection without a cast only knows the properties of AttributeMetadata (so `$select=MaxLength` needs the
StringAttributeMetadata cast); enum properties filter as `AttributeType eq
Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'` or with a plain string; complex values by path,
`RequiredLevel/Value eq Microsoft.Dynamics.CRM.AttributeRequiredLevel'ApplicationRequired'`.
"""

from __future__ import annotations

from typing import Any

from engine.sandbox.dynamics_errors import DataverseError, DvResponse, json_answer, segment_not_found
from engine.sandbox.dynamics_handlers import ApiRequest, split_path
from engine.sandbox.dynamics_odata import parse_filter, parse_key
from engine.sandbox.dynamics_query import DictResolver, compile_filter, parse_select
from engine.sandbox.dynamics_schema import CHOICE_TYPES, Column, Table, metadata_id

METADATA_TYPES = {
    "String": "StringAttributeMetadata",
    "Memo": "MemoAttributeMetadata",
    "Picklist": "PicklistAttributeMetadata",
    "State": "StateAttributeMetadata",
    "Status": "StatusAttributeMetadata",
    "Boolean": "BooleanAttributeMetadata",
    "Integer": "IntegerAttributeMetadata",
    "BigInt": "BigIntAttributeMetadata",
    "Money": "MoneyAttributeMetadata",
    "Decimal": "DecimalAttributeMetadata",
    "Double": "DoubleAttributeMetadata",
    "DateTime": "DateTimeAttributeMetadata",
    "Uniqueidentifier": "UniqueIdentifierAttributeMetadata",
    "Lookup": "LookupAttributeMetadata",
    "Customer": "LookupAttributeMetadata",
    "Owner": "LookupAttributeMetadata",
    "EntityName": "EntityNameAttributeMetadata",
}
ENUMS = {
    "AttributeType": "Microsoft.Dynamics.CRM.AttributeTypeCode",
    "RequiredLevel/Value": "Microsoft.Dynamics.CRM.AttributeRequiredLevel",
    "OwnershipType": "Microsoft.Dynamics.CRM.OwnershipTypes",
    "EntityKeyIndexStatus": "Microsoft.Dynamics.CRM.EntityKeyIndexStatus",
}
CRM = "Microsoft.Dynamics.CRM."


def label(text: str, managed: bool = True) -> dict[str, Any]:
    localized = {
        "Label": text,
        "LanguageCode": 1033,
        "IsManaged": managed,
        "MetadataId": metadata_id("label", text),
        "HasChanged": None,
    }
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": dict(localized)}


def managed_flag(value: bool, name: str) -> dict[str, Any]:
    return {"Value": value, "CanBeChanged": False, "ManagedPropertyLogicalName": name}


def entity_row(table: Table) -> dict[str, Any]:
    return {
        "MetadataId": table.metadata_id,
        "HasChanged": None,
        "LogicalName": table.logical,
        "SchemaName": table.schema_name,
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "CollectionSchemaName": table.schema_name + "s",
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name,
        "ObjectTypeCode": table.object_type_code,
        "OwnershipType": "UserOwned",
        "IsCustomEntity": False,
        "IsActivity": False,
        "IsPrivate": False,
        "IsManaged": True,
        "IsValidForAdvancedFind": True,
        "IsKnowledgeManagementEnabled": False,
        "IsIntersect": False,
        "TableType": "Standard",
        "DisplayName": label(table.display),
        "DisplayCollectionName": label(table.display_plural),
        "Description": label(f"Business that represents a {table.display.lower()}."),
        "CanCreateAttributes": managed_flag(True, "cancreateattributes"),
        "IsCustomizable": managed_flag(True, "iscustomizable"),
    }


def attribute_base(table: Table, column: Column, number: int) -> dict[str, Any]:
    return {
        "MetadataId": metadata_id(table.logical, column.logical),
        "HasChanged": None,
        "AttributeOf": None,
        "AttributeType": column.type,
        "AttributeTypeName": {"Value": column.type + "Type"},
        "ColumnNumber": number,
        "EntityLogicalName": table.logical,
        "LogicalName": column.logical,
        "SchemaName": column.logical
        if not column.custom
        else column.logical[:3] + column.logical[3:].title(),
        "IsCustomAttribute": column.custom,
        "IsManaged": not column.custom,
        "IsPrimaryId": column.logical == table.primary_id,
        "IsPrimaryName": column.logical == table.primary_name,
        "IsValidForCreate": column.valid_for_create,
        "IsValidForUpdate": column.valid_for_update,
        "IsValidForRead": True,
        "IsValidODataAttribute": True,
        "IsLogical": False,
        "IsFilterable": True,
        "IsSearchable": True,
        "IsRetrievable": True,
        "IsRequiredForForm": column.required in ("SystemRequired", "ApplicationRequired"),
        "DisplayName": label(column.display_label, not column.custom),
        "Description": label(column.display_label),
        "RequiredLevel": {
            "Value": column.required,
            "CanBeChanged": column.required != "SystemRequired",
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
        "IsCustomizable": managed_flag(True, "iscustomizable"),
    }


def attribute_derived(column: Column) -> dict[str, Any]:
    kind = column.type
    if kind in ("String", "Memo"):
        fmt = "TextArea" if kind == "Memo" else string_format(column.logical)
        return {
            "MaxLength": column.max_length,
            "DatabaseLength": (column.max_length or 0) * 2,
            "Format": fmt,
            "FormatName": {"Value": fmt},
            "IsLocalizable": False,
            "ImeMode": "Auto",
        }
    if kind in ("Integer", "BigInt"):
        limit = 2_147_483_647 if kind == "Integer" else 9_223_372_036_854_775_807
        return {"MinValue": -limit - 1, "MaxValue": limit, "Format": "None"}
    if kind in ("Money", "Decimal", "Double"):
        return {"Precision": 2, "MinValue": -100_000_000_000_000.0, "MaxValue": 100_000_000_000_000.0}
    if kind == "DateTime":
        return {
            "Format": "DateOnly" if column.date_only else "DateAndTime",
            "DateTimeBehavior": {"Value": "DateOnly" if column.date_only else "UserLocal"},
            "MinSupportedValue": "1753-01-01T00:00:00Z",
            "MaxSupportedValue": "9999-12-30T23:59:59Z",
        }
    if column.is_lookup:
        return {"Targets": list(column.targets), "Format": "None"}
    if kind == "Picklist":
        return {"DefaultFormValue": -1}
    if kind == "Boolean":
        return {"DefaultValue": False}
    return {}


PHONE_COLUMNS = ("telephone", "mobilephone", "business2", "home2", "callback", "assistantphone",
                 "managerphone", "company")


def string_format(logical: str) -> str:
    """FormatName of a string column, as the CDM types them (url, email, phone, tickerSymbol)."""
    if logical.endswith("url"):
        return "Url"
    if logical.startswith("emailaddress"):
        return "Email"
    if logical == "tickersymbol":
        return "TickerSymbol"
    bare = logical.removeprefix("address1_").removeprefix("address2_")
    if bare.startswith(PHONE_COLUMNS):
        return "Phone"
    return "Text"


def option_set(table: Table, column: Column) -> dict[str, Any]:
    out: dict[str, Any] = {
        "MetadataId": metadata_id(table.logical, column.logical, "optionset"),
        "HasChanged": None,
        "Name": f"{table.logical}_{column.logical}",
        "IsGlobal": False,
        "IsCustomOptionSet": column.custom,
        "IsManaged": not column.custom,
        "OptionSetType": column.type if column.type in CHOICE_TYPES else "Boolean",
        "DisplayName": label(column.display_label),
        "Description": label(column.display_label),
    }
    if column.type == "Boolean":
        out["TrueOption"] = {"Value": 1, "Label": label("Yes")}
        out["FalseOption"] = {"Value": 0, "Label": label("No")}
        return out
    out["Options"] = [
        {
            "Value": value,
            "Color": None,
            "IsManaged": not column.custom,
            "MetadataId": None,
            "HasChanged": None,
            "Label": label(text, not column.custom),
            "Description": {"LocalizedLabels": [], "UserLocalizedLabel": None},
        }
        for value, text in sorted((column.options or {}).items())
    ]
    return out


def key_row(table: Table, index: int) -> dict[str, Any]:
    key = table.keys[index]
    return {
        "MetadataId": metadata_id(table.logical, "key", key.name),
        "HasChanged": None,
        "LogicalName": key.name,
        "SchemaName": key.schema_name,
        "EntityLogicalName": table.logical,
        "KeyAttributes": list(key.columns),
        "EntityKeyIndexStatus": "Active",
        "IsManaged": False,
        "AsyncJob": None,
        "DisplayName": label("BenefitFlow ID Key", False),
        "IsCustomizable": managed_flag(True, "iscustomizable"),
    }


def parse_expand(text: str) -> list[tuple[str, dict[str, str]]]:
    """`OptionSet($select=Options),GlobalOptionSet` -> [("OptionSet", {"$select": "Options"}), ...]."""
    items, depth, start = [], 0, 0
    for i, char in enumerate(text + ","):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    out = []
    for item in filter(None, items):
        name, _, inner = item.partition("(")
        options = {}
        for part in filter(None, inner.rstrip(")").split(";")):
            key, _, value = part.partition("=")
            options[key.strip()] = value.strip()
        out.append((name.strip(), options))
    return out


class MetadataMixin:
    schema: dict[str, Table]

    def metadata_request(self, req: ApiRequest) -> DvResponse:
        if req.method != "GET":
            raise DataverseError(
                405, "", f"The requested resource does not support http method '{req.method}'."
            )
        options, aliases = req.options()
        segments = metadata_segments(req.path)
        name, key_text = segments[0]
        if key_text is None:
            if len(segments) > 1:
                raise segment_not_found(segments[1][0])
            rows = [self.entity_view(t, options) for t in self.schema.values()]
            template = entity_row(next(iter(self.schema.values())))
            body = self.collection(
                rows,
                template,
                "Microsoft.Dynamics.CRM.EntityMetadata",
                options,
                aliases,
                list(expanded(options)),
            )
            return json_answer(
                200, {"@odata.context": f"{req.api}/$metadata#EntityDefinitions{shape(options)}", **body}
            )
        table = self.metadata_table(key_text)
        if len(segments) == 1:
            row = self.entity_view(table, options)
            body = {"@odata.context": f"{req.api}/$metadata#EntityDefinitions{shape(options)}/$entity"}
            body.update(
                self.project(
                    row,
                    options,
                    entity_row(table),
                    "Microsoft.Dynamics.CRM.EntityMetadata",
                    expanded(options),
                )
            )
            return json_answer(200, body)
        return self.children(req, table, segments[1:], options, aliases)

    def metadata_table(self, key_text: str) -> Table:
        key = parse_key(key_text)
        for table in self.schema.values():
            if key in (table.metadata_id, {"LogicalName": table.logical}):
                return table
        name = key.get("LogicalName") if isinstance(key, dict) else key
        raise DataverseError(404, "0x80040217", f"Could not find entity with LogicalName = '{name}'.")

    def entity_view(self, table: Table, options: dict[str, str]) -> dict[str, Any]:
        row = entity_row(table)
        for name, inner in parse_expand(options.get("$expand", "")):
            if name == "Attributes":
                attrs = [self.attribute_row(table, c, i) for i, c in enumerate(table.columns.values())]
                row["Attributes"] = self.collection(
                    attrs, self.base_template(table), CRM + "AttributeMetadata", inner, {}
                )["value"]
            elif name == "Keys":
                row["Keys"] = [key_row(table, i) for i in range(len(table.keys))]
            else:
                raise DataverseError(
                    400,
                    "0x80060888",
                    f"Could not find a property named '{name}' on type "
                    "'Microsoft.Dynamics.CRM.EntityMetadata'.",
                )
        return row

    def attribute_row(self, table: Table, column: Column, number: int) -> dict[str, Any]:
        row = {"@odata.type": f"#{CRM}{METADATA_TYPES[column.type]}", **attribute_base(table, column, number)}
        row.update(attribute_derived(column))
        return row

    @staticmethod
    def base_template(table: Table) -> dict[str, Any]:
        return attribute_base(table, next(iter(table.columns.values())), 0)

    def children(
        self,
        req: ApiRequest,
        table: Table,
        segments: list[tuple[str, str | None]],
        options: dict[str, str],
        aliases: dict[str, str],
    ) -> DvResponse:
        name, key_text = segments[0]
        base = f"{req.api}/$metadata#EntityDefinitions('{table.logical}')"
        if name == "Keys":
            rows = [key_row(table, i) for i in range(len(table.keys))]
            template = rows[0] if rows else {"MetadataId": None, "LogicalName": None}
            body = self.collection(rows, template, CRM + "EntityKeyMetadata", options, aliases)
            return json_answer(200, {"@odata.context": f"{base}/Keys", **body})
        if name != "Attributes":
            raise segment_not_found(name)
        columns = list(enumerate(table.columns.values()))
        if key_text is not None:
            key = parse_key(key_text)
            columns = [
                (i, c)
                for i, c in columns
                if key in (metadata_id(table.logical, c.logical), {"LogicalName": c.logical})
            ]
            if not columns:
                raise DataverseError(
                    404, "0x80040217", f"Could not find attribute {key_text} on entity {table.logical}."
                )
        cast = segments[1][0] if len(segments) > 1 else None
        kinds = [k for k, v in METADATA_TYPES.items() if cast and cast == CRM + v]
        if cast and not kinds:
            raise segment_not_found(cast)
        if kinds:
            columns = [(i, c) for i, c in columns if c.type in kinds]
            template_column = Column("template", kinds[0], max_length=1, options={})
            template = {**attribute_base(table, template_column, 0), **attribute_derived(template_column)}
            type_name = CRM + METADATA_TYPES[kinds[0]]
        else:
            template, type_name = self.base_template(table), CRM + "AttributeMetadata"
        rows = [self.attribute_row(table, c, i) for i, c in columns]
        expansions = parse_expand(options.get("$expand", ""))
        for name, _inner in expansions:
            if (
                name not in ("OptionSet", "GlobalOptionSet")
                or not kinds
                or kinds[0] not in (*CHOICE_TYPES, "Boolean")
            ):
                raise DataverseError(
                    400, "0x80060888", f"Could not find a property named '{name}' on type '{type_name}'."
                )
        for row, (_, column) in zip(rows, columns, strict=True):
            for name, inner in expansions:
                value = option_set(table, column) if name == "OptionSet" else None
                row[name] = self.project(value, inner, value, CRM + "OptionSetMetadata") if value else None
        cast_part = f"/{cast}" if cast else ""
        if key_text is not None:
            body = self.project(
                rows[0], options, template, type_name, keep=("@odata.type", *[n for n, _ in expansions])
            )
            return json_answer(
                200, {"@odata.context": f"{base}/Attributes({key_text}){cast_part}/$entity", **body}
            )
        body = self.collection(rows, template, type_name, options, aliases, keep=[n for n, _ in expansions])
        return json_answer(200, {"@odata.context": f"{base}/Attributes{cast_part}{shape(options)}", **body})

    def collection(
        self,
        rows: list[dict[str, Any]],
        template: dict[str, Any],
        type_name: str,
        options: dict[str, str],
        aliases: dict[str, str],
        keep: list[str] | None = None,
    ) -> dict[str, Any]:
        resolver = DictResolver(type_name, template, ENUMS)
        if options.get("$filter"):
            predicate = compile_filter(parse_filter(options["$filter"]), resolver, aliases)
            rows = [r for r in rows if predicate(r) is True]
        projected = [
            self.project(r, options, template, type_name, keep=("@odata.type", *(keep or ()))) for r in rows
        ]
        return {"value": projected}

    @staticmethod
    def project(
        row: dict[str, Any],
        options: dict[str, str],
        template: dict[str, Any],
        type_name: str,
        keep: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        if not options.get("$select"):
            return row
        names = parse_select(options["$select"], lambda n: n in template and not n.startswith("@"), type_name)
        return {k: v for k, v in row.items() if k in names or k == "MetadataId" or k in keep}


def metadata_segments(path: str) -> list[tuple[str, str | None]]:
    segments = []
    rest = path
    while rest:
        name, key, rest = split_path(rest)
        segments.append((name, key))
    return segments


def csdl(schema: dict[str, Table]) -> str:
    """A small CSDL $metadata document: the emulated entity types, their keys, properties and
    single-valued navigation properties, and the entity sets."""
    types = []
    for table in schema.values():
        props = "".join(
            f'<Property Name="{c.web_name}" Type="{c.edm_type}"/>' for c in table.columns.values()
        )
        navs = "".join(
            f'<NavigationProperty Name="{n.name}" Type="mscrm.{n.target}"/>' for n in table.navs.values()
        )
        types.append(
            f'<EntityType Name="{table.logical}" BaseType="mscrm.crmbaseentity"><Key><PropertyRef '
            f'Name="{table.primary_id}"/></Key>{props}{navs}</EntityType>'
        )
    sets = "".join(
        f'<EntitySet Name="{t.entity_set}" EntityType="Microsoft.Dynamics.CRM.{t.logical}"/>'
        for t in schema.values()
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="4.0" '
        'xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices><Schema '
        'Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        '<EntityType Name="crmbaseentity" Abstract="true"/>'
        + "".join(types)
        + f'<EntityContainer Name="System">{sets}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>'
    )


def expanded(options: dict[str, str]) -> tuple[str, ...]:
    return tuple(name for name, _ in parse_expand(options.get("$expand", "")))


def shape(options: dict[str, str]) -> str:
    return f"({options['$select']})" if options.get("$select") else ""
