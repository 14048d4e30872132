"""The mini-program's side: the in-app message list (站内消息), read and read-all, consents
and the template list, all in the error shape for bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.notify import notify
from models.notifications import InAppMessage, NotificationConsent


def assert_error(resp, status: int, code: str) -> dict:
    body = resp.get_json()
    assert resp.status_code == status, body
    assert set(body) == {"code", "message", "details"} and body["code"] == code, body
    return body


def _messages(user, count: int) -> list[int]:
    ids = [notify(user.id, "generic_notice", {"title": f"通知{n}", "content": f"内容{n}"}).message.id
           for n in range(count)]
    db.session.commit()
    return ids


def test_list_is_paginated_newest_first_with_the_unread_count(client, make):
    alice, bob = make.user(), make.user()
    ids = _messages(alice, 25)
    _messages(bob, 2)
    headers = make.headers(alice)
    page1 = client.get("/api/v1/messages?per_page=10", headers=headers).get_json()
    assert (page1["page"], page1["per_page"], page1["total"], page1["unread"]) == (1, 10, 25, 25)
    assert [m["id"] for m in page1["items"]] == ids[::-1][:10]
    first = page1["items"][0]
    assert (first["title"], first["body"], first["template"]) == ("通知24", "内容24", "generic_notice")
    assert first["page"] == "pages/messages/index" and first["read"] is False and first["read_at"] is None
    assert first["created_at"].endswith("+08:00")
    page3 = client.get("/api/v1/messages?per_page=10&page=3", headers=headers).get_json()
    assert [m["id"] for m in page3["items"]] == ids[::-1][20:]
    beyond = client.get("/api/v1/messages?per_page=10&page=4", headers=headers).get_json()
    assert beyond["items"] == [] and beyond["total"] == 25


def test_read_one_and_unread_only(client, make):
    alice = make.user()
    ids = _messages(alice, 3)
    headers = make.headers(alice)
    resp = client.post(f"/api/v1/messages/{ids[1]}/read", headers=headers)
    assert resp.status_code == 200
    read = resp.get_json()
    assert read["id"] == ids[1] and read["read"] is True and read["read_at"].endswith("+08:00")
    again = client.post(f"/api/v1/messages/{ids[1]}/read", headers=headers).get_json()
    assert again["read_at"] == read["read_at"]  # the first read time stays
    unread = client.get("/api/v1/messages?unread_only=true", headers=headers).get_json()
    assert [m["id"] for m in unread["items"]] == [ids[2], ids[0]]
    assert unread["total"] == 2 and unread["unread"] == 2
    everything = client.get("/api/v1/messages", headers=headers).get_json()
    assert everything["total"] == 3 and everything["unread"] == 2  # read ones stay in the list


def test_read_all_touches_only_the_callers_messages(client, make):
    alice, bob = make.user(), make.user()
    _messages(alice, 4)
    bob_ids = _messages(bob, 2)
    resp = client.post("/api/v1/messages/read-all", headers=make.headers(alice))
    assert resp.status_code == 200 and resp.get_json() == {"updated": 4, "unread": 0}
    assert client.post("/api/v1/messages/read-all", headers=make.headers(alice)).get_json()["updated"] == 0
    db.session.expire_all()
    assert db.session.execute(select(InAppMessage.read_at).where(InAppMessage.id.in_(bob_ids))).scalars().all() \
        == [None, None]
    assert client.get("/api/v1/messages", headers=make.headers(bob)).get_json()["unread"] == 2


def test_foreign_and_unknown_ids_are_not_found(client, make):
    alice, bob = make.user(), make.user()
    [bobs] = _messages(bob, 1)
    assert_error(client.post(f"/api/v1/messages/{bobs}/read", headers=make.headers(alice)), 404, "NOT_FOUND")
    assert_error(client.post("/api/v1/messages/999999/read", headers=make.headers(alice)), 404, "NOT_FOUND")
    db.session.expire_all()
    assert db.session.get(InAppMessage, bobs).read_at is None
    # Administrators read only their own messages too.
    admin = make.user("admin")
    assert_error(client.post(f"/api/v1/messages/{bobs}/read", headers=make.headers(admin)), 404, "NOT_FOUND")


def test_sign_in_required_and_bad_query_is_422(client, make):
    for method, url in (("GET", "/api/v1/messages"), ("POST", "/api/v1/messages/1/read"),
                        ("POST", "/api/v1/messages/read-all"), ("GET", "/api/v1/notifications/templates"),
                        ("POST", "/api/v1/notifications/consents")):
        assert_error(client.open(url, method=method, json={}), 401, "AUTH_REQUIRED")
    headers = make.headers(make.user())
    for query in ("per_page=0", "per_page=101", "page=0", "page=x", "unread_only=perhaps"):
        body = assert_error(client.get(f"/api/v1/messages?{query}", headers=headers), 422, "VALIDATION_ERROR")
        assert "query" in body["details"]["fields"]


# --- consents and templates (an app whose templates have WeChat template ids) -----------------

def test_templates_list_wechat_templates_with_my_consents(nclient, make):
    user = make.user()
    headers = make.headers(user)
    listed = nclient.get("/api/v1/notifications/templates", headers=headers).get_json()
    assert [t["name"] for t in listed] == ["duty_reminder", "generic_notice", "order_status_changed"]
    duty = listed[0]
    assert duty == {"name": "duty_reminder", "template_id": "TPL-DUTY", "long_term": True, "remaining": 0,
                    "long_term_accepted": False}
    resp = nclient.post("/api/v1/notifications/consents", headers=headers,
                        json={"accepted": ["duty_reminder", "order_status_changed"]})
    assert resp.status_code == 200
    listed = {t["name"]: t for t in nclient.get("/api/v1/notifications/templates", headers=headers).get_json()}
    assert listed["duty_reminder"]["long_term_accepted"] is True
    assert listed["order_status_changed"]["remaining"] == 1 and listed["generic_notice"]["remaining"] == 0


def test_consents_add_one_per_acceptance_and_long_term_until_rejected(nclient, make):
    user = make.user()
    headers = make.headers(user)

    def post(**body):
        resp = nclient.post("/api/v1/notifications/consents", headers=headers, json=body)
        assert resp.status_code == 200, resp.get_json()
        return {c["template"]: c for c in resp.get_json()}

    first = post(accepted=["order_status_changed", "duty_reminder"], rejected=["generic_notice"])
    assert first["order_status_changed"]["remaining"] == 1 and first["order_status_changed"]["long_term"] is False
    assert first["duty_reminder"]["long_term"] is True and first["duty_reminder"]["remaining"] == 0
    assert first["generic_notice"]["remaining"] == 0 and first["generic_notice"]["rejected_at"]
    post(accepted=["order_status_changed", "order_status_changed"])  # one dialog, one acceptance
    third = post(accepted=["order_status_changed"], rejected=["duty_reminder"])
    assert third["order_status_changed"]["remaining"] == 3
    assert third["duty_reminder"]["long_term"] is False  # switched off
    # Rejecting a one-time template keeps what was accepted before.
    assert post(rejected=["order_status_changed"])["order_status_changed"]["remaining"] == 3
    db.session.expire_all()
    assert db.session.execute(select(NotificationConsent.template).where(
        NotificationConsent.user_id == user.id).order_by(NotificationConsent.template)).scalars().all() == [
        "duty_reminder", "generic_notice", "order_status_changed"]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"accepted": ["no_such_template"]}, 422, "NOTIFY_TEMPLATE_UNKNOWN"),
    ({"accepted": ["order_status_changed"], "rejected": ["welcome"]}, 422, "NOTIFY_TEMPLATE_UNKNOWN"),
    ({"accepted": ["order_status_changed"], "rejected": ["order_status_changed"]}, 422, "VALIDATION_ERROR"),
    ({"accepted": "order_status_changed"}, 422, "VALIDATION_ERROR"),
    ({"accepted": [""]}, 422, "VALIDATION_ERROR"),
    ({"accepted": [7]}, 422, "VALIDATION_ERROR"),
    ({"accepted": ["generic_notice"] * 21}, 422, "VALIDATION_ERROR"),
    ({"accepted": ["x" * 65]}, 422, "VALIDATION_ERROR"),
    ({"surprise": []}, 422, "VALIDATION_ERROR"),
])
def test_bad_consents_are_refused_and_record_nothing(nclient, make, body, status, code):
    user = make.user()
    resp = nclient.post("/api/v1/notifications/consents", headers=make.headers(user), json=body)
    err = assert_error(resp, status, code)
    if code == "NOTIFY_TEMPLATE_UNKNOWN":
        assert err["details"]["templates"] == ["duty_reminder", "generic_notice", "order_status_changed"]
    db.session.expire_all()
    assert db.session.execute(select(NotificationConsent)).first() is None


def test_consents_body_must_be_json(nclient, make):
    headers = make.headers(make.user())
    resp = nclient.post("/api/v1/notifications/consents", headers=headers, data="{nope",
                        content_type="application/json")
    assert 400 <= resp.status_code < 500 and set(resp.get_json()) == {"code", "message", "details"}


def test_openapi_documents_the_endpoints(client):
    spec = client.get("/api/openapi.json").get_json()
    listing = spec["paths"]["/api/v1/messages"]["get"]
    assert {"200", "401", "422"} <= set(listing["responses"])
    assert "unread" in spec["components"]["schemas"]["MessagePage"]["properties"]
    assert "404" in spec["paths"]["/api/v1/messages/{message_id}/read"]["post"]["responses"]
