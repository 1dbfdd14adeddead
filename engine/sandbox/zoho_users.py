"""Zoho CRM's users, as the Users API describes them: `GET /crm/v7/users?type=...` (AllUsers,
ActiveUsers, DeactiveUsers, ConfirmedUsers, NotConfirmedUsers, DeletedUsers, ActiveConfirmedUsers,
AdminUsers, ActiveConfirmedAdmins, CurrentUser; paged by `page` and `per_page`, up to 200) and
`GET /crm/v7/users/{id}`, answered as {"users": [{"id", "email", "status", "full_name", ...}], "info"}
and behind the `ZohoCRM.users.READ` scope (without it: 401 OAUTH_SCOPE_MISMATCH). A record's `Owner`
(an ownerlookup, written {"id": ...}) must name an active user: any other id is refused INVALID_DATA
with api_name Owner.

Seeded under `users` ({"users": [{"email": ..., "full_name": ..., "status": "active" | "inactive"}]});
ids are given out when missing. The integration user (the one the token belongs to) is always there,
active.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from engine.sandbox.zoho_records import USER, ApiError
from engine.sandbox.zoho_schema import Field, RecordError, invalid

USERS_SCOPE = "ZohoCRM.users.READ"
ORG_SCOPE = "ZohoCRM.org.READ"
FIRST_USER_ID = 5_550_000_000_000_501
MAX_USERS_PAGE = 200
# which users each `type` lists (Users API, "type" parameter)
TYPES: dict[str, Any] = {
    "AllUsers": lambda u: u["status"] != "deleted",
    "ActiveUsers": lambda u: u["status"] == "active",
    "DeactiveUsers": lambda u: u["status"] == "inactive",
    "DeletedUsers": lambda u: u["status"] == "deleted",
    "ConfirmedUsers": lambda u: u["confirm"],
    "NotConfirmedUsers": lambda u: not u["confirm"],
    "ActiveConfirmedUsers": lambda u: u["status"] == "active" and u["confirm"],
    "AdminUsers": lambda u: u["profile"]["name"] == "Administrator",
    "ActiveConfirmedAdmins": lambda u: u["status"] == "active" and u["confirm"]
    and u["profile"]["name"] == "Administrator",
    "CurrentUser": lambda u: u["id"] == USER["id"],
}


def user_record(seed: dict[str, Any], position: int) -> dict[str, Any]:
    """A user in the API's shape, from a seed (its id, when missing, given out in order)."""
    name = seed.get("full_name") or seed["email"].split("@")[0]
    return {
        "id": str(seed.get("id") or FIRST_USER_ID + position),
        "email": seed["email"],
        "full_name": name,
        "first_name": seed.get("first_name"),
        "last_name": seed.get("last_name", name),
        "status": seed.get("status", "active"),
        "confirm": bool(seed.get("confirm", True)),
        "role": {"name": "Manager", "id": "5550000000000026008"},
        "profile": {"name": seed.get("profile", "Standard"), "id": "5550000000000026014"},
    }


def integration_user() -> dict[str, Any]:
    user = user_record({"id": USER["id"], "email": "integration@sandbox.example", "full_name": USER["name"],
                        "profile": "Administrator"}, 0)
    return user


class UsersMixin:
    """Mixed into ZohoSandbox before RecordsMixin: needs missing_scopes and records' check_lookup."""

    missing_scopes: set[str]
    users: list[dict[str, Any]]

    def _load_seed(self, seed: Any) -> dict[str, list[dict[str, Any]]]:
        data: dict[str, list[dict[str, Any]]] = super()._load_seed(seed)  # type: ignore[misc]
        seeded = [user_record(row, i) for i, row in enumerate(data.pop("users", []))]
        self.users = [integration_user(), *seeded]
        return data

    def check_lookup(self, f: Field, value: Any, index: int) -> RecordError | None:
        if f.data_type != "ownerlookup" or not isinstance(value, dict):
            return super().check_lookup(f, value, index)  # type: ignore[misc, no-any-return]
        if not any(u["id"] == str(value.get("id")) and u["status"] == "active" for u in self.users):
            return invalid(f.api_name, index, expected_data_type="jsonobject",
                           reason="the id given seems to be invalid")
        return None

    def scope_refused(self, scope: str = USERS_SCOPE) -> None:
        if scope in self.missing_scopes:
            raise ApiError(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", {})

    def org_details(self, request: Request, _: Any) -> tuple[int, Any]:
        """GET /crm/v7/org (Organization API): {"org": [{"id", "domain_name", "company_name", ...}]}."""
        self.scope_refused(ORG_SCOPE)
        org_id: str = self.org_id  # type: ignore[attr-defined]
        return 200, {"org": [{
            "id": org_id, "domain_name": f"org{org_id[-8:]}", "company_name": "Sandbox Org", "alias": None,
            "primary_email": "integration@sandbox.example", "currency": "US Dollar", "iso_code": "USD",
            "currency_symbol": "$", "currency_locale": "en_US", "time_zone": "America/Los_Angeles",
            "country_code": "US", "zgid": org_id[-8:], "mc_status": False, "gapps_enabled": False,
            "translation_enabled": False, "privacy_settings": False,
            "license_details": {"paid": True, "paid_type": "enterprise", "paid_expiry": None,
                                "users_license_purchased": 10, "trial_type": None, "trial_expiry": None},
        }]}

    def list_users(self, request: Request, _: Any) -> tuple[int, Any]:
        self.scope_refused()
        kind = request.query_params.get("type", "AllUsers")
        if kind not in TYPES:
            raise ApiError(400, "INVALID_DATA", "invalid data", {"param_name": "type"})
        per_page = self._int(request, "per_page", MAX_USERS_PAGE, 1, MAX_USERS_PAGE)  # type: ignore[attr-defined]
        page_number = self._int(request, "page", 1, 1, 10**6)  # type: ignore[attr-defined]
        found = [u for u in self.users if TYPES[kind](u)]
        start = (page_number - 1) * per_page
        page = found[start:start + per_page]
        if not page:
            return 204, None
        info = {"per_page": per_page, "count": len(page), "page": page_number,
                "more_records": start + per_page < len(found)}
        return 200, {"users": page, "info": info}

    def get_user(self, request: Request, _: Any) -> tuple[int, Any]:
        self.scope_refused()
        wanted = request.path_params["user_id"]
        user = next((u for u in self.users if u["id"] == wanted), None)
        if user is None:
            raise ApiError(400, "INVALID_DATA", "the related id given seems to be invalid", {"id": wanted})
        return 200, {"users": [user]}


__all__ = ["UsersMixin", "USERS_SCOPE", "user_record"]
