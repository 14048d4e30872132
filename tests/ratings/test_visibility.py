"""Who sees what: contractors never learn who rated (through any route), administrators and
auditors see the rater unless the rating is anonymous; listing filters and the summary."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update

from app.extensions import db
from app.timeutil import SHANGHAI, utcnow
from blueprints.ratings import service
from models.ratings import Rating
from tests.ratings.conftest import API, followup_of, rate
from tests.support.wechat import assert_error

RECEIVED_KEYS = {"id", "service_type", "service_title", "order_id", "company_id", "stars", "tags", "comment",
                 "created_at"}


def _rated(client, make, orders, company, rater, **extra):
    return rate(client, make.headers(rater), orders.order(rater, company), **extra).get_json()


def test_contractor_cannot_learn_the_rater_through_any_route(client, make, orders, company):
    rater = make.user(name="隐私甲", employee_no="E7001", department=make.department(name="秘书科"))
    low = _rated(client, make, orders, company, rater, stars=1, comment="门岗态度差", tags=["态度冷淡"])
    anon = _rated(client, make, orders, company, rater, stars=4, anonymous=True)
    followup = followup_of(low["id"])
    secrets = ("隐私甲", "E7001", "秘书科")

    for staff in (make.user("guard", company=company), make.user("guard", company=company)):
        headers = make.headers(staff)
        resp = client.get(f"{API}/ratings/received", headers=headers)
        assert resp.status_code == 200
        page = resp.get_json()
        assert page["total"] == 2
        for item in page["items"]:
            assert set(item) == RECEIVED_KEYS
        by_id = {item["id"]: item for item in page["items"]}
        assert by_id[low["id"]]["comment"] == "门岗态度差" and by_id[low["id"]]["order_id"] == low["order_id"]
        assert by_id[anon["id"]]["order_id"] is None  # the rater chose anonymity: no order to trace either
        text = json.dumps(page, ensure_ascii=False)
        for secret in secrets:
            assert secret not in text
        assert '"user_id"' not in text and "rater" not in text
        # Every other route: refused, whatever the id.
        for rating_id in (low["id"], anon["id"]):
            assert_error(client.get(f"{API}/ratings/{rating_id}", headers=headers), 404, "NOT_FOUND")
            assert_error(client.patch(f"{API}/ratings/{rating_id}", json={"stars": 5}, headers=headers), 404,
                         "NOT_FOUND")
        assert_error(client.get(f"{API}/rating-followups", headers=headers), 403, "FORBIDDEN")
        assert_error(client.get(f"{API}/rating-followups/{followup.id}", headers=headers), 403, "FORBIDDEN")
        assert_error(client.post(f"{API}/rating-followups/{followup.id}/start", json={}, headers=headers), 403,
                     "FORBIDDEN")
        assert_error(client.get(f"{API}/ratings", headers=headers), 403, "FORBIDDEN")
        assert_error(client.get(f"{API}/ratings/summary", headers=headers), 403, "FORBIDDEN")
        mine = client.get(f"{API}/ratings/mine", headers=headers).get_json()
        assert mine["total"] == 0
        options = client.get(f"{API}/ratings/options?service_type=sample&order_id={low['order_id']}",
                             headers=headers).get_json()  # the guard sees the order itself, not the rating
        assert options["can_rate"] is False and options["reason"] == "RATING_NOT_OWNER"
        assert options["rating_id"] is None and options["already_rated"] is None  # whether rated: not theirs
        for secret in secrets:
            assert secret not in json.dumps(options, ensure_ascii=False)


def test_received_is_scoped_to_the_own_company(client, make, orders, company):
    rater = make.user()
    other = make.company("property")
    mine = _rated(client, make, orders, company, rater, stars=5)
    theirs = _rated(client, make, orders, other, rater, stars=3)
    headers = make.headers(make.user("guard", company=company))
    page = client.get(f"{API}/ratings/received", headers=headers).get_json()
    assert [i["id"] for i in page["items"]] == [mine["id"]]
    assert_error(client.get(f"{API}/ratings/received?company_id={other.id}", headers=headers), 404, "NOT_FOUND")
    assert client.get(f"{API}/ratings/received?company_id={company.id}", headers=headers).get_json()["total"] == 1
    tech = make.headers(make.user("technician", company=other))
    assert [i["id"] for i in client.get(f"{API}/ratings/received", headers=tech).get_json()["items"]] == [
        theirs["id"]]
    # Filters.
    assert client.get(f"{API}/ratings/received?stars_max=4", headers=headers).get_json()["total"] == 0
    assert client.get(f"{API}/ratings/received?stars_min=5&service_type=sample",
                      headers=headers).get_json()["total"] == 1
    # Staff of no company (an administrator included) have nothing received.
    for nobody in (make.user(), make.user("admin")):
        assert_error(client.get(f"{API}/ratings/received", headers=make.headers(nobody)), 403, "FORBIDDEN")


def test_admin_listing_names_the_rater_unless_anonymous(client, make, orders, company):
    named = make.user(name="实名乙", department=make.department(name="财务处"))
    hidden = make.user(name="匿名丙", department=make.department(name="人事处"))
    first = _rated(client, make, orders, company, named, stars=2, comment="一般")
    second = _rated(client, make, orders, company, hidden, stars=1, comment="很差", anonymous=True)
    for reader in (make.user("admin"), make.user("auditor")):
        headers = make.headers(reader)
        page = client.get(f"{API}/ratings", headers=headers).get_json()
        by_id = {i["id"]: i for i in page["items"]}
        assert by_id[first["id"]]["rater"] == {"id": named.id, "name": "实名乙", "department": "财务处"}
        assert by_id[first["id"]]["rater_name"] == "实名乙"
        assert by_id[second["id"]]["rater"] is None and by_id[second["id"]]["rater_name"] == "匿名"
        assert by_id[second["id"]]["followup"]["status"] == "open"
        detail = client.get(f"{API}/ratings/{second['id']}", headers=headers).get_json()
        followups = client.get(f"{API}/rating-followups", headers=headers).get_json()
        followup_detail = client.get(f"{API}/rating-followups/{followup_of(second['id']).id}",
                                     headers=headers).get_json()
        for shown in (page, detail, followups, followup_detail):
            text = json.dumps(shown, ensure_ascii=False)
            assert "匿名丙" not in text and "人事处" not in text and '"user_id"' not in text
        assert followup_detail["rating"]["rater_name"] == "匿名"
    # Their own anonymous rating is shown to the rater as anonymous too.
    own = client.get(f"{API}/ratings/{second['id']}", headers=make.headers(hidden)).get_json()
    assert own["anonymous"] is True and own["rater_name"] == "匿名"


def test_admin_listing_filters(client, make, orders, company):
    rater = make.user()
    other = make.company("property")
    a = _rated(client, make, orders, company, rater, stars=5)
    b = _rated(client, make, orders, company, rater, stars=2, comment="差")
    c = _rated(client, make, orders, other, rater, stars=3)
    db.session.execute(update(Rating).where(Rating.id == c["id"]).values(
        created_at=utcnow() - timedelta(days=10), content_check="review"))
    db.session.commit()
    headers = make.headers(make.user("admin"))

    def ids(query: str) -> list[int]:
        resp = client.get(f"{API}/ratings?{query}", headers=headers)
        assert resp.status_code == 200, resp.get_json()
        return [i["id"] for i in resp.get_json()["items"]]

    assert ids("") == [c["id"], b["id"], a["id"]]
    assert ids(f"company_id={company.id}") == [b["id"], a["id"]]
    assert ids("stars_min=3") == [c["id"], a["id"]]
    assert ids("stars_min=2&stars_max=3") == [c["id"], b["id"]]
    assert ids("has_followup=true") == [b["id"]] and ids("has_followup=false") == [c["id"], a["id"]]
    assert ids("followup_status=open") == [b["id"]] and ids("followup_status=closed") == []
    assert ids("flagged=true") == [c["id"]]
    today = utcnow().astimezone(SHANGHAI).date()
    assert ids(f"date_from={today.isoformat()}") == [b["id"], a["id"]]
    assert ids(f"date_to={(today - timedelta(days=1)).isoformat()}") == [c["id"]]
    assert ids("service_type=other") == []
    assert_error(client.get(f"{API}/ratings?stars_min=4&stars_max=2", headers=headers), 422, "VALIDATION_ERROR")
    assert_error(client.get(f"{API}/ratings?date_from=2026-02-01&date_to=2026-01-01", headers=headers), 422,
                 "VALIDATION_ERROR")
    assert client.get(f"{API}/ratings", headers=make.headers(make.user())).status_code == 403


def test_summary_numbers(client, make, orders, company):
    rater = make.user()
    other = make.company("property")
    for stars in (5, 5, 4, 2):
        _rated(client, make, orders, company, rater, stars=stars, comment="意见" if stars <= 2 else None)
    old = _rated(client, make, orders, other, rater, stars=1, comment="很差")
    db.session.execute(update(Rating).where(Rating.id == old["id"]).values(created_at=utcnow() - timedelta(days=40)))
    db.session.commit()

    assert service.summary() == {"count": 5, "average": 3.4, "distribution": {1: 1, 2: 1, 3: 0, 4: 1, 5: 2},
                                 "low_count": 2}
    assert service.summary(company_id=company.id) == {
        "count": 4, "average": 4.0, "distribution": {1: 0, 2: 1, 3: 0, 4: 1, 5: 2}, "low_count": 1}
    assert service.summary(since=utcnow() - timedelta(days=1))["count"] == 4
    assert service.summary(until=utcnow() - timedelta(days=1))["count"] == 1
    assert service.summary(service_type="other") == {
        "count": 0, "average": None, "distribution": dict.fromkeys(range(1, 6), 0), "low_count": 0}

    headers = make.headers(make.user("auditor"))
    body = client.get(f"{API}/ratings/summary", headers=headers).get_json()
    assert body == {"count": 5, "average": 3.4, "distribution": {"1": 1, "2": 1, "3": 0, "4": 1, "5": 2},
                    "low_count": 2}
    today = utcnow().astimezone(SHANGHAI).date()
    recent = client.get(f"{API}/ratings/summary?date_from={today.isoformat()}&company_id={company.id}",
                        headers=headers).get_json()
    assert recent["count"] == 4 and recent["average"] == 4.0
    assert client.get(f"{API}/ratings/summary?date_to={(today - timedelta(days=2)).isoformat()}",
                      headers=headers).get_json()["count"] == 1
    assert client.get(f"{API}/ratings/summary", headers=make.headers(make.user())).status_code == 403
