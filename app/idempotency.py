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
  PostgreSQL advisory lock per user and key, held on a dedicated connection);
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
from sqlalchemy import delete, select

from app.auth import current_principal
from app.errors import AppError, ErrorSchema
from app.extensions import db, get_redis
from app.locks import try_advisory_lock
from app.timeutil import utcnow
from models.platform import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEY_RE = re.compile(r"[A-Za-z0-9_-]{1,100}")
_CACHE_PREFIX = "idem:"
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


def _cache_put(row: IdempotencyKey) -> None:
    ttl = int(timedelta(hours=current_app.config["IDEMPOTENCY_RETENTION_HOURS"]).total_seconds())
    with contextlib.suppress(redis.RedisError):
        pipe = get_redis().pipeline()
        pipe.hset(_cache_key(row.user_id, row.key), mapping={
            "hash": row.request_hash, "status": row.response_status, "type": row.response_type,
            "body": row.response_body})
        pipe.expire(_cache_key(row.user_id, row.key), ttl)
        pipe.execute()


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
            with try_advisory_lock(f"idempotency:{user_id}:{key}") as acquired:
                if not acquired:
                    raise AppError("IDEMPOTENCY_IN_PROGRESS")
                row = db.session.execute(select(IdempotencyKey).where(
                    IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)).scalar_one_or_none()
                if row is not None and row.response_status is None:
                    # Committed by a route that commits itself, its process gone before the
                    # response was stored: the order exists, its answer is lost.
                    raise AppError("IDEMPOTENCY_IN_PROGRESS")
                if row is not None:
                    _cache_put(row)
                    return _replay(row.request_hash, fingerprint, row.response_status, row.response_type,
                                   row.response_body)
                row = IdempotencyKey(user_id=user_id, key=key, request_hash=fingerprint)
                db.session.add(row)  # flushed with the route's writes, in its transaction
                resp = _run(view, args, kwargs)
                if not _ok(resp):
                    return resp
                db.session.add(row)  # again, in case the route rolled back and retried
                row.response_status, row.response_type = resp.status_code, resp.mimetype or ""
                row.response_body = resp.get_data()
                db.session.commit()  # the order, its key and the response together
            _cache_put(row)
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
