"""Recurring visits (weekly, on Asia/Shanghai wall time), decisions for a whole application
and for one occurrence, the pass revoked by cancelling (with the signal parking listens
to), and an invitation completed once when two visitors race for it from two processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app import qrpass
from app.auth import Principal
from app.extensions import db
from app.lifecycle import order_transitioned
from app.timeutil import SHANGHAI, utcnow
from blueprints.visitors import rules
from models.notifications import InAppMessage
from models.visitors import Visit, VisitApplication, VisitorConsent
from tests.identity.helpers import assert_error
from tests.rooms.booking_helpers import post_worker
from tests.support.procs import run_at_once
from tests.visitors.conftest import make_visit
from tests.visitors.test_visits import NOW, Api, at, person

API = "/api/v1/visitors"


def count(user, template: str | None = None) -> int:
    db.session.expire_all()
    stmt = select(InAppMessage).where(InAppMessage.user_id == user.id)
    if template:
        stmt = stmt.where(InAppMessage.template == template)
    return len(db.session.execute(stmt).scalars().all())


def _starts(application_id: int) -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(v.starts_at.astimezone(SHANGHAI).isoformat(), v.status) for v in db.session.execute(
        select(Visit).where(Visit.application_id == application_id).order_by(Visit.starts_at)).scalars()]


def test_weekly_invitation_creates_each_visit_on_wall_time(client, make, visit_clock):
    visit_clock(NOW)
    api, host, visitor = Api(client), make.user(), make.user(kind="visitor")
    # Mondays and Thursdays until the end of June: 8 visits, all at 09:00 Beijing time
    resp = api.post("/invitations", {"purpose": "驻场调试", "starts_at": at(3, 9), "ends_at": at(3, 11),
                                     "recurrence": {"weekdays": [0, 3], "until": "2030-06-30"}}, make.headers(host))
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    assert data["recurrence"] == "weekly" and data["visit_count"] == 8
    days = [3, 6, 10, 13, 17, 20, 24, 27]
    assert [(v["starts_at"], v["ends_at"]) for v in data["visits"]] == [(at(d, 9), at(d, 11)) for d in days]
    assert db.session.execute(select(Visit.starts_at).order_by(Visit.starts_at)).scalars().first() == datetime(
        2030, 6, 3, 1, tzinfo=UTC)
    # across the month's end: Friday 28 June, then Monday 1 July
    across = api.post("/invitations", {"purpose": "巡检", "starts_at": at(28, 14), "ends_at": at(28, 15),
                                       "recurrence": {"weekdays": [0, 4], "count": 2}}, make.headers(host)).get_json()
    assert [v["starts_at"] for v in across["visits"]] == [at(28, 14), at(1, 14, month=7)]

    # one completion approves every visit; the host is told once
    token = data["invitation_token"]
    done = api.post(f"/invitations/{token}/complete", person(), make.headers(visitor)).get_json()
    assert {v["status"] for v in done["visits"]} == {"approved"}
    notices = db.session.execute(select(InAppMessage).where(InAppMessage.user_id == host.id)).scalars().all()
    assert len(notices) == 1 and "起共 8 次" in notices[0].body

    # one occurrence cancelled by the visitor; then the host cancels the rest, once
    second = done["visits"][1]["id"]
    one = api.post(f"/visits/{second}/cancel", {"reason": "出差"}, make.headers(visitor))
    assert one.status_code == 200 and one.get_json()["status"] == "cancelled"
    assert [s for _, s in _starts(data["id"])] == ["approved", "cancelled"] + ["approved"] * 6
    assert_error(api.post(f"/visits/{second}/cancel", {}, make.headers(visitor)), 409, "INVALID_TRANSITION")
    visit_clock(datetime(2030, 6, 12, 8, tzinfo=SHANGHAI))  # the first three are over
    rest = api.post(f"/applications/{data['id']}/cancel", {"reason": "项目结束"}, make.headers(host))
    assert rest.status_code == 200
    assert [s for _, s in _starts(data["id"])] == ["approved", "cancelled", "approved"] + ["cancelled"] * 5
    assert count(visitor, "visit_cancelled") == 1
    assert_error(api.post(f"/applications/{data['id']}/cancel", {}, make.headers(host)), 422, "VISIT_WINDOW_PAST")


def test_recurring_request_is_decided_once(client, make, visit_clock):
    visit_clock(NOW)
    api = Api(client)
    host, visitor = make.user(name="赵处长", phone="13800003333"), make.user(kind="visitor")
    body = {**person(), "host_name": "赵处长", "host_phone": "13800003333", "purpose": "维保",
            "starts_at": at(4, 14), "ends_at": at(4, 16), "recurrence": {"weekdays": [1], "count": 4}}
    data = api.post("/applications", body, make.headers(visitor)).get_json()
    assert [v["starts_at"] for v in data["visits"]] == [at(d, 14) for d in (4, 11, 18, 25)]
    assert {v["status"] for v in data["visits"]} == {"pending"}
    assert count(host) == 1
    approved = api.post(f"/applications/{data['id']}/approve", None, make.headers(host)).get_json()
    assert {v["status"] for v in approved["visits"]} == {"approved"}
    assert count(visitor, "visit_approved") == 1


def test_cancelling_revokes_the_pass_and_signals_each_visit(client, make):
    host, visitor, guard = make.user(), make.user(kind="visitor"), make.user("guard", company=make.company("security"))
    start = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=10)
    application = make_visit(make, host, visitor=visitor, windows=[
        (start, start + timedelta(hours=2)), (start + timedelta(days=1), start + timedelta(days=1, hours=2))])
    first = application.visits[0]
    issued = qrpass.issue(rules.VISIT_PASS, first, Principal.for_user(visitor))
    assert qrpass.read(issued["token"]).state == "approved"  # a genuine pass, issued before the cancellation

    seen = []

    def receiver(sender, order, transition, from_state, actor):
        seen.append((sender.order_type, order.id, from_state, transition.target))

    order_transitioned.connect(receiver)
    try:
        resp = client.post(f"{API}/applications/{application.id}/cancel", json={"reason": "临时取消"},
                           headers=make.headers(visitor))
    finally:
        order_transitioned.disconnect(receiver)
    assert resp.status_code == 200, resp.get_json()
    assert sorted(seen) == sorted([("visit", v.id, "approved", "cancelled") for v in application.visits])

    scan = client.post("/api/v1/passes/verify", json={"token": issued["token"]}, headers=make.headers(guard))
    body = assert_error(scan, 409, "INVALID_TRANSITION")
    assert body["details"]["current"] == "cancelled"
    db.session.expire_all()
    assert db.session.get(Visit, first.id).checked_in_at is None


def test_rejecting_revokes_a_pending_visits_timeline(client, make, visit_clock):
    """Rejection is a revoking state too: the signal carries `rejected` for each visit."""
    visit_clock(NOW)
    host, visitor = make.user(), make.user(kind="visitor")
    application = make_visit(make, host, visitor=visitor, status="pending", windows=[
        (datetime(2030, 6, 4, 9, tzinfo=SHANGHAI), datetime(2030, 6, 4, 10, tzinfo=SHANGHAI))])
    seen = []

    def receiver(sender, order, transition, from_state, actor):
        seen.append(transition.target)

    order_transitioned.connect(receiver)
    try:
        resp = client.post(f"{API}/applications/{application.id}/reject", json={"reason": "不便接待"},
                           headers=make.headers(host))
    finally:
        order_transitioned.disconnect(receiver)
    assert resp.status_code == 200 and seen == ["rejected"]
    assert set(seen) <= set(rules.REVOKED_STATES)


def test_two_visitors_race_for_one_invitation(client, make):
    host = make.user()
    start = (utcnow() + timedelta(days=1)).astimezone(SHANGHAI).replace(hour=9, minute=0, second=0, microsecond=0)
    resp = client.post(f"{API}/invitations", json={"purpose": "来访", "starts_at": start.isoformat(),
                                                   "ends_at": (start + timedelta(hours=1)).isoformat()},
                       headers=make.headers(host))
    assert resp.status_code == 201, resp.get_json()
    token = resp.get_json()["invitation_token"]
    visitors = [make.user(kind="visitor") for _ in range(3)]
    calls = [(make.token(v), f"/visitors/invitations/{token}/complete", person()) for v in visitors]
    outcomes = run_at_once(post_worker, calls)
    assert sorted(status for status, _ in outcomes) == [200, 409, 409], outcomes
    assert {code for status, code in outcomes if status == 409} == {"VISIT_INVITATION_USED"}
    db.session.expire_all()
    application = db.session.get(VisitApplication, resp.get_json()["id"])
    assert application.visitor_user_id in {v.id for v in visitors}
    assert {v.user_id for v in application.visits} == {application.visitor_user_id}
    assert db.session.execute(select(VisitorConsent)).scalars().all().__len__() == 1
