"""Associations v4 for the HubSpot emulator.

Spec: CRM/Associations/Rollouts/130902/v4/associations.json; guide
https://developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/guide.
HUBSPOT_DEFINED type ids: contact->company 279 (unlabeled) / 1 (primary); company->contact 280 / 2;
parent->child company 13, child->parent 14, company-company 450. Associating writes both directions;
a labelled association also carries the unlabeled one; a contact has one primary company.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from starlette.responses import JSONResponse, Response

from engine.sandbox.hubspot_records import batch_body, batch_inputs, now_iso, standard_error
from engine.sandbox.hubspot_rules import BadRequest

# typeId -> (from, to, label, reverse typeId)
TYPES: dict[int, tuple[str, str, str | None, int]] = {
    279: ("contacts", "companies", None, 280),
    1: ("contacts", "companies", "Primary", 2),
    280: ("companies", "contacts", None, 279),
    2: ("companies", "contacts", "Primary", 1),
    13: ("companies", "companies", "Child Company", 14),
    14: ("companies", "companies", "Parent Company", 13),
    450: ("companies", "companies", None, 450),
}
UNLABELED = {("contacts", "companies"): 279, ("companies", "contacts"): 280, ("companies", "companies"): 450}
TYPE_IDS = {"contacts": "0-1", "companies": "0-2"}
CATEGORY = "HUBSPOT_DEFINED"
WORD = {"contacts": "contact", "companies": "company"}

Edge = tuple[str, str, str, str, int]  # from type, from id, to type, to id, typeId


class EdgeStore:
    """The association edges, indexed by their `from` end so that one record's associations are found
    without scanning every edge."""

    def __init__(self) -> None:
        self.by_from: dict[tuple[str, str], set[Edge]] = {}

    def __iter__(self) -> Iterator[Edge]:
        return (e for edges in self.by_from.values() for e in edges)

    def add(self, edge: Edge) -> None:
        self.by_from.setdefault(edge[:2], set()).add(edge)

    def starting_at(self, from_type: str, from_id: str) -> set[Edge]:
        return self.by_from.get((from_type, from_id), set())

    def discard(self, edges: Iterable[Edge]) -> None:
        for edge in list(edges):
            self.by_from.get(edge[:2], set()).discard(edge)


class AssociationsMixin:
    """Needs from the host class: records, find(), associations (an EdgeStore)."""

    associations: EdgeStore
    records: dict[str, dict[str, dict[str, Any]]]

    # ----- the store -------------------------------------------------------------------------
    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int) -> None:
        _, _, _, reverse = TYPES[type_id]
        if type_id in (1, 2):
            contact_id = from_id if from_type == "contacts" else to_id
            primary = {e for e in self.associations.starting_at("contacts", contact_id) if e[4] == 1}
            self.associations.discard(primary | {(e[2], e[3], e[0], e[1], 2) for e in primary})
        unlabeled = UNLABELED[(from_type, to_type)]
        for tid, rid in ((type_id, reverse), (unlabeled, TYPES[unlabeled][3])):
            self.associations.add((from_type, from_id, to_type, to_id, tid))
            self.associations.add((to_type, to_id, from_type, from_id, rid))

    def disassociate(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_ids: set[int] | None = None
    ) -> None:
        def hit(e: Edge) -> bool:
            forward = e[:4] == (from_type, from_id, to_type, to_id)
            backward = e[:4] == (to_type, to_id, from_type, from_id)
            if type_ids is None:
                return forward or backward
            return (forward and e[4] in type_ids) or (backward and TYPES[e[4]][3] in type_ids)

        edges = self.associations
        ends = edges.starting_at(from_type, from_id) | edges.starting_at(to_type, to_id)
        self.associations.discard({e for e in ends if hit(e)})

    def associated(self, from_type: str, from_id: str, to_type: str) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        live = self.records[to_type]
        for e in sorted(self.associations.starting_at(from_type, from_id), key=lambda e: (int(e[3]), e[4])):
            if e[2] == to_type and e[3] in live and not live[e[3]]["archived"]:
                out.setdefault(e[3], []).append(e[4])
        return out

    def association_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "fromObjectType": f,
                "fromId": fid,
                "toObjectType": t,
                "toId": tid,
                "associationTypeId": type_id,
                "category": CATEGORY,
            }
            for f, fid, t, tid, type_id in sorted(
                self.associations, key=lambda e: (e[0], int(e[1]), e[2], int(e[3]), e[4])
            )
        ]

    # ----- checks ------------------------------------------------------------------------------
    def exists(self, object_type: str, object_id: str) -> bool:
        record = self.records[object_type].get(object_id)
        return record is not None and not record["archived"]

    @staticmethod
    def check_type(from_type: str, to_type: str, type_id: Any, category: Any = CATEGORY) -> int:
        try:
            tid = int(type_id)
        except (TypeError, ValueError):
            raise BadRequest(f"associationTypeId must be an integer, got {type_id!r}") from None
        if category not in (None, CATEGORY) or tid not in TYPES or TYPES[tid][:2] != (from_type, to_type):
            raise BadRequest(
                f"{category} association type id {tid} does not exist between "
                f"{TYPE_IDS[from_type]} and {TYPE_IDS[to_type]}"
            )
        return tid

    def check_ids(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        for object_type, object_id in ((from_type, from_id), (to_type, to_id)):
            if not self.exists(object_type, object_id):
                raise BadRequest(f"{WORD[object_type].upper()} {object_id} does not exist")

    def parse_create_associations(self, from_type: str, raw: Any) -> list[tuple[str, str, int]]:
        """The `associations` of a v3 create body: [{to:{id}, types:[{associationTypeId, ...}]}]."""
        if not isinstance(raw, list):
            raise BadRequest("Invalid input JSON: associations must be a list")
        out = []
        for item in raw:
            to_id = str(item["to"]["id"])
            for spec in item.get("types") or []:
                tid = int(spec["associationTypeId"])
                if tid not in TYPES or TYPES[tid][0] != from_type:
                    raise BadRequest(f"association type id {tid} is not valid for {TYPE_IDS[from_type]}")
                to_type = TYPES[tid][1]
                if not self.exists(to_type, to_id):
                    raise BadRequest(f"{WORD[to_type].upper()} {to_id} does not exist")
                out.append(
                    (
                        to_type,
                        to_id,
                        self.check_type(from_type, to_type, tid, spec.get("associationCategory")),
                    )
                )
        return out

    # ----- responses ------------------------------------------------------------------------------
    def labels_between(self, from_type: str, from_id: str, to_type: str, to_id: str) -> dict[str, Any]:
        types = self.associated(from_type, from_id, to_type).get(to_id, [])
        return {
            "fromObjectTypeId": TYPE_IDS[from_type],
            "fromObjectId": int(from_id),
            "toObjectTypeId": TYPE_IDS[to_type],
            "toObjectId": int(to_id),
            "labels": [TYPES[t][2] for t in types if TYPES[t][2]],
        }

    @staticmethod
    def specs(type_ids: list[int]) -> list[dict[str, Any]]:
        return [{"category": CATEGORY, "typeId": t, "label": TYPES[t][2]} for t in type_ids]

    def default_results(self, from_type: str, from_id: str, to_type: str, to_id: str) -> list[dict[str, Any]]:
        tid = UNLABELED[(from_type, to_type)]
        return [
            {
                "from": {"id": from_id},
                "to": {"id": to_id},
                "associationSpec": {"associationCategory": CATEGORY, "associationTypeId": tid},
            },
            {
                "from": {"id": to_id},
                "to": {"id": from_id},
                "associationSpec": {"associationCategory": CATEGORY, "associationTypeId": TYPES[tid][3]},
            },
        ]

    # ----- handlers ---------------------------------------------------------------------------------
    def put_default(self, from_type: str, from_id: str, to_type: str, to_id: str) -> Response:
        started = now_iso()
        self.check_ids(from_type, from_id, to_type, to_id)
        self.associate(from_type, from_id, to_type, to_id, UNLABELED[(from_type, to_type)])
        return JSONResponse(batch_body(self.default_results(from_type, from_id, to_type, to_id), started))

    def put_labelled(self, from_type: str, from_id: str, to_type: str, to_id: str, body: Any) -> Response:
        if not isinstance(body, list) or not body:
            raise BadRequest(
                "Invalid input JSON: the body must be a list of {associationCategory, associationTypeId}"
            )
        tids = [
            self.check_type(from_type, to_type, s.get("associationTypeId"), s.get("associationCategory"))
            for s in body
        ]
        self.check_ids(from_type, from_id, to_type, to_id)
        for tid in tids:
            self.associate(from_type, from_id, to_type, to_id, tid)
        return JSONResponse(self.labels_between(from_type, from_id, to_type, to_id), status_code=201)

    def get_associations(
        self, from_type: str, from_id: str, to_type: str, limit: int, after: int
    ) -> Response:
        if not self.exists(from_type, from_id):
            return JSONResponse({"results": []})
        rows = [
            {"toObjectId": int(tid), "associationTypes": self.specs(types)}
            for tid, types in self.associated(from_type, from_id, to_type).items()
        ]
        page = rows[after : after + limit]
        body: dict[str, Any] = {"results": page}
        if after + limit < len(rows):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return JSONResponse(body)

    def delete_between(self, from_type: str, from_id: str, to_type: str, to_id: str) -> Response:
        self.disassociate(from_type, from_id, to_type, to_id)
        return Response(status_code=204)

    @staticmethod
    def _pair(item: Any) -> tuple[str, str]:
        return str(item["from"]["id"]), str(item["to"]["id"])

    def _input_error(self, message: str, from_id: str, to_id: str) -> dict[str, Any]:
        return standard_error("VALIDATION_ERROR", message, {"fromId": [from_id], "toId": [to_id]})

    def batch_default(self, from_type: str, to_type: str, body: Any) -> Response:
        started = now_iso()
        results, errors = [], []
        for item in batch_inputs(body, 2000):
            from_id, to_id = self._pair(item)
            try:
                self.check_ids(from_type, from_id, to_type, to_id)
            except BadRequest as exc:
                errors.append(self._input_error(exc.message, from_id, to_id))
                continue
            self.associate(from_type, from_id, to_type, to_id, UNLABELED[(from_type, to_type)])
            results.extend(self.default_results(from_type, from_id, to_type, to_id))
        return JSONResponse(batch_body(results, started, errors), status_code=207 if errors else 200)

    def batch_create_associations(self, from_type: str, to_type: str, body: Any) -> Response:
        started = now_iso()
        results, errors = [], []
        for item in batch_inputs(body, 2000):
            from_id, to_id = self._pair(item)
            try:
                tids = [
                    self.check_type(
                        from_type, to_type, s.get("associationTypeId"), s.get("associationCategory")
                    )
                    for s in item.get("types") or []
                ]
                if not tids:
                    raise BadRequest("types must list at least one association type")
                self.check_ids(from_type, from_id, to_type, to_id)
            except BadRequest as exc:
                errors.append(self._input_error(exc.message, from_id, to_id))
                continue
            for tid in tids:
                self.associate(from_type, from_id, to_type, to_id, tid)
            results.append(self.labels_between(from_type, from_id, to_type, to_id))
        return JSONResponse(batch_body(results, started, errors), status_code=207 if errors else 201)

    def batch_read_associations(self, from_type: str, to_type: str, body: Any) -> Response:
        started = now_iso()
        results, errors = [], []
        for item in batch_inputs(body, 1000):
            from_id = str(item["id"])
            found = self.associated(from_type, from_id, to_type) if self.exists(from_type, from_id) else {}
            if not found:
                errors.append(
                    standard_error(
                        "OBJECT_NOT_FOUND",
                        f"No {WORD[to_type]} is associated with {WORD[from_type]} {from_id}.",
                        {"fromId": [from_id]},
                    )
                )
                continue
            results.append(
                {
                    "from": {"id": from_id},
                    "to": [
                        {"toObjectId": int(tid), "associationTypes": self.specs(types)}
                        for tid, types in found.items()
                    ],
                }
            )
        return JSONResponse(batch_body(results, started, errors), status_code=207 if errors else 200)

    def batch_archive_associations(self, from_type: str, to_type: str, body: Any) -> Response:
        for item in batch_inputs(body, 2000):
            from_id = str(item["from"]["id"])
            for target in item.get("to") or []:
                self.disassociate(from_type, from_id, to_type, str(target["id"]))
        return Response(status_code=204)

    def batch_archive_labels(self, from_type: str, to_type: str, body: Any) -> Response:
        for item in batch_inputs(body, 2000):
            from_id, to_id = self._pair(item)
            tids = {
                self.check_type(from_type, to_type, s.get("associationTypeId"), s.get("associationCategory"))
                for s in item.get("types") or []
            }
            self.disassociate(from_type, from_id, to_type, to_id, tids)
        return Response(status_code=204)
