"""The booking-window storm: N distinct users book tomorrow's lunch within a minute, some of
them a limited special, through gunicorn on this machine's PostgreSQL and Redis; then the same
arrival schedule against /ping (no I/O) as the ceiling. Not part of CI.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/canteen_storm.py [--users 5000 --portions 200 --duration 60 --workers 5]

(Without the URLs it starts the embedded servers of dev.py.) It creates its own database
`jiguan_bench` on the server (dropped and re-created each run) and uses Redis database 15.

Open model: arrival times are fixed in advance (half of them in the first 10 s, the rest
spread over the remaining 50 s), each request is sent at its time by a large client thread
pool whatever the server's state, and latency counts from the scheduled time (so a server
that falls behind shows its queueing). Every `--special-every`-th user also asks for the
special. At the end the database is checked: no oversold special (portions_left >= 0, special
bookings = portions taken), no lost booking (every 2xx id is a row; rows = 2xx answers).

The load generator (threads + requests: no async HTTP client is installed) runs on the same
2-core machine as gunicorn and PostgreSQL, so figures are a floor for a real deployment.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATABASE = "jiguan_bench"


def _servers() -> tuple[str, str]:
    from app import devservers

    db_server = os.environ.get("DATABASE_URL") or devservers.start_postgres("bench")
    redis_base = os.environ.get("REDIS_URL")
    if not redis_base:
        redis_base = devservers.start_valkey("bench").connection_url
    database_url = devservers.ensure_database(db_server, DATABASE, recreate=True)
    redis_url = urlunsplit(urlsplit(redis_base)._replace(path="/15"))
    # The database restarts its ids: cached idempotent answers and tokens of a previous run
    # would be replayed for the new users.
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    return database_url, redis_url


def _seed(database_url: str, redis_url: str, users: int, portions: int) -> dict:
    """Company, canteen, a lunch slot open for tomorrow whatever the time, the special, and
    `users` staff with tokens (bulk inserts)."""
    from sqlalchemy import create_engine, insert, text

    from app import migrate
    from app.crypto import token_hash
    from app.timeutil import local, utcnow
    from models import ApiToken, Company, RoleGrant, User
    from models.canteen import Canteen, MealSlot, Special

    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    tomorrow = local(utcnow()).date() + timedelta(days=1)
    tokens = [secrets.token_urlsafe(32) for _ in range(users)]
    with engine.begin() as conn:
        company = conn.execute(insert(Company).values(name="压测餐饮公司", kind="canteen_operator")
                               .returning(Company.id)).scalar()
        canteen = conn.execute(insert(Canteen).values(name="压测食堂", company_id=company)
                               .returning(Canteen.id)).scalar()
        slot = conn.execute(insert(MealSlot).values(
            canteen_id=canteen, meal="lunch", serve_start="23:00", serve_end="23:59", open_days_ahead=7,
            cutoff_kind="before_start", cutoff_minutes=0, serving_days="every_day").returning(MealSlot.id)).scalar()
        special = conn.execute(insert(Special).values(
            slot_id=slot, day=tomorrow, kind="low_price", name="每月低价菜", portions_total=portions,
            portions_left=portions, opens_at=utcnow() - timedelta(minutes=5)).returning(Special.id)).scalar()
        people = [{"kind": "staff", "name": f"压测用户{i}", "employee_no": f"B{i:06d}"} for i in range(users)]
        ids = conn.execute(insert(User).returning(User.id, sort_by_parameter_order=True), people).scalars().all()
        conn.execute(insert(RoleGrant), [{"user_id": uid, "role": "staff", "scope_kind": "global"} for uid in ids])
        expires = utcnow() + timedelta(days=1)
        conn.execute(insert(ApiToken), [{"user_id": uid, "token_hash": token_hash(tok), "expires_at": expires}
                                        for uid, tok in zip(ids, tokens, strict=True)])
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return {"slot": slot, "special": special, "day": tomorrow.isoformat(), "tokens": tokens}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gunicorn(database_url: str, redis_url: str, workers: int, threads: int, log: Path):
    port = _free_port()
    env = {**os.environ, "APP_ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "NO_PROXY": "127.0.0.1,localhost"}
    args = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "--backlog", "4096", "--graceful-timeout", "2", "--timeout", "120"]
    if threads > 1:
        args += ["--worker-class", "gthread", "--threads", str(threads)]
    output = log.open("wb")
    proc = subprocess.Popen([*args, "app:create_app()"], cwd=ROOT, env=env,  # noqa: S603  (our own arguments)
                            stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    session = requests.Session()
    session.trust_env = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited:\n" + log.read_text(errors="replace"))
        try:
            if session.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not become healthy")


def schedule(n: int, duration: float, burst_seconds: float = 10.0) -> list[float]:
    """Offsets (s): half of the arrivals evenly in the first `burst_seconds`, the rest evenly after."""
    first = n // 2
    rest = n - first
    return ([i * burst_seconds / first for i in range(first)]
            + [burst_seconds + i * (duration - burst_seconds) / rest for i in range(rest)])


_local = threading.local()


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
        _local.session.trust_env = False
    return _local.session


def run_open_model(offsets: list[float], send, client_threads: int) -> list[dict]:
    """Send request i at start + offsets[i] (send(i) -> (status, body)); latency from that time."""
    results: list[dict] = [{}] * len(offsets)

    def fire(i: int, scheduled: float):
        try:
            status, body = send(i)
        except requests.RequestException as exc:
            status, body = 0, {"error": type(exc).__name__}
        results[i] = {"status": status, "body": body, "latency": time.perf_counter() - scheduled,
                      "done": time.perf_counter()}

    with ThreadPoolExecutor(client_threads) as pool:
        start = time.perf_counter() + 0.5
        for i, offset in enumerate(offsets):
            scheduled = start + offset
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(fire, i, scheduled)
    for r in results:
        r["elapsed"] = r["done"] - start
    return results


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def summarize(name: str, results: list[dict], ok=lambda r: 200 <= r["status"] < 300) -> dict:
    latencies = [r["latency"] * 1000 for r in results]
    wall = max(r["elapsed"] for r in results)
    good = [r for r in results if ok(r)]
    codes: dict[str, int] = {}
    for r in results:
        key = str(r["status"]) + ("" if r["status"] < 400 else f" {r['body'].get('code', '')}")
        codes[key] = codes.get(key, 0) + 1
    return {"name": name, "requests": len(results), "ok": len(good), "wall_s": round(wall, 2),
            "throughput_rps": round(len(results) / wall, 1), "ok_per_s": round(len(good) / wall, 1),
            "p50_ms": round(_pct(latencies, 50), 1), "p90_ms": round(_pct(latencies, 90), 1),
            "p99_ms": round(_pct(latencies, 99), 1), "max_ms": round(max(latencies), 1),
            "mean_ms": round(statistics.fmean(latencies), 1), "answers": dict(sorted(codes.items()))}


def verify(database_url: str, seeded: dict, results: list[dict], portions: int) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, special_id FROM meal_booking WHERE slot_id = :s AND day = :d"),
                                 {"s": seeded["slot"], "d": seeded["day"]}).all())
        left = conn.execute(text("SELECT portions_left FROM special WHERE id = :id"),
                            {"id": seeded["special"]}).scalar()
        per_user = conn.execute(text("SELECT max(c) FROM (SELECT count(*) c FROM meal_booking "
                                     "WHERE status <> 'cancelled' GROUP BY user_id, day, meal) x")).scalar()
    engine.dispose()
    ok_ids = [r["body"]["id"] for r in results if r["status"] == 201]
    special_ok = sum(1 for r in results if r["status"] == 201 and r["body"].get("special"))
    special_rows = sum(1 for sid in rows.values() if sid == seeded["special"])
    lost = sorted(set(ok_ids) - set(rows))
    report = {"bookings_2xx": len(ok_ids), "rows": len(rows), "lost": len(lost), "unanswered_rows": len(rows) - len(
        set(ok_ids) & set(rows)), "special_2xx": special_ok, "special_rows": special_rows,
        "portions_left": left, "oversold": max(0, special_rows - portions) + (1 if left < 0 else 0),
        "special_consistent": special_rows == portions - left == special_ok, "max_live_per_user_meal": per_user}
    report["pass"] = (report["lost"] == 0 and report["oversold"] == 0 and report["rows"] == len(ok_ids)
                      and report["special_consistent"] and per_user == 1)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--portions", type=int, default=200)
    parser.add_argument("--special-every", type=int, default=5, help="every n-th user also asks for the special")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread when > 1)")
    parser.add_argument("--client-threads", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = parser.parse_args()

    database_url, redis_url = _servers()
    seeded = _seed(database_url, redis_url, args.users, args.portions)
    log = ROOT / "var" / "bench-gunicorn.log"
    log.parent.mkdir(exist_ok=True)
    proc, url = _gunicorn(database_url, redis_url, args.workers, args.threads, log)
    try:
        offsets = schedule(args.users, args.duration)
        tokens, slot, special, day = seeded["tokens"], seeded["slot"], seeded["special"], seeded["day"]

        def book(i: int):
            body = {"slot_id": slot, "day": day}
            if i % args.special_every == 0:
                body["special_id"] = special
            resp = _session().post(url + "/api/v1/canteen/bookings", json=body, timeout=120,
                                   headers={"Authorization": f"Bearer {tokens[i]}",
                                            "Idempotency-Key": f"storm-{i}"})
            return resp.status_code, resp.json()

        def ping(i: int):
            resp = _session().get(url + "/ping", timeout=120)
            return resp.status_code, {}

        started = datetime.now(UTC)
        booking = run_open_model(offsets, book, args.client_threads)
        ping_results = run_open_model(offsets, ping, args.client_threads)
    finally:
        proc.terminate()
        proc.wait(15)

    def expected(r):
        return r["status"] == 201 or (r["status"] == 409 and r["body"].get("code") == "CANTEEN_SPECIAL_SOLD_OUT")

    out = {
        "started_at": started.isoformat(timespec="seconds"),
        "setup": {"users": args.users, "portions": args.portions, "special_requests": len(range(0, args.users,
                                                                                             args.special_every)),
                  "duration_s": args.duration, "gunicorn": f"{args.workers} workers x {args.threads} threads",
                  "client_threads": args.client_threads, "cpus": os.cpu_count()},
        "booking": summarize("POST /api/v1/canteen/bookings", booking, expected),
        "ping": summarize("GET /ping", ping_results),
        "check": verify(database_url, seeded, booking, args.portions),
    }
    booked = sum(1 for r in booking if r["status"] == 201)
    out["booking"]["bookings_per_s"] = round(booked / out["booking"]["wall_s"], 1)
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0 if out["check"]["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
