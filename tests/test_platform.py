"""Conventions every endpoint shares: the error shape, validation, rate limits, time
format, health, OpenAPI with local assets, configuration profiles, ProxyFix."""

from pathlib import Path

import pytest

from app.config import ConfigError, load_config
from app.errors import REGISTRY, registry_markdown
from tests.conftest import make_test_app

ROOT = Path(__file__).resolve().parent.parent


def _assert_error_shape(resp, status, code):
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert body["message"] == REGISTRY[code][1] or body["message"]
    return body


def test_unknown_route_and_method(client):
    _assert_error_shape(client.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    _assert_error_shape(client.get("/api/v1/wx/login"), 405, "METHOD_NOT_ALLOWED")


def test_validation_error_shape(client):
    body = _assert_error_shape(client.post("/api/v1/wx/login", json={}), 422, "VALIDATION_ERROR")
    assert "code" in body["details"]["fields"]["json"]
    body = _assert_error_shape(client.post("/api/v1/auth/dev-login", json={"employee_no": ""}), 422,
                               "VALIDATION_ERROR")
    assert body["message"] == "提交的数据不符合要求"


def test_malformed_json_is_4xx(client):
    resp = client.post("/api/v1/auth/dev-login", data="{not json", content_type="application/json")
    assert 400 <= resp.status_code < 500
    assert set(resp.get_json()) == {"code", "message", "details"}


def test_unexpected_exception_is_500_in_shape_without_leaking(app):
    application = make_test_app_with_boom(app)
    resp = application.test_client().get("/boom")
    body = _assert_error_shape(resp, 500, "INTERNAL_ERROR")
    assert "secret detail" not in resp.get_data(as_text=True)
    assert body["details"] == {}


def make_test_app_with_boom(app):
    from flask import Flask

    from app.errors import register_error_handlers

    boom = Flask("boom")
    register_error_handlers(boom)

    @boom.get("/boom")
    def _boom():
        raise RuntimeError("secret detail")

    return boom


def test_error_codes_doc_is_generated_from_registry(client):
    doc = (ROOT / "docs" / "error-codes.md").read_text(encoding="utf-8")
    assert doc == registry_markdown(), "run: flask --app app error-codes > docs/error-codes.md"
    listed = {c["code"] for c in client.get("/api/v1/meta/error-codes").get_json()}
    assert listed == set(REGISTRY)


def test_rate_limit_by_user_in_error_shape(server_urls):
    from tests.factories import Factory

    application = make_test_app(server_urls, RATELIMIT_DEFAULT="3 per day")  # a minute window may roll over mid-test
    with application.app_context():
        make = Factory()
        alice, bob = make.user(), make.user()
        client = application.test_client()
        a, b = make.headers(alice), make.headers(bob)
        for _ in range(3):
            assert client.get("/api/v1/auth/me", headers=a).status_code == 200
        resp = client.get("/api/v1/auth/me", headers=a)
        _assert_error_shape(resp, 429, "RATE_LIMITED")
        assert "Retry-After" in resp.headers
        # Keyed by user, not by address: Bob behind the same address is unaffected.
        assert client.get("/api/v1/auth/me", headers=b).status_code == 200


def test_times_are_iso8601_with_offset(client, make):
    headers = make.headers(make.user())
    created = client.get("/api/v1/auth/me", headers=headers).get_json()["created_at"]
    assert created.endswith("+08:00") and "T" in created


def test_openapi_documents_errors_and_security(client):
    spec = client.get("/api/openapi.json").get_json()
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "details"}
    me = spec["paths"]["/api/v1/auth/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "default"} <= set(me["responses"])


def test_swagger_ui_assets_served_locally(client):
    page = client.get("/api/docs").get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "unpkg" not in page
    resp = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert resp.status_code == 200 and len(resp.data) > 100_000


def test_production_refuses_missing_secrets(monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DATA_ENCRYPTION_KEYS", "BLIND_INDEX_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as exc:
        load_config("production")
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DATA_ENCRYPTION_KEYS", "BLIND_INDEX_KEY"):
        assert name in str(exc.value)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("REDIS_URL", "redis://r/0")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("BLIND_INDEX_KEY", "b" * 40)
    with pytest.raises(ConfigError) as exc:
        load_config("production")
    assert "DATA_ENCRYPTION_KEYS" in str(exc.value) and "SECRET_KEY" not in str(exc.value)


def test_production_refuses_development_keys(monkeypatch):
    from app.config import _INSECURE

    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("REDIS_URL", "redis://r/0")
    for name, value in _INSECURE.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config("production")


def test_profiles(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("REDIS_URL", "redis://r/0")
    assert load_config("test")["TESTING"] is True
    dev = load_config("development")
    assert dev["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert dev["SESSION_COOKIE_SECURE"] is False
    with pytest.raises(ConfigError):
        load_config("staging")


def test_create_app_opens_no_connection_at_import_and_creation(monkeypatch):
    from app import create_app

    # Unreachable servers: creating the app must not try to connect.
    application = create_app({"APP_ENV": "test", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
                              "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert application.config["APP_ENV"] == "test"
    resp = application.test_client().get("/ping")
    assert resp.get_json() == {"status": "ok"}
    health = application.test_client().get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["details"] == {"database": "unavailable", "redis": "unavailable"}


def test_database_down_is_503_in_error_shape():
    from app import create_app

    application = create_app({"APP_ENV": "test", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
                              "REDIS_URL": "redis://127.0.0.1:1/0"})
    resp = application.test_client().post("/api/v1/auth/dev-login", json={"employee_no": "E1"})
    _assert_error_shape(resp, 503, "SERVICE_UNAVAILABLE")


def test_proxyfix_uses_forwarded_address_only_when_configured(server_urls):
    application = make_test_app(server_urls, PROXY_HOPS=1)
    seen = []

    @application.get("/_addr")
    def _addr():
        from app.netutil import client_address

        seen.append(client_address())
        return "ok"

    application.test_client().get("/_addr", headers={"X-Forwarded-For": "10.1.2.3"})
    plain = make_test_app(server_urls)
    plain.add_url_rule("/_addr", view_func=_addr)
    plain.test_client().get("/_addr", headers={"X-Forwarded-For": "10.1.2.3"})
    assert seen == ["10.1.2.3", "127.0.0.1"]


def test_embedded_servers_refused_in_ci_and_production(monkeypatch):
    from app import devservers

    monkeypatch.setenv("CI", "true")
    with pytest.raises(devservers.EmbeddedRefused, match="DATABASE_URL"):
        devservers.start_postgres("never")
    with pytest.raises(devservers.EmbeddedRefused, match="REDIS_URL"):
        devservers.start_valkey("never")
    monkeypatch.setenv("CI", "false")
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(devservers.EmbeddedRefused):
        devservers.start_postgres("never")


def test_ids_beyond_postgresql_integers_are_404_not_500(client, make):
    headers = make.headers(make.user("admin"))
    for url in ("/api/v1/departments/99999999999", "/api/v1/users/2147483648"):
        resp = client.get(url, headers=headers)
        _assert_error_shape(resp, 404, "NOT_FOUND")
    spec = client.get("/api/openapi.json").get_json()
    param = spec["paths"]["/api/v1/users/{user_id}"]["parameters"][0]
    assert param["schema"]["type"] == "integer" and param["schema"]["maximum"] == 2**31 - 1
