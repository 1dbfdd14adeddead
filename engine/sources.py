"""What crmsync knows about the provider's source streams before reading any data.

Only one thing is known statically: fields that must never be sent to a CRM. Policy-level data (how
many lives a plan covers, the carrier, who signed the Form 5500) describes a benefit plan, not the
company, and leaks plan details into a customer's CRM. A profile may add its own with `unsafe_fields`.
"""

from __future__ import annotations

_POLICY = "policy-level data about a benefit plan, not the company: it must not be sent to a CRM"

UNSAFE_FIELDS: dict[str, dict[str, str]] = {
    "employer": {
        "covered_lives": f"covered lives is {_POLICY}",
        "carrier": f"the carrier is {_POLICY}",
        "signer_name_5500": "the Form 5500 signer is a private person named in a plan filing, "
                            f"{_POLICY}",
    },
}


def unsafe_fields(stream: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Field name -> why it must not be mapped, for one stream."""
    return {**UNSAFE_FIELDS.get(stream, {}), **(extra or {})}
