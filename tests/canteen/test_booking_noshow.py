"""No-shows: the sweep marks bookings not picked up after the serving window (+ tolerance),
warns at CANTEEN_NO_SHOW_WARN_AT, suspends at CANTEEN_NO_SHOW_SUSPEND_AT, notifies, and a
rerun changes nothing; penalties are shown to the user and an administrator lifts them."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.extensions import db
from blueprints.canteen import booking as service
from models.canteen import BookingPenalty, MealBooking
from models.notifications import InAppMessage
from tests.canteen.test_booking import at, code_of, p
from tests.identity.helpers import assert_error, audit_rows

MON = date(2026, 6, 1)


def _statuses(ids):
    db.session.expire_all()
    return [db.session.get(MealBooking, i).status for i in ids]


def test_no_shows_warning_suspension_rerun_and_lift(client, make, kitchen, booking_clock):
    user = make.user()
    diner = p(user)
    booked_at = at(MON - timedelta(days=3), 10)
    days = [MON, MON + timedelta(days=1), MON + timedelta(days=2)]
    ids = [service.book(diner, kitchen.lunch.id, d, now=booked_at).id for d in days]
    served = service.book(diner, kitchen.dinner.id, MON, now=booked_at)
    today_lunch = service.book(diner, kitchen.lunch.id, MON + timedelta(days=3), now=booked_at)
    db.session.commit()
    # Serve Monday's dinner: a served booking is never a no-show.
    from blueprints.canteen.rules import MEAL

    MEAL.transition(served.id, "serve", p(kitchen.worker))
    db.session.commit()

    # Monday 13:14: within the tolerance after serving ended, nothing yet.
    assert service.mark_no_shows(now=at(MON, 13, 14)) == 0
    assert service.mark_no_shows(now=at(MON, 13, 16)) == 1
    assert _statuses(ids) == ["no_show", "booked", "booked"]
    assert db.session.execute(select(BookingPenalty)).scalars().all() == []

    # Thursday 09:00: Tuesday and Wednesday's lunches are no-shows; Thursday's not yet.
    thursday = at(MON + timedelta(days=3), 9)
    assert service.mark_no_shows(now=thursday) == 2
    assert _statuses([*ids, served.id, today_lunch.id]) == ["no_show"] * 3 + ["served", "booked"]
    penalties = db.session.execute(select(BookingPenalty).order_by(BookingPenalty.id)).scalars().all()
    assert [(x.kind, x.no_shows, x.trigger_booking_id) for x in penalties] == [
        ("warning", 2, ids[1]), ("suspension", 3, ids[2])]
    suspension = penalties[1]
    assert (suspension.starts_on, suspension.ends_on) == (date(2026, 6, 5), date(2026, 6, 11))
    assert suspension.reason == "近 30 天内预订后未取餐 3 次，暂停报餐 7 天"
    messages = db.session.execute(select(InAppMessage).where(InAppMessage.user_id == user.id)
                                  .order_by(InAppMessage.id)).scalars().all()
    assert [m.template for m in messages] == ["canteen_no_show_warning", "canteen_booking_suspended"]
    assert "6月2日午餐" in messages[0].body and "暂停至6月11日" in messages[1].body

    # A rerun changes nothing, and re-deriving a consequence is harmless (UNIQUE user, trigger).
    assert service.mark_no_shows(now=thursday) == 0
    assert service._consequence(db.session.get(MealBooking, ids[2]), thursday) is None
    db.session.commit()
    assert len(db.session.execute(select(BookingPenalty)).scalars().all()) == 2
    assert len(db.session.execute(select(InAppMessage)).scalars().all()) == 2

    # Suspended from Friday: booking Friday's lunch is refused, Thursday's dinner is not.
    err = code_of(lambda: service.book(diner, kitchen.lunch.id, date(2026, 6, 8), now=thursday))
    assert err.code == "CANTEEN_SUSPENDED" and err.details["ends_on"] == "2026-06-11"
    db.session.rollback()
    assert service.book(diner, kitchen.dinner.id, MON + timedelta(days=3), now=thursday).status == "booked"
    db.session.commit()

    # The user sees both, with reasons.
    booking_clock(thursday)
    mine = client.get("/api/v1/canteen/penalties/mine", headers=make.headers(user)).get_json()
    assert [(x["kind"], x["kind_label"], x["active"]) for x in mine["items"]] == [
        ("suspension", "暂停报餐", True), ("warning", "警告", False)]
    assert mine["items"][0]["reason"] == suspension.reason
    assert client.get("/api/v1/canteen/penalties/mine", headers=make.headers(make.user())).get_json()["total"] == 0

    # Lifting: administrators only, once, audited.
    url = f"/api/v1/canteen/penalties/{suspension.id}/lift"
    for who in (user, kitchen.manager, make.user("auditor")):
        assert_error(client.post(url, json={}, headers=make.headers(who)), 403, "FORBIDDEN")
    admin = make.headers(make.user("admin"))
    resp = client.post(url, json={"note": "出差，已说明"}, headers=admin)
    assert resp.status_code == 200 and resp.get_json()["lifted_at"] and resp.get_json()["active"] is False
    assert_error(client.post(url, json={}, headers=admin), 409, "CANTEEN_PENALTY_LIFTED")
    assert_error(client.post("/api/v1/canteen/penalties/999999/lift", json={}, headers=admin), 404, "NOT_FOUND")
    assert [r.target_id for r in audit_rows("canteen.penalty_lift")] == [str(suspension.id)]
    assert service.book(diner, kitchen.lunch.id, date(2026, 6, 8), now=thursday).status == "booked"
    db.session.commit()

    # After a lift, earlier no-shows no longer count: one more no-show is not a new penalty.
    assert service.mark_no_shows(now=at(MON + timedelta(days=3), 14)) == 1  # Thursday's lunch
    assert len(db.session.execute(select(BookingPenalty)).scalars().all()) == 2


def test_no_shows_outside_the_window_do_not_count(app, make, kitchen, monkeypatch):
    monkeypatch.setitem(app.config, "CANTEEN_NO_SHOW_WINDOW_DAYS", 3)
    diner = p(make.user())
    booked_at = at(MON - timedelta(days=3), 10)
    for d in (MON, MON + timedelta(days=3)):  # three days apart: never two within 3 days
        service.book(diner, kitchen.lunch.id, d, now=booked_at)
    db.session.commit()
    assert service.mark_no_shows(now=at(MON + timedelta(days=4), 9)) == 2
    assert db.session.execute(select(BookingPenalty)).scalars().all() == []
