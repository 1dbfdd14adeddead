"""HubSpot's owners, as the CRM API | Owners guide describes them: `GET /crm/v3/owners` (filtered by
`email`, paged by `limit` and `after`, archived owners only with `archived=true`) and
`GET /crm/v3/owners/{ownerId}` (`idProperty=id|userId`), behind the `crm.objects.owners.read` scope.
An owner is a user of the portal; a deactivated user's owner is archived. Records take an owner's `id`
(not its `userId`) in `hubspot_owner_id`, an enumeration whose options are the active owners: any
other value is refused as an option that is not allowed, as HubSpot does.

Seeded under `owners` ({"owners": [{"email": ..., "firstName": ..., "archived": false}]}); ids and
userIds are given out when missing.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from engine.sandbox.hubspot_rules import BadRequest, error, iso_ms

OWNERS_SCOPE = "crm.objects.owners.read"
OWNER_PROPERTY = "hubspot_owner_id"
FIRST_OWNER_ID, FIRST_USER_ID = 41_629_779, 9_586_504  # the guide's example ids
CREATED = "2019-12-25T13:01:35.228Z"


def owner_record(seed: dict[str, Any], position: int) -> dict[str, Any]:
    """An owner in the API's shape, from a seed (its ids, when missing, given out in order)."""
    user_id = int(seed.get("userId") or FIRST_USER_ID + position)
    archived = bool(seed.get("archived", False))
    return {
        "id": str(seed.get("id") or FIRST_OWNER_ID + position),
        "email": seed["email"],
        "type": seed.get("type", "PERSON"),
        "firstName": seed.get("firstName", ""),
        "lastName": seed.get("lastName", ""),
        "userId": None if archived else user_id,
        "userIdIncludingInactive": user_id,
        "createdAt": seed.get("createdAt", CREATED),
        "updatedAt": seed.get("updatedAt", CREATED),
        "archived": archived,
        "teams": seed.get("teams", []),
    }


class OwnersMixin:
    """Needs from the host: schema, api(), _scope_failure(), base_url, seed_owners."""

    schema: dict[str, dict[str, dict[str, Any]]]
    seed_owners: list[dict[str, Any]]
    base_url: str

    def reset_owners(self) -> None:
        self.owners = [owner_record(seed, i) for i, seed in enumerate(self.seed_owners)]
        options = [
            {
                "label": f"{o['firstName']} {o['lastName']} ({o['email']})".strip(),
                "value": o["id"],
                "displayOrder": i,
                "hidden": False,
                "description": "",
            }
            for i, o in enumerate(o for o in self.owners if not o["archived"])
        ]
        for properties in self.schema.values():
            if OWNER_PROPERTY in properties:
                properties[OWNER_PROPERTY]["options"] = options

    def list_owners(self, request: Request, _: Any) -> Response:
        query = request.query_params
        archived = query.get("archived", "false").lower() == "true"
        email = query.get("email")
        found = [
            o
            for o in self.owners
            if o["archived"] == archived
            and (email is None or o["email"].casefold() == email.strip().casefold())
        ]
        try:
            limit = max(1, min(int(query.get("limit", "100")), 500))
            start = int(query.get("after", "0"))
        except ValueError:
            raise BadRequest("limit and after must be integers") from None
        page = found[start : start + limit]
        body: dict[str, Any] = {"results": page}
        if start + limit < len(found):
            after = str(start + limit)
            body["paging"] = {
                "next": {"after": after, "link": f"{self.base_url}/crm/v3/owners?after={after}&limit={limit}"}
            }
        return JSONResponse(body)

    def read_owner(self, request: Request, _: Any) -> Response:
        query = request.query_params
        key = "userId" if query.get("idProperty") == "userId" else "id"
        archived = query.get("archived", "false").lower() == "true"
        wanted = request.path_params["owner_id"]
        owner = next((o for o in self.owners if str(o[key]) == wanted and o["archived"] == archived), None)
        if owner is None:
            return error(404, "OBJECT_NOT_FOUND", f"Owner with {key} {wanted} not found.")
        return JSONResponse(owner)

    def _owners_routes(self) -> list[BaseRoute]:
        return [
            Route("/crm/v3/owners", self._owners_api(self.list_owners), methods=["GET"]),
            Route("/crm/v3/owners/", self._owners_api(self.list_owners), methods=["GET"]),
            Route("/crm/v3/owners/{owner_id}", self._owners_api(self.read_owner), methods=["GET"]),
        ]

    def _owners_api(self, handler: Any) -> Any:
        def scoped(request: Request, body: Any) -> Response:
            return self._scope_failure(OWNERS_SCOPE) or handler(request, body)  # type: ignore[attr-defined]

        return self.api(scoped, None)  # type: ignore[attr-defined]


__all__ = ["OwnersMixin", "OWNER_PROPERTY", "iso_ms"]
