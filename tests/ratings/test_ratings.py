"""Rating a finished order: who, when, once, what (tags, comments), editing, options."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.timeutil import utcnow
from models.ratings import Rating, RatingFollowup
from tests.ratings.conftest import API, finish_at, followup_of, fresh_rating, rate, rating_created_at
from tests.support.wechat import assert_error


def count_ratings() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(Rating)).scalar_one()


def test_owner_rates_a_finished_order(client, make, orders, company, rater):
    order = orders.order(rater, company)
    headers = make.headers(rater)
    resp = rate(client, headers, order, stars=4, tags=["服务热情", "响应及时", "服务热情"], comment="  很好  ",
                anonymous=False)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["service_type"] == "sample" and body["service_title"] == "测试服务"
    assert body["order_id"] == order.id and body["company_id"] == company.id and body["company_name"] == "卫安保安"
    assert body["stars"] == 4 and body["tags"] == ["服务热情", "响应及时"] and body["comment"] == "很好"
    assert body["anonymous"] is False and body["edit_count"] == 0 and body["editable"] is True
    assert body["followup"] is None
    assert body["created_at"].endswith("+08:00") and body["editable_until"].endswith("+08:00")
    rating = fresh_rating(body["id"])
    assert rating.user_id == rater.id and rating.company_id == company.id
    assert rating.content_check == "skipped"  # WeChat is not configured in this app
    assert followup_of(rating.id) is None

    mine = client.get(f"{API}/ratings/mine", headers=headers).get_json()
    assert mine["total"] == 1 and [r["id"] for r in mine["items"]] == [body["id"]]
    detail = client.get(f"{API}/ratings/{body['id']}", headers=headers).get_json()
    assert detail["stars"] == 4 and detail["rater_name"] == rater.name


def test_the_contractor_at_the_time_is_kept(client, make, orders, company, rater):
    order = orders.order(rater, company)
    rating_id = rate(client, make.headers(rater), order).get_json()["id"]
    other = make.company("security")
    order.company_id = other.id  # the order is handed over later
    db.session.commit()
    assert fresh_rating(rating_id).company_id == company.id


def test_without_a_comment_no_content_check_is_stored(client, make, orders, company, rater):
    rating_id = rate(client, make.headers(rater), orders.order(rater, company), stars=5).get_json()["id"]
    assert fresh_rating(rating_id).comment is None and fresh_rating(rating_id).content_check is None


@pytest.mark.parametrize("service_type", ["no_such_type", "rating_followup"])
def test_unknown_or_unrateable_service_type(client, make, orders, company, rater, service_type):
    order = orders.order(rater, company)
    resp = client.post(f"{API}/ratings", json={"service_type": service_type, "order_id": order.id, "stars": 5},
                       headers=make.headers(rater))
    body = assert_error(resp, 422, "RATING_SERVICE_TYPE_UNKNOWN")
    assert "sample" in body["details"]["service_types"] and "rating_followup" not in body["details"]["service_types"]


def test_only_the_owner_rates(client, make, orders, company, rater):
    order = orders.order(rater, company)
    assert_error(rate(client, make.headers(make.user()), order), 404, "NOT_FOUND")  # cannot see it
    assert_error(rate(client, make.headers(make.user("admin")), order), 403, "RATING_NOT_OWNER")  # sees it
    guard = make.user("guard", company=company)  # the contractor's guard sees the order too
    assert_error(rate(client, make.headers(guard), order), 403, "RATING_NOT_OWNER")
    missing = type(order)(id=999999)
    assert_error(rate(client, make.headers(rater), missing), 404, "NOT_FOUND")
    assert count_ratings() == 0


@pytest.mark.parametrize("state", ["booked", "inside", "cancelled"])
def test_only_a_finished_order(client, make, orders, company, rater, state):
    order = orders.order(rater, company, state=state)
    body = assert_error(rate(client, make.headers(rater), order), 409, "RATING_ORDER_NOT_FINISHED")
    assert body["details"]["current"] == state and body["details"]["rateable_states"] == ["done"]
    assert count_ratings() == 0


def test_rating_window_edge(client, app, make, orders, company, rater, monkeypatch):
    monkeypatch.setitem(app.config, "RATING_WINDOW_DAYS", 7)
    headers = make.headers(rater)
    inside = orders.order(rater, company, finished_ago=timedelta(days=7) - timedelta(minutes=1))
    outside = orders.order(rater, company, finished_ago=timedelta(days=7, minutes=1))
    assert rate(client, headers, inside).status_code == 201
    body = assert_error(rate(client, headers, outside), 409, "RATING_WINDOW_CLOSED")
    assert body["details"]["rateable_until"] and body["details"]["finished_at"]
    # The window counts from the LAST entry into a finished state, and follows the setting.
    monkeypatch.setitem(app.config, "RATING_WINDOW_DAYS", 8)
    assert rate(client, headers, outside).status_code == 201


def test_once_per_order(client, make, orders, company, rater):
    order = orders.order(rater, company)
    headers = make.headers(rater)
    first = rate(client, headers, order, stars=5).get_json()
    body = assert_error(rate(client, headers, order, stars=1, comment="差"), 409, "RATING_EXISTS")
    assert body["details"]["rating_id"] == first["id"]
    assert count_ratings() == 1 and fresh_rating(first["id"]).stars == 5
    # The database itself refuses a second row for the order.
    from sqlalchemy.exc import IntegrityError
    db.session.add(Rating(service_type="sample", order_id=order.id, user_id=rater.id, stars=3))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_stars_and_comment_rules(client, make, orders, company, rater):
    headers = make.headers(rater)
    order = orders.order(rater, company)
    for stars in (0, 6):
        assert_error(rate(client, headers, order, stars=stars), 422, "VALIDATION_ERROR")
    assert_error(rate(client, headers, order, stars=2), 422, "RATING_COMMENT_REQUIRED")
    assert_error(rate(client, headers, order, stars=1, comment="   "), 422, "RATING_COMMENT_REQUIRED")
    assert_error(rate(client, headers, order, stars=3, comment="字" * 501), 422, "VALIDATION_ERROR")
    assert count_ratings() == 0
    assert rate(client, headers, order, stars=3, comment="字" * 500).status_code == 201
    other = orders.order(rater, company)
    assert rate(client, headers, other, stars=3, comment=None).status_code == 201  # optional above 2 stars


def test_tags_come_from_the_configured_list(client, app, make, orders, company, rater, monkeypatch):
    headers = make.headers(rater)
    order = orders.order(rater, company)
    body = assert_error(rate(client, headers, order, tags=["服务热情", "乱写的标签"]), 422, "RATING_TAG_UNKNOWN")
    assert body["details"]["unknown"] == ["乱写的标签"] and "服务热情" in body["details"]["allowed"]
    seven = ["服务热情", "响应及时", "专业规范", "环境整洁", "态度冷淡", "响应慢", "问题未解决"]
    assert_error(rate(client, headers, order, tags=seven), 422, "VALIDATION_ERROR")
    assert_error(rate(client, headers, order, tags=["字" * 21]), 422, "VALIDATION_ERROR")
    # RATING_TAGS overrides a type's own tags, and "*" the general list.
    monkeypatch.setitem(app.config, "RATING_TAGS", {"sample": ["通行顺畅"], "*": ["满意", "不满意"]})
    options = client.get(f"{API}/ratings/options?service_type=sample", headers=headers).get_json()
    assert options["tags"] == ["通行顺畅", "满意", "不满意"]
    assert_error(rate(client, headers, order, tags=["服务热情"]), 422, "RATING_TAG_UNKNOWN")
    resp = rate(client, headers, order, tags=["通行顺畅", "满意"])
    assert resp.status_code == 201 and resp.get_json()["tags"] == ["通行顺畅", "满意"]


def test_bad_tag_configuration_stops_the_app(server_urls):
    from tests.conftest import make_test_app

    with pytest.raises(ValueError, match="RATING_TAGS"):
        make_test_app(server_urls, RATING_TAGS={"sample": "不是列表"})
    with pytest.raises(ValueError, match="RATING_TAGS"):
        make_test_app(server_urls, RATING_TAGS={"sample": ["重复", "重复"]})


def test_options_say_whether_an_order_can_be_rated(client, app, make, orders, company, rater):
    headers = make.headers(rater)
    order = orders.order(rater, company, finished_ago=timedelta(days=1))
    url = f"{API}/ratings/options?service_type=sample"
    general = client.get(url, headers=headers).get_json()
    assert general["window_days"] == app.config["RATING_WINDOW_DAYS"] and general["max_tags"] == 6
    assert general["edit_hours"] == app.config["RATING_EDIT_HOURS"] and general["comment_required_at_or_below"] == 2
    assert "order_id" not in general
    before = client.get(f"{url}&order_id={order.id}", headers=headers).get_json()
    assert before["can_rate"] is True and before["reason"] is None and before["already_rated"] is False
    assert before["rateable_until"].endswith("+08:00")
    rating_id = rate(client, headers, order).get_json()["id"]
    after = client.get(f"{url}&order_id={order.id}", headers=headers).get_json()
    assert after["can_rate"] is False and after["reason"] == "RATING_EXISTS"
    assert after["already_rated"] is True and after["rating_id"] == rating_id
    booked = orders.order(rater, company, state="booked")
    pending = client.get(f"{url}&order_id={booked.id}", headers=headers).get_json()
    assert pending["reason"] == "RATING_ORDER_NOT_FINISHED" and pending["rateable_until"] is None
    old = orders.order(rater, company, finished_ago=timedelta(days=30))
    assert client.get(f"{url}&order_id={old.id}", headers=headers).get_json()["reason"] == "RATING_WINDOW_CLOSED"
    assert_error(client.get(f"{url}&order_id={order.id}", headers=make.headers(make.user())), 404, "NOT_FOUND")
    assert_error(client.get(f"{API}/ratings/options?service_type=nope", headers=headers), 422,
                 "RATING_SERVICE_TYPE_UNKNOWN")


# --- editing -----------------------------------------------------------------------------

def test_the_rater_edits_within_the_edit_window(client, app, make, orders, company, rater, monkeypatch):
    monkeypatch.setitem(app.config, "RATING_EDIT_HOURS", 12)
    headers = make.headers(rater)
    rating_id = rate(client, headers, orders.order(rater, company), stars=4, tags=["服务热情"]).get_json()["id"]
    resp = client.patch(f"{API}/ratings/{rating_id}", json={"stars": 5, "comment": "补充：很满意"}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["stars"] == 5 and body["comment"] == "补充：很满意" and body["tags"] == ["服务热情"]
    assert body["edit_count"] == 1
    # The same values again are no edit.
    same = client.patch(f"{API}/ratings/{rating_id}", json={"stars": 5}, headers=headers).get_json()
    assert same["edit_count"] == 1
    assert_error(client.patch(f"{API}/ratings/{rating_id}", json={}, headers=headers), 422, "VALIDATION_ERROR")
    assert_error(client.patch(f"{API}/ratings/{rating_id}", json={"tags": ["乱写"]}, headers=headers), 422,
                 "RATING_TAG_UNKNOWN")
    # Others: the admin sees it but may not edit it; anyone else does not see it.
    assert_error(client.patch(f"{API}/ratings/{rating_id}", json={"stars": 1, "comment": "x"},
                              headers=make.headers(make.user("admin"))), 403, "RATING_NOT_OWNER")
    assert_error(client.patch(f"{API}/ratings/{rating_id}", json={"stars": 1, "comment": "x"},
                              headers=make.headers(make.user())), 404, "NOT_FOUND")
    # Just inside, then just outside the window.
    rating_created_at(rating_id, utcnow() - timedelta(hours=12) + timedelta(minutes=1))
    assert client.patch(f"{API}/ratings/{rating_id}", json={"anonymous": True}, headers=headers).status_code == 200
    rating_created_at(rating_id, utcnow() - timedelta(hours=12, minutes=1))
    body = assert_error(client.patch(f"{API}/ratings/{rating_id}", json={"stars": 3}, headers=headers), 409,
                        "RATING_EDIT_CLOSED")
    assert body["details"]["editable_until"]
    rating = fresh_rating(rating_id)
    assert rating.stars == 5 and rating.anonymous is True and rating.edit_count == 2
    detail = client.get(f"{API}/ratings/{rating_id}", headers=headers).get_json()
    assert detail["editable"] is False


def test_lowering_stars_opens_a_followup_raising_keeps_it(client, make, orders, company, rater):
    headers = make.headers(rater)
    rating_id = rate(client, headers, orders.order(rater, company), stars=4).get_json()["id"]
    assert followup_of(rating_id) is None
    assert_error(client.patch(f"{API}/ratings/{rating_id}", json={"stars": 2}, headers=headers), 422,
                 "RATING_COMMENT_REQUIRED")
    assert followup_of(rating_id) is None
    resp = client.patch(f"{API}/ratings/{rating_id}", json={"stars": 2, "comment": "后来发现问题"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["followup"]["status"] == "open"
    first = followup_of(rating_id)
    # Removing the comment of a low rating is refused; raising the stars closes nothing.
    assert_error(client.patch(f"{API}/ratings/{rating_id}", json={"comment": ""}, headers=headers), 422,
                 "RATING_COMMENT_REQUIRED")
    raised = client.patch(f"{API}/ratings/{rating_id}", json={"stars": 5}, headers=headers).get_json()
    assert raised["followup"]["status"] == "open"
    lowered = client.patch(f"{API}/ratings/{rating_id}", json={"stars": 1}, headers=headers).get_json()
    assert lowered["followup"]["id"] == first.id
    assert db.session.query(RatingFollowup).count() == 1


def test_mine_is_paginated_and_only_mine(client, make, orders, company, rater):
    headers = make.headers(rater)
    ids = [rate(client, headers, orders.order(rater, company)).get_json()["id"] for _ in range(3)]
    other = make.user()
    rate(client, make.headers(other), orders.order(other, company))
    page = client.get(f"{API}/ratings/mine?per_page=2", headers=headers).get_json()
    assert page["total"] == 3 and [r["id"] for r in page["items"]] == ids[::-1][:2]
    page2 = client.get(f"{API}/ratings/mine?per_page=2&page=2", headers=headers).get_json()
    assert [r["id"] for r in page2["items"]] == [ids[0]]
    assert client.get(f"{API}/ratings/mine?service_type=other", headers=headers).get_json()["total"] == 0


def test_rating_detail_is_for_the_rater_and_readers_of_everything(client, make, orders, company, rater):
    rating_id = rate(client, make.headers(rater), orders.order(rater, company)).get_json()["id"]
    for reader in (make.user("admin"), make.user("auditor")):
        assert client.get(f"{API}/ratings/{rating_id}", headers=make.headers(reader)).status_code == 200
    for stranger in (make.user(), make.user("guard", company=company)):
        assert_error(client.get(f"{API}/ratings/{rating_id}", headers=make.headers(stranger)), 404, "NOT_FOUND")
    assert_error(client.get(f"{API}/ratings/999999", headers=make.headers(rater)), 404, "NOT_FOUND")


def test_finish_time_can_move(orders, company, rater):
    """The helper really moves the finish time (the window tests rely on it)."""
    from tests.platform.orders import SAMPLE

    order = orders.order(rater, company, finished_ago=None)
    when = utcnow() - timedelta(days=3)
    finish_at(order, when)
    assert abs((SAMPLE.finished_at(order.id) - when).total_seconds()) < 1


def test_rating_earns_points_once_up_to_the_daily_cap(client, make, orders, company, rater):
    from blueprints.points import service as points
    from models.points import PointsTransaction

    headers = make.headers(rater)
    for _ in range(6):  # the "rating" rule pays 1 point, at most 5 a day
        assert rate(client, headers, orders.order(rater, company), stars=5).status_code == 201
    db.session.expire_all()
    assert points.balance(rater.id) == 5
    references = db.session.execute(select(PointsTransaction.reference).where(
        PointsTransaction.user_id == rater.id)).scalars().all()
    assert len(references) == 5 and all(r.startswith("rating:") for r in references)
    assert points.check_ledger() == []
