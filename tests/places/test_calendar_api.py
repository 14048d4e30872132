"""The working calendar through the API: administrators load a year at once (validated,
replacing the year, audited); everyone signed in reads years and day-by-day answers."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from blueprints.places.demo import CALENDAR_2026
from models import AuditLog, CalendarDay
from tests.places.helpers import API


def _json(data: dict) -> dict:
    return {key: [{**e, "date": e["date"].isoformat()} for e in data[key]] for key in ("holidays", "workdays")}


BODY_2026 = _json(CALENDAR_2026)


@pytest.fixture
def admin(make):
    return make.user("admin")


@pytest.fixture
def admin_h(make, admin):
    return make.headers(admin)


def error(resp, status: int, code: str) -> dict:
    body = resp.get_json()
    assert resp.status_code == status, body
    assert set(body) == {"code", "message", "details"} and body["code"] == code, body
    return body


def count() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(CalendarDay)).scalar_one()


def test_load_and_read_a_year(client, make, admin, admin_h):
    resp = client.put(f"{API}/calendar/2026", headers=admin_h, json=BODY_2026)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["year"] == 2026 and len(body["holidays"]) == 33 and len(body["workdays"]) == 6
    assert body["holidays"][0] == {"date": "2026-01-01", "name": "元旦"}
    assert {"date": "2026-10-10", "name": "国庆节调休上班"} in body["workdays"]
    staff_h = make.headers(make.user())
    assert client.get(f"{API}/calendar/2026", headers=staff_h).get_json() == body
    empty = client.get(f"{API}/calendar/2031", headers=staff_h).get_json()
    assert empty == {"year": 2031, "holidays": [], "workdays": []}
    [entry] = db.session.execute(select(AuditLog).where(AuditLog.action == "calendar.replace")).scalars().all()
    assert (entry.actor_id, entry.target_type, entry.target_id) == (admin.id, "calendar", "2026")
    assert entry.details["holidays"] == 33 and entry.details["workdays"] == 6
    assert "2026-10-01 holiday 国庆节" in entry.details["added"] and entry.details["removed"] == []


def test_a_load_replaces_only_that_year(client, admin_h):
    client.put(f"{API}/calendar/2026", headers=admin_h, json=BODY_2026)
    client.put(f"{API}/calendar/2027", headers=admin_h,
               json={"holidays": [{"date": "2027-01-01", "name": "元旦"}], "workdays": []})
    resp = client.put(f"{API}/calendar/2026", headers=admin_h, json={
        "holidays": [{"date": "2026-10-01", "name": "国庆节"}],
        "workdays": [{"date": "2026-10-10"}]})  # the name defaults
    assert resp.status_code == 200
    assert resp.get_json()["workdays"] == [{"date": "2026-10-10", "name": "调休上班"}]
    assert count() == 3
    assert client.get(f"{API}/calendar/2027", headers=admin_h).get_json()["holidays"] == [
        {"date": "2027-01-01", "name": "元旦"}]
    last = db.session.execute(select(AuditLog).where(AuditLog.action == "calendar.replace")
                              .order_by(AuditLog.id.desc())).scalars().first()
    assert len(last.details["removed"]) == 38 and last.details["added"] == ["2026-10-10 workday 调休上班"]
    # An empty load clears the year.
    assert client.put(f"{API}/calendar/2026", headers=admin_h, json={"holidays": [], "workdays": []}).status_code == 200
    assert count() == 1


@pytest.mark.parametrize(("body", "code", "dates"), [
    ({"holidays": [{"date": "2025-12-31", "name": "跨年"}], "workdays": []},
     "CALENDAR_DATE_OUTSIDE_YEAR", ["2025-12-31"]),
    ({"holidays": [], "workdays": [{"date": "2027-01-02", "name": "调休"}]},
     "CALENDAR_DATE_OUTSIDE_YEAR", ["2027-01-02"]),
    ({"holidays": [{"date": "2026-10-01", "name": "国庆节"}, {"date": "2026-10-01", "name": "国庆"}], "workdays": []},
     "CALENDAR_DUPLICATE_DATE", ["2026-10-01"]),
    ({"holidays": [], "workdays": [{"date": "2026-10-10"}, {"date": "2026-10-10"}]},
     "CALENDAR_DUPLICATE_DATE", ["2026-10-10"]),
    ({"holidays": [{"date": "2026-10-10", "name": "国庆节"}], "workdays": [{"date": "2026-10-10"}]},
     "CALENDAR_HOLIDAY_IS_WORKDAY", ["2026-10-10"]),
    ({"holidays": [], "workdays": [{"date": "2026-10-09"}, {"date": "2026-10-10"}, {"date": "2026-10-12"}]},
     "CALENDAR_WORKDAY_NOT_WEEKEND", ["2026-10-09", "2026-10-12"]),
])
def test_bad_years_are_refused_whole(client, admin_h, body, code, dates):
    client.put(f"{API}/calendar/2026", headers=admin_h, json=BODY_2026)
    err = error(client.put(f"{API}/calendar/2026", headers=admin_h, json=body), 422, code)
    assert err["details"]["dates"] == dates
    assert err["message"]  # Chinese, from the registry
    assert count() == 39  # the year loaded before is untouched
    assert db.session.execute(select(func.count()).select_from(AuditLog)).scalar_one() == 1


@pytest.mark.parametrize("body", [
    {},
    {"holidays": []},                                                    # both lists are required
    {"workdays": []},
    {"holidays": [{"date": "2026-10-01"}], "workdays": []},              # a holiday needs its name
    {"holidays": [{"date": "2026-10-01", "name": " "}], "workdays": []},
    {"holidays": [{"date": "2026-10-01", "name": "x" * 51}], "workdays": []},
    {"holidays": [{"date": "2026-13-01", "name": "x"}], "workdays": []},
    {"holidays": [{"date": "yesterday", "name": "x"}], "workdays": []},
    {"holidays": [{"date": 20261001, "name": "x"}], "workdays": []},
    {"holidays": "2026-10-01", "workdays": []},
    {"holidays": [{"date": f"2026-01-{d:02d}", "name": "x"} for d in range(1, 32)] * 12, "workdays": []},
])
def test_malformed_bodies_are_validation_errors(client, admin_h, body):
    error(client.put(f"{API}/calendar/2026", headers=admin_h, json=body), 422, "VALIDATION_ERROR")
    assert count() == 0


@pytest.mark.parametrize("year", [1999, 2101, 0, 99999])
def test_year_out_of_range(client, admin_h, year):
    err = error(client.put(f"{API}/calendar/{year}", headers=admin_h, json={"holidays": [], "workdays": []}),
                422, "CALENDAR_YEAR_INVALID")
    assert err["details"]["year"] == year
    error(client.get(f"{API}/calendar/{year}", headers=admin_h), 422, "CALENDAR_YEAR_INVALID")


def test_only_admins_load(client, make):
    manager = make.user("canteen_manager", company=make.company("canteen_operator"))
    for user in (make.user(), make.user("auditor"), manager):
        error(client.put(f"{API}/calendar/2026", headers=make.headers(user), json=BODY_2026), 403, "FORBIDDEN")
    error(client.put(f"{API}/calendar/2026", json=BODY_2026), 401, "AUTH_REQUIRED")
    assert count() == 0


def test_days_answers_per_day(client, make, admin_h):
    client.put(f"{API}/calendar/2026", headers=admin_h, json=BODY_2026)
    h = make.headers(make.user(kind="visitor"))
    days = client.get(f"{API}/calendar/days?from=2026-09-30&to=2026-10-12", headers=h).get_json()
    assert len(days) == 13
    assert [d["is_workday"] for d in days] == [True] + [False] * 7 + [True, True, True, False, True]
    assert days[0] == {"date": "2026-09-30", "weekday": 3, "is_workday": True, "exception": None, "name": None}
    assert days[1] == {"date": "2026-10-01", "weekday": 4, "is_workday": False, "exception": "holiday",
                       "name": "国庆节"}
    assert days[10] == {"date": "2026-10-10", "weekday": 6, "is_workday": True, "exception": "workday",
                        "name": "国庆节调休上班"}
    assert days[11]["exception"] is None and days[11]["is_workday"] is False  # an ordinary Sunday
    one = client.get(f"{API}/calendar/days?from=2026-12-31&to=2027-01-01", headers=h).get_json()
    assert [d["is_workday"] for d in one] == [True, True]  # 2027 not loaded: weekday rule
    year = client.get(f"{API}/calendar/days?from=2026-01-01&to=2026-12-31", headers=h).get_json()
    assert sum(d["is_workday"] for d in year) == 248
    leap = client.get(f"{API}/calendar/days?from=2028-01-01&to=2028-12-31", headers=h).get_json()
    assert len(leap) == 366  # at most 366 days, both ends included


@pytest.mark.parametrize("query", [
    "", "?from=2026-10-01", "?to=2026-10-01", "?from=2026-10-02&to=2026-10-01",
    "?from=2026-01-01&to=2027-01-02", "?from=2026-10-01&to=tomorrow", "?from=1999-12-31&to=2000-01-01",
    "?from=9999-12-30&to=9999-12-31",
])
def test_days_bad_ranges(client, make, query):
    error(client.get(f"{API}/calendar/days{query}", headers=make.headers(make.user())), 422, "VALIDATION_ERROR")


def test_days_needs_sign_in(client):
    error(client.get(f"{API}/calendar/days?from=2026-10-01&to=2026-10-02"), 401, "AUTH_REQUIRED")
    error(client.get(f"{API}/calendar/2026"), 401, "AUTH_REQUIRED")


def test_database_keeps_make_up_workdays_on_weekends(app):
    from sqlalchemy.exc import IntegrityError

    db.session.add(CalendarDay(day=date(2026, 10, 9), kind="workday", name="周五"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    db.session.add_all([CalendarDay(day=date(2026, 10, 1), kind="holiday", name="国庆节"),
                        CalendarDay(day=date(2026, 10, 1), kind="holiday", name="又一次")])
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_concurrent_loads_of_a_year_leave_one_of_them(server_urls, app, make):
    """Two administrators load 2026 at the same moment: the advisory lock serialises them, so
    the year holds one load's days, never a mix or a unique-violation 500."""
    from tests.conftest import make_test_app

    admin_h = make.headers(make.user("admin"))
    bodies = [BODY_2026, {"holidays": [{"date": "2026-10-01", "name": "国庆节"}], "workdays": [{"date": "2026-10-10"}]}]
    results = []
    barrier = threading.Barrier(2)

    def load(body):
        application = make_test_app(server_urls)
        with application.app_context():
            client = application.test_client()
            barrier.wait()
            results.append(client.put(f"{API}/calendar/2026", headers=admin_h, json=body).status_code)

    threads = [threading.Thread(target=load, args=(body,)) for body in bodies * 3]
    barrier = threading.Barrier(len(threads))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 6
    assert count() in (39, 2)
