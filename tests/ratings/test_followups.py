"""Low ratings open follow-ups: administrators start and close them with the action taken and a
reply that reaches the rater (件件有问询、事事有整改、条条有回复); overdue after 3 working days."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.timeutil import SHANGHAI, utcnow
from blueprints.ratings import service
from models import AuditLog
from models.notifications import InAppMessage
from models.ratings import RatingFollowup
from tests.ratings.conftest import API, followup_of, rate
from tests.support.wechat import assert_error


def low_rating(client, make, orders, company, rater, **extra):
    body = rate(client, make.headers(rater), orders.order(rater, company), stars=1, comment="等了很久没人管",
                **extra).get_json()
    return body, followup_of(body["id"])


def messages_of(user_id: int) -> list[InAppMessage]:
    db.session.expire_all()
    return list(db.session.execute(select(InAppMessage).where(InAppMessage.user_id == user_id)
                                   .order_by(InAppMessage.id)).scalars())


def test_low_rating_to_reply(client, make, orders, company, rater):
    admin = make.user("admin", name="管理员丙")
    admin_headers, rater_headers = make.headers(admin), make.headers(rater)
    rating, followup = low_rating(client, make, orders, company, rater)
    assert followup is not None and followup.status == "open" and followup.user_id == rater.id
    assert rating["followup"]["status"] == "open" and rating["followup"]["status_label"] == "待处理"
    assert rating["followup"]["reply"] is None

    listing = client.get(f"{API}/rating-followups", headers=admin_headers).get_json()
    assert listing["total"] == 1
    item = listing["items"][0]
    assert item["id"] == followup.id and item["status_label"] == "待处理" and item["overdue"] is False
    assert item["rating"]["stars"] == 1 and item["rating"]["comment"] == "等了很久没人管"
    assert item["rating"]["rater_name"] == "评价人甲" and item["due_at"].endswith("+08:00")

    started = client.post(f"{API}/rating-followups/{followup.id}/start", json={"note": "已联系服务单位"},
                          headers=admin_headers)
    assert started.status_code == 200, started.get_json()
    assert started.get_json()["status"] == "in_progress" and started.get_json()["handler_name"] == "管理员丙"
    assert_error(client.post(f"{API}/rating-followups/{followup.id}/start", json={}, headers=admin_headers),
                 409, "INVALID_TRANSITION")
    assert client.get(f"{API}/ratings/{rating['id']}", headers=rater_headers).get_json()["followup"][
        "status_label"] == "处理中"

    closed = client.post(f"{API}/rating-followups/{followup.id}/close",
                         json={"action_taken": "约谈保安队长，加强巡查", "reply": "已整改，感谢监督"},
                         headers=admin_headers)
    assert closed.status_code == 200, closed.get_json()
    body = closed.get_json()
    assert body["status"] == "closed" and body["action_taken"] == "约谈保安队长，加强巡查"
    assert body["reply"] == "已整改，感谢监督" and body["closed_at"] and body["overdue"] is False

    # The rater sees the reply (not the internal action taken) and has an in-app message.
    mine = client.get(f"{API}/ratings/{rating['id']}", headers=rater_headers).get_json()["followup"]
    assert mine["status"] == "closed" and mine["status_label"] == "已办结" and mine["reply"] == "已整改，感谢监督"
    assert "action_taken" not in mine
    [message] = messages_of(rater.id)
    assert message.template == "rating_followup_reply" and "已整改，感谢监督" in message.body
    assert message.title == "您对测试服务的评价已有答复" and "1星" in message.body
    assert message.page == f"pages/ratings/detail?id={rating['id']}"
    inbox = client.get(f"{API}/messages", headers=rater_headers).get_json()
    assert inbox["unread"] == 1 and "已整改，感谢监督" in inbox["items"][0]["body"]

    # The timeline: opened by the system, started and closed by the administrator.
    detail = client.get(f"{API}/rating-followups/{followup.id}", headers=admin_headers).get_json()
    assert [(t["transition_label"], t["to_label"], t["actor_name"]) for t in detail["timeline"]] == [
        ("创建", "待处理", "系统"), ("开始处理", "处理中", "管理员丙"), ("办结", "已办结", "管理员丙")]
    assert detail["timeline"][1]["note"] == "已联系服务单位" and detail["available"] == []
    # Closed once: a second close is refused and sends nothing more.
    assert_error(client.post(f"{API}/rating-followups/{followup.id}/close",
                             json={"action_taken": "再次", "reply": "再次"}, headers=admin_headers),
                 409, "INVALID_TRANSITION")
    assert len(messages_of(rater.id)) == 1
    db.session.expire_all()
    actions = db.session.execute(select(AuditLog.action).where(AuditLog.target_type == "rating_followup")
                                 .order_by(AuditLog.id)).scalars().all()
    assert actions == ["rating_followup.start", "rating_followup.close"]


def test_close_straight_from_open_needs_both_texts(client, make, orders, company, rater):
    admin_headers = make.headers(make.user("admin"))
    _rating, followup = low_rating(client, make, orders, company, rater)
    url = f"{API}/rating-followups/{followup.id}/close"
    assert_error(client.post(url, json={"reply": "答复"}, headers=admin_headers), 422, "VALIDATION_ERROR")
    assert_error(client.post(url, json={"action_taken": "措施", "reply": ""}, headers=admin_headers), 422,
                 "VALIDATION_ERROR")
    assert_error(client.post(url, json={"action_taken": "  ", "reply": "答复"}, headers=admin_headers), 422,
                 "VALIDATION_ERROR")
    assert followup_of(followup.rating_id).status == "open" and messages_of(followup.user_id) == []
    detail = client.get(f"{API}/rating-followups/{followup.id}", headers=admin_headers).get_json()
    assert detail["available"] == ["start", "close"]
    resp = client.post(url, json={"action_taken": "措施", "reply": "答复"}, headers=admin_headers)
    assert resp.status_code == 200 and resp.get_json()["started_at"] is None
    assert len(messages_of(followup.user_id)) == 1


def test_auditors_read_but_do_not_work_followups(client, make, orders, company, rater):
    _rating, followup = low_rating(client, make, orders, company, rater)
    headers = make.headers(make.user("auditor"))
    assert client.get(f"{API}/rating-followups", headers=headers).get_json()["total"] == 1
    detail = client.get(f"{API}/rating-followups/{followup.id}", headers=headers).get_json()
    assert detail["available"] == []
    assert_error(client.post(f"{API}/rating-followups/{followup.id}/start", json={}, headers=headers), 403,
                 "FORBIDDEN")
    assert_error(client.post(f"{API}/rating-followups/{followup.id}/close", json={"action_taken": "a", "reply": "b"},
                             headers=headers), 403, "FORBIDDEN")
    assert followup_of(followup.rating_id).status == "open"


def test_ratings_above_two_stars_open_none(client, make, orders, company, rater):
    for stars in (3, 4, 5):
        rate(client, make.headers(rater), orders.order(rater, company), stars=stars)
    rate(client, make.headers(rater), orders.order(rater, company), stars=2, comment="一般偏差")
    assert db.session.query(RatingFollowup).count() == 1


def test_list_filters_and_overdue(client, make, orders, company, rater):
    headers = make.headers(make.user("admin"))
    _r1, late = low_rating(client, make, orders, company, rater)
    _r2, fresh = low_rating(client, make, orders, company, rater)
    _r3, done = low_rating(client, make, orders, company, rater)
    db.session.execute(update(RatingFollowup).where(RatingFollowup.id.in_([late.id, done.id]))
                       .values(due_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    client.post(f"{API}/rating-followups/{done.id}/close", json={"action_taken": "a", "reply": "b"}, headers=headers)
    items = client.get(f"{API}/rating-followups", headers=headers).get_json()["items"]
    flags = {i["id"]: i["overdue"] for i in items}
    assert flags == {late.id: True, fresh.id: False, done.id: False}  # a closed one is never overdue
    assert [i["id"] for i in items] == [late.id, fresh.id, done.id]  # unfinished first, by due time
    overdue = client.get(f"{API}/rating-followups?overdue=true", headers=headers).get_json()
    assert [i["id"] for i in overdue["items"]] == [late.id]
    not_overdue = client.get(f"{API}/rating-followups?overdue=false", headers=headers).get_json()
    assert {i["id"] for i in not_overdue["items"]} == {fresh.id, done.id}
    closed = client.get(f"{API}/rating-followups?status=closed", headers=headers).get_json()
    assert [i["id"] for i in closed["items"]] == [done.id]
    other = client.get(f"{API}/rating-followups?company_id={company.id + 1000}", headers=headers).get_json()
    assert other["total"] == 0
    assert client.get(f"{API}/rating-followups?service_type=sample", headers=headers).get_json()["total"] == 3
    assert_error(client.get(f"{API}/rating-followups?status=nope", headers=headers), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize(("opened", "due"), [
    # Friday 16:00 + 3 working days (21 working hours): 1.5 h Friday, Monday, Tuesday, 5.5 h Wednesday.
    (datetime(2026, 11, 27, 16, 0), datetime(2026, 12, 2, 16, 0)),
    # Opened on a Saturday: counted from Monday 09:00, due at Wednesday's close of business.
    (datetime(2026, 11, 28, 10, 0), datetime(2026, 12, 2, 17, 30)),
])
def test_due_is_three_working_days_later(app, opened, due):
    assert service.followup_due(opened.replace(tzinfo=SHANGHAI)) == due.replace(tzinfo=SHANGHAI)


def test_a_followup_is_due_three_working_days_after_opening(client, make, orders, company, rater):
    _rating, followup = low_rating(client, make, orders, company, rater)
    expected = service.followup_due(followup.created_at)
    assert abs((followup.due_at - expected).total_seconds()) < 5
