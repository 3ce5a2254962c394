"""The JSON API base (/api/v1): bearer tokens, error objects, paging and the OpenAPI document."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from portal.models import ApiToken, utcnow


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def api_client(client, make_token):
    """``api_client(...)(user).post(url, json=...)``: the test client with ``user``'s token."""

    class Api:
        def __init__(self, user):
            self.headers = bearer(make_token(user))

        def __getattr__(self, method):
            def call(url, **kwargs):
                headers = {**self.headers, **kwargs.pop("headers", {})}
                return getattr(client, method)(url, headers=headers, **kwargs)

            return call

    return Api


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is the API's JSON error object with ``status``."""
    assert response.status_code == status, response.text
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code
    return error


# ---------------------------------------------------------------- /me


def test_me_describes_the_tokens_user(client, make_org, make_user, make_token):
    org = make_org(name="Caritasverband Gütersloh", kind="wohlfahrtsverband")
    user = make_user(role="coordinator", org=org, name="Miriam Özdemir")
    make_user(role="caseworker", org=org)  # another user: the token decides, not the first row
    response = client.get("/api/v1/me", headers=bearer(make_token(user)))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "id": user.id,
        "email": user.email,
        "name": "Miriam Özdemir",
        "role": "coordinator",
        "organisation": {"id": org.id, "name": "Caritasverband Gütersloh"},
    }


# ---------------------------------------------------------------- authentication failures


BAD_HEADERS = {
    "missing": None,
    "empty": "",
    "scheme only": "Bearer",
    "scheme and blank": "Bearer ",
    "basic": "Basic dXNlcjpwYXNz",
    "other scheme": "Token {token}",
    "no space": "Bearer{token}",
    "unknown token": "Bearer kim_unknown-token-that-was-never-issued",
    "altered token": "Bearer {token}x",
    "token without prefix": "Bearer {token_without_prefix}",
    "overlong": "Bearer kim_" + "a" * 200,
}


def test_missing_malformed_or_unknown_token_is_401(client, make_user, make_token):
    token = make_token(make_user())
    for case, header in BAD_HEADERS.items():
        value = (
            None if header is None else header.format(token=token, token_without_prefix=token[4:])
        )
        headers = {} if value is None else {"Authorization": value}
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401, case
        assert_error(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), case
    # the token itself is fine: the failures were about the header
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"bearer  {token} "}).status_code == 200
    )


def test_revoked_token_is_401(client, db, make_user, make_token):
    user = make_user()
    token = make_token(user)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    row = db.query(ApiToken).filter_by(user_id=user.id).one()
    row.revoked_at = utcnow()
    db.commit()
    response = client.get("/api/v1/organisations", headers=bearer(token))
    assert_error(response, 401, "unauthenticated")
    assert "WWW-Authenticate" in response.headers


def test_token_of_deactivated_user_is_401(client, db, make_user, make_token):
    user = make_user()
    token = make_token(user)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    user.active = False
    db.commit()
    response = client.get("/api/v1/me", headers=bearer(token))
    assert_error(response, 401, "unauthenticated")
    assert "WWW-Authenticate" in response.headers


def test_401_message_follows_accept_language(client):
    german = assert_error(client.get("/api/v1/me"), 401)
    english = assert_error(client.get("/api/v1/me", headers={"Accept-Language": "en"}), 401)
    assert german["message"] == "API-Zugangsschlüssel fehlt, ist ungültig oder wurde widerrufen."
    assert english["message"] == "Missing, invalid or revoked API token."


def test_cookie_session_does_not_authenticate_api(client, auth, make_user):
    user = make_user()
    assert auth.login(user.email).status_code == 302
    assert client.get("/").status_code == 200  # the cookie session is live for pages
    response = client.get("/api/v1/me")
    assert_error(response, 401, "unauthenticated")
    assert client.get("/api/v1/organisations").status_code == 401


# ---------------------------------------------------------------- unknown paths


def test_unknown_api_path_is_json_404(client, make_user, make_token):
    token = make_token(make_user())
    for path in [
        "/api/v1/nothing-here",
        "/api/v1/organisations/1/nothing",
        "/api/v1/",
        "/api/v2/me",
    ]:
        assert_error(client.get(path, headers=bearer(token)), 404)
        assert_error(client.get(path), 404)
        assert_error(client.delete(path, headers=bearer(token)), 404)


def test_ids_beyond_sql_integers_are_404_not_500(client, make_user, make_token):
    token = make_token(make_user())
    huge = "99999999999999999999"
    for method, path in [
        ("get", f"/api/v1/cases/{huge}"),
        ("get", f"/api/v1/cases/{2**31}"),
        ("patch", f"/api/v1/cases/{2**63}"),
        ("get", f"/api/v1/cases/{huge}/documents"),
        ("get", f"/api/v1/documents/{huge}"),
        ("get", f"/api/v1/documents/1/versions/{huge}"),
        ("delete", f"/api/v1/cases/1/consents/{huge}"),
    ]:
        response = getattr(client, method)(path, headers=bearer(token), json={})
        assert_error(response, 404, "not_found")
    assert_error(client.get(f"/api/v1/cases/{huge}"), 401, "unauthenticated")  # token first


def test_wrong_method_on_api_is_json_405(client, make_user, make_token):
    token = make_token(make_user())
    assert_error(client.delete("/api/v1/me", headers=bearer(token)), 405)
    # a POST is not turned away as a CSRF failure: the API is for bearer tokens only
    assert_error(client.post("/api/v1/organisations", json={}, headers=bearer(token)), 405)


# ---------------------------------------------------------------- organisations


def test_organisations_list_envelope(client, make_org, make_user, make_token):
    jobcenter = make_org(name="Jobcenter Kreis Gütersloh", kind="jobcenter")
    city = make_org(name="Stadt Rietberg", kind="kommune")
    token = make_token(make_user(org=city))
    response = client.get("/api/v1/organisations", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json() == {
        "items": [
            {"id": jobcenter.id, "name": "Jobcenter Kreis Gütersloh", "kind": "jobcenter"},
            {"id": city.id, "name": "Stadt Rietberg", "kind": "kommune"},
        ],
        "total": 2,
        "page": 1,
    }


def test_organisations_paging(client, make_org, make_user, make_token):
    for letter in "ABCDE":
        make_org(name=f"Organisation {letter}")
    token = make_token(make_user(org=make_org(name="Z Organisation")))

    def page(query: str) -> dict:
        response = client.get(f"/api/v1/organisations?{query}", headers=bearer(token))
        assert response.status_code == 200, response.text
        return response.get_json()

    first = page("per_page=2")
    assert first["total"] == 6 and first["page"] == 1
    assert [o["name"] for o in first["items"]] == ["Organisation A", "Organisation B"]
    third = page("per_page=2&page=3")
    assert third["page"] == 3
    assert [o["name"] for o in third["items"]] == ["Organisation E", "Z Organisation"]
    beyond = page("per_page=2&page=4")
    assert beyond == {"items": [], "total": 6, "page": 4}
    assert len(page("")["items"]) == 6  # 50 a page by default
    assert len(page("per_page=200")["items"]) == 6


INVALID_PAGING = [
    "page=0",
    "page=-1",
    "page=abc",
    "page=1.5",
    "page=",
    "per_page=0",
    "per_page=201",
    "per_page=-5",
    "per_page=many",
    "page=2&per_page=1e3",
]


def test_invalid_paging_is_400(client, make_user, make_token):
    token = make_token(make_user())
    for query in INVALID_PAGING:
        response = client.get(f"/api/v1/organisations?{query}", headers=bearer(token))
        assert response.status_code == 400, query
        error = assert_error(response, 400, "invalid_input")
        assert "page" in error["message"]


def test_huge_page_number_is_an_empty_page_not_a_server_error(client, make_user, make_token):
    token = make_token(make_user())
    for page in ["99999999999999999999", str(2**63), str(2**62), str(2**31)]:
        for per_page in ("1", "200"):
            response = client.get(
                f"/api/v1/organisations?page={page}&per_page={per_page}", headers=bearer(token)
            )
            assert response.status_code == 200, (page, per_page, response.text)
            assert response.get_json() == {"items": [], "total": 1, "page": int(page)}


# ---------------------------------------------------------------- OpenAPI


def test_openapi_document_is_public_and_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["servers"] == [{"url": "/api/v1"}]
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert spec["paths"]["/openapi.json"]["get"]["security"] == []


def _flask_path_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", rule)


def test_openapi_describes_exactly_the_api_routes(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    prefix = spec["servers"][0]["url"]
    routes: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix + "/"):
            continue
        path = _flask_path_to_openapi(rule.rule[len(prefix) :])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    assert routes, "no /api/v1 routes found"
    described = {
        (path, method)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in {"get", "put", "post", "delete", "patch"}
    }
    assert routes - described == set(), "routes missing from the OpenAPI document"
    assert described - routes == set(), "OpenAPI paths without a route"


def test_openapi_operations_are_complete(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    operation_ids = []
    for path, operations in spec["paths"].items():
        assert path.startswith("/")
        for method, operation in operations.items():
            operation_ids.append(operation["operationId"])
            assert operation["summary"]
            assert "200" in operation["responses"] or "201" in operation["responses"]
            if operation.get("security") != []:
                assert "401" in operation["responses"], f"{method} {path} lacks 401"
    assert len(operation_ids) == len(set(operation_ids))
    refs = set(_refs(spec))
    assert refs and refs <= {f"#/components/schemas/{name}" for name in schemas}


def _refs(node):
    """Every ``$ref`` value in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_me_matches_its_openapi_schema(client, make_user, make_token):
    spec = client.get("/api/v1/openapi.json").get_json()
    schema = spec["components"]["schemas"]["User"]
    body = client.get("/api/v1/me", headers=bearer(make_token(make_user()))).get_json()
    assert set(body) == set(schema["properties"]) == set(schema["required"])
    assert body["role"] in schema["properties"]["role"]["enum"]
    org_schema = spec["components"]["schemas"]["OrganisationRef"]
    assert set(body["organisation"]) == set(org_schema["required"])


# ---------------------------------------------------------------- schema checks for other modules


def assert_matches(spec: dict, schema: dict, value, where: str = "$") -> None:
    """``value`` fits ``schema`` of the OpenAPI document, checked by jsonschema (JSON Schema
    2020-12, the dialect of OpenAPI 3.1) with the document's components.

    Stricter than JSON Schema in one way: every object the document describes is closed,
    so a field the API sends but does not describe fails, as does one it describes as
    required but does not send. Times must carry their offset.
    """
    document = {**_closed(schema), "components": _closed(spec["components"])}
    validator = Draft202012Validator(document, format_checker=_FORMATS)
    errors = sorted(validator.iter_errors(value), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(
        f"{where}/{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in errors
    )


def _closed(node):
    """A copy of ``node`` in which every object schema with properties allows no others."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {key: _closed(item) for key, item in node.items()}
    if isinstance(copy.get("properties"), dict) and "additionalProperties" not in copy:
        copy["additionalProperties"] = False
    return copy


_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time_with_offset(value) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def test_the_schema_check_refuses_what_the_document_does_not_say(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    org = {"$ref": "#/components/schemas/OrganisationRef"}
    assert_matches(spec, org, {"id": 1, "name": "Caritas"})
    for wrong in ({"id": 1}, {"id": "1", "name": "x"}, {"id": 1, "name": "x", "extra": 1}):
        with pytest.raises(AssertionError):
            assert_matches(spec, org, wrong)
    moment = {"type": "string", "format": "date-time"}
    assert_matches(spec, moment, "2026-12-04T10:00:00+00:00")
    with pytest.raises(AssertionError):
        assert_matches(spec, moment, "2026-12-04T10:00:00")


def response_schema(spec: dict, path: str, method: str, status: int) -> dict:
    """The JSON schema the OpenAPI document gives for one response."""
    response = spec["paths"][path][method]["responses"][str(status)]
    return response["content"]["application/json"]["schema"]


def _keys(node):
    """Every key of every object in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _keys(value)


def test_openapi_schemas_are_valid_json_schema(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for schema in spec["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises SchemaError, naming the keyword
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                Draft202012Validator.check_schema(parameter["schema"])
            for media in operation.get("requestBody", {"content": {}})["content"].values():
                Draft202012Validator.check_schema(media["schema"])
            assert operation.get("requestBody", {"content": True})["content"], (method, path)
    # pydantic's constraint names leak when a constraint cannot be expressed in the schema
    assert not {"ge", "le", "gt", "lt"} & set(_keys(spec["components"])), "unexpressed limits"
