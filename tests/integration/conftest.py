"""Fixtures shared by the API tests."""

from __future__ import annotations

import pytest

from tests.integration.test_api import api_client


@pytest.fixture
def spec(client) -> dict:
    """The served OpenAPI document."""
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def api(client, make_token):
    """``api(user).get(...)`` etc.: the test client with the user's bearer token."""
    return api_client(client, make_token)


@pytest.fixture
def worker(make_user, make_org):
    """A caseworker of the organisation that leads the case (modules may override)."""
    return make_user(org=make_org(name="Stadt Rietberg"), name="Sabine Hoffmann")


@pytest.fixture
def partner(make_user, make_org):
    """A caseworker of another organisation, the one consents release the case to."""
    org = make_org(name="Caritasverband Gütersloh", kind="wohlfahrtsverband")
    return make_user(org=org, name="Agnieszka Nowak")
