"""Meeting-room search under load, with a year of booking history: 300 rooms, about 320,000
bookings (4 per room per workday for a year back, fewer for the next two weeks, states mixed),
then through gunicorn on this machine's PostgreSQL and Redis:

1. `--clients` concurrent clients (closed loop: each sends its next request when the last
   is answered) search GET /api/v1/rooms/available for random ranges within one day of the
   next two weeks (random capacity and equipment filters) for `--duration` seconds;
2. the same with GET /api/v1/rooms/available/next-hour;
3. the same with /ping (no I/O) as the ceiling;
4. booking contention: `--contenders` clients each try `--attempts` bookings of overlapping
   slots in the same 3 rooms through POST /api/v1/rooms/bookings (201 or 409), then a self-join
   over the whole table checks that no two occupying bookings of a room overlap.
Not part of CI.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/rooms_search.py [--clients 10 --duration 30 --workers 5 --explain]

(Without the URLs it starts the embedded servers of dev.py.) It creates its own database
`jiguan_bench_rooms` (dropped and re-created each run) and uses Redis database 14. Requests
rotate over 1,000 staff tokens (as many people searching), so the per-user rate limit of
the default configuration applies as in production. `--explain` prints EXPLAIN ANALYZE of
one availability statement. The load generator (threads + requests) runs on the same
machine as gunicorn and PostgreSQL, so figures are a floor for a real deployment.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from canteen_storm import _gunicorn, _session, summarize  # noqa: E402  (the canteen bench's server and report)

DATABASE = "jiguan_bench_rooms"
REDIS_DB = 14
USERS = 1000
ROOMS_PER_FLOOR, FLOORS, BUILDINGS = 10, 6, 5  # 300 rooms
HISTORY_DAYS, FUTURE_DAYS = 365, 14
CONTENTION_ROOMS = 3
CAPACITIES = (6, 8, 10, 12, 16, 20, 24, 30, 40, 60, 100)
EQUIPMENT = ("projector", "video_conference", "whiteboard", "microphones")


def _servers() -> tuple[str, str]:
    from app import devservers

    db_server = os.environ.get("DATABASE_URL") or devservers.start_postgres("bench")
    redis_base = os.environ.get("REDIS_URL")
    if not redis_base:
        redis_base = devservers.start_valkey("bench").connection_url
    database_url = devservers.ensure_database(db_server, DATABASE, recreate=True)
    redis_url = urlunsplit(urlsplit(redis_base)._replace(path=f"/{REDIS_DB}"))
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # tokens and answers of a previous run's ids
    return database_url, redis_url


# One INSERT ... SELECT for the whole history: for each room, each workday and each of four
# 3-hour blocks from 08:00, a meeting starting 0-45 min into the block and lasting 30-120 min
# (so with a buffer of at most 15 min it never overlaps the next block's). Past days: mostly
# finished, some cancelled, no-show or rejected; today and after: 60 % of the blocks booked,
# mostly approved, some pending or cancelled.
_HISTORY = """
WITH slots AS (
    SELECT r.id AS room_id, r.buffer_minutes, r.capacity, d::date AS day,
           ((d::date + time '08:00' + k * interval '3 hours' + floor(random() * 4) * interval '15 minutes')
            AT TIME ZONE 'Asia/Shanghai') AS start_at,
           (30 + floor(random() * 4) * 30)::int AS minutes,
           random() AS roll, random() AS pick, :first_user + floor(random() * :users)::int AS user_id
    FROM room r
    CROSS JOIN generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') AS d
    CROSS JOIN generate_series(0, 3) AS k
    WHERE extract(isodow FROM d) < 6 AND r.id <> ALL(CAST(:spared AS integer[]))
)
INSERT INTO room_booking (room_id, user_id, booked_by_id, department_id, subject, attendee_count, start_at, end_at,
                          blocked_until, status, checked_in_at, finished_at, created_at, updated_at)
SELECT s.room_id, s.user_id, s.user_id, u.department_id, '工作例会', least(s.capacity, 5), s.start_at,
       s.start_at + s.minutes * interval '1 minute', s.start_at + (s.minutes + s.buffer_minutes) * interval '1 minute',
       CASE WHEN s.day < :today THEN
                CASE WHEN s.roll < 0.12 THEN 'cancelled' WHEN s.roll < 0.20 THEN 'no_show'
                     WHEN s.roll < 0.22 THEN 'rejected' ELSE 'finished' END
            ELSE CASE WHEN s.roll < 0.10 THEN 'cancelled' WHEN s.roll < 0.18 THEN 'pending' ELSE 'approved' END END,
       CASE WHEN s.day < :today AND s.roll >= 0.22 THEN s.start_at + interval '3 minutes' END,
       CASE WHEN s.day < :today AND s.roll >= 0.22 THEN s.start_at + s.minutes * interval '1 minute' END,
       s.start_at - interval '3 days', s.start_at
FROM slots s JOIN app_user u ON u.id = s.user_id
WHERE s.day < :today OR s.pick < 0.6
"""


def _seed(database_url: str) -> dict:
    """Departments, 1,000 staff with tokens, 5 buildings x 6 floors x 10 rooms with mixed rules,
    a year of history (one INSERT ... SELECT), a few blackouts."""
    from sqlalchemy import create_engine, insert, text

    from app import migrate
    from app.crypto import token_hash
    from app.timeutil import local, utcnow
    from models import ApiToken, Department, RoleGrant, User
    from models.places import Place
    from models.rooms import Room, RoomBlackout, room_department

    migrate.upgrade(database_url)
    rng = random.Random(42)
    engine = create_engine(database_url)
    today = local(utcnow()).date()
    tokens = [secrets.token_urlsafe(32) for _ in range(USERS)]
    started = time.perf_counter()
    with engine.begin() as conn:
        departments = conn.execute(insert(Department).returning(Department.id, sort_by_parameter_order=True), [
            {"code": f"BD{i:02d}", "name": f"压测部门{i}"} for i in range(20)]).scalars().all()
        people = [{"kind": "staff", "name": f"压测干部{i}", "employee_no": f"R{i:06d}",
                   "department_id": departments[i % len(departments)]} for i in range(USERS)]
        user_ids = conn.execute(insert(User).returning(User.id, sort_by_parameter_order=True), people).scalars().all()
        conn.execute(insert(RoleGrant), [{"user_id": uid, "role": "staff", "scope_kind": "global"} for uid in user_ids])
        expires = utcnow() + timedelta(days=1)
        conn.execute(insert(ApiToken), [{"user_id": uid, "token_hash": token_hash(tok), "expires_at": expires}
                                        for uid, tok in zip(user_ids, tokens, strict=True)])
        room_rows = []
        for b in range(BUILDINGS):
            building = conn.execute(insert(Place).values(kind="building", name=f"{b + 1}号楼")
                                    .returning(Place.id)).scalar()
            floors = conn.execute(insert(Place).returning(Place.id, sort_by_parameter_order=True), [
                {"kind": "floor", "name": f"{f + 1}层", "parent_id": building} for f in range(FLOORS)]).scalars().all()
            for f, floor in enumerate(floors):
                places = conn.execute(insert(Place).returning(Place.id, sort_by_parameter_order=True), [
                    {"kind": "room", "name": f"{f + 1}{n + 1:02d}会议室", "parent_id": floor}
                    for n in range(ROOMS_PER_FLOOR)]).scalars().all()
                for n, place in enumerate(places):
                    hours = rng.random()
                    room_rows.append({
                        "place_id": place, "name": f"{b + 1}号楼{f + 1}{n + 1:02d}会议室",
                        "capacity": rng.choice(CAPACITIES),
                        "equipment": [e for e in EQUIPMENT if rng.random() < 0.5],
                        "open_days": "every_day" if rng.random() < 0.1 else "workdays",
                        "opens_at": "08:00" if hours < 0.8 else ("07:30" if hours < 0.9 else "00:00"),
                        "closes_at": "21:00" if hours < 0.8 else ("22:00" if hours < 0.9 else "00:00"),
                        "buffer_minutes": rng.choice((0,) * 7 + (10,) * 2 + (15,)),
                        "approval": "room" if rng.random() < 0.2 else "none", "max_minutes": 720})
        room_ids = conn.execute(insert(Room).returning(Room.id, sort_by_parameter_order=True),
                                room_rows).scalars().all()
        restricted = [rid for rid in room_ids if rng.random() < 0.1]
        conn.execute(insert(room_department), [{"room_id": rid, "department_id": d} for rid in restricted
                                               for d in rng.sample(departments, 2)])
        # The contention rooms: open to all, no approval, no buffer, no history (booked below).
        contention = [rid for rid in room_ids if rid not in restricted][:CONTENTION_ROOMS]
        conn.execute(text("UPDATE room SET approval = 'none', buffer_minutes = 0, capacity = 20, "
                          "opens_at = '08:00', closes_at = '21:00', open_days = 'workdays' WHERE id = ANY(:ids)"),
                     {"ids": contention})
        seeded_at = time.perf_counter()
        conn.execute(text("SELECT setseed(0.42)"))
        conn.execute(text(_HISTORY), {
            "first": today - timedelta(days=HISTORY_DAYS), "last": today + timedelta(days=FUTURE_DAYS),
            "today": today, "first_user": user_ids[0], "users": USERS, "spared": contention})
        history_s = time.perf_counter() - seeded_at
        for k in range(5):  # maintenance in a few rooms over the searched fortnight, and one of everything
            day = datetime.combine(today + timedelta(days=2 + 2 * k), datetime.min.time()).replace(tzinfo=UTC)
            conn.execute(insert(RoomBlackout).values(room_id=rng.choice(room_ids), starts_at=day,
                                                     ends_at=day + timedelta(hours=8), reason="设备检修"))
        conn.execute(insert(RoomBlackout).values(room_id=None, starts_at=datetime.combine(
            today - timedelta(days=100), datetime.min.time()).replace(tzinfo=UTC), ends_at=datetime.combine(
            today - timedelta(days=99), datetime.min.time()).replace(tzinfo=UTC), reason="全楼停电检修"))
        bookings = conn.execute(text("SELECT count(*) FROM room_booking")).scalar()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return {"tokens": tokens, "rooms": len(room_ids), "bookings": bookings, "today": today,
            "contention_rooms": contention, "history_insert_s": round(history_s, 1),
            "seed_s": round(time.perf_counter() - started, 1)}


def run_closed(clients: int, duration: float, send, per_client: int | None = None) -> list[dict]:
    """`clients` threads each send(client, i) -> (status, body) in a loop for `duration` s
    (or `per_client` requests); latency is each request's own round trip."""
    results: list[dict] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    stop = start + duration

    def loop(client: int):
        while time.perf_counter() < start:
            time.sleep(0.01)
        mine, i = [], 0
        while time.perf_counter() < stop and (per_client is None or i < per_client):
            sent = time.perf_counter()
            try:
                status, body = send(client, i)
            except requests.RequestException as exc:
                status, body = 0, {"error": type(exc).__name__}
            done = time.perf_counter()
            mine.append({"status": status, "body": body, "latency": done - sent, "elapsed": done - start})
            i += 1
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=loop, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _workday(day: date, ahead: int) -> date:
    """The `ahead`-th Monday-to-Friday day after `day` (the benchmark's database has no calendar)."""
    while ahead:
        day += timedelta(days=1)
        ahead -= day.isoweekday() < 6
    return day


def _at(day: date, minutes: int) -> str:
    from app.timeutil import SHANGHAI

    return (datetime.combine(day, datetime.min.time()).replace(tzinfo=SHANGHAI)
            + timedelta(minutes=minutes)).isoformat()


def _filters(rng: random.Random) -> dict:
    params = {}
    if rng.random() < 0.5:
        params["capacity"] = rng.choice((4, 8, 10, 16, 20, 30))
    if rng.random() < 0.3:
        params["equipment"] = ",".join(rng.sample(EQUIPMENT, rng.choice((1, 2))))
    return params


def explain(database_url: str, redis_url: str, today: date) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the availability statement free_rooms sends."""
    from sqlalchemy import event, text

    from app import create_app
    from app.extensions import db
    from app.timeutil import SHANGHAI
    from blueprints.rooms import search

    app = create_app({"APP_ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url})
    seen = []
    with app.app_context():
        def capture(conn, cursor, statement, parameters, context, executemany):
            if "room_booking" in statement:
                seen.append((statement, parameters))
        event.listen(db.engine, "before_cursor_execute", capture)
        day = _workday(today, 3)
        start = datetime.combine(day, datetime.min.time()).replace(tzinfo=SHANGHAI) + timedelta(hours=10)
        search.free_rooms(start, start + timedelta(hours=1), capacity=10, per_page=20)
        event.remove(db.engine, "before_cursor_execute", capture)
        statement, parameters = seen[-1]
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = "\n".join(row[0] for row in cur.fetchall())
        db.session.execute(text("SELECT 1"))
        db.session.remove()
    return plan


def contention(url: str, seeded: dict, contenders: int, attempts: int) -> dict:
    """`contenders` clients at once, each `attempts` bookings of random overlapping slots
    (10:00-12:00, quarter hours, 30-90 min) in the same rooms on one workday."""
    day = _workday(seeded["today"], 5)
    rooms, tokens = seeded["contention_rooms"], seeded["tokens"]

    def book(client: int, i: int):
        rng = random.Random(client * 1000 + i)
        start = 600 + 15 * rng.randrange(0, 7)
        body = {"room_id": rng.choice(rooms), "start_at": _at(day, start),
                "end_at": _at(day, start + rng.choice((30, 60, 90))), "subject": f"争用测试{client}-{i}",
                "attendee_count": 5}
        resp = _session().post(url + "/api/v1/rooms/bookings", json=body, timeout=60, headers={
            "Authorization": f"Bearer {tokens[100 + client]}", "Idempotency-Key": f"contend-{client}-{i}"})
        return resp.status_code, resp.json()

    return run_closed(contenders, 600, book, per_client=attempts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread when > 1)")
    parser.add_argument("--contenders", type=int, default=20)
    parser.add_argument("--attempts", type=int, default=10, help="booking attempts per contender")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of one availability query")
    args = parser.parse_args()

    database_url, redis_url = _servers()
    seeded = _seed(database_url)
    if args.explain:
        print(explain(database_url, redis_url, seeded["today"]), file=sys.stderr)
    log = ROOT / "var" / "bench-rooms-gunicorn.log"
    log.parent.mkdir(exist_ok=True)
    proc, url = _gunicorn(database_url, redis_url, args.workers, args.threads, log)
    tokens, today = seeded["tokens"], seeded["today"]
    try:
        def available(client: int, i: int):
            rng = random.Random(client * 100003 + i)
            day = _workday(today, rng.randrange(1, 10))
            start = 8 * 60 + 15 * rng.randrange(0, 44)
            params = {"start_at": _at(day, start), "end_at": _at(day, start + rng.choice((30, 60, 90, 120, 180))),
                      **_filters(rng)}
            resp = _session().get(url + "/api/v1/rooms/available", params=params, timeout=60,
                                  headers={"Authorization": f"Bearer {tokens[rng.randrange(USERS)]}"})
            body = resp.json()
            return resp.status_code, ({"rooms": body["total"]} if resp.status_code == 200 else body)

        def next_hour(client: int, i: int):
            rng = random.Random(client * 100019 + i)
            resp = _session().get(url + "/api/v1/rooms/available/next-hour", params=_filters(rng), timeout=60,
                                  headers={"Authorization": f"Bearer {tokens[rng.randrange(USERS)]}"})
            body = resp.json()
            return resp.status_code, ({"rooms": body["total"]} if resp.status_code == 200 else body)

        def ping(client: int, i: int):
            resp = _session().get(url + "/ping", timeout=60)
            return resp.status_code, {}

        # Warm up each worker (imports, connection pools, token cache) outside the measurement.
        run_closed(args.clients, 3, available)
        started = datetime.now(UTC)
        searches = run_closed(args.clients, args.duration, available)
        next_hours = run_closed(args.clients, args.duration, next_hour)
        pings = run_closed(args.clients, args.duration, ping)
        contended = contention(url, seeded, args.contenders, args.attempts)
    finally:
        proc.terminate()
        proc.wait(15)

    def rooms_found(results):
        counts = [r["body"]["rooms"] for r in results if r["status"] == 200]
        return round(sum(counts) / len(counts), 1) if counts else None

    out = {
        "started_at": started.isoformat(timespec="seconds"),
        "setup": {"rooms": seeded["rooms"], "bookings": seeded["bookings"],
                  "history_insert_s": seeded["history_insert_s"], "seed_s": seeded["seed_s"],
                  "clients": args.clients, "duration_s": args.duration,
                  "gunicorn": f"{args.workers} workers x {args.threads} threads", "cpus": os.cpu_count()},
        "available": {**summarize("GET /api/v1/rooms/available", searches),
                      "mean_rooms_found": rooms_found(searches)},
        "next_hour": {**summarize("GET /api/v1/rooms/available/next-hour", next_hours),
                      "mean_rooms_found": rooms_found(next_hours)},
        "ping": summarize("GET /ping", pings),
    }
    out["available"]["target_p99_ms"] = 100
    out["available"]["meets_target"] = out["available"]["p99_ms"] <= 100
    out["contention"] = {**summarize("POST /api/v1/rooms/bookings", contended,
                                     lambda r: r["status"] in (201, 409)),
                         "check": verify(database_url, seeded, contended)}
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0 if out["contention"]["check"]["pass"] else 1


def verify(database_url: str, seeded: dict, results: list[dict]) -> dict:
    """A self-join over the whole table: no two occupying bookings of a room overlap; and every
    201 is a row of the contention rooms."""
    from sqlalchemy import create_engine, text

    from models.rooms import OCCUPYING_STATES

    engine = create_engine(database_url)
    with engine.connect() as conn:
        overlaps = conn.execute(text(
            "SELECT count(*) FROM room_booking a JOIN room_booking b ON a.room_id = b.room_id AND a.id < b.id "
            "AND tstzrange(a.start_at, a.blocked_until) && tstzrange(b.start_at, b.blocked_until) "
            "WHERE a.status = ANY(:s) AND b.status = ANY(:s)"), {"s": list(OCCUPYING_STATES)}).scalar()
        rows = set(conn.execute(text("SELECT id FROM room_booking WHERE room_id = ANY(:r) AND status = ANY(:s)"),
                                {"r": seeded["contention_rooms"], "s": list(OCCUPYING_STATES)}).scalars())
    engine.dispose()
    created = {r["body"]["id"] for r in results if r["status"] == 201}
    return {"created": len(created), "occupying_rows": len(rows), "lost": len(created - rows),
            "overlapping_pairs": overlaps, "pass": overlaps == 0 and created == rows}


if __name__ == "__main__":
    raise SystemExit(main())
