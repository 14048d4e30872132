"""The booking request's cost: the 201 body is the booking as GET shows it, built without
re-reading what the request already holds, in a bounded number of SQL statements."""

from __future__ import annotations

from datetime import date

from sqlalchemy import event

from app.extensions import db
from tests.canteen.test_booking import WED, at, special

# Token (fresh), key lock + lookup + insert + response, slot with canteen, the calendar's year (a
# workday slot), suspension, live booking, savepoint, booking, release, timeline row: 13 (was 20);
# one more (the special's row) with a special.
MAX_STATEMENTS = 13


class _Counter:
    def __init__(self, engine):
        self.engine, self.statements = engine, []

    def _on(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._on)


def _book(client, make, kitchen, key, **extra):
    headers = {**make.headers(make.user()), "Idempotency-Key": key}
    body = {"slot_id": kitchen.lunch.id, "day": WED.isoformat(), **extra}
    with _Counter(db.engine) as counter:
        resp = client.post("/api/v1/canteen/bookings", headers=headers, json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp, headers, counter.statements


def test_created_body_equals_the_booking_read_back(client, make, kitchen, booking_clock):
    booking_clock(at(date(2026, 6, 2), 10))
    sp = special(kitchen.lunch, WED, portions=3)
    for key, extra in (("plain", {}), ("with-special", {"special_id": sp.id})):
        created, headers, statements = _book(client, make, kitchen, key, **extra)
        body = created.get_json()
        assert [t["transition"] for t in body["timeline"]] == ["create"]
        assert body["timeline"][0]["actor_name"] and body["canteen"]["name"]
        assert (body["special"] or {}).get("id") == extra.get("special_id")
        read = client.get(f"/api/v1/canteen/bookings/{body['id']}",
                          headers={"Authorization": headers["Authorization"]})
        assert read.get_json() == body
        assert len(statements) <= MAX_STATEMENTS + bool(extra), "\n".join(statements)
        assert not any("pg_advisory_unlock" in s or "pg_try_advisory_lock(" in s for s in statements)
