"""Gate API under load: plate-recognition gates reporting entries and exits, through
gunicorn on this machine's PostgreSQL and Redis. Not part of CI.

Seeds one open lot with 2,000 staff spaces, 4 gate keys and 3,000 staff vehicles (a third
of the events are plates nobody registered), then `--clients` concurrent gates (closed
loop) each POST signed events to /api/v1/parking/gate/events for `--duration` seconds: an
entry of a random plate, later its exit (every request its own nonce and event id; 5 % are
resends of an earlier event id). Then the same clients against /ping (no I/O) as the
ceiling. Finally the database is checked: every answered event is stored once, and the
lot's occupancy equals opened entries minus opened exits (clamped at zero per exit, as the
gate API counts).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/parking_gate.py [--clients 10 --duration 30 --workers 5]

(Without the URLs it starts the embedded servers of dev.py.) It creates its own database
`jiguan_bench_parking` (dropped and re-created each run) and uses Redis database 13. The load
generator runs on the same machine as gunicorn and PostgreSQL, so figures are a floor.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from canteen_storm import _gunicorn, _session, summarize  # noqa: E402
from rooms_search import run_closed  # noqa: E402

DATABASE = "jiguan_bench_parking"
REDIS_DB = 13
VEHICLES, GATES, CAPACITY = 3000, 4, 2000
PATH = "/api/v1/parking/gate/events"


def _servers() -> tuple[str, str]:
    from app import devservers

    db_server = os.environ.get("DATABASE_URL") or devservers.start_postgres("bench")
    redis_base = os.environ.get("REDIS_URL")
    if not redis_base:
        redis_base = devservers.start_valkey("bench").connection_url
    database_url = devservers.ensure_database(db_server, DATABASE, recreate=True)
    redis_url = urlunsplit(urlsplit(redis_base)._replace(path=f"/{REDIS_DB}"))
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    return database_url, redis_url


def _seed(database_url: str, redis_url: str) -> dict:
    from app import create_app, crypto, migrate
    from app.extensions import db
    from blueprints.parking.rules import GATE_SECRET_PURPOSE
    from models import User
    from models.parking import GateKey, ParkingLot, Vehicle
    from models.places import Place

    migrate.upgrade(database_url)
    app = create_app({"APP_ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url})
    with app.app_context():
        building = Place(kind="building", name="压测楼")
        db.session.add(building)
        db.session.flush()
        area = Place(kind="area", name="压测停车场", parent_id=building.id)
        db.session.add(area)
        db.session.flush()
        lot = ParkingLot(place_id=area.id, name="压测停车场", mode="open", staff_capacity=CAPACITY)
        db.session.add(lot)
        db.session.flush()
        keys = []
        for n in range(GATES):
            secret = secrets.token_urlsafe(32)
            key = GateKey(lot_id=lot.id, key_id=f"bench-{n}", name=f"闸{n}",
                          secret_enc=crypto.encrypt(secret, GATE_SECRET_PURPOSE))
            db.session.add(key)
            keys.append((key.key_id, secret))
        users = [User(kind="staff", name=f"车主{i}", employee_no=f"P{i:06d}") for i in range(VEHICLES)]
        db.session.add_all(users)
        db.session.flush()
        plates = [f"京A{i:05d}" for i in range(VEHICLES)]
        db.session.add_all([Vehicle(user_id=u.id, plate=p, plate_kind="ordinary") for u, p in zip(users, plates,
                                                                                                  strict=True)])
        db.session.commit()
        lot_id = lot.id
    return {"lot_id": lot_id, "keys": keys, "plates": plates, "strangers": [f"沪B{i:05d}" for i in range(1500)]}


def _signed(key_id: str, secret: str, body: bytes) -> dict:
    from blueprints.parking.rules import sign

    stamp, nonce = str(int(time.time())), secrets.token_urlsafe(16)
    return {"X-Gate-Key": key_id, "X-Gate-Timestamp": stamp, "X-Gate-Nonce": nonce,
            "X-Gate-Signature": sign(secret, "POST", PATH, stamp, nonce, body), "Content-Type": "application/json"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    database_url, redis_url = _servers()
    seeded = _seed(database_url, redis_url)
    log = ROOT / "var" / "bench-parking-gunicorn.log"
    log.parent.mkdir(exist_ok=True)
    proc, url = _gunicorn(database_url, redis_url, args.workers, args.threads, log)
    inside: dict[int, list[str]] = {c: [] for c in range(args.clients)}
    sent: dict[int, list[dict]] = {c: [] for c in range(args.clients)}
    try:
        def event(client: int, i: int):
            rng = random.Random(client * 1_000_003 + i)
            key_id, secret = seeded["keys"][client % GATES]
            if sent[client] and rng.random() < 0.05:
                body = sent[client][rng.randrange(len(sent[client]))]  # a resend
            elif inside[client] and rng.random() < 0.5:
                body = {"event_id": f"c{client}-{i}", "plate": inside[client].pop(rng.randrange(len(inside[client]))),
                        "direction": "out", "occurred_at": datetime.now(UTC).isoformat()}
            else:
                plate = rng.choice(seeded["strangers"] if rng.random() < 0.33 else seeded["plates"])
                body = {"event_id": f"c{client}-{i}", "plate": plate, "direction": "in",
                        "occurred_at": datetime.now(UTC).isoformat()}
            raw = json.dumps(body).encode()
            resp = _session().post(url + PATH, data=raw, headers=_signed(key_id, secret, raw), timeout=60)
            answer = resp.json()
            if resp.status_code == 200 and not answer["replayed"]:
                sent[client].append(body)
                if body["direction"] == "in" and answer["opened"]:
                    inside[client].append(body["plate"])
            return resp.status_code, answer

        def ping(client: int, i: int):
            return _session().get(url + "/ping", timeout=60).status_code, {}

        run_closed(args.clients, 3, event)  # warm up
        started = datetime.now(UTC)
        events = run_closed(args.clients, args.duration, event)
        pings = run_closed(args.clients, args.duration, ping)
    finally:
        proc.terminate()
        proc.wait(15)
    out = {"started_at": started.isoformat(timespec="seconds"),
           "setup": {"vehicles": VEHICLES, "gates": GATES, "capacity": CAPACITY, "clients": args.clients,
                     "duration_s": args.duration, "gunicorn": f"{args.workers} workers x {args.threads} threads",
                     "cpus": os.cpu_count()},
           "events": summarize("POST /api/v1/parking/gate/events", events),
           "ping": summarize("GET /ping", pings),
           "check": verify(database_url, seeded["lot_id"])}
    out["events"]["decisions"] = {
        reason: sum(1 for r in events if r["status"] == 200 and r["body"].get("reason") == reason)
        for reason in ("staff_vehicle", "unknown_plate", "exit")}
    out["events"]["resends"] = sum(1 for r in events if r["status"] == 200 and r["body"].get("replayed"))
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0 if out["check"]["pass"] else 1


def verify(database_url: str, lot_id: int) -> dict:
    """Occupancy equals the events replayed in order with the same clamp at zero; no event
    stored twice."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT direction FROM gate_event WHERE lot_id = :l AND opened ORDER BY id"),
                            {"l": lot_id}).scalars().all()
        occupied = conn.execute(text("SELECT occupied FROM lot_occupancy WHERE lot_id = :l"), {"l": lot_id}).scalar()
        duplicates = conn.execute(text("SELECT count(*) FROM (SELECT 1 FROM gate_event GROUP BY gate_key_id, event_id "
                                       "HAVING count(*) > 1) d")).scalar()
        stored = conn.execute(text("SELECT count(*) FROM gate_event")).scalar()
    engine.dispose()
    expected = 0
    for direction in rows:
        expected = expected + 1 if direction == "in" else max(expected - 1, 0)
    return {"events_stored": stored, "occupancy": occupied, "expected_occupancy": expected,
            "duplicate_events": duplicates, "pass": duplicates == 0 and occupied == expected}


if __name__ == "__main__":
    raise SystemExit(main())
