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
