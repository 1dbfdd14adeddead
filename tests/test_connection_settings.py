"""Connection settings: spec defaults, the profile's values, and where URL settings point."""

from __future__ import annotations

import pytest

from engine.catalog import connection_settings, load_connector
from engine.connector import ConnectorSpec


@pytest.fixture(scope="module")
def dynamics() -> ConnectorSpec:
    return load_connector("dynamics").model


def test_defaults_stand_for_the_specs_own_base_url(dynamics: ConnectorSpec) -> None:
    values = connection_settings(dynamics, {}, dynamics.base_url)
    assert values == {"app_url": "https://example.crm.dynamics.com",
                      "login_url": "https://login.microsoftonline.com", "tenant": "organizations"}


def test_a_customers_instance_moves_only_the_app_url(dynamics: ConnectorSpec) -> None:
    values = connection_settings(dynamics, {"tenant": "contoso.onmicrosoft.com"},
                                 "https://contoso.crm4.dynamics.com/api/data/v9.2")
    assert values["app_url"] == "https://contoso.crm4.dynamics.com"
    assert values["login_url"] == "https://login.microsoftonline.com"  # sign-in stays at Entra ID
    assert values["tenant"] == "contoso.onmicrosoft.com"


def test_the_profiles_value_wins_on_a_customers_instance(dynamics: ConnectorSpec) -> None:
    values = connection_settings(dynamics, {"app_url": "https://crm.contoso.example"},
                                 "https://contoso.crm4.dynamics.com/api/data/v9.2")
    assert values["app_url"] == "https://crm.contoso.example"


@pytest.mark.parametrize("host", ["127.0.0.1:8123", "localhost:9000", "[::1]:7000"])
def test_a_local_emulator_plays_every_url(dynamics: ConnectorSpec, host: str) -> None:
    values = connection_settings(dynamics, {"app_url": "https://crm.contoso.example"},
                                 f"http://{host}/api/data/v9.2")
    assert values == {"app_url": f"http://{host}", "login_url": f"http://{host}", "tenant": "organizations"}
