"""The waitlist for a taken slot: joining, offers on every kind of release (cancel, reject,
lapse, no-show), one offer at a time, expiry to the next in line, accepting."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.auth import Principal
from app.extensions import db
from blueprints.rooms import booking as bookings
from blueprints.rooms import loop, waitlist
from models.notifications import InAppMessage
from models.rooms import RoomBlackout, RoomBooking, RoomSuspension, RoomWaitlist
from tests.rooms.conftest import at, book, make_room
from tests.support.procs import run_at_once

NOW = at(2030, 6, 3, 8)  # a Monday


@pytest.fixture(autouse=True)
def _clock(room_clock):
    room_clock(NOW)


def _messages(user, template="room_waitlist_offer"):
    return db.session.execute(select(InAppMessage).where(InAppMessage.user_id == user.id,
                                                         InAppMessage.template == template)).scalars().all()


def _entry(room, user, start, end, **values) -> RoomWaitlist:
    entry = RoomWaitlist(room_id=room.id, user_id=user.id, start_at=start, end_at=end, subject="候补会",
                         attendee_count=3, **values)
    db.session.add(entry)
    db.session.commit()
    return entry


def _status(entry) -> str:
    db.session.expire_all()
    return db.session.get(RoomWaitlist, entry.id).status


def _body(room, start="2030-06-03T14:00:00+08:00", end="2030-06-03T15:00:00+08:00", **extra):
    return {"room_id": room.id, "start_at": start, "end_at": end, "subject": "候补会", "attendee_count": 3, **extra}


def test_join_only_a_taken_range_once(client, make, room):
    holder, alice, bob = make.user(), make.user(), make.user()
    book(room, holder, at(2030, 6, 3, 14), at(2030, 6, 3, 16))
    url, headers = "/api/v1/rooms/waitlist", make.headers(alice)
    free = client.post(url, json=_body(room, "2030-06-03T10:00:00+08:00", "2030-06-03T11:00:00+08:00"),
                       headers=headers)
    assert free.status_code == 409 and free.get_json() == {
        "code": "ROOM_WAITLIST_SLOT_FREE", "message": "该时段空闲，可直接预订", "details": {}}
    past = client.post(url, json=_body(room, "2030-06-02T14:00:00+08:00", "2030-06-02T15:00:00+08:00"),
                       headers=headers)
    assert past.status_code == 422 and past.get_json()["code"] == "ROOM_IN_PAST"
    closed = client.post(url, json=_body(room, "2030-06-03T20:30:00+08:00", "2030-06-03T21:30:00+08:00"),
                         headers=headers)
    assert closed.status_code == 422 and closed.get_json()["code"] == "ROOM_OUTSIDE_HOURS"
    crowd = client.post(url, json=_body(room, attendee_count=room.capacity + 1), headers=headers)
    assert crowd.status_code == 422 and crowd.get_json()["code"] == "ROOM_CAPACITY_EXCEEDED"
    naive = client.post(url, json=_body(room, "2030-06-03T14:00:00", "2030-06-03T15:00:00"), headers=headers)
    assert naive.status_code == 422
    joined = client.post(url, json=_body(room), headers=headers)
    assert joined.status_code == 201 and joined.get_json()["status"] == "waiting"
    again = client.post(url, json=_body(room), headers=headers)
    assert again.status_code == 409 and again.get_json()["code"] == "ROOM_WAITLIST_EXISTS"
    assert client.post(url, json=_body(room), headers=make.headers(bob)).status_code == 201
    mine = client.get(url, headers=headers).get_json()
    assert [(e["id"], e["room_name"], e["start_at"]) for e in mine["items"]] == [
        (joined.get_json()["id"], room.name, "2030-06-03T14:00:00+08:00")]
    # a blackout over the range: refused like a booking
    db.session.add(RoomBlackout(room_id=room.id, starts_at=at(2030, 6, 4, 0), ends_at=at(2030, 6, 5, 0),
                                reason="设备检修"))
    db.session.commit()
    dark = client.post(url, json=_body(room, "2030-06-04T09:00:00+08:00", "2030-06-04T10:00:00+08:00"),
                       headers=headers)
    assert dark.status_code == 409 and dark.get_json()["code"] == "ROOM_BLACKOUT"


def test_a_suspended_person_cannot_join(client, make, room):
    alice = make.user()
    book(room, make.user(), at(2030, 6, 3, 14), at(2030, 6, 3, 16))
    db.session.add(RoomSuspension(user_id=alice.id, starts_at=at(2030, 6, 1), ends_at=at(2030, 6, 15),
                                  reason="30天内3次预订会议室未签到", no_shows=3))
    db.session.commit()
    refused = client.post("/api/v1/rooms/waitlist", json=_body(room), headers=make.headers(alice))
    assert refused.status_code == 403 and refused.get_json()["code"] == "ROOM_SUSPENDED"


def test_offer_on_cancel_then_expiry_moves_to_the_next_who_accepts(client, make, room, room_clock):
    holder, first, second = make.user(), make.user(), make.user()
    taken = book(room, holder, at(2030, 6, 3, 14), at(2030, 6, 3, 16))
    one = client.post("/api/v1/rooms/waitlist", json=_body(room), headers=make.headers(first)).get_json()
    two = client.post("/api/v1/rooms/waitlist", json=_body(room), headers=make.headers(second)).get_json()
    early = client.post(f"/api/v1/rooms/waitlist/{one['id']}/accept", headers=make.headers(first))
    assert early.status_code == 409 and early.get_json()["code"] == "ROOM_WAITLIST_NOT_OFFERED"
    cancelled = client.post(f"/api/v1/rooms/bookings/{taken.id}/cancel", json={}, headers=make.headers(holder))
    assert cancelled.status_code == 200
    offered = db.session.get(RoomWaitlist, one["id"])
    assert offered.status == "offered" and offered.offer_expires_at == at(2030, 6, 3, 8, 30)
    told = _messages(first)
    assert len(told) == 1 and "08:30 前确认预订" in told[0].body and room.name in told[0].body
    assert _status(offered) == "offered" and db.session.get(RoomWaitlist, two["id"]).status == "waiting"
    assert not _messages(second)

    room_clock(at(2030, 6, 3, 8, 30))  # the offer has run out, the sweep has not run yet
    late = client.post(f"/api/v1/rooms/waitlist/{one['id']}/accept", headers=make.headers(first))
    assert late.status_code == 409 and late.get_json()["code"] == "ROOM_WAITLIST_NOT_OFFERED"
    assert loop.run_deadlines(now=at(2030, 6, 3, 8, 30)) == 1
    assert _status(offered) == "expired"
    nxt = db.session.get(RoomWaitlist, two["id"])
    assert nxt.status == "offered" and nxt.offer_expires_at == at(2030, 6, 3, 9)
    assert len(_messages(second)) == 1
    assert loop.run_deadlines(now=at(2030, 6, 3, 8, 31)) == 0

    accepted = client.post(f"/api/v1/rooms/waitlist/{two['id']}/accept", headers=make.headers(second))
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "booked"
    made = db.session.get(RoomBooking, accepted.get_json()["booking_id"])
    assert (made.user_id, made.subject, made.start_at, made.end_at, made.status) == (
        second.id, "候补会", at(2030, 6, 3, 14), at(2030, 6, 3, 15), "approved")
    again = client.post(f"/api/v1/rooms/waitlist/{two['id']}/accept", headers=make.headers(second))
    assert again.get_json()["code"] == "ROOM_WAITLIST_NOT_OFFERED"


def test_accept_when_someone_was_faster_is_a_conflict_and_books_nothing(client, make, room):
    alice = make.user()
    entry = _entry(room, alice, at(2030, 6, 3, 14), at(2030, 6, 3, 15), status="offered",
                   offer_expires_at=at(2030, 6, 3, 8, 30))
    book(room, make.user(), at(2030, 6, 3, 14, 30), at(2030, 6, 3, 15, 30))
    resp = client.post(f"/api/v1/rooms/waitlist/{entry.id}/accept", headers=make.headers(alice))
    assert resp.status_code == 409 and resp.get_json()["code"] == "ROOM_TIME_CONFLICT"
    assert resp.get_json()["details"]["conflicts"][0]["start_at"] == "2030-06-03T14:30:00+08:00"
    assert _status(entry) == "offered"
    assert db.session.execute(select(RoomBooking).where(RoomBooking.user_id == alice.id)).first() is None


def test_giving_up_an_offer_passes_it_on(client, make, room):
    first, second = make.user(), make.user()
    one = _entry(room, first, at(2030, 6, 3, 14), at(2030, 6, 3, 15), status="offered",
                 offer_expires_at=at(2030, 6, 3, 8, 30))
    two = _entry(room, second, at(2030, 6, 3, 14), at(2030, 6, 3, 15))
    resp = client.post(f"/api/v1/rooms/waitlist/{one.id}/cancel", headers=make.headers(first))
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert _status(two) == "offered" and len(_messages(second)) == 1


def test_every_release_offers_whoever_made_it(make, room_clock):
    """Reject (an approver), lapse (the sweep), no-show (the sweep): the lifecycle receiver."""
    alice, waiting, admin = make.user(), make.user(), make.user("admin")
    approval_room, room = make_room(make, approval="room"), make_room(make)
    rejected = book(approval_room, alice, at(2030, 6, 3, 14), at(2030, 6, 3, 15), status="pending")
    lapsing = book(approval_room, alice, at(2030, 6, 3, 16), at(2030, 6, 3, 17), status="pending",
                   approval_deadline=at(2030, 6, 3, 9))
    no_show = book(room, alice, at(2030, 6, 3, 9), at(2030, 6, 3, 10))
    entries = [_entry(approval_room, waiting, at(2030, 6, 3, 14), at(2030, 6, 3, 15)),
               _entry(approval_room, waiting, at(2030, 6, 3, 16), at(2030, 6, 3, 17)),
               _entry(room, waiting, at(2030, 6, 3, 9, 30), at(2030, 6, 3, 10))]
    bookings.reject(Principal.for_user(admin), rejected.id, "与领导会议冲突", now=NOW)
    db.session.commit()
    assert [_status(e) for e in entries] == ["offered", "waiting", "waiting"]
    room_clock(at(2030, 6, 3, 9, 15))  # the receiver reads the clock
    loop.run_deadlines()
    # the rejection's offer ran out at 08:30 meanwhile; the lapse and the no-show made theirs
    assert [_status(e) for e in entries] == ["expired", "offered", "offered"]
    assert {db.session.get(RoomBooking, b.id).status for b in (lapsing, no_show)} == {"lapsed", "no_show"}
    assert len(_messages(waiting)) == 3
    # a second release of a range already offered offers nothing more
    assert waitlist.offer_freed(room.id, no_show.start_at, no_show.end_at, now=at(2030, 6, 3, 9, 16)) == 0


def test_only_an_entry_whose_own_range_is_free_is_offered(make):
    """Buffer and blackouts count: the oldest entry that fits wins, not simply the oldest."""
    room = make_room(make, buffer_minutes=15)
    alice, bob, first, second = make.user(), make.user(), make.user(), make.user()
    a = book(room, alice, at(2030, 6, 3, 9), at(2030, 6, 3, 10))  # blocks until 10:15
    b = book(room, bob, at(2030, 6, 3, 10, 15), at(2030, 6, 3, 11))  # blocks 10:15-11:15
    wants_both = _entry(room, first, at(2030, 6, 3, 9, 30), at(2030, 6, 3, 10, 30))
    wants_a = _entry(room, second, at(2030, 6, 3, 9), at(2030, 6, 3, 9, 55))
    bookings.cancel(Principal.for_user(alice), a.id, now=NOW)
    db.session.commit()
    # 9:30-10:30 would end inside b's time (10:30 + 15 min buffer > 10:15): not free; 9:00-9:55 is
    assert (_status(wants_both), _status(wants_a)) == ("waiting", "offered")
    db.session.add(RoomBlackout(room_id=room.id, starts_at=at(2030, 6, 3, 10), ends_at=at(2030, 6, 3, 10, 10),
                                reason="保洁"))
    db.session.execute(update(RoomWaitlist).where(RoomWaitlist.id == wants_a.id).values(status="cancelled"))
    db.session.commit()
    bookings.cancel(Principal.for_user(bob), b.id, now=NOW)
    db.session.commit()
    assert _status(wants_both) == "waiting"  # the blackout
    db.session.execute(update(RoomBlackout).values(starts_at=at(2030, 6, 3, 12), ends_at=at(2030, 6, 3, 13)))
    db.session.commit()
    assert waitlist.offer_freed(room.id, at(2030, 6, 3, 9), at(2030, 6, 3, 11, 15), now=NOW) == 1
    assert _status(wants_both) == "offered"


def test_waiting_entries_expire_when_their_start_passes(make, room):
    entry = _entry(room, make.user(), at(2030, 6, 3, 9), at(2030, 6, 3, 10))
    assert loop.run_deadlines(now=at(2030, 6, 3, 8, 59)) == 0
    assert loop.run_deadlines(now=at(2030, 6, 3, 9)) == 1
    assert _status(entry) == "expired"


def _offer_worker(room_id, start_iso, end_iso, barrier, results):
    try:
        from datetime import datetime

        from app.extensions import db as pdb
        from blueprints.rooms import waitlist as pwaitlist
        from tests.support.procs import app_from_env

        app = app_from_env()
        with app.app_context():
            pdb.session.execute(select(1))  # connected before the race
            start, end = datetime.fromisoformat(start_iso), datetime.fromisoformat(end_iso)
            barrier.wait(timeout=60)
            made = pwaitlist.offer_freed(room_id, start, end, now=datetime.fromisoformat(NOW.isoformat()))
            pdb.session.commit()
            results.put(made)
    except Exception as exc:  # report, never leave the parent waiting
        results.put(repr(exc))


def test_releases_at_once_from_several_processes_make_one_offer(make, room):
    """Two neighbouring bookings cancelled at the same moment, each release handled by two
    processes; two people wait for overlapping ranges, each freed by a different release.
    The room's lock and the live-offer check make exactly one offer (not one per release)."""
    holder, first, second = make.user(), make.user(), make.user()
    for start, end in ((at(2030, 6, 3, 14), at(2030, 6, 3, 14, 30)), (at(2030, 6, 3, 14, 30), at(2030, 6, 3, 16))):
        book(room, holder, start, end)
    entries = [_entry(room, first, at(2030, 6, 3, 14), at(2030, 6, 3, 14, 30)),
               _entry(room, second, at(2030, 6, 3, 14, 15), at(2030, 6, 3, 15))]
    db.session.execute(update(RoomBooking).values(status="cancelled"))
    db.session.commit()
    ranges = [(at(2030, 6, 3, 14), at(2030, 6, 3, 14, 30)), (at(2030, 6, 3, 14, 30), at(2030, 6, 3, 16))]
    outcomes = run_at_once(_offer_worker, [(room.id, s.isoformat(), e.isoformat()) for s, e in ranges * 2])
    assert sorted(outcomes) == [0, 0, 0, 1], outcomes
    assert sorted(_status(e) for e in entries) == ["offered", "waiting"]
    assert len(_messages(first)) + len(_messages(second)) == 1
