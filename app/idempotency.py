"""Idempotency keys for POST routes that create orders: a mini-program retry on a flaky
network never books twice, even if Redis is lost.

    @blp.post("/bookings")
    @blp.auth("staff")
    @idempotent()                      # or idempotent(required=True)
    @blp.arguments(BookingCreateSchema)
    @blp.response(201, BookingSchema)
    def create_booking(body):
        return service.book(current_principal(), body)   # no commit: the decorator commits

With a header `Idempotency-Key` (1-100 of [A-Za-z0-9_-]), per signed-in user:
- the first request runs; after a 2xx the decorator commits the route's writes, the key
  and the response (status, type, body) in one transaction. (A route that commits itself
  still commits the key row with its order, since the row is in the session before the
  route runs; the response then follows in a second commit.)
- the same key again returns that response with `Idempotent-Replayed: true`, without
  running the route (Redis is the fast path, PostgreSQL the authority);
- the same key with another request (method, path, query, canonical JSON body) is 422
  IDEMPOTENCY_KEY_REUSED;
- a duplicate arriving while the first still runs is 409 IDEMPOTENCY_IN_PROGRESS (a
  PostgreSQL transaction-level advisory lock per user and key, taken in the request's own
  transaction: no second connection, released by the commit that stores the key. If the
  route ends that transaction itself (commits, or rolls back and retries), the lock is
  taken again, waiting, before the response is stored: a committed key row without a
  response already answers IN_PROGRESS meanwhile, and a rolled-back one lets a duplicate
  through only to lose at the key's unique index, its writes rolled back);
- a request that fails (exception or non-2xx) rolls back and leaves no key: a retry runs.
Without the header the route runs once, committed after a 2xx (IDEMPOTENCY_KEY_REQUIRED
if required=True).
Keys are purged after IDEMPOTENCY_RETENTION_HOURS by the `idempotency_keys_purge` sweep.
Error codes (IDEMPOTENCY_*) are registered in models/platform.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from copy import deepcopy
from datetime import timedelta
from functools import wraps

import redis
from flask import Response, current_app, make_response, request
from flask_smorest import Blueprint
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app.auth import current_principal
from app.errors import AppError, ErrorSchema
from app.extensions import db, get_redis, violated_constraint
from app.locks import lock_key
from app.timeutil import utcnow
from models.platform import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEY_RE = re.compile(r"[A-Za-z0-9_-]{1,100}")
_CACHE_PREFIX = "idem:"
_KEY_CONSTRAINT = "uq_idempotency_key_user_id_key"
_doc = Blueprint("idempotency_doc", __name__)  # never registered: lends its doc decorators


def _fingerprint() -> str:
    body = request.get_json(silent=True)
    payload = (request.get_data() if body is None
               else json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    head = json.dumps([request.method, request.path, sorted(request.args.items(multi=True))]).encode()
    return hashlib.sha256(head + b"\n" + payload).hexdigest()


def _replay(request_hash: str, fingerprint: str, status: int, mimetype: str, body: bytes) -> Response:
    if request_hash != fingerprint:
        raise AppError("IDEMPOTENCY_KEY_REUSED")
    return Response(body, status=status, mimetype=mimetype, headers={REPLAYED: "true"})


def _cache_key(user_id: int, key: str) -> str:
    return f"{_CACHE_PREFIX}{user_id}:{key}"


def _cache_get(user_id: int, key: str) -> dict | None:
    try:
        return get_redis().hgetall(_cache_key(user_id, key)) or None
    except redis.RedisError:
        return None


def _cache_put(user_id: int, key: str, request_hash: str, status: int, mimetype: str, body: bytes) -> None:
    """Cache a stored answer (plain values: the row is expired after commit, reading it back
    would cost a query)."""
    ttl = int(timedelta(hours=current_app.config["IDEMPOTENCY_RETENTION_HOURS"]).total_seconds())
    with contextlib.suppress(redis.RedisError):
        pipe = get_redis().pipeline()
        pipe.hset(_cache_key(user_id, key), mapping={
            "hash": request_hash, "status": status, "type": mimetype, "body": body})
        pipe.expire(_cache_key(user_id, key), ttl)
        pipe.execute()


def _try_lock(name: str) -> bool:
    """A transaction-level advisory lock in the session's transaction (released at its end)."""
    return bool(db.session.execute(select(func.pg_try_advisory_xact_lock(lock_key(name)))).scalar())


def _run(view, args, kwargs) -> Response:
    """Run the view. After a 2xx its transaction is left for the caller to commit; after
    an exception or any other status it is rolled back."""
    try:
        resp = make_response(view(*args, **kwargs))
    except BaseException:
        db.session.rollback()
        raise
    if not 200 <= resp.status_code < 300:
        db.session.rollback()
    return resp


def _ok(resp: Response) -> bool:
    return 200 <= resp.status_code < 300


def idempotent(required: bool = False):
    """Make a POST route that creates something idempotent per (user, Idempotency-Key).
    Place it under `@blp.auth(...)` and above `@blp.arguments` / `@blp.response`."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                if required:
                    raise AppError("IDEMPOTENCY_KEY_REQUIRED")
                resp = _run(view, args, kwargs)
                if _ok(resp):
                    db.session.commit()
                return resp
            if not KEY_RE.fullmatch(key):
                raise AppError("IDEMPOTENCY_KEY_INVALID")
            user_id, fingerprint = current_principal().user_id, _fingerprint()
            cached = _cache_get(user_id, key)
            if cached:
                return _replay(cached[b"hash"].decode(), fingerprint, int(cached[b"status"]),
                               cached[b"type"].decode(), cached[b"body"])
            lock = f"idempotency:{user_id}:{key}"
            if not _try_lock(lock):
                db.session.rollback()
                raise AppError("IDEMPOTENCY_IN_PROGRESS")
            transaction = db.session().get_transaction()
            row = db.session.execute(select(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)).scalar_one_or_none()
            if row is not None and row.response_status is None:
                # Committed by a route that commits itself, its process gone before the
                # response was stored: the order exists, its answer is lost.
                db.session.rollback()
                raise AppError("IDEMPOTENCY_IN_PROGRESS")
            if row is not None:
                stored = (row.request_hash, row.response_status, row.response_type, row.response_body)
                db.session.rollback()  # releases the lock
                _cache_put(user_id, key, *stored)
                return _replay(stored[0], fingerprint, *stored[1:])
            row = IdempotencyKey(user_id=user_id, key=key, request_hash=fingerprint)
            db.session.add(row)  # flushed with the route's writes, in its transaction
            resp = _run(view, args, kwargs)  # rolls back (the lock goes with it) unless 2xx
            if not _ok(resp):
                return resp
            if db.session().get_transaction() is not transaction:
                # The route committed (or rolled back and retried): hold the key again until
                # the response is stored.
                db.session.execute(select(func.pg_advisory_xact_lock(lock_key(lock))))
            db.session.add(row)  # again, in case the route rolled back and retried
            status, mimetype, data = resp.status_code, resp.mimetype or "", resp.get_data()
            row.response_status, row.response_type, row.response_body = status, mimetype, data
            try:
                db.session.commit()  # the order, its key and the response together; unlocks
            except IntegrityError as exc:
                db.session.rollback()
                if violated_constraint(exc) != _KEY_CONSTRAINT:
                    raise
                # Only after the route rolled back its own transaction: a duplicate ran
                # meanwhile and stored the key first. Ours rolls back, the duplicate's stands.
                raise AppError("IDEMPOTENCY_IN_PROGRESS") from None
            _cache_put(user_id, key, fingerprint, status, mimetype, data)
            return resp

        wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
        wrapper._apidoc.setdefault("arguments", {}).setdefault("parameters", []).append({
            "in": "header", "name": HEADER, "required": required, "schema": {
                "type": "string", "pattern": "^[A-Za-z0-9_-]{1,100}$"},
            "description": "幂等键：同一操作的重试使用相同的值（如 UUID），返回首次结果且不重复执行"})
        wrapper = _doc.alt_response(409, schema=ErrorSchema, description=(
            "相同幂等键的请求仍在处理 (IDEMPOTENCY_IN_PROGRESS)"))(wrapper)
        wrapper = _doc.alt_response(422, schema=ErrorSchema, description=(
            "幂等键已用于不同的请求 (IDEMPOTENCY_KEY_REUSED) 或数据不符合要求"))(wrapper)
        return wrapper

    return decorator


def purge_expired_keys() -> int:
    """Sweep: delete keys older than IDEMPOTENCY_RETENTION_HOURS; returns how many."""
    cutoff = utcnow() - timedelta(hours=current_app.config["IDEMPOTENCY_RETENTION_HOURS"])
    deleted = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)).rowcount
    db.session.commit()
    return deleted
