"""Booking races against the live app: gunicorn with 3 worker processes, requests released
together from threads. The server runs on the real clock, so the slot is set up to be open
whatever the time: served every day 23:00-23:59, cut-off at serving start, opening 7 days
ahead; the meal booked is tomorrow's (Asia/Shanghai)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import time, timedelta

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.timeutil import local, utcnow
from models.canteen import MealBooking, Special
from tests.canteen.conftest import build_kitchen
from tests.support.live import Live, run_gunicorn, server_env

URL = "/api/v1/canteen/bookings"


class BookingLive(Live):
    def post(self, path: str, json: dict, token: str, headers: dict | None = None) -> requests.Response:
        return self.http.post(self.url + path, json=json, timeout=30,
                              headers={"Authorization": f"Bearer {token}", **(headers or {})})


@pytest.fixture(scope="module")
def live(server_urls, tmp_path_factory):
    with run_gunicorn("app:create_app()", 3, server_env(), tmp_path_factory.mktemp("canteen-live"),
                      live_class=BookingLive) as server:
        yield server


@pytest.fixture
def open_slot(make):
    kitchen = build_kitchen(make)
    slot = kitchen.lunch
    slot.serving_days, slot.serve_start, slot.serve_end = "every_day", time(23, 0), time(23, 59)
    slot.cutoff_kind, slot.cutoff_minutes, slot.open_days_ahead = "before_start", 0, 7
    db.session.commit()
    return slot, local(utcnow()).date() + timedelta(days=1)


def _all_at_once(n: int, fn) -> list[requests.Response]:
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=30)
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _count(**where) -> int:
    db.session.expire_all()
    stmt = select(func.count(MealBooking.id))
    for column, value in where.items():
        stmt = stmt.where(getattr(MealBooking, column) == value)
    return db.session.execute(stmt).scalar_one()


def test_special_is_never_oversold(live, make, open_slot):
    slot, day = open_slot
    n, k = 16, 5
    special = Special(slot_id=slot.id, day=day, kind="birthday", name="生日长寿面", portions_total=k,
                      portions_left=k, opens_at=utcnow() - timedelta(hours=1))
    db.session.add(special)
    db.session.commit()
    tokens = [make.token(make.user()) for _ in range(n)]
    body = {"slot_id": slot.id, "day": day.isoformat(), "special_id": special.id}
    answers = _all_at_once(n, lambda i: live.post(URL, body, tokens[i]))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * k + [409] * (n - k), [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"CANTEEN_SPECIAL_SOLD_OUT"}
    db.session.expire_all()
    assert db.session.get(Special, special.id).portions_left == 0
    assert _count(special_id=special.id) == k
    assert {a.json()["id"] for a in answers if a.status_code == 201} == set(db.session.execute(
        select(MealBooking.id).where(MealBooking.special_id == special.id)).scalars())
    assert len(live.worker_pids(URL)) >= 2  # the race spanned processes


def test_one_person_booking_twice_at_once_gets_one_booking(live, make, open_slot):
    slot, day = open_slot
    user = make.user()
    token = make.token(user)
    body = {"slot_id": slot.id, "day": day.isoformat()}
    answers = _all_at_once(6, lambda i: live.post(URL, body, token))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 5, [a.text for a in answers]
    winner = next(a.json()["id"] for a in answers if a.status_code == 201)
    for loser in (a.json() for a in answers if a.status_code == 409):
        assert loser["code"] == "CANTEEN_ALREADY_BOOKED" and loser["details"]["booking_id"] == winner
    assert _count(user_id=user.id) == 1


def test_same_idempotency_key_at_once_books_once(live, make, open_slot):
    slot, day = open_slot
    user = make.user()
    token = make.token(user)
    body = {"slot_id": slot.id, "day": day.isoformat()}
    answers = _all_at_once(6, lambda i: live.post(URL, body, token, {"Idempotency-Key": "tap-once"}))
    ok = [a for a in answers if a.status_code == 201]
    assert ok and all(a.status_code in (201, 409) for a in answers), [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} <= {"IDEMPOTENCY_IN_PROGRESS"}
    assert len({a.json()["id"] for a in ok}) == 1
    assert _count(user_id=user.id) == 1
    # A retry after the race replays the one answer.
    again = live.post(URL, body, token, {"Idempotency-Key": "tap-once"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == ok[0].json()["id"]


def test_capacity_holds_across_processes(live, make, open_slot):
    slot, day = open_slot
    slot.capacity = 4
    db.session.commit()
    tokens = [make.token(make.user()) for _ in range(12)]
    body = {"slot_id": slot.id, "day": day.isoformat()}
    answers = _all_at_once(12, lambda i: live.post(URL, body, tokens[i]))
    assert sorted(a.status_code for a in answers) == [201] * 4 + [409] * 8, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"CANTEEN_FULL"}
    assert _count(slot_id=body["slot_id"], day=day) == 4
