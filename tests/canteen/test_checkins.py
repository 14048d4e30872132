"""Clean-plate check-ins: the rules and their codes, the photo, points paid once (also from two
processes at once), sampling, and the review (approve / reject with points reversed and the
reason told to the diner)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auth import Principal
from app.errors import AppError
from app.extensions import db
from blueprints.canteen import checkins
from blueprints.points import service as points
from models.attachments import Attachment
from models.canteen import CleanPlateCheckin
from models.notifications import InAppMessage
from models.points import PointsTransaction
from tests.canteen.conftest import build_kitchen
from tests.canteen.waste_helpers import DAY, LUNCH_TIME, add_station, at, booking, checkin_worker, photo, scene_of
from tests.support.procs import run_at_once

API = "/api/v1/canteen"
ACCEPT = lambda: 0.99  # noqa: E731  (a sampler that never samples at rate 0.05)
SAMPLE = lambda: 0.01  # noqa: E731


def P(user) -> Principal:
    return Principal.for_user(user)


@pytest.fixture
def station(kitchen):
    return add_station(kitchen)


@pytest.fixture
def diner(make):
    return make.user(department=make.department("办公室"))


def code_of(call) -> str:
    with pytest.raises(AppError) as info:
        call()
    db.session.rollback()
    return info.value.code


def test_check_in_pays_points_and_binds_the_photo(app, client, make, kitchen, station, diner, monkeypatch):
    meal = booking(kitchen, diner)
    plate = photo(diner)
    monkeypatch.setattr(checkins, "utcnow", lambda: LUNCH_TIME)
    monkeypatch.setitem(app.config, "CANTEEN_CHECKIN_SAMPLE_RATE", 0.0)
    resp = client.post(f"{API}/checkins", headers=make.headers(diner),
                       json={"booking_id": meal.id, "scene": scene_of(station), "attachment_id": plate.id})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    db.session.expire_all()
    assert (body["status"], body["points_awarded"], body["meal"], body["day"]) == ("accepted", 2, "lunch",
                                                                                   DAY.isoformat())
    assert body["photo"]["id"] == plate.id
    assert points.balance(diner.id) == 2
    tx = points.find(f"meal_checkin:{body['id']}")
    assert tx.amount == 2 and db.session.get(CleanPlateCheckin, body["id"]).points_transaction_id == tx.id
    stored = db.session.get(Attachment, plate.id)
    assert (stored.order_type, stored.order_id) == ("meal_booking", meal.id)
    # the canteen's counter worker sees the photo through the booking; another diner does not
    assert client.get(f"/api/v1/attachments/{plate.id}/thumbnail", headers=make.headers(kitchen.worker)
                      ).status_code == 200
    assert client.get(f"/api/v1/attachments/{plate.id}", headers=make.headers(make.user())).status_code == 404
    # the diner's list
    mine = client.get(f"{API}/checkins/mine", headers=make.headers(diner)).get_json()
    assert [c["id"] for c in mine["items"]] == [body["id"]] and mine["items"][0]["status_label"] == "已通过"
    # again: refused, still one award
    again = client.post(f"{API}/checkins", headers=make.headers(diner),
                        json={"booking_id": meal.id, "scene": scene_of(station), "attachment_id": photo(diner).id})
    assert again.status_code == 409 and again.get_json()["code"] == "CANTEEN_CHECKIN_EXISTS"
    assert again.get_json()["details"]["checkin_id"] == body["id"]
    assert points.balance(diner.id) == 2


def test_each_rule_has_its_code(make, kitchen, station, diner):
    other = build_kitchen(make, "第二食堂")
    other_station = add_station(other)
    scene = scene_of(station)

    def attempt(meal, scene=scene, now=LUNCH_TIME, user=diner, attachment=None):
        attachment = attachment or photo(diner)
        return lambda: checkins.check_in(P(user), meal.id, scene, attachment.id, now=now, sample=ACCEPT)

    for n, status in enumerate(("booked", "cancelled", "no_show"), 1):
        meal = booking(kitchen, diner, status=status, day=DAY - timedelta(days=n))
        assert code_of(attempt(meal)) == "CANTEEN_CHECKIN_NOT_SERVED"
    meal = booking(kitchen, diner, slot=kitchen.dinner)
    dinner_time = at(DAY, 18, 30)
    for wrong in (scene_of(other_station), "p=999999", "p=0", "x=1", "garbage", f"p={kitchen.canteen.place_id}"):
        assert code_of(attempt(meal, scene=wrong, now=dinner_time)) == "CANTEEN_CHECKIN_WRONG_STATION", wrong
    # window: from serving start to serve_end + grace (19:00 + 60 min), end excluded
    assert code_of(attempt(meal, now=at(DAY, 17, 29))) == "CANTEEN_CHECKIN_WINDOW_CLOSED"
    assert code_of(attempt(meal, now=at(DAY, 20, 0))) == "CANTEEN_CHECKIN_WINDOW_CLOSED"
    assert code_of(attempt(meal, now=at(DAY + timedelta(days=1), 18, 0))) == "CANTEEN_CHECKIN_WINDOW_CLOSED"
    # someone else's booking is not found; so is an unknown one
    assert code_of(attempt(meal, user=make.user(), now=dinner_time)) == "NOT_FOUND"
    # the photo must be the diner's own unbound check-in upload
    assert code_of(attempt(meal, now=dinner_time, attachment=photo(make.user()))) == "ATTACHMENT_INVALID"
    assert code_of(attempt(meal, now=dinner_time, attachment=photo(diner, purpose="repair"))) == "ATTACHMENT_INVALID"
    assert db.session.execute(select(CleanPlateCheckin)).first() is None
    assert points.balance(diner.id) == 0
    # the last minute of the window is fine
    done = checkins.check_in(P(diner), meal.id, scene, photo(diner).id, now=at(DAY, 19, 59), sample=ACCEPT)
    db.session.commit()
    assert done.status == "accepted"
    # a canteen without a station: no code can match
    meal_other = booking(other, diner, day=DAY - timedelta(days=7))
    other.canteen.tray_station_id = None
    db.session.commit()
    assert code_of(lambda: checkins.check_in(P(diner), meal_other.id, scene_of(other_station), photo(diner).id,
                                             now=LUNCH_TIME - timedelta(days=7), sample=ACCEPT)
                   ) == "CANTEEN_CHECKIN_WRONG_STATION"


def test_a_reused_photo_is_refused(make, kitchen, station, diner, client, monkeypatch, app):
    first = checkins.check_in(P(diner), booking(kitchen, diner, day=DAY - timedelta(days=1)).id, scene_of(station),
                              photo(diner, seed=7).id, now=LUNCH_TIME - timedelta(days=1), sample=ACCEPT)
    db.session.commit()
    meal = booking(kitchen, diner)
    same_picture = photo(diner, seed=7)  # a new upload of the same image: same content hash
    assert same_picture.sha256 == db.session.get(Attachment, first.photo_id).sha256
    monkeypatch.setattr(checkins, "utcnow", lambda: LUNCH_TIME)
    resp = client.post(f"{API}/checkins", headers=make.headers(diner),
                       json={"booking_id": meal.id, "scene": scene_of(station), "attachment_id": same_picture.id})
    assert resp.status_code == 409 and resp.get_json()["code"] == "CANTEEN_CHECKIN_PHOTO_REUSED"
    db.session.expire_all()
    assert db.session.get(Attachment, same_picture.id).order_id is None  # nothing bound
    # also when another diner sends the same picture
    other = make.user()
    assert code_of(lambda: checkins.check_in(P(other), booking(kitchen, other).id, scene_of(station),
                                             photo(other, seed=7).id, now=LUNCH_TIME, sample=ACCEPT)
                   ) == "CANTEEN_CHECKIN_PHOTO_REUSED"
    assert points.balance(diner.id) == 2 and points.balance(other.id) == 0


def test_sampling_and_the_daily_cap(app, make, kitchen, station, diner):
    assert app.config["CANTEEN_CHECKIN_SAMPLE_RATE"] == 0.05
    scene = scene_of(station)
    b = checkins.check_in(P(diner), booking(kitchen, diner, slot=kitchen.breakfast).id, scene, photo(diner).id,
                          now=at(DAY, 8, 0), sample=lambda: 0.0499)
    lunch = checkins.check_in(P(diner), booking(kitchen, diner).id, scene, photo(diner).id, now=LUNCH_TIME,
                              sample=lambda: 0.05)
    dinner = checkins.check_in(P(diner), booking(kitchen, diner, slot=kitchen.dinner).id, scene, photo(diner).id,
                               now=at(DAY, 18, 0), sample=ACCEPT)
    db.session.commit()
    assert [c.status for c in (b, lunch, dinner)] == ["pending_review", "accepted", "accepted"]
    # points at once for sampled ones too; the rule pays at most 4 a day: the third meal earns nothing
    assert [checkins.points_awarded(c) for c in (b, lunch, dinner)] == [2, 2, 0]
    assert dinner.points_transaction_id is None and points.balance(diner.id) == 4


def _pending(kitchen, station, diner, day=DAY):
    checkin = checkins.check_in(P(diner), booking(kitchen, diner, day=day).id, scene_of(station), photo(diner).id,
                                now=at(day, 12, 40), sample=SAMPLE)
    db.session.commit()
    return checkin


def test_review_queue_approve_and_reject(client, make, kitchen, station, diner):
    other_kitchen = build_kitchen(make, "第二食堂")
    add_station(other_kitchen)
    pending = _pending(kitchen, station, diner)
    second = _pending(kitchen, station, diner, day=DAY - timedelta(days=1))
    accepted = checkins.check_in(P(diner), booking(kitchen, diner, day=DAY - timedelta(days=2)).id,
                                 scene_of(station), photo(diner).id, now=at(DAY - timedelta(days=2), 12), sample=ACCEPT)
    db.session.commit()
    assert points.balance(diner.id) == 6

    queue = client.get(f"{API}/checkins/review?canteen_id={kitchen.canteen.id}", headers=make.headers(kitchen.worker))
    assert queue.status_code == 200
    items = queue.get_json()["items"]
    assert [i["id"] for i in items] == [pending.id, second.id]
    assert items[0]["user_name"] == diner.name and items[0]["photo"]["thumbnail_url"].endswith("/thumbnail")
    # the other canteen's operator, a diner: not found; an auditor reads
    for outsider in (other_kitchen.manager, diner):
        resp = client.get(f"{API}/checkins/review?canteen_id={kitchen.canteen.id}", headers=make.headers(outsider))
        assert resp.status_code == 404
    assert client.get(f"{API}/checkins/review?canteen_id={kitchen.canteen.id}",
                      headers=make.headers(make.user("auditor"))).status_code == 200

    # reject: reason required, points reversed, the diner told why
    url = f"{API}/checkins/{pending.id}/reject"
    assert client.post(url, headers=make.headers(kitchen.worker), json={"reason": "  "}).status_code == 422
    assert client.post(f"{API}/checkins/{pending.id}/reject", headers=make.headers(other_kitchen.manager),
                       json={"reason": "x"}).status_code == 404
    assert client.post(url, headers=make.headers(diner), json={"reason": "x"}).status_code == 403
    assert client.post(url, headers=make.headers(make.user("auditor")), json={"reason": "x"}).status_code == 403
    resp = client.post(url, headers=make.headers(kitchen.worker), json={"reason": "照片不是空盘"})
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["status"], resp.get_json()["points_reversed"]) == ("rejected", True)
    assert points.balance(diner.id) == 4
    db.session.expire_all()
    reversal = db.session.execute(select(PointsTransaction).where(
        PointsTransaction.reverses_id == pending.points_transaction_id)).scalar_one()
    assert reversal.amount == -2 and "照片不是空盘" in reversal.note
    message = db.session.execute(select(InAppMessage).where(InAppMessage.user_id == diner.id,
                                                            InAppMessage.template == "canteen_checkin_rejected")
                                 ).scalar_one()
    assert "照片不是空盘" in message.body and "撤销 2 积分" in message.body and kitchen.canteen.name in message.body
    mine = client.get(f"{API}/checkins/mine", headers=make.headers(diner)).get_json()["items"]
    rejected = next(c for c in mine if c["id"] == pending.id)
    assert (rejected["status_label"], rejected["reject_reason"]) == ("抽检未通过", "照片不是空盘")

    # a second decision on the same check-in: one wins
    for path, body in (("reject", {"reason": "再次"}), ("approve", None)):
        again = client.post(f"{API}/checkins/{pending.id}/{path}", headers=make.headers(kitchen.manager), json=body)
        assert again.status_code == 409 and again.get_json()["code"] == "CANTEEN_CHECKIN_NOT_PENDING"
        assert again.get_json()["details"]["status"] == "rejected"
    assert points.balance(diner.id) == 4
    # approve: points stay; an accepted (not sampled) one is not pending
    ok = client.post(f"{API}/checkins/{second.id}/approve", headers=make.headers(make.user("admin")))
    assert ok.status_code == 200 and ok.get_json()["status"] == "approved"
    assert client.post(f"{API}/checkins/{accepted.id}/approve", headers=make.headers(kitchen.worker)
                       ).get_json()["code"] == "CANTEEN_CHECKIN_NOT_PENDING"
    assert points.balance(diner.id) == 4
    assert client.get(f"{API}/checkins/review?canteen_id={kitchen.canteen.id}",
                      headers=make.headers(kitchen.worker)).get_json()["items"] == []


def test_reject_after_the_points_were_spent(make, kitchen, station, diner):
    pending = _pending(kitchen, station, diner)
    points.spend(diner.id, 2, "redemption:1")
    db.session.commit()
    checkins.reject(P(kitchen.worker), pending.id, "不是空盘", now=at(DAY, 15))
    db.session.commit()
    assert db.session.get(CleanPlateCheckin, pending.id).status == "rejected"
    assert not checkins.points_reversed(pending) and points.balance(diner.id) == 0
    message = db.session.execute(select(InAppMessage).where(InAppMessage.template == "canteen_checkin_rejected")
                                 ).scalar_one()
    assert "撤销 0 积分" in message.body


@pytest.mark.parametrize("race", [False, True], ids=["look-up", "constraint"])
def test_two_processes_checking_in_one_booking(make, kitchen, station, diner, race):
    meal = booking(kitchen, diner)
    photos = [photo(diner), photo(diner)]
    outcomes = run_at_once(checkin_worker, [(diner.id, meal.id, scene_of(station), p.id, LUNCH_TIME.isoformat(), race)
                                            for p in photos])
    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    assert [value for kind, value in outcomes if kind == "error"] == ["CANTEEN_CHECKIN_EXISTS"]
    rows = db.session.execute(select(CleanPlateCheckin)).scalars().all()
    assert len(rows) == 1
    ledger = db.session.execute(select(PointsTransaction).where(PointsTransaction.user_id == diner.id)).scalars().all()
    assert [(t.reference, t.amount) for t in ledger] == [(f"meal_checkin:{rows[0].id}", 2)]
    assert points.balance(diner.id) == 2
    db.session.expire_all()
    bound = [a.id for a in photos if db.session.get(Attachment, a.id).order_id is not None]
    assert bound == [rows[0].photo_id]  # the loser's photo stays unbound (purged later)
