"""Bearer tokens: issue, verify (Redis cache or PostgreSQL), expiry, revocation at once."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.auth import _CACHE_PREFIX
from app.crypto import token_hash
from app.extensions import db
from blueprints.identity.service import disable_user, set_roles
from models import ApiToken
from tests.conftest import make_test_app


def _me(client, token):
    return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_dev_login_and_me(client, make):
    user = make.user(employee_no="E9001", name="张三", phone="13812345678")
    resp = client.post("/api/v1/auth/dev-login", json={"employee_no": "E9001"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["needs_binding"] is False and body["user"]["id"] == user.id
    assert body["expires_at"].endswith("+08:00")
    me = _me(client, body["token"]).get_json()
    assert me["name"] == "张三" and me["phone"] == "138****5678"
    assert "13812345678" not in resp.get_data(as_text=True)


def test_dev_login_unknown_and_disabled(client, make):
    resp = client.post("/api/v1/auth/dev-login", json={"employee_no": "NOPE"})
    assert resp.status_code == 404 and resp.get_json()["code"] == "DEV_LOGIN_UNKNOWN_USER"
    user = make.user(employee_no="E9002")
    user.is_active = False
    db.session.commit()
    resp = client.post("/api/v1/auth/dev-login", json={"employee_no": "E9002"})
    assert resp.status_code == 403 and resp.get_json()["code"] == "USER_DISABLED"


def test_missing_and_bad_tokens(client):
    resp = client.get("/api/v1/auth/me")
    assert resp.status_code == 401 and resp.get_json()["code"] == "AUTH_REQUIRED"
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    resp = _me(client, "not-a-token")
    assert resp.status_code == 401 and resp.get_json()["code"] == "TOKEN_INVALID"
    resp = client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"})
    assert resp.get_json()["code"] == "AUTH_REQUIRED"


def test_expired_token_refused(client, make):
    user = make.user()
    token = make.token(user)
    db.session.execute(update(ApiToken).values(expires_at=ApiToken.expires_at - timedelta(days=30)))
    db.session.commit()
    resp = _me(client, token)
    assert resp.status_code == 401 and resp.get_json()["code"] == "TOKEN_INVALID"


def test_verified_token_is_cached_in_redis(client, make, redis, app):
    user = make.user()
    token = make.token(user)
    assert _me(client, token).status_code == 200
    key = _CACHE_PREFIX + token_hash(token)
    assert redis.exists(key)
    assert 0 < redis.ttl(key) <= app.config["TOKEN_CACHE_SECONDS"]


def test_logout_revokes_at_once_even_when_cached(client, make, redis):
    user = make.user()
    token, other = make.token(user), make.token(user)
    assert _me(client, token).status_code == 200  # now cached
    resp = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 204
    assert _me(client, token).status_code == 401
    assert not redis.exists(_CACHE_PREFIX + token_hash(token))
    assert _me(client, other).status_code == 200  # only the current session ended


def test_disable_and_role_change_revoke_cached_tokens(client, make, app):
    from app.auth import Principal

    admin = Principal.for_user(make.user("admin"))
    user = make.user()
    token = make.token(user)
    assert _me(client, token).status_code == 200
    set_roles(admin, user, [{"role": "staff"}, {"role": "room_approver"}])
    db.session.commit()
    assert _me(client, token).status_code == 401

    token = make.token(user)
    assert _me(client, token).status_code == 200
    disable_user(admin, user, "left")
    db.session.commit()
    resp = _me(client, token)
    assert resp.status_code == 401 and resp.get_json()["code"] == "TOKEN_INVALID"


def test_sessions_list_and_revoke(client, make):
    user = make.user()
    token, other = make.token(user), make.token(user)
    headers = {"Authorization": f"Bearer {token}"}
    sessions = client.get("/api/v1/auth/sessions", headers=headers).get_json()
    assert len(sessions) == 2 and sum(s["current"] for s in sessions) == 1
    other_id = next(s["id"] for s in sessions if not s["current"])
    assert client.delete(f"/api/v1/auth/sessions/{other_id}", headers=headers).status_code == 204
    assert _me(client, other).status_code == 401
    assert _me(client, token).status_code == 200


@pytest.fixture
def redis_down_app(server_urls):
    """The same database, Redis pointed at a closed port."""
    application = make_test_app(server_urls, REDIS_URL="redis://127.0.0.1:1/0", REDIS_SOCKET_TIMEOUT=0.2)
    with application.app_context():
        yield application
        db.session.remove()


def test_tokens_work_from_postgresql_when_redis_is_down(redis_down_app, server_urls):
    from tests.factories import Factory

    make = Factory()
    user = make.user(name="李四")
    token = make.token(user)
    client = redis_down_app.test_client()
    resp = _me(client, token)
    assert resp.status_code == 200 and resp.get_json()["name"] == "李四"
    # Revocation still works: PostgreSQL is the authority.
    assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert _me(client, token).status_code == 401
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["details"] == {"database": "ok", "redis": "unavailable"}
